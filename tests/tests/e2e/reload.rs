//! Hot reload through the real binary: `SIGHUP` and `serve --watch` load
//! the config again; clients keep their sessions and hear about changed
//! lists; a call running on an upstream whose settings changed finishes on
//! it; an unchanged upstream keeps its process; a config or component that
//! does not load leaves the running config serving, with the error logged.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::fixture_stdio_command;
use switchboard_e2e::{
    ConfigBuilder, ConfigFile, Era, Fixture, Host, McpClient, PATIENCE, connect_http,
    connect_http_with_token, text,
};

use crate::upstream::{tool_names, uncached_tool_names};

/// The testkit as `kit`, and two fixture upstreams: `keep` (the same in
/// every version of the config) and `fx` (its timeout is `fx_timeout_ms`).
fn config(fx_timeout_ms: u64) -> ConfigBuilder {
    let fixture = |name: &str| toml_array(&fixture_stdio_command(name));
    ConfigBuilder::testkit(10_000)
        .upstream("keep", &format!("command = {}", fixture("keep")))
        .upstream(
            "fx",
            &format!("command = {}\ntimeout_ms = {fx_timeout_ms}", fixture("fx")),
        )
}

fn rewrite(file: &ConfigFile, text: &str) {
    std::fs::write(file.path(), text).expect("rewrite the config");
}

async fn pid_of(client: &McpClient, tool: &str) -> u64 {
    let call = client.call(tool, json!({})).await;
    let who = call
        .ok()
        .structured_content
        .clone()
        .expect("whoami is structured");
    who["pid"].as_u64().expect("a pid")
}

/// Waits for the log line of the next reload (the `nth` since start) and
/// returns it.
async fn reloaded(host: &mut Host, nth: usize, what: &str) -> String {
    host.wait_for_stderr_lines(
        |l| l.contains("reloaded ") || l.contains("reload of "),
        nth,
        what,
    )
    .await;
    host.stderr()
        .lines()
        .filter(|l| l.contains("reloaded ") || l.contains("reload of "))
        .nth(nth - 1)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_sessions_go_on() {
    let file = config(30_000).write();
    let mut host = Host::http(&file).await;
    let legacy = connect_http(host.url(), Era::Legacy).await;
    let modern = connect_http(host.url(), Era::Modern).await;
    let keep_pid = pid_of(&modern, "keep_whoami").await;
    let fx_pid = pid_of(&modern, "fx_whoami").await;
    assert!(!tool_names(&legacy).await.contains(&"two_echo".to_owned()));
    let mark = legacy.wire.mark();

    // A second plugin, and `fx` with another timeout, while `fx_sleep`
    // runs on the old `fx`.
    let changed = config(29_000)
        .plugin("kit2", Fixture::Testkit.path(), "prefix = \"two\"")
        .render();
    let sleeping = modern.call("fx_sleep", json!({"ms": 2000, "steps": 1}));
    let reload = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rewrite(&file, &changed);
        host.signal("HUP");
        reloaded(&mut host, 1, "the reload").await
    };
    let (slept, line) = tokio::join!(sleeping, reload);
    assert!(
        line.contains("reloaded ") && line.contains("SIGHUP"),
        "{line}"
    );
    assert_eq!(
        text(slept.ok()),
        "slept 2000 ms",
        "the running call finished on the old fx"
    );

    // The legacy session hears of it and sees the new tools; both clients
    // go on as before.
    let started = std::time::Instant::now();
    while !legacy
        .wire
        .received_since(mark)
        .iter()
        .any(|m| m["method"] == "notifications/tools/list_changed")
    {
        assert!(
            started.elapsed() < PATIENCE,
            "no tools/list_changed after the reload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        uncached_tool_names(&legacy)
            .await
            .contains(&"two_echo".to_owned())
    );
    let echo = legacy.call("two_echo", json!({"text": "new"})).await;
    assert_eq!(text(echo.ok()), "new");
    let echo = modern.call("kit_echo", json!({"text": "old"})).await;
    assert_eq!(text(echo.ok()), "old");
    assert_eq!(
        pid_of(&modern, "keep_whoami").await,
        keep_pid,
        "unchanged: kept"
    );
    assert_ne!(
        pid_of(&modern, "fx_whoami").await,
        fx_pid,
        "changed: restarted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_load_changes_nothing() {
    let file = ConfigBuilder::testkit(10_000).write();
    let mut host = Host::http(&file).await;
    let client = connect_http(host.url(), Era::Modern).await;
    let before = tool_names(&client).await;

    rewrite(&file, "[server\nbroken = ");
    host.signal("HUP");
    let line = reloaded(&mut host, 1, "the failed reload").await;
    assert!(
        line.contains("failed") && line.contains("previous config"),
        "{line}"
    );
    host.wait_for_stderr("switchboard.toml").await;

    let missing = ConfigBuilder::testkit(10_000)
        .plugin("ghost", "/nonexistent/ghost.wasm", "")
        .render();
    rewrite(&file, &missing);
    host.signal("HUP");
    reloaded(&mut host, 2, "the second failed reload").await;
    host.wait_for_stderr("/nonexistent/ghost.wasm").await;

    assert_eq!(
        uncached_tool_names(&client).await,
        before,
        "still serving the old config"
    );
    let echo = client.call("kit_echo", json!({"text": "still here"})).await;
    assert_eq!(text(echo.ok()), "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_reloads_when_the_config_changes() {
    let file = ConfigBuilder::testkit(10_000).write();
    let mut host = Host::http_with(&file, &["--watch"]).await;
    let client = connect_http(host.url(), Era::Modern).await;
    let added = ConfigBuilder::testkit(10_000)
        .plugin("kit2", Fixture::Testkit.path(), "prefix = \"two\"")
        .render();
    // Modification times can be coarse: make sure the stamp moves.
    tokio::time::sleep(Duration::from_millis(50)).await;
    rewrite(&file, &added);
    let line = reloaded(&mut host, 1, "the watched reload").await;
    assert!(line.contains("a watched file changed"), "{line}");
    let names = uncached_tool_names(&client).await;
    assert!(names.contains(&"two_echo".to_owned()), "{names:?}");
    let health: Value = serde_json::from_str(
        &reqwest::get(host.url().replace("/mcp", "/readyz"))
            .await
            .expect("GET /readyz")
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(health["plugins"], 2, "{health}");
}

/// `[clients]` reload: a rotated token, a widened policy and a new client
/// apply from the next request; the old token is refused, even in the
/// session it opened; removing every client serves the local user again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reload_without_a_restart() {
    const OLD: &str = "alice-old-token-3c9e1a";
    const NEW: &str = "alice-new-token-77d0b4";
    const CAROL: &str = "carol-token-5e2f9a81";
    let alice = |token: &str, expose: &str| format!("token = \"{token}\"\nexpose = {expose}");
    let file = ConfigBuilder::testkit(10_000)
        .client("alice", &alice(OLD, "[\"kit_echo\"]"))
        .write();
    let mut host = Host::http(&file).await;
    let session = connect_http_with_token(host.url(), Era::Legacy, OLD).await;
    assert_eq!(uncached_tool_names(&session).await, ["kit_echo"]);

    rewrite(
        &file,
        &ConfigBuilder::testkit(10_000)
            .client("alice", &alice(NEW, "[\"kit_echo\", \"kit_add\"]"))
            .client("carol", &format!("token = \"{CAROL}\""))
            .render(),
    );
    host.signal("HUP");
    let line = reloaded(&mut host, 1, "the clients reload").await;
    assert!(line.contains("clients_reloaded=true"), "{line}");
    assert!(
        !host.stderr().contains("`clients` changed"),
        "no restart asked for: {}",
        host.stderr()
    );

    let old = crate::auth::post(&host, Some(&format!("Bearer {OLD}"))).await;
    assert_eq!(old.status(), reqwest::StatusCode::UNAUTHORIZED);
    let refused = session.peer.list_all_tools().await;
    assert!(
        refused.is_err(),
        "the old token's session was served: {refused:?}"
    );
    let rotated = connect_http_with_token(host.url(), Era::Modern, NEW).await;
    assert_eq!(uncached_tool_names(&rotated).await, ["kit_add", "kit_echo"]);
    let carol = connect_http_with_token(host.url(), Era::Modern, CAROL).await;
    let echo = carol.call("kit_echo", json!({"text": "new client"})).await;
    assert_eq!(text(echo.ok()), "new client");
    let anonymous = crate::auth::post(&host, None).await;
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);

    rewrite(&file, &ConfigBuilder::testkit(10_000).render());
    host.signal("HUP");
    let line = reloaded(&mut host, 2, "the reload without clients").await;
    assert!(line.contains("clients_reloaded=true"), "{line}");
    let local = connect_http(host.url(), Era::Modern).await;
    let echo = local.call("kit_echo", json!({"text": "local"})).await;
    assert_eq!(text(echo.ok()), "local");
}
