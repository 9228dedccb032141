//! Portable schemas: the rewrites the SDK applies to what schemars derives,
//! so that clients mapping tool schemas onto a single-`type` dialect (the
//! OpenAPI subset of Gemini function declarations, and the MCP Inspector's
//! `--strict` portability lint) take every tool as it is.
//!
//! Each rewrite keeps the set of values the schema accepts equal to what the
//! Rust type (de)serializes, except where noted:
//!
//! - **`type` arrays become `anyOf` branches** of one `type` each (what the
//!   Inspector's lint suggests): an `Option<T>` argument is
//!   `{"anyOf": [{"type": "string"}, {"type": "null"}]}` and not required.
//!   It keeps `null` because serde reads an explicit `null` as `None` and
//!   the host checks arguments against the schema: a client that sends
//!   `null` for "not given" (many do) must not be refused. Keywords that
//!   only apply to one type (`minimum`, `enum`, `properties`...) move into
//!   its branch.
//! - **Optional output properties lose `null`** ([`Contract::Output`]). In
//!   structured output schemars leaves an `Option` field out of `required`
//!   only when it has `skip_serializing_if`, so it is never written as
//!   `null`: its schema becomes that of `T` (and a `"default": null` goes).
//!   One without `skip_serializing_if` is required and keeps `null`.
//! - **Only standard `format`s**: schemars' `uint`, `int32`, `double`, ...
//!   are not JSON Schema formats (clients warn about them on every call) and
//!   are dropped; the `minimum`/`maximum` bounds schemars adds stay.
//! - **No schema that accepts anything by saying nothing**: a bare `true`
//!   or a schema without any validation keyword (what `serde_json::Value`
//!   derives) becomes an explicit `anyOf` over the six JSON types, which
//!   accepts the same values; a bare `false` becomes `{"not": {}}`.
//!   `true`/`false` stay where JSON Schema means them as booleans
//!   (`additionalProperties` and friends), as does `not: {}`.

use serde_json::{Map, Value};

/// The formats JSON Schema 2020-12 defines; any other is dropped.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords that describe a schema without constraining its values: they
/// stay on the outer schema when it is split into branches, and the outer
/// schema's win when a branch is merged into it.
const METADATA: &[&str] = &[
    "$id",
    "$schema",
    "$anchor",
    "$comment",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords that apply whatever the value's type: they stay on the outer
/// schema when a `type` array is split.
const TYPE_INDEPENDENT: &[&str] = &[
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "$ref",
    "$dynamicRef",
];

/// Keywords whose presence makes a schema constrain its value.
const CONSTRAINING: &[&str] = &[
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "format",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "items",
    "prefixItems",
    "contains",
    "additionalItems",
    "unevaluatedItems",
    "properties",
    "patternProperties",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "dependentSchemas",
    "dependencies",
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
];

/// Keywords where a bare `true`/`false` is the usual spelling.
const BOOLEAN_VALUED: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
];

/// Keywords holding one subschema (`items` may also hold an array).
const ONE_SUBSCHEMA: &[&str] = &[
    "items",
    "contains",
    "not",
    "propertyNames",
    "if",
    "then",
    "else",
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
    "contentSchema",
];

/// Keywords holding an array of subschemas.
const SUBSCHEMA_ARRAYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];

/// Keywords holding a map of name to subschema.
const SUBSCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "dependencies",
    "$defs",
    "definitions",
];

/// The JSON types, `integer` being a kind of `number`.
const ALL_TYPES: &[&str] = &["object", "array", "string", "number", "boolean", "null"];

/// Which side of serde a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contract {
    /// What a tool accepts (deserialize): `null` stays wherever serde takes it.
    Arguments,
    /// What a tool returns (serialize): a property that may be absent is
    /// never `null`.
    Output,
}

/// Rewrites a derived schema (the root: a tool's input or output schema) in
/// place; see the module docs.
pub(crate) fn make_portable(schema: &mut Value, contract: Contract) {
    walk(schema, None, contract);
}

/// `keyword` is the keyword `node` sits under (`None` at the root).
fn walk(node: &mut Value, keyword: Option<&str>, contract: Contract) {
    if let Value::Bool(accepts) = *node {
        if keyword.is_some_and(|k| !BOOLEAN_VALUED.contains(&k)) {
            *node = if accepts {
                any_value(Map::new())
            } else {
                serde_json::json!({ "not": {} })
            };
        }
        return;
    }
    let Value::Object(schema) = node else {
        return;
    };
    if contract == Contract::Output {
        drop_null_from_optional_properties(schema);
    }
    split_type_array(schema);
    if schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
    {
        schema.remove("format");
    }
    if keyword.is_some_and(|k| k != "not") && !constrains(schema) {
        let metadata = std::mem::take(schema);
        *node = any_value(metadata);
        return;
    }
    for (key, value) in schema.iter_mut() {
        let key = key.as_str();
        if ONE_SUBSCHEMA.contains(&key) {
            match value {
                Value::Array(items) if key == "items" => {
                    items.iter_mut().for_each(|s| walk(s, Some(key), contract));
                }
                _ => walk(value, Some(key), contract),
            }
        } else if SUBSCHEMA_ARRAYS.contains(&key) {
            if let Value::Array(subschemas) = value {
                subschemas
                    .iter_mut()
                    .for_each(|s| walk(s, Some(key), contract));
            }
        } else if SUBSCHEMA_MAPS.contains(&key)
            && let Value::Object(subschemas) = value
        {
            // `dependencies` also holds arrays of names: `walk` skips them.
            subschemas
                .values_mut()
                .for_each(|s| walk(s, Some(key), contract));
        }
    }
}

fn constrains(schema: &Map<String, Value>) -> bool {
    schema.keys().any(|k| CONSTRAINING.contains(&k.as_str()))
        || (schema.contains_key("if")
            && (schema.contains_key("then") || schema.contains_key("else")))
}

/// `metadata` plus an `anyOf` accepting every JSON value, one type a branch.
fn any_value(mut metadata: Map<String, Value>) -> Value {
    let branches = ALL_TYPES
        .iter()
        .map(|t| serde_json::json!({ "type": t }))
        .collect();
    metadata.insert("anyOf".into(), Value::Array(branches));
    Value::Object(metadata)
}

/// For every property of `schema` that may be absent, the schema of `T`
/// instead of that of `Option<T>`.
fn drop_null_from_optional_properties(schema: &mut Map<String, Value>) {
    let required: Vec<String> = match schema.get("required") {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if !required.contains(name)
            && let Value::Object(property) = property
        {
            drop_null(property);
        }
    }
}

/// Removes `null` from a nullable schema (only when something else is left:
/// the schema of `Option<()>` stays as it is).
fn drop_null(schema: &mut Map<String, Value>) {
    let mut dropped = false;
    if let Some(Value::Array(types)) = schema.get_mut("type")
        && types.len() > 1
        && types.iter().any(|t| t == "null")
    {
        types.retain(|t| t != "null");
        dropped = true;
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && values.len() > 1
        && values.iter().any(Value::is_null)
    {
        values.retain(|v| !v.is_null());
        dropped = true;
    }
    if let Some(Value::Array(branches)) = schema.get_mut("anyOf")
        && branches.len() > 1
        && branches.iter().any(is_null_only)
    {
        branches.retain(|b| !is_null_only(b));
        dropped = true;
        if branches.len() == 1 {
            let branch = branches.pop().expect("one branch");
            schema.remove("anyOf");
            merge_branch(schema, branch);
        }
    }
    if dropped && schema.get("default").is_some_and(Value::is_null) {
        schema.remove("default");
    }
}

/// Whether `schema` accepts `null` and nothing else.
fn is_null_only(schema: &Value) -> bool {
    let Value::Object(schema) = schema else {
        return false;
    };
    schema.get("type").is_some_and(|t| t == "null")
        || schema.get("const").is_some_and(Value::is_null)
        || schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_null))
}

/// Puts the one branch left of an `anyOf` into `schema` itself. The outer
/// schema's metadata (the field's description) wins over the branch's (the
/// type's); should both constrain the same keyword, the branch stays a
/// branch.
fn merge_branch(schema: &mut Map<String, Value>, branch: Value) {
    let Value::Object(branch) = branch else {
        schema.insert("anyOf".into(), Value::Array(vec![branch]));
        return;
    };
    let conflicts = branch
        .keys()
        .any(|k| schema.contains_key(k) && !METADATA.contains(&k.as_str()));
    if conflicts {
        schema.insert("anyOf".into(), Value::Array(vec![Value::Object(branch)]));
        return;
    }
    for (key, value) in branch {
        schema.entry(key).or_insert(value);
    }
}

/// `"type": [A, B]` becomes `"anyOf": [{"type": A, ..}, {"type": B, ..}]`
/// with each type's own keywords in its branch; `"type": [A]` becomes
/// `"type": A`.
fn split_type_array(schema: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = schema.get("type") else {
        return;
    };
    let mut names: Vec<String> = Vec::new();
    for t in types {
        match t.as_str() {
            Some(name) if !names.iter().any(|n| n == name) => names.push(name.to_owned()),
            Some(_) => {}
            // Not a list of type names: not ours to rewrite.
            None => return,
        }
    }
    if names.len() == 1 {
        schema.insert("type".into(), Value::String(names.remove(0)));
        return;
    }
    if names.is_empty() {
        return;
    }
    schema.remove("type");
    let specific: Vec<String> = schema
        .keys()
        .filter(|k| !METADATA.contains(&k.as_str()) && !TYPE_INDEPENDENT.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut shared = Map::new();
    for key in specific {
        if let Some(value) = schema.remove(&key) {
            shared.insert(key, value);
        }
    }
    let mut branches = Vec::new();
    for name in &names {
        let mut branch = Map::new();
        branch.insert("type".into(), Value::String(name.clone()));
        if name != "null" {
            for (key, value) in &shared {
                branch.insert(key.clone(), value.clone());
            }
        }
        // `enum` and `const` values go to the branch of their type; a
        // branch none of them fits accepts nothing and is left out.
        if let Some(Value::Array(values)) = shared.get("enum") {
            let fitting: Vec<Value> = values
                .iter()
                .filter(|v| has_type(v, name))
                .cloned()
                .collect();
            if fitting.is_empty() {
                continue;
            }
            if name != "null" {
                branch.insert("enum".into(), Value::Array(fitting));
            }
        }
        if let Some(value) = shared.get("const")
            && !has_type(value, name)
        {
            continue;
        }
        branches.push(Value::Object(branch));
    }
    let split = Value::Array(branches);
    match schema.remove("anyOf") {
        // Both must hold: the existing `anyOf` moves into an `allOf`.
        Some(existing) => {
            let mut all_of = match schema.remove("allOf") {
                Some(Value::Array(all_of)) => all_of,
                Some(other) => vec![other],
                None => Vec::new(),
            };
            all_of.push(serde_json::json!({ "anyOf": existing }));
            schema.insert("allOf".into(), Value::Array(all_of));
            schema.insert("anyOf".into(), split);
        }
        None => {
            schema.insert("anyOf".into(), split);
        }
    }
}

/// Whether `value` is of the JSON Schema type `name`.
fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::{BOOLEAN_VALUED, Contract, STANDARD_FORMATS, make_portable};
    use crate::tool::{input_schema_for, output_schema_for};

    #[derive(Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Args {
        /// A name.
        name: Option<String>,
        /// How many.
        #[serde(default)]
        count: Option<u32>,
        big: u64,
        size: usize,
        small: Option<u8>,
        signed: i32,
        ratio: f64,
        /// The inner part.
        inner: Option<Inner>,
        list: Vec<Option<String>>,
        /// The mode.
        mode: Option<Mode>,
        doc: Value,
        map: BTreeMap<String, Option<u16>>,
        at: Option<Choice>,
    }

    /// Inner.
    #[derive(Deserialize, Serialize, JsonSchema)]
    struct Inner {
        depth: Option<i64>,
        tags: Vec<Option<Mode>>,
    }

    /// A mode.
    #[derive(Deserialize, Serialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Slow,
    }

    #[derive(Deserialize, Serialize, JsonSchema)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Choice {
        Here { x: Option<u8> },
        There,
    }

    /// What schemars derives before the rewrites (the contract serde
    /// implements), for comparison.
    fn raw_input_schema<T: JsonSchema>() -> Value {
        let generator = crate::tool::settings().for_deserialize().into_generator();
        generator.into_root_schema_for::<T>().to_value()
    }

    fn valid(schema: &Value, instance: &Value) -> bool {
        jsonschema::validator_for(schema)
            .unwrap_or_else(|e| panic!("not a valid schema ({e}): {schema:#}"))
            .is_valid(instance)
    }

    /// Every subschema, depth first, with the keyword path to it.
    fn visit(node: &Value, path: &str, each: &mut dyn FnMut(&str, &Value)) {
        each(path, node);
        match node {
            Value::Object(map) => {
                for (key, value) in map {
                    visit(value, &format!("{path}/{key}"), each);
                }
            }
            Value::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    visit(value, &format!("{path}/{index}"), each);
                }
            }
            _ => {}
        }
    }

    /// What the MCP Inspector's `--strict` lint and single-type clients
    /// ask of a schema: one `type` per schema, standard formats only, no
    /// boolean schema where a schema object is expected.
    fn assert_portable(schema: &Value) {
        visit(schema, "", &mut |path, node| {
            let Value::Object(map) = node else { return };
            if path.ends_with("/properties") || path.ends_with("/enum") {
                return;
            }
            if let Some(t) = map.get("type") {
                assert!(t.is_string(), "a `type` array at {path}: {schema:#}");
            }
            if let Some(format) = map.get("format").and_then(Value::as_str) {
                assert!(
                    STANDARD_FORMATS.contains(&format),
                    "format `{format}` at {path}: {schema:#}"
                );
            }
            for (key, value) in map {
                if value.is_boolean() && !path.ends_with("/properties") {
                    assert!(
                        BOOLEAN_VALUED.contains(&key.as_str()),
                        "a boolean schema under `{key}` at {path}: {schema:#}"
                    );
                }
            }
        });
    }

    /// What schemars derives is not portable to begin with (else the
    /// rewrites would be untested).
    #[test]
    fn schemars_alone_produces_type_arrays_and_custom_formats() {
        let raw = serde_json::to_string(&raw_input_schema::<Args>()).unwrap();
        assert!(raw.contains(r#"["string","null"]"#), "{raw}");
        assert!(raw.contains(r#""format":"uint8""#), "{raw}");
        assert!(raw.contains(r#""format":"double""#), "{raw}");
    }

    /// `schema` is `{"anyOf": [{"type": T, ..}, {"type": "null"}]}` plus
    /// `outer` (metadata), `T`'s branch being `branch`.
    fn assert_nullable(schema: &Value, branch: Value, outer: Value) {
        let mut expected = outer.as_object().unwrap().clone();
        expected.insert("anyOf".into(), json!([branch, {"type": "null"}]));
        assert_eq!(schema, &Value::Object(expected));
    }

    #[test]
    fn input_schemas_are_portable_and_optional_fields_stay_nullable() {
        let schema = input_schema_for::<Args>();
        assert_portable(&schema);
        let properties = &schema["properties"];
        assert_nullable(
            &properties["name"],
            json!({"type": "string"}),
            json!({"description": "A name."}),
        );
        assert_nullable(
            &properties["count"],
            json!({"type": "integer", "minimum": 0}),
            json!({"description": "How many.", "default": null}),
        );
        // Bounds stay where the format goes.
        assert_nullable(
            &properties["small"],
            json!({"type": "integer", "minimum": 0, "maximum": 255}),
            json!({}),
        );
        assert_eq!(properties["size"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(properties["ratio"], json!({"type": "number"}));
        assert_nullable(
            &properties["mode"],
            json!({"type": "string", "enum": ["fast", "slow"]}),
            json!({"description": "The mode."}),
        );
        assert_eq!(
            properties["list"]["items"],
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            required,
            ["big", "size", "signed", "ratio", "list", "doc", "map"]
        );
    }

    /// Arguments serde accepts are accepted (an explicit `null` for an
    /// optional field included), what it refuses is refused.
    #[test]
    fn input_schemas_accept_what_serde_accepts() {
        let raw = raw_input_schema::<Args>();
        let portable = input_schema_for::<Args>();
        let minimal = json!({
            "big": 1u64 << 40, "size": 3, "signed": -4, "ratio": 0.5,
            "list": ["a", null], "doc": {"any": [1, "thing"]}, "map": {"k": 7, "n": null}
        });
        let mut full = minimal.clone();
        full.as_object_mut().unwrap().extend(
            json!({
                "name": "n", "count": 2, "small": 255,
                "inner": {"depth": -1, "tags": ["fast", null]},
                "mode": "slow", "at": {"kind": "here", "x": 1}
            })
            .as_object()
            .unwrap()
            .clone(),
        );
        let mut nulls = minimal.clone();
        for field in ["name", "count", "small", "inner", "mode", "at"] {
            nulls[field] = Value::Null;
        }
        let mut accepted = vec![minimal.clone(), full.clone(), nulls];
        for doc in [json!(null), json!(true), json!(1.5), json!("s"), json!([])] {
            let mut with_doc = minimal.clone();
            with_doc["doc"] = doc;
            accepted.push(with_doc);
        }
        for instance in &accepted {
            assert!(serde_json::from_value::<Args>(instance.clone()).is_ok());
            assert!(valid(&raw, instance), "{instance}");
            assert!(valid(&portable, instance), "{instance}");
        }
        let refused = [
            ("small", json!(256)),
            ("small", json!(-1)),
            ("size", json!(1.5)),
            ("size", json!(null)),
            ("mode", json!("medium")),
            ("list", json!([1])),
            ("map", json!({"k": "seven"})),
            ("at", json!({"kind": "elsewhere"})),
            ("unknown", json!(1)),
        ];
        for (field, value) in refused {
            let mut instance = full.clone();
            instance[field] = value;
            assert!(serde_json::from_value::<Args>(instance.clone()).is_err());
            assert!(!valid(&raw, &instance), "{instance}");
            assert!(!valid(&portable, &instance), "{instance}");
        }
    }

    /// Output schemas describe what serde writes: `None` is written as
    /// `null` (required, nullable), one branch a type.
    #[test]
    fn output_schemas_are_portable_and_match_what_serde_writes() {
        let schema = output_schema_for::<Args>();
        assert_portable(&schema);
        assert_eq!(
            schema["properties"]["name"],
            json!({"description": "A name.", "anyOf": [{"type": "string"}, {"type": "null"}]})
        );
        let mut map = BTreeMap::new();
        map.insert("k".to_owned(), Some(1));
        map.insert("n".to_owned(), None);
        let some = Args {
            name: Some("n".into()),
            count: Some(2),
            big: u64::MAX,
            size: 0,
            small: Some(9),
            signed: i32::MIN,
            ratio: -0.25,
            inner: Some(Inner {
                depth: Some(-3),
                tags: vec![Some(Mode::Fast), None],
            }),
            list: vec![None, Some("x".into())],
            mode: Some(Mode::Slow),
            doc: json!([null, {"a": 1}]),
            map: map.clone(),
            at: Some(Choice::Here { x: None }),
        };
        let none = Args {
            name: None,
            count: None,
            big: 0,
            size: usize::MAX,
            small: None,
            signed: 0,
            ratio: 1e300,
            inner: None,
            list: Vec::new(),
            mode: None,
            doc: Value::Null,
            map,
            at: Some(Choice::There),
        };
        for value in [&some, &none] {
            let written = serde_json::to_value(value).unwrap();
            assert!(valid(&schema, &written), "{written} against {schema:#}");
        }
    }

    #[derive(Serialize, JsonSchema)]
    struct Skipping {
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    /// With `skip_serializing_if`, `None` is left out: not required, and
    /// never `null`.
    #[test]
    fn skipped_none_output_fields_are_optional_and_never_null() {
        let schema = output_schema_for::<Skipping>();
        assert_eq!(schema["properties"]["note"], json!({"type": "string"}));
        assert!(schema.get("required").is_none(), "{schema:#}");
        let written = serde_json::to_value(Skipping { note: None }).unwrap();
        assert!(valid(&schema, &written));
        assert!(!valid(&schema, &json!({"note": null})));
    }

    /// The rewrites on hand-written schemas: a bare `true` item, a type
    /// array with per-type keywords, and `enum`/`const` split by type.
    #[test]
    fn type_arrays_split_with_their_keywords() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": ["integer", "string"], "minimum": 1, "description": "A."},
                "e": {"type": ["string", "integer"], "enum": ["x", 2]},
                "c": {"type": ["string", "null"], "const": "only"},
                "items": {"type": "array", "items": true},
                "when": {"type": "string", "format": "date-time"},
                "count": {"type": "integer", "format": "uint64"}
            },
            "additionalProperties": false,
            "required": ["a", "e", "c", "items", "when", "count"]
        });
        make_portable(&mut schema, Contract::Arguments);
        assert_portable(&schema);
        let p = &schema["properties"];
        assert_eq!(
            p["a"],
            json!({"description": "A.", "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "minimum": 1}
            ]})
        );
        assert_eq!(
            p["e"],
            json!({"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "integer", "enum": [2]}]})
        );
        assert_eq!(
            p["c"],
            json!({"anyOf": [{"type": "string", "const": "only"}]})
        );
        assert_eq!(p["items"]["items"]["anyOf"].as_array().unwrap().len(), 6);
        assert_eq!(p["when"], json!({"type": "string", "format": "date-time"}));
        assert_eq!(p["count"], json!({"type": "integer"}));
        assert_eq!(schema["additionalProperties"], json!(false));
    }
}
