//! List changes, coalesced. A provider may announce a change any number of
//! times (a flooding upstream included); what waits is at most one flag per
//! provider and kind, so memory stays bounded and the latest state wins:
//! whoever handles the flags re-reads the provider then.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// A list clients may have cached that has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListChanged {
    Tools,
    Resources,
    Prompts,
}

/// Changes waiting to be handled, per provider (by name) and kind.
#[derive(Default)]
pub struct PendingChanges {
    pending: Mutex<BTreeSet<(String, ListChanged)>>,
    ready: Notify,
}

impl PendingChanges {
    /// Records that `kind` of `provider` changed; repeated marks before the
    /// next [`Self::next`] collapse into one.
    pub fn mark(&self, provider: &str, kind: ListChanged) {
        let inserted = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((provider.to_owned(), kind));
        if inserted {
            self.ready.notify_one();
        }
    }

    /// Takes everything pending, waiting until something is.
    pub async fn next(&self) -> BTreeSet<(String, ListChanged)> {
        loop {
            let taken = self.take();
            if !taken.is_empty() {
                return taken;
            }
            self.ready.notified().await;
        }
    }

    /// Takes everything pending now (possibly nothing).
    pub fn take(&self) -> BTreeSet<(String, ListChanged)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
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
            taken.into_iter().collect::<Vec<_>>(),
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
        assert!(taken.contains(&("late".to_owned(), ListChanged::Resources)));
    }
}
