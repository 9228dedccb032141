//! The sandbox around every plugin and the hostile plugins of issue 3: each
//! escape attempt through the real binary and a real rmcp client gets a
//! clear, specific error; the granted counterparts work; other clients keep
//! being served while hostile calls run.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_e2e::{
    ConfigBuilder, Era, Fixture, Host, Link, McpClient, PATIENCE, assert_tool_error, connect,
    connect_http, text,
};

use crate::mcp::wait_until_spinning;

/// A config path as a TOML basic string.
fn toml_path(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).expect("a string serializes")
}

/// The text of a successful (not `isError`) call of `tool`.
async fn ok_text(client: &McpClient, tool: &str, arguments: Value) -> String {
    let call = client.call(tool, arguments).await;
    let result = call.ok();
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {}",
        text(result)
    );
    text(result)
}

/// Calls `tool` and asserts an `isError` result containing every needle.
async fn tool_error(client: &McpClient, tool: &str, arguments: Value, needles: &[&str]) -> String {
    let call = client.call(tool, arguments).await;
    let result = call.result.as_ref().unwrap_or_else(|e| {
        panic!("{tool}: expected an isError result, got the JSON-RPC error {e}")
    });
    assert_tool_error(result, needles)
}

/// A tiny HTTP server on 127.0.0.1: answers every request `200 OK` and
/// counts the connections it accepted.
fn http_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("local addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (port, hits)
}

/// Files, environment variables and outbound HTTP: denied without a grant
/// (with the specific error), allowed exactly as granted; no host variable
/// leaks into a plugin without an env grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_env_and_http_only_as_granted() {
    let home = std::env::var("HOME").expect("HOME is set for the test run");
    let folders = tempfile::tempdir().expect("a temp dir");
    let ro = folders.path().join("ro");
    let rw = folders.path().join("rw");
    std::fs::create_dir_all(&ro).expect("mkdir ro");
    std::fs::create_dir_all(&rw).expect("mkdir rw");
    std::fs::write(ro.join("note.txt"), "granted text").expect("write note");
    // A symlink planted in a granted folder that points out of it.
    std::os::unix::fs::symlink("/etc/passwd", ro.join("passwd")).expect("symlink");
    std::os::unix::fs::symlink("/etc", rw.join("etc")).expect("symlink");
    let (port, hits) = http_server();
    let local = format!("http://127.0.0.1:{port}");

    let config = ConfigBuilder::new()
        .plugin(
            "h",
            Fixture::Hostile.path(),
            &format!(
                "grants.env = [\"HOME\"]\n\
                 grants.dirs = {{ \"/ro\" = {{ path = {} }}, \"/rw\" = {{ path = {}, mode = \"rw\" }} }}\n\
                 grants.http = [\"{local}\"]",
                toml_path(&ro),
                toml_path(&rw),
            ),
        )
        .plugin("bare", Fixture::Hostile.path(), "")
        .write();
    let mut session = connect(&config, Link::Http, Era::Legacy).await;
    let client = &session.client;

    // --- files ---
    for tool in ["bare_read_file", "h_read_file"] {
        tool_error(
            client,
            tool,
            json!({"path": "/etc/passwd"}),
            &["refused: No such file or directory"],
        )
        .await;
    }
    let escape = tool_error(
        client,
        "h_read_file",
        json!({"path": "/ro/../../etc/passwd"}),
        &["refused: Operation not permitted"],
    )
    .await;
    assert!(!escape.contains("root:"), "escaped the preopen: {escape}");
    for path in ["/ro/passwd", "/rw/etc/passwd"] {
        let escape = tool_error(
            client,
            "h_read_file",
            json!({"path": path}),
            &["refused: Operation not permitted"],
        )
        .await;
        assert!(
            !escape.contains("root:"),
            "{path} escaped the preopen: {escape}"
        );
    }
    assert_eq!(
        ok_text(client, "h_read_file", json!({"path": "/ro/note.txt"})).await,
        "granted text"
    );
    tool_error(
        client,
        "bare_read_file",
        json!({"path": "/ro/note.txt"}),
        &["refused: No such file or directory"],
    )
    .await;
    tool_error(
        client,
        "h_write_file",
        json!({"path": "/ro/planted.txt", "content": "x"}),
        &["refused:", "Operation not permitted"],
    )
    .await;
    assert!(
        !ro.join("planted.txt").exists(),
        "a write into the read-only folder reached the host"
    );
    assert_eq!(
        ok_text(
            client,
            "h_write_file",
            json!({"path": "/rw/out.txt", "content": "from the plugin"}),
        )
        .await,
        "written"
    );
    assert_eq!(
        std::fs::read_to_string(rw.join("out.txt")).expect("the written file on the host"),
        "from the plugin"
    );

    // --- environment ---
    tool_error(
        client,
        "h_read_env",
        json!({"name": "PATH"}),
        &["refused:", "not found"],
    )
    .await;
    tool_error(
        client,
        "bare_read_env",
        json!({"name": "HOME"}),
        &["refused:", "not found"],
    )
    .await;
    assert_eq!(
        ok_text(client, "h_read_env", json!({"name": "HOME"})).await,
        home
    );
    assert_eq!(ok_text(client, "h_env_count", json!({})).await, "1");
    // No host environment leaks into a plugin without an env grant.
    assert_eq!(ok_text(client, "bare_env_count", json!({})).await, "0");

    // --- outbound HTTP ---
    tool_error(
        client,
        "h_http_get",
        json!({"url": "http://example.com/"}),
        &["refused: ErrorCode::HttpRequestDenied"],
    )
    .await;
    session
        .host
        .wait_for_stderr_line(
            |l| l.contains("outbound HTTP denied") && l.contains("example.com"),
            "the WARN line of the denied request",
        )
        .await;
    // Loopback without a grant: denied, and nothing reaches the server.
    tool_error(
        &session.client,
        "bare_http_get",
        json!({"url": format!("{local}/")}),
        &["refused: ErrorCode::HttpRequestDenied"],
    )
    .await;
    // Same host, another port than the granted one.
    let other_port = if port == 1 { 2 } else { port - 1 };
    tool_error(
        &session.client,
        "h_http_get",
        json!({"url": format!("http://127.0.0.1:{other_port}/")}),
        &["refused: ErrorCode::HttpRequestDenied"],
    )
    .await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a denied request reached the server"
    );
    session
        .host
        .wait_for_stderr_lines(
            |l| l.contains("WARN") && l.contains("outbound HTTP denied"),
            3,
            "a WARN line per denied request",
        )
        .await;
    // The granted origin is reached: a real 200 comes back.
    assert_eq!(
        ok_text(
            &session.client,
            "h_http_get",
            json!({"url": format!("{local}/hello")})
        )
        .await,
        "status 200"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Tool calls that try to escape the grants: an ungranted tool, an
/// A → B → A cycle, a self call, and a chain past `server.max_chain_depth`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_call_escapes_are_refused() {
    let mut builder = ConfigBuilder::new()
        .server("max_chain_depth = 3")
        .plugin(
            "h",
            Fixture::Hostile.path(),
            "grants.tools = [\"kit_call\", \"h_*\"]",
        )
        .plugin("kit", Fixture::Testkit.path(), "grants.tools = [\"h_*\"]");
    for i in 0..4 {
        let grants = if i < 3 {
            format!("grants.tools = [\"k{}_*\"]", i + 1)
        } else {
            String::new()
        };
        builder = builder.plugin(&format!("k{i}"), Fixture::Testkit.path(), &grants);
    }
    let mut session = connect(&builder.write(), Link::Stdio, Era::Modern).await;

    // A tool the plugin was not granted: denied, naming the grant it has.
    tool_error(
        &session.client,
        "h_call",
        json!({"name": "kit_echo", "arguments": {"text": "hi"}}),
        &["refused:", "Denied", "kit_echo", "kit_call, h_*"],
    )
    .await;
    session
        .host
        .wait_for_stderr_line(
            |l| {
                l.contains("WARN")
                    && l.contains("switchboard::audit")
                    && l.contains("caller=plugin:h")
                    && l.contains(r#"name="kit_echo""#)
                    && l.contains(r#"outcome="denied""#)
            },
            "the WARN audit line of the denied call",
        )
        .await;
    // A granted call works (control): kit -> h.
    assert_eq!(
        ok_text(&session.client, "kit_call", json!({"name": "h_env_count"})).await,
        "0"
    );

    // h -> kit -> h: refused as a cycle, naming the whole chain.
    tool_error(
        &session.client,
        "h_call",
        json!({"name": "kit_call", "arguments": {"name": "h_env_count"}}),
        &["cycle", "h -> kit -> h", "already on the chain"],
    )
    .await;

    // A plugin calling itself: a cycle too.
    tool_error(
        &session.client,
        "h_call",
        json!({"name": "h_env_count"}),
        &["cycle", "h -> h"],
    )
    .await;

    // k0 -> k1 -> k2 is within the limit of 3 hops...
    assert_eq!(
        ok_text(
            &session.client,
            "k0_call",
            json!({"name": "k1_call", "arguments": {"name": "k2_echo", "arguments": {"text": "deep"}}}),
        )
        .await,
        "deep"
    );
    // ... k0 -> k1 -> k2 -> k3 is not.
    tool_error(
        &session.client,
        "k0_call",
        json!({"name": "k1_call", "arguments": {
            "name": "k2_call", "arguments": {
                "name": "k3_echo", "arguments": {"text": "too deep"}}}}),
        &["depth limit (3)", "k3_echo", "k0 -> k1 -> k2"],
    )
    .await;
    session.client.assert_echo_works().await;
}

/// Resource abuse: each fails that call only, with a specific error, and the
/// same client is served right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_abuse_fails_only_that_call() {
    let config = ConfigBuilder::testkit(10_000)
        .plugin(
            "tight",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 500, memory_mb = 32 }",
        )
        .plugin("h", Fixture::Hostile.path(), "limits = { memory_mb = 256 }")
        .write();
    let mut session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;
    let cases: [(&str, Value, &[&str]); 5] = [
        // Infinite loop under a 500 ms limit.
        (
            "tight_spin",
            json!({}),
            &["plugin `tight`", "spin", "timed out", "after 500 ms"],
        ),
        // Allocates until the 32 MiB cap.
        (
            "kit_memory_bomb",
            json!({}),
            &["plugin `kit`", "memory_bomb", "ran out of memory", "32 MiB"],
        ),
        // Unbounded recursion.
        (
            "h_stack_overflow",
            json!({}),
            // The guest's shadow stack lives in linear memory: overflowing
            // it is an out-of-bounds access trap.
            &["plugin `h`", "stack_overflow", "crashed", "wasm trap"],
        ),
        // A 100 MiB result against the default max_result_kb.
        (
            "h_big_result",
            json!({"mib": 100}),
            &[
                "plugin `h`",
                "big_result",
                "over its limit",
                "max_result_kb",
            ],
        ),
        // A panic.
        (
            "kit_trap",
            json!({}),
            &["plugin `kit`", "trap", "crashed", "fixture panic"],
        ),
    ];
    for (tool, arguments, needles) in cases {
        let started = Instant::now();
        tool_error(client, tool, arguments, needles).await;
        eprintln!("{tool}: {:?}", started.elapsed());
        client.assert_echo_works().await;
    }
    // A chatty plugin succeeds; its output is captured, bounded.
    let before = session.host.stderr().len();
    assert_eq!(
        ok_text(client, "h_chatty", json!({"kib": 1024})).await,
        "wrote 13797 lines"
    );
    let stderr = session
        .host
        .wait_for_stderr_line(
            |l| l.contains("switchboard::plugin") && l.contains("chatty plugin output line"),
            "the plugin's output in the host log",
        )
        .await;
    let logged = &stderr[before..];
    assert!(
        logged.len() < 64 * 1024,
        "2 MiB of plugin output became {} bytes of host log",
        logged.len()
    );
    assert!(
        logged
            .lines()
            .any(|l| l.contains("switchboard::plugin") && l.contains("chatty plugin output line")),
        "the plugin's output is not in the host log:\n{logged}"
    );
    client.assert_echo_works().await;
}

/// While a spin, memory bombs and a chatty plugin run from other clients,
/// a different client's calls to a well-behaved plugin keep succeeding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_are_served_during_an_attack() {
    let config = ConfigBuilder::testkit(10_000)
        .plugin(
            "spinner",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 10000, memory_mb = 32 }",
        )
        .plugin("h", Fixture::Hostile.path(), "")
        .write();
    let host = Host::http(&config).await;
    let url = host.url().to_owned();
    let spinner = connect_http(&url, Era::Modern).await;
    let bomber = connect_http(&url, Era::Legacy).await;
    let chatter = connect_http(&url, Era::Modern).await;
    let victim = connect_http(&url, Era::Legacy).await;

    let stop = Arc::new(AtomicBool::new(false));
    let before = host.cpu_time();
    let spin = tokio::spawn(async move {
        let call = spinner.call("spinner_spin", json!({})).await;
        text(call.ok())
    });
    wait_until_spinning(&host, before).await;
    let flag = stop.clone();
    let bombs = tokio::spawn(async move {
        let mut texts = Vec::new();
        while !flag.load(Ordering::SeqCst) {
            let call = bomber.call("kit_memory_bomb", json!({})).await;
            texts.push(text(call.ok()));
        }
        texts
    });
    let flag = stop.clone();
    let chats = tokio::spawn(async move {
        let mut results = Vec::new();
        while !flag.load(Ordering::SeqCst) {
            let call = chatter.call("h_chatty", json!({"kib": 512})).await;
            results.push((call.ok().is_error, text(call.ok())));
        }
        results
    });

    let started = Instant::now();
    for i in 0..20 {
        let echoed = ok_text(&victim, "kit_echo", json!({"text": format!("echo {i}")})).await;
        assert_eq!(echoed, format!("echo {i}"));
        assert!(started.elapsed() < PATIENCE, "echoes too slow");
    }
    let echo_time = started.elapsed();
    assert!(
        !spin.is_finished(),
        "the spin ended before the echoes did ({echo_time:?}): nothing was in flight"
    );
    assert!(!bombs.is_finished() && !chats.is_finished());
    stop.store(true, Ordering::SeqCst);

    let bombs = bombs.await.expect("the bomber task");
    assert!(!bombs.is_empty(), "no memory bomb ran");
    for bomb in &bombs {
        assert!(bomb.contains("ran out of memory"), "memory bomb: {bomb}");
    }
    let chats = chats.await.expect("the chatty task");
    assert!(!chats.is_empty(), "no chatty call ran");
    for (is_error, text) in &chats {
        assert_ne!(*is_error, Some(true), "chatty failed: {text}");
    }
    let spin = spin.await.expect("the spin task");
    assert!(
        spin.contains("timed out") && spin.contains("after 10000 ms"),
        "spin: {spin}"
    );
    eprintln!(
        "20 echoes in {echo_time:?} during {} memory bombs and {} chatty calls",
        bombs.len(),
        chats.len()
    );
    victim.assert_echo_works().await;
}

/// The chaining demo: `pipeline` composes the text, codec and JSON plugins
/// through the host with the grants of `switchboard.toml`; the same plugin
/// without the `codec_hash` grant fails at that step, naming the grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_demo_chains_only_granted_tools() {
    pipeline_demo([
        Fixture::Text.path(),
        Fixture::Json.path(),
        Fixture::Codec.path(),
        Fixture::Pipeline.path(),
    ])
    .await;
}

/// Plugins built against `switchboard:plugin@0.1.0` keep loading and
/// working unchanged beside 0.2.0: the example plugins as the 0.1.0 SDK
/// built them (`tests/fixtures/wit-0.1.0/`, see its README) run the same
/// chaining demo, and the host reports their version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wit_0_1_0_plugins_still_work() {
    let old = |name: &str| {
        switchboard_e2e::workspace_root()
            .join("tests/fixtures/wit-0.1.0")
            .join(format!("{name}_tools.wasm"))
    };
    let paths = ["text", "json", "codec", "pipeline"].map(old);
    for path in &paths {
        let bytes = std::fs::read(path).expect("a 0.1.0 fixture");
        let needle = b"switchboard:plugin/provider@0.1.0";
        assert!(
            bytes.windows(needle.len()).any(|w| w == needle),
            "{} is not a 0.1.0 component",
            path.display()
        );
    }
    pipeline_demo(paths).await;
}

/// The chaining demo over the text, json, codec and pipeline components at
/// `paths`.
async fn pipeline_demo(paths: [std::path::PathBuf; 4]) {
    const DEMO_GRANTS: &str = "grants.tools = [\"text_word_count\", \"text_slugify\", \"json_query\", \"json_format\", \"codec_hash\"]";
    let [text_wasm, json_wasm, codec_wasm, pipeline_wasm] = paths;
    let config = ConfigBuilder::new()
        .plugin("text", &text_wasm, "")
        .plugin("json", &json_wasm, "")
        .plugin("codec", &codec_wasm, "")
        .plugin("pipeline", &pipeline_wasm, DEMO_GRANTS)
        .plugin(
            "nohash",
            &pipeline_wasm,
            "grants.tools = [\"text_*\", \"json_*\"]",
        )
        .write();
    let mut session = connect(&config, Link::Http, Era::Modern).await;
    let document = "# Notes\n\nChaining works.";

    let call = session
        .client
        .call("pipeline_document_report", json!({"text": document}))
        .await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true), "{}", text(result));
    let report = result
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(report["title"], "Notes", "{report}");
    assert_eq!(report["slug"], "notes", "{report}");
    assert_eq!(report["words"], 4, "{report}");
    assert_eq!(
        report["sha256"], "d5fc9171ff2491c84b590d10ed48e24de6a1e61d7f0b212b5a1d23f90a8efe5e",
        "{report}"
    );
    // Each hop is audited with the plugin as the caller.
    for (callee, tool) in [
        ("text", "text_word_count"),
        ("codec", "codec_hash"),
        ("text", "text_slugify"),
    ] {
        let callee = format!(r#"callee="{callee}""#);
        let tool = format!(r#"name="{tool}""#);
        session
            .host
            .wait_for_stderr_line(
                |l| {
                    l.contains("switchboard::audit")
                        && l.contains("caller=plugin:pipeline")
                        && l.contains(&callee)
                        && l.contains(&tool)
                        && l.contains(r#"outcome="ok""#)
                },
                &format!("the audit line of {tool}"),
            )
            .await;
    }

    let call = session
        .client
        .call(
            "pipeline_json_fingerprint",
            json!({"json": {"b": 1, "a": [true, null]}}),
        )
        .await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true), "{}", text(result));
    let fingerprint = result
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(
        fingerprint["canonical"], r#"{"a":[true,null],"b":1}"#,
        "{fingerprint}"
    );
    assert_eq!(
        fingerprint["digest"], "51705a2c9eb3e7e410a58f696a770c3ac3885a0cf43eb7fc88f5e47c11d4d30d",
        "{fingerprint}"
    );

    tool_error(
        &session.client,
        "nohash_document_report",
        json!({"text": document}),
        &["step 2 of 3 (codec_hash)", "denied", "grants.tools"],
    )
    .await;
}

/// Every call runs in an instance of its own, whether it was made ahead of
/// the call (a spare) or on the call's path: the plugin's static call
/// counter reads 1 on every call, one after another and from clients
/// calling at once, with no spares, the default one, and several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_ever_shares_an_instance() {
    for spares in [0, 1, 4] {
        let config = ConfigBuilder::new()
            .plugin(
                "kit",
                Fixture::Testkit.path(),
                &format!("limits = {{ spare_instances = {spares} }}"),
            )
            .write();
        let host = Host::http(&config).await;
        let url = host.url().to_owned();

        let first = connect_http(&url, Era::Modern).await;
        for call in 0..10 {
            let served = ok_text(&first, "kit_instance_calls", json!({})).await;
            assert_eq!(served, "1", "spare_instances = {spares}, call {call}");
        }

        let mut callers = Vec::new();
        for client in 0..6 {
            let era = if client % 2 == 0 {
                Era::Modern
            } else {
                Era::Legacy
            };
            let caller = connect_http(&url, era).await;
            callers.push(tokio::spawn(async move {
                let mut counts = Vec::new();
                for _ in 0..5 {
                    counts.push(ok_text(&caller, "kit_instance_calls", json!({})).await);
                }
                counts
            }));
        }
        for caller in callers {
            let counts = caller.await.expect("a caller task");
            assert!(
                counts.iter().all(|served| served == "1"),
                "spare_instances = {spares}: concurrent calls saw {counts:?}"
            );
        }
    }
}
