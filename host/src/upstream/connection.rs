//! One MCP client session with one replica: the transport (a child process
//! or Streamable HTTP), the era negotiation, and what the upstream tells us
//! unprompted (progress, logs, list changes, resource updates) or asks
//! (sampling, elicitation, roots: forwarded to the client of the call).

// Sampling and roots are deprecated by SEP-2577, yet part of both eras.
#![allow(deprecated)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientCapabilities, ClientConfig, CreateMessageRequestParams, CreateMessageResult,
    ElicitRequestParams, ElicitResult, Implementation, ListRootsResult, ProgressNotificationParam,
    ProgressToken, ProtocolVersion, ResourceUpdatedNotificationParam,
};
use rmcp::service::{ClientInitializeError, NotificationContext, RequestContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _};
use tokio_util::sync::CancellationToken;

use super::asking;
use crate::changes::{ListChanged, PendingChanges};
use crate::client_input::{Answer, Ask, InputPending, Question};
use crate::config::{ClientRequestGrants, Endpoint};
use crate::dispatch::{CallScope, ClientEvent};

/// Calls in flight on one connection by progress token: where their
/// progress and logs go, and whom the upstream's questions reach.
#[derive(Default)]
pub struct ProgressRoutes(Mutex<HashMap<ProgressToken, Arc<CallRoute>>>);

/// One call in flight on a connection (shared, not copied, by whatever
/// the upstream sends during it).
pub struct CallRoute {
    pub scope: CallScope,
    /// Questions the upstream asked during this call, for their keys: the
    /// n-th question of a call keeps its key when a 2026-07-28 client's
    /// retry runs the call again.
    asked: AtomicUsize,
    /// Cancelled when a question must wait for the client's next round:
    /// the call ends `input_required` at once.
    pub needs_input: CancellationToken,
}

impl CallRoute {
    pub fn new(scope: CallScope) -> Arc<Self> {
        Arc::new(Self {
            scope,
            asked: AtomicUsize::new(0),
            needs_input: CancellationToken::new(),
        })
    }
}

impl ProgressRoutes {
    pub fn insert(&self, token: ProgressToken, route: Arc<CallRoute>) {
        self.lock().insert(token, route);
    }

    pub fn remove(&self, token: &ProgressToken) {
        self.lock().remove(token);
    }

    fn get(&self, token: &ProgressToken) -> Option<Arc<CallRoute>> {
        self.lock().get(token).cloned()
    }

    /// The call a request or log of the upstream's belongs to. MCP does not
    /// say (stdio has no per-request channel), so only the one call in
    /// flight is certain; with several, nothing goes to any client.
    fn only_call(&self) -> Result<Arc<CallRoute>, String> {
        let calls = self.lock();
        let mut routes = calls.values();
        match (routes.next(), routes.next()) {
            (Some(route), None) => Ok(route.clone()),
            (None, _) => Err("no call of the host's is in flight on this connection".into()),
            (Some(_), Some(_)) => Err(format!(
                "{} calls are in flight on this connection, so the host cannot tell whose client to ask",
                calls.len()
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProgressToken, Arc<CallRoute>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The version a 2025-11-25 `initialize` asks for.
const LEGACY_VERSION: ProtocolVersion = ProtocolVersion::V_2025_11_25;

/// The host's side of one upstream session.
#[derive(Clone)]
pub struct UpstreamClient {
    upstream: Arc<str>,
    progress: Arc<ProgressRoutes>,
    changes: Arc<PendingChanges>,
    /// What it may ask the client of the call it serves.
    grants: ClientRequestGrants,
}

impl UpstreamClient {
    pub fn new(
        upstream: Arc<str>,
        progress: Arc<ProgressRoutes>,
        changes: Arc<PendingChanges>,
        grants: ClientRequestGrants,
    ) -> Self {
        Self {
            upstream,
            progress,
            changes,
            grants,
        }
    }
}

impl UpstreamClient {
    /// Asks the client of the call in flight `ask`, if the admin granted
    /// the upstream that kind of question; audited like a plugin's. A
    /// question for a 2026-07-28 client's next round ends the call
    /// `input_required`, and the upstream hears that this run is over.
    async fn ask(&self, ask: Ask) -> Result<Answer, McpError> {
        let kind = ask.kind();
        let refuse = |message: String| McpError::invalid_request(message, None);
        let route = self
            .progress
            .only_call()
            .map_err(|why| refuse(format!("{} cannot be forwarded: {why}", kind.method())))?;
        let n = route.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let question = Question {
            key: format!("{}-{n}", self.upstream),
            ask,
        };
        let asked =
            asking::ask_client(&self.upstream, self.grants, vec![question], &route.scope).await;
        match asked {
            Ok(mut answers) => match answers.pop() {
                Some(Ok(answer)) => Ok(answer),
                Some(Err(failure)) => Err(refuse(failure.message)),
                None => Err(mismatched_answer()),
            },
            Err(InputPending) => {
                route.needs_input.cancel();
                Err(refuse(
                    "the client answers in its next request; this run is over".into(),
                ))
            }
        }
    }
}

fn mismatched_answer() -> McpError {
    McpError::internal_error("the client's answer is not of the question's kind", None)
}

impl ClientHandler for UpstreamClient {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        // Only what the admin granted: the upstream then knows not to ask
        // the rest.
        if self.grants.sampling {
            capabilities.sampling = Some(Default::default());
        }
        if self.grants.elicitation {
            capabilities.elicitation = Some(Default::default());
        }
        if self.grants.roots {
            capabilities.roots = Some(Default::default());
        }
        ClientConfig::new(
            capabilities,
            Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(LEGACY_VERSION)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let Some(route) = self.progress.get(&params.progress_token) else {
            tracing::debug!(target: "switchboard::upstream", upstream = &*self.upstream, token = ?params.progress_token, "progress for no call in flight");
            return;
        };
        let event = ClientEvent::Progress {
            source: self.upstream.to_string(),
            done: params.progress,
            total: params.total,
            message: params.message,
        };
        // rmcp runs each notification handler in a task of its own, so
        // waiting here for a slow client stalls nothing else.
        route.scope.events.send(event).await;
    }

    // MCP logging is deprecated by SEP-2577 (2026-07-28), so rmcp marks the
    // notification and its fields deprecated; upstreams of both eras send it.
    #[allow(deprecated)]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let upstream = &*self.upstream;
        let logger = params.logger.as_deref().unwrap_or("");
        let data = match &params.data {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        crate::logging::event!(
            params.level,
            target: "switchboard::upstream",
            upstream,
            logger,
            "{data}"
        );
        // To the client of the call it belongs to, attributed to the
        // upstream (and its logger); its level filter applies there.
        if let Ok(route) = self.progress.only_call() {
            let source = match params.logger.as_deref() {
                Some(logger) if !logger.is_empty() => format!("{upstream}/{logger}"),
                _ => upstream.to_owned(),
            };
            let event = ClientEvent::Log {
                source,
                level: params.level,
                message: data,
            };
            route.scope.events.send(event).await;
        }
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        match self.ask(Ask::Sampling(params)).await? {
            Answer::Sampling(result) => Ok(result),
            _ => Err(mismatched_answer()),
        }
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        match self.ask(Ask::Elicitation(request)).await? {
            Answer::Elicitation(result) => Ok(result),
            _ => Err(mismatched_answer()),
        }
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        match self.ask(Ask::Roots).await? {
            Answer::Roots(result) => Ok(result),
            _ => Err(mismatched_answer()),
        }
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changes.mark(&self.upstream, ListChanged::Tools);
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changes.mark(&self.upstream, ListChanged::Resources);
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changes.mark(&self.upstream, ListChanged::Prompts);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.changes.mark_updated(&self.upstream, &params.uri);
    }
}

pub type Session = RunningService<RoleClient, UpstreamClient>;

/// A live session and, for a child process, its process id.
pub struct Connection {
    pub session: Session,
    pub pid: Option<u32>,
}

/// Host environment variables a child process gets without being granted
/// them: where programs are, whose they are, and the locale.
pub const INHERITED_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// Longest stderr line of a child kept in the host's log.
const MAX_STDERR_LINE: usize = 4096;

/// Starts (or dials) the replica and runs the MCP handshake in whichever
/// era it speaks. The error says what failed, without secrets.
///
/// A server may answer `server/discover` with only older versions (rmcp
/// servers that speak 2025-11-25 at most do): rmcp gives up there, so the
/// host starts again with `initialize`.
pub async fn connect(
    endpoint: &Endpoint,
    client: UpstreamClient,
    http: &reqwest::Client,
    timeout: Duration,
) -> Result<Connection, String> {
    let auto = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: Some(LEGACY_VERSION),
    };
    match connect_with(endpoint, client.clone(), http, timeout, auto).await {
        Err(Failure::Handshake(failure))
            if speaks_only_older(&failure)
                .is_some_and(|versions| versions.contains(&LEGACY_VERSION)) =>
        {
            let server_supported = speaks_only_older(&failure).unwrap_or_default();
            tracing::debug!(target: "switchboard::upstream", upstream = &*client.upstream, "the server speaks {server_supported:?}: connecting again with initialize");
            connect_with(
                endpoint,
                client,
                http,
                timeout,
                ClientLifecycleMode::Initialize,
            )
            .await
            .map_err(|failure| failure.describe(timeout))
        }
        outcome => outcome.map_err(|failure| failure.describe(timeout)),
    }
}

/// The versions a server named when it answered `server/discover` with
/// none the host asked for.
fn speaks_only_older(failure: &ClientInitializeError) -> Option<&[ProtocolVersion]> {
    match failure {
        ClientInitializeError::NoCompatibleProtocolVersion {
            server_supported, ..
        } => Some(server_supported),
        _ => None,
    }
}

/// Why a connection attempt failed.
enum Failure {
    Start(String),
    Timeout,
    Handshake(Box<ClientInitializeError>),
}

impl Failure {
    fn describe(self, timeout: Duration) -> String {
        match self {
            Failure::Start(reason) => reason,
            Failure::Timeout => format!("no MCP handshake within {} ms", timeout.as_millis()),
            Failure::Handshake(e) => format!("MCP handshake failed: {e}"),
        }
    }
}

async fn connect_with(
    endpoint: &Endpoint,
    client: UpstreamClient,
    http: &reqwest::Client,
    timeout: Duration,
    lifecycle: ClientLifecycleMode,
) -> Result<Connection, Failure> {
    let upstream = client.upstream.clone();
    let (handshake, pid) = match endpoint {
        Endpoint::Command {
            program,
            args,
            env,
            cwd,
        } => {
            let mut command = tokio::process::Command::new(program);
            command.args(args);
            // Killed with its session, also when the host exits.
            command.kill_on_drop(true);
            // The child does not inherit the host's environment, which may
            // hold other upstreams' credentials: only what a process needs
            // to run, plus what the admin gave it.
            command.env_clear();
            for name in INHERITED_ENV {
                if let Some(value) = std::env::var_os(name) {
                    command.env(name, value);
                }
            }
            command.envs(env.iter().map(|(k, v)| (k, v.expose())));
            if let Some(cwd) = cwd {
                command.current_dir(cwd);
            }
            let (transport, stderr) = TokioChildProcess::builder(command)
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| Failure::Start(format!("cannot start `{program}`: {e}")))?;
            let pid = transport.id();
            if let Some(stderr) = stderr {
                tokio::spawn(log_stderr(upstream.clone(), pid, stderr));
            }
            (
                tokio::time::timeout(timeout, client.serve_with_lifecycle(transport, lifecycle))
                    .await,
                pid,
            )
        }
        Endpoint::Http { url, headers } => {
            let mut custom = HashMap::new();
            for (name, value) in headers {
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| Failure::Start(format!("header name `{name}` is not valid")))?;
                let value = http::HeaderValue::from_str(value.expose()).map_err(|_| {
                    Failure::Start(format!("the value of header `{name}` is not valid"))
                })?;
                custom.insert(name, value);
            }
            let config =
                StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(custom);
            let transport = StreamableHttpClientTransport::with_client(http.clone(), config);
            (
                tokio::time::timeout(timeout, client.serve_with_lifecycle(transport, lifecycle))
                    .await,
                None,
            )
        }
    };
    match handshake {
        Err(_) => Err(Failure::Timeout),
        Ok(Err(e)) => Err(Failure::Handshake(Box::new(e))),
        Ok(Ok(session)) => Ok(Connection { session, pid }),
    }
}

/// The child's stderr, line by line, into the host's log (bounded lines, so
/// a child cannot flood memory with one endless line).
async fn log_stderr(upstream: Arc<str>, pid: Option<u32>, stderr: tokio::process::ChildStderr) {
    let mut lines = tokio::io::BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut lines)
            .take(MAX_STDERR_LINE as u64)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end();
                if !text.is_empty() {
                    tracing::info!(target: "switchboard::upstream", upstream = &*upstream, pid, "stderr: {text}");
                }
            }
        }
    }
}
