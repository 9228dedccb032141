//! End-to-end tests: the real `switchboard` binary, the real fixture
//! plugins, real rmcp clients. One test binary, so the host and the fixtures
//! are built once (see `switchboard_e2e::artifacts`).

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras the host serves.
#![allow(deprecated)]

mod asking;
mod auth;
mod changes;
mod cli;
mod http;
mod malformed;
mod mcp;
mod metrics;
mod notes;
mod oauth;
mod reload;
mod sandbox;
mod served;
mod traces;
mod upstream;
mod upstream_asking;

/// Runs each scenario `async fn(Link, Era)` of module `$scenarios` over
/// stdio and HTTP, each in both protocol eras: one test per combination,
/// named `<link>_<era>::<scenario>`.
macro_rules! each_link_and_era {
    ($scenarios:ident: $($scenario:ident),+ $(,)?) => {
        each_link_and_era!(@one $scenarios, stdio_legacy, Stdio, Legacy, $($scenario),+);
        each_link_and_era!(@one $scenarios, stdio_modern, Stdio, Modern, $($scenario),+);
        each_link_and_era!(@one $scenarios, http_legacy, Http, Legacy, $($scenario),+);
        each_link_and_era!(@one $scenarios, http_modern, Http, Modern, $($scenario),+);
    };
    (@one $scenarios:ident, $module:ident, $link:ident, $era:ident, $($scenario:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$scenarios::$scenario(switchboard_e2e::Link::$link, switchboard_e2e::Era::$era).await;
                }
            )+
        }
    };
}

each_link_and_era!(mcp:
    lists_tools_in_pages,
    echo,
    structured_output,
    progress,
    logging,
    cancellation_stops_the_plugin,
    chaining_respects_grants,
    cancellation_reaches_chained_calls,
    tool_failures_are_results_and_the_host_keeps_serving,
);

/// Named apart: the `mcp` scenarios already use the per-link modules.
mod asking_the_client {
    each_link_and_era!(asking: plugins_ask_the_client);
}

/// Named apart: the `mcp` scenarios already use the per-link modules.
mod served_items {
    each_link_and_era!(served:
        resources_are_listed_and_read,
        prompts_render_their_arguments,
        completions_reach_the_plugin,
    );
}

/// Named apart: the `mcp` scenarios already use the per-link modules.
mod announced_changes {
    each_link_and_era!(changes:
        list_changes_reach_clients,
        resource_updates_reach_subscribers,
    );

    /// `$name(link, era, upstream era)` as `<link>_<era>_<upstream era>_upstream`.
    macro_rules! through_upstreams {
        ($($test:ident: $link:ident, $era:ident, $upstream:ident;)+) => {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::changes::upstream_resource_updates_reach_subscribers(
                        switchboard_e2e::Link::$link,
                        switchboard_e2e::Era::$era,
                        switchboard_e2e::Era::$upstream,
                    )
                    .await;
                }
            )+
        };
    }

    through_upstreams! {
        stdio_legacy_upstream_resource_updates_from_a_legacy_upstream: Stdio, Legacy, Legacy;
        stdio_modern_upstream_resource_updates_from_a_legacy_upstream: Stdio, Modern, Legacy;
        http_legacy_upstream_resource_updates_from_a_modern_upstream: Http, Legacy, Modern;
        http_modern_upstream_resource_updates_from_a_modern_upstream: Http, Modern, Modern;
        stdio_legacy_upstream_resource_updates_from_a_modern_upstream: Stdio, Legacy, Modern;
        http_modern_upstream_resource_updates_from_a_legacy_upstream: Http, Modern, Legacy;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stdio_unknown_resources_cannot_be_subscribed() {
        crate::changes::unknown_resources_cannot_be_subscribed(switchboard_e2e::Link::Stdio).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_unknown_resources_cannot_be_subscribed() {
        crate::changes::unknown_resources_cannot_be_subscribed(switchboard_e2e::Link::Http).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_legacy_hidden_resources_send_no_updates() {
        crate::changes::hidden_resources_send_no_updates(switchboard_e2e::Era::Legacy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn http_modern_hidden_resources_send_no_updates() {
        crate::changes::hidden_resources_send_no_updates(switchboard_e2e::Era::Modern).await;
    }
}

/// Named apart: the `mcp` scenarios already use the per-link modules.
mod upstreams_asking_the_client {
    each_link_and_era!(upstream_asking:
        upstreams_ask_the_client,
        ungranted_upstream_questions_are_refused,
        upstream_logs_reach_the_client,
        everything_asks_the_client,
        modern_upstreams_ask_in_rounds,
    );
}

/// Named apart: the `mcp` scenarios already use the per-link modules.
mod notes_plugin {
    each_link_and_era!(notes:
        a_notebook_through_a_client,
        a_delete_the_user_refuses_keeps_the_note,
    );
}
