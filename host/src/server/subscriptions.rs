//! What clients hear of changes: list changes, and updates of resources
//! they subscribed to. A 2025-11-25 session hears them as plain
//! notifications (`resources/subscribe` adds a URI to the session's set);
//! a 2026-07-28 client on a `subscriptions/listen` stream, whose filter
//! names the categories and URIs it wants. Either way an update reaches a
//! client only while it may still read the resource.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::ResourceUpdatedNotificationParam;
use rmcp::service::SubscriptionContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::dispatch::{Announcement, Caller, Dispatcher, ListChanged};
use crate::provider::Watch;
use crate::registry::template_matches;

/// One subscribed resource: who subscribed (its visibility is checked
/// again before every update), and the provider's watch, which keeps an
/// upstream subscribed while the session is.
struct Subscribed {
    caller: Caller,
    _watch: Watch,
}

/// The resources one legacy session subscribed to; they end with the
/// session.
#[derive(Clone, Default)]
pub struct SessionSubscriptions(Arc<Mutex<HashMap<String, Subscribed>>>);

impl SessionSubscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Subscribed>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `resources/subscribe`: `uri` must be a resource `caller` may read
    /// whose provider tells when it changes.
    pub fn subscribe(
        &self,
        dispatcher: &Dispatcher,
        caller: Caller,
        uri: String,
    ) -> Result<(), McpError> {
        let watch = watch_subscribable(dispatcher, &caller, &uri)?;
        self.lock().insert(
            uri,
            Subscribed {
                caller,
                _watch: watch,
            },
        );
        Ok(())
    }

    /// `resources/unsubscribe`: a URI not subscribed to is no error.
    pub fn unsubscribe(&self, uri: &str) {
        self.lock().remove(uri);
    }

    /// Who subscribed to `uri`, if anyone in this session did.
    fn subscriber(&self, uri: &str) -> Option<Caller> {
        self.lock()
            .get(uri)
            .map(|subscribed| subscribed.caller.clone())
    }
}

/// A watch of `uri` for `caller`, or why `caller` may not subscribe to
/// it, as the client is told.
fn watch_subscribable(
    dispatcher: &Dispatcher,
    caller: &Caller,
    uri: &str,
) -> Result<Watch, McpError> {
    let registry = dispatcher.registry();
    let route = registry
        .resource_for(caller, uri)
        .map_err(|failure| McpError::invalid_params(failure.message, None))?;
    if !route.provider.offers().resource_updates {
        return Err(McpError::invalid_params(
            format!(
                "resource `{uri}` is served by `{}`, which does not tell when it changes: subscribe to it is not possible",
                route.provider.name()
            ),
            None,
        ));
    }
    // Reads of any URI in a provider's namespace go to it (it answers for
    // what it does not serve), but a subscription must be to something
    // that exists.
    let provider = route.provider;
    let exists = provider
        .resources()
        .iter()
        .any(|resource| resource.uri == route.local_uri)
        || provider
            .resource_templates()
            .iter()
            .any(|template| template_matches(&template.uri_template, route.local_uri));
    if !exists {
        return Err(McpError::invalid_params(
            format!(
                "unknown resource `{uri}`: `{}` neither lists it nor has a template for it",
                provider.name()
            ),
            None,
        ));
    }
    Ok(provider.watch(route.local_uri))
}

/// Whether `caller` may still read `uri` (a reload or a list change may
/// have taken it away).
fn still_readable(dispatcher: &Dispatcher, caller: &Caller, uri: &str) -> bool {
    dispatcher.registry().resource_for(caller, uri).is_ok()
}

/// The next announcement, or `None` when the host shuts down. One that
/// fell too far behind only learns that the tools changed: the client
/// lists again, which is all a missed list change needs.
async fn next(changes: &mut Receiver<Announcement>) -> Option<Announcement> {
    match changes.recv().await {
        Ok(announcement) => Some(announcement),
        Err(RecvError::Lagged(_)) => Some(Announcement::List(ListChanged::Tools)),
        Err(RecvError::Closed) => None,
    }
}

/// Sends a legacy session what it hears, until the session goes away.
pub async fn forward_to_session(
    dispatcher: Arc<Dispatcher>,
    peer: Peer<RoleServer>,
    subscriptions: SessionSubscriptions,
) {
    let mut changes = dispatcher.subscribe_changes();
    while let Some(announcement) = next(&mut changes).await {
        let sent = match announcement {
            Announcement::List(ListChanged::Tools) => peer.notify_tool_list_changed().await,
            Announcement::List(ListChanged::Resources) => peer.notify_resource_list_changed().await,
            Announcement::List(ListChanged::Prompts) => peer.notify_prompt_list_changed().await,
            Announcement::ResourceUpdated(uri) => {
                let Some(caller) = subscriptions.subscriber(&uri) else {
                    continue;
                };
                if !still_readable(&dispatcher, &caller, &uri) {
                    continue;
                }
                peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(&*uri))
                    .await
            }
        };
        if sent.is_err() {
            // The session is gone.
            return;
        }
    }
}

/// Sends a `subscriptions/listen` stream what it hears until the client
/// cancels it; its sink drops the categories and URIs it did not accept.
pub async fn forward_to_stream(
    dispatcher: &Dispatcher,
    caller: Caller,
    context: SubscriptionContext,
) -> Result<(), McpError> {
    let mut changes = dispatcher.subscribe_changes();
    // What the stream's URIs need of their providers while it is open; a
    // URI the client may not read now is never watched.
    let _watches: Vec<Watch> = context
        .accepted()
        .resource_subscriptions
        .iter()
        .flatten()
        .filter_map(|uri| watch_subscribable(dispatcher, &caller, uri).ok())
        .collect();
    loop {
        let announcement = tokio::select! {
            () = context.cancelled() => return Ok(()),
            announcement = next(&mut changes) => match announcement {
                Some(announcement) => announcement,
                None => return Ok(()),
            },
        };
        let sink = context.sink();
        // A closed stream ends with its cancellation, above.
        let _ = match announcement {
            Announcement::List(ListChanged::Tools) => sink.notify_tool_list_changed().await,
            Announcement::List(ListChanged::Resources) => sink.notify_resource_list_changed().await,
            Announcement::List(ListChanged::Prompts) => sink.notify_prompt_list_changed().await,
            Announcement::ResourceUpdated(uri) => {
                let accepted = context
                    .accepted()
                    .resource_subscriptions
                    .as_ref()
                    .is_some_and(|uris| uris.iter().any(|u| **u == *uri));
                if !accepted || !still_readable(dispatcher, &caller, &uri) {
                    continue;
                }
                sink.notify_resource_updated(&*uri).await
            }
        };
    }
}
