//! The admin guide's key reference must list every key the config accepts.
//! The keys come from the parser's own structs: serde's derive hands each
//! struct's field names to `deserialize_struct`, which a recording
//! deserializer collects, so a new key without a line in the guide fails
//! here.

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::clients::{RawClient, RawRateLimit};
use super::oauth::RawOAuth;
use super::traces::RawTraces;
use super::upstream::RawUpstream;
use super::{RawConfig, RawDirGrant, RawGrants, RawLimits, RawPlugin, RawServer};

const GUIDE: &str = include_str!("../../../docs/admin-guide.md");

/// Records the field names of the struct it is asked for, then stops.
struct FieldNames(Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stop")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldNames {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

fn fields_of<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut names = FieldNames(Vec::new());
    let _ = T::deserialize(&mut names);
    assert!(
        !names.0.is_empty(),
        "{} has no fields",
        std::any::type_name::<T>()
    );
    names.0
}

/// Every key the config accepts, as the guide's table writes it.
fn every_key() -> Vec<String> {
    let tables: [(&str, Vec<&str>); 13] = [
        ("", fields_of::<RawConfig>()),
        ("server.", fields_of::<RawServer>()),
        ("defaults.", fields_of::<RawLimits>()),
        ("plugins.NAME.", fields_of::<RawPlugin>()),
        ("plugins.NAME.limits.", fields_of::<RawLimits>()),
        ("plugins.NAME.grants.", fields_of::<RawGrants>()),
        (
            "plugins.NAME.grants.dirs.GUEST.",
            fields_of::<RawDirGrant>(),
        ),
        ("upstreams.NAME.", fields_of::<RawUpstream>()),
        ("clients.NAME.", fields_of::<RawClient>()),
        ("clients.NAME.rate_limit.", fields_of::<RawRateLimit>()),
        ("clients.NAME.tool_rate_limit.", fields_of::<RawRateLimit>()),
        ("oauth.", fields_of::<RawOAuth>()),
        ("traces.", fields_of::<RawTraces>()),
    ];
    tables
        .iter()
        .flat_map(|(prefix, fields)| fields.iter().map(move |f| format!("{prefix}{f}")))
        // Tables that hold other keys are documented through those keys.
        .filter(|key| {
            !matches!(
                key.as_str(),
                "server"
                    | "defaults"
                    | "plugins"
                    | "upstreams"
                    | "clients"
                    | "oauth"
                    | "traces"
                    | "clients.NAME.rate_limit"
                    | "clients.NAME.tool_rate_limit"
                    | "plugins.NAME.limits"
                    | "plugins.NAME.grants"
                    | "plugins.NAME.grants.dirs"
            )
        })
        .collect()
}

/// The keys in the first column of the guide's reference table.
fn documented_keys() -> Vec<String> {
    let section = GUIDE
        .split("\n## Every config key\n")
        .nth(1)
        .expect("the admin guide has a `## Every config key` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_admin_guide_lists_every_config_key() {
    let documented = documented_keys();
    let missing: Vec<String> = every_key()
        .into_iter()
        .filter(|key| !documented.contains(key))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/admin-guide.md `## Every config key` lacks: {missing:?}"
    );
}

#[test]
fn the_admin_guide_lists_no_key_the_config_rejects() {
    let known = every_key();
    let unknown: Vec<String> = documented_keys()
        .into_iter()
        .filter(|key| !known.contains(key))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/admin-guide.md lists keys the config does not accept: {unknown:?}"
    );
}

#[test]
fn the_recorder_sees_every_field() {
    assert_eq!(
        fields_of::<RawDirGrant>(),
        ["path", "mode"],
        "the field recorder no longer sees serde's field list"
    );
}
