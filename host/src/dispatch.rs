//! The one request path. Every request for something a provider serves
//! (a tool call, a resource read, a prompt, a completion), from an AI
//! client or from a plugin through its host import, goes through the
//! [`Dispatcher`]: look up in the registry, check the caller may reach it,
//! check the chain, run it on its provider under the deadline and the
//! caller's cancellation, and leave one audit line.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, GetPromptResult, JsonObject,
    ReadResourceResult, Reference, ResourceContents,
};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use crate::changes::{Announcement, ListChanged};
use crate::client_input::{Answer, ClientLink, InputPending, Question};
use crate::clients::Client;
use crate::metrics::{self, Outcome};
use crate::provider::{FailureKind, Provider, ToolFailure};
use crate::registry::Registry;
use crate::trace::{RequestSpan, TraceContext};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An AI client (sees what providers expose, and what its own policy
    /// lets it see).
    Client(Client),
    /// A plugin, through its `host.call-tool` import.
    Plugin(String),
    /// An upstream server, asking the client of the call it serves
    /// (sampling, elicitation, roots); it reaches no provider.
    Upstream(String),
}

impl Caller {
    /// The local user: stdio, the CLI, or HTTP without `[clients]`.
    pub const LOCAL_CLIENT: Caller = Caller::Client(Client::LOCAL);
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Client(client) => client.fmt(f),
            Caller::Plugin(name) => write!(f, "plugin:{name}"),
            Caller::Upstream(name) => write!(f, "upstream:{name}"),
        }
    }
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
        level: crate::logging::Level,
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

/// What a request brings into dispatch from whoever made it.
#[derive(Clone)]
pub struct RequestScope {
    /// The caller's own deadline, if it has one; dispatch narrows it to the
    /// provider's timeout.
    pub deadline: Option<Instant>,
    pub cancel: CancellationToken,
    pub events: EventSink,
    /// The client of the outermost request, for questions asked of it.
    pub client: ClientLink,
    /// Plugins on the chain, outermost first.
    pub chain: Arc<[String]>,
    /// The span the request runs under (the caller's).
    pub trace: TraceContext,
}

impl RequestScope {
    /// A request arriving from a client: no deadline but each provider's
    /// timeout, cancellation from the transport.
    pub fn root(cancel: CancellationToken, events: EventSink) -> Self {
        Self {
            deadline: None,
            cancel,
            events,
            client: ClientLink::none(),
            chain: Arc::from(Vec::new()),
            trace: TraceContext::root(),
        }
    }
}

/// What a provider runs a request under.
#[derive(Clone)]
pub struct CallScope {
    /// The latest moment the request may still run.
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub events: EventSink,
    pub client: ClientLink,
    /// Plugins on the chain, outermost first, the callee included.
    pub chain: Arc<[String]>,
    /// For requests the callee makes in turn (a plugin's host imports).
    pub dispatcher: Arc<Dispatcher>,
    /// This request's span: the parent of what the callee does for it.
    pub trace: TraceContext,
}

impl CallScope {
    /// The scope of a request the callee makes while this one runs: it
    /// inherits the deadline, the cancellation and the chain.
    pub fn nested(&self) -> RequestScope {
        RequestScope {
            deadline: Some(self.deadline),
            cancel: self.cancel.clone(),
            events: self.events.clone(),
            client: self.client.clone(),
            chain: self.chain.clone(),
            trace: self.trace.clone(),
        }
    }
}

/// The audit line of one request, its metrics and its span. Written when it ends,
/// or, if its future is dropped first (its caller was cancelled or went
/// away), as `cancelled` then: every request leaves exactly one line.
struct AuditLine<'a> {
    caller: &'a Caller,
    request: &'static str,
    callee: &'a str,
    name: &'a str,
    /// Whether `name` may be a metric label value: only once the registry
    /// knows it (`callee` is set), and never for resource URIs.
    name_is_label: bool,
    started: Instant,
    finished: bool,
    span: RequestSpan,
}

impl<'a> AuditLine<'a> {
    /// The line of request `request` for `name`, by `caller`, in the trace
    /// `parent` names. A request named by a resource URI (`by_uri`): a
    /// client may make up any number of them, even within a provider's
    /// namespace, so the URI is in the audit line but never a metric label
    /// nor a span name.
    fn new(
        caller: &'a Caller,
        request: &'static str,
        name: &'a str,
        by_uri: bool,
        parent: &TraceContext,
    ) -> Self {
        let kind = match caller {
            Caller::Client(_) => SpanKind::Server,
            Caller::Plugin(_) | Caller::Upstream(_) => SpanKind::Internal,
        };
        let span = RequestSpan::start(
            parent,
            kind,
            || {
                if by_uri {
                    request.to_owned()
                } else {
                    format!("{request} {name}")
                }
            },
            || {
                let target = match request {
                    "tools/call" => "gen_ai.tool.name",
                    "prompts/get" => "gen_ai.prompt.name",
                    "sampling/createMessage" | "elicitation/create" | "roots/list" => {
                        "switchboard.input.key"
                    }
                    _ if by_uri => "mcp.resource.uri",
                    _ => "switchboard.target",
                };
                vec![
                    KeyValue::new("mcp.method.name", request),
                    KeyValue::new(target, name.to_owned()),
                    KeyValue::new("switchboard.caller", caller.to_string()),
                ]
            },
        );
        Self {
            caller,
            request,
            callee: "-",
            name,
            name_is_label: !by_uri,
            started: Instant::now(),
            finished: false,
            span,
        }
    }

    fn record(&mut self, outcome: Outcome, reason: &str) {
        self.finished = true;
        let (caller, request, callee, name) = (self.caller, self.request, self.callee, self.name);
        let elapsed = self.started.elapsed();
        // An unknown name (callee `-`) is whatever the client typed: one
        // placeholder, or a client could mint series without end.
        let label = if self.name_is_label && callee != "-" {
            name
        } else {
            metrics::UNKNOWN
        };
        metrics::request_finished(request, callee, label, caller, outcome, elapsed);
        let elapsed_us = elapsed.as_micros() as u64;
        let denied = outcome == Outcome::NoResult(FailureKind::Denied);
        let failed = outcome != Outcome::Ok;
        let outcome = outcome.as_str();
        self.span.record(|| {
            vec![
                KeyValue::new("switchboard.provider", callee.to_owned()),
                KeyValue::new("switchboard.outcome", outcome),
            ]
        });
        if failed {
            self.span.fail(outcome, reason);
        }
        // Denials stand out at warn level.
        if denied {
            tracing::warn!(target: "switchboard::audit", %caller, request, callee, name, outcome, elapsed_us, reason);
        } else {
            tracing::info!(target: "switchboard::audit", %caller, request, callee, name, outcome, elapsed_us, reason);
        }
    }

    fn finish<T>(mut self, outcome: &Result<T, ToolFailure>, tool_error: bool) {
        match outcome {
            Ok(_) if tool_error => self.record(Outcome::ToolError, ""),
            Ok(_) => self.record(Outcome::Ok, ""),
            Err(failure) => self.record(Outcome::NoResult(failure.kind), &failure.message),
        }
    }
}

impl Drop for AuditLine<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.record(
                Outcome::NoResult(FailureKind::Cancelled),
                "abandoned: the caller stopped waiting",
            );
        }
    }
}

/// Longest chain of plugin-to-tool calls.
pub const DEFAULT_MAX_DEPTH: usize = 8;

pub struct Dispatcher {
    /// Swapped whole when a provider's lists change; a request keeps the
    /// snapshot it started with.
    registry: RwLock<Arc<Registry>>,
    changes: broadcast::Sender<Announcement>,
    /// Set when the host can reload its config: then any list may change,
    /// whatever the providers offer.
    reloadable: std::sync::atomic::AtomicBool,
}

/// List changes a slow subscriber may fall behind by before it misses some
/// (it then only learns "something changed", which is all it needs).
const CHANGE_BACKLOG: usize = 64;

impl Dispatcher {
    pub fn new(registry: Registry) -> Arc<Self> {
        Arc::new(Self {
            registry: RwLock::new(Arc::new(registry)),
            changes: broadcast::channel(CHANGE_BACKLOG).0,
            reloadable: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The registry as it is now.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs a new registry; in-flight requests finish on the old one.
    pub fn replace_registry(&self, registry: Registry) {
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(registry);
    }

    /// The host reloads its config on request (`serve`): clients are told
    /// lists may change.
    pub fn set_reloadable(&self) {
        self.reloadable
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether clients should expect list changes (and be told of them).
    pub fn lists_may_change(&self) -> bool {
        self.reloadable.load(std::sync::atomic::Ordering::Relaxed)
            || self.registry().offers().list_changes
    }

    /// Tells subscribed clients that a list changed.
    pub fn announce(&self, change: ListChanged) {
        // No receiver means no client is listening: nothing to do.
        let _ = self.changes.send(Announcement::List(change));
    }

    /// Tells clients subscribed to `uri` (as clients see it) that its
    /// contents changed.
    pub fn resource_updated(&self, uri: &str) {
        let _ = self.changes.send(Announcement::ResourceUpdated(uri.into()));
    }

    pub fn subscribe_changes(&self) -> broadcast::Receiver<Announcement> {
        self.changes.subscribe()
    }

    /// Runs tool `name` for `caller`. `Err` means no result was produced;
    /// the transport decides how each kind reaches its caller.
    pub async fn call(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
        arguments: Option<JsonObject>,
        scope: RequestScope,
    ) -> Result<CallToolResult, ToolFailure> {
        let registry = self.registry();
        let mut audit = AuditLine::new(caller, "tools/call", name, false, &scope.trace);
        let outcome = match registry.tool_for(caller, name) {
            Err(failure) => {
                audit.callee = registry.tool_owner(name).unwrap_or("-");
                Err(failure)
            }
            Ok(entry) => {
                audit.callee = entry.provider.name();
                let arguments = arguments.unwrap_or_default();
                match entry.check_arguments(&arguments) {
                    Err(problems) => Err(ToolFailure::new(
                        FailureKind::InvalidArguments,
                        format!("invalid arguments for `{name}`: {problems}"),
                    )),
                    Ok(()) => self
                        .run(&registry, &audit, &entry.provider, scope, |child| {
                            entry.provider.call(&entry.local_name, arguments, child)
                        })
                        .await
                        .and_then(|result| {
                            if result.is_error == Some(true) {
                                return Ok(result);
                            }
                            entry
                                .check_output(result.structured_content.as_ref())
                                .map(|()| result)
                                .map_err(|problem| {
                                    ToolFailure::new(
                                        FailureKind::Failed,
                                        format!("`{name}` returned output that breaks its output schema: {problem}"),
                                    )
                                })
                        }),
                }
            }
        };
        let tool_error = matches!(&outcome, Ok(result) if result.is_error == Some(true));
        audit.finish(&outcome, tool_error);
        outcome
    }

    /// Reads resource `uri` (as clients name it) for `caller`; the contents
    /// come back under the same namespaced URIs.
    pub async fn read_resource(
        self: &Arc<Self>,
        caller: &Caller,
        uri: &str,
        scope: RequestScope,
    ) -> Result<ReadResourceResult, ToolFailure> {
        let registry = self.registry();
        let mut audit = AuditLine::new(caller, "resources/read", uri, true, &scope.trace);
        let outcome = match registry.resource_for(caller, uri) {
            Err(failure) => {
                audit.callee = registry.resource_owner(uri).unwrap_or("-");
                Err(failure)
            }
            Ok(route) => {
                audit.callee = route.provider.name();
                self.run(&registry, &audit, route.provider, scope, |child| {
                    route.provider.read_resource(route.local_uri, child)
                })
                .await
                .map_err(|mut failure| {
                    // The provider speaks of its own URI; the client knows
                    // the namespaced one.
                    if failure.kind == FailureKind::NotFound {
                        failure.message = format!("unknown resource `{uri}`: {}", failure.message);
                    }
                    failure
                })
                .map(|mut result| {
                    for contents in &mut result.contents {
                        if let ResourceContents::TextResourceContents { uri, .. }
                        | ResourceContents::BlobResourceContents { uri, .. } = contents
                        {
                            *uri = route.source.public_uri(uri);
                        }
                    }
                    result
                })
            }
        };
        audit.finish(&outcome, false);
        outcome
    }

    /// Gets prompt `name` (as clients name it) for `caller`.
    pub async fn get_prompt(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
        arguments: Option<JsonObject>,
        scope: RequestScope,
    ) -> Result<GetPromptResult, ToolFailure> {
        let registry = self.registry();
        let mut audit = AuditLine::new(caller, "prompts/get", name, false, &scope.trace);
        let outcome = match registry.prompt_for(caller, name) {
            Err(failure) => {
                audit.callee = registry.prompt_owner(name).unwrap_or("-");
                Err(failure)
            }
            Ok(entry) => {
                audit.callee = entry.provider.name();
                self.run(&registry, &audit, &entry.provider, scope, |child| {
                    entry
                        .provider
                        .get_prompt(&entry.local_name, arguments, child)
                })
                .await
            }
        };
        audit.finish(&outcome, false);
        outcome
    }

    /// Completes an argument of a prompt or resource template (as clients
    /// name it) for `caller`.
    pub async fn complete(
        self: &Arc<Self>,
        caller: &Caller,
        mut request: CompleteRequestParams,
        scope: RequestScope,
    ) -> Result<CompleteResult, ToolFailure> {
        let registry = self.registry();
        let (name, is_prompt) = match &request.r#ref {
            Reference::Prompt(prompt) => (prompt.name.clone(), true),
            Reference::Resource(resource) => (resource.uri.clone(), false),
            _ => {
                return Err(ToolFailure::new(
                    FailureKind::InvalidArguments,
                    "completion of an unknown kind of reference",
                ));
            }
        };
        let mut audit = AuditLine::new(
            caller,
            "completion/complete",
            &name,
            !is_prompt,
            &scope.trace,
        );
        let route = if is_prompt {
            registry
                .prompt_for(caller, &name)
                .map(|entry| (&entry.provider, entry.local_name.clone()))
        } else {
            registry
                .resource_for(caller, &name)
                .map(|route| (route.provider, route.local_uri.to_owned()))
        };
        let outcome = match route {
            Err(failure) => {
                audit.callee = if is_prompt {
                    registry.prompt_owner(&name)
                } else {
                    registry.resource_owner(&name)
                }
                .unwrap_or("-");
                Err(failure)
            }
            Ok((provider, local)) => {
                audit.callee = provider.name();
                if let Reference::Prompt(prompt) = &mut request.r#ref {
                    prompt.name = local;
                } else if let Reference::Resource(resource) = &mut request.r#ref {
                    resource.uri = local;
                }
                self.run(&registry, &audit, provider, scope, |child| {
                    provider.complete(request, child)
                })
                .await
            }
        };
        audit.finish(&outcome, false);
        outcome
    }

    /// Records a request a caller made that the host refused before it
    /// reached anyone (a plugin's ungranted request to its client): one
    /// audit line, its metrics and its span, like every other refusal.
    pub fn audit_refused(
        &self,
        caller: &Caller,
        request: &'static str,
        failure: &ToolFailure,
        trace: &TraceContext,
    ) {
        let mut audit = AuditLine::new(caller, request, "client", false, trace);
        audit.callee = "client";
        audit.finish::<()>(&Err(failure.clone()), false);
    }

    /// Asks the client of the outermost request `questions` for `caller`
    /// (a plugin whose grants were checked), each leaving an audit line.
    /// `Err`: the run must stop until the client answers (2026-07-28).
    pub async fn ask_client(
        &self,
        caller: &Caller,
        questions: Vec<Question>,
        scope: &CallScope,
    ) -> Result<Vec<Result<Answer, ToolFailure>>, InputPending> {
        let asked: Vec<(&'static str, String)> = questions
            .iter()
            .map(|question| (question.ask.kind().method(), question.key.clone()))
            .collect();
        // A key is the plugin's to choose: in the audit line, never a
        // metric label (as with resource URIs).
        let audits: Vec<AuditLine<'_>> = asked
            .iter()
            .map(|(method, key)| {
                let mut audit = AuditLine::new(caller, method, key, true, &scope.trace);
                audit.callee = "client";
                audit
            })
            .collect();
        let outcome = scope
            .client
            .ask(questions, scope.deadline, &scope.cancel)
            .await;
        match &outcome {
            Ok(answers) => {
                for (audit, answer) in audits.into_iter().zip(answers) {
                    audit.finish(answer, false);
                }
            }
            Err(InputPending) => {
                for mut audit in audits {
                    audit.record(
                        Outcome::NoResult(FailureKind::InputRequired),
                        "asked of the client in an input_required result",
                    );
                }
            }
        }
        outcome
    }

    /// Runs `work` (the request `audit` records) on `provider` after the
    /// client's rate limits and the chain checks, under the narrower of the caller's deadline and the
    /// provider's timeout, until the caller cancels.
    async fn run<'a, T>(
        self: &Arc<Self>,
        registry: &Registry,
        audit: &AuditLine<'_>,
        provider: &'a Arc<dyn Provider>,
        scope: RequestScope,
        work: impl FnOnce(CallScope) -> BoxFuture<'a, Result<T, ToolFailure>>,
    ) -> Result<T, ToolFailure> {
        let (caller, request, name) = (audit.caller, audit.request, audit.name);
        let callee = provider.name();
        // A client's rate limits count what reaches a provider; plugins'
        // nested calls are bounded by the outer call's deadline instead.
        if let Caller::Client(client) = caller {
            let tool = (request == "tools/call").then_some(name);
            client.admit(tool, Instant::now())?;
        }
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
        let max_depth = registry.max_depth();
        if scope.chain.len() >= max_depth {
            return Err(ToolFailure::new(
                FailureKind::Denied,
                format!(
                    "call chain depth limit ({max_depth}) reached calling `{name}`: {}",
                    scope.chain.join(" -> ")
                ),
            ));
        }

        let timeout = provider.timeout();
        let own_deadline = Instant::now() + timeout;
        let deadline = scope
            .deadline
            .map_or(own_deadline, |caller| caller.min(own_deadline));
        let mut chain = scope.chain.to_vec();
        chain.push(callee.to_owned());
        let cancel = scope.cancel.child_token();
        let child = CallScope {
            deadline,
            cancel: cancel.clone(),
            events: scope.events,
            client: scope.client,
            chain: chain.into(),
            dispatcher: self.clone(),
            trace: audit.span.context(),
        };
        // In flight from here until this future ends or is dropped.
        let _in_flight = metrics::request_started(request, callee);
        // Providers stop at the deadline themselves, with a message naming
        // what they were doing; this bounds one that does not.
        let bounded = tokio::time::timeout_at(deadline.into(), work(child));
        tokio::select! {
            outcome = bounded => match outcome {
                Ok(result) => result,
                Err(_) => {
                    cancel.cancel();
                    let limit = if deadline == own_deadline {
                        format!("its {} ms timeout", timeout.as_millis())
                    } else {
                        "the caller's deadline".to_owned()
                    };
                    Err(ToolFailure::new(
                        FailureKind::Timeout,
                        format!("`{name}` on `{callee}` did not finish within {limit}"),
                    ))
                }
            },
            () = scope.cancel.cancelled() => {
                cancel.cancel();
                Err(ToolFailure::new(
                    FailureKind::Cancelled,
                    format!("request for `{name}` was cancelled by the caller"),
                ))
            }
        }
    }
}
