//! The `switchboard` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use switchboard::clients::{ClientDirectory, LiveClients};
use switchboard::config::{Config, DEFAULT_CONFIG_FILE};
use switchboard::dispatch::{Caller, ClientEvent, EventSink, RequestScope};
use switchboard::provider::Provider as _;
use switchboard::reload::{LiveProviders, Reloader};
use switchboard::server::http::HttpServer;
use switchboard::{server, startup, telemetry};

/// `println!` that ignores a closed stdout (`switchboard tools | head`)
/// instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "An MCP host for sandboxed WebAssembly tool plugins"
)]
struct Cli {
    /// The admin config file.
    #[arg(long, short, global = true, default_value = DEFAULT_CONFIG_FILE)]
    config: PathBuf,
    /// How log lines (on stderr) are written: `text`, or `json` (one object
    /// per line, for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = telemetry::LogFormat::Text)]
    log_format: telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP clients (Streamable HTTP at /mcp by default).
    Serve {
        /// Serve one client over stdin/stdout instead of HTTP.
        #[arg(long, conflicts_with = "http")]
        stdio: bool,
        /// Listen here instead of `server.http` from the config.
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// Reload when the config file or a plugin's component changes (as
        /// on SIGHUP, which always reloads).
        #[arg(long)]
        watch: bool,
    },
    /// Validate the config and every plugin; print the tool table or every error.
    Check,
    /// Print the tools as clients see them.
    Tools {
        /// Print the full tool definitions as JSON (as `tools/list` returns them).
        #[arg(long)]
        json: bool,
    },
    /// Call one tool without a client (for plugin authors).
    Call {
        /// The tool's name as clients see it, e.g. `text_word_count`.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        // rmcp logs every message at info: too chatty to be the default.
        Command::Serve { .. } => "info,rmcp=warn",
        _ => "warn",
    };
    let _logs = telemetry::init(default_filter, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Check => return Ok(check(&config).await),
        Command::Serve { stdio, http, watch } => serve(&config, stdio, http, watch).await?,
        Command::Tools { json } => tools(&config, json).await?,
        Command::Call { tool, arguments } => return call(&config, &tool, &arguments).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn load(config: &Config) -> anyhow::Result<startup::Loaded> {
    startup::load(config)
        .await
        .with_context(|| format!("cannot load {}", config.path.display()))
}

/// How often `serve --watch` looks at the config and the components.
const WATCH_PERIOD: std::time::Duration = std::time::Duration::from_millis(500);

async fn serve(
    config: &Config,
    stdio: bool,
    http: Option<SocketAddr>,
    watch: bool,
) -> anyhow::Result<()> {
    if !config.server.metrics {
        switchboard::metrics::disable();
    }
    let traces = config
        .traces
        .as_ref()
        .map(switchboard::trace::start)
        .transpose()?;
    let served = serve_loaded(config, stdio, http, watch).await;
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    served
}

async fn serve_loaded(
    config: &Config,
    stdio: bool,
    http: Option<SocketAddr>,
    watch: bool,
) -> anyhow::Result<()> {
    let loaded = load(config).await?;
    let live = LiveProviders::new(loaded.plugins.len(), loaded.upstreams.clone());
    // stdio serves the local user; HTTP finds each request's client.
    let clients = if stdio {
        if !config.clients.is_empty() {
            tracing::info!(
                "stdio serves the local user: [clients] tokens and policies apply to HTTP only"
            );
        }
        None
    } else {
        let jwt = match &config.oauth {
            Some(oauth) => {
                let verifier = Arc::new(switchboard::oauth::JwtVerifier::new(oauth.clone())?);
                verifier.spawn_refresh();
                Some(verifier)
            }
            None => None,
        };
        Some(LiveClients::new(ClientDirectory::new(&config.clients, jwt)))
    };
    let reloader = Reloader::new(
        config.clone(),
        loaded.dispatcher.clone(),
        live.clone(),
        clients.clone(),
    );
    reloader.reload_on_sighup();
    if watch {
        reloader.reload_on_change(WATCH_PERIOD);
    }
    // The reloader and `live` hold what runs now; a reload replaces it.
    drop(loaded.upstreams);
    let Some(clients) = clients else {
        return server::stdio::serve(loaded.dispatcher, &config.server).await;
    };
    let addr = http.unwrap_or(config.server.http);
    if config.clients.is_empty() && config.oauth.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "serving HTTP beyond loopback without [clients]: anyone who reaches this address can call every tool; configure client tokens (see the admin guide)"
        );
    }
    let server = HttpServer::bind(loaded.dispatcher, &config.server, clients, addr)
        .await?
        .with_providers(live);
    let bound = server.local_addr()?;
    tracing::info!("serving MCP at http://{bound}/mcp");
    eprintln!("switchboard: listening on http://{bound}/mcp");
    server.serve(shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM (how service managers stop the host).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

async fn check(config: &Config) -> ExitCode {
    let loaded = match startup::load(config).await {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("{}: {} problem(s):", config.path.display(), errors.0.len());
            for error in &errors.0 {
                eprintln!("  - {error}");
            }
            return ExitCode::FAILURE;
        }
    };
    out!("{}: ok", config.path.display());
    for warning in &loaded.warnings {
        out!("warning: {warning}");
    }
    out!("compile cache: {}", loaded.runtime.cache_dir().display());
    out!();
    out!(
        "{:<16} {:>5}  {:>9}  {:>7}  {:>9}  {:>5}  {:<6}  COMPONENT",
        "PLUGIN",
        "TOOLS",
        "TIMEOUT",
        "MEMORY",
        "RESULT",
        "CALLS",
        "CACHE"
    );
    for plugin in &loaded.plugins {
        let limits = &plugin.limits;
        out!(
            "{:<16} {:>5}  {:>7}ms  {:>4}MiB  {:>6}KiB  {:>5}  {:<6}  {}",
            plugin.name,
            plugin.tools,
            limits.timeout_ms,
            limits.memory_mb,
            limits.max_result_kb,
            limits.max_concurrent,
            format!("{:?}", plugin.cache).to_lowercase(),
            plugin.component.display()
        );
    }
    if !loaded.upstreams.is_empty() {
        out!();
        out!(
            "{:<16} {:>5}  {:>9}  {:<10} REPLICAS",
            "UPSTREAM",
            "TOOLS",
            "TIMEOUT",
            "STATE"
        );
        let now = std::time::Instant::now();
        for upstream in &loaded.upstreams {
            let status = upstream.status();
            let ready = status
                .replicas
                .iter()
                .filter(|r| r.health == switchboard::upstream::Health::Ready)
                .count();
            let state = if ready > 0 {
                format!("ready {ready}/{}", status.replicas.len())
            } else if status
                .replicas
                .iter()
                .all(|r| matches!(r.health, switchboard::upstream::Health::CrashLoop { .. }))
            {
                "crash-loop".to_owned()
            } else {
                "down".to_owned()
            };
            out!(
                "{:<16} {:>5}  {:>7}ms  {:<10} {}",
                status.name,
                status.tools,
                upstream.timeout().as_millis(),
                state,
                status.replicas.len()
            );
            for (index, replica) in status.replicas.iter().enumerate() {
                let pid = replica.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
                let breaker = if replica.breaker_closed {
                    ""
                } else {
                    ", breaker open"
                };
                out!(
                    "  replica {}: {}{pid}, {} restart(s){breaker}: {}",
                    index + 1,
                    replica.endpoint,
                    replica.restarts,
                    replica.health.describe(now)
                );
            }
        }
    }
    out!();
    out!("GRANTS (anything not listed is denied)");
    for plugin in &config.plugins {
        let mut granted = plugin.grants.describe();
        if granted.is_empty() {
            granted.push("nothing".into());
        }
        out!("{:<16} {}", plugin.name, granted.join("; "));
    }
    out!();
    if config.clients.is_empty() {
        out!(
            "CLIENTS: none configured, so HTTP serves every request that passes the Host and Origin checks"
        );
    } else {
        out!("CLIENTS (HTTP requests need one of their bearer tokens)");
        for client in &config.clients {
            out!("{:<16} {}", client.name, client.describe().join("; "));
        }
    }
    match &config.traces {
        None => out!("TRACES: off (no [traces])"),
        Some(traces) => out!(
            "TRACES: spans of every request to {} (service `{}`, {}% of new traces sampled)",
            traces.otlp_endpoint,
            traces.service_name,
            traces.sample_ratio * 100.0
        ),
    }
    out!();
    print_tool_table(&loaded);
    ExitCode::SUCCESS
}

fn print_tool_table(loaded: &startup::Loaded) {
    let registry = loaded.dispatcher.registry();
    out!("{:<32} {:<12} DESCRIPTION", "TOOL", "PROVIDER");
    for entry in registry.all_tools() {
        let description = entry.tool.description.as_deref().unwrap_or_default();
        let first_line = description.lines().next().unwrap_or_default();
        let hidden = if entry.exposed {
            ""
        } else {
            "(not exposed to clients) "
        };
        out!(
            "{:<32} {:<12} {hidden}{first_line}",
            entry.name(),
            entry.provider.name()
        );
    }
}

async fn tools(config: &Config, json: bool) -> anyhow::Result<()> {
    let loaded = load(config).await?;
    if json {
        let registry = loaded.dispatcher.registry();
        let tools: Vec<_> = registry
            .tools_for(&Caller::LOCAL_CLIENT)
            .into_iter()
            .map(|e| &e.tool)
            .collect();
        out!("{}", serde_json::to_string_pretty(&tools)?);
    } else {
        print_tool_table(&loaded);
    }
    Ok(())
}

async fn call(config: &Config, tool: &str, arguments: &str) -> anyhow::Result<ExitCode> {
    let arguments = match serde_json::from_str(arguments).context("arguments are not valid JSON")? {
        serde_json::Value::Object(object) => object,
        other => anyhow::bail!("arguments must be a JSON object, not `{other}`"),
    };
    let loaded = load(config).await?;
    let (events, mut receiver) = EventSink::channel();
    let cancel = CancellationToken::new();
    let scope = RequestScope::root(cancel.clone(), events);
    let print_events = async move {
        while let Some(event) = receiver.recv().await {
            match event {
                ClientEvent::Progress {
                    source,
                    done,
                    total,
                    message,
                } => eprintln!(
                    "[progress {source}] {done}{} {}",
                    total.map(|t| format!("/{t}")).unwrap_or_default(),
                    message.unwrap_or_default()
                ),
                ClientEvent::Log {
                    source,
                    level,
                    message,
                } => {
                    eprintln!("[log {source} {level:?}] {message}")
                }
            }
        }
    };
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
        cancel.cancel();
    };
    let call = loaded
        .dispatcher
        .call(&Caller::LOCAL_CLIENT, tool, Some(arguments), scope);
    let (outcome, ()) = tokio::select! {
        both = async { tokio::join!(call, print_events) } => both,
        () = interrupt => anyhow::bail!("interrupted"),
    };
    match outcome {
        Ok(result) => {
            out!("{}", serde_json::to_string_pretty(&result)?);
            Ok(if result.is_error == Some(true) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(failure) => {
            eprintln!("error ({}): {}", failure.kind.as_str(), failure.message);
            Ok(ExitCode::FAILURE)
        }
    }
}
