//! What a `switchboard:plugin@0.2.0` plugin serves besides tools:
//! resources, resource templates, prompts and completions, under the names
//! and URIs the admin's prefix gives them, over every link and era.

use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, ErrorCode, GetPromptRequestParams,
    ReadResourceRequestParams, Reference,
};
use rmcp::service::ServiceError;
use serde_json::{Map, Value, json};
use switchboard_e2e::{
    ConfigBuilder, Era, Fixture, Link, McpClient, assert_tool_error, connect, run_cli, text,
};

/// The conformance fixture twice: as `fx` (namespaced URIs, `fx_` names)
/// and as `own` with an empty prefix (its own names and URIs).
fn config() -> switchboard_e2e::ConfigFile {
    ConfigBuilder::new()
        .plugin("fx", Fixture::Conformance.path(), "")
        .plugin("own", Fixture::Conformance.path(), r#"prefix = """#)
        .write()
}

async fn read(client: &McpClient, uri: &str) -> Result<Value, ServiceError> {
    let result = client
        .peer
        .read_resource(ReadResourceRequestParams::new(uri.to_owned()))
        .await?;
    Ok(serde_json::to_value(&result.contents).expect("contents serialize"))
}

fn request_error(error: ServiceError) -> rmcp::ErrorData {
    match error {
        ServiceError::McpError(error) => error,
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

/// resources/list and templates/list carry both providers' URIs; reads of
/// listed and templated URIs reach the right plugin and answer with the
/// URI the client asked for; unknown URIs, in a plugin's namespace or not,
/// are -32602 with the URI in `data`.
pub async fn resources_are_listed_and_read(link: Link, era: Era) {
    let session = connect(&config(), link, era).await;
    let client = &session.client;
    let listed = client
        .peer
        .list_all_resources()
        .await
        .expect("resources/list");
    let uris: Vec<&str> = listed.iter().map(|r| r.uri.as_str()).collect();
    for uri in [
        "plugin://fx/test://static-text",
        "plugin://fx/test://static-binary",
        "test://static-text",
        "test://static-binary",
    ] {
        assert!(uris.contains(&uri), "{uri} missing from {uris:?}");
    }
    let templates = client
        .peer
        .list_all_resource_templates()
        .await
        .expect("resources/templates/list");
    let templates: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert_eq!(
        templates,
        [
            "plugin://fx/test://template/{id}/data",
            "test://template/{id}/data"
        ]
    );

    for (uri, needle) in [
        ("plugin://fx/test://static-text", "static text resource"),
        ("test://static-text", "static text resource"),
        ("plugin://fx/test://template/42/data", "Data for ID: 42"),
        ("test://template/7/data", "Data for ID: 7"),
    ] {
        let contents = read(client, uri).await.expect(uri);
        assert_eq!(contents[0]["uri"], uri, "{contents}");
        let text = contents[0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(needle), "{uri}: {contents}");
    }
    let binary = read(client, "plugin://fx/test://static-binary")
        .await
        .expect("binary");
    assert_eq!(binary[0]["mimeType"], "image/png", "{binary}");
    assert!(
        binary[0]["blob"]
            .as_str()
            .is_some_and(|b| b.starts_with("iVBOR")),
        "{binary}"
    );

    for unknown in [
        "plugin://fx/test://nothing-here",
        "test://nothing-here",
        "plugin://nobody/test://static-text",
    ] {
        let error = request_error(read(client, unknown).await.expect_err(unknown));
        // SEP-2164 moved "resource not found" to -32602 in 2026-07-28.
        let code = match era {
            Era::Legacy => ErrorCode::RESOURCE_NOT_FOUND,
            Era::Modern => ErrorCode::INVALID_PARAMS,
        };
        assert_eq!(error.code, code, "{unknown}: {error:?}");
        let data = error.data.unwrap_or_default();
        assert_eq!(data["uri"], unknown, "{unknown}: {data}");
    }
    // Tools of the same plugins still answer.
    let call = client.call("fx_test_simple_text", json!({})).await;
    assert!(
        text(call.ok()).contains("simple text"),
        "{}",
        text(call.ok())
    );
}

/// prompts/list names prompts `<prefix>_<name>`; prompts/get renders the
/// arguments in; a missing required one, or an unknown prompt, is a
/// JSON-RPC error naming it.
pub async fn prompts_render_their_arguments(link: Link, era: Era) {
    let session = connect(&config(), link, era).await;
    let client = &session.client;
    let prompts = client.peer.list_all_prompts().await.expect("prompts/list");
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    for name in [
        "fx_test_prompt_with_arguments",
        "test_prompt_with_arguments",
        "fx_test_simple_prompt",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let with_args = prompts
        .iter()
        .find(|p| p.name == "fx_test_prompt_with_arguments")
        .expect("listed");
    let arguments = serde_json::to_value(&with_args.arguments).expect("serialize");
    assert_eq!(arguments[0]["name"], "arg1", "{arguments}");
    assert_eq!(arguments[0]["required"], true, "{arguments}");

    let mut arguments = Map::new();
    arguments.insert("arg1".into(), json!("alpha"));
    arguments.insert("arg2".into(), json!("beta"));
    let rendered = client
        .peer
        .get_prompt(
            GetPromptRequestParams::new("fx_test_prompt_with_arguments".to_owned())
                .with_arguments(arguments),
        )
        .await
        .expect("prompts/get");
    let messages = serde_json::to_value(&rendered.messages).expect("serialize");
    let text = messages[0]["content"]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("alpha") && text.contains("beta"),
        "{messages}"
    );

    let image = client
        .peer
        .get_prompt(GetPromptRequestParams::new(
            "test_prompt_with_image".to_owned(),
        ))
        .await
        .expect("prompts/get image");
    let messages = serde_json::to_value(&image.messages).expect("serialize");
    assert_eq!(messages[0]["content"]["type"], "image", "{messages}");
    assert_eq!(
        messages[0]["content"]["mimeType"], "image/png",
        "{messages}"
    );

    let missing = client
        .peer
        .get_prompt(GetPromptRequestParams::new(
            "fx_test_prompt_with_arguments".to_owned(),
        ))
        .await
        .expect_err("arguments missing");
    let error = request_error(missing);
    assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
    assert!(error.message.contains("arg1"), "{error:?}");
    let unknown = client
        .peer
        .get_prompt(GetPromptRequestParams::new("fx_no_such_prompt".to_owned()))
        .await
        .expect_err("unknown prompt");
    let error = request_error(unknown);
    assert!(error.message.contains("fx_no_such_prompt"), "{error:?}");
}

/// completion/complete reaches the plugin with its own prompt name and
/// answers the values that match what was typed.
pub async fn completions_reach_the_plugin(link: Link, era: Era) {
    let session = connect(&config(), link, era).await;
    let client = &session.client;
    for name in [
        "fx_test_prompt_with_arguments",
        "test_prompt_with_arguments",
    ] {
        let completed = client
            .peer
            .complete(CompleteRequestParams::new(
                Reference::for_prompt(name),
                ArgumentInfo::new("arg1", "test"),
            ))
            .await
            .unwrap_or_else(|e| panic!("completion/complete {name}: {e}"));
        assert_eq!(
            completed.completion.values,
            ["test1", "test2", "testing"],
            "{name}"
        );
    }
    let none = client
        .peer
        .complete(CompleteRequestParams::new(
            Reference::for_resource("plugin://fx/test://template/{id}/data"),
            ArgumentInfo::new("id", "1"),
        ))
        .await
        .expect("completion of a template");
    assert!(none.completion.values.is_empty());
}

/// Two providers keeping their own URIs that list the same one: a load
/// error naming the URI and both providers.
#[test]
fn own_uris_that_collide_are_a_load_error() {
    let config = ConfigBuilder::new()
        .plugin("one", Fixture::Conformance.path(), r#"prefix = """#)
        .plugin("two", Fixture::Conformance.path(), r#"prefix = """#)
        .write();
    let output = run_cli(&config, &["check"]);
    output.assert_failure();
    let all = format!("{}{}", output.stdout, output.stderr);
    for needle in [
        "resource name `test://static-text` is produced by both `one`",
        "resource template name `test://template/{id}/data` is produced by both `one`",
        "two (test://static-text)",
    ] {
        assert!(all.contains(needle), "{needle} missing from: {all}");
    }
}

/// A plugin's request to its client (here `list-roots`) without
/// `grants.roots` is refused naming the grant, and audited as a denial of
/// `roots/list` by that plugin; with the grant the host says it does not
/// carry such requests to clients yet, and the call still ends cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_requests_need_their_grant() {
    let config = ConfigBuilder::new()
        .plugin("kit", Fixture::Testkit.path(), "")
        .plugin("rooted", Fixture::Testkit.path(), "grants.roots = true")
        .write();
    let mut session = connect(&config, Link::Http, Era::Legacy).await;
    let denied = session.client.call("kit_client_roots", json!({})).await;
    assert_tool_error(
        denied.ok(),
        &["denied", "plugin `kit`", "roots", "grants.roots = true"],
    );
    session
        .host
        .wait_for_stderr_line(
            |l| {
                l.contains("switchboard::audit")
                    && l.contains("caller=plugin:kit")
                    && l.contains(r#"request="roots/list""#)
                    && l.contains(r#"outcome="denied""#)
            },
            "the audit line of the refused roots/list",
        )
        .await;
    let granted = session.client.call("rooted_client_roots", json!({})).await;
    // Granted, but this client declared no `roots` capability.
    assert_tool_error(
        granted.ok(),
        &["failed", "did not declare the `roots` capability"],
    );
    session.client.assert_echo_works_as("kit_echo").await;
}
