//! Streamable HTTP specifics, spoken with raw requests: Origin checks and
//! a client that disconnects in the middle of a call.

use reqwest::StatusCode;
use switchboard_e2e::{ConfigBuilder, Host};

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
