//! One MCP client session with one replica: the transport (a child process
//! or Streamable HTTP), the era negotiation, and what the upstream tells us
//! unprompted (progress, logs, list changes, resource updates).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam, ProgressToken,
    ProtocolVersion, ResourceUpdatedNotificationParam,
};
use rmcp::service::{ClientInitializeError, NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _};

use crate::changes::{ListChanged, PendingChanges};
use crate::config::Endpoint;
use crate::dispatch::{ClientEvent, EventSink};

/// Progress tokens of calls in flight on one connection, and where their
/// progress goes.
#[derive(Default)]
pub struct ProgressRoutes(Mutex<HashMap<ProgressToken, EventSink>>);

impl ProgressRoutes {
    pub fn insert(&self, token: ProgressToken, sink: EventSink) {
        self.lock().insert(token, sink);
    }

    pub fn remove(&self, token: &ProgressToken) {
        self.lock().remove(token);
    }

    fn get(&self, token: &ProgressToken) -> Option<EventSink> {
        self.lock().get(token).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProgressToken, EventSink>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The host's side of one upstream session.
#[derive(Clone)]
pub struct UpstreamClient {
    upstream: Arc<str>,
    progress: Arc<ProgressRoutes>,
    changes: Arc<PendingChanges>,
    /// The version a legacy `initialize` asks for.
    legacy_version: ProtocolVersion,
}

impl UpstreamClient {
    pub fn new(
        upstream: Arc<str>,
        progress: Arc<ProgressRoutes>,
        changes: Arc<PendingChanges>,
    ) -> Self {
        Self {
            upstream,
            progress,
            changes,
            legacy_version: ProtocolVersion::V_2025_11_25,
        }
    }
}

impl ClientHandler for UpstreamClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(self.legacy_version.clone())
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let Some(sink) = self.progress.get(&params.progress_token) else {
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
        sink.send(event).await;
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
        let data = params.data.to_string();
        crate::logging::event!(
            params.level,
            target: "switchboard::upstream",
            upstream,
            logger,
            "{data}"
        );
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
        legacy_version: Some(client.legacy_version.clone()),
    };
    match connect_with(endpoint, client.clone(), http, timeout, auto).await {
        Err(Failure::Handshake(failure))
            if speaks_only_older(&failure)
                .is_some_and(|versions| versions.contains(&client.legacy_version)) =>
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
