//! Native unit tests for plugins: a [`MockHost`] that records logs, progress
//! and outgoing calls, and answers calls to other tools from closures.
//!
//! ```
//! use switchboard_sdk::{CallResult, testing::MockHost};
//!
//! let host = MockHost::new()
//!     .on_call("text_upper", |args| Ok(CallResult::text(args["text"].as_str().unwrap_or("").to_uppercase())));
//! let cx = host.context("shout");
//! let out = cx.call_tool("text_upper", &serde_json::json!({ "text": "hi" })).unwrap();
//! assert_eq!(out.first_text(), Some("HI"));
//! cx.info("done");
//! assert_eq!(host.logs().len(), 1);
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::ask::{Answer, Question};
use crate::{CallResult, Change, Context, Host, Level, ToolError, ToolInfo};

type Responder = Box<dyn Fn(&Value) -> Result<CallResult, ToolError>>;

#[derive(Default)]
struct State {
    responders: HashMap<String, Responder>,
    tools: Vec<ToolInfo>,
    logs: Vec<(Level, String)>,
    progress: Vec<(f64, Option<f64>, Option<String>)>,
    calls: Vec<(String, Value)>,
    answers: HashMap<String, Result<Answer, ToolError>>,
    questions: Vec<(String, Question)>,
    announced: Vec<Change>,
}

/// A fake host for native tests. Clones share state.
#[derive(Clone, Default)]
pub struct MockHost {
    state: Rc<RefCell<State>>,
}

impl MockHost {
    /// A host with no tools; every call answers [`ToolError::Denied`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer calls to `name` with `respond(arguments)`.
    pub fn on_call(
        self,
        name: impl Into<String>,
        respond: impl Fn(&Value) -> Result<CallResult, ToolError> + 'static,
    ) -> Self {
        self.state
            .borrow_mut()
            .responders
            .insert(name.into(), Box::new(respond));
        self
    }

    /// What `list_tools` answers.
    pub fn with_tools(self, tools: Vec<ToolInfo>) -> Self {
        self.state.borrow_mut().tools = tools;
        self
    }

    /// Answer the question asked under `key` (a key the plugin chose, or
    /// `<kind>-<n>` for the n-th of [`Context::sample`], [`Context::elicit`]
    /// or [`Context::roots`]); unanswered questions fail.
    pub fn on_question(self, key: impl Into<String>, answer: Result<Answer, ToolError>) -> Self {
        self.state.borrow_mut().answers.insert(key.into(), answer);
        self
    }

    /// Questions asked so far, with their keys.
    pub fn questions(&self) -> Vec<(String, Question)> {
        self.state.borrow().questions.clone()
    }

    /// A [`Context`] for calling `tool` over this host.
    pub fn context(&self, tool: impl Into<String>) -> Context {
        Context::new(tool, Rc::new(self.clone()))
    }

    /// Log lines so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.state.borrow().logs.clone()
    }

    /// Progress reports so far.
    pub fn progress_reports(&self) -> Vec<(f64, Option<f64>, Option<String>)> {
        self.state.borrow().progress.clone()
    }

    /// Outgoing tool calls so far (name, parsed arguments).
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.state.borrow().calls.clone()
    }

    /// Changes announced so far, in order.
    pub fn announced(&self) -> Vec<Change> {
        self.state.borrow().announced.clone()
    }
}

impl Host for MockHost {
    fn call_tool(&self, name: &str, arguments: &str) -> Result<CallResult, ToolError> {
        let args: Value = serde_json::from_str(arguments)
            .map_err(|e| ToolError::invalid_arguments(format!("arguments are not JSON: {e}")))?;
        self.state
            .borrow_mut()
            .calls
            .push((name.to_owned(), args.clone()));
        let state = self.state.borrow();
        match state.responders.get(name) {
            Some(respond) => respond(&args),
            None => Err(ToolError::denied(format!(
                "tool `{name}` is not granted to this plugin"
            ))),
        }
    }

    fn list_tools(&self) -> Vec<ToolInfo> {
        self.state.borrow().tools.clone()
    }

    fn log(&self, level: Level, message: &str) {
        self.state
            .borrow_mut()
            .logs
            .push((level, message.to_owned()));
    }

    fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        self.state
            .borrow_mut()
            .progress
            .push((done, total, message.map(str::to_owned)));
    }

    fn ask(&self, questions: Vec<(String, Question)>) -> Vec<Result<Answer, ToolError>> {
        let mut state = self.state.borrow_mut();
        let answers = questions
            .iter()
            .map(|(key, _)| {
                state.answers.get(key).cloned().unwrap_or_else(|| {
                    Err(ToolError::failed(format!(
                        "no answer for `{key}` in this MockHost"
                    )))
                })
            })
            .collect();
        state.questions.extend(questions);
        answers
    }

    fn announce(&self, change: Change) {
        self.state.borrow_mut().announced.push(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_recorded_in_order() {
        let host = MockHost::new();
        let cx = host.context("save");
        cx.announce(Change::ResourceUpdated("notes://a".into()));
        cx.announce(Change::Resources);
        assert_eq!(
            host.announced(),
            [
                Change::ResourceUpdated("notes://a".into()),
                Change::Resources
            ]
        );
    }
}
