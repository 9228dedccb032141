//! Changes of what providers offer, coalesced. A provider may announce a
//! change any number of times (a flooding upstream or plugin included);
//! what waits is at most one flag per provider and kind, and one per
//! updated resource up to [`MAX_PENDING_UPDATES`], so memory stays bounded
//! and the latest state wins: whoever handles the flags re-reads the
//! provider then.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A list clients may have cached that has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListChanged {
    Tools,
    Resources,
    Prompts,
}

/// What subscribed clients are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    List(ListChanged),
    /// The contents of the resource at this URI (as clients see it) changed.
    ResourceUpdated(Arc<str>),
}

/// Updated resources waiting at most; beyond it further updates are
/// dropped (and logged) until the waiting ones are handled.
pub const MAX_PENDING_UPDATES: usize = 4096;

/// What waits to be handled: list changes and updated resources, each by
/// provider name (and the provider's own URI).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub lists: BTreeSet<(String, ListChanged)>,
    pub updated: BTreeSet<(String, String)>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.updated.is_empty()
    }
}

/// Changes waiting to be handled, per provider (by name) and kind.
#[derive(Default)]
pub struct PendingChanges {
    pending: Mutex<Pending>,
    ready: Notify,
}

impl PendingChanges {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that `kind` of `provider` changed; repeated marks before the
    /// next [`Self::next`] collapse into one.
    pub fn mark(&self, provider: &str, kind: ListChanged) {
        let inserted = self.pending().lists.insert((provider.to_owned(), kind));
        if inserted {
            self.ready.notify_one();
        }
    }

    /// Records that the contents of `provider`'s resource `uri` (its own
    /// URI) changed; repeats collapse as for [`Self::mark`].
    pub fn mark_updated(&self, provider: &str, uri: &str) {
        let mut pending = self.pending();
        let key = (provider.to_owned(), uri.to_owned());
        if pending.updated.contains(&key) {
            return;
        }
        if pending.updated.len() >= MAX_PENDING_UPDATES {
            drop(pending);
            tracing::warn!(
                provider,
                uri,
                "{MAX_PENDING_UPDATES} resource updates already wait; this one is dropped"
            );
            return;
        }
        pending.updated.insert(key);
        drop(pending);
        self.ready.notify_one();
    }

    /// Takes everything pending, waiting until something is.
    pub async fn next(&self) -> Pending {
        loop {
            let taken = self.take();
            if !taken.is_empty() {
                return taken;
            }
            self.ready.notified().await;
        }
    }

    /// Takes everything pending now (possibly nothing).
    pub fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_collapses_to_one_flag_per_kind() {
        let pending = PendingChanges::default();
        for _ in 0..10_000 {
            pending.mark("flood", ListChanged::Tools);
        }
        pending.mark("flood", ListChanged::Prompts);
        pending.mark("calm", ListChanged::Tools);
        let taken = pending.next().await;
        assert_eq!(
            taken.lists.into_iter().collect::<Vec<_>>(),
            [
                ("calm".to_owned(), ListChanged::Tools),
                ("flood".to_owned(), ListChanged::Tools),
                ("flood".to_owned(), ListChanged::Prompts),
            ]
        );
        assert!(pending.take().is_empty());
    }

    #[tokio::test]
    async fn next_wakes_on_a_later_mark() {
        let pending = std::sync::Arc::new(PendingChanges::default());
        let waiter = tokio::spawn({
            let pending = pending.clone();
            async move { pending.next().await }
        });
        tokio::task::yield_now().await;
        pending.mark("late", ListChanged::Resources);
        let taken = waiter.await.expect("joins");
        assert!(
            taken
                .lists
                .contains(&("late".to_owned(), ListChanged::Resources))
        );
    }

    #[tokio::test]
    async fn resource_updates_collapse_and_stay_bounded() {
        let pending = PendingChanges::default();
        for _ in 0..100 {
            pending.mark_updated("notes", "notes://a");
        }
        for n in 0..MAX_PENDING_UPDATES + 10 {
            pending.mark_updated("flood", &format!("flood://{n}"));
        }
        let taken = pending.next().await;
        assert!(taken.lists.is_empty());
        assert!(
            taken
                .updated
                .contains(&("notes".to_owned(), "notes://a".to_owned()))
        );
        assert_eq!(taken.updated.len(), MAX_PENDING_UPDATES);
        // Room again once handled.
        pending.mark_updated("flood", "flood://late");
        assert_eq!(pending.take().updated.len(), 1);
    }
}
