//! The one call path. Every tool call, from an AI client or from a plugin
//! through its host import, goes through [`Dispatcher::call`]: look up,
//! check the grant, check the chain, validate, run under the deadline and
//! cancellation, check the output, record.

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras Switchboard serves.
#![allow(deprecated)]

use std::sync::{Arc, RwLock};
use std::time::Instant;

use rmcp::model::{CallToolResult, JsonObject, LoggingLevel};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::grants::Grants;
use crate::provider::{FailureKind, ToolFailure};
use crate::upstream::Upstream;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An AI client (sees every tool in the catalog).
    Client,
    /// A plugin, through its `host.call-tool` import.
    Plugin(String),
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Client => f.write_str("client"),
            Caller::Plugin(name) => write!(f, "plugin:{name}"),
        }
    }
}

/// A list clients may have cached that has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChanged {
    Tools,
    Resources,
    Prompts,
}

/// Something a running call tells the client of the outermost request.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Progress {
        source: String,
        done: f64,
        total: Option<f64>,
        message: Option<String>,
    },
    Log {
        source: String,
        level: LoggingLevel,
        message: String,
    },
}

/// Where a call's events go. Bounded, so a chatty plugin waits for the
/// client instead of filling the host's memory.
#[derive(Debug, Clone, Default)]
pub struct EventSink(Option<mpsc::Sender<ClientEvent>>);

/// How many events may wait for the client before a plugin is slowed down.
const EVENT_BACKLOG: usize = 256;

impl EventSink {
    /// A sink and the receiver the transport drains into the client.
    pub fn channel() -> (Self, mpsc::Receiver<ClientEvent>) {
        let (tx, rx) = mpsc::channel(EVENT_BACKLOG);
        (Self(Some(tx)), rx)
    }

    /// A sink that drops everything (calls nobody listens to).
    pub fn discard() -> Self {
        Self(None)
    }

    pub async fn send(&self, event: ClientEvent) {
        if let Some(tx) = &self.0 {
            // A closed channel means the client is gone; the call is being
            // cancelled anyway.
            let _ = tx.send(event).await;
        }
    }
}

/// What a call inherits from the request that started it.
#[derive(Clone)]
pub struct CallScope {
    /// The latest moment the call may still run.
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub events: EventSink,
    /// Plugins on the chain, outermost first.
    pub chain: Arc<[String]>,
    pub dispatcher: Arc<Dispatcher>,
}

/// The audit line of one call. Written when the call ends, or, if its
/// future is dropped first (its caller was cancelled or went away), as
/// `cancelled` then: every call leaves exactly one line.
struct AuditLine<'a> {
    caller: &'a Caller,
    callee: &'a str,
    tool: &'a str,
    started: Instant,
    finished: bool,
}

impl AuditLine<'_> {
    fn record(&mut self, outcome: &str, reason: &str) {
        self.finished = true;
        let (caller, callee, tool) = (self.caller, self.callee, self.tool);
        let elapsed_us = self.started.elapsed().as_micros() as u64;
        // Denials stand out at warn level.
        if outcome == FailureKind::Denied.as_str() {
            tracing::warn!(target: "switchboard::audit", %caller, callee, tool, outcome, elapsed_us, reason);
        } else {
            tracing::info!(target: "switchboard::audit", %caller, callee, tool, outcome, elapsed_us, reason);
        }
    }
}

impl Drop for AuditLine<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.record(
                FailureKind::Cancelled.as_str(),
                "abandoned: the caller stopped waiting",
            );
        }
    }
}

/// Longest chain of plugin-to-tool calls.
pub const DEFAULT_MAX_DEPTH: usize = 8;

pub struct Dispatcher {
    /// Swapped whole when an upstream's tools change; a call keeps the
    /// catalog it started with.
    catalog: RwLock<Arc<Catalog>>,
    grants: Grants,
    max_depth: usize,
    upstreams: Vec<Arc<Upstream>>,
    changes: broadcast::Sender<ListChanged>,
}

/// List changes a slow subscriber may fall behind by before it misses some
/// (it then only learns "something changed", which is all it needs).
const CHANGE_BACKLOG: usize = 64;

impl Dispatcher {
    pub fn new(catalog: Catalog, grants: Grants, max_depth: usize) -> Arc<Self> {
        Self::with_upstreams(catalog, grants, max_depth, Vec::new())
    }

    pub fn with_upstreams(
        catalog: Catalog,
        grants: Grants,
        max_depth: usize,
        upstreams: Vec<Arc<Upstream>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            catalog: RwLock::new(Arc::new(catalog)),
            grants,
            max_depth,
            upstreams,
            changes: broadcast::channel(CHANGE_BACKLOG).0,
        })
    }

    /// The catalog as it is now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs a new catalog and tells subscribed clients.
    pub fn replace_catalog(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
        self.announce(ListChanged::Tools);
    }

    /// Tells subscribed clients that a list changed.
    pub fn announce(&self, change: ListChanged) {
        // No receiver means no client is listening: nothing to do.
        let _ = self.changes.send(change);
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<ListChanged> {
        self.changes.subscribe()
    }

    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The scope of a request arriving from a client. Its deadline is set by
    /// the provider's own timeout; cancellation comes from the transport.
    pub fn root_scope(self: &Arc<Self>, cancel: CancellationToken, events: EventSink) -> CallScope {
        CallScope {
            // Far enough to never bind before each provider's own timeout.
            deadline: Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600),
            cancel,
            events,
            chain: Arc::from(Vec::new()),
            dispatcher: Arc::clone(self),
        }
    }

    /// Runs tool `name` for `caller`. `Err` means no result was produced;
    /// the transport decides how each kind reaches its caller.
    pub async fn call(
        &self,
        caller: &Caller,
        name: &str,
        arguments: Option<JsonObject>,
        scope: CallScope,
    ) -> Result<CallToolResult, ToolFailure> {
        let catalog = self.catalog();
        let mut audit = AuditLine {
            caller,
            callee: catalog.get(name).map_or("-", |e| e.provider.name()),
            tool: name,
            started: Instant::now(),
            finished: false,
        };
        let outcome = self.run(&catalog, caller, name, arguments, scope).await;
        let (kind, reason) = match &outcome {
            Ok(result) if result.is_error == Some(true) => ("tool-error", ""),
            Ok(_) => ("ok", ""),
            Err(failure) => (failure.kind.as_str(), failure.message.as_str()),
        };
        audit.record(kind, reason);
        outcome
    }

    async fn run(
        &self,
        catalog: &Catalog,
        caller: &Caller,
        name: &str,
        arguments: Option<JsonObject>,
        scope: CallScope,
    ) -> Result<CallToolResult, ToolFailure> {
        let unknown = || ToolFailure::new(FailureKind::NotFound, format!("unknown tool `{name}`"));
        let entry = catalog.get(name).ok_or_else(unknown)?;

        match caller {
            // What clients are not shown does not exist for them.
            Caller::Client if !entry.exposed => return Err(unknown()),
            Caller::Client => {}
            Caller::Plugin(plugin) => self.grants.check(plugin, name)?,
        }

        let callee = entry.provider.name();
        if scope.chain.iter().any(|on_chain| on_chain == callee) {
            let chain: Vec<&str> = scope.chain.iter().map(String::as_str).collect();
            return Err(ToolFailure::new(
                FailureKind::Denied,
                format!(
                    "call cycle refused: {} -> {callee} (`{name}`); plugin `{callee}` is already on the chain",
                    chain.join(" -> ")
                ),
            ));
        }
        if scope.chain.len() >= self.max_depth {
            return Err(ToolFailure::new(
                FailureKind::Denied,
                format!(
                    "call chain depth limit ({}) reached calling `{name}`: {}",
                    self.max_depth,
                    scope.chain.join(" -> ")
                ),
            ));
        }

        let arguments = arguments.unwrap_or_default();
        entry.check_arguments(&arguments).map_err(|problems| {
            ToolFailure::new(
                FailureKind::InvalidArguments,
                format!("invalid arguments for `{name}`: {problems}"),
            )
        })?;

        let deadline = scope
            .deadline
            .min(Instant::now() + entry.provider.timeout());
        let mut chain = scope.chain.to_vec();
        chain.push(callee.to_owned());
        let child = CallScope {
            deadline,
            cancel: scope.cancel.child_token(),
            events: scope.events.clone(),
            chain: chain.into(),
            dispatcher: scope.dispatcher.clone(),
        };
        let cancel = child.cancel.clone();
        let result = tokio::select! {
            result = entry.provider.call(&entry.local_name, arguments, child) => result?,
            () = scope.cancel.cancelled() => {
                cancel.cancel();
                return Err(ToolFailure::new(
                    FailureKind::Cancelled,
                    format!("call to `{name}` was cancelled by the client"),
                ));
            }
        };

        if result.is_error != Some(true) {
            entry
                .check_output(result.structured_content.as_ref())
                .map_err(|problem| {
                    ToolFailure::new(
                        FailureKind::Failed,
                        format!(
                            "`{name}` returned output that breaks its output schema: {problem}"
                        ),
                    )
                })?;
        }
        Ok(result)
    }
}
