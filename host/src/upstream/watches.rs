//! The resources of one upstream that clients watch, counted, and keeping
//! every session with it subscribed to exactly those: `resources/subscribe`
//! and `resources/unsubscribe` on a 2025-11-25 session; on a 2026-07-28
//! session the URIs of its `subscriptions/listen` stream
//! ([`super::replica`] listens again when they change).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rmcp::model::{SubscribeRequestParams, UnsubscribeRequestParams};
use rmcp::{Peer, RoleClient};
use tokio::sync::watch;

use crate::provider::Watch;

/// How many clients watch each of the upstream's resources (its own URIs),
/// and the set of those watched by anyone, for its sessions to follow.
pub struct Watched {
    counts: Mutex<HashMap<String, usize>>,
    uris: watch::Sender<BTreeSet<String>>,
}

impl Watched {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(HashMap::new()),
            uris: watch::channel(BTreeSet::new()).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One more watcher of `uri`, until the returned [`Watch`] drops.
    pub fn add(self: &Arc<Self>, uri: &str) -> Watch {
        {
            let mut counts = self.lock();
            let count = counts.entry(uri.to_owned()).or_default();
            *count += 1;
            if *count == 1 {
                self.uris.send_modify(|uris| {
                    uris.insert(uri.to_owned());
                });
            }
        }
        let watched: Weak<Self> = Arc::downgrade(self);
        let uri = uri.to_owned();
        Watch::ending_with(move || {
            if let Some(watched) = watched.upgrade() {
                watched.remove(&uri);
            }
        })
    }

    fn remove(&self, uri: &str) {
        let mut counts = self.lock();
        let Some(count) = counts.get_mut(uri) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            counts.remove(uri);
            self.uris.send_modify(|uris| {
                uris.remove(uri);
            });
        }
    }

    /// The watched URIs, now and as they change.
    pub fn uris(&self) -> watch::Receiver<BTreeSet<String>> {
        self.uris.subscribe()
    }
}

/// Keeps a 2025-11-25 session subscribed to the watched URIs until the
/// session ends (the caller drops this future then). A request the
/// upstream refuses or does not answer within `timeout` is logged; the
/// next change of the set tries again.
// rmcp marks these requests deprecated because 2026-07-28 dropped them;
// this is the 2025-11-25 path.
#[allow(deprecated)]
pub async fn keep_subscribed(
    peer: Peer<RoleClient>,
    watched: Arc<Watched>,
    upstream: Arc<str>,
    timeout: Duration,
) {
    let mut uris = watched.uris();
    let mut subscribed = BTreeSet::new();
    loop {
        let wanted = uris.borrow_and_update().clone();
        for uri in wanted.difference(&subscribed) {
            let request = peer.subscribe(SubscribeRequestParams::new(uri.clone()));
            if let Some(problem) = failure(tokio::time::timeout(timeout, request).await) {
                tracing::warn!(target: "switchboard::upstream", upstream = &*upstream, uri, "resources/subscribe failed: {problem}");
            }
        }
        for uri in subscribed.difference(&wanted) {
            let request = peer.unsubscribe(UnsubscribeRequestParams::new(uri.clone()));
            if let Some(problem) = failure(tokio::time::timeout(timeout, request).await) {
                tracing::debug!(target: "switchboard::upstream", upstream = &*upstream, uri, "resources/unsubscribe failed: {problem}");
            }
        }
        subscribed = wanted;
        if uris.changed().await.is_err() {
            return;
        }
    }
}

fn failure(
    outcome: Result<Result<(), rmcp::service::ServiceError>, tokio::time::error::Elapsed>,
) -> Option<String> {
    match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some("no answer in time".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_is_watched_while_anyone_watches_it() {
        let watched = Watched::new();
        let uris = watched.uris();
        let first = watched.add("a://x");
        let second = watched.add("a://x");
        let other = watched.add("a://y");
        assert_eq!(
            *uris.borrow(),
            BTreeSet::from(["a://x".to_owned(), "a://y".to_owned()])
        );
        drop(first);
        assert!(uris.borrow().contains("a://x"), "one watcher is left");
        drop(second);
        drop(other);
        assert!(uris.borrow().is_empty());
    }

    #[test]
    fn a_watch_outliving_the_upstream_ends_quietly() {
        let watched = Watched::new();
        let watch = watched.add("a://x");
        drop(watched);
        drop(watch);
    }
}
