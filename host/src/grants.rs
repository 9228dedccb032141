//! Who may call what. Deny by default: a plugin with no grant calls nothing.

use std::collections::HashMap;

use crate::provider::{FailureKind, ToolFailure};

/// Tool-name patterns each plugin may call (`text_*`, exact names).
#[derive(Debug, Default, Clone)]
pub struct Grants {
    tools: HashMap<String, Vec<String>>,
}

impl Grants {
    /// Grants `plugin` the tools matching `patterns`.
    pub fn allow_tools(&mut self, plugin: &str, patterns: Vec<String>) {
        self.tools
            .entry(plugin.to_owned())
            .or_default()
            .extend(patterns);
    }

    /// Whether `plugin` may call `tool` (a client-visible name).
    pub fn allows(&self, plugin: &str, tool: &str) -> bool {
        self.tools
            .get(plugin)
            .is_some_and(|patterns| patterns.iter().any(|p| glob_match::glob_match(p, tool)))
    }

    /// `Ok` when allowed, else a denial that says what grant is missing.
    pub fn check(&self, plugin: &str, tool: &str) -> Result<(), ToolFailure> {
        if self.allows(plugin, tool) {
            return Ok(());
        }
        let message = match self.tools.get(plugin) {
            Some(patterns) if !patterns.is_empty() => format!(
                "plugin `{plugin}` may not call `{tool}`: it is granted only {}",
                patterns.join(", ")
            ),
            _ => format!("plugin `{plugin}` may not call `{tool}`: no tools are granted to it"),
        };
        Err(ToolFailure::new(FailureKind::Denied, message))
    }

    /// The client-visible names `plugin` may call, out of `names`.
    pub fn visible<'a>(&self, plugin: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        names.filter(|name| self.allows(plugin, name)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_by_default() {
        let grants = Grants::default();
        let err = grants.check("p", "text_upper").expect_err("denied");
        assert_eq!(err.kind, FailureKind::Denied);
        assert!(
            err.message.contains("no tools are granted"),
            "{}",
            err.message
        );
    }

    #[test]
    fn patterns_and_exact_names() {
        let mut grants = Grants::default();
        grants.allow_tools("p", vec!["text_*".into(), "time_now".into()]);
        assert!(grants.allows("p", "text_upper"));
        assert!(grants.allows("p", "time_now"));
        assert!(!grants.allows("p", "time_nowish"));
        assert!(!grants.allows("q", "text_upper"));
        let err = grants.check("p", "json_query").expect_err("denied");
        assert!(
            err.message.contains("granted only text_*, time_now"),
            "{}",
            err.message
        );
    }
}
