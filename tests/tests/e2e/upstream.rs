//! Upstream MCP servers behind the host: the `upstream-fixture` (rmcp, both
//! eras), `@modelcontextprotocol/server-everything` (npm, legacy era only)
//! and `mcp-server-time` (PyPI), over stdio and Streamable HTTP, seen by
//! real rmcp clients through the real `switchboard` binary.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolResult, ClientRequest, ErrorCode, GetPromptRequestParams, ListToolsRequest,
    PaginatedRequestParams, ReadResourceRequestParams, ServerNotification, ServerResult,
    SubscriptionFilter,
};
use rmcp::service::ServiceError;
use serde_json::{Map, Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::{
    EverythingHttp, FixtureHttp, everything_stdio_command, fixture_stdio_command,
    time_stdio_command, upstreams_dir,
};
use switchboard_e2e::{
    CliOutput, ConfigBuilder, Era, Fixture, Link, McpClient, PATIENCE, assert_tool_error,
    cli_command, connect, run_cli, text,
};

/// The fixture's tools, as it names them.
pub const FIXTURE_TOOLS: [&str; 13] = [
    "add_tool",
    "ask",
    "ask_in_rounds",
    "echo",
    "exit",
    "hang",
    "headers",
    "log",
    "sleep",
    "stats",
    "touch",
    "trace_context",
    "whoami",
];

/// `command = [...]` running the fixture over stdio as `name`.
fn fixture(name: &str) -> String {
    format!("command = {}", toml_array(&fixture_stdio_command(name)))
}

/// `prefix_tool` for each of `tools`, sorted.
fn prefixed(prefix: &str, tools: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = tools.iter().map(|t| format!("{prefix}_{t}")).collect();
    names.sort();
    names
}

/// Asserts some line of `text` contains every one of `needles`.
fn assert_line(text: &str, needles: &[&str]) {
    assert!(
        text.lines()
            .any(|line| needles.iter().all(|n| line.contains(n))),
        "no line contains all of {needles:?} in:\n{text}"
    );
}

/// Every tool name the client sees, sorted.
pub(crate) async fn tool_names(client: &McpClient) -> Vec<String> {
    let mut names: Vec<String> = client
        .peer
        .list_all_tools()
        .await
        .expect("tools/list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    names
}

/// One `tools/list` page sent as a plain request, around the client's
/// response cache: what the host serves right now.
pub(crate) async fn uncached_tool_names(client: &McpClient) -> Vec<String> {
    let request = ClientRequest::ListToolsRequest(ListToolsRequest::with_param(
        PaginatedRequestParams::default(),
    ));
    let result = client.peer.send_request(request).await.expect("tools/list");
    let ServerResult::ListToolsResult(result) = result else {
        panic!("tools/list answered with {result:?}");
    };
    assert!(result.next_cursor.is_none(), "more than one page");
    let mut names: Vec<String> = result.tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

/// The tool names starting with `prefix`, sorted.
async fn tool_names_with(client: &McpClient, prefix: &str) -> Vec<String> {
    tool_names(client)
        .await
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// Calls `tool` and asserts it succeeded (not `isError`).
async fn call_ok(client: &McpClient, tool: &str, arguments: Value) -> CallToolResult {
    let call = client.call(tool, arguments).await;
    let result = call.ok().clone();
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {}",
        text(&result)
    );
    result
}

/// The fixture's `whoami` (through `tool`): its name and pid.
async fn whoami(client: &McpClient, tool: &str) -> (String, u32) {
    let result = call_ok(client, tool, json!({})).await;
    let who = result
        .structured_content
        .clone()
        .expect("whoami is structured");
    let name = who["name"].as_str().expect("a name").to_owned();
    let pid = who["pid"].as_u64().expect("a pid");
    assert_eq!(
        text(&result),
        format!("{{\"name\":\"{name}\",\"pid\":{pid}}}"),
        "whoami's text mirrors its structured content"
    );
    (name, u32::try_from(pid).expect("a pid fits u32"))
}

/// The fixture's `stats` (through `tool`): calls started, cancellations seen.
async fn stats(client: &McpClient, tool: &str) -> (u64, u64) {
    let result = call_ok(client, tool, json!({})).await;
    let stats = result.structured_content.expect("stats are structured");
    (
        stats["calls"].as_u64().expect("calls"),
        stats["cancelled"].as_u64().expect("cancelled"),
    )
}

/// Waits until the fixture behind `stats_tool` has started a call other
/// than the `stats` calls this makes (so the call under test is running).
async fn wait_until_running(client: &McpClient, stats_tool: &str, calls_before: u64) {
    let started = Instant::now();
    let mut polls = 0;
    loop {
        let (calls, _) = stats(client, stats_tool).await;
        polls += 1;
        if calls > calls_before + polls {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the call never reached the upstream ({calls} calls)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the fixture behind `stats_tool` has seen `cancelled`
/// cancellations.
async fn wait_for_cancellations(client: &McpClient, stats_tool: &str, cancelled: u64) {
    let started = Instant::now();
    loop {
        let (_, seen) = stats(client, stats_tool).await;
        if seen >= cancelled {
            assert_eq!(seen, cancelled, "more cancellations than expected");
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the upstream saw {seen} cancellation(s), not {cancelled}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `kill -9 pid`.
fn kill9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid} failed");
}

/// Reads `uri` and returns its single text content (and its URI).
async fn read_text(client: &McpClient, uri: &str) -> (String, String) {
    let result = client
        .peer
        .read_resource(ReadResourceRequestParams::new(uri.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("resources/read {uri}: {e}"));
    let contents = serde_json::to_value(&result.contents).expect("contents serialize");
    assert_eq!(
        contents.as_array().map(Vec::len),
        Some(1),
        "{uri}: {contents}"
    );
    (
        contents[0]["text"]
            .as_str()
            .expect("text contents")
            .to_owned(),
        contents[0]["uri"].as_str().expect("a uri").to_owned(),
    )
}

/// `prompts/get` and the text of its single message.
async fn prompt_text(client: &McpClient, name: &str, arguments: Value) -> String {
    let arguments: Map<String, Value> = match arguments {
        Value::Object(map) => map,
        other => panic!("prompt arguments must be an object, not {other}"),
    };
    let result = client
        .peer
        .get_prompt(GetPromptRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("prompts/get {name}: {e}"));
    let messages = serde_json::to_value(&result.messages).expect("messages serialize");
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    assert_eq!(messages[0]["role"], "user", "{messages}");
    messages[0]["content"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text message: {messages}"))
        .to_owned()
}

/// Waits for the host's `upstream replica ready` log line for `upstream`
/// and returns it.
async fn ready_line(host: &mut switchboard_e2e::Host, upstream: &str) -> String {
    let field = format!("upstream=\"{upstream}\"");
    let matches = |line: &str| line.contains("upstream replica ready") && line.contains(&field);
    let stderr = host
        .wait_for_stderr_line(matches, &format!("{upstream} ready"))
        .await;
    stderr
        .lines()
        .find(|line| matches(line))
        .expect("the ready line")
        .to_owned()
}

/// A JSON-RPC error of a request other than tools/call.
fn jsonrpc_error<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> rmcp::model::ErrorData {
    match result {
        Err(ServiceError::McpError(error)) => error,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// An unknown resource is -32602 with `data.uri` in 2026-07-28 and the
/// older -32002 (with the same data) in 2025-11-25, as each era's spec says.
fn assert_resource_not_found(error: rmcp::model::ErrorData, uri: &str, era: Era) {
    let expected = match era {
        Era::Modern => rmcp::model::ErrorCode::INVALID_PARAMS,
        Era::Legacy => rmcp::model::ErrorCode::RESOURCE_NOT_FOUND,
    };
    assert_eq!(error.code, expected, "{error:?}");
    assert_eq!(error.data, Some(json!({ "uri": uri })), "{error:?}");
    assert!(error.message.contains(uri), "{error:?}");
}

// ------------------------------------------------------------ the fixture

/// The fixture over stdio: its tools under `fx_`, its resources under
/// `upstream://fx/...`, its prompt as `fx_greet`, all routed to it; its
/// progress reaches the client; the host spoke 2026-07-28 to it.
async fn fixture_is_served_namespaced(link: Link, era: Era) {
    let config = ConfigBuilder::new().upstream("fx", &fixture("fx")).write();
    let mut session = connect(&config, link, era).await;
    let client = &session.client;

    assert_eq!(tool_names(client).await, prefixed("fx", &FIXTURE_TOOLS));
    let echo = call_ok(client, "fx_echo", json!({"text": "héllo wörld ✓"})).await;
    assert_eq!(text(&echo), "héllo wörld ✓");
    let (name, pid) = whoami(client, "fx_whoami").await;
    assert_eq!(name, "fx");
    assert!(pid > 0);

    let call = client
        .call("fx_sleep", json!({"ms": 150, "steps": 3}))
        .await;
    assert_eq!(text(call.ok()), "slept 150 ms");
    assert_eq!(
        call.progress(),
        call.expected_steps(3),
        "the upstream's progress"
    );

    let resources: Vec<String> = client
        .peer
        .list_all_resources()
        .await
        .expect("resources/list")
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert_eq!(resources, ["upstream://fx/fixture://greeting"]);
    let (greeting, uri) = read_text(client, "upstream://fx/fixture://greeting").await;
    assert_eq!(greeting, "hello from fx");
    assert_eq!(uri, "upstream://fx/fixture://greeting");

    let templates: Vec<String> = client
        .peer
        .list_all_resource_templates()
        .await
        .expect("resources/templates/list")
        .iter()
        .map(|t| t.uri_template.clone())
        .collect();
    assert_eq!(templates, ["upstream://fx/fixture://items/{id}"]);
    let (item, uri) = read_text(client, "upstream://fx/fixture://items/42").await;
    assert_eq!(item, "item 42");
    assert_eq!(uri, "upstream://fx/fixture://items/42");

    let missing = client
        .peer
        .read_resource(ReadResourceRequestParams::new(
            "upstream://fx/fixture://nothing".to_owned(),
        ))
        .await;
    assert_resource_not_found(
        jsonrpc_error(missing),
        "upstream://fx/fixture://nothing",
        era,
    );
    let nobody = client
        .peer
        .read_resource(ReadResourceRequestParams::new(
            "upstream://nobody/fixture://greeting".to_owned(),
        ))
        .await;
    assert_resource_not_found(
        jsonrpc_error(nobody),
        "upstream://nobody/fixture://greeting",
        era,
    );
    let no_prompt = client
        .peer
        .get_prompt(GetPromptRequestParams::new("fx_nothing".to_owned()))
        .await;
    let no_prompt = jsonrpc_error(no_prompt);
    assert_eq!(no_prompt.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    assert!(no_prompt.message.contains("fx_nothing"), "{no_prompt:?}");

    let prompts: Vec<String> = client
        .peer
        .list_all_prompts()
        .await
        .expect("prompts/list")
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(prompts, ["fx_greet"]);
    assert_eq!(
        prompt_text(client, "fx_greet", json!({"who": "Ada"})).await,
        "Say hello to Ada from fx"
    );

    let ready = ready_line(&mut session.host, "fx").await;
    assert!(ready.contains("2026-07-28"), "the upstream's era: {ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_is_served_namespaced_stdio_legacy() {
    fixture_is_served_namespaced(Link::Stdio, Era::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_is_served_namespaced_http_modern() {
    fixture_is_served_namespaced(Link::Http, Era::Modern).await;
}

/// With no provider serving resources or prompts (here only the testkit,
/// a 0.2.0 plugin offering tools only), they are not a thing the host
/// serves: method not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_upstreams_resources_and_prompts_are_method_not_found() {
    let session = connect(
        &ConfigBuilder::testkit(10_000).write(),
        Link::Stdio,
        Era::Legacy,
    )
    .await;
    let peer = &session.client.peer;
    let resources = jsonrpc_error(peer.list_all_resources().await);
    assert_eq!(resources.code, ErrorCode::METHOD_NOT_FOUND, "{resources:?}");
    let prompts = jsonrpc_error(peer.list_all_prompts().await);
    assert_eq!(prompts.code, ErrorCode::METHOD_NOT_FOUND, "{prompts:?}");
}

/// `expose` limits what clients see and may call; a plugin granted the
/// hidden tools calls them through the host; one without a grant may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expose_hides_tools_from_clients_but_not_from_granted_plugins() {
    let config = ConfigBuilder::new()
        .plugin(
            "kit",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 10000 }\ngrants.tools = [\"fx_*\"]",
        )
        .plugin("other", Fixture::Testkit.path(), "prefix = \"t2\"")
        .upstream(
            "fx",
            &format!("{}\nexpose = [\"echo\", \"who*\"]", fixture("fx")),
        )
        .write();
    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;

    assert_eq!(
        tool_names_with(client, "fx_").await,
        ["fx_echo", "fx_whoami"]
    );
    let hidden = client.call("fx_stats", json!({})).await;
    let error = hidden.jsonrpc_error();
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
    assert!(error.message.contains("fx_stats"), "{error:?}");
    call_ok(client, "fx_echo", json!({"text": "shown"})).await;

    let granted = call_ok(client, "kit_call", json!({"name": "fx_stats"})).await;
    let stats: Value = serde_json::from_str(&text(&granted))
        .unwrap_or_else(|e| panic!("stats as JSON ({e}): {}", text(&granted)));
    assert!(stats["calls"].as_u64() >= Some(2), "{stats}");
    assert_eq!(stats["cancelled"], 0, "{stats}");

    let listed = call_ok(client, "kit_host_tools", json!({})).await;
    let mut names: Vec<String> = serde_json::from_str(&text(&listed)).expect("a JSON array");
    names.sort();
    assert_eq!(
        names,
        prefixed("fx", &FIXTURE_TOOLS),
        "a plugin sees what it is granted, hidden or not"
    );

    let denied = client
        .call(
            "t2_call",
            json!({"name": "fx_echo", "arguments": {"text": "no"}}),
        )
        .await;
    assert_tool_error(denied.ok(), &["may not call", "fx_echo"]);

    // The CLI shows the same picture.
    let (json_tools, table) = tokio::task::block_in_place(|| {
        (
            run_cli(&config, &["tools", "--json"]),
            run_cli(&config, &["tools"]),
        )
    });
    json_tools.assert_success();
    let printed: Value = serde_json::from_str(&json_tools.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{json_tools}"));
    let fx: Vec<&str> = printed
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|n| n.starts_with("fx_"))
        .collect();
    assert_eq!(fx, ["fx_echo", "fx_whoami"], "{json_tools}");
    table.assert_success();
    assert_line(
        &table.stdout,
        &["fx_stats", "fx", "(not exposed to clients)"],
    );
    assert!(
        !table
            .stdout
            .lines()
            .any(|l| l.starts_with("fx_echo") && l.contains("not exposed")),
        "{table}"
    );
}

/// `check` shows each upstream with its tool count, state and replicas;
/// `tools --json` lists upstream tools.
#[test]
fn check_reports_upstreams_and_tools_lists_their_tools() {
    let fixture_argv = fixture_stdio_command("a");
    let replica_b = fixture_stdio_command("b");
    let config = ConfigBuilder::new()
        .upstream("fx", &fixture("fx"))
        .upstream(
            "pair",
            &format!(
                "command = [{}, {}]\ntimeout_ms = 4321",
                toml_array(&fixture_argv),
                toml_array(&replica_b)
            ),
        )
        .upstream(
            "time",
            &format!("command = {}", toml_array(&time_stdio_command())),
        )
        .upstream(
            "bare",
            &format!("{}\nreplicas = 3\nprefix = \"\"", fixture("bare")),
        )
        .write();
    let check = run_cli(&config, &["check"]);
    check.assert_success();
    let stdout = &check.stdout;
    assert_line(stdout, &["UPSTREAM", "TOOLS", "STATE", "REPLICAS"]);
    let row = |name: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{check}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let tools = FIXTURE_TOOLS.len().to_string();
    let tools = tools.as_str();
    assert_eq!(
        row("fx"),
        ["fx", tools, "30000ms", "ready", "1/1", "1"],
        "{check}"
    );
    assert_eq!(
        row("pair"),
        ["pair", tools, "4321ms", "ready", "2/2", "2"],
        "{check}"
    );
    assert_eq!(
        row("time"),
        ["time", "2", "30000ms", "ready", "1/1", "1"],
        "{check}"
    );
    assert_eq!(
        row("bare"),
        ["bare", tools, "30000ms", "ready", "3/3", "3"],
        "{check}"
    );
    assert_line(stdout, &["replica 3:", "--name bare", "pid ", "ready"]);
    assert_line(stdout, &["replica 1:", "pid ", "ready"]);
    assert_line(stdout, &["replica 2:", "--name b", "pid ", "ready"]);
    assert!(!stdout.contains("warning"), "{check}");

    let tools = run_cli(&config, &["tools", "--json"]);
    tools.assert_success();
    let printed: Value =
        serde_json::from_str(&tools.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{tools}"));
    let names: Vec<&str> = printed
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut expected: Vec<String> = FIXTURE_TOOLS.iter().map(|t| t.to_string()).collect();
    expected.extend(prefixed("fx", &FIXTURE_TOOLS));
    expected.extend(prefixed("pair", &FIXTURE_TOOLS));
    expected.extend(prefixed("time", &["convert_time", "get_current_time"]));
    expected.sort();
    assert_eq!(names, expected, "{tools}");
}

/// Two providers producing one tool name is a load error naming both.
#[test]
fn colliding_names_are_load_errors_naming_both_providers() {
    let same_prefix = ConfigBuilder::new()
        .upstream("a", &format!("{}\nprefix = \"x\"", fixture("a")))
        .upstream("b", &format!("{}\nprefix = \"x\"", fixture("b")))
        .write();
    let check = run_cli(&same_prefix, &["check"]);
    check.assert_failure();
    assert_line(
        &check.stderr,
        &["x_echo", "produced by both", "a.echo", "b.echo"],
    );
    assert!(check.stdout.is_empty(), "{check}");

    let plugin_and_upstream = ConfigBuilder::new()
        .plugin("kit", Fixture::Testkit.path(), "prefix = \"fx\"")
        .upstream("fx", &fixture("fx"))
        .write();
    let check = run_cli(&plugin_and_upstream, &["check"]);
    check.assert_failure();
    assert_line(
        &check.stderr,
        &["fx_echo", "produced by both", "kit.echo", "fx.echo"],
    );
}

/// The upstream adds a tool and says so: the host re-lists and tells its
/// clients (legacy: a notification; 2026-07-28: on `subscriptions/listen`),
/// and the new tool is listed and callable.
async fn list_changed_reaches_clients(link: Link, era: Era) {
    let config = ConfigBuilder::new().upstream("fx", &fixture("fx")).write();
    let session = connect(&config, link, era).await;
    let client = &session.client;
    assert!(!tool_names(client).await.contains(&"fx_extra".to_owned()));

    let mut subscription = match era {
        Era::Legacy => None,
        Era::Modern => Some(
            client
                .peer
                .listen(SubscriptionFilter::builder().tools_list_changed().build())
                .await
                .expect("subscriptions/listen"),
        ),
    };
    let mark = client.wire.mark();
    let added = call_ok(client, "fx_add_tool", json!({"name": "extra"})).await;
    assert_eq!(text(&added), "added extra");

    // The host may also announce its first listing of the upstream just
    // after it starts; the notification the change causes must be followed
    // by a listing with the new tool. The listing is asked for at once and
    // around the client's response cache (the wire records a notification
    // before the client drops its cached list).
    let started = Instant::now();
    let mut notified = 0;
    loop {
        match &mut subscription {
            None => loop {
                let count = client
                    .wire
                    .received_since(mark)
                    .iter()
                    .filter(|m| m["method"] == "notifications/tools/list_changed")
                    .count();
                if count > notified {
                    notified = count;
                    break;
                }
                assert!(
                    started.elapsed() < PATIENCE,
                    "no (further) notifications/tools/list_changed: {:#?}",
                    client.wire.received_since(mark)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            },
            Some(subscription) => {
                let notification = tokio::time::timeout(PATIENCE, subscription.next())
                    .await
                    .expect("a notification on the subscription in time")
                    .expect("the subscription works")
                    .expect("the subscription is still open");
                assert!(
                    matches!(
                        notification,
                        ServerNotification::ToolListChangedNotification(_)
                    ),
                    "{notification:?}"
                );
                notified += 1;
            }
        }
        let names = uncached_tool_names(client).await;
        if names.contains(&"fx_extra".to_owned()) {
            break;
        }
        assert!(
            notified < 10 && started.elapsed() < PATIENCE,
            "{notified} list_changed notification(s), and still no fx_extra: {names:?}"
        );
    }
    let extra = call_ok(client, "fx_extra", json!({"text": "new tool"})).await;
    assert_eq!(text(&extra), "new tool");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_reaches_clients_stdio_legacy() {
    list_changed_reaches_clients(Link::Stdio, Era::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_reaches_clients_http_legacy() {
    list_changed_reaches_clients(Link::Http, Era::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_reaches_clients_http_modern() {
    list_changed_reaches_clients(Link::Http, Era::Modern).await;
}

/// An upstream that floods `notifications/tools/list_changed` costs the
/// host a few re-lists, not one per notification: announcements made while
/// a re-list runs collapse into one. The host keeps serving and ends up
/// with the latest list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_changed_flood_is_coalesced() {
    const FLOOD: u64 = 1000;
    let config = ConfigBuilder::new().upstream("fx", &fixture("fx")).write();
    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;
    let lists_before = fixture_lists(client).await;
    let added = call_ok(
        client,
        "fx_add_tool",
        json!({"name": "flooded", "announce": FLOOD}),
    )
    .await;
    assert_eq!(text(&added), "added flooded");
    let started = Instant::now();
    while !uncached_tool_names(client)
        .await
        .contains(&"fx_flooded".to_owned())
    {
        assert!(started.elapsed() < PATIENCE, "fx_flooded never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let echo = call_ok(client, "fx_flooded", json!({"text": "still served"})).await;
    assert_eq!(text(&echo), "still served");
    // Every notification has reached the host once the upstream's lists
    // settle; then count how often it re-listed.
    let mut lists = fixture_lists(client).await;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = fixture_lists(client).await;
        if now == lists {
            break;
        }
        lists = now;
    }
    let relists = lists - lists_before;
    assert!(
        (1..FLOOD / 10).contains(&relists),
        "{FLOOD} announcements caused {relists} tools/list requests"
    );
}

async fn fixture_lists(client: &McpClient) -> u64 {
    let result = call_ok(client, "fx_stats", json!({})).await;
    let stats = result.structured_content.expect("stats are structured");
    stats["lists"].as_u64().expect("lists")
}

/// Cancelling a client's call sends `notifications/cancelled` to the
/// upstream running it, and to no other.
async fn cancellation_reaches_only_the_upstream_running_the_call(link: Link, era: Era) {
    let config = ConfigBuilder::new()
        .upstream("a", &fixture("a"))
        .upstream("b", &fixture("b"))
        .write();
    let session = connect(&config, link, era).await;
    let client = &session.client;

    let (calls_before, _) = stats(client, "a_stats").await;
    let hang = client.start_call("a_hang", json!({}), None).await;
    wait_until_running(client, "a_stats", calls_before).await;
    hang.cancel(Some("the e2e test cancels".into()))
        .await
        .expect("send notifications/cancelled");
    wait_for_cancellations(client, "a_stats", 1).await;
    let (b_calls, b_cancelled) = stats(client, "b_stats").await;
    assert_eq!((b_calls, b_cancelled), (1, 0), "b saw only its stats call");
    let echo = call_ok(client, "a_echo", json!({"text": "after the cancel"})).await;
    assert_eq!(text(&echo), "after the cancel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_reaches_only_the_upstream_running_the_call_stdio_legacy() {
    cancellation_reaches_only_the_upstream_running_the_call(Link::Stdio, Era::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_reaches_only_the_upstream_running_the_call_http_modern() {
    cancellation_reaches_only_the_upstream_running_the_call(Link::Http, Era::Modern).await;
}

/// `kill -9` of an upstream mid-call: that call fails naming the upstream
/// and the lost connection; the next call waits for the restart and
/// succeeds, on a new process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_upstream_fails_the_call_in_flight_and_is_restarted() {
    let config = ConfigBuilder::new()
        .upstream(
            "fx",
            &format!(
                "{}\nrestart_backoff_ms = 50\ntimeout_ms = 20000",
                fixture("fx")
            ),
        )
        .write();
    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;
    let (_, pid) = whoami(client, "fx_whoami").await;

    let (calls_before, _) = stats(client, "fx_stats").await;
    let hang = client.start_call("fx_hang", json!({}), None).await;
    wait_until_running(client, "fx_stats", calls_before).await;
    kill9(pid);
    let answer = tokio::time::timeout(PATIENCE, hang.await_response())
        .await
        .expect("the call in flight is answered");
    let result = match answer {
        Ok(ServerResult::CallToolResult(result)) => result,
        other => panic!("expected an isError result, got {other:?}"),
    };
    assert_tool_error(&result, &["upstream `fx` unavailable", "connection lost"]);

    let started = Instant::now();
    let (name, new_pid) = whoami(client, "fx_whoami").await;
    assert_eq!(name, "fx");
    assert_ne!(new_pid, pid, "the same process answered after kill -9");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the restart took {:?}",
        started.elapsed()
    );
    let echo = call_ok(client, "fx_echo", json!({"text": "back"})).await;
    assert_eq!(text(&echo), "back");

    // The process exiting on its own mid-call is the same story.
    let exit = client.call("fx_exit", json!({"code": 3})).await;
    assert_tool_error(exit.ok(), &["upstream `fx` unavailable", "connection lost"]);
    let (_, third_pid) = whoami(client, "fx_whoami").await;
    assert!(
        third_pid != pid && third_pid != new_pid,
        "no new process after exit"
    );
}

/// A call the upstream never answers ends at `timeout_ms` with an error
/// saying so, and the upstream is told to stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_call_times_out_and_is_cancelled_upstream() {
    let config = ConfigBuilder::new()
        .upstream("fx", &format!("{}\ntimeout_ms = 500", fixture("fx")))
        .write();
    let session = connect(&config, Link::Stdio, Era::Modern).await;
    let client = &session.client;

    let started = Instant::now();
    let call = client.call("fx_hang", json!({})).await;
    let elapsed = started.elapsed();
    assert_tool_error(
        call.ok(),
        &["upstream `fx`", "`hang`", "got no answer within"],
    );
    assert!(
        elapsed >= Duration::from_millis(450),
        "timed out after only {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "took {elapsed:?} to time out"
    );
    wait_for_cancellations(client, "fx_stats", 1).await;
    let echo = call_ok(client, "fx_echo", json!({"text": "still served"})).await;
    assert_eq!(text(&echo), "still served");
}

/// Two timeouts in a row open the breaker: the next call fails at once
/// saying why; after the cooldown one probe passes and closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_after_consecutive_failures_and_a_probe_closes_it() {
    let timeout = Duration::from_millis(800);
    let cooldown = Duration::from_millis(1500);
    let config = ConfigBuilder::new()
        .upstream(
            "fx",
            &format!(
                "{}\ntimeout_ms = {}\nbreaker_failures = 2\nbreaker_cooldown_ms = {}",
                fixture("fx"),
                timeout.as_millis(),
                cooldown.as_millis()
            ),
        )
        .write();
    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;
    call_ok(client, "fx_echo", json!({"text": "closed"})).await;

    for _ in 0..2 {
        let call = client.call("fx_hang", json!({})).await;
        assert_tool_error(call.ok(), &["got no answer within"]);
    }
    let opened = Instant::now();
    let started = Instant::now();
    let refused = client.call("fx_echo", json!({"text": "refused"})).await;
    let elapsed = started.elapsed();
    assert_tool_error(
        refused.ok(),
        &[
            "upstream `fx` unavailable",
            "circuit open after 2 consecutive failures",
        ],
    );
    assert!(
        elapsed < timeout / 2,
        "an open breaker took {elapsed:?} to refuse (timeout {timeout:?})"
    );

    // Refused until the cooldown is over, then the probe closes it.
    loop {
        let call = client.call("fx_echo", json!({"text": "probe"})).await;
        let result = call.ok();
        if result.is_error != Some(true) {
            assert_eq!(text(result), "probe");
            break;
        }
        assert_tool_error(result, &["circuit open"]);
        assert!(
            opened.elapsed() < cooldown + PATIENCE,
            "the breaker never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        opened.elapsed() >= cooldown - Duration::from_millis(100),
        "the breaker let a call through after {:?} (cooldown {cooldown:?})",
        opened.elapsed()
    );
    for i in 0..3 {
        let echo = call_ok(client, "fx_echo", json!({"text": format!("closed {i}")})).await;
        assert_eq!(text(&echo), format!("closed {i}"));
    }
}

/// An upstream whose process exits at once: `check` still succeeds but
/// warns and shows the crash loop; the host serves the other upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_upstream_is_reported_and_the_rest_is_served() {
    let config = ConfigBuilder::new()
        .upstream(
            "broken",
            "command = [\"sh\", \"-c\", \"exit 3\"]\nrestart_backoff_ms = 50",
        )
        // Starts, but never answers the handshake.
        .upstream(
            "mute",
            "command = [\"sleep\", \"10\"]\nconnect_timeout_ms = 300\nrestart_backoff_ms = 50",
        )
        .upstream("fx", &fixture("fx"))
        .write();
    let check = tokio::task::block_in_place(|| run_cli(&config, &["check"]));
    check.assert_success();
    let stdout = &check.stdout;
    assert_line(stdout, &["warning", "upstream `broken`", "not ready"]);
    assert_line(stdout, &["broken ", " 0 ", "crash-loop"]);
    assert_line(
        stdout,
        &["replica 1:", "crash loop: failed", "times in a row"],
    );
    assert_line(
        stdout,
        &["fx ", &format!(" {} ", FIXTURE_TOOLS.len()), "ready 1/1"],
    );
    assert_line(stdout, &["warning", "upstream `mute`", "not ready"]);
    assert_line(
        stdout,
        &["replica 1:", "sleep 10", "no MCP handshake within 300 ms"],
    );

    let session = connect(&config, Link::Stdio, Era::Legacy).await;
    let client = &session.client;
    assert_eq!(tool_names(client).await, prefixed("fx", &FIXTURE_TOOLS));
    let echo = call_ok(client, "fx_echo", json!({"text": "served"})).await;
    assert_eq!(text(&echo), "served");

    // A request for the broken one's resources fails at once, naming it.
    let down = client
        .peer
        .read_resource(ReadResourceRequestParams::new(
            "upstream://broken/fixture://greeting".to_owned(),
        ))
        .await;
    let down = jsonrpc_error(down);
    assert_eq!(
        down.code,
        rmcp::model::ErrorCode::INTERNAL_ERROR,
        "{down:?}"
    );
    assert!(
        down.message.contains("upstream `broken` unavailable"),
        "{down:?}"
    );
}

/// Two replicas share the calls; one killed while idle: every call still
/// succeeds, and the killed one comes back as a new process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_calls_and_survive_a_killed_replica() {
    let config = ConfigBuilder::new()
        .upstream(
            "fx",
            &format!(
                "command = [{}, {}]\nrestart_backoff_ms = 50",
                toml_array(&fixture_stdio_command("a")),
                toml_array(&fixture_stdio_command("b"))
            ),
        )
        .write();
    let mut session = connect(&config, Link::Stdio, Era::Legacy).await;

    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..10 {
        let (name, pid) = whoami(&session.client, "fx_whoami").await;
        seen.insert(name, pid);
    }
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>(),
        ["a", "b"],
        "both replicas serve"
    );
    let old_a = seen["a"];

    kill9(old_a);
    session
        .host
        .wait_for_stderr_line(
            |line| line.contains("upstream replica down") && line.contains("replica=0"),
            "replica a going down",
        )
        .await;
    for i in 0..10 {
        let (name, pid) = whoami(&session.client, "fx_whoami").await;
        assert!(
            !(name == "a" && pid == old_a),
            "call {i} answered by the killed process"
        );
    }
    // The killed replica is back, as a new process.
    let started = Instant::now();
    loop {
        let (name, pid) = whoami(&session.client, "fx_whoami").await;
        if name == "a" {
            assert_ne!(pid, old_a);
            break;
        }
        assert!(started.elapsed() < PATIENCE, "replica a never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ------------------------------------------------------------ real servers

/// server-everything over stdio (legacy era upstream) to clients of either
/// era: tools, progress, resources and prompts.
async fn everything_over_stdio(link: Link, era: Era) {
    let config = ConfigBuilder::new()
        .upstream(
            "everything",
            &format!("command = {}", toml_array(&everything_stdio_command())),
        )
        .write();
    let mut session = connect(&config, link, era).await;
    let client = &session.client;

    let names: BTreeSet<String> = tool_names(client).await.into_iter().collect();
    for tool in [
        "everything_echo",
        "everything_get-sum",
        "everything_get-env",
        "everything_trigger-long-running-operation",
    ] {
        assert!(names.contains(tool), "{tool} missing from {names:?}");
    }
    assert!(
        names.iter().all(|n| n.starts_with("everything_")),
        "{names:?}"
    );

    let echo = call_ok(client, "everything_echo", json!({"message": "hi there"})).await;
    assert_eq!(text(&echo), "Echo: hi there");
    let sum = call_ok(client, "everything_get-sum", json!({"a": 2, "b": 40})).await;
    assert_eq!(text(&sum), "The sum of 2 and 40 is 42.");

    let call = client
        .call(
            "everything_trigger-long-running-operation",
            json!({"duration": 0.3, "steps": 3}),
        )
        .await;
    assert!(
        text(call.ok()).starts_with("Long running operation completed."),
        "{}",
        text(call.ok())
    );
    let progress = call.progress();
    assert_eq!(progress.len(), 3, "{progress:?}");
    for (i, params) in progress.iter().enumerate() {
        assert_eq!(params["progressToken"], call.progress_token, "{params}");
        assert_eq!(
            params["progress"].as_f64(),
            Some(i as f64 + 1.0),
            "{params}"
        );
        assert_eq!(params["total"].as_f64(), Some(3.0), "{params}");
    }

    let uri = "upstream://everything/demo://resource/static/document/architecture.md";
    let resources: Vec<String> = client
        .peer
        .list_all_resources()
        .await
        .expect("resources/list")
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert!(resources.iter().any(|r| r == uri), "{resources:?}");
    assert!(
        resources
            .iter()
            .all(|r| r.starts_with("upstream://everything/")),
        "{resources:?}"
    );
    let (document, read_uri) = read_text(client, uri).await;
    let on_disk = std::fs::read_to_string(
        upstreams_dir()
            .join("node_modules/@modelcontextprotocol/server-everything/dist/docs/architecture.md"),
    )
    .expect("read architecture.md");
    assert_eq!(document, on_disk);
    assert_eq!(read_uri, uri);

    assert_eq!(
        prompt_text(client, "everything_args-prompt", json!({"city": "Paris"})).await,
        "What's weather in Paris?"
    );

    let ready = ready_line(&mut session.host, "everything").await;
    assert!(ready.contains("2025-11-25"), "the upstream's era: {ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_over_stdio_stdio_legacy() {
    everything_over_stdio(Link::Stdio, Era::Legacy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_over_stdio_http_modern() {
    everything_over_stdio(Link::Http, Era::Modern).await;
}

/// Upstreams over Streamable HTTP: server-everything (legacy era) and the
/// fixture (2026-07-28), whose list changes reach the host over HTTP too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_upstreams_in_both_eras() {
    let everything = tokio::task::block_in_place(EverythingHttp::start);
    let web = tokio::task::block_in_place(|| FixtureHttp::start("web"));
    let config = ConfigBuilder::new()
        .upstream("everything", &format!("url = \"{}\"", everything.url()))
        .upstream("web", &format!("url = \"{}\"", web.url()))
        .write();
    let mut session = connect(&config, Link::Stdio, Era::Modern).await;
    let client = &session.client;

    let names = tool_names(client).await;
    assert!(
        names.contains(&"everything_get-sum".to_owned()),
        "{names:?}"
    );
    assert_eq!(
        tool_names_with(client, "web_").await,
        prefixed("web", &FIXTURE_TOOLS)
    );
    let sum = call_ok(client, "everything_get-sum", json!({"a": 1, "b": 2})).await;
    assert_eq!(text(&sum), "The sum of 1 and 2 is 3.");
    let (name, _) = whoami(client, "web_whoami").await;
    assert_eq!(name, "web");
    let (greeting, _) = read_text(client, "upstream://web/fixture://greeting").await;
    assert_eq!(greeting, "hello from web");

    let mut subscription = client
        .peer
        .listen(SubscriptionFilter::builder().tools_list_changed().build())
        .await
        .expect("subscriptions/listen");
    call_ok(client, "web_add_tool", json!({"name": "late"})).await;
    let notification = tokio::time::timeout(PATIENCE, subscription.next())
        .await
        .expect("a list change in time")
        .expect("the subscription works")
        .expect("the subscription is open");
    assert!(
        matches!(
            notification,
            ServerNotification::ToolListChangedNotification(_)
        ),
        "{notification:?}"
    );
    let late = call_ok(client, "web_late", json!({"text": "over http"})).await;
    assert_eq!(text(&late), "over http");

    let ready = ready_line(&mut session.host, "web").await;
    assert!(ready.contains("2026-07-28"), "the fixture's era: {ready}");
    let ready = ready_line(&mut session.host, "everything").await;
    assert!(ready.contains("2025-11-25"), "everything's era: {ready}");
}

/// mcp-server-time (Python `mcp`) over stdio, with `expose` picking one of
/// its two tools: structured content comes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_server_answers_with_structured_content() {
    let config = ConfigBuilder::new()
        .upstream(
            "time",
            &format!(
                "command = {}\nexpose = [\"get_*\"]",
                toml_array(&time_stdio_command())
            ),
        )
        .write();
    let session = connect(&config, Link::Http, Era::Legacy).await;
    let client = &session.client;
    assert_eq!(tool_names(client).await, ["time_get_current_time"]);
    let result = call_ok(client, "time_get_current_time", json!({"timezone": "UTC"})).await;
    let structured = result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("no structured content: {}", text(&result)));
    assert_eq!(structured["timezone"], "UTC", "{structured}");
    assert!(structured["datetime"].is_string(), "{structured}");
    let hidden = client
        .call(
            "time_convert_time",
            json!({"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"}),
        )
        .await;
    assert_eq!(hidden.jsonrpc_error().code, ErrorCode::INVALID_PARAMS);
}

// ------------------------------------------------------------ credentials

/// A child upstream gets the host's basic variables and what `env` gives
/// it (with `${VAR}` expanded from the host's environment), nothing else of
/// the host's environment; an unset `${VAR}` is a config error naming the
/// key and its line.
#[test]
fn upstream_env_carries_given_credentials_and_nothing_else() {
    const SECRET: &str = "xyz-e2e-secret-4711";
    let config = ConfigBuilder::new()
        .upstream(
            "everything",
            &format!(
                "command = {}\nenv = {{ GIVEN = \"token ${{SWITCHBOARD_E2E_SECRET}}\" }}",
                toml_array(&everything_stdio_command())
            ),
        )
        .write();
    let output = cli_command(&config, &["call", "everything_get-env", "{}"])
        .env("SWITCHBOARD_E2E_SECRET", SECRET)
        .env("SWITCHBOARD_E2E_OTHER", "not for children")
        .output()
        .expect("run switchboard call");
    let call = CliOutput {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    call.assert_success();
    let result: Value =
        serde_json::from_str(&call.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{call}"));
    let env_text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text block:\n{call}"));
    let env: Map<String, Value> =
        serde_json::from_str(env_text).unwrap_or_else(|e| panic!("env as JSON ({e}):\n{call}"));
    assert_eq!(env.get("GIVEN"), Some(&json!(format!("token {SECRET}"))));
    let allowed = [
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "GIVEN",
    ];
    let extra: Vec<&String> = env
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "the child got host variables it was not given: {extra:?}"
    );
    assert!(
        !call.stderr.contains(SECRET),
        "the secret reached the host's log:\n{call}"
    );

    let unset = ConfigBuilder::new().upstream(
        "web",
        "url = \"http://127.0.0.1:9/mcp\"\nheaders = { Authorization = \"Bearer ${SWITCHBOARD_E2E_UNSET_TOKEN}\" }",
    );
    let line = unset
        .render()
        .lines()
        .position(|l| l.starts_with("headers"))
        .expect("the headers line")
        + 1;
    let check = run_cli(&unset.write(), &["check"]);
    check.assert_failure();
    assert_line(
        &check.stderr,
        &[
            "upstreams.web.headers.Authorization",
            "SWITCHBOARD_E2E_UNSET_TOKEN",
            "not set",
            &format!("switchboard.toml:{line}:"),
        ],
    );
}
