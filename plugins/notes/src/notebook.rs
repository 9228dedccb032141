//! The notes themselves: one `NAME.md` file per note in one folder. Names
//! are checked before they become paths, so no name reaches outside it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use switchboard_sdk::ToolError;

/// Where the admin grants the folder (`grants.dirs."/notes"`).
pub const GRANTED_FOLDER: &str = "/notes";

/// The longest note name.
const MAX_NAME: usize = 64;

/// The notes in one folder.
#[derive(Clone, Debug)]
pub struct Notebook {
    dir: PathBuf,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
}

impl Notebook {
    /// The folder the admin granted.
    pub fn granted() -> Self {
        Self::at(GRANTED_FOLDER)
    }

    /// The notes in `dir` (tests use a temporary folder).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Every note's name, sorted.
    pub fn names(&self) -> Result<Vec<String>, ToolError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| self.folder_error(&e))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let file = entry.file_name().into_string().ok()?;
                let name = file.strip_suffix(".md")?;
                check_name(name).ok().map(|()| name.to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The text of note `name`.
    pub fn read(&self, name: &str) -> Result<String, ToolError> {
        let path = self.path(name)?;
        std::fs::read_to_string(&path).map_err(|e| self.missing(name, &e))
    }

    /// Creates note `name` or replaces its text.
    pub fn write(&self, name: &str, text: &str) -> Result<Written, ToolError> {
        let path = self.path(name)?;
        let existed = path.exists();
        std::fs::write(&path, text).map_err(|e| self.folder_error(&e))?;
        Ok(if existed {
            Written::Replaced
        } else {
            Written::Created
        })
    }

    /// Adds `text` as a new line at the end of note `name` (created if
    /// missing).
    pub fn append(&self, name: &str, text: &str) -> Result<Written, ToolError> {
        match self.read(name) {
            Ok(mut old) => {
                if !old.is_empty() && !old.ends_with('\n') {
                    old.push('\n');
                }
                old.push_str(text);
                self.write(name, &old)
            }
            Err(ToolError::NotFound(_)) => self.write(name, text),
            Err(other) => Err(other),
        }
    }

    /// Removes note `name`.
    pub fn delete(&self, name: &str) -> Result<(), ToolError> {
        let path = self.path(name)?;
        std::fs::remove_file(&path).map_err(|e| self.missing(name, &e))
    }

    fn path(&self, name: &str) -> Result<PathBuf, ToolError> {
        check_name(name)?;
        Ok(self.dir.join(format!("{name}.md")))
    }

    /// Note `name` could not be opened: it does not exist, or the folder
    /// does not.
    fn missing(&self, name: &str, error: &std::io::Error) -> ToolError {
        if error.kind() == ErrorKind::NotFound && self.dir.is_dir() {
            ToolError::not_found(format!("there is no note `{name}`"))
        } else {
            self.folder_error(error)
        }
    }

    fn folder_error(&self, error: &std::io::Error) -> ToolError {
        if self.dir == Path::new(GRANTED_FOLDER) && error.kind() == ErrorKind::NotFound {
            return ToolError::failed(format!(
                "no notes folder: the admin grants one as grants.dirs.\"{GRANTED_FOLDER}\" (read-write)"
            ));
        }
        ToolError::failed(format!("notes folder {}: {error}", self.dir.display()))
    }
}

/// A name is 1 to 64 letters, digits, `-` and `_`, starting with a letter
/// or digit: a file name on every system, never a path.
pub fn check_name(name: &str) -> Result<(), ToolError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ToolError::invalid_arguments(format!(
            "`{name}` is not a note name: use 1 to {MAX_NAME} letters, digits, `-` and `_`, starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_written_appended_listed_and_deleted() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let notebook = Notebook::at(dir.path());
        assert!(notebook.names().expect("list").is_empty());
        assert_eq!(notebook.write("groceries", "milk"), Ok(Written::Created));
        assert_eq!(notebook.append("groceries", "eggs"), Ok(Written::Replaced));
        assert_eq!(notebook.append("todo", "call Ada"), Ok(Written::Created));
        assert_eq!(notebook.read("groceries").as_deref(), Ok("milk\neggs"));
        assert_eq!(
            notebook.names(),
            Ok(vec!["groceries".into(), "todo".into()])
        );
        notebook.delete("groceries").expect("delete");
        assert!(matches!(
            notebook.read("groceries"),
            Err(ToolError::NotFound(_))
        ));
        assert!(matches!(
            notebook.delete("groceries"),
            Err(ToolError::NotFound(_))
        ));
    }

    #[test]
    fn names_never_become_paths() {
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            ".hidden",
            "-x",
            "a b",
            &"n".repeat(65),
        ] {
            assert!(
                matches!(check_name(bad), Err(ToolError::InvalidArguments(_))),
                "{bad:?} was taken"
            );
        }
        for good in ["a", "2026-12-06", "Meeting_notes", &"n".repeat(64)] {
            assert_eq!(check_name(good), Ok(()), "{good:?} was refused");
        }
    }

    #[test]
    fn files_that_are_not_notes_are_not_listed() {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("readme.txt"), "x").expect("write");
        std::fs::write(dir.path().join("bad name.md"), "x").expect("write");
        std::fs::write(dir.path().join("ok.md"), "x").expect("write");
        assert_eq!(Notebook::at(dir.path()).names(), Ok(vec!["ok".into()]));
    }
}
