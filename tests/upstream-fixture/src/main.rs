//! `upstream-fixture`: a real MCP server (rmcp 3.9, both protocol eras) that
//! Switchboard's end-to-end tests run as an *upstream* server behind the host.
//!
//! Its tools exist to provoke the host's upstream machinery: `whoami` tells
//! replicas apart and gives the pid to `kill -9` (restart), `sleep` and `hang`
//! exercise timeouts, progress forwarding and cancellation, `exit` crashes the
//! process (restart, circuit breaker), `add_tool` changes the tool list at run
//! time (`notifications/tools/list_changed` in both eras), `touch` tells the
//! clients that subscribed to a resource that it changed
//! (`notifications/resources/updated`: after `resources/subscribe` in
//! 2025-11-25, on `subscriptions/listen` streams in 2026-07-28) and `stats`
//! reports how many calls and cancellations this process saw and which
//! resources clients watch now.
//!
//! ```text
//! upstream-fixture [--name NAME] [--http 127.0.0.1:PORT] [--legacy]
//! ```
//!
//! Without `--http` it serves one client over stdio (stdout carries the
//! protocol only; logs go to stderr, filtered by `RUST_LOG`, default `warn`).
//! With `--http ADDR` it serves Streamable HTTP at `/mcp` (legacy sessions and
//! 2026-07-28 requests on the same endpoint) and, once bound, prints exactly
//! one line `listening on http://ADDR/mcp` to stdout (port 0 is allowed).
//! With `--legacy` it speaks 2025-11-25 and older only, as most servers in
//! the field still do.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, PromptArgument, PromptMessage, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Role, ServerCapabilities, ServerConfig, SubscriptionFilter,
    Tool,
};
use rmcp::service::{NotificationContext, Peer, RequestContext, SubscriptionContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

const USAGE: &str = "usage: upstream-fixture [--name NAME] [--http 127.0.0.1:PORT] [--legacy]";
const GREETING_URI: &str = "fixture://greeting";
const ITEM_PREFIX: &str = "fixture://items/";

// ---------------------------------------------------------------- arguments

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Returned unchanged.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

fn default_steps() -> u32 {
    5
}

#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// How long to sleep, in milliseconds.
    ms: u64,
    /// How many progress notifications to send, spread over `ms`.
    #[serde(default = "default_steps")]
    steps: u32,
}

#[derive(Deserialize, JsonSchema)]
struct ExitArgs {
    /// Exit code (default 1).
    #[serde(default)]
    code: Option<i32>,
}

#[derive(Deserialize, JsonSchema)]
struct AddToolArgs {
    /// Name of the tool to add (it behaves like `echo`).
    name: String,
    /// How many times to announce the change (a flood, for the host's
    /// coalescing).
    #[serde(default = "one")]
    announce: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize, JsonSchema)]
struct RoundsArgs {
    /// What to ask, one per round: `sampling`, `elicitation` or `roots`.
    kinds: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
struct LogArgs {
    /// Sent at each level, debug to error, as `notifications/message`.
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct AskArgs {
    /// `sampling` (with `prompt`), `elicitation` (with `prompt` as the
    /// message) or `roots`.
    kind: String,
    #[serde(default)]
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct TouchArgs {
    /// The resource whose subscribers are told it changed.
    uri: String,
}

#[derive(Serialize, JsonSchema)]
struct WhoAmI {
    name: String,
    pid: u32,
}

/// What the HTTP request of this call carried (over stdio: nothing).
#[derive(Serialize, JsonSchema)]
struct Headers {
    /// `Authorization`, if any.
    authorization: Option<String>,
    /// Every header name, lowercase, sorted.
    names: Vec<String>,
}

/// The W3C trace context the request of this call carried in `_meta`.
#[derive(Serialize, JsonSchema)]
struct TraceContext {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

#[derive(Serialize, JsonSchema)]
struct Stats {
    calls: u64,
    cancelled: u64,
    /// `tools/list` requests answered.
    lists: u64,
    /// The resources some client watches now (subscribed to, or named on an
    /// open `subscriptions/listen` stream), sorted.
    watched: Vec<String>,
}

// ---------------------------------------------------------------- state

/// Everything lives here: the HTTP service factory builds one handler per
/// legacy session and one per modern request, all sharing this.
struct Shared {
    name: String,
    /// Speaks 2025-11-25 and older only.
    legacy: bool,
    /// Synchronous, because `ServerHandler::get_tool` is.
    tools: RwLock<BTreeMap<String, Tool>>,
    calls: AtomicU64,
    cancelled: AtomicU64,
    lists: AtomicU64,
    /// Legacy (initialize-handshake) clients, told about list changes directly.
    legacy_peers: Mutex<Vec<Peer<RoleServer>>>,
    /// Wakes every 2026-07-28 `subscriptions/listen` stream on a list change.
    list_changed: broadcast::Sender<()>,
    /// Legacy clients' resource subscriptions: (URI, who).
    subscribers: Mutex<Vec<(String, Peer<RoleServer>)>>,
    /// How many open `subscriptions/listen` streams name each URI.
    streamed: Mutex<BTreeMap<String, usize>>,
    /// Wakes every stream with the URI `touch` updated.
    updated: broadcast::Sender<String>,
}

#[derive(Clone)]
struct Fixture(Arc<Shared>);

fn builtin_tools() -> Vec<Tool> {
    vec![
        Tool::new("echo", "Returns `text` unchanged", JsonObject::new())
            .with_input_schema::<EchoArgs>(),
        Tool::new(
            "whoami",
            "Returns this server's name and process id",
            JsonObject::new(),
        )
        .with_input_schema::<NoArgs>()
        .with_output_schema::<WhoAmI>(),
        Tool::new(
            "sleep",
            "Sleeps `ms` milliseconds, sending `steps` progress notifications; stops if cancelled",
            JsonObject::new(),
        )
        .with_input_schema::<SleepArgs>(),
        Tool::new(
            "hang",
            "Never returns (stops if cancelled)",
            JsonObject::new(),
        )
        .with_input_schema::<NoArgs>(),
        Tool::new(
            "exit",
            "Exits the process at once with `code` (default 1), without answering",
            JsonObject::new(),
        )
        .with_input_schema::<ExitArgs>(),
        Tool::new(
            "add_tool",
            "Adds an echo-like tool named `name` and announces the list change",
            JsonObject::new(),
        )
        .with_input_schema::<AddToolArgs>(),
        Tool::new(
            "ask_in_rounds",
            "Asks its client for each of `kinds` (sampling, elicitation, roots), one per input_required round (2026-07-28), the answers so far in its requestState; then lists what came back",
            JsonObject::new(),
        )
        .with_input_schema::<RoundsArgs>(),
        Tool::new(
            "log",
            "Logs `message` at four levels, debug up to error (logger `fixture`), then answers",
            JsonObject::new(),
        )
        .with_input_schema::<LogArgs>(),
        Tool::new(
            "ask",
            "Asks its client (sampling, elicitation or roots, as `kind`) and answers with what came back",
            JsonObject::new(),
        )
        .with_input_schema::<AskArgs>(),
        Tool::new(
            "touch",
            "Tells the clients that watch resource `uri` that it changed",
            JsonObject::new(),
        )
        .with_input_schema::<TouchArgs>(),
        Tool::new(
            "headers",
            "The HTTP headers the request of this call came with",
            JsonObject::new(),
        )
        .with_input_schema::<NoArgs>()
        .with_output_schema::<Headers>(),
        Tool::new(
            "trace_context",
            "The W3C trace context (`traceparent`, `tracestate`) in this request's `_meta`",
            JsonObject::new(),
        )
        .with_input_schema::<NoArgs>()
        .with_output_schema::<TraceContext>(),
        Tool::new(
            "stats",
            "Calls started and cancellations observed by this process",
            JsonObject::new(),
        )
        .with_input_schema::<NoArgs>()
        .with_output_schema::<Stats>(),
    ]
}

impl Fixture {
    fn new(name: String, legacy: bool) -> Self {
        let tools = builtin_tools()
            .into_iter()
            .map(|tool| (tool.name.to_string(), tool))
            .collect();
        let (list_changed, _) = broadcast::channel(16);
        let (updated, _) = broadcast::channel(16);
        Fixture(Arc::new(Shared {
            name,
            legacy,
            tools: RwLock::new(tools),
            calls: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            legacy_peers: Mutex::new(Vec::new()),
            list_changed,
            subscribers: Mutex::new(Vec::new()),
            streamed: Mutex::new(BTreeMap::new()),
            updated,
        }))
    }

    fn stats(&self) -> Stats {
        Stats {
            calls: self.0.calls.load(Ordering::SeqCst),
            cancelled: self.0.cancelled.load(Ordering::SeqCst),
            lists: self.0.lists.load(Ordering::SeqCst),
            watched: self.watched(),
        }
    }

    fn watched(&self) -> Vec<String> {
        let mut watched: Vec<String> = lock(&self.0.subscribers)
            .iter()
            .map(|(uri, _)| uri.clone())
            .chain(lock(&self.0.streamed).keys().cloned())
            .collect();
        watched.sort();
        watched.dedup();
        watched
    }

    /// Tells whoever watches `uri` that it changed; answers how many
    /// legacy sessions were told (streams hear it too).
    async fn touch(&self, uri: String) -> CallToolResult {
        let _ = self.0.updated.send(uri.clone());
        let peers: Vec<Peer<RoleServer>> = lock(&self.0.subscribers)
            .iter()
            .filter(|(subscribed, _)| *subscribed == uri)
            .map(|(_, peer)| peer.clone())
            .collect();
        let mut told = 0;
        for peer in peers {
            let update = rmcp::model::ResourceUpdatedNotificationParam::new(uri.clone());
            if peer.notify_resource_updated(update).await.is_ok() {
                told += 1;
            }
        }
        CallToolResult::success(vec![ContentBlock::text(format!(
            "touched {uri} ({told} session(s))"
        ))])
    }

    fn record_cancel(&self, tool: &str) -> CallToolResult {
        self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        tracing::info!(tool, "call cancelled");
        CallToolResult::error(vec![ContentBlock::text(format!("{tool} cancelled"))])
    }

    async fn add_tool(&self, name: String, announce: u32) -> CallToolResult {
        let tool = Tool::new(
            name.clone(),
            "Added at run time; returns `text` unchanged",
            JsonObject::new(),
        )
        .with_input_schema::<EchoArgs>();
        self.0
            .tools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), tool);

        // 2026-07-28 clients: their subscriptions/listen streams.
        for _ in 0..announce {
            let _ = self.0.list_changed.send(());
        }
        // Legacy clients: directly; forget the ones that went away.
        let peers = self
            .0
            .legacy_peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut alive = Vec::with_capacity(peers.len());
        for peer in peers {
            let mut sent = Ok(());
            for _ in 0..announce {
                sent = peer.notify_tool_list_changed().await;
                if sent.is_err() {
                    break;
                }
            }
            match sent {
                Ok(()) => alive.push(peer),
                Err(error) => tracing::debug!(%error, "dropping a legacy peer"),
            }
        }
        *self
            .0
            .legacy_peers
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = alive;
        CallToolResult::success(vec![ContentBlock::text(format!("added {name}"))])
    }
}

/// Tool arguments as `T`; `Err` is the `isError` result to answer with.
fn parse<T: DeserializeOwned>(request: &CallToolRequestParams) -> Result<T, Box<CallToolResult>> {
    let args = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
    serde_json::from_value(args).map_err(|e| {
        Box::new(CallToolResult::error(vec![ContentBlock::text(format!(
            "invalid arguments for `{}`: {e}",
            request.name
        ))]))
    })
}

fn structured<T: Serialize>(value: &T) -> CallToolResult {
    let json = serde_json::to_value(value).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(json.to_string())]);
    result.structured_content = Some(json);
    result
}

/// `ask_in_rounds`: the 2026-07-28 way to ask. The answers of earlier
/// rounds travel in `requestState` (plain JSON: this is a test server);
/// each round asks the first kind not answered yet, under the kind's name.
#[allow(deprecated)]
fn ask_in_rounds(request: &CallToolRequestParams) -> CallToolResponse {
    use rmcp::model::{
        CreateMessageRequest, CreateMessageRequestParams, ElicitRequest, ElicitRequestParams,
        InputRequest, InputRequests, InputRequiredResult, ListRootsRequest, SamplingMessage,
        SamplingMessageContentBlock,
    };
    let args = match parse::<RoundsArgs>(request) {
        Ok(args) => args,
        Err(result) => return (*result).into(),
    };
    let mut answered: BTreeMap<String, serde_json::Value> = match request.request_state.as_deref() {
        None => BTreeMap::new(),
        Some(state) => match serde_json::from_str(state) {
            Ok(answered) => answered,
            Err(e) => {
                return CallToolResult::error(vec![ContentBlock::text(format!(
                    "requestState is not what this server sent: {e}"
                ))])
                .into();
            }
        },
    };
    answered.extend(request.input_responses.clone().unwrap_or_default());
    let Some(next) = args.kinds.iter().find(|kind| !answered.contains_key(*kind)) else {
        let summary = args
            .kinds
            .iter()
            .map(|kind| format!("{kind}: {}", answered[kind]))
            .collect::<Vec<_>>()
            .join("\n");
        return CallToolResult::success(vec![ContentBlock::text(summary)]).into();
    };
    let question = match next.as_str() {
        "sampling" => {
            InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
                vec![SamplingMessage::new(
                    Role::User,
                    SamplingMessageContentBlock::text("a question in rounds"),
                )],
                100,
            )))
        }
        "elicitation" => {
            let schema = name_form();
            InputRequest::Elicitation(ElicitRequest::new(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: "Your name?".into(),
                    requested_schema: schema,
                },
            ))
        }
        "roots" => InputRequest::ListRoots(ListRootsRequest {
            method: Default::default(),
            extensions: Default::default(),
        }),
        other => {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "unknown kind `{other}`"
            ))])
            .into();
        }
    };
    let mut requests = InputRequests::new();
    requests.insert(next.clone(), question);
    let state = serde_json::to_string(&answered).unwrap_or_default();
    InputRequiredResult::new(Some(requests), Some(state)).into()
}

/// The form both ways of asking send: one required `name`.
fn name_form() -> rmcp::model::ElicitationSchema {
    serde_json::from_value(serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"]
    }))
    .expect("a valid schema")
}

/// `log`: the message at four levels, then a result.
#[allow(deprecated)]
async fn log(peer: &Peer<RoleServer>, message: &str) -> CallToolResult {
    use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
    for level in [
        LoggingLevel::Debug,
        LoggingLevel::Info,
        LoggingLevel::Warning,
        LoggingLevel::Error,
    ] {
        let param = LoggingMessageNotificationParam::new(level, serde_json::json!(message))
            .with_logger("fixture");
        if let Err(error) = peer.notify_logging_message(param).await {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "could not log: {error}"
            ))]);
        }
    }
    // Like a server that logs and then works: the host forwards a log to
    // the call's client while the call runs (one sent in the instant before
    // the answer may only reach the host's log).
    tokio::time::sleep(Duration::from_millis(50)).await;
    CallToolResult::success(vec![ContentBlock::text("logged")])
}

/// `ask`: one request to the client (2025-11-25 sessions can take them),
/// answered as text: the model's reply, the form's content, or the root URIs.
#[allow(deprecated)]
async fn ask(peer: &Peer<RoleServer>, args: AskArgs) -> CallToolResult {
    use rmcp::model::{
        ClientResult, CreateMessageRequestParams, ElicitRequest, ElicitRequestParams,
        SamplingMessage, SamplingMessageContentBlock, ServerRequest,
    };
    let answer = match args.kind.as_str() {
        "sampling" => {
            let message =
                SamplingMessage::new(Role::User, SamplingMessageContentBlock::text(args.prompt));
            peer.create_message(CreateMessageRequestParams::new(vec![message], 100))
                .await
                .map(|result| serde_json::to_value(&result.message.content).unwrap_or_default())
        }
        "elicitation" => {
            let schema = name_form();
            let request = ServerRequest::ElicitRequest(ElicitRequest::new(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: args.prompt,
                    requested_schema: schema,
                },
            ));
            peer.send_request(request).await.map(|result| match result {
                ClientResult::ElicitResult(result) => {
                    serde_json::json!({"action": result.action, "content": result.content})
                }
                other => serde_json::json!({"unexpected": format!("{other:?}")}),
            })
        }
        "roots" => peer
            .list_roots()
            .await
            .map(|result| serde_json::to_value(&result.roots).unwrap_or_default()),
        other => {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "unknown kind `{other}`"
            ))]);
        }
    };
    match answer {
        Ok(answer) => CallToolResult::success(vec![ContentBlock::text(answer.to_string())]),
        Err(error) => CallToolResult::error(vec![ContentBlock::text(format!(
            "asking the client failed: {error}"
        ))]),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The URIs of one open `subscriptions/listen` stream, counted in
/// [`Shared::streamed`] while it is open.
struct Streamed {
    shared: Arc<Shared>,
    uris: Vec<String>,
}

impl Streamed {
    fn new(shared: Arc<Shared>, uris: Vec<String>) -> Self {
        let mut streamed = lock(&shared.streamed);
        for uri in &uris {
            *streamed.entry(uri.clone()).or_default() += 1;
        }
        drop(streamed);
        Self { shared, uris }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        let mut streamed = lock(&self.shared.streamed);
        for uri in &self.uris {
            if let Some(count) = streamed.get_mut(uri) {
                *count -= 1;
                if *count == 0 {
                    streamed.remove(uri);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- MCP

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new(
            format!("upstream-fixture-{}", self.0.name),
            env!("CARGO_PKG_VERSION"),
        ))
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(if self.0.legacy {
            ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25)
        } else {
            ProtocolVersion::KNOWN_VERSIONS
        })
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.0
            .legacy_peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(context.peer);
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut filter = SubscriptionFilter::builder().tools_list_changed();
        if let Some(uris) = &requested.resource_subscriptions {
            filter = filter.resource_subscriptions(uris.iter().cloned());
        }
        Some(filter.build())
    }

    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        lock(&self.0.subscribers).push((request.uri, context.peer));
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        // One session per process over stdio; over HTTP the tests that
        // unsubscribe have one session.
        lock(&self.0.subscribers).retain(|(uri, _)| *uri != request.uri);
        Ok(())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let uris = context
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let _streamed = Streamed::new(self.0.clone(), uris.clone());
        let mut changes = self.0.list_changed.subscribe();
        let mut updated = self.0.updated.subscribe();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                update = updated.recv() => match update {
                    Ok(uri) if uris.contains(&uri) => {
                        if let Err(error) = context.sink().notify_resource_updated(&uri).await {
                            tracing::debug!(%error, "subscription closed");
                            return Ok(());
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                change = changes.recv() => match change {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Err(error) = context.sink().notify_tool_list_changed().await {
                            tracing::debug!(%error, "subscription closed");
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.0.lists.fetch_add(1, Ordering::SeqCst);
        let tools = self.0.tools.read().unwrap_or_else(|e| e.into_inner());
        Ok(ListToolsResult::with_all_items(
            tools.values().cloned().collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0
            .tools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if self.get_tool(&request.name).is_none() {
            return Err(McpError::invalid_params(
                format!("unknown tool `{}`", request.name),
                None,
            ));
        }
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if request.name == "ask_in_rounds" {
            return Ok(ask_in_rounds(&request));
        }
        let result = match self.run(&request, context).await {
            Ok(result) => result,
            Err(result) => *result,
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(GREETING_URI, "greeting")
                .with_description("A greeting naming this server")
                .with_mime_type("text/plain"),
        ]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{ITEM_PREFIX}{{id}}"), "item")
                .with_description("Item ID: its text is `item ID`")
                .with_mime_type("text/plain"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.as_str();
        let text = if uri == GREETING_URI {
            format!("hello from {}", self.0.name)
        } else if let Some(id) = uri.strip_prefix(ITEM_PREFIX).filter(|id| !id.is_empty()) {
            format!("item {id}")
        } else {
            return Err(McpError::resource_not_found(
                format!("no resource `{uri}`"),
                None,
            ));
        };
        let contents = ResourceContents::text(text, uri).with_mime_type("text/plain");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "greet",
            Some("Asks to greet `who`"),
            Some(vec![
                PromptArgument::new("who")
                    .with_description("Whom to greet")
                    .with_required(true),
            ]),
        )]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if request.name != "greet" {
            return Err(McpError::invalid_params(
                format!("unknown prompt `{}`", request.name),
                None,
            ));
        }
        let who = request
            .arguments
            .as_ref()
            .and_then(|args| args.get("who"))
            .and_then(|who| who.as_str())
            .ok_or_else(|| McpError::invalid_params("argument `who` is required", None))?;
        let text = format!("Say hello to {who} from {}", self.0.name);
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).into())
    }
}

impl Fixture {
    /// Runs a known tool; both arms are results to answer with.
    async fn run(
        &self,
        request: &CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, Box<CallToolResult>> {
        Ok(match request.name.as_ref() {
            "whoami" => {
                parse::<NoArgs>(request)?;
                structured(&WhoAmI {
                    name: self.0.name.clone(),
                    pid: std::process::id(),
                })
            }
            "sleep" => {
                let args = parse::<SleepArgs>(request)?;
                self.sleep(args, context).await
            }
            "hang" => {
                parse::<NoArgs>(request)?;
                context.ct.cancelled().await;
                self.record_cancel("hang")
            }
            "exit" => {
                let args = parse::<ExitArgs>(request)?;
                let code = args.code.unwrap_or(1);
                tracing::info!(code, "exiting on request");
                std::process::exit(code)
            }
            "add_tool" => {
                let args = parse::<AddToolArgs>(request)?;
                self.add_tool(args.name, args.announce).await
            }
            "touch" => {
                let args = parse::<TouchArgs>(request)?;
                self.touch(args.uri).await
            }
            "log" => {
                let args = parse::<LogArgs>(request)?;
                log(&context.peer, &args.message).await
            }
            "ask" => {
                let args = parse::<AskArgs>(request)?;
                ask(&context.peer, args).await
            }
            "stats" => {
                parse::<NoArgs>(request)?;
                structured(&self.stats())
            }
            "headers" => {
                parse::<NoArgs>(request)?;
                let parts = context.extensions.get::<axum::http::request::Parts>();
                let mut names: Vec<String> = parts
                    .map(|p| p.headers.keys().map(|k| k.as_str().to_owned()).collect())
                    .unwrap_or_default();
                names.sort();
                names.dedup();
                let authorization = parts
                    .and_then(|p| p.headers.get("authorization"))
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                structured(&Headers {
                    authorization,
                    names,
                })
            }
            "trace_context" => {
                parse::<NoArgs>(request)?;
                structured(&TraceContext {
                    traceparent: context.meta.get_traceparent().map(str::to_owned),
                    tracestate: context.meta.get_tracestate().map(str::to_owned),
                })
            }
            // `echo` and every tool added at run time.
            _ => {
                let args = parse::<EchoArgs>(request)?;
                CallToolResult::success(vec![ContentBlock::text(args.text)])
            }
        })
    }

    async fn sleep(&self, args: SleepArgs, context: RequestContext<RoleServer>) -> CallToolResult {
        let token = context.meta.get_progress_token();
        let steps = args.steps;
        let total = Duration::from_millis(args.ms);
        let tick = total / steps.max(1);
        for i in 1..=steps.max(1) {
            tokio::select! {
                _ = context.ct.cancelled() => return self.record_cancel("sleep"),
                _ = tokio::time::sleep(tick) => {}
            }
            if let (Some(token), true) = (&token, steps > 0) {
                let progress = ProgressNotificationParam::new(token.clone(), f64::from(i))
                    .with_total(f64::from(steps))
                    .with_message(format!("step {i}"));
                if let Err(error) = context.peer.notify_progress(progress).await {
                    tracing::debug!(%error, "cannot send progress");
                }
            }
        }
        CallToolResult::success(vec![ContentBlock::text(format!("slept {} ms", args.ms))])
    }
}

// ---------------------------------------------------------------- main

struct Cli {
    name: String,
    http: Option<SocketAddr>,
    legacy: bool,
}

fn parse_cli() -> Result<Cli, String> {
    let mut cli = Cli {
        name: "fixture".into(),
        http: None,
        legacy: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => cli.name = args.next().ok_or("--name needs a value")?,
            "--http" => {
                let addr = args.next().ok_or("--http needs an address")?;
                cli.http = Some(
                    addr.parse()
                        .map_err(|e| format!("bad --http address `{addr}`: {e}"))?,
                );
            }
            "--legacy" => cli.legacy = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(cli)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("upstream-fixture: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let fixture = Fixture::new(cli.name, cli.legacy);
    match cli.http {
        None => {
            let running = fixture.serve(rmcp::transport::stdio()).await?;
            running.waiting().await?;
        }
        Some(addr) => {
            let config = StreamableHttpServerConfig::default().with_allowed_hosts([
                "127.0.0.1",
                "localhost",
                "::1",
            ]);
            let service = StreamableHttpService::new(
                move || Ok(fixture.clone()),
                Arc::new(LocalSessionManager::default()),
                config,
            );
            let router = axum::Router::new().nest_service("/mcp", service);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "listening on http://{}/mcp", listener.local_addr()?)?;
            stdout.flush()?;
            axum::serve(listener, router).await?;
        }
    }
    Ok(())
}
