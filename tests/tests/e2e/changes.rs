//! What a provider announces reaches the clients who may hear it: list
//! changes (the host lists the provider again and tells clients; the new
//! tool is callable) and updates of resources a client subscribed to
//! (2025-11-25: `resources/subscribe`; 2026-07-28: the URI on a
//! `subscriptions/listen` stream), never of a resource the client may not
//! read. A plugin announces through `host.announce` (the conformance
//! fixture keeps what changed in the folder granted as its `/state`); an
//! upstream of either era is kept subscribed while some client is.

use std::time::{Duration, Instant};

use rmcp::model::{
    ClientRequest, ErrorCode, ListPromptsRequest, PaginatedRequestParams,
    ReadResourceRequestParams, ServerResult, SubscribeRequestParams, SubscriptionFilter,
    UnsubscribeRequestParams,
};
use rmcp::service::{ServiceError, Subscription};
use serde_json::{Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::fixture_stdio_command;
use switchboard_e2e::{
    ConfigBuilder, ConfigFile, Era, Fixture, Host, Link, McpClient, PATIENCE, connect,
    connect_http_with_token, text,
};

use crate::upstream::uncached_tool_names;

/// The watched resource as clients of plugin `fx` name it.
const WATCHED: &str = "plugin://fx/test://watched-resource";

const ALICE: &str = "alice-token-for-change-tests";
const BOB: &str = "bob-token-for-change-tests";

/// The conformance fixture as `fx`, its `/state` a folder of the config's
/// own, plus `clients` (raw `[clients.*]` tables).
fn config_with(clients: &[(&str, &str)]) -> ConfigFile {
    let config = clients
        .iter()
        .fold(ConfigBuilder::new(), |config, (name, settings)| {
            config.client(name, settings)
        })
        .plugin("fx", Fixture::Conformance.path(), &state_grant())
        .write();
    std::fs::create_dir(config.dir().join("state")).expect("create the plugin's state folder");
    config
}

/// `grants.dirs."/state"`: the folder `state` beside the config (relative
/// paths resolve against the config's folder).
fn state_grant() -> String {
    r#"grants.dirs = { "/state" = { path = "state", mode = "rw" } }"#.to_owned()
}

/// Where a client hears of changes: a legacy session's notifications (read
/// off the wire from `seen` on), or a 2026-07-28 `subscriptions/listen`
/// stream.
enum Ears {
    Session { seen: usize },
    Stream(Box<Subscription>),
}

impl Ears {
    /// Legacy: the session's notifications from now on (after a
    /// `resources/subscribe` of each of `uris`). 2026-07-28: a stream for
    /// every list change and `uris`.
    async fn open(client: &McpClient, era: Era, uris: &[&str]) -> Self {
        match era {
            Era::Legacy => {
                for uri in uris {
                    subscribe(client, uri).await.expect("resources/subscribe");
                }
                Ears::Session {
                    seen: client.wire.mark(),
                }
            }
            Era::Modern => {
                let filter = SubscriptionFilter::builder()
                    .tools_list_changed()
                    .prompts_list_changed()
                    .resources_list_changed()
                    .resource_subscriptions(uris.iter().map(|uri| (*uri).to_owned()))
                    .build();
                let stream = client
                    .peer
                    .listen(filter)
                    .await
                    .expect("subscriptions/listen");
                for uri in uris {
                    assert!(
                        stream
                            .acknowledged()
                            .resource_subscriptions
                            .as_ref()
                            .is_some_and(|accepted| accepted.iter().any(|a| a == uri)),
                        "the host did not accept {uri}: {:?}",
                        stream.acknowledged()
                    );
                }
                Ears::Stream(Box::new(stream))
            }
        }
    }

    /// The next change heard, as `{"method", "params"}`.
    async fn next(&mut self, client: &McpClient) -> Value {
        match self {
            Ears::Session { seen } => {
                let started = Instant::now();
                loop {
                    if let Some((notification, next)) = client.wire.notification_since(*seen) {
                        *seen = next;
                        return notification;
                    }
                    assert!(
                        started.elapsed() < PATIENCE,
                        "no notification in time; received: {:#?}",
                        client.wire.received_since(*seen)
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ears::Stream(stream) => {
                let notification = tokio::time::timeout(PATIENCE, stream.next())
                    .await
                    .expect("a notification on the stream in time")
                    .expect("the stream works")
                    .expect("the stream is still open");
                serde_json::to_value(&notification).expect("a notification serializes")
            }
        }
    }

    /// The next change heard that is not about the fixture's first
    /// listing (the host may announce it just after it starts).
    async fn next_with(&mut self, client: &McpClient, method: &str) -> Value {
        let started = Instant::now();
        loop {
            let heard = self.next(client).await;
            if heard["method"] == method {
                return heard;
            }
            assert!(
                heard["method"] != "notifications/resources/updated",
                "heard {heard} while waiting for {method}"
            );
            assert!(
                started.elapsed() < PATIENCE,
                "no {method} in time; last heard {heard}"
            );
        }
    }
}

async fn subscribe(client: &McpClient, uri: &str) -> Result<(), ServiceError> {
    client
        .peer
        .subscribe(SubscribeRequestParams::new(uri))
        .await
}

async fn read_text(client: &McpClient, uri: &str) -> String {
    let result = client
        .peer
        .read_resource(ReadResourceRequestParams::new(uri.to_owned()))
        .await
        .expect("resources/read");
    let contents = serde_json::to_value(&result.contents).expect("contents serialize");
    contents[0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("text contents: {contents}"))
        .to_owned()
}

async fn call_text(client: &McpClient, tool: &str) -> String {
    call_text_with(client, tool, json!({})).await
}

async fn call_text_with(client: &McpClient, tool: &str, arguments: Value) -> String {
    let call = client.call(tool, arguments).await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true), "{tool}: {}", text(result));
    text(result)
}

/// One `prompts/list` page as a plain request, around the client's cache.
async fn uncached_prompt_names(client: &McpClient) -> Vec<String> {
    let request = ClientRequest::ListPromptsRequest(ListPromptsRequest::with_param(
        PaginatedRequestParams::default(),
    ));
    let result = client
        .peer
        .send_request(request)
        .await
        .expect("prompts/list");
    let ServerResult::ListPromptsResult(result) = result else {
        panic!("prompts/list answered with {result:?}");
    };
    result.prompts.iter().map(|p| p.name.clone()).collect()
}

/// Toggles the fixture's dynamic `kind` (tool or prompt), checks it says
/// it is now `state`, and waits until the client hears the list change.
async fn toggle(client: &McpClient, ears: &mut Ears, kind: &str, state: &str) {
    assert_eq!(
        call_text(client, &format!("fx_test_trigger_{kind}_change")).await,
        format!("test_dynamic_{kind} is now {state}")
    );
    ears.next_with(client, &format!("notifications/{kind}s/list_changed"))
        .await;
}

/// The plugin adds a tool and a prompt and says so: clients hear each list
/// change, the new tool is listed and callable, the new prompt listed;
/// toggled off, the tool is gone again.
pub async fn list_changes_reach_clients(link: Link, era: Era) {
    let config = config_with(&[]);
    let session = connect(&config, link, era).await;
    let client = &session.client;
    assert!(
        !uncached_tool_names(client)
            .await
            .contains(&"fx_test_dynamic_tool".to_owned())
    );
    let mut ears = Ears::open(client, era, &[]).await;

    toggle(client, &mut ears, "tool", "listed").await;
    assert!(
        uncached_tool_names(client)
            .await
            .contains(&"fx_test_dynamic_tool".to_owned()),
        "the new tool is not listed after its list change"
    );
    assert_eq!(call_text(client, "fx_test_dynamic_tool").await, "dynamic");

    toggle(client, &mut ears, "prompt", "listed").await;
    assert!(
        uncached_prompt_names(client)
            .await
            .contains(&"fx_test_dynamic_prompt".to_owned()),
        "the new prompt is not listed after its list change"
    );

    toggle(client, &mut ears, "tool", "not listed").await;
    assert!(
        !uncached_tool_names(client)
            .await
            .contains(&"fx_test_dynamic_tool".to_owned())
    );
    let gone = client.call("fx_test_dynamic_tool", json!({})).await;
    assert_eq!(gone.jsonrpc_error().code, ErrorCode::INVALID_PARAMS);
}

/// A subscriber hears each update of the resource under the URI it
/// subscribed to, and reads the new contents; after `resources/unsubscribe`
/// (legacy) it hears no more of it.
pub async fn resource_updates_reach_subscribers(link: Link, era: Era) {
    let config = config_with(&[]);
    let session = connect(&config, link, era).await;
    let client = &session.client;
    assert_eq!(read_text(client, WATCHED).await, "Watched resource content");
    let mut ears = Ears::open(client, era, &[WATCHED]).await;

    for update in 1..=2 {
        call_text(client, "fx_test_update_watched_resource").await;
        let heard = ears
            .next_with(client, "notifications/resources/updated")
            .await;
        assert_eq!(heard["params"]["uri"], WATCHED, "{heard}");
        assert_eq!(
            read_text(client, WATCHED).await,
            format!("Watched resource content, update {update}")
        );
    }

    if era == Era::Legacy {
        client
            .peer
            .unsubscribe(UnsubscribeRequestParams::new(WATCHED))
            .await
            .expect("resources/unsubscribe");
        call_text(client, "fx_test_update_watched_resource").await;
        // A later list change is heard, the update before it is not.
        call_text(client, "fx_test_trigger_tool_change").await;
        ears.next_with(client, "notifications/tools/list_changed")
            .await;
    }
}

/// 2025-11-25 `resources/subscribe` to a URI nobody serves, in the
/// plugin's namespace or not, is -32602 naming the URI. (2026-07-28 has no
/// such request: a stream's URIs are checked when an update comes.)
pub async fn unknown_resources_cannot_be_subscribed(link: Link) {
    let config = config_with(&[]);
    let session = connect(&config, link, Era::Legacy).await;
    let client = &session.client;
    for unknown in ["plugin://fx/test://no-such-resource", "file:///etc/passwd"] {
        match subscribe(client, unknown).await {
            Err(ServiceError::McpError(error)) => {
                assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}");
                assert!(error.message.contains(unknown), "{error:?}");
            }
            other => panic!("subscribing to {unknown} answered {other:?}"),
        }
    }
    // The session goes on.
    let mut ears = Ears::open(client, Era::Legacy, &[WATCHED]).await;
    call_text(client, "fx_test_update_watched_resource").await;
    ears.next_with(client, "notifications/resources/updated")
        .await;
}

/// Over HTTP two clients with their own `expose`: alice may not read the
/// watched resource, bob may. Alice cannot subscribe to it (legacy), or
/// hears nothing of it on her stream (2026-07-28) while bob hears it; both
/// hear the list change that follows.
pub async fn hidden_resources_send_no_updates(era: Era) {
    let config = config_with(&[
        (
            "alice",
            &format!("token = \"{ALICE}\"\nexpose = [\"fx_*\", \"plugin://fx/test://static-*\"]"),
        ),
        ("bob", &format!("token = \"{BOB}\"")),
    ]);
    let host = Host::http(&config).await;
    let alice = connect_http_with_token(host.url(), era, ALICE).await;
    let bob = connect_http_with_token(host.url(), era, BOB).await;

    let mut alice_ears = match era {
        Era::Legacy => {
            match subscribe(&alice, WATCHED).await {
                Err(ServiceError::McpError(error)) => {
                    assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{error:?}")
                }
                other => panic!("alice subscribed to a hidden resource: {other:?}"),
            }
            Ears::open(&alice, era, &[]).await
        }
        Era::Modern => Ears::open(&alice, era, &[WATCHED]).await,
    };
    let mut bob_ears = Ears::open(&bob, era, &[WATCHED]).await;

    call_text(&bob, "fx_test_update_watched_resource").await;
    let heard = bob_ears
        .next_with(&bob, "notifications/resources/updated")
        .await;
    assert_eq!(heard["params"]["uri"], WATCHED);
    // The update was sent before the list change is made: alice hears the
    // list change and, before it, nothing of the resource.
    call_text(&bob, "fx_test_trigger_tool_change").await;
    alice_ears
        .next_with(&alice, "notifications/tools/list_changed")
        .await;
    bob_ears
        .next_with(&bob, "notifications/tools/list_changed")
        .await;
}

/// The upstream fixture's resource as clients name it.
const GREETING: &str = "upstream://up/fixture://greeting";

/// The fixture's `watched` stats: the resources someone watches there.
async fn upstream_watched(client: &McpClient) -> Vec<String> {
    let call = client.call("up_stats", json!({})).await;
    let stats = call
        .ok()
        .structured_content
        .clone()
        .expect("structured stats");
    serde_json::from_value(stats["watched"].clone()).expect("a list of URIs")
}

/// Waits until the upstream's watched resources are `expected`.
async fn until_upstream_watches(client: &McpClient, expected: &[&str]) {
    let started = Instant::now();
    loop {
        let watched = upstream_watched(client).await;
        if watched == expected {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the upstream watches {watched:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client watches an upstream's resource through the host: the host
/// subscribes upstream (in the upstream's own era, `upstream_era`) while
/// the client watches, the upstream's update reaches the client under the
/// host's URI, and when the client stops (legacy: `resources/unsubscribe`;
/// 2026-07-28: it ends the stream) the host stops watching upstream.
pub async fn upstream_resource_updates_reach_subscribers(link: Link, era: Era, upstream_era: Era) {
    let mut command = fixture_stdio_command("up");
    if upstream_era == Era::Legacy {
        command.push("--legacy".to_owned());
    }
    let config = ConfigBuilder::new()
        .upstream("up", &format!("command = {}", toml_array(&command)))
        .write();
    let session = connect(&config, link, era).await;
    let client = &session.client;
    assert!(upstream_watched(client).await.is_empty());

    let mut ears = Ears::open(client, era, &[GREETING]).await;
    until_upstream_watches(client, &["fixture://greeting"]).await;
    let touched = call_text_with(client, "up_touch", json!({"uri": "fixture://greeting"})).await;
    assert!(
        touched.starts_with("touched fixture://greeting"),
        "{touched}"
    );
    let heard = ears
        .next_with(client, "notifications/resources/updated")
        .await;
    assert_eq!(heard["params"]["uri"], GREETING, "{heard}");

    match ears {
        Ears::Session { .. } => client
            .peer
            .unsubscribe(UnsubscribeRequestParams::new(GREETING))
            .await
            .expect("resources/unsubscribe"),
        Ears::Stream(stream) => drop(stream),
    }
    until_upstream_watches(client, &[]).await;
}
