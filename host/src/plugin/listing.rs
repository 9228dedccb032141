//! What a plugin lists (tools, resources, templates, prompts), and keeping
//! it current when the plugin announces a change (WIT 0.2.0
//! `host.announce`): the host lists the plugin again in a fresh instance
//! and tells the registry only what really differs, as for upstreams.

use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate};

use crate::changes::{ListChanged, PendingChanges};
use crate::provider::ToolSpec;

/// A plugin's latest listing: its tools with valid schemas, and what else
/// it serves under its own names and URIs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Listed {
    pub tools: Vec<ToolSpec>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    pub prompts: Vec<Prompt>,
}

impl Listed {
    /// The kinds in which `fresh` differs from `self`.
    pub fn changes_to(&self, fresh: &Listed) -> Vec<ListChanged> {
        let mut changed = Vec::new();
        if self.tools != fresh.tools {
            changed.push(ListChanged::Tools);
        }
        if self.resources != fresh.resources || self.templates != fresh.templates {
            changed.push(ListChanged::Resources);
        }
        if self.prompts != fresh.prompts {
            changed.push(ListChanged::Prompts);
        }
        changed
    }
}

/// Where a plugin's announcements go; one per loaded plugin, shared by all
/// its stores.
#[derive(Clone)]
pub struct Announcer {
    plugin: Arc<str>,
    /// List changes, for the plugin's own re-listing task.
    relist: Arc<PendingChanges>,
    /// Where the host hears what the plugin offers changed.
    host: Arc<PendingChanges>,
}

impl Announcer {
    pub fn new(plugin: &str, host: Arc<PendingChanges>) -> Self {
        Self {
            plugin: plugin.into(),
            relist: Arc::default(),
            host,
        }
    }

    /// The plugin says its `kind` list changed: it is listed again.
    pub fn list_changed(&self, kind: ListChanged) {
        self.relist.mark(&self.plugin, kind);
    }

    /// The plugin says the contents of its resource `uri` changed.
    pub fn resource_updated(&self, uri: &str) {
        self.host.mark_updated(&self.plugin, uri);
    }

    /// Waits for the next list change the plugin announced.
    pub async fn next_list_change(&self) {
        self.relist.next().await;
    }

    /// Tells the host which of the plugin's lists really changed.
    pub fn changed(&self, kinds: &[ListChanged]) {
        for kind in kinds {
            self.host.mark(&self.plugin, *kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kinds_that_differ_are_changes() {
        let before = Listed::default();
        let mut after = before.clone();
        assert!(before.changes_to(&after).is_empty());
        after
            .prompts
            .push(Prompt::new("greet", None::<String>, None));
        after.templates.push(
            serde_json::from_value(serde_json::json!({
                "uriTemplate": "notes://{id}", "name": "note"
            }))
            .expect("a template"),
        );
        assert_eq!(
            before.changes_to(&after),
            [ListChanged::Resources, ListChanged::Prompts]
        );
    }

    #[tokio::test]
    async fn announcements_reach_the_plugin_task_and_the_host_apart() {
        let host = Arc::new(PendingChanges::default());
        let announcer = Announcer::new("notes", host.clone());
        announcer.list_changed(ListChanged::Tools);
        announcer.list_changed(ListChanged::Tools);
        announcer.resource_updated("notes://a");
        // A list change waits for the re-listing, not for the host.
        announcer.next_list_change().await;
        let pending = host.take();
        assert!(pending.lists.is_empty());
        assert!(
            pending
                .updated
                .contains(&("notes".to_owned(), "notes://a".to_owned()))
        );
        announcer.changed(&[ListChanged::Tools]);
        assert!(
            host.take()
                .lists
                .contains(&("notes".to_owned(), ListChanged::Tools))
        );
    }
}
