//! Results made valid for the client's protocol era, whatever era the
//! provider that produced them speaks.
//!
//! A 2025-11-25 upstream's result has no `resultType`, which 2026-07-28
//! requires on every result; a 2026-07-28 upstream's result carries fields
//! (`resultType`, `ttlMs`, `cacheScope`) older clients do not know. rmcp
//! strips `resultType: "complete"` for legacy peers and fills missing cache
//! hints on modern lists, but passes a result's own fields through: this is
//! where a passed-through result is fixed for the era it goes to.

use rmcp::RoleServer;
use rmcp::model::{
    CallToolResult, CompleteResult, GetPromptResult, ProtocolVersion, ReadResourceResult,
    ResultType,
};
use rmcp::service::RequestContext;

/// The protocol era of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25 and before: sessions, `initialize`.
    Legacy,
    /// 2026-07-28: stateless, `resultType` on every result.
    Modern,
}

impl Era {
    pub fn of(context: &RequestContext<RoleServer>) -> Self {
        let modern = context
            .protocol_version()
            .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        if modern { Era::Modern } else { Era::Legacy }
    }
}

/// A result that may cross eras.
pub trait ForEra {
    /// Rewrites the fields that differ between eras for `era`.
    fn for_era(self, era: Era) -> Self;
}

/// `resultType` for `era`: 2026-07-28 requires it (absent means complete),
/// older eras never had it.
fn result_type(current: &mut Option<ResultType>, era: Era) {
    match era {
        Era::Modern => {
            current.get_or_insert(ResultType::COMPLETE);
        }
        Era::Legacy => *current = None,
    }
}

/// Results whose only era-specific field is `resultType`.
macro_rules! result_type_only {
    ($($result:ty),+) => {$(
        impl ForEra for $result {
            fn for_era(mut self, era: Era) -> Self {
                result_type(&mut self.result_type, era);
                self
            }
        }
    )+};
}

result_type_only!(CallToolResult, GetPromptResult, CompleteResult);

impl ForEra for ReadResourceResult {
    fn for_era(mut self, era: Era) -> Self {
        result_type(&mut self.result_type, era);
        if era == Era::Legacy {
            // Cache hints are 2026-07-28 fields; rmcp fills missing ones
            // for modern clients.
            self.ttl_ms = None;
            self.cache_scope = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{CacheScope, ResourceContents};

    #[test]
    fn a_legacy_result_gains_result_type_for_modern_clients() {
        // As deserialized from a 2025-11-25 upstream: no resultType.
        let legacy: CallToolResult =
            serde_json::from_value(serde_json::json!({"content": []})).expect("parses");
        assert_eq!(legacy.result_type, None);
        let modern = legacy.for_era(Era::Modern);
        let json = serde_json::to_value(&modern).expect("serializes");
        assert_eq!(json["resultType"], "complete");
    }

    #[test]
    fn a_modern_resource_loses_modern_fields_for_legacy_clients() {
        let modern =
            ReadResourceResult::new(vec![ResourceContents::text("x", "mem://a")]).with_ttl_ms(5000);
        let mut modern = modern;
        modern.cache_scope = Some(CacheScope::Public);
        let json = serde_json::to_value(modern.for_era(Era::Legacy)).expect("serializes");
        for field in ["resultType", "ttlMs", "cacheScope"] {
            assert!(json.get(field).is_none(), "{field} in {json}");
        }
    }

    #[test]
    fn a_custom_result_type_is_kept_for_modern_clients() {
        let mut prompt: GetPromptResult =
            serde_json::from_value(serde_json::json!({"messages": []})).expect("parses");
        prompt.result_type = Some(ResultType::INPUT_REQUIRED);
        let prompt = prompt.for_era(Era::Modern);
        assert_eq!(prompt.result_type, Some(ResultType::INPUT_REQUIRED));
    }
}
