//! `GET /metrics` on the HTTP listener: after calls with known outcomes
//! (from a client and from a plugin, to plugins and to an upstream), the
//! Prometheus text has exact counts per label set, the durations count
//! every call, nothing is left in flight, and a made-up tool name never
//! becomes a label value.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::fixture_stdio_command;
use switchboard_e2e::{ConfigBuilder, Era, Fixture, Host, McpClient, PATIENCE, connect_http};

/// A tool name no provider has.
const MADE_UP: &str = "made_up_tool_4711";

/// The `/metrics` URL next to the host's `/mcp`.
fn metrics_url(host: &Host) -> String {
    let base = host.url().strip_suffix("/mcp").expect("an /mcp URL");
    format!("{base}/metrics")
}

/// One scrape: the content type and the text.
async fn scrape_as(host: &Host, accept: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .get(metrics_url(host))
        .header("accept", accept)
        .send()
        .await
        .expect("GET /metrics");
    assert!(response.status().is_success(), "{}", response.status());
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (content_type, response.text().await.expect("a text body"))
}

pub(crate) async fn scrape(host: &Host) -> String {
    scrape_as(host, "*/*").await.1
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

fn assert_sample(text: &str, series: &str, expected: f64) {
    assert_eq!(sample(text, series), Some(expected), "{series} in\n{text}");
}

/// Scrapes until `series` has `expected` (background work such as making a
/// spare instance or re-listing an upstream takes its time); the last text.
async fn wait_for_sample(host: &Host, series: &str, expected: f64) -> String {
    let started = Instant::now();
    loop {
        let text = scrape(host).await;
        if sample(&text, series) == Some(expected) {
            return text;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{series} never became {expected}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Calls `name`; returns whether the result is `isError` (a JSON-RPC
/// error counts as an error too).
async fn call(client: &McpClient, name: &str, arguments: Value) -> bool {
    let call = client.call(name, arguments).await;
    call.result
        .as_ref()
        .map_or(true, |r| r.is_error == Some(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_provider_tool_caller_and_outcome() {
    let config = ConfigBuilder::new()
        // No spares: every call that reaches `kit` instantiates on its path.
        .plugin(
            "kit",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 10000, memory_mb = 32, spare_instances = 0 }",
        )
        // One spare, taken by a call and made again.
        .plugin(
            "sp",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 10000, memory_mb = 32, spare_instances = 1 }",
        )
        .upstream(
            "fx",
            &format!("command = {}", toml_array(&fixture_stdio_command("fx"))),
        )
        .write();
    let host = Host::http(&config).await;
    let client = connect_http(host.url(), Era::Modern).await;

    // Nothing served yet: no request series at all.
    let text = scrape(&host).await;
    assert!(!text.contains("switchboard_tool_calls_total{"), "{text}");

    for _ in 0..3 {
        assert!(!call(&client, "kit_echo", json!({"text": "hi"})).await);
    }
    for _ in 0..2 {
        // Misses `count` and `mode`: refused before the plugin runs.
        assert!(call(&client, "kit_strict", json!({})).await);
    }
    // kit has no grants: its nested call is denied, and the denial comes
    // back to the client as kit_call's own isError result.
    assert!(call(&client, "kit_call", json!({"name": "kit_echo"})).await);
    assert!(call(&client, "kit_trap", json!({})).await);
    for _ in 0..2 {
        assert!(call(&client, MADE_UP, json!({})).await);
    }
    assert!(!call(&client, "fx_echo", json!({"text": "hi"})).await);

    let spare_ready = r#"switchboard_plugin_spare_instances{plugin="sp"}"#;
    wait_for_sample(&host, spare_ready, 1.0).await;
    assert!(!call(&client, "sp_echo", json!({"text": "hi"})).await);
    let text = wait_for_sample(&host, spare_ready, 1.0).await;

    let tool_calls = [
        ("kit", "kit_echo", "client", "ok", 3.0),
        ("kit", "kit_strict", "client", "invalid-arguments", 2.0),
        ("kit", "kit_call", "client", "tool-error", 1.0),
        ("kit", "kit_echo", "plugin:kit", "denied", 1.0),
        ("kit", "kit_trap", "client", "failed", 1.0),
        ("-", "-", "client", "not-found", 2.0),
        ("fx", "fx_echo", "client", "ok", 1.0),
        ("sp", "sp_echo", "client", "ok", 1.0),
    ];
    for (provider, tool, caller, outcome, count) in tool_calls {
        assert_sample(
            &text,
            &format!(
                r#"switchboard_tool_calls_total{{provider="{provider}",tool="{tool}",caller="{caller}",outcome="{outcome}"}}"#
            ),
            count,
        );
        assert_sample(
            &text,
            &format!(
                r#"switchboard_requests_total{{request="tools/call",provider="{provider}",name="{tool}",caller="{caller}",outcome="{outcome}"}}"#
            ),
            count,
        );
    }
    let series = |name: &str| {
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .count()
    };
    assert_eq!(
        series("switchboard_tool_calls_total"),
        tool_calls.len(),
        "{text}"
    );
    assert!(
        !text.contains(MADE_UP),
        "a made-up name became a label:\n{text}"
    );

    // Every call timed, under its provider; none left running.
    for (provider, count) in [("kit", 8.0), ("-", 2.0), ("fx", 1.0), ("sp", 1.0)] {
        assert_sample(
            &text,
            &format!(
                r#"switchboard_request_duration_seconds_count{{request="tools/call",provider="{provider}"}}"#
            ),
            count,
        );
        assert_sample(
            &text,
            &format!(
                r#"switchboard_request_duration_seconds_bucket{{request="tools/call",provider="{provider}",le="+Inf"}}"#
            ),
            count,
        );
    }
    for provider in ["kit", "fx", "sp"] {
        assert_sample(
            &text,
            &format!(
                r#"switchboard_requests_in_flight{{request="tools/call",provider="{provider}"}}"#
            ),
            0.0,
        );
    }

    // kit: one instance per call that reached it (echo x3, call, trap).
    assert_sample(
        &text,
        r#"switchboard_plugin_instantiations_total{plugin="kit",kind="on_call"}"#,
        5.0,
    );
    assert!(!text.contains(r#"plugin="kit",kind="spare""#), "{text}");
    // sp: the first spare, and the one made after sp_echo took it.
    assert_sample(
        &text,
        r#"switchboard_plugin_instantiations_total{plugin="sp",kind="spare"}"#,
        2.0,
    );
    assert!(!text.contains(r#"plugin="sp",kind="on_call""#), "{text}");

    // The upstream's one replica: ready, never restarted, breaker closed.
    for (state, value) in [
        ("starting", 0.0),
        ("ready", 1.0),
        ("down", 0.0),
        ("crash-loop", 0.0),
    ] {
        assert_sample(
            &text,
            &format!(
                r#"switchboard_upstream_replica_state{{upstream="fx",replica="0",state="{state}"}}"#
            ),
            value,
        );
    }
    assert_sample(
        &text,
        r#"switchboard_upstream_restarts_total{upstream="fx",replica="0"}"#,
        0.0,
    );
    assert_sample(
        &text,
        r#"switchboard_upstream_breaker_open{upstream="fx",replica="0"}"#,
        0.0,
    );

    // The upstream adds a tool and says so: the change is applied and
    // counted. (Its first listing may have counted some already.)
    let tools_changed = r#"switchboard_list_changes_total{provider="fx",kind="tools"}"#;
    let before = sample(&text, tools_changed).unwrap_or(0.0);
    assert!(!call(&client, "fx_add_tool", json!({"name": "extra"})).await);
    wait_for_sample(&host, tools_changed, before + 1.0).await;

    // Prometheus asks for OpenMetrics and gets it.
    let (content_type, open_metrics) = scrape_as(
        &host,
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3",
    )
    .await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(open_metrics.ends_with("# EOF\n"), "{open_metrics}");
    assert!(
        open_metrics.contains("# TYPE switchboard_tool_calls counter"),
        "{open_metrics}"
    );
    let (content_type, _) = scrape_as(&host, "*/*").await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
}
