//! The notes example plugin (`plugins/notes`) as a user meets it through a
//! real client: notes written with tools appear as resources (the plugin
//! announces the change and the host lists it again), read back under the
//! host's URIs, summarized by a prompt whose argument completes, and
//! deleted only after the user says yes to the elicitation.

use std::time::{Duration, Instant};

use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, GetPromptRequestParams, ReadResourceRequestParams,
    Reference,
};
use serde_json::json;
use switchboard_e2e::answering::{AnsweringClient, AnsweringSession, connect_answering};
use switchboard_e2e::{ConfigBuilder, ConfigFile, Era, Fixture, Link, PATIENCE};

const GROCERIES: &str = "plugin://notes/notes://groceries";
const INDEX: &str = "plugin://notes/notes://index";

/// The notes plugin with a fresh folder (`notes` beside the config) and
/// elicitation granted.
fn config() -> ConfigFile {
    let config = ConfigBuilder::new()
        .plugin(
            "notes",
            Fixture::Notes.path(),
            "grants.dirs = { \"/notes\" = { path = \"notes\", mode = \"rw\" } }\ngrants.elicitation = true",
        )
        .write();
    std::fs::create_dir(config.dir().join("notes")).expect("create the notes folder");
    config
}

async fn read(session: &AnsweringSession, uri: &str) -> String {
    let result = session
        .peer
        .read_resource(ReadResourceRequestParams::new(uri.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("resources/read {uri}: {e}"));
    let contents = serde_json::to_value(&result.contents).expect("contents serialize");
    contents[0]["text"].as_str().unwrap_or_default().to_owned()
}

/// Waits until resources/list has (or, `listed` false, lacks) `uri`.
async fn until_listed(session: &AnsweringSession, uri: &str, listed: bool) {
    let started = Instant::now();
    loop {
        let resources = session
            .peer
            .list_all_resources()
            .await
            .expect("resources/list");
        let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
        if uris.contains(&uri) == listed {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{uri} is {}listed: {uris:?}",
            if listed { "not " } else { "still " }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn elicitations(session: &AnsweringSession) -> usize {
    session
        .client
        .asked()
        .iter()
        .filter(|(method, _)| method == "elicitation/create")
        .count()
}

/// Write, list, read, summarize, complete, and a confirmed delete.
pub async fn a_notebook_through_a_client(link: Link, era: Era) {
    let config = config();
    let client = AnsweringClient::new(era, json!({"delete": true}));
    let session = connect_answering(&config, link, era, client).await;

    assert_eq!(
        session
            .call_ok("notes_write", json!({"name": "groceries", "text": "milk"}))
            .await,
        "created note `groceries`"
    );
    session
        .call_ok("notes_append", json!({"name": "groceries", "line": "eggs"}))
        .await;
    until_listed(&session, GROCERIES, true).await;
    assert_eq!(read(&session, GROCERIES).await, "milk\neggs");
    assert!(read(&session, INDEX).await.contains("- groceries: milk"));
    assert_eq!(
        session
            .call_ok("notes_search", json!({"text": "EGG"}))
            .await,
        "groceries: eggs"
    );

    let prompt = session
        .peer
        .get_prompt(
            GetPromptRequestParams::new("notes_summarize").with_arguments(
                json!({"name": "groceries", "focus": "what to buy"})
                    .as_object()
                    .cloned()
                    .expect("an object"),
            ),
        )
        .await
        .expect("prompts/get notes_summarize");
    let message = serde_json::to_value(&prompt.messages).expect("messages serialize");
    let message = message[0]["content"]["text"].as_str().unwrap_or_default();
    assert!(
        message.contains("what to buy") && message.contains("milk\neggs"),
        "{message}"
    );
    let completed = session
        .peer
        .complete(CompleteRequestParams::new(
            Reference::for_prompt("notes_summarize"),
            ArgumentInfo::new("name", "gro"),
        ))
        .await
        .expect("completion/complete");
    assert_eq!(completed.completion.values, ["groceries"]);

    assert_eq!(
        session
            .call_ok("notes_delete", json!({"name": "groceries"}))
            .await,
        "deleted note `groceries`"
    );
    assert_eq!(elicitations(&session), 1, "the user was asked once");
    assert!(!config.dir().join("notes/groceries.md").exists());
    until_listed(&session, GROCERIES, false).await;
}

/// The user says no: the note stays.
pub async fn a_delete_the_user_refuses_keeps_the_note(link: Link, era: Era) {
    let config = config();
    std::fs::write(config.dir().join("notes/todo.md"), "call Ada").expect("a note");
    let client = AnsweringClient::new(era, json!({"delete": false}));
    let session = connect_answering(&config, link, era, client).await;
    assert_eq!(
        session
            .call_ok("notes_delete", json!({"name": "todo"}))
            .await,
        "kept note `todo`: the user said no"
    );
    assert_eq!(elicitations(&session), 1);
    assert!(config.dir().join("notes/todo.md").exists());
}
