//! Server processes (the host, the native baseline) and the rmcp clients
//! that drive them, in the era each row asks for.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rmcp::model::{CallToolRequestParams, ClientConfig, JsonObject, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, Transport};
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub type Client = RunningService<RoleClient, ClientConfig>;

/// The protocol era a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25: `initialize`, sessions.
    Legacy,
    /// 2026-07-28: `server/discover`, stateless.
    Modern,
}

/// A server process listening on HTTP; killed on drop.
pub struct HttpServer {
    child: Child,
    pub url: String,
    /// From spawn to the `listening on` line.
    pub ready_after: Duration,
}

impl HttpServer {
    /// Runs `program args...` and waits for `listening on http://...` on
    /// its stderr (which is drained afterwards so the server never blocks).
    pub async fn start(
        program: &Path,
        args: &[&str],
        taskset: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut command = match taskset {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let url = loop {
            let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
                .await
                .context("no `listening on` line within 120 s")??;
            let Some(line) = line else {
                bail!(
                    "{} exited before listening:\n{}",
                    program.display(),
                    seen.join("\n")
                );
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_owned();
            }
            seen.push(line);
        };
        let ready_after = started.elapsed();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            url,
            ready_after,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
}

/// A server process speaking MCP on its stdin/stdout, and its client.
pub struct StdioServer {
    _child: Child,
    pub client: Client,
}

impl StdioServer {
    pub async fn start(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_in(program, args, env, Era::Modern).await
    }

    pub async fn start_in(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        era: Era,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // The host logs one audit line per call at the default level;
            // it still formats and writes them, to /dev/null here.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take().expect("piped stdin");
        let client = connect_in(AsyncRwTransport::new_client(stdout, stdin), era).await?;
        Ok(Self {
            _child: child,
            client,
        })
    }
}

/// A reqwest client that keeps connections alive (rmcp's default opens a
/// new TCP connection per request; see shared/FACTS.md).
pub fn pooled_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .expect("a reqwest client")
}

pub async fn connect_http(url: &str, http: reqwest::Client) -> anyhow::Result<Client> {
    connect_http_in(url, http, Era::Modern).await
}

pub async fn connect_http_in(url: &str, http: reqwest::Client, era: Era) -> anyhow::Result<Client> {
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()),
    );
    connect_in(transport, era).await
}

/// As [`connect_http`], sending `Authorization: Bearer <token>`.
pub async fn connect_http_with_token(
    url: &str,
    http: reqwest::Client,
    token: &str,
) -> anyhow::Result<Client> {
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token),
    );
    connect_in(transport, Era::Modern).await
}

/// Connects in `era` and refuses anything else.
async fn connect_in<T>(transport: T, era: Era) -> anyhow::Result<Client>
where
    T: Transport<RoleClient> + 'static,
{
    connect_with(transport, era, ClientConfig::default()).await
}

/// As [`connect_http_in`], with `handler` answering the server's requests
/// (and declaring the capabilities for them).
pub async fn connect_http_with<H: ClientHandler>(
    url: &str,
    http: reqwest::Client,
    era: Era,
    handler: H,
) -> anyhow::Result<RunningService<RoleClient, H>> {
    let transport = StreamableHttpClientTransport::with_client(
        http,
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()),
    );
    connect_with(transport, era, handler).await
}

async fn connect_with<T, H>(
    transport: T,
    era: Era,
    handler: H,
) -> anyhow::Result<RunningService<RoleClient, H>>
where
    T: Transport<RoleClient> + 'static,
    H: ClientHandler,
{
    let lifecycle = match era {
        Era::Modern => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: None,
        },
        Era::Legacy => ClientLifecycleMode::Initialize,
    };
    let client = handler
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .context("MCP client connect")?;
    let negotiated = client.peer_info().map(|info| info.protocol_version.clone());
    let modern = negotiated
        .as_ref()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    if modern != (era == Era::Modern) {
        bail!("negotiated {negotiated:?}, not the {era:?} era");
    }
    Ok(client)
}

/// One `tools/call`; a JSON-RPC error or an `isError` result is an error.
/// An `input_required` result is fulfilled through the client's handler
/// and retried (rmcp does that inside `call_tool`).
pub async fn call<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    tool: &str,
    arguments: &JsonObject,
) -> anyhow::Result<()> {
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.clone()))
        .await
        .with_context(|| format!("tools/call {tool}"))?;
    if result.is_error == Some(true) {
        bail!("{tool} answered isError: {:?}", result.content);
    }
    Ok(())
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time a process has used so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`, which may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (11, 12 here).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}
