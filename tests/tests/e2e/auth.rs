//! Client authentication and per-client policy on the HTTP endpoint, with
//! `[clients.NAME]` tables: bearer tokens (401 with a challenge without
//! one), what each client sees and may call, per-client and per-tool rate
//! limits, and audit lines and metrics naming the client. Real rmcp
//! clients sending `Authorization: Bearer`, and raw requests for the
//! refusals.

use reqwest::StatusCode;
use serde_json::json;
use switchboard_e2e::{ConfigBuilder, Era, Host, assert_tool_error, connect_http_with_token, text};

use crate::malformed::INITIALIZE;

const ALICE: &str = "alice-token-8b1f0c2e9d";
const BOB: &str = "bob-token-47aa19c3e0b5";

/// A host with the testkit and two clients: alice sees `kit_echo` and
/// `kit_add` and may call each twice (no refill to speak of); bob sees all,
/// three requests in all. Bob's token comes from a file.
async fn host_with_clients() -> (Host, tempfile::TempDir) {
    let secrets = tempfile::tempdir().expect("a temp folder");
    let bob_file = secrets.path().join("bob.token");
    std::fs::write(&bob_file, format!("{BOB}\n")).expect("write the token file");
    let config = ConfigBuilder::testkit(10_000)
        .client(
            "alice",
            &format!(
                "token = \"{ALICE}\"\nexpose = [\"kit_echo\", \"kit_add\"]\ntool_rate_limit = {{ per_second = 0.001, burst = 2 }}"
            ),
        )
        .client(
            "bob",
            &format!(
                "token_file = {}\nrate_limit = {{ per_second = 0.001, burst = 3 }}",
                switchboard_e2e::config::toml_string(&bob_file)
            ),
        )
        .write();
    (Host::http(&config).await, secrets)
}

/// An `initialize` POST with this `Authorization` header (or none).
pub(crate) async fn post(host: &Host, authorization: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(host.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INITIALIZE);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("POST /mcp")
}

/// The response's `WWW-Authenticate`.
pub(crate) fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_get_401_with_a_challenge() {
    let (host, _secrets) = host_with_clients().await;

    let missing = post(&host, None).await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&missing), r#"Bearer realm="switchboard""#);

    let wrong = post(&host, Some("Bearer not-a-real-token-at-all")).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_challenge = challenge(&wrong);
    assert!(
        wrong_challenge.contains(r#"error="invalid_token""#),
        "{wrong_challenge}"
    );
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("not one of a configured client"),
        "the body says why"
    );

    let basic = post(&host, Some("Basic YWxpY2U6cHc=")).await;
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&basic).contains(r#"error="invalid_request""#));

    // The scheme is case insensitive; a good token passes.
    let good = post(&host, Some(&format!("bearer {ALICE}"))).await;
    assert_eq!(good.status(), StatusCode::OK, "{:?}", good.text().await);

    // Refusals are counted by reason and logged without the token.
    let metrics = crate::metrics::scrape(&host).await;
    for (reason, count) in [("missing", 1), ("invalid_token", 1), ("malformed", 1)] {
        let series = format!("switchboard_auth_failures_total{{reason=\"{reason}\"}} {count}");
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }
    assert!(
        !host.stderr().contains("not-a-real-token"),
        "{}",
        host.stderr()
    );
}

/// Alice sees only her two tools, in lists and calls alike; a hidden tool
/// is "unknown" to her and the refusal is audited with her name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_sees_and_calls_only_what_it_exposes() {
    let (mut host, _secrets) = host_with_clients().await;
    for era in [Era::Modern, Era::Legacy] {
        let alice = connect_http_with_token(host.url(), era, ALICE).await;
        let names = crate::upstream::tool_names(&alice).await;
        assert_eq!(names, ["kit_add", "kit_echo"], "{era:?}");
        let hidden = alice.call("kit_spin", json!({"ms": 1})).await;
        let error = hidden.jsonrpc_error();
        assert!(error.message.contains("kit_spin"), "{error:?}");
    }
    host.wait_for_stderr_line(
        |l| {
            l.contains("switchboard::audit")
                && l.contains("caller=client:alice")
                && l.contains(r#"name="kit_spin""#)
        },
        "the audit line of alice's hidden call",
    )
    .await;

    let bob = connect_http_with_token(host.url(), Era::Modern, BOB).await;
    let all = bob.peer.list_all_tools().await.expect("tools/list");
    assert!(all.len() > 2, "bob sees every tool: {all:?}");
}

/// Alice may call each tool twice: the third `kit_echo` is a tool error
/// naming her limit, while `kit_add` has its own bucket. Bob has three
/// requests in all, whatever the tool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_client_and_per_tool() {
    let (host, _secrets) = host_with_clients().await;
    let alice = connect_http_with_token(host.url(), Era::Modern, ALICE).await;
    for _ in 0..2 {
        let call = alice.call("kit_echo", json!({"text": "hi"})).await;
        assert_eq!(text(call.ok()), "hi");
    }
    let limited = alice.call("kit_echo", json!({"text": "hi"})).await;
    assert_tool_error(
        limited.ok(),
        &[
            "rate limit of client `alice` for calls of `kit_echo`",
            "burst 2",
            "retry in",
        ],
    );
    let add = alice.call("kit_add", json!({"a": 1, "b": 2})).await;
    assert_eq!(add.ok().structured_content, Some(json!({"sum": 3})));

    let bob = connect_http_with_token(host.url(), Era::Legacy, BOB).await;
    assert_eq!(
        text(bob.call("kit_echo", json!({"text": "1"})).await.ok()),
        "1"
    );
    assert_eq!(
        bob.call("kit_add", json!({"a": 1, "b": 1}))
            .await
            .ok()
            .structured_content,
        Some(json!({"sum": 2}))
    );
    assert_eq!(
        text(bob.call("kit_echo", json!({"text": "3"})).await.ok()),
        "3"
    );
    let limited = bob.call("kit_add", json!({"a": 1, "b": 1})).await;
    assert_tool_error(
        limited.ok(),
        &["rate limit of client `bob` for requests", "burst 3"],
    );
    // Alice's limits are hers: bob's refusal did not touch them, and the
    // metrics count each client's calls by outcome.
    let metrics = crate::metrics::scrape(&host).await;
    for series in [
        r#"switchboard_tool_calls_total{provider="kit",tool="kit_echo",caller="client:alice",outcome="ok"} 2"#,
        r#"switchboard_tool_calls_total{provider="kit",tool="kit_echo",caller="client:alice",outcome="rate-limited"} 1"#,
        r#"switchboard_tool_calls_total{provider="kit",tool="kit_add",caller="client:bob",outcome="rate-limited"} 1"#,
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
}
