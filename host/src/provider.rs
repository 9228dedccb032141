//! What every provider (a plugin or an upstream server) offers the host:
//! its tools and a way to run one, and optionally resources, resource
//! templates, prompts and completions. Nothing but [`crate::dispatch`] calls
//! these, and dispatch knows no concrete provider type.

use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, GetPromptResult, JsonObject, Prompt,
    ReadResourceResult, Resource, ResourceTemplate,
};

use crate::dispatch::CallScope;

/// One tool as its provider describes it, before the registry names it.
/// Schemas are parsed where they enter the host (a plugin's JSON text, an
/// upstream's listing), never again.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The provider's own name for it.
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub input_schema: JsonObject,
    pub output_schema: Option<JsonObject>,
    pub annotations: Option<rmcp::model::ToolAnnotations>,
}

/// Why a request produced no result. Mirrors the WIT `tool-error` variant so
/// a failure deep in a chain reaches the plugin that called it unchanged;
/// the server maps each kind to what the client's request kind expects.
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
    /// A client over one of its rate limits.
    RateLimited,
    /// The request stopped to ask its 2026-07-28 client for input; it ends
    /// `input_required` and runs again with the answers.
    InputRequired,
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
            FailureKind::RateLimited => "rate-limited",
            FailureKind::InputRequired => "input-required",
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

/// Which kinds of request a provider can serve, and whether what it lists
/// may change while the host runs. The server's capabilities are the union
/// over all providers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    pub resources: bool,
    pub prompts: bool,
    pub completions: bool,
    /// Its tools, resources or prompts may change after load.
    pub list_changes: bool,
    /// It tells when one of its resources' contents changes, so clients
    /// may subscribe to them.
    pub resource_updates: bool,
}

impl Offers {
    pub fn union(self, other: Offers) -> Offers {
        Offers {
            resources: self.resources || other.resources,
            prompts: self.prompts || other.prompts,
            completions: self.completions || other.completions,
            list_changes: self.list_changes || other.list_changes,
            resource_updates: self.resource_updates || other.resource_updates,
        }
    }
}

/// Someone's interest in changes to one resource: while it is held, the
/// provider makes sure it hears of them (an upstream stays subscribed);
/// dropping it ends the interest.
#[must_use = "dropping a Watch ends it at once"]
pub struct Watch(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Watch {
    /// A watch that needs nothing done (the provider tells of every change
    /// anyway).
    pub fn unneeded() -> Self {
        Self(None)
    }

    /// A watch that runs `end` when dropped.
    pub fn ending_with(end: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self(Some(Box::new(end)))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(end) = self.0.take() {
            end();
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Watch"
        } else {
            "Watch(unneeded)"
        })
    }
}

/// A source of tools, and maybe resources and prompts: a plugin or an
/// upstream server. Names and URIs are the provider's own; the registry
/// namespaces them.
pub trait Provider: Send + Sync {
    /// The admin's name for it (`[plugins.NAME]`, `[upstreams.NAME]`).
    fn name(&self) -> &str;

    /// The longest a single request may run; dispatch enforces it.
    fn timeout(&self) -> Duration;

    /// The tools it offers now.
    fn tools(&self) -> Vec<ToolSpec>;

    /// Runs `tool` (the provider's own name) with arguments already checked
    /// against its input schema, within `scope`'s deadline and cancellation.
    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CallToolResult, ToolFailure>>;

    fn offers(&self) -> Offers {
        Offers::default()
    }

    fn resources(&self) -> Vec<Resource> {
        Vec::new()
    }

    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        Vec::new()
    }

    /// Reads `uri` (its own URI, listed or from one of its templates).
    fn read_resource<'a>(
        &'a self,
        uri: &'a str,
        _scope: CallScope,
    ) -> BoxFuture<'a, Result<ReadResourceResult, ToolFailure>> {
        Box::pin(async move {
            Err(ToolFailure::new(
                FailureKind::NotFound,
                format!("`{}` serves no resources (asked for `{uri}`)", self.name()),
            ))
        })
    }

    /// Makes sure updates of `uri` (its own URI) are heard while the
    /// returned [`Watch`] lives. Only asked of providers whose
    /// [`Offers::resource_updates`] is set.
    fn watch(&self, _uri: &str) -> Watch {
        Watch::unneeded()
    }

    fn prompts(&self) -> Vec<Prompt> {
        Vec::new()
    }

    fn get_prompt<'a>(
        &'a self,
        name: &'a str,
        _arguments: Option<JsonObject>,
        _scope: CallScope,
    ) -> BoxFuture<'a, Result<GetPromptResult, ToolFailure>> {
        Box::pin(async move {
            Err(ToolFailure::new(
                FailureKind::NotFound,
                format!("`{}` serves no prompts (asked for `{name}`)", self.name()),
            ))
        })
    }

    /// Completes an argument of one of its prompts or resource templates;
    /// `request.ref` already carries the provider's own name or URI.
    fn complete<'a>(
        &'a self,
        _request: CompleteRequestParams,
        _scope: CallScope,
    ) -> BoxFuture<'a, Result<CompleteResult, ToolFailure>> {
        Box::pin(async move {
            Err(ToolFailure::new(
                FailureKind::NotFound,
                format!("`{}` offers no completions", self.name()),
            ))
        })
    }
}
