//! Streamable HTTP specifics, spoken with raw requests: Origin checks, a
//! client that disconnects in the middle of a call, and the health
//! endpoints (`/healthz`, `/readyz`).

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::fixture_stdio_command;
use switchboard_e2e::{ConfigBuilder, Era, Host, PATIENCE, connect_http};

use crate::malformed::INITIALIZE;
use crate::mcp::{assert_spin_was_stopped, wait_until_spinning};

/// A POST of `body` to the host's endpoint as MCP clients send it.
pub fn post(http: &reqwest::Client, host: &Host, body: &'static str) -> reqwest::RequestBuilder {
    http.post(host.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
}

/// Browser origins outside `allowed_origins` are refused (DNS rebinding
/// protection); listed ones are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_checks_the_origin() {
    let config = ConfigBuilder::testkit(10_000)
        .server(r#"allowed_origins = ["http://localhost:*"]"#)
        .write();
    let host = Host::http(&config).await;
    let http = reqwest::Client::new();
    let initialize = |origin: &'static str| {
        post(&http, &host, INITIALIZE)
            .header("origin", origin)
            .send()
    };
    let foreign = initialize("http://evil.example").await.expect("POST");
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "{:?}",
        foreign.text().await
    );
    let local = initialize("http://localhost:5173").await.expect("POST");
    assert_eq!(local.status(), StatusCode::OK, "{:?}", local.text().await);
}

/// A 2026-07-28 client that goes away (closes the connection) while its
/// call runs cancels the call: the plugin stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_cancels_the_call() {
    const SPIN: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"kit_spin","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let config = ConfigBuilder::testkit(60_000).write();
    let mut host = Host::http(&config).await;
    let before = host.cpu_time();
    // kit_spin says nothing, so no response (not even headers) comes until
    // it ends: the request is still in flight when the client disconnects.
    let request = post(&reqwest::Client::new(), &host, SPIN)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "kit_spin")
        .send();
    let in_flight = tokio::spawn(request);
    wait_until_spinning(&host, before).await;
    assert!(
        !in_flight.is_finished(),
        "kit_spin ended early: {:?}",
        in_flight.await
    );
    in_flight.abort();
    assert_spin_was_stopped(&mut host, "kit_spin").await;
}

/// `http://127.0.0.1:PORT<path>` of an HTTP host.
fn endpoint(host: &Host, path: &str) -> String {
    let base = host
        .url()
        .strip_suffix("/mcp")
        .expect("the URL ends in /mcp");
    format!("{base}{path}")
}

/// `METHOD PATH` on the host's listener.
async fn request(
    http: &reqwest::Client,
    host: &Host,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    http.request(method.clone(), endpoint(host, path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// `GET /readyz`: its status and JSON body.
async fn readyz(http: &reqwest::Client, host: &Host) -> (StatusCode, Value) {
    let response = request(http, host, reqwest::Method::GET, "/readyz").await;
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{response:?}"
    );
    let body = response.text().await.expect("the body");
    let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, body)
}

/// Polls `/readyz` until upstream `name` is in `state`; returns that answer.
async fn readyz_when(
    http: &reqwest::Client,
    host: &Host,
    name: &str,
    state: &str,
) -> (StatusCode, Value) {
    let started = Instant::now();
    loop {
        let (status, body) = readyz(http, host).await;
        if body["upstreams"][name]["state"] == state {
            return (status, body);
        }
        assert!(
            started.elapsed() < PATIENCE,
            "upstream `{name}` never became {state}: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `/healthz` is `ok`; `/readyz` counts plugins and tools, shows a ready
/// upstream, and names a crash-looping one and one that went down while
/// staying 200 (the host serves everything else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_report_plugins_tools_and_upstreams() {
    let fixture = toml_array(&fixture_stdio_command("fx"));
    let config = ConfigBuilder::testkit(10_000)
        // Once down, it stays down for the test: no restart within a minute.
        .upstream(
            "fx",
            &format!("command = {fixture}\nrestart_backoff_ms = 60000"),
        )
        .upstream(
            "broken",
            "command = [\"sh\", \"-c\", \"exit 3\"]\nrestart_backoff_ms = 50",
        )
        .write();
    let host = Host::http(&config).await;
    let http = reqwest::Client::new();

    let healthz = request(&http, &host, reqwest::Method::GET, "/healthz").await;
    assert_eq!(healthz.status(), StatusCode::OK);
    let content_type = healthz.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(healthz.text().await.unwrap(), "ok");
    let head = request(&http, &host, reqwest::Method::HEAD, "/healthz").await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.text().await.unwrap(), "");

    // Startup waits for upstreams to settle: `broken` is crash-looping by
    // the time the host serves (polled, as the machine may be slow).
    let (status, body) = readyz_when(&http, &host, "broken", "crash-loop").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["plugins"], 1, "{body}");
    let client = connect_http(host.url(), Era::Modern).await;
    let listed = client.peer.list_all_tools().await.expect("tools/list");
    assert!(listed.iter().any(|t| t.name == "fx_echo"), "{listed:?}");
    assert_eq!(body["tools"], listed.len(), "{body}");
    let fx = &body["upstreams"]["fx"];
    assert_eq!(fx["state"], "ready 1/1", "{body}");
    assert_eq!(fx["tools"], crate::upstream::FIXTURE_TOOLS.len(), "{body}");
    assert_eq!(
        fx["replicas"],
        json!([{"state": "ready", "restarts": 0, "breaker": "closed"}]),
        "{body}"
    );
    let broken = &body["upstreams"]["broken"];
    assert_eq!(broken["tools"], 0, "{body}");
    let replica = &broken["replicas"][0];
    assert_eq!(replica["state"], "crash-loop", "{body}");
    assert!(replica["failures"].as_u64().unwrap() >= 5, "{body}");
    // Nothing that may carry a path, URL or token.
    let text = body.to_string();
    assert!(!text.contains("exit 3"), "{text}");
    let head = request(&http, &host, reqwest::Method::HEAD, "/readyz").await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.text().await.unwrap(), "");

    // An upstream that served and then went down is reported, live; the
    // host stays ready.
    let _ = client.call("fx_exit", json!({"code": 3})).await;
    let (status, body) = readyz_when(&http, &host, "fx", "down").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["upstreams"]["fx"]["replicas"][0]["state"], "down");
    assert!(
        body["upstreams"]["fx"]["replicas"][0]["retry_in_ms"]
            .as_u64()
            .is_some(),
        "{body}"
    );
}

/// An upstream that has not connected yet (its first handshake timed out;
/// the next try is a minute away) keeps `/readyz` at 503 `starting`, naming
/// it; `/healthz` is 200 all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_until_every_upstream_has_settled() {
    let config = ConfigBuilder::testkit(10_000)
        // Starts, but never answers the handshake.
        .upstream(
            "mute",
            "command = [\"sleep\", \"30\"]\nconnect_timeout_ms = 300\nrestart_backoff_ms = 60000",
        )
        .write();
    let host = Host::http(&config).await;
    let http = reqwest::Client::new();
    let (status, body) = readyz(&http, &host).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "starting", "{body}");
    assert_eq!(body["plugins"], 1, "{body}");
    let mute = &body["upstreams"]["mute"];
    assert_eq!(mute["state"], "starting", "{body}");
    let replica = mute["replicas"][0]["state"].as_str().unwrap();
    assert!(["starting", "down"].contains(&replica), "{body}");
    let healthz = request(&http, &host, reqwest::Method::GET, "/healthz").await;
    assert_eq!(healthz.status(), StatusCode::OK);
}

/// `/readyz` and `/metrics` name upstreams, so they apply `allowed_hosts`
/// as `/mcp` does (DNS-rebinding guard); `/healthz` reveals nothing and answers any
/// `Host` (Kubernetes probes send the pod's IP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_metrics_refuse_hosts_not_allowed() {
    let config = ConfigBuilder::testkit(10_000)
        .server(r#"allowed_hosts = ["127.0.0.1", "switchboard.internal"]"#)
        .write();
    let host = Host::http(&config).await;
    let http = reqwest::Client::new();
    let get = |path: &str, host_header: &str| {
        http.get(endpoint(&host, path))
            .header("host", host_header)
            .send()
    };
    let foreign = get("/readyz", "evil.example:7777").await.expect("GET");
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let text = foreign.text().await.unwrap();
    assert!(text.contains("Host header is not allowed"), "{text}");
    let metrics = get("/metrics", "evil.example").await.expect("GET");
    assert_eq!(
        metrics.status(),
        StatusCode::FORBIDDEN,
        "/metrics as /readyz"
    );
    let metrics = get("/metrics", "switchboard.internal").await.expect("GET");
    assert_eq!(metrics.status(), StatusCode::OK);
    let mcp = post(&http, &host, crate::malformed::INITIALIZE)
        .header("host", "evil.example:7777")
        .send()
        .await
        .expect("POST");
    assert_eq!(mcp.status(), StatusCode::FORBIDDEN, "as /mcp answers");
    let listed = get("/readyz", "switchboard.internal:7777")
        .await
        .expect("GET");
    assert_eq!(listed.status(), StatusCode::OK);
    let (status, body) = readyz(&http, &host).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    let liveness = get("/healthz", "10.1.2.3:7777").await.expect("GET");
    assert_eq!(liveness.status(), StatusCode::OK);
}
