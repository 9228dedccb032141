//! Reading a plugin's component file, with the hints a plugin author needs
//! when it is not there: the absolute path that was tried, and, when the path
//! points into a cargo `target/wasm32-wasip2/<profile>/` folder, why cargo
//! wrote no `.wasm` there (no `cdylib` crate type, not built yet, or the crate
//! joined a workspace whose `target/` got the file instead).

use std::path::{Path, PathBuf};

/// The component's bytes, or why they could not be read (a sentence for
/// `PluginLoadError::reason`).
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        if e.kind() == std::io::ErrorKind::NotFound {
            let mut reason = format!(
                "no component file at {} (a relative `component` path is resolved against the config file's folder)",
                absolute.display()
            );
            if let Some(hint) = cargo_hint(&absolute) {
                reason.push_str("; ");
                reason.push_str(&hint);
            }
            reason
        } else {
            format!("cannot read the component {}: {e}", absolute.display())
        }
    })
}

/// `<root>/target/wasm32-wasip2/<profile>/<file>.wasm` split into its parts.
struct CargoOutput<'a> {
    root: &'a Path,
    profile: &'a str,
    file: &'a str,
    stem: &'a str,
}

impl<'a> CargoOutput<'a> {
    fn parse(path: &'a Path) -> Option<Self> {
        let profile_dir = path.parent()?;
        let triple_dir = profile_dir.parent()?;
        let target_dir = triple_dir.parent()?;
        if triple_dir.file_name()? != "wasm32-wasip2" || target_dir.file_name()? != "target" {
            return None;
        }
        Some(Self {
            root: target_dir.parent()?,
            profile: profile_dir.file_name()?.to_str()?,
            file: path.file_name()?.to_str()?,
            stem: path.file_stem()?.to_str()?,
        })
    }
}

fn cargo_hint(path: &Path) -> Option<String> {
    let output = CargoOutput::parse(path)?;
    let manifest_path = output.root.join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&manifest_path).ok()?.parse().ok()?;
    let package = manifest.get("package")?.as_table()?;
    let package_name = package.get("name")?.as_str()?;
    let lib = manifest.get("lib").and_then(|lib| lib.as_table());
    let lib_name = lib
        .and_then(|lib| lib.get("name"))
        .and_then(|name| name.as_str())
        .map_or_else(|| package_name.replace('-', "_"), str::to_owned);
    if lib_name != output.stem {
        return Some(format!(
            "the crate at {} is `{package_name}`, whose component would be {lib_name}.wasm",
            manifest_path.display()
        ));
    }
    let is_cdylib = lib
        .and_then(|lib| lib.get("crate-type"))
        .and_then(|types| types.as_array())
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
    if !is_cdylib {
        return Some(format!(
            "the crate `{package_name}` ({}) has no `crate-type = [\"cdylib\"]` under `[lib]`, so cargo writes no .wasm: add it and rebuild",
            manifest_path.display()
        ));
    }
    if let Some(workspace) = enclosing_workspace(output.root) {
        let elsewhere = workspace
            .join("target/wasm32-wasip2")
            .join(output.profile)
            .join(output.file);
        return Some(format!(
            "the crate `{package_name}` is inside the cargo workspace at {}, which writes its .wasm to {}{}",
            workspace.display(),
            elsewhere.display(),
            if elsewhere.is_file() {
                " (that file exists: point `component` at it, or add an empty `[workspace]` to the crate's Cargo.toml)"
            } else {
                " (or add an empty `[workspace]` to the crate's Cargo.toml to keep it on its own)"
            }
        ));
    }
    let release = if output.profile == "release" {
        " --release"
    } else {
        ""
    };
    Some(format!(
        "build it: `cargo build --target wasm32-wasip2{release}` in {}",
        output.root.display()
    ))
}

/// The nearest folder above `crate_root` whose Cargo.toml has `[workspace]`,
/// unless the crate's own manifest declares a workspace (then it is its own).
fn enclosing_workspace(crate_root: &Path) -> Option<PathBuf> {
    if has_workspace_table(&crate_root.join("Cargo.toml")) {
        return None;
    }
    crate_root
        .ancestors()
        .skip(1)
        .find(|folder| has_workspace_table(&folder.join("Cargo.toml")))
        .map(Path::to_owned)
}

fn has_workspace_table(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| table.contains_key("workspace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASM: &str = "target/wasm32-wasip2/release/my_tools.wasm";

    fn crate_at(root: &Path, manifest: &str) -> PathBuf {
        std::fs::create_dir_all(root).expect("crate folder");
        std::fs::write(root.join("Cargo.toml"), manifest).expect("manifest");
        root.join(WASM)
    }

    fn reason(path: &Path) -> String {
        read(path).expect_err("the file is missing")
    }

    #[test]
    fn a_missing_file_is_named_by_its_absolute_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nowhere/plugin.wasm");
        let reason = reason(&path);
        assert!(
            reason.starts_with(&format!("no component file at {}", path.display())),
            "{reason}"
        );
        assert!(!reason.contains("cargo"), "no cargo hint here: {reason}");
    }

    #[test]
    fn a_crate_without_cdylib_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("my-tools");
        let path = crate_at(
            &root,
            "[package]\nname = \"my-tools\"\nversion = \"0.1.0\"\n",
        );
        let reason = reason(&path);
        assert!(
            reason.contains("the crate `my-tools`")
                && reason.contains("has no `crate-type = [\"cdylib\"]`"),
            "{reason}"
        );
    }

    #[test]
    fn an_unbuilt_crate_gets_the_build_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("my-tools");
        let path = crate_at(
            &root,
            "[package]\nname = \"my-tools\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        );
        let reason = reason(&path);
        assert!(
            reason.ends_with(&format!(
                "build it: `cargo build --target wasm32-wasip2 --release` in {}",
                root.display()
            )),
            "{reason}"
        );
    }

    #[test]
    fn a_crate_inside_a_workspace_points_at_the_workspace_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n")
            .expect("workspace manifest");
        let built = dir.path().join(WASM);
        std::fs::create_dir_all(built.parent().expect("parent")).expect("target");
        std::fs::write(&built, b"\0asm").expect("wasm");
        let path = crate_at(
            &dir.path().join("my-tools"),
            "[package]\nname = \"my-tools\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        );
        let reason = reason(&path);
        assert!(
            reason.contains(&format!(
                "inside the cargo workspace at {}, which writes its .wasm to {} (that file exists",
                dir.path().display(),
                built.display()
            )),
            "{reason}"
        );
    }

    #[test]
    fn a_path_naming_another_crate_says_which_file_the_crate_makes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crate_at(
            &dir.path().join("tools"),
            "[package]\nname = \"other-tools\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        );
        assert!(
            reason(&path).contains("is `other-tools`, whose component would be other_tools.wasm"),
            "{}",
            reason(&path)
        );
    }
}
