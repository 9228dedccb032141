//! MCP behaviour, each scenario run over stdio and HTTP in both protocol
//! eras (see `each_link_and_era!` in main.rs).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rmcp::model::{ErrorCode, LoggingLevel, PaginatedRequestParams, SetLevelRequestParams};
use rmcp::service::ServiceError;
use serde_json::{Value, json};
use switchboard_e2e::{
    ConfigBuilder, Era, Fixture, Host, Link, McpClient, PATIENCE, Session, assert_tool_error,
    connect, log_level_meta, text,
};

/// The testkit's tools, as the plugin names them.
const TESTKIT_TOOLS: [&str; 13] = [
    "add",
    "bad_output",
    "call",
    "client_roots",
    "echo",
    "host_tools",
    "instance_calls",
    "log",
    "memory_bomb",
    "progress",
    "spin",
    "strict",
    "trap",
];

/// A host with the testkit as `kit` (10 s timeout, 32 MiB) and a client.
async fn testkit_session(link: Link, era: Era) -> Session {
    connect(&ConfigBuilder::testkit(10_000).write(), link, era).await
}

/// tools/list: every page at most `page_size`, the cursors lead through the
/// whole catalog once, names sorted and prefixed as configured, schemas
/// intact; a bad cursor is a JSON-RPC error.
pub async fn lists_tools_in_pages(link: Link, era: Era) {
    // The testkit three times: default prefix (`kit_`), another prefix, none.
    let config = ConfigBuilder::testkit(10_000)
        .server("page_size = 3")
        .plugin("second", Fixture::Testkit.path(), r#"prefix = "t2""#)
        .plugin("bare", Fixture::Testkit.path(), r#"prefix = """#)
        .write();
    let session = connect(&config, link, era).await;
    let peer = &session.client.peer;

    let mut tools = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = peer
            .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
            .await
            .expect("tools/list");
        pages += 1;
        assert!(
            (1..=3).contains(&page.tools.len()),
            "page {pages} has {} tools",
            page.tools.len()
        );
        tools.extend(page.tools);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
        assert!(pages < 100, "the cursors do not end");
    }

    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    let mut expected: Vec<String> = TESTKIT_TOOLS
        .iter()
        .flat_map(|tool| {
            [
                tool.to_string(),
                format!("kit_{tool}"),
                format!("t2_{tool}"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(names, expected, "all tools once, sorted by name");
    assert_eq!(pages, expected.len().div_ceil(3));
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        names.len(),
        "duplicates"
    );

    let by_name = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).expect("listed");
        serde_json::to_value(tool).expect("a tool serializes")
    };
    for tool in &tools {
        let schema = serde_json::to_value(&tool.input_schema).expect("a schema serializes");
        assert_eq!(
            schema["type"], "object",
            "{}: input schema {schema}",
            tool.name
        );
    }
    let echo = by_name("kit_echo");
    assert_eq!(echo["title"], "Echo");
    assert_eq!(echo["inputSchema"]["required"], json!(["text"]));
    assert_eq!(echo["annotations"]["readOnlyHint"], true);
    assert_eq!(
        by_name("kit_add")["outputSchema"],
        json!({"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]})
    );
    assert!(by_name("kit_echo").get("outputSchema").is_none());

    let error = peer
        .list_tools(Some(
            PaginatedRequestParams::default().with_cursor(Some("not-a-cursor".into())),
        ))
        .await
        .expect_err("a made-up cursor is refused");
    let ServiceError::McpError(error) = error else {
        panic!("expected a JSON-RPC error, got {error:?}");
    };
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
    assert!(error.message.contains("cursor"), "{error:?}");
}

/// tools/call returns the plugin's text unchanged (non-ASCII included).
pub async fn echo(link: Link, era: Era) {
    let session = testkit_session(link, era).await;
    let call = session
        .client
        .call("kit_echo", json!({"text": "héllo wörld ✓"}))
        .await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true));
    assert_eq!(text(result), "héllo wörld ✓");
}

/// A tool with an output schema returns structured content.
pub async fn structured_output(link: Link, era: Era) {
    let session = testkit_session(link, era).await;
    let call = session
        .client
        .call("kit_add", json!({"a": 1, "b": 2}))
        .await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true), "{}", text(result));
    assert_eq!(result.structured_content, Some(json!({"sum": 3})));
    assert_eq!(
        serde_json::from_str::<Value>(&text(result)).ok(),
        Some(json!({"sum": 3}))
    );
}

/// Progress reported by the plugin reaches the client, in order, with the
/// request's token, before the result.
pub async fn progress(link: Link, era: Era) {
    let session = testkit_session(link, era).await;
    let call = session
        .client
        .call("kit_progress", json!({"steps": 3}))
        .await;
    assert_eq!(text(call.ok()), "done");
    assert_eq!(
        call.progress(),
        call.expected_steps(3),
        "progress notifications before the result"
    );
}

/// The levels of the log messages with data `message` received since
/// `mark`, once the last one `kit_log` sends (level error) has arrived.
/// (Legacy HTTP sends log messages on the session's standalone stream, so
/// they may arrive after the call's result.)
async fn logs_of(client: &McpClient, mark: usize, message: &str) -> Vec<String> {
    let started = Instant::now();
    loop {
        let logs: Vec<Value> = client
            .wire
            .received_since(mark)
            .into_iter()
            .filter(|m| m["method"] == "notifications/message" && m["params"]["data"] == message)
            .map(|m| m["params"].clone())
            .collect();
        if logs.iter().any(|l| l["level"] == "error") {
            for log in &logs {
                assert_eq!(log["logger"], "kit", "{log}");
            }
            return logs
                .iter()
                .map(|l| l["level"].as_str().unwrap_or("?").to_owned())
                .collect();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no error-level log for {message:?}: {logs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The plugin logs at debug, info, warning and error. Legacy sessions get
/// every level until `logging/setLevel`; 2026-07-28 requests get logs only
/// when their `_meta` asks for a level.
pub async fn logging(link: Link, era: Era) {
    let session = testkit_session(link, era).await;
    let client = &session.client;
    let log = |message: &str, level: Option<LoggingLevel>| {
        let message = message.to_owned();
        async move {
            let mark = client.wire.mark();
            let call = client
                .call_with_meta(
                    "kit_log",
                    json!({"message": message}),
                    level.map(log_level_meta),
                )
                .await;
            assert_ne!(call.ok().is_error, Some(true), "{}", text(call.ok()));
            mark
        }
    };
    match era {
        Era::Legacy => {
            let mark = log("by default", None).await;
            assert_eq!(
                logs_of(client, mark, "by default").await,
                ["debug", "info", "warning", "error"]
            );
            client
                .peer
                .set_level(SetLevelRequestParams::new(LoggingLevel::Warning))
                .await
                .expect("logging/setLevel");
            let mark = log("after setLevel", None).await;
            assert_eq!(
                logs_of(client, mark, "after setLevel").await,
                ["warning", "error"]
            );
        }
        Era::Modern => {
            let unasked = log("not asked for", None).await;
            let mark = log("warning and up", Some(LoggingLevel::Warning)).await;
            assert_eq!(
                logs_of(client, mark, "warning and up").await,
                ["warning", "error"]
            );
            let mark = log("everything", Some(LoggingLevel::Debug)).await;
            assert_eq!(
                logs_of(client, mark, "everything").await,
                ["debug", "info", "warning", "error"]
            );
            // Had the first call logged, it would have arrived by now.
            let stray: Vec<Value> = client
                .wire
                .received_since(unasked)
                .into_iter()
                .filter(|m| m["params"]["data"] == "not asked for")
                .collect();
            assert!(stray.is_empty(), "logs nobody asked for: {stray:?}");
        }
    }
}

/// Waits until the host has used 300 ms of CPU since `before`: proof that a
/// spinning call is running (and that CPU time measures it).
pub async fn wait_until_spinning(host: &Host, before: Duration) {
    let started = Instant::now();
    while host.cpu_time() < before + Duration::from_millis(300) {
        assert!(
            started.elapsed() < PATIENCE,
            "the spin never used CPU; stderr:\n{}",
            host.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts a cancelled call really stopped: the audit log says `tool` was
/// `cancelled`, and the host no longer burns CPU.
pub async fn assert_spin_was_stopped(host: &mut Host, tool: &str) {
    let tool_field = format!(r#"name="{tool}""#);
    host.wait_for_stderr_line(
        |line| {
            line.contains("switchboard::audit")
                && line.contains(&tool_field)
                && line.contains(r#"outcome="cancelled""#)
        },
        &format!("the audit line of the cancelled {tool}"),
    )
    .await;
    // An idle host uses next to no CPU (0 ms a second, measured); a plugin
    // still spinning would use a good part of a core even on a busy machine.
    let window = Duration::from_secs(1);
    let before = host.cpu_time();
    tokio::time::sleep(window).await;
    let used = host.cpu_time() - before;
    assert!(
        used < window / 10,
        "the host used {used:?} of CPU in {window:?} after cancelling {tool}: a plugin is still running"
    );
}

/// Cancelling (`notifications/cancelled`) a call to a plugin stuck in a
/// loop stops the plugin, and the host keeps serving.
pub async fn cancellation_stops_the_plugin(link: Link, era: Era) {
    let mut session = connect(&ConfigBuilder::testkit(60_000).write(), link, era).await;
    let before = session.host.cpu_time();
    let call = session.client.start_call("kit_spin", json!({}), None).await;
    wait_until_spinning(&session.host, before).await;
    call.cancel(Some("the e2e test cancels".into()))
        .await
        .expect("send notifications/cancelled");
    assert_spin_was_stopped(&mut session.host, "kit_spin").await;
    session.client.assert_echo_works().await;
}

/// `kit` may call `t2_echo`, `t2_progress`, `t2_spin` (another testkit) and
/// itself; nothing else.
async fn chaining_session(link: Link, era: Era) -> Session {
    let config = ConfigBuilder::new()
        .plugin(
            "kit",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 60000 }\n\
             grants.tools = [\"t2_echo\", \"t2_progress\", \"t2_spin\", \"kit_echo\"]",
        )
        .plugin(
            "second",
            Fixture::Testkit.path(),
            "prefix = \"t2\"\nlimits = { timeout_ms = 60000 }",
        )
        .write();
    connect(&config, link, era).await
}

/// A plugin calls the tools it was granted through the host, and only
/// those; cycles are refused; progress from the far end of the chain reaches
/// the client that made the outer call.
pub async fn chaining_respects_grants(link: Link, era: Era) {
    let session = chaining_session(link, era).await;
    let client = &session.client;

    let granted = client
        .call(
            "kit_call",
            json!({"name": "t2_echo", "arguments": {"text": "via the host"}}),
        )
        .await;
    assert_ne!(granted.ok().is_error, Some(true), "{}", text(granted.ok()));
    assert_eq!(text(granted.ok()), "via the host");

    let listed = client.call("kit_host_tools", json!({})).await;
    let mut names: Vec<String> = serde_json::from_str(&text(listed.ok())).expect("a JSON array");
    names.sort();
    assert_eq!(names, ["kit_echo", "t2_echo", "t2_progress", "t2_spin"]);

    let denied = client
        .call(
            "kit_call",
            json!({"name": "t2_add", "arguments": {"a": 1, "b": 2}}),
        )
        .await;
    assert_tool_error(denied.ok(), &["denied", "t2_add", "t2_echo"]);

    let cycle = client
        .call(
            "kit_call",
            json!({"name": "kit_echo", "arguments": {"text": "loop"}}),
        )
        .await;
    assert_tool_error(cycle.ok(), &["denied", "cycle", "kit"]);

    let progress = client
        .call(
            "kit_call",
            json!({"name": "t2_progress", "arguments": {"steps": 2}}),
        )
        .await;
    assert_eq!(text(progress.ok()), "done");
    let steps: Vec<&Value> = progress
        .notifications("notifications/progress")
        .into_iter()
        .map(|n| &n["params"]["message"])
        .collect();
    assert_eq!(steps, [&json!("step 1"), &json!("step 2")]);
}

/// Cancelling the outer call stops the plugin it called through the host.
pub async fn cancellation_reaches_chained_calls(link: Link, era: Era) {
    let mut session = chaining_session(link, era).await;
    let before = session.host.cpu_time();
    let call = session
        .client
        .start_call("kit_call", json!({"name": "t2_spin"}), None)
        .await;
    wait_until_spinning(&session.host, before).await;
    call.cancel(Some("the e2e test cancels".into()))
        .await
        .expect("send notifications/cancelled");
    assert_spin_was_stopped(&mut session.host, "t2_spin").await;
    session.client.assert_echo_works_as("t2_echo").await;
}

/// Everything that goes wrong running a tool comes back as an `isError`
/// result naming what happened (an unknown tool is a JSON-RPC error), and
/// after each the same client is still served.
pub async fn tool_failures_are_results_and_the_host_keeps_serving(link: Link, era: Era) {
    let config = ConfigBuilder::testkit(10_000)
        .plugin(
            "tight",
            Fixture::Testkit.path(),
            "limits = { timeout_ms = 500, memory_mb = 32 }",
        )
        .write();
    let session = connect(&config, link, era).await;
    let client = &session.client;

    let call = client.call("kit_nope", json!({})).await;
    let error = call.jsonrpc_error();
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
    assert!(error.message.contains("kit_nope"), "{error:?}");
    client.assert_echo_works().await;

    let cases: [(&str, Value, &[&str]); 6] = [
        // Arguments the input schema refuses.
        (
            "kit_strict",
            json!({"count": 0, "mode": "a"}),
            &["invalid arguments", "kit_strict", "/count", "minimum"],
        ),
        // The plugin panics: its instance traps.
        (
            "kit_trap",
            json!({}),
            &["plugin `kit`", "trap", "fixture panic"],
        ),
        // An endless loop under a 500 ms limit.
        (
            "tight_spin",
            json!({}),
            &["plugin `tight`", "spin", "timed out", "500 ms"],
        ),
        // Allocates until the 32 MiB cap.
        (
            "kit_memory_bomb",
            json!({}),
            &["plugin `kit`", "memory_bomb", "ran out of memory", "32 MiB"],
        ),
        // Structured content that breaks the tool's own output schema.
        (
            "kit_bad_output",
            json!({}),
            &["kit_bad_output", "output schema", "/sum"],
        ),
        // A plugin calling a tool it was not granted.
        (
            "kit_call",
            json!({"name": "kit_echo"}),
            &["denied", "kit_echo", "no tools are granted"],
        ),
    ];
    for (tool, arguments, needles) in cases {
        let call = client.call(tool, arguments).await;
        let result = call.result.as_ref().unwrap_or_else(|e| {
            panic!("{tool}: expected an isError result, got the JSON-RPC error {e}")
        });
        assert_tool_error(result, needles);
        client.assert_echo_works().await;
    }
}

/// An SDK plugin's `Option<T>` arguments: the listed schema has no `type`
/// array, and a client may leave them out or send `null` (many send `null`
/// for "not given"); the host's argument check accepts both alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_sdk_arguments_may_be_left_out_or_null() {
    let config = ConfigBuilder::new()
        .plugin("codec", Fixture::Codec.path(), "")
        .write();
    let session = connect(&config, Link::Http, Era::Modern).await;
    let tools = session
        .client
        .peer
        .list_all_tools()
        .await
        .expect("tools/list");
    let hash = tools
        .iter()
        .find(|t| t.name == "codec_hash")
        .expect("codec_hash is listed");
    let schema = Value::Object((*hash.input_schema).clone());
    assert_eq!(
        schema["properties"]["algorithm"]["anyOf"][1],
        json!({"type": "null"}),
        "{schema:#}"
    );
    assert!(
        !schema.to_string().contains(r#""type":["#),
        "no type arrays: {schema:#}"
    );
    let left_out = session
        .client
        .call("codec_hash", json!({"input": "abc"}))
        .await;
    let left_out = text(left_out.ok());
    let null = session
        .client
        .call(
            "codec_hash",
            json!({"input": "abc", "algorithm": null, "output_format": null}),
        )
        .await;
    assert_eq!(text(null.ok()), left_out);
    assert!(
        left_out.contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "sha256 of abc in hex: {left_out}"
    );
}
