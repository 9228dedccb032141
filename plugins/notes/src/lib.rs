//! `notes-tools`: a notebook kept in a folder the admin grants, served as a
//! whole MCP server: tools to change it, every note as a resource, and a
//! prompt that asks the model to summarize one.
//!
//! ```toml
//! [plugins.notes]
//! component = "target/wasm32-wasip2/release/notes_tools.wasm"
//! grants.dirs = { "/notes" = { path = "notes", mode = "rw" } }
//! grants.elicitation = true   # `delete` asks the user to confirm
//! ```
//!
//! - Tools: `write` (create or replace a note), `append` (add a line),
//!   `delete` (asks the user to confirm through elicitation first, and
//!   deletes nothing without a yes), `search` (notes containing a text).
//! - Resources: `notes://index` (each note's name and first line), one
//!   `notes://NAME` per note, and the template `notes://{name}` whose
//!   `name` completes to the notes there are.
//! - Prompt: `summarize` (`name`, completed; optional `focus`): the note's
//!   text and a request for a summary.
//!
//! Every change is announced: clients subscribed to a note (or the index)
//! hear that it changed, and the resource list is announced changed when a
//! note comes or goes. Each call runs in a fresh instance, so the folder is
//! the only state.
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p notes-tools`
//! (writes `notes_tools.wasm`).

mod notebook;

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_sdk::{
    Change, Context, Elicited, Plugin, Prompt, PromptMessage, PromptSet, Resource,
    ResourceContents, ResourceSet, Tool, ToolError, ToolSet, export_plugin,
};

pub use notebook::{GRANTED_FOLDER, Notebook, Written, check_name};

/// The index of every note.
pub const INDEX_URI: &str = "notes://index";

/// The URI of note `name`.
pub fn note_uri(name: &str) -> String {
    format!("notes://{name}")
}

/// The plugin.
pub struct Notes;

impl Plugin for Notes {
    fn tools() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new("write", "Create a note, or replace the text of one.", write)
                    .title("Write a note")
                    .destructive(true)
                    .idempotent()
                    .open_world(false),
            )
            .tool(
                Tool::new(
                    "append",
                    "Add a line at the end of a note (the note is created if missing).",
                    append,
                )
                .title("Append to a note")
                .destructive(false)
                .open_world(false),
            )
            .tool(
                Tool::new(
                    "delete",
                    "Delete a note, after the user confirms. Nothing is deleted without a yes.",
                    delete,
                )
                .title("Delete a note")
                .destructive(true)
                .open_world(false),
            )
            .tool(
                Tool::new(
                    "search",
                    "Names of the notes containing a text (case-insensitive), each with its first matching line.",
                    search,
                )
                .title("Search notes")
                .read_only()
                .open_world(false),
            )
    }

    fn resources() -> ResourceSet {
        let notebook = Notebook::granted();
        let mut resources = ResourceSet::new().resource(
            Resource::new(INDEX_URI, "index", |_, _| index(&Notebook::granted()))
                .title("All notes")
                .description("Every note's name and first line")
                .mime_type("text/markdown"),
        );
        // A fresh instance lists the plugin, so this is the folder now.
        for name in notebook.names().unwrap_or_default() {
            let reader = {
                let name = name.clone();
                move |_: &_, _: &Context| {
                    Notebook::granted().read(&name).map(ResourceContents::Text)
                }
            };
            resources = resources.resource(
                Resource::new(note_uri(&name), name.clone(), reader).mime_type("text/markdown"),
            );
        }
        resources.resource(
            Resource::template("notes://{name}", "note", |request, _| {
                let name = request.variable("name").unwrap_or_default();
                Notebook::granted().read(name).map(ResourceContents::Text)
            })
            .description("A note by name")
            .mime_type("text/markdown")
            .complete(|c| complete_name(c.value)),
        )
    }

    fn prompts() -> PromptSet {
        PromptSet::new().prompt(
            Prompt::new("summarize", "Ask the model to summarize a note", summarize)
                .title("Summarize a note")
                .complete(|c| match c.argument {
                    "name" => complete_name(c.value),
                    _ => Vec::new(),
                }),
        )
    }
}

export_plugin!(Notes);

/// The notes whose names start with `typed`.
fn complete_name(typed: &str) -> Vec<String> {
    Notebook::granted()
        .names()
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(typed))
        .collect()
}

#[derive(Deserialize, JsonSchema)]
struct WriteArgs {
    /// The note's name: 1 to 64 letters, digits, `-` and `_`.
    name: String,
    /// Its whole text (Markdown).
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct AppendArgs {
    /// The note's name.
    name: String,
    /// The line to add.
    line: String,
}

#[derive(Deserialize, JsonSchema)]
struct NameArgs {
    /// The note's name.
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct SearchArgs {
    /// The text to look for.
    text: String,
}

/// The user's answer to "delete this note?".
#[derive(Deserialize, JsonSchema)]
struct Confirmation {
    /// Yes, delete it.
    delete: bool,
}

#[derive(Deserialize, JsonSchema)]
struct SummarizeArgs {
    /// The note to summarize.
    name: String,
    /// What the summary should bring out (default: the main points).
    focus: Option<String>,
}

fn write(args: WriteArgs, cx: &Context) -> Result<String, ToolError> {
    let written = Notebook::granted().write(&args.name, &args.text)?;
    announce_written(cx, &args.name, written);
    Ok(match written {
        Written::Created => format!("created note `{}`", args.name),
        Written::Replaced => format!("replaced note `{}`", args.name),
    })
}

fn append(args: AppendArgs, cx: &Context) -> Result<String, ToolError> {
    let written = Notebook::granted().append(&args.name, &args.line)?;
    announce_written(cx, &args.name, written);
    Ok(format!("added a line to note `{}`", args.name))
}

fn delete(args: NameArgs, cx: &Context) -> Result<String, ToolError> {
    let notebook = Notebook::granted();
    // Ask only about a note that exists (a missing one is an error at once).
    let text = notebook.read(&args.name)?;
    let lines = text.lines().count();
    let question = format!(
        "Delete the note `{}` ({lines} line{})? This cannot be undone.",
        args.name,
        if lines == 1 { "" } else { "s" }
    );
    match cx.elicit::<Confirmation>(question)? {
        Elicited::Accepted(Confirmation { delete: true }) => {
            notebook.delete(&args.name)?;
            cx.announce(Change::ResourceUpdated(note_uri(&args.name)));
            cx.announce(Change::ResourceUpdated(INDEX_URI.to_owned()));
            cx.announce(Change::Resources);
            Ok(format!("deleted note `{}`", args.name))
        }
        Elicited::Accepted(Confirmation { delete: false }) | Elicited::Declined => {
            Ok(format!("kept note `{}`: the user said no", args.name))
        }
        Elicited::Cancelled => Ok(format!(
            "kept note `{}`: the user dismissed the question",
            args.name
        )),
    }
}

fn search(args: SearchArgs, _cx: &Context) -> Result<String, ToolError> {
    if args.text.trim().is_empty() {
        return Err(ToolError::invalid_arguments("`text` must not be empty"));
    }
    let notebook = Notebook::granted();
    let needle = args.text.to_lowercase();
    let mut found = Vec::new();
    for name in notebook.names()? {
        let text = notebook.read(&name)?;
        if let Some(line) = text.lines().find(|l| l.to_lowercase().contains(&needle)) {
            found.push(format!("{name}: {}", line.trim()));
        }
    }
    Ok(if found.is_empty() {
        format!("no note contains {:?}", args.text)
    } else {
        found.join("\n")
    })
}

fn summarize(args: SummarizeArgs, _cx: &Context) -> Result<Vec<PromptMessage>, ToolError> {
    let text = Notebook::granted().read(&args.name)?;
    let focus = args.focus.unwrap_or_else(|| "the main points".to_owned());
    Ok(vec![PromptMessage::user(format!(
        "Summarize the note `{}` in a few sentences, bringing out {focus}.\n\n---\n{text}",
        args.name
    ))])
}

/// `notes://index`: one line per note, its name and first line.
fn index(notebook: &Notebook) -> Result<ResourceContents, ToolError> {
    let mut lines = vec!["# Notes".to_owned(), String::new()];
    for name in notebook.names()? {
        let text = notebook.read(&name)?;
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        lines.push(format!("- {name}: {}", first.trim()));
    }
    Ok(ResourceContents::Text(lines.join("\n")))
}

/// Subscribers of the note and of the index hear the change; a new note
/// also changes the resource list.
fn announce_written(cx: &Context, name: &str, written: Written) {
    cx.announce(Change::ResourceUpdated(note_uri(name)));
    cx.announce(Change::ResourceUpdated(INDEX_URI.to_owned()));
    if written == Written::Created {
        cx.announce(Change::Resources);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::MockHost;

    #[test]
    fn the_plugin_describes_itself() {
        let tools = Notes::tools();
        let names: Vec<String> = tools.list().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["write", "append", "delete", "search"]);
        let prompts = Notes::prompts();
        assert_eq!(prompts.list()[0].name, "summarize");
        // Natively there is no granted folder: only the index and the
        // template are listed.
        let resources = Notes::resources();
        assert_eq!(resources.list()[0].uri, INDEX_URI);
        assert_eq!(resources.list_templates()[0].uri, "notes://{name}");
    }

    #[test]
    fn delete_without_a_grant_deletes_nothing_and_says_why() {
        // Natively /notes does not exist: the note is not found before
        // anyone is asked.
        let host = MockHost::new();
        let error = Notes::tools()
            .call_json(
                "delete",
                &serde_json::json!({"name": "groceries"}),
                &host.context("delete"),
            )
            .expect_err("no folder");
        assert!(error.message().contains("notes folder"), "{error:?}");
        assert!(host.questions().is_empty());
        assert!(host.announced().is_empty());
    }

    #[test]
    fn bad_names_are_refused_before_any_file_is_touched() {
        let host = MockHost::new();
        let error = Notes::tools()
            .call_json(
                "write",
                &serde_json::json!({"name": "../x", "text": "t"}),
                &host.context("write"),
            )
            .expect_err("a path is not a name");
        assert!(matches!(error, ToolError::InvalidArguments(_)), "{error:?}");
    }
}
