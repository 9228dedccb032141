//! [`Context`]: what a running tool can ask of the host.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ask::{Answer, Question};
use crate::{CallResult, ToolError, ToolInfo};

/// Log levels (MCP / RFC 5424), lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detailed debugging information.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something looks wrong.
    Warning,
    /// Something failed.
    Error,
    /// Critical conditions.
    Critical,
    /// Act immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

/// The host imports a tool can use, behind a trait so native unit tests can
/// substitute [`MockHost`](crate::testing::MockHost). Inside a plugin the SDK
/// uses the real WIT imports; you rarely implement this yourself.
pub trait Host {
    /// Call another tool by the name clients see.
    fn call_tool(&self, name: &str, arguments: &str) -> Result<CallResult, ToolError>;
    /// The tools this plugin was granted.
    fn list_tools(&self) -> Vec<ToolInfo>;
    /// One log line.
    fn log(&self, level: Level, message: &str);
    /// Progress of the current call.
    fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>);
    /// Ask the client of the request `questions` (key, question), answered
    /// in order. A host that cannot ask refuses each.
    fn ask(&self, questions: Vec<(String, Question)>) -> Vec<Result<Answer, ToolError>> {
        questions
            .iter()
            .map(|_| Err(ToolError::denied("this host cannot ask the client")))
            .collect()
    }
    /// Tell the host that something the plugin serves changed. A host that
    /// cannot pass it on ignores it.
    fn announce(&self, _change: Change) {}
}

/// Something a plugin serves that changed since clients listed or read it;
/// see [`Context::announce`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The plugin's tools (the host lists them again).
    Tools,
    /// Its resources or resource templates.
    Resources,
    /// Its prompts.
    Prompts,
    /// The contents of one of its resources, by the URI it lists.
    ResourceUpdated(String),
}

/// Passed to every tool call: the tool's name and the host imports (logging,
/// progress, calling other tools).
///
/// ```no_run
/// # use switchboard_sdk::{Context, Level, ToolError};
/// # fn run(cx: &Context) -> Result<(), ToolError> {
/// cx.info("starting");
/// cx.log(Level::Debug, format_args!("called as {}", cx.tool_name()));
/// cx.progress(1.0, Some(3.0), Some("fetched"));
/// #[derive(serde::Deserialize)]
/// struct Counts { words: u64 }
/// let counts: Counts = cx.call_tool_as("text_word_count", &serde_json::json!({ "text": "a b" }))?;
/// # Ok(()) }
/// ```
pub struct Context {
    tool: String,
    host: Rc<dyn Host>,
    /// Questions asked without a key of their own, for the next key.
    asked: Cell<u32>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context for `tool` over a given host (used by tests; inside a plugin
    /// the SDK builds the context for you).
    pub fn new(tool: impl Into<String>, host: Rc<dyn Host>) -> Self {
        Self {
            tool: tool.into(),
            host,
            asked: Cell::new(0),
        }
    }

    pub(crate) fn host(&self) -> &dyn Host {
        &*self.host
    }

    /// `<kind>-<n>` for the n-th question asked without a key: the same in
    /// every run of the request, which is what lets a 2026-07-28 retry
    /// find its answers.
    pub(crate) fn next_key(&self, kind: &str) -> String {
        let n = self.asked.get() + 1;
        self.asked.set(n);
        format!("{kind}-{n}")
    }

    /// A context over the real WIT host imports.
    pub(crate) fn wasm(tool: impl Into<String>) -> Self {
        Self::new(tool, Rc::new(crate::export::WasmHost))
    }

    /// The name of the tool being called (as the plugin registered it).
    pub fn tool_name(&self) -> &str {
        &self.tool
    }

    /// Log a line to the host's logs and (per MCP logging rules) the client.
    pub fn log(&self, level: Level, message: impl fmt::Display) {
        self.host.log(level, &message.to_string());
    }

    /// Log at [`Level::Debug`].
    pub fn debug(&self, message: impl fmt::Display) {
        self.log(Level::Debug, message);
    }

    /// Log at [`Level::Info`].
    pub fn info(&self, message: impl fmt::Display) {
        self.log(Level::Info, message);
    }

    /// Log at [`Level::Notice`].
    pub fn notice(&self, message: impl fmt::Display) {
        self.log(Level::Notice, message);
    }

    /// Log at [`Level::Warning`].
    pub fn warn(&self, message: impl fmt::Display) {
        self.log(Level::Warning, message);
    }

    /// Log at [`Level::Error`].
    pub fn error(&self, message: impl fmt::Display) {
        self.log(Level::Error, message);
    }

    /// Report progress of this call (`done` out of `total`, if known). Sent to
    /// clients that asked for progress; cheap otherwise.
    pub fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        self.host.progress(done, total, message);
    }

    /// Call another tool by the name clients see (e.g. `text_word_count`).
    /// Only tools the admin granted this plugin are reachable; anything else
    /// answers [`ToolError::Denied`].
    pub fn call_tool(
        &self,
        name: &str,
        arguments: &impl Serialize,
    ) -> Result<CallResult, ToolError> {
        let arguments = serde_json::to_string(arguments).map_err(|e| {
            ToolError::invalid_arguments(format!("cannot serialize arguments for `{name}`: {e}"))
        })?;
        self.host.call_tool(name, &arguments)
    }

    /// Call another tool and read its result as `T` (its structured content,
    /// or its text parsed as JSON). A result marked `is_error` becomes
    /// [`ToolError::Failed`].
    pub fn call_tool_as<T: DeserializeOwned>(
        &self,
        name: &str,
        arguments: &impl Serialize,
    ) -> Result<T, ToolError> {
        self.call_tool(name, arguments)?.parse()
    }

    /// The tools this plugin may call, by the names clients see.
    pub fn list_tools(&self) -> Vec<ToolInfo> {
        self.host.list_tools()
    }

    /// Tell the host that something this plugin serves changed, so clients
    /// hear of it: for a list, the host asks the plugin for it again (in a
    /// fresh instance) and tells clients if it differs; for
    /// [`Change::ResourceUpdated`], clients subscribed to that resource are
    /// told to read it again. Every call runs in a fresh instance, so what
    /// the lists or contents come from must live outside it (a granted
    /// folder, another service).
    ///
    /// ```no_run
    /// # use switchboard_sdk::{Change, Context};
    /// # fn saved(cx: &Context) {
    /// // A tool just rewrote the note behind `notes://today`.
    /// cx.announce(Change::ResourceUpdated("notes://today".into()));
    /// cx.announce(Change::Resources);
    /// # }
    /// ```
    pub fn announce(&self, change: Change) {
        self.host.announce(change);
    }
}
