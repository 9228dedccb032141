//! Plugins asking the client of the request for input (sampling,
//! elicitation, roots) through `host.ask`: carried to a 2025-11-25 client as
//! requests on its session, and to a 2026-07-28 client as `input_required`
//! rounds that rmcp's client fulfils and retries, with the round's answers
//! in a signed `requestState`.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorCode, GetPromptRequestParams, InputResponses,
};
use rmcp::service::ServiceError;
use serde_json::{Value, json};
use switchboard_e2e::answering::{
    AnsweringClient, AnsweringSession, CLIENT_ROOT, connect_answering, sampled_reply,
};
use switchboard_e2e::{ConfigBuilder, Era, Fixture, Link, connect, text};

/// The conformance fixture as `fx`, granted all three kinds of question.
fn config() -> switchboard_e2e::ConfigFile {
    ConfigBuilder::new()
        .plugin(
            "fx",
            Fixture::Conformance.path(),
            "grants.sampling = true\ngrants.elicitation = true\ngrants.roots = true",
        )
        .write()
}

/// What the answering client's user fills into every form.
fn form() -> Value {
    json!({"name": "Ada", "color": "teal", "username": "ada", "email": "ada@example.com", "context": "notes"})
}

/// Requests the host sent the client on its session.
fn requests_from_host(session: &AnsweringSession) -> Vec<String> {
    session
        .wire
        .received_since(0)
        .iter()
        .filter(|m| m.get("id").is_some() && m.get("method").is_some())
        .filter_map(|m| m["method"].as_str().map(str::to_owned))
        .collect()
}

/// One question of each kind, several in one round, two rounds in a row,
/// and a prompt that asks: every answer reaches the plugin, by the era's
/// own mechanism.
pub async fn plugins_ask_the_client(link: Link, era: Era) {
    let config = config();
    let client = AnsweringClient::new(era, form());
    let session = connect_answering(&config, link, era, client).await;

    let sampled = session
        .call_ok("fx_test_sampling", json!({"prompt": "hello"}))
        .await;
    assert_eq!(sampled, format!("LLM response: {}", sampled_reply("hello")));
    let elicited = session
        .call_ok("fx_test_elicitation", json!({"message": "Who?"}))
        .await;
    assert!(
        elicited.starts_with("User response: action=accept")
            && elicited.contains(r#""username":"ada""#),
        "{elicited}"
    );
    let all = session
        .call_ok("fx_test_input_required_result_multiple_inputs", json!({}))
        .await;
    assert!(
        all.contains(r#""name":"Ada""#)
            && all.contains(&sampled_reply("Generate a greeting"))
            && all.contains(CLIENT_ROOT),
        "{all}"
    );
    let two_steps = session
        .call_ok("fx_test_input_required_result_multi_round", json!({}))
        .await;
    assert_eq!(two_steps, "Ada likes teal");

    let prompt = session
        .peer
        .get_prompt(GetPromptRequestParams::new(
            "fx_test_input_required_result_prompt",
        ))
        .await
        .expect("the asking prompt renders");
    let rendered = serde_json::to_value(&prompt.messages).expect("messages serialize");
    assert_eq!(rendered[0]["content"]["text"], "Use this context: notes");

    let asked: Vec<String> = session.client.asked().into_iter().map(|(m, _)| m).collect();
    // sampling, elicitation, (elicitation, sampling, roots), step1, step2, prompt
    assert_eq!(asked.len(), 8, "{asked:?}");
    match era {
        Era::Legacy => {
            assert_eq!(
                session.input_required_rounds(),
                0,
                "no input_required in a session"
            );
            assert_eq!(requests_from_host(&session).len(), 8);
        }
        Era::Modern => {
            assert!(
                requests_from_host(&session).is_empty(),
                "a stateless client gets no requests"
            );
            // One round per asking call, two for the two-step one.
            assert_eq!(session.input_required_rounds(), 6);
        }
    }
}

/// The round's `requestState` is the host's signature over the answers and
/// the request: echoed as is it completes the call, altered it is refused,
/// and on another tool it is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_request_state_is_refused() {
    let config = config();
    let client = AnsweringClient::new(Era::Modern, form());
    let session = connect_answering(&config, Link::Http, Era::Modern, client).await;
    let params = || CallToolRequestParams::new("fx_test_input_required_result_multi_round");
    let first = session
        .peer
        .call_tool_once(params())
        .await
        .expect("round 1");
    let CallToolResponse::InputRequired(first) = first else {
        panic!("expected input_required, got {first:?}");
    };
    let mut answers = InputResponses::new();
    answers.insert(
        "step1".into(),
        json!({"action": "accept", "content": {"name": "Ada"}}),
    );
    let state = first.request_state.expect("a state");
    let second = session
        .peer
        .call_tool_once(
            params()
                .with_input_responses(answers)
                .with_request_state(state.clone()),
        )
        .await
        .expect("round 2");
    let CallToolResponse::InputRequired(second) = second else {
        panic!("expected a second round, got {second:?}");
    };
    assert!(
        second
            .input_requests
            .expect("questions")
            .contains_key("step2")
    );
    let carried = second.request_state.expect("the state of round 2");
    assert_ne!(carried, state, "round 2 carries step1's answer");

    let mut color = InputResponses::new();
    color.insert(
        "step2".into(),
        json!({"action": "accept", "content": {"color": "teal"}}),
    );
    let mut tampered = carried.clone().into_bytes();
    tampered[3] ^= 1;
    let tampered = String::from_utf8(tampered).expect("still text");
    for (state, what) in [
        (tampered, "altered"),
        (carried.clone(), "moved to another tool"),
    ] {
        let name = if what == "altered" {
            "fx_test_input_required_result_multi_round"
        } else {
            "fx_test_input_required_result_request_state"
        };
        let outcome = session
            .peer
            .call_tool_once(
                CallToolRequestParams::new(name)
                    .with_input_responses(color.clone())
                    .with_request_state(state),
            )
            .await;
        match outcome {
            Err(ServiceError::McpError(error)) => {
                assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{what}: {error:?}");
                assert!(
                    error.message.contains("requestState"),
                    "{what}: {}",
                    error.message
                );
            }
            other => panic!("a state {what} was accepted: {other:?}"),
        }
    }
    let done = session
        .peer
        .call_tool_once(
            params()
                .with_input_responses(color)
                .with_request_state(carried),
        )
        .await
        .expect("round 3");
    let CallToolResponse::Complete(done) = done else {
        panic!("expected the result, got {done:?}");
    };
    assert_eq!(text(&done), "Ada likes teal");
}

/// A client that declared none of the capabilities: each question fails on
/// its own, naming the capability, and a 2026-07-28 request that fails for
/// it answers -32021 with `requiredCapabilities`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_capability_is_named() {
    let config = config();
    let legacy = connect(&config, Link::Http, Era::Legacy).await;
    let refused = legacy
        .client
        .call("fx_test_missing_capability", json!({}))
        .await;
    switchboard_e2e::assert_tool_error(
        refused.ok(),
        &["did not declare the `sampling` capability"],
    );

    let modern = switchboard_e2e::connect_http(legacy.host.url(), Era::Modern).await;
    let outcome = modern
        .peer
        .call_tool(CallToolRequestParams::new("fx_test_missing_capability"))
        .await;
    match outcome {
        Err(ServiceError::McpError(error)) => {
            assert_eq!(
                error.code,
                ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                "{error:?}"
            );
            let data = error.data.expect("data");
            assert_eq!(
                data["requiredCapabilities"]["sampling"],
                json!({}),
                "{data}"
            );
        }
        other => panic!("expected -32021, got {other:?}"),
    }
}
