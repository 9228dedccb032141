//! What every tool provider (a plugin, later an upstream) offers the host:
//! its tools, and a way to run one. Nothing but [`crate::dispatch`] calls it.

use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{CallToolResult, JsonObject};

use crate::dispatch::CallScope;

/// One tool as its provider describes it, before the catalog names it.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// The provider's own name for it.
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub input_schema: String,
    pub output_schema: Option<String>,
    pub annotations: Option<rmcp::model::ToolAnnotations>,
}

/// Why a call produced no result. Mirrors the WIT `tool-error` variant so a
/// failure deep in a chain reaches the plugin that called it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    NotFound,
    InvalidArguments,
    Denied,
    Timeout,
    Cancelled,
    Failed,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::NotFound => "not-found",
            FailureKind::InvalidArguments => "invalid-arguments",
            FailureKind::Denied => "denied",
            FailureKind::Timeout => "timeout",
            FailureKind::Cancelled => "cancelled",
            FailureKind::Failed => "failed",
        }
    }
}

impl ToolFailure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// A source of tools: a plugin or an upstream server.
pub trait Provider: Send + Sync {
    /// The admin's name for it (`[plugins.NAME]`).
    fn name(&self) -> &str;

    /// The longest a single call may run.
    fn timeout(&self) -> Duration;

    /// Runs `tool` (the provider's own name) with arguments already checked
    /// against its input schema, within `scope`'s deadline and cancellation.
    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CallToolResult, ToolFailure>>;
}
