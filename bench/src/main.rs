//! Switchboard's benchmark harness (issue 5). One command:
//!
//! ```text
//! cargo run --release -p switchboard-bench -- [--quick] [--no-build]
//! ```
//!
//! It builds the host (`cargo build --release -p switchboard`) and the
//! testkit fixture plugin (wasm32-wasip2), then measures, in one run, the
//! host against a native rmcp 3.9 server (this binary, `native-echo`) with
//! the same rmcp client, and the Wasm call path against a bare wasmtime
//! harness. Figures go to stdout; BENCHMARKS.md records the latest run.

mod asking;
mod native;
mod procs;
mod stats;
mod wasm;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rmcp::model::JsonObject;
use tokio_util::sync::CancellationToken;

use procs::{Client, Era, HttpServer, StdioServer};
use stats::{Samples, fmt, header, ratio, row};
use switchboard::dispatch::{Caller, Dispatcher, EventSink, RequestScope};

/// How much of everything to do.
#[derive(Clone, Copy)]
struct Sizes {
    /// Alternating rounds of latency batches (host, baseline, host, ...), so
    /// drift on a shared machine hits both sides alike.
    rounds: usize,
    /// End-to-end calls per server per round.
    batch: usize,
    /// In-process calls per strategy per round.
    inproc: usize,
    /// Seconds of each throughput level.
    throughput: Duration,
    cold_starts: usize,
    warm_starts: usize,
    load: Duration,
}

const DEFAULT: Sizes = Sizes {
    rounds: 5,
    batch: 400,
    inproc: 2_000,
    throughput: Duration::from_secs(3),
    cold_starts: 3,
    warm_starts: 5,
    load: Duration::from_secs(3),
};

const QUICK: Sizes = Sizes {
    rounds: 2,
    batch: 100,
    inproc: 300,
    throughput: Duration::from_millis(700),
    cold_starts: 1,
    warm_starts: 2,
    load: Duration::from_secs(1),
};

/// Plugins in the start-up and memory figures.
const MANY: usize = 50;

const USAGE: &str = "\
usage: cargo run --release -p switchboard-bench -- [--quick] [--no-build]
  --quick      a ~30 s smoke run (fewer iterations; figures are noisier)
  --no-build   do not run cargo; use target/release/switchboard and
               target/wasm32-wasip2/release/testkit_fixture.wasm as they are
internal:
  native-echo --stdio | --http ADDR   the native rmcp baseline server";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // reqwest is built with rustls but no crypto provider (see Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    let outcome = match args.first().map(String::as_str) {
        Some("native-echo") => runtime.block_on(native_echo(&args[1..])),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            let mut sizes = DEFAULT;
            let mut build = true;
            let mut bad = None;
            for arg in &args {
                match arg.as_str() {
                    "--quick" => sizes = QUICK,
                    "--no-build" => build = false,
                    other => bad = Some(other.to_owned()),
                }
            }
            match bad {
                Some(arg) => Err(anyhow::anyhow!("unknown argument `{arg}`\n{USAGE}")),
                None => runtime.block_on(bench(sizes, build)),
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn native_echo(args: &[String]) -> anyhow::Result<()> {
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--stdio"] => native::serve_stdio().await,
        ["--http", addr] => {
            let addr: SocketAddr = addr.parse().context("--http wants ADDR:PORT")?;
            native::serve_http(addr).await
        }
        _ => bail!("usage: native-echo --stdio | --http ADDR"),
    }
}

/// Where things are.
struct Paths {
    root: PathBuf,
    host: PathBuf,
    testkit: PathBuf,
    /// The conformance fixture (section 8: it asks the client).
    conformance: PathBuf,
    me: PathBuf,
    work: tempfile::TempDir,
}

impl Paths {
    fn find() -> anyhow::Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the bench crate sits in the workspace")?
            .to_owned();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(Self {
            host: target.join("release/switchboard"),
            testkit: target.join("wasm32-wasip2/release/testkit_fixture.wasm"),
            conformance: target.join("wasm32-wasip2/release/conformance_fixture.wasm"),
            me: std::env::current_exe()?,
            work: tempfile::Builder::new()
                .prefix("switchboard-bench-")
                .tempdir()?,
            root,
        })
    }

    /// Writes a config loading `names` (each the testkit fixture) with its
    /// own cache folder; `a` may call `b_echo` when both are present.
    fn config(&self, file: &str, names: &[String], cache: &Path) -> anyhow::Result<PathBuf> {
        self.config_with(file, names, cache, "")
    }

    /// As `config`, with `defaults` (TOML lines) in the `[defaults]` table.
    fn config_with(
        &self,
        file: &str,
        names: &[String],
        cache: &Path,
        defaults: &str,
    ) -> anyhow::Result<PathBuf> {
        let mut text = format!(
            "[server]\ncache_dir = {:?}\n\n[defaults]\n{defaults}\n",
            cache.display().to_string()
        );
        for name in names {
            text.push_str(&format!(
                "\n[plugins.{name}]\ncomponent = {:?}\n",
                self.testkit.display().to_string()
            ));
            if name == "a" && names.iter().any(|n| n == "b") {
                text.push_str("[plugins.a.grants]\ntools = [\"b_echo\"]\n");
            }
        }
        let path = self.work.path().join(file);
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo {}", args.join(" "));
    let mut command = std::process::Command::new(&cargo);
    command.args(args).current_dir(root);
    // `cargo run` hands this binary its package's variables (CARGO_PKG_*,
    // CARGO_MANIFEST_DIR, ...); passed on, they change the fingerprints of
    // the nested build and rebuild half the host every run.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_INCREMENTAL"].contains(&key)
            || [
                "CARGO_BUILD_",
                "CARGO_PROFILE_",
                "CARGO_NET_",
                "CARGO_HTTP_",
                "CARGO_REGISTR",
                "CARGO_TERM_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix));
        if (key.starts_with("CARGO_") && !keep) || key == "OUT_DIR" {
            command.env_remove(key);
        }
    }
    let status = command.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn args(text: &str) -> JsonObject {
    let mut map = JsonObject::new();
    map.insert("text".into(), text.into());
    map
}

fn chain_args() -> JsonObject {
    let mut map = JsonObject::new();
    map.insert("name".into(), "b_echo".into());
    map.insert("arguments".into(), serde_json::Value::Object(args("x")));
    map
}

/// `n` sequential calls, each timed.
async fn batch<H: rmcp::ClientHandler>(
    client: &rmcp::service::RunningService<rmcp::RoleClient, H>,
    tool: &str,
    arguments: &JsonObject,
    n: usize,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        procs::call(client, tool, arguments).await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// Everything the final verdicts need.
#[derive(Default)]
struct Figures {
    http_host: Duration,
    http_native: Duration,
    /// `a_call` -> `b_echo` over HTTP, end to end.
    http_chain: Duration,
    stdio_host: Duration,
    stdio_native: Duration,
    /// The same trivial calls in the 2025-11-25 era (sessions).
    legacy_http_host: Duration,
    legacy_http_native: Duration,
    legacy_stdio_host: Duration,
    legacy_stdio_native: Duration,
    /// HTTP `b_echo` with metrics off and no auth, with metrics, with
    /// metrics plus a bearer-token client with rate limits, and with all
    /// that plus traces of every call exported (issue 12).
    production: [Duration; 4],
    /// Host call with a spare ready (paced), back-to-back, and with none.
    inproc_fresh: Duration,
    inproc_back_to_back: Duration,
    inproc_unspared: Duration,
    pooled_fresh: Option<Duration>,
    warm: Duration,
    inproc_chain: Duration,
    /// (through the host, direct) medians, HTTP and stdio.
    proxy_http: (Duration, Duration),
    proxy_stdio: (Duration, Duration),
    tput: Vec<(usize, f64, f64)>,
    tput_1cpu: Option<f64>,
    host_busy: f64,
    host_cpu_per_call: Duration,
    native_cpu_per_call: Duration,
    cold: [Duration; 2],
    cold_parallelism: f64,
    warm_ready: [Duration; 2],
    idle_rss: [u64; 2],
}

async fn bench(sizes: Sizes, build: bool) -> anyhow::Result<()> {
    let paths = Paths::find()?;
    if build {
        cargo(&paths.root, &["build", "--release", "-p", "switchboard"])?;
        cargo(
            &paths.root,
            &[
                "build",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "testkit-fixture",
                "-p",
                "conformance-fixture",
            ],
        )?;
    }
    for needed in [&paths.host, &paths.testkit, &paths.conformance] {
        if !needed.exists() {
            bail!(
                "{} is missing: run `cargo build --release -p switchboard` and \
                 `cargo build --target wasm32-wasip2 --release -p testkit-fixture -p conformance-fixture`",
                needed.display()
            );
        }
    }
    let started = Instant::now();
    println!("Switchboard benchmarks ({})", machine());
    println!(
        "load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let mut f = Figures::default();
    let cache = paths.work.path().join("cache-e2e");
    let ab = vec!["a".to_owned(), "b".to_owned()];
    let e2e = paths.config("e2e.toml", &ab, &cache)?;
    let e2e_str = e2e.to_str().context("a UTF-8 temp path")?;
    // Compile once so the servers below start from a warm cache.
    let config = switchboard::config::Config::load(&e2e)?;
    let loaded = switchboard::startup::load(&config)
        .await
        .map_err(|e| anyhow::anyhow!("loading {}: {e}", e2e.display()))?;

    end_to_end(&paths, e2e_str, sizes, &mut f).await?;
    production_features(&paths, &e2e, sizes, &mut f).await?;
    // The same plugins with no spare instances: every call instantiates.
    let unspared = paths.config_with("unspared.toml", &ab, &cache, "spare_instances = 0")?;
    let unspared = switchboard::startup::load(&switchboard::config::Config::load(&unspared)?)
        .await
        .map_err(|e| anyhow::anyhow!("loading unspared.toml: {e}"))?;
    in_process(
        &paths,
        [&loaded.dispatcher, &unspared.dispatcher],
        sizes,
        &mut f,
    )
    .await?;
    drop((loaded, unspared));

    upstream_proxy(&paths, sizes, &mut f).await?;

    throughput(&paths, e2e_str, sizes, &mut f).await?;
    startup_and_memory(&paths, sizes, &mut f).await?;
    asking::input_round_trip(&paths, sizes).await?;

    verdicts(&f);
    println!();
    println!(
        "load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!("total bench time: {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} CPUs, {cpu}")
}

/// 1 (and the HTTP half of 3): the host vs the native server, same client.
async fn end_to_end(paths: &Paths, e2e: &str, sizes: Sizes, f: &mut Figures) -> anyhow::Result<()> {
    let serve_stdio = ["serve", "-c", e2e, "--stdio"];
    let host_stdio = StdioServer::start(&paths.host, &serve_stdio, &[]).await?;
    // The same host without its per-call audit line (logs at warn only).
    let quiet_stdio =
        StdioServer::start(&paths.host, &serve_stdio, &[("RUST_LOG", "warn")]).await?;
    let native_stdio = StdioServer::start(&paths.me, &["native-echo", "--stdio"], &[]).await?;
    let host_http = HttpServer::start(
        &paths.host,
        &["serve", "-c", e2e, "--http", "127.0.0.1:0"],
        None,
    )
    .await?;
    let native_http =
        HttpServer::start(&paths.me, &["native-echo", "--http", "127.0.0.1:0"], None).await?;
    let host_client = procs::connect_http(&host_http.url, procs::pooled_http()).await?;
    let native_client = procs::connect_http(&native_http.url, procs::pooled_http()).await?;
    // The 2025-11-25 era: an initialize handshake, then a session.
    let legacy = Era::Legacy;
    let host_stdio_legacy = StdioServer::start_in(&paths.host, &serve_stdio, &[], legacy).await?;
    let native_stdio_legacy =
        StdioServer::start_in(&paths.me, &["native-echo", "--stdio"], &[], legacy).await?;
    let host_legacy = procs::connect_http_in(&host_http.url, procs::pooled_http(), legacy).await?;
    let native_legacy =
        procs::connect_http_in(&native_http.url, procs::pooled_http(), legacy).await?;

    let echo = args("hello");
    let chain = chain_args();
    let series: [(&Client, &str, &JsonObject); 10] = [
        (&host_stdio.client, "b_echo", &echo),
        (&quiet_stdio.client, "b_echo", &echo),
        (&native_stdio.client, "echo", &echo),
        (&host_client, "b_echo", &echo),
        (&native_client, "echo", &echo),
        (&host_client, "a_call", &chain),
        (&host_stdio_legacy.client, "b_echo", &echo),
        (&native_stdio_legacy.client, "echo", &echo),
        (&host_legacy, "b_echo", &echo),
        (&native_legacy, "echo", &echo),
    ];
    let mut samples = vec![Samples::default(); series.len()];
    for (client, tool, arguments) in series {
        batch(client, tool, arguments, 200).await?; // warm-up
    }
    for _ in 0..sizes.rounds {
        for (i, (client, tool, arguments)) in series.iter().enumerate() {
            samples[i].extend(batch(client, tool, arguments, sizes.batch).await?);
        }
    }
    let [hs, qs, ns, hh, nh, ch, ls, lns, lh, lnh] = &samples[..] else {
        unreachable!()
    };
    header(&format!(
        "1. trivial tool end-to-end, 2026-07-28, sequential calls ({} each)",
        hs.len()
    ));
    row("native rmcp echo, stdio (baseline)", ns, "", "");
    row(
        "host b_echo, stdio",
        hs,
        "",
        &format!("{:.2}x", ratio(hs.median(), ns.median())),
    );
    row(
        "host b_echo, stdio, RUST_LOG=warn (no audit)",
        qs,
        "",
        &format!("{:.2}x", ratio(qs.median(), ns.median())),
    );
    row("native rmcp echo, HTTP (baseline)", nh, "", "");
    row(
        "host b_echo, HTTP",
        hh,
        "",
        &format!("{:.2}x", ratio(hh.median(), nh.median())),
    );
    row(
        "host a_call -> b_echo (chained), HTTP",
        ch,
        "",
        &format!(
            "{:.2}x host b_echo; +{}",
            ratio(ch.median(), hh.median()),
            fmt(ch.median().saturating_sub(hh.median()))
        ),
    );
    header(&format!(
        "1b. the same in the 2025-11-25 era (initialize, one session per client; {} each)",
        ls.len()
    ));
    row("native rmcp echo, stdio, legacy (baseline)", lns, "", "");
    row(
        "host b_echo, stdio, legacy",
        ls,
        "",
        &format!("{:.2}x", ratio(ls.median(), lns.median())),
    );
    row("native rmcp echo, HTTP, legacy (baseline)", lnh, "", "");
    row(
        "host b_echo, HTTP, legacy",
        lh,
        "",
        &format!("{:.2}x", ratio(lh.median(), lnh.median())),
    );
    f.legacy_stdio_host = ls.median();
    f.legacy_stdio_native = lns.median();
    f.legacy_http_host = lh.median();
    f.legacy_http_native = lnh.median();
    f.stdio_host = hs.median();
    f.stdio_native = ns.median();
    f.http_host = hh.median();
    f.http_native = nh.median();
    f.http_chain = ch.median();
    Ok(())
}

/// The bearer token of the bench's client.
const BENCH_TOKEN: &str = "bench-token-5f0e2c9a7b1d";

/// 1c: what metrics, client auth (a bearer token, a policy and rate
/// limits that never refuse) and traces (every call sampled, exported to
/// an OTLP/HTTP receiver in this process) add to the HTTP tool-call row,
/// against the same build with all off, in one run and interleaved.
async fn production_features(
    paths: &Paths,
    e2e: &Path,
    sizes: Sizes,
    f: &mut Figures,
) -> anyhow::Result<()> {
    let base = std::fs::read_to_string(e2e)?;
    let write = |file: &str, text: String| -> anyhow::Result<String> {
        let path = paths.work.path().join(file);
        std::fs::write(&path, text)?;
        Ok(path.to_str().context("a UTF-8 temp path")?.to_owned())
    };
    let bare = write(
        "bare.toml",
        base.replacen("[server]\n", "[server]\nmetrics = false\n", 1),
    )?;
    let authed = write(
        "authed.toml",
        format!(
            "{base}\n[clients.bench]\ntoken = \"{BENCH_TOKEN}\"\nexpose = [\"b_*\", \"a_*\"]\n\
             rate_limit = {{ per_second = 1e9, burst = 1000000 }}\n\
             tool_rate_limit = {{ per_second = 1e9, burst = 1000000 }}\n"
        ),
    )?;
    let receiver = otlp_sink().await?;
    let traced = write(
        "traced.toml",
        format!(
            "{}\n[traces]\notlp_endpoint = \"{receiver}\"\n",
            std::fs::read_to_string(&authed)?
        ),
    )?;
    let e2e = e2e.to_str().context("a UTF-8 temp path")?;
    let mut hosts = Vec::new();
    for config in [bare.as_str(), e2e, authed.as_str(), traced.as_str()] {
        hosts.push(
            HttpServer::start(
                &paths.host,
                &["serve", "-c", config, "--http", "127.0.0.1:0"],
                None,
            )
            .await?,
        );
    }
    let bare_client = procs::connect_http(&hosts[0].url, procs::pooled_http()).await?;
    let metrics_client = procs::connect_http(&hosts[1].url, procs::pooled_http()).await?;
    let authed_client =
        procs::connect_http_with_token(&hosts[2].url, procs::pooled_http(), BENCH_TOKEN).await?;
    let traced_client =
        procs::connect_http_with_token(&hosts[3].url, procs::pooled_http(), BENCH_TOKEN).await?;
    let echo = args("hello");
    let clients = [
        &bare_client,
        &metrics_client,
        &authed_client,
        &traced_client,
    ];
    let mut samples = vec![Samples::default(); clients.len()];
    for client in clients {
        batch(client, "b_echo", &echo, 200).await?; // warm-up
    }
    for _ in 0..sizes.rounds {
        for (i, client) in clients.iter().enumerate() {
            samples[i].extend(batch(client, "b_echo", &echo, sizes.batch).await?);
        }
    }
    let [bare, metrics, authed, traced] = &samples[..] else {
        unreachable!()
    };
    header(&format!(
        "1c. metrics, client auth and traces on the HTTP row, 2026-07-28 ({} each)",
        bare.len()
    ));
    row(
        "host b_echo, HTTP, metrics off, no auth (baseline)",
        bare,
        "",
        "",
    );
    row(
        "host b_echo, HTTP, metrics on",
        metrics,
        "",
        &format!("{:.3}x", ratio(metrics.median(), bare.median())),
    );
    row(
        "host b_echo, HTTP, metrics + bearer client + rate limits",
        authed,
        "",
        &format!("{:.3}x", ratio(authed.median(), bare.median())),
    );
    row(
        "host b_echo, HTTP, metrics + bearer client + traces (all sampled)",
        traced,
        "",
        &format!("{:.3}x", ratio(traced.median(), bare.median())),
    );
    f.production = [
        bare.median(),
        metrics.median(),
        authed.median(),
        traced.median(),
    ];
    Ok(())
}

/// An OTLP/HTTP receiver that takes every export and drops it, as a
/// collector would take it off the host's hands; its base URL.
async fn otlp_sink() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(|_body: axum::body::Bytes| async {
            [("content-type", "application/x-protobuf")]
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// 4: the native rmcp echo server as an upstream of the host, against the
/// same server called directly, over the same transport and client.
async fn upstream_proxy(paths: &Paths, sizes: Sizes, f: &mut Figures) -> anyhow::Result<()> {
    let me = paths.me.display().to_string();
    let native_http =
        HttpServer::start(&paths.me, &["native-echo", "--http", "127.0.0.1:0"], None).await?;
    let text = format!(
        "[upstreams.http]\nurl = {:?}\n\n[upstreams.stdio]\ncommand = [{me:?}, \"native-echo\", \"--stdio\"]\n",
        native_http.url
    );
    let config = paths.work.path().join("upstreams.toml");
    std::fs::write(&config, text)?;
    let config = config.to_str().context("a UTF-8 temp path")?;
    let host_http = HttpServer::start(
        &paths.host,
        &["serve", "-c", config, "--http", "127.0.0.1:0"],
        None,
    )
    .await?;
    let through_http = procs::connect_http(&host_http.url, procs::pooled_http()).await?;
    let direct_http = procs::connect_http(&native_http.url, procs::pooled_http()).await?;
    let through_stdio =
        StdioServer::start(&paths.host, &["serve", "-c", config, "--stdio"], &[]).await?;
    let direct_stdio = StdioServer::start(&paths.me, &["native-echo", "--stdio"], &[]).await?;

    let echo = args("hello");
    let series: [(&Client, &str); 4] = [
        (&through_http, "http_echo"),
        (&direct_http, "echo"),
        (&through_stdio.client, "stdio_echo"),
        (&direct_stdio.client, "echo"),
    ];
    let mut samples = vec![Samples::default(); series.len()];
    for (client, tool) in series {
        batch(client, tool, &echo, 200).await?; // warm-up
    }
    for _ in 0..sizes.rounds {
        for (i, (client, tool)) in series.iter().enumerate() {
            samples[i].extend(batch(client, tool, &echo, sizes.batch).await?);
        }
    }
    let [th, dh, ts, ds] = &samples[..] else {
        unreachable!()
    };
    header(&format!(
        "4. upstream tool (native rmcp echo) through the host vs called directly ({} each)",
        th.len()
    ));
    row("direct, HTTP (baseline)", dh, "", "");
    row(
        "client -HTTP-> host -HTTP-> upstream",
        th,
        "",
        &format!(
            "{:.2}x; +{}",
            ratio(th.median(), dh.median()),
            fmt(th.median().saturating_sub(dh.median()))
        ),
    );
    row("direct, stdio (baseline)", ds, "", "");
    row(
        "client -stdio-> host -stdio-> upstream",
        ts,
        "",
        &format!(
            "{:.2}x; +{}",
            ratio(ts.median(), ds.median()),
            fmt(ts.median().saturating_sub(ds.median()))
        ),
    );
    f.proxy_http = (th.median(), dh.median());
    f.proxy_stdio = (ts.median(), ds.median());
    Ok(())
}

async fn dispatch(
    dispatcher: &Arc<Dispatcher>,
    tool: &str,
    arguments: &JsonObject,
) -> anyhow::Result<()> {
    let scope = RequestScope::root(CancellationToken::new(), EventSink::discard());
    match dispatcher
        .call(&Caller::LOCAL_CLIENT, tool, Some(arguments.clone()), scope)
        .await
    {
        Ok(result) if result.is_error != Some(true) => Ok(()),
        Ok(result) => bail!("{tool} answered isError: {:?}", result.content),
        Err(failure) => bail!("{tool} failed: {}", failure.message),
    }
}

/// Calls per row before the in-process figures move to the next row.
const IN_PROCESS_BATCH: usize = 100;

/// Time between two calls of one client in the paced rows: about what a
/// response and the next request spend in a local transport.
const CALL_GAP: Duration = Duration::from_micros(200);

/// Leaves this thread to other tasks for `gap`, as a client waiting on the
/// transport would.
async fn idle(gap: Duration) {
    let until = Instant::now() + gap;
    while Instant::now() < until {
        tokio::task::yield_now().await;
    }
}

/// `n` calls through a dispatcher, each timed; `gap` apart when given.
async fn dispatch_batch(
    dispatcher: &Arc<Dispatcher>,
    tool: &str,
    arguments: &JsonObject,
    n: usize,
    gap: Option<Duration>,
) -> anyhow::Result<Samples> {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        if let Some(gap) = gap {
            idle(gap).await;
        }
        let started = Instant::now();
        dispatch(dispatcher, tool, arguments).await?;
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// 2 and 3: the Wasm call alone, in this process. `hosts` are the same
/// plugins loaded with the default spare instances and with none.
async fn in_process(
    paths: &Paths,
    hosts: [&Arc<Dispatcher>; 2],
    sizes: Sizes,
    f: &mut Figures,
) -> anyhow::Result<()> {
    let [spared, unspared] = hosts;
    let on_demand = wasm::Harness::new(&paths.testkit, false)?;
    let pooled = match wasm::Harness::new(&paths.testkit, true) {
        Ok(h) => Some(h),
        Err(e) => {
            println!("  (pooling allocator harness unavailable: {e:#})");
            None
        }
    };
    let mut warm = on_demand.warm().await?;
    let echo = args("hello");
    let echo_text = serde_json::Value::Object(echo.clone()).to_string();
    let chain = chain_args();

    // Host rows: (dispatcher, tool, arguments, gap between calls).
    let host_rows: [(&Arc<Dispatcher>, &str, &JsonObject, Option<Duration>); 8] = [
        (spared, "b_echo", &echo, Some(CALL_GAP)),
        (spared, "a_call", &chain, Some(CALL_GAP)),
        (spared, "b_echo", &echo, None),
        (spared, "a_call", &chain, None),
        (unspared, "b_echo", &echo, None),
        (unspared, "a_call", &chain, None),
        (unspared, "b_echo", &echo, Some(CALL_GAP)),
        (unspared, "a_call", &chain, Some(CALL_GAP)),
    ];
    const BARE_ON_DEMAND: usize = 8;
    const BARE_POOLED: usize = 9;
    const WARM: usize = 10;
    let mut s = vec![Samples::default(); 11];
    // Each round runs every row in short alternating batches, so a burst of
    // noise on the shared machine hits all rows alike.
    let batch = IN_PROCESS_BATCH.min(sizes.inproc);
    for round in 0..=sizes.rounds {
        // Round 0 is the warm-up and is thrown away.
        let keep = round > 0;
        let mut r = vec![Samples::with_capacity(sizes.inproc); 11];
        for _ in 0..sizes.inproc / batch {
            for (i, (dispatcher, tool, arguments, gap)) in host_rows.iter().enumerate() {
                r[i].extend(dispatch_batch(dispatcher, tool, arguments, batch, *gap).await?);
            }
            for _ in 0..batch {
                let t = Instant::now();
                on_demand.fresh_call("echo", &echo_text).await?;
                r[BARE_ON_DEMAND].push(t.elapsed());
            }
            if let Some(pooled) = &pooled {
                for _ in 0..batch {
                    let t = Instant::now();
                    pooled.fresh_call("echo", &echo_text).await?;
                    r[BARE_POOLED].push(t.elapsed());
                }
            }
            for _ in 0..batch {
                let t = Instant::now();
                warm.call("echo", &echo_text).await?;
                r[WARM].push(t.elapsed());
            }
        }
        if keep {
            for (all, one) in s.iter_mut().zip(r) {
                all.extend(one);
            }
        }
    }
    let floor = s[WARM].median();
    let vs_floor = |x: &Samples| format!("{:.1}x floor", ratio(x.median(), floor));
    header(&format!(
        "2. the Wasm call alone, in process ({} calls each)",
        s[0].len()
    ));
    row(
        "bare wasmtime, warm instance reused (floor)",
        &s[WARM],
        "",
        "",
    );
    row(
        "host: spare instance ready (calls 200 µs apart)",
        &s[0],
        "",
        &vs_floor(&s[0]),
    );
    row("host: back-to-back calls", &s[2], "", &vs_floor(&s[2]));
    row(
        "host: no spares (instantiate on the call's path)",
        &s[4],
        "",
        &vs_floor(&s[4]),
    );
    row(
        "host: no spares, calls 200 µs apart",
        &s[6],
        "",
        &vs_floor(&s[6]),
    );
    row(
        "bare wasmtime: fresh instance, on-demand",
        &s[BARE_ON_DEMAND],
        "",
        &vs_floor(&s[BARE_ON_DEMAND]),
    );
    if pooled.is_some() {
        row(
            "bare wasmtime: fresh instance, pooling",
            &s[BARE_POOLED],
            "",
            &vs_floor(&s[BARE_POOLED]),
        );
    }
    header("3. chained call (plugin a -> host -> plugin b), in process");
    for (label, single, chained) in [
        ("spares ready, 200 µs apart", 0, 1),
        ("back-to-back", 2, 3),
        ("no spares", 4, 5),
        ("no spares, 200 µs apart", 6, 7),
    ] {
        row(&format!("host b_echo, {label}"), &s[single], "", "");
        row(
            &format!("host a_call -> b_echo, {label}"),
            &s[chained],
            "",
            &format!(
                "{:.2}x; the hop adds {}",
                ratio(s[chained].median(), s[single].median()),
                fmt(s[chained].median().saturating_sub(s[single].median()))
            ),
        );
    }
    f.inproc_fresh = s[0].median();
    f.inproc_chain = s[1].median();
    f.inproc_back_to_back = s[2].median();
    f.inproc_unspared = s[4].median();
    f.pooled_fresh = pooled.is_some().then(|| s[BARE_POOLED].median());
    f.warm = floor;
    Ok(())
}

/// Closed-loop clients, each with one call in flight, for `duration`.
/// Returns the latencies and calls per second.
/// What a load run measured; `cpu` is the server's CPU time during it.
struct Load {
    samples: Samples,
    rate: f64,
    /// CPUs the server kept busy on average.
    busy: f64,
    /// Server CPU time per call.
    per_call: Duration,
}

impl Load {
    fn extra(&self) -> String {
        format!("{:.0} calls/s", self.rate)
    }

    fn cpu(&self) -> String {
        format!(
            "server {:.2} CPUs, {} CPU/call",
            self.busy,
            fmt(self.per_call)
        )
    }
}

async fn load(
    server: &HttpServer,
    clients: usize,
    duration: Duration,
    tool: impl Fn(usize) -> String,
) -> anyhow::Result<Load> {
    let url = server.url.as_str();
    let http = procs::pooled_http();
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        let client = procs::connect_http(url, http.clone()).await?;
        let tool = tool(i);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let echo = args("hello");
            let warmup = batch(&client, &tool, &echo, 10).await;
            barrier.wait().await;
            warmup?;
            let stop = Instant::now() + duration;
            let mut samples = Samples::with_capacity(4096);
            while Instant::now() < stop {
                let t = Instant::now();
                procs::call(&client, &tool, &echo).await?;
                samples.push(t.elapsed());
            }
            anyhow::Ok(samples)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let cpu_before = procs::cpu_time(server.pid()).unwrap_or_default();
    let mut all = Samples::default();
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = procs::cpu_time(server.pid())
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let calls = all.len().max(1);
    Ok(Load {
        rate: all.len() as f64 / elapsed,
        busy: cpu.as_secs_f64() / elapsed,
        per_call: cpu / calls as u32,
        samples: all,
    })
}

/// 5: calls/s over HTTP with 1, 8, 64 clients; the host and the baseline.
async fn throughput(paths: &Paths, e2e: &str, sizes: Sizes, f: &mut Figures) -> anyhow::Result<()> {
    let host_args = ["serve", "-c", e2e, "--http", "127.0.0.1:0"];
    let native_args = ["native-echo", "--http", "127.0.0.1:0"];
    let host = HttpServer::start(&paths.host, &host_args, None).await?;
    let native = HttpServer::start(&paths.me, &native_args, None).await?;
    header(&format!(
        "5. throughput over HTTP, 2026-07-28, {:.1} s per level (latency under load)",
        sizes.throughput.as_secs_f64()
    ));
    for clients in [1, 8, 64] {
        let n = load(&native, clients, sizes.throughput, |_| "echo".into()).await?;
        let h = load(&host, clients, sizes.throughput, |_| "b_echo".into()).await?;
        row(
            &format!("native rmcp echo, {clients} clients"),
            &n.samples,
            &n.extra(),
            &n.cpu(),
        );
        row(
            &format!("host b_echo, {clients} clients"),
            &h.samples,
            &h.extra(),
            &format!("{:.2}x baseline calls/s; {}", h.rate / n.rate, h.cpu()),
        );
        f.tput.push((clients, h.rate, n.rate));
        if clients == 64 {
            f.host_busy = h.busy;
            f.host_cpu_per_call = h.per_call;
            f.native_cpu_per_call = n.per_call;
        }
    }
    drop(host);
    drop(native);
    // The host held to one CPU (taskset), the client still free: 1 -> 2 cores.
    match HttpServer::start(&paths.host, &host_args, Some("0")).await {
        Ok(pinned) => {
            let h = load(&pinned, 64, sizes.throughput, |_| "b_echo".into()).await?;
            row(
                "host b_echo, 64 clients, host on 1 CPU",
                &h.samples,
                &h.extra(),
                &h.cpu(),
            );
            f.tput_1cpu = Some(h.rate);
        }
        Err(e) => println!("  host on 1 CPU: not measured ({e:#})"),
    }
    Ok(())
}

/// Starts a host with `config`; returns ready time, CPU time used by then,
/// and idle RSS a moment later.
async fn start_once(paths: &Paths, config: &Path) -> anyhow::Result<(Duration, Duration, u64)> {
    let config = config.to_str().context("a UTF-8 temp path")?;
    let host = HttpServer::start(
        &paths.host,
        &["serve", "-c", config, "--http", "127.0.0.1:0"],
        None,
    )
    .await?;
    let cpu = procs::cpu_time(host.pid()).unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss = procs::rss_kib(host.pid()).unwrap_or(0);
    Ok((host.ready_after, cpu, rss))
}

/// 6 and 7.
async fn startup_and_memory(paths: &Paths, sizes: Sizes, f: &mut Figures) -> anyhow::Result<()> {
    header("6. start-up to ready (spawn -> `listening on`), HTTP");
    let mut rss_rows = Vec::new();
    for (i, count) in [1, MANY].into_iter().enumerate() {
        let names: Vec<String> = (0..count).map(|i| format!("p{i}")).collect();
        let mut cold = Samples::default();
        let mut cold_cpu = Duration::ZERO;
        let mut cold_wall = Duration::ZERO;
        let mut last_cache = PathBuf::new();
        for run in 0..sizes.cold_starts {
            let cache = paths.work.path().join(format!("cache-{count}-{run}"));
            let config = paths.config(&format!("start-{count}.toml"), &names, &cache)?;
            let (ready, cpu, _) = start_once(paths, &config).await?;
            cold.push(ready);
            cold_cpu += cpu;
            cold_wall += ready;
            last_cache = cache;
        }
        let config = paths.config(&format!("start-{count}.toml"), &names, &last_cache)?;
        let mut warm = Samples::default();
        let mut rss = Vec::new();
        for _ in 0..sizes.warm_starts {
            let (ready, _, kib) = start_once(paths, &config).await?;
            warm.push(ready);
            rss.push(kib);
        }
        rss.sort_unstable();
        let rss = rss[rss.len() / 2];
        let parallelism = cold_cpu.as_secs_f64() / cold_wall.as_secs_f64().max(1e-9);
        row(
            &format!("{count} plugin(s), empty cache ({} runs)", cold.len()),
            &cold,
            &format!("{parallelism:.1} CPUs busy"),
            "",
        );
        row(
            &format!("{count} plugin(s), warm cache ({} runs)", warm.len()),
            &warm,
            "",
            &format!(
                "{:.1}x faster than cold",
                ratio(cold.median(), warm.median())
            ),
        );
        f.cold[i] = cold.median();
        f.warm_ready[i] = warm.median();
        f.idle_rss[i] = rss;
        if count == MANY {
            f.cold_parallelism = parallelism;
        }
        rss_rows.push((count, rss, config));
    }

    println!();
    println!("7. resident memory (VmRSS) of the host");
    for (count, rss, _) in &rss_rows {
        println!("  idle, {count} plugin(s): {:.1} MiB", *rss as f64 / 1024.0);
    }
    let per_plugin = (f.idle_rss[1] as f64 - f.idle_rss[0] as f64) / (MANY - 1) as f64;
    println!(
        "  per idle plugin ((RSS{MANY} - RSS1) / {}): {:.0} KiB",
        MANY - 1,
        per_plugin
    );

    // Under load: the 50-plugin host, 64 clients spread over its plugins.
    let (_, _, config) = rss_rows.last().expect("two rows");
    let config = config.to_str().context("a UTF-8 temp path")?;
    let host = HttpServer::start(
        &paths.host,
        &["serve", "-c", config, "--http", "127.0.0.1:0"],
        None,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = host.pid();
    let idle = procs::rss_kib(pid).unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(idle));
    let stop = CancellationToken::new();
    let sampler = {
        let peak = peak.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                if let Some(kib) = procs::rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let under = load(&host, 64, sizes.load, |i| format!("p{}_echo", i % MANY)).await?;
    stop.cancel();
    sampler.await?;
    let after = procs::rss_kib(pid).unwrap_or(0);
    println!(
        "  under 64 concurrent calls, {MANY} plugins: peak {:.1} MiB (idle {:.1}, after {:.1}); \
         {:.0} calls/s, median {}, p99 {}",
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        idle as f64 / 1024.0,
        after as f64 / 1024.0,
        under.rate,
        fmt(under.samples.median()),
        fmt(under.samples.p99())
    );
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "met   " } else { "MISSED" }
}

/// Target (3): what the chain adds over the single call, against that call.
fn hop_verdict(label: &str, chained: Duration, single: Duration) {
    let hop = chained.saturating_sub(single);
    println!(
        "{label} {}  hop +{} vs one call {}",
        verdict(hop <= single),
        fmt(hop),
        fmt(single)
    );
}

/// The issue's targets, from this run's figures.
fn verdicts(f: &Figures) {
    println!();
    println!("targets (issue 5)");
    let r1 = ratio(f.http_host, f.http_native);
    println!(
        "  (1) HTTP latency <= 1.5x native     {}  {r1:.2}x ({} vs {}); stdio {:.2}x",
        verdict(r1 <= 1.5),
        fmt(f.http_host),
        fmt(f.http_native),
        ratio(f.stdio_host, f.stdio_native)
    );
    let legacy = ratio(f.legacy_http_host, f.legacy_http_native);
    println!(
        "      legacy HTTP <= 1.3x native legacy {}  {legacy:.2}x ({} vs {}); stdio {:.2}x (issue 15)",
        verdict(legacy <= 1.3),
        fmt(f.legacy_http_host),
        fmt(f.legacy_http_native),
        ratio(f.legacy_stdio_host, f.legacy_stdio_native)
    );
    let pooled = f
        .pooled_fresh
        .map_or(String::new(), |p| format!("; bare pooling {}", fmt(p)));
    println!(
        "  (2) isolated call <= 25 µs median    {}  host {} with a spare ready \
         (back-to-back {}, no spares {}){pooled}; warm floor {}",
        verdict(f.inproc_fresh <= Duration::from_micros(25)),
        fmt(f.inproc_fresh),
        fmt(f.inproc_back_to_back),
        fmt(f.inproc_unspared),
        fmt(f.warm)
    );
    hop_verdict(
        "  (3) a hop adds <= one call, in proc.",
        f.inproc_chain,
        f.inproc_fresh,
    );
    hop_verdict(
        "      the same, end to end over HTTP  ",
        f.http_chain,
        f.http_host,
    );
    let [bare, _, full, traced] = f.production;
    let cost = ratio(full, bare);
    println!(
        "      metrics + auth <= 1.05x off      {}  {cost:.3}x ({} vs {}) (issue 12)",
        verdict(cost <= 1.05),
        fmt(full),
        fmt(bare)
    );
    let cost = ratio(traced, bare);
    println!(
        "      + traces <= 1.05x off            {}  {cost:.3}x ({} vs {}) (issue 12)",
        verdict(cost <= 1.05),
        fmt(traced),
        fmt(bare)
    );
    let (through, direct) = f.proxy_http;
    let r4 = ratio(through, direct);
    println!(
        "  (4) proxy <= 1.2x direct             {}  HTTP {r4:.2}x ({} vs {}); stdio {:.2}x ({} vs {})",
        verdict(r4 <= 1.2),
        fmt(through),
        fmt(direct),
        ratio(f.proxy_stdio.0, f.proxy_stdio.1),
        fmt(f.proxy_stdio.0),
        fmt(f.proxy_stdio.1)
    );
    let at = |n: usize| f.tput.iter().find(|t| t.0 == n).map_or(0.0, |t| t.1);
    let no_collapse = at(64) >= 0.8 * at(8);
    let one_cpu = f.tput_1cpu.unwrap_or(0.0);
    let scale = at(64) / one_cpu.max(1e-9);
    let scaling = if f.host_busy < 1.5 {
        // The client shares the two CPUs: the host never had two to use.
        format!("n/a   client-bound: the host used {:.2} CPUs", f.host_busy)
    } else {
        verdict(scale >= 1.5).to_string()
    };
    println!(
        "  (5) 1->2 cores scales                {scaling}; 2 CPUs / 1 CPU = {scale:.2}x; \
         host CPU/call {} vs native {} (capacity ~{:.0} calls/s per CPU)",
        fmt(f.host_cpu_per_call),
        fmt(f.native_cpu_per_call),
        1.0 / f.host_cpu_per_call.as_secs_f64().max(1e-9)
    );
    println!(
        "      64 clients do not collapse       {}  64 vs 8 clients = {:.2}x calls/s",
        verdict(no_collapse),
        at(64) / at(8).max(1e-9)
    );
    println!(
        "  (6) {MANY} plugins warm < 0.5 s          {}  {} (cold {}, {:.1} CPUs busy compiling)",
        verdict(f.warm_ready[1] < Duration::from_millis(500)),
        fmt(f.warm_ready[1]),
        fmt(f.cold[1]),
        f.cold_parallelism
    );
    let per_plugin = (f.idle_rss[1] as f64 - f.idle_rss[0] as f64) / (MANY - 1) as f64;
    println!(
        "  (7) <= 2 MB RSS per idle plugin      {}  {:.0} KiB per plugin",
        verdict(per_plugin <= 2048.0),
        per_plugin
    );
}
