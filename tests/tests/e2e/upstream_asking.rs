//! An upstream's questions during a call (2025-11-25 `sampling/createMessage`,
//! `elicitation/create`, `roots/list`) reach the client of that call in the
//! client's era: as requests on a 2025-11-25 session, as `input_required`
//! rounds for a 2026-07-28 client (the host runs the upstream call again
//! with the answers). A 2026-07-28 upstream's own `input_required` rounds
//! bridge the same way. Each kind is off unless the admin grants it. Its logs
//! during the call reach that client too, attributed to it. Both with the
//! upstream fixture and with `@modelcontextprotocol/server-everything`.

use std::time::Instant;

use rmcp::model::LoggingLevel;
use serde_json::{Value, json};
use switchboard_e2e::answering::{
    AnsweringClient, AnsweringSession, CLIENT_ROOT, connect_answering, sampled_reply,
};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::{everything_stdio_command, fixture_stdio_command};
use switchboard_e2e::{
    ConfigBuilder, ConfigFile, Era, Link, PATIENCE, connect, log_level_meta, text,
};

/// The upstream fixture as `up`, speaking 2025-11-25 (whose servers send
/// requests), with `grants`.
fn config(grants: &str) -> ConfigFile {
    config_in(Era::Legacy, grants)
}

/// The upstream fixture as `up`, speaking `era`, with `grants`.
fn config_in(era: Era, grants: &str) -> ConfigFile {
    let mut command = fixture_stdio_command("up");
    if era == Era::Legacy {
        command.push("--legacy".to_owned());
    }
    ConfigBuilder::new()
        .upstream(
            "up",
            &format!("command = {}\n{grants}", toml_array(&command)),
        )
        .write()
}

/// `up_ask` of `kind`: (whether it failed, its text).
async fn ask(session: &AnsweringSession, kind: &str, prompt: &str) -> (bool, String) {
    call(session, "up_ask", json!({"kind": kind, "prompt": prompt})).await
}

/// Calls `tool`: (whether it failed, its text).
async fn call(session: &AnsweringSession, tool: &str, arguments: Value) -> (bool, String) {
    let result = session.call(tool, arguments).await;
    (result.is_error == Some(true), text(&result))
}

fn asked(session: &AnsweringSession) -> Vec<String> {
    session
        .client
        .asked()
        .into_iter()
        .map(|(method, _)| method)
        .collect()
}

/// The client was asked sampling, elicitation and roots once each, in that
/// order: on its session (2025-11-25), or in one `input_required` round of
/// its own per question (2026-07-28).
fn assert_asked_once_each(session: &AnsweringSession, era: Era) {
    assert_eq!(
        asked(session),
        ["sampling/createMessage", "elicitation/create", "roots/list"]
    );
    let rounds = session.input_required_rounds();
    match era {
        Era::Legacy => assert_eq!(rounds, 0),
        Era::Modern => assert_eq!(rounds, 3, "one input_required round per question"),
    }
}

/// Granted, each question reaches the client once and its answer goes back
/// to the upstream: the model's reply, the form, the client's roots.
pub async fn upstreams_ask_the_client(link: Link, era: Era) {
    let config = config("grants = { sampling = true, elicitation = true, roots = true }");
    let client = AnsweringClient::new(era, json!({"name": "Ada"}));
    let session = connect_answering(&config, link, era, client).await;

    let (failed, sampled) = ask(&session, "sampling", "hello upstream").await;
    assert!(!failed, "{sampled}");
    assert!(
        sampled.contains(&sampled_reply("hello upstream")),
        "{sampled}"
    );

    let (failed, elicited) = ask(&session, "elicitation", "Your name?").await;
    assert!(!failed, "{elicited}");
    let elicited: Value = serde_json::from_str(&elicited).expect("the form's answer as JSON");
    assert_eq!(elicited["action"], "accept");
    assert_eq!(elicited["content"]["name"], "Ada");

    let (failed, roots) = ask(&session, "roots", "").await;
    assert!(!failed, "{roots}");
    assert!(roots.contains(CLIENT_ROOT), "{roots}");

    assert_asked_once_each(&session, era);
}

/// Ungranted, a question never reaches the client and the upstream's call
/// learns why.
pub async fn ungranted_upstream_questions_are_refused(link: Link, era: Era) {
    let config = config("grants = { roots = true }");
    let client = AnsweringClient::new(era, json!({"name": "Ada"}));
    let session = connect_answering(&config, link, era, client).await;
    let (failed, message) = ask(&session, "sampling", "hello").await;
    assert!(failed, "{message}");
    assert!(message.contains("sampling"), "{message}");
    assert!(asked(&session).is_empty(), "{:?}", asked(&session));
    // The granted kind still works.
    let (failed, roots) = ask(&session, "roots", "").await;
    assert!(!failed, "{roots}");
    assert!(roots.contains(CLIENT_ROOT), "{roots}");
}

/// The upstream's `notifications/message` during a call reach the call's
/// client with logger `up/fixture`, at the levels the client asked for
/// (2025-11-25: everything until `logging/setLevel`; 2026-07-28: the
/// request's `logLevel`).
pub async fn upstream_logs_reach_the_client(link: Link, era: Era) {
    let config = config("");
    let session = connect(&config, link, era).await;
    let client = &session.client;
    let level = match era {
        Era::Legacy => None,
        Era::Modern => Some(log_level_meta(LoggingLevel::Warning)),
    };
    let mark = client.wire.mark();
    let call = client
        .call_with_meta("up_log", json!({"message": "from upstream"}), level)
        .await;
    assert_eq!(text(call.ok()), "logged");
    let expected: &[&str] = match era {
        Era::Legacy => &["debug", "info", "warning", "error"],
        Era::Modern => &["warning", "error"],
    };
    let started = Instant::now();
    loop {
        let logs: Vec<Value> = client
            .wire
            .received_since(mark)
            .into_iter()
            .filter(|m| m["method"] == "notifications/message")
            .map(|m| m["params"].clone())
            .collect();
        for log in &logs {
            assert_eq!(log["logger"], "up/fixture", "{log}");
            assert_eq!(log["data"], "from upstream", "{log}");
        }
        // rmcp hands each notification to a task of its own, so they may
        // arrive in any order.
        let mut levels: Vec<&str> = logs.iter().filter_map(|l| l["level"].as_str()).collect();
        levels.sort_unstable();
        let mut wanted = expected.to_vec();
        wanted.sort_unstable();
        if levels == wanted {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the upstream's logs at {expected:?} did not all arrive: {logs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// server-everything (2025-11-25 only) as `everything`, granted all three:
/// it registers its sampling, elicitation and roots tools once it sees the
/// host declare them, and each one's question reaches the client.
pub async fn everything_asks_the_client(link: Link, era: Era) {
    let config = ConfigBuilder::new()
        .upstream(
            "everything",
            &format!(
                "command = {}\ngrants = {{ sampling = true, elicitation = true, roots = true }}",
                toml_array(&everything_stdio_command())
            ),
        )
        .write();
    let client = AnsweringClient::new(era, json!({"name": "Ada", "check": true}));
    let session = connect_answering(&config, link, era, client).await;
    let tools = [
        "everything_trigger-sampling-request",
        "everything_trigger-elicitation-request",
        "everything_get-roots-list",
    ];
    let started = Instant::now();
    loop {
        let listed = session.peer.list_all_tools().await.expect("tools/list");
        let names: Vec<&str> = listed.iter().map(|t| t.name.as_ref()).collect();
        if tools.iter().all(|tool| names.contains(tool)) {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "server-everything never offered {tools:?}: {names:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let (failed, sampled) = call(
        &session,
        "everything_trigger-sampling-request",
        json!({"prompt": "hello everything"}),
    )
    .await;
    assert!(!failed, "{sampled}");
    assert!(sampled.contains("model says: "), "{sampled}");
    assert!(sampled.contains("hello everything"), "{sampled}");

    let (failed, elicited) = call(
        &session,
        "everything_trigger-elicitation-request",
        json!({}),
    )
    .await;
    assert!(!failed, "{elicited}");
    assert!(elicited.contains("Ada"), "{elicited}");

    let (failed, roots) = call(&session, "everything_get-roots-list", json!({})).await;
    assert!(!failed, "{roots}");
    assert!(roots.contains(CLIENT_ROOT), "{roots}");

    let asked = asked(&session);
    for method in ["sampling/createMessage", "elicitation/create", "roots/list"] {
        assert!(
            asked.iter().any(|m| m == method),
            "{method} never reached the client: {asked:?}"
        );
    }
}

/// A 2026-07-28 upstream asks in `input_required` rounds, one question per
/// round, its answers so far in its `requestState`: the host asks the
/// client each (a 2025-11-25 session at once; a 2026-07-28 client in
/// rounds of its own) and the upstream gets every answer.
pub async fn modern_upstreams_ask_in_rounds(link: Link, era: Era) {
    let config = config_in(
        Era::Modern,
        "grants = { sampling = true, elicitation = true, roots = true }",
    );
    let client = AnsweringClient::new(era, json!({"name": "Ada"}));
    let session = connect_answering(&config, link, era, client).await;
    let (failed, summary) = call(
        &session,
        "up_ask_in_rounds",
        json!({"kinds": ["sampling", "elicitation", "roots"]}),
    )
    .await;
    assert!(!failed, "{summary}");
    assert!(
        summary.contains(&sampled_reply("a question in rounds")),
        "{summary}"
    );
    assert!(summary.contains("\"Ada\""), "{summary}");
    assert!(summary.contains(CLIENT_ROOT), "{summary}");
    assert_asked_once_each(&session, era);
}
