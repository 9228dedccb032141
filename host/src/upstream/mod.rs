//! Other MCP servers as providers. Each `[upstreams.NAME]` is one provider
//! that balances calls over its replicas (least in flight), keeps each one
//! up ([`replica::supervise`]), and stops sending calls to a failing one
//! ([`breaker`]). Its tools, resources and prompts are served to clients
//! under namespaced names.

mod asking;
mod breaker;
mod connection;
mod replica;
mod watches;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CancelledNotificationParam, ClientRequest,
    CompleteRequestParams, CompleteResult, ErrorCode, GetPromptRequestParams, GetPromptResult,
    InputRequiredResult, JsonObject, Prompt, ReadResourceRequestParams, ReadResourceResult,
    Resource, ResourceTemplate, ServerCapabilities, ServerResult, Tool,
};
use rmcp::service::{PeerRequestOptions, ServiceError};
use rmcp::{Peer, RoleClient};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::changes::{ListChanged, PendingChanges};
use crate::client_input::InputPending;
use crate::config::UpstreamConfig;
use crate::dispatch::CallScope;
use crate::provider::{FailureKind, Offers, Provider, ToolFailure, ToolSpec, Watch};
use crate::trace::{RequestSpan, TraceContext};
pub use replica::{Health, ReplicaStatus};
use replica::{InFlight, Link, Replica};
use watches::Watched;

/// Scheduler turns a finished call gives queued progress notifications.
const PROGRESS_DRAIN_YIELDS: usize = 4;

/// What the upstream offers, as it last told us (its own names).
#[derive(Debug, Default, Clone)]
struct Listing {
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
    /// What the server declared when last listed; `None` until it has
    /// connected once.
    capabilities: Option<ServerCapabilities>,
}

/// The state replicas and calls share.
pub struct Shared {
    config: UpstreamConfig,
    name: Arc<str>,
    replicas: Vec<Arc<Replica>>,
    listing: RwLock<Listing>,
    /// List changes announced by the upstream, for the refresher.
    changes: Arc<PendingChanges>,
    /// Bumped on every replica state change; waiting callers watch it.
    state: watch::Sender<u64>,
    http: reqwest::Client,
    shutdown: CancellationToken,
    next: AtomicUsize,
    /// Where the host hears that what this upstream offers changed.
    host_changes: Arc<PendingChanges>,
    /// The resources clients watch; every session stays subscribed to them.
    watched: Arc<Watched>,
}

impl Shared {
    fn state_changed(&self) {
        self.state.send_modify(|generation| *generation += 1);
    }

    fn listing(&self) -> std::sync::RwLockReadGuard<'_, Listing> {
        self.listing.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Lists everything the server declares from one of its sessions.
    async fn refresh_listing(&self, peer: &Peer<RoleClient>) -> Result<(), String> {
        let capabilities = peer
            .peer_info()
            .map(|info| info.capabilities.clone())
            .unwrap_or_default();
        let timeout = self.config.connect_timeout;
        let mut listing = Listing {
            capabilities: Some(capabilities.clone()),
            ..Listing::default()
        };
        if capabilities.tools.is_some() {
            listing.tools = bounded(timeout, "tools/list", peer.list_all_tools()).await?;
        }
        if capabilities.resources.is_some() {
            listing.resources =
                bounded(timeout, "resources/list", peer.list_all_resources()).await?;
            // Templates are optional even for servers with resources.
            listing.templates = bounded(
                timeout,
                "resources/templates/list",
                peer.list_all_resource_templates(),
            )
            .await
            .unwrap_or_default();
        }
        if capabilities.prompts.is_some() {
            listing.prompts = bounded(timeout, "prompts/list", peer.list_all_prompts()).await?;
        }
        self.store_listing(listing, None);
        Ok(())
    }

    /// Replaces the listing (or one kind of it) and tells the host what
    /// changed.
    fn store_listing(&self, fresh: Listing, only: Option<ListChanged>) {
        let mut changed = Vec::new();
        {
            let mut listing = self.listing.write().unwrap_or_else(|e| e.into_inner());
            let wanted = |kind| only.is_none_or(|only| only == kind);
            if only.is_none() {
                listing.capabilities = fresh.capabilities;
            }
            if wanted(ListChanged::Tools) && listing.tools != fresh.tools {
                listing.tools = fresh.tools;
                changed.push(ListChanged::Tools);
            }
            if wanted(ListChanged::Resources)
                && (listing.resources != fresh.resources || listing.templates != fresh.templates)
            {
                listing.resources = fresh.resources;
                listing.templates = fresh.templates;
                changed.push(ListChanged::Resources);
            }
            if wanted(ListChanged::Prompts) && listing.prompts != fresh.prompts {
                listing.prompts = fresh.prompts;
                changed.push(ListChanged::Prompts);
            }
        }
        for kind in changed {
            self.host_changes.mark(&self.name, kind);
        }
    }
}

async fn bounded<T>(
    timeout: Duration,
    what: &str,
    request: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, request).await {
        Err(_) => Err(format!(
            "{what}: no answer within {} ms",
            timeout.as_millis()
        )),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Ok(Ok(value)) => Ok(value),
    }
}

/// An upstream MCP server (all its replicas) as one provider.
pub struct Upstream {
    shared: Arc<Shared>,
}

/// What `check` shows for an upstream.
#[derive(Debug, Clone)]
pub struct UpstreamStatus {
    pub name: String,
    pub tools: usize,
    pub replicas: Vec<ReplicaStatus>,
}

impl Upstream {
    /// Starts supervising every replica. `host_changes` hears about every
    /// change of what this upstream offers.
    pub fn start(
        config: UpstreamConfig,
        http: reqwest::Client,
        host_changes: Arc<PendingChanges>,
    ) -> Arc<Self> {
        let changes = Arc::new(PendingChanges::default());
        let replicas = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(index, endpoint)| {
                Arc::new(Replica::new(
                    &config.name,
                    index,
                    endpoint.clone(),
                    breaker::Breaker::new(config.breaker),
                ))
            })
            .collect();
        let shared = Arc::new(Shared {
            name: Arc::from(config.name.as_str()),
            config,
            replicas,
            listing: RwLock::default(),
            changes: changes.clone(),
            state: watch::channel(0).0,
            http,
            shutdown: CancellationToken::new(),
            next: AtomicUsize::new(0),
            host_changes,
            watched: Watched::new(),
        });
        for replica in &shared.replicas {
            tokio::spawn(replica::supervise(shared.clone(), replica.clone()));
        }
        // Re-lists what the upstream says changed, from any ready replica.
        // Announcements made while a refresh runs collapse into one more
        // refresh, however many there were.
        let refresher = shared.clone();
        tokio::spawn(async move {
            loop {
                let announced = tokio::select! {
                    announced = changes.next() => announced,
                    () = refresher.shutdown.cancelled() => return,
                };
                // Updates need no listing: the host names them as clients
                // see them.
                for (_, uri) in &announced.updated {
                    refresher.host_changes.mark_updated(&refresher.name, uri);
                }
                let Some(link) = refresher.any_ready_link() else {
                    continue;
                };
                for (_, kind) in announced.lists {
                    if let Err(problem) = refresher.refresh_kind(&link.peer, kind).await {
                        tracing::warn!(
                            target: "switchboard::upstream",
                            upstream = &*refresher.name,
                            "could not refresh after a list change: {problem}"
                        );
                    }
                }
            }
        });
        Arc::new(Self { shared })
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn prefix(&self) -> &str {
        &self.shared.config.prefix
    }

    /// The settings it runs with.
    pub fn config(&self) -> &UpstreamConfig {
        &self.shared.config
    }

    /// The `expose` patterns (own tool names), `None` meaning all.
    pub fn expose(&self) -> Option<&[String]> {
        self.shared.config.expose.as_deref()
    }

    /// Waits until some replica is ready, every replica is in a crash loop,
    /// or `limit` passes; whichever comes first.
    pub async fn wait_settled(&self, limit: Duration) {
        let mut state = self.shared.state.subscribe();
        let settled = || {
            let healths: Vec<Health> = self.shared.replicas.iter().map(|r| r.health()).collect();
            healths.contains(&Health::Ready)
                || healths
                    .iter()
                    .all(|h| matches!(h, Health::CrashLoop { .. }))
        };
        let _ = tokio::time::timeout(limit, async {
            while !settled() {
                if state.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
    }

    pub fn status(&self) -> UpstreamStatus {
        UpstreamStatus {
            name: self.shared.name.to_string(),
            tools: self.shared.listing().tools.len(),
            replicas: self.shared.replicas.iter().map(|r| r.status()).collect(),
        }
    }

    /// Whether some replica has connected and listed what the upstream
    /// offers at least once since the host started (never unset again).
    pub fn has_connected(&self) -> bool {
        self.shared.listing().capabilities.is_some()
    }

    /// The span of request `method` (for `target`) sent to this upstream,
    /// under the span of the request dispatch runs.
    fn span(&self, method: &'static str, target: Option<&str>, scope: &CallScope) -> RequestSpan {
        RequestSpan::start(
            &scope.trace,
            SpanKind::Client,
            || match target {
                Some(target) => format!("{method} {target}"),
                None => method.to_owned(),
            },
            || {
                let mut attributes = vec![
                    KeyValue::new("mcp.method.name", method),
                    KeyValue::new("switchboard.upstream", self.name().to_owned()),
                ];
                if let Some(target) = target {
                    attributes.push(KeyValue::new("gen_ai.tool.name", target.to_owned()));
                }
                attributes
            },
        )
    }

    /// One request that is not a tool call, on a ready replica, within the
    /// upstream's timeout. `send` gets the trace context to put in the
    /// request's `_meta`.
    async fn request<T, F, Fut>(
        &self,
        method: &'static str,
        what: &str,
        scope: &CallScope,
        send: F,
    ) -> Result<T, ToolFailure>
    where
        F: FnOnce(Peer<RoleClient>, TraceContext) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let span = self.span(method, None, scope);
        let trace = span.context();
        let outcome = self
            .request_on_replica(what, scope, |peer| send(peer, trace))
            .await;
        if let Err(failure) = &outcome {
            span.fail(failure.kind.as_str(), &failure.message);
        }
        outcome
    }

    async fn request_on_replica<T, F, Fut>(
        &self,
        what: &str,
        scope: &CallScope,
        send: F,
    ) -> Result<T, ToolFailure>
    where
        F: FnOnce(Peer<RoleClient>) -> Fut,
        Fut: Future<Output = Result<T, ServiceError>>,
    {
        let started = Instant::now();
        let deadline = scope.deadline;
        let (link, in_flight, replica) = self.pick(deadline, &scope.cancel).await?;
        let link_session = link.session;
        // Dropping the request future on cancellation makes rmcp tell the
        // upstream (`notifications/cancelled`).
        let answer = tokio::select! {
            answer = tokio::time::timeout_at(deadline.into(), send(link.peer)) => answer,
            () = scope.cancel.cancelled() => {
                in_flight.succeeded();
                return Err(ToolFailure::new(
                    FailureKind::Cancelled,
                    format!("{what} on upstream `{}` was cancelled", self.name()),
                ));
            }
        };
        match answer {
            Err(_) => {
                let reason = format!(
                    "{what} got no answer within {} ms",
                    deadline.saturating_duration_since(started).as_millis()
                );
                in_flight.failed(&reason);
                Err(self.unavailable(&reason, FailureKind::Timeout))
            }
            Ok(Err(ServiceError::McpError(error))) => {
                // It answered: the connection is fine, the request was not.
                in_flight.succeeded();
                let kind = if error.code == ErrorCode::RESOURCE_NOT_FOUND
                    || error.code == ErrorCode::METHOD_NOT_FOUND
                {
                    FailureKind::NotFound
                } else if error.code == ErrorCode::INVALID_PARAMS {
                    FailureKind::InvalidArguments
                } else {
                    FailureKind::Failed
                };
                Err(ToolFailure::new(
                    kind,
                    format!(
                        "upstream `{}` refused {what}: {}",
                        self.name(),
                        error.message
                    ),
                ))
            }
            Ok(Err(error)) => {
                let reason = format!("{what} failed: {error}");
                in_flight.failed(&reason);
                replica.request_reconnect(link_session);
                Err(self.unavailable(&reason, FailureKind::Failed))
            }
            Ok(Ok(value)) => {
                in_flight.succeeded();
                Ok(value)
            }
        }
    }

    fn unavailable(&self, reason: &str, kind: FailureKind) -> ToolFailure {
        ToolFailure::new(
            kind,
            format!("upstream `{}` unavailable: {reason}", self.name()),
        )
    }

    /// A replica for one call: the ready one with the fewest calls in
    /// flight. While replicas are (re)starting, waits for one within the
    /// deadline; when none can serve before it, says why at once.
    async fn pick(
        &self,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Result<(Link, InFlight, Arc<Replica>), ToolFailure> {
        let mut state = self.shared.state.subscribe();
        loop {
            let now = Instant::now();
            let replicas = &self.shared.replicas;
            let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
            let best = (0..replicas.len())
                .map(|offset| &replicas[(start + offset) % replicas.len()])
                .filter(|replica| replica.usable(now))
                .min_by_key(|replica| replica.in_flight());
            if let Some(replica) = best
                && let Ok((link, in_flight)) = replica.admit(now)
            {
                return Ok((link, in_flight, replica.clone()));
            }
            let worth_waiting = replicas.iter().any(|replica| match replica.health() {
                Health::Starting => true,
                Health::Down { retry_at, .. } => retry_at < deadline,
                // Its connection closed a moment ago (a killed process):
                // the supervisor is about to restart it.
                Health::Ready => replica.ready_but_disconnected(),
                Health::CrashLoop { .. } => false,
            });
            if !worth_waiting {
                let reasons: Vec<String> = replicas
                    .iter()
                    .map(|replica| {
                        let reason = replica.unavailable_reason(now);
                        if replicas.len() == 1 {
                            reason
                        } else {
                            format!(
                                "replica {} ({}): {reason}",
                                replica.index + 1,
                                replica.endpoint
                            )
                        }
                    })
                    .collect();
                return Err(self.unavailable(&reasons.join("; "), FailureKind::Failed));
            }
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(self.unavailable("shutting down", FailureKind::Failed));
                    }
                }
                () = tokio::time::sleep_until(deadline.into()) => {
                    return Err(self.unavailable(
                        "no replica became ready before the call's deadline",
                        FailureKind::Timeout,
                    ));
                }
                () = cancel.cancelled() => {
                    return Err(ToolFailure::new(FailureKind::Cancelled, "cancelled while waiting for the upstream"));
                }
            }
        }
    }

    async fn call_tool(
        &self,
        tool: &str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> Result<rmcp::model::CallToolResult, ToolFailure> {
        let started = Instant::now();
        let span = self.span("tools/call", Some(tool), &scope);
        let outcome = self
            .call_in_rounds(tool, arguments, started, &span, &scope)
            .await;
        match &outcome {
            Err(failure) => span.fail(failure.kind.as_str(), &failure.message),
            Ok(result) if result.is_error == Some(true) => {
                span.fail("tool-error", "the upstream answered with an error result");
            }
            Ok(_) => {}
        }
        outcome
    }

    async fn send_call(
        &self,
        tool: &str,
        request: ClientRequest,
        started: Instant,
        scope: &CallScope,
    ) -> Result<CallReply, ToolFailure> {
        // A replica whose connection closed since it was picked never got the
        // request: mark it and pick again (safe, nothing was sent).
        let (link, in_flight, replica, handle) = loop {
            let (link, in_flight, replica) = self.pick(scope.deadline, &scope.cancel).await?;
            match link
                .peer
                .send_request_with_option(request.clone(), PeerRequestOptions::no_options())
                .await
            {
                Ok(handle) => break (link, in_flight, replica, handle),
                Err(error) => {
                    let reason = format!("could not send the call: {error}");
                    in_flight.failed(&reason);
                    replica.request_reconnect(link.session);
                }
            }
        };
        let link_session = link.session;
        // Progress for this call goes to whoever waits for it; if the
        // caller goes away, the upstream hears `notifications/cancelled`.
        let pending = PendingCall {
            peer: link.peer.clone(),
            progress: link.progress.clone(),
            token: handle.progress_token.clone(),
            id: Some(handle.id.clone()),
        };
        let route = connection::CallRoute::new(scope.clone());
        let needs_input = route.needs_input.clone();
        link.progress.insert(handle.progress_token.clone(), route);
        let outcome = tokio::select! {
            outcome = handle.await_response() => outcome,
            () = needs_input.cancelled() => {
                // The upstream asked what the client answers in its next
                // request: this run ends, the retry runs the call again.
                in_flight.succeeded();
                drop(pending);
                return Err(self.needs_input(tool));
            }
            () = tokio::time::sleep_until(scope.deadline.into()) => {
                let reason = format!(
                    "`{tool}` got no answer within {} ms",
                    scope.deadline.saturating_duration_since(started).as_millis()
                );
                in_flight.failed(&reason);
                drop(pending);
                return Err(ToolFailure::new(
                    FailureKind::Timeout,
                    format!("upstream `{}`: {reason}", self.name()),
                ));
            }
            () = scope.cancel.cancelled() => {
                drop(pending);
                return Err(ToolFailure::new(
                    FailureKind::Cancelled,
                    format!("call to `{tool}` on upstream `{}` was cancelled", self.name()),
                ));
            }
        };
        // rmcp hands each notification to a task of its own but the
        // response straight to us, so progress sent just before the answer
        // may still be queued: let those tasks run before the route closes.
        for _ in 0..PROGRESS_DRAIN_YIELDS {
            tokio::task::yield_now().await;
        }
        pending.answered();
        match outcome {
            Ok(ServerResult::CallToolResult(result)) => {
                in_flight.succeeded();
                Ok(CallReply::Done(result))
            }
            Ok(ServerResult::InputRequiredResult(result)) => {
                in_flight.succeeded();
                Ok(CallReply::InputRequired(result))
            }
            Ok(_) => {
                in_flight.succeeded();
                Err(ToolFailure::new(
                    FailureKind::Failed,
                    format!(
                        "upstream `{}` answered `{tool}` with something other than a tool result (tasks are not supported)",
                        self.name()
                    ),
                ))
            }
            Err(ServiceError::McpError(error)) => {
                // It answered: the connection is fine, the call was not.
                in_flight.succeeded();
                Err(ToolFailure::new(
                    FailureKind::Failed,
                    format!(
                        "upstream `{}` refused `{tool}`: {}",
                        self.name(),
                        error.message
                    ),
                ))
            }
            Err(error) => {
                let reason = format!("connection lost during `{tool}` ({error})");
                in_flight.failed(&reason);
                replica.request_reconnect(link_session);
                Err(self.unavailable(&reason, FailureKind::Failed))
            }
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

impl Shared {
    fn any_ready_link(&self) -> Option<Link> {
        self.replicas.iter().find_map(|replica| replica.link())
    }

    async fn refresh_kind(&self, peer: &Peer<RoleClient>, kind: ListChanged) -> Result<(), String> {
        let timeout = self.config.connect_timeout;
        let mut fresh = Listing::default();
        match kind {
            ListChanged::Tools => {
                fresh.tools = bounded(timeout, "tools/list", peer.list_all_tools()).await?;
            }
            ListChanged::Resources => {
                fresh.resources =
                    bounded(timeout, "resources/list", peer.list_all_resources()).await?;
                fresh.templates = bounded(
                    timeout,
                    "resources/templates/list",
                    peer.list_all_resource_templates(),
                )
                .await
                .unwrap_or_default();
            }
            ListChanged::Prompts => {
                fresh.prompts = bounded(timeout, "prompts/list", peer.list_all_prompts()).await?;
            }
        }
        self.store_listing(fresh, Some(kind));
        Ok(())
    }
}

/// What an upstream answered a tool call with.
enum CallReply {
    Done(rmcp::model::CallToolResult),
    /// A 2026-07-28 server wants the client's input first.
    InputRequired(InputRequiredResult),
}

/// Rounds one call may take with an upstream that keeps asking.
const MAX_INPUT_ROUNDS: usize = 8;

impl Upstream {
    /// `tool` stops here: the client answers the upstream's question in its
    /// next request (2026-07-28), which runs the call again.
    fn needs_input(&self, tool: &str) -> ToolFailure {
        ToolFailure::new(
            FailureKind::InputRequired,
            format!(
                "`{tool}` on upstream `{}` needs the client's input",
                self.name()
            ),
        )
    }

    /// Calls `tool`, and while a 2026-07-28 upstream answers
    /// `input_required`, asks the client (in its era) and calls again with
    /// the answers and the upstream's `requestState`. A 2026-07-28 client
    /// answers in its next request: this run then ends `input_required`,
    /// and its retry runs the call from the start, the upstream's questions
    /// answered from the client's responses (the state never leaves the
    /// host).
    async fn call_in_rounds(
        &self,
        tool: &str,
        arguments: JsonObject,
        started: Instant,
        span: &RequestSpan,
        scope: &CallScope,
    ) -> Result<rmcp::model::CallToolResult, ToolFailure> {
        let mut responses = None;
        let mut state = None;
        for _ in 0..MAX_INPUT_ROUNDS {
            let mut params =
                CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.clone());
            params.input_responses = responses.take();
            params.request_state = state.take();
            span.context().inject(&mut params.meta);
            let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
            let asked = match self.send_call(tool, request, started, scope).await? {
                CallReply::Done(result) => return Ok(result),
                CallReply::InputRequired(asked) => asked,
            };
            let (keys, questions): (Vec<String>, Vec<_>) =
                asking::questions_of(self.name(), asked.input_requests.unwrap_or_default())
                    .into_iter()
                    .unzip();
            let answers = asking::ask_client(
                self.name(),
                self.shared.config.client_requests,
                questions,
                scope,
            )
            .await
            .map_err(|InputPending| self.needs_input(tool))?;
            responses = Some(asking::responses_of(keys, answers)?);
            state = asked.request_state;
        }
        Err(ToolFailure::new(
            FailureKind::Failed,
            format!(
                "upstream `{}` still asked for input after {MAX_INPUT_ROUNDS} rounds of `{tool}`",
                self.name()
            ),
        ))
    }
}

/// A tool call sent upstream and not yet answered.
struct PendingCall {
    peer: Peer<RoleClient>,
    progress: Arc<connection::ProgressRoutes>,
    token: rmcp::model::ProgressToken,
    id: Option<rmcp::model::RequestId>,
}

impl PendingCall {
    fn answered(mut self) {
        self.id = None;
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.progress.remove(&self.token);
        if let Some(id) = self.id.take() {
            let peer = self.peer.clone();
            tokio::spawn(async move {
                let param = CancelledNotificationParam::new(
                    Some(id),
                    Some("the caller stopped waiting".into()),
                );
                let _ = peer.notify_cancelled(param).await;
            });
        }
    }
}

impl Provider for Upstream {
    fn name(&self) -> &str {
        &self.shared.name
    }

    fn timeout(&self) -> Duration {
        self.shared.config.timeout
    }

    fn tools(&self) -> Vec<ToolSpec> {
        self.shared
            .listing()
            .tools
            .iter()
            .map(|tool| ToolSpec {
                name: tool.name.to_string(),
                title: tool.title.clone(),
                description: tool.description.as_deref().unwrap_or_default().to_owned(),
                input_schema: (*tool.input_schema).clone(),
                output_schema: tool.output_schema.as_ref().map(|schema| (**schema).clone()),
                annotations: tool.annotations.clone(),
            })
            .collect()
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<rmcp::model::CallToolResult, ToolFailure>> {
        Box::pin(self.call_tool(tool, arguments, scope))
    }

    /// What the server declared. Before it first connects nothing is
    /// known, so everything is assumed: capabilities are fixed for a
    /// client's session, and its resources and prompts may appear later.
    fn offers(&self) -> Offers {
        let listing = self.shared.listing();
        let declared = listing.capabilities.as_ref();
        Offers {
            resources: declared.is_none_or(|c| c.resources.is_some()),
            prompts: declared.is_none_or(|c| c.prompts.is_some()),
            completions: declared.is_some_and(|c| c.completions.is_some()),
            list_changes: true,
            resource_updates: declared.is_none_or(|c| {
                c.resources
                    .as_ref()
                    .is_some_and(|resources| resources.subscribe == Some(true))
            }),
        }
    }

    /// Every session with the upstream subscribes to `uri` while someone
    /// watches it.
    fn watch(&self, uri: &str) -> Watch {
        self.shared.watched.add(uri)
    }

    fn resources(&self) -> Vec<Resource> {
        self.shared.listing().resources.clone()
    }

    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.shared.listing().templates.clone()
    }

    fn read_resource<'a>(
        &'a self,
        uri: &'a str,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<ReadResourceResult, ToolFailure>> {
        Box::pin(async move {
            let mut params = ReadResourceRequestParams::new(uri.to_owned());
            let what = format!("resources/read of `{uri}`");
            self.request("resources/read", &what, &scope, |peer, trace| async move {
                trace.inject(&mut params.meta);
                peer.read_resource(params).await
            })
            .await
            .map_err(|mut failure| {
                // 2026-07-28 servers answer an unknown resource with
                // -32602 (older ones with -32002): both mean not found.
                if failure.kind == FailureKind::InvalidArguments {
                    failure.kind = FailureKind::NotFound;
                }
                failure
            })
        })
    }

    fn prompts(&self) -> Vec<Prompt> {
        self.shared.listing().prompts.clone()
    }

    fn get_prompt<'a>(
        &'a self,
        name: &'a str,
        arguments: Option<JsonObject>,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<GetPromptResult, ToolFailure>> {
        Box::pin(async move {
            let mut params = GetPromptRequestParams::new(name.to_owned());
            if let Some(arguments) = arguments {
                params = params.with_arguments(arguments);
            }
            let what = format!("prompts/get of `{name}`");
            self.request("prompts/get", &what, &scope, |peer, trace| async move {
                trace.inject(&mut params.meta);
                peer.get_prompt(params).await
            })
            .await
        })
    }

    fn complete<'a>(
        &'a self,
        mut request: CompleteRequestParams,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CompleteResult, ToolFailure>> {
        Box::pin(async move {
            let method = "completion/complete";
            self.request(method, method, &scope, |peer, trace| async move {
                trace.inject(&mut request.meta);
                peer.complete(request).await
            })
            .await
        })
    }
}
