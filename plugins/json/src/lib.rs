//! `json-tools`: query, format, patch, diff, flatten and validate JSON, as a
//! Switchboard plugin.
//!
//! Tools: `query`, `format`, `merge_patch`, `diff`, `flatten`, `validate`.
//! All are pure computations (read-only, idempotent, closed world). Object
//! key order is preserved.
//!
//! Where a tool takes a JSON document (`json`, `target`, `patch`, `before`,
//! `after`), pass either the value itself or JSON text in a string: a string
//! that parses as JSON is read as that JSON.
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p json-tools`
//! (writes `json_tools.wasm`).

mod path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_sdk::{Context, Json, Plugin, Tool, ToolError, ToolSet, export_plugin};

pub use path::{Segment, parse_path};

/// The plugin.
pub struct JsonTools;

impl Plugin for JsonTools {
    fn tools() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new(
                    "query",
                    "Select values from a JSON document. `path` is either a JSON Pointer \
                     (RFC 6901, e.g. \"/items/0/name\") or a dotted path with optional `$` root, \
                     indexes and wildcards (e.g. \"items[*].name\", \"$.users[0]['full name']\", \
                     \"a.*.b\"). Returns every match with its JSON Pointer.",
                    query,
                )
                .title("Query JSON")
                .pure(),
            )
            .tool(
                Tool::new(
                    "format",
                    "Pretty-print or minify JSON text, optionally sorting object keys. \
                     `indent` 0 minifies.",
                    format,
                )
                .title("Format JSON")
                .pure(),
            )
            .tool(
                Tool::new(
                    "merge_patch",
                    "Apply a JSON Merge Patch (RFC 7386) to a document: objects merge \
                     recursively, `null` deletes a key, anything else replaces. Returns the \
                     patched document as JSON text.",
                    merge_patch,
                )
                .title("JSON merge patch")
                .pure(),
            )
            .tool(
                Tool::new(
                    "diff",
                    "Compare two JSON documents. Returns the differences as JSON Patch \
                     (RFC 6902) operations (add / remove / replace, with JSON Pointer paths; \
                     `old` shows the previous value) that turn `before` into `after`.",
                    diff,
                )
                .title("Diff JSON")
                .pure(),
            )
            .tool(
                Tool::new(
                    "flatten",
                    "Flatten a JSON document into a single object mapping each leaf's path \
                     (dotted, like \"a.b[0].c\", or JSON Pointers) to its value. Empty objects \
                     and arrays are kept as leaves.",
                    flatten,
                )
                .title("Flatten JSON")
                .pure(),
            )
            .tool(
                Tool::new(
                    "validate",
                    "Check whether text is valid JSON. On failure, reports the error with its \
                     line and column and the offending line; on success, the top-level type.",
                    validate,
                )
                .title("Validate JSON")
                .pure(),
            )
    }
}

export_plugin!(JsonTools);

/// Read a document argument: JSON text in a string is parsed; any other
/// value is taken as is.
fn document(value: Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str(&text) {
            Ok(parsed) => parsed,
            Err(_) => Value::String(text),
        },
        other => other,
    }
}

/// Escape one JSON Pointer reference token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

// --------------------------------------------------------------------- query

/// Arguments of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    /// The JSON document (a JSON value, or JSON text in a string).
    pub json: Value,
    /// A JSON Pointer ("" or starting with "/") or a dotted path such as
    /// "items[*].name" or "$.a['b c'][0]". `*` and `[*]` match every key or
    /// element.
    pub path: String,
}

/// One match of `query`.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Match {
    /// Where the value is, as a JSON Pointer.
    pub pointer: String,
    /// The value.
    pub value: Value,
}

/// What `query` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct QueryResult {
    /// How many values matched.
    pub count: usize,
    /// The matches, in document order.
    pub matches: Vec<Match>,
}

/// Select values by JSON Pointer or dotted path.
pub fn query(args: QueryArgs, _cx: &Context) -> Result<Json<QueryResult>, ToolError> {
    let doc = document(args.json);
    let segments = parse_path(&args.path).map_err(ToolError::invalid_arguments)?;
    let mut matches = Vec::new();
    collect(&doc, &segments, String::new(), &mut matches);
    Ok(Json(QueryResult {
        count: matches.len(),
        matches,
    }))
}

fn collect(value: &Value, segments: &[Segment], pointer: String, out: &mut Vec<Match>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(Match {
            pointer,
            value: value.clone(),
        });
        return;
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get(key) {
                collect(child, rest, format!("{pointer}/{}", escape_token(key)), out);
            }
        }
        // A pointer token or dotted key that is a number also indexes arrays.
        (Segment::Key(key), Value::Array(items)) => {
            if let Some(child) = array_index(key).and_then(|i| items.get(i)) {
                collect(child, rest, format!("{pointer}/{key}"), out);
            }
        }
        (Segment::Index(i), Value::Array(items)) => {
            let len = items.len() as i64;
            let index = if *i < 0 { len + i } else { *i };
            if let Some(child) = usize::try_from(index).ok().and_then(|i| items.get(i)) {
                collect(child, rest, format!("{pointer}/{index}"), out);
            }
        }
        (Segment::Wildcard, Value::Object(map)) => {
            for (key, child) in map {
                collect(child, rest, format!("{pointer}/{}", escape_token(key)), out);
            }
        }
        (Segment::Wildcard, Value::Array(items)) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, rest, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A JSON Pointer array index: digits without leading zeros.
fn array_index(token: &str) -> Option<usize> {
    let digits_only = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

// -------------------------------------------------------------------- format

/// Arguments of `format`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatArgs {
    /// The JSON text to format.
    pub text: String,
    /// Spaces per indentation level, 0 to 8 (default 2). 0 minifies.
    #[serde(default)]
    pub indent: Option<u8>,
    /// Sort object keys alphabetically, recursively (default false: keep
    /// the original order).
    #[serde(default)]
    pub sort_keys: Option<bool>,
}

/// Pretty-print or minify JSON text.
pub fn format(args: FormatArgs, _cx: &Context) -> Result<String, ToolError> {
    let indent = args.indent.unwrap_or(2);
    if indent > 8 {
        return Err(ToolError::invalid_arguments(
            "`indent` must be between 0 and 8",
        ));
    }
    let mut value: Value = serde_json::from_str(&args.text)
        .map_err(|e| ToolError::invalid_arguments(format!("`text` is not valid JSON: {e}")))?;
    if args.sort_keys.unwrap_or(false) {
        sort_keys(&mut value);
    }
    if indent == 0 {
        return Ok(value.to_string());
    }
    let indent = " ".repeat(usize::from(indent));
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(out)?)
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut child) in entries {
                sort_keys(&mut child);
                map.insert(key, child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

// --------------------------------------------------------------- merge_patch

/// Arguments of `merge_patch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergePatchArgs {
    /// The document to patch (a JSON value, or JSON text in a string).
    pub target: Value,
    /// The merge patch (a JSON value, or JSON text in a string).
    pub patch: Value,
}

/// Apply an RFC 7386 merge patch.
pub fn merge_patch(args: MergePatchArgs, _cx: &Context) -> Result<String, ToolError> {
    let mut target = document(args.target);
    apply_merge_patch(&mut target, document(args.patch));
    Ok(target.to_string())
}

/// RFC 7386, section 2.
fn apply_merge_patch(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(&key);
            } else {
                apply_merge_patch(map.entry(key).or_insert(Value::Null), value);
            }
        }
    }
}

// ---------------------------------------------------------------------- diff

/// Arguments of `diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffArgs {
    /// The original document (a JSON value, or JSON text in a string).
    pub before: Value,
    /// The changed document (a JSON value, or JSON text in a string).
    pub after: Value,
}

/// A JSON Patch operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// A value was added.
    Add,
    /// A value was removed.
    Remove,
    /// A value changed.
    Replace,
}

/// One difference, as a JSON Patch operation.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Change {
    /// What happened.
    pub op: Op,
    /// Where, as a JSON Pointer.
    pub path: String,
    /// The new value (for add and replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The previous value (for remove and replace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
}

/// What `diff` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct DiffResult {
    /// Whether the documents are equal.
    pub equal: bool,
    /// The operations turning `before` into `after`, in an order that can be
    /// applied as a JSON Patch.
    pub changes: Vec<Change>,
}

/// Compare two documents.
pub fn diff(args: DiffArgs, _cx: &Context) -> Result<Json<DiffResult>, ToolError> {
    let mut changes = Vec::new();
    diff_values(
        &document(args.before),
        &document(args.after),
        String::new(),
        &mut changes,
    );
    Ok(Json(DiffResult {
        equal: changes.is_empty(),
        changes,
    }))
}

fn diff_values(before: &Value, after: &Value, path: String, out: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                let child = format!("{path}/{}", escape_token(key));
                match b.get(key) {
                    Some(new) => diff_values(old, new, child, out),
                    None => out.push(Change {
                        op: Op::Remove,
                        path: child,
                        value: None,
                        old: Some(old.clone()),
                    }),
                }
            }
            for (key, new) in b {
                if !a.contains_key(key) {
                    out.push(Change {
                        op: Op::Add,
                        path: format!("{path}/{}", escape_token(key)),
                        value: Some(new.clone()),
                        old: None,
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let common = a.len().min(b.len());
            for i in 0..common {
                diff_values(&a[i], &b[i], format!("{path}/{i}"), out);
            }
            // Removals from the end first, so indexes stay valid when applied.
            for i in (common..a.len()).rev() {
                out.push(Change {
                    op: Op::Remove,
                    path: format!("{path}/{i}"),
                    value: None,
                    old: Some(a[i].clone()),
                });
            }
            for (i, new) in b.iter().enumerate().skip(common) {
                out.push(Change {
                    op: Op::Add,
                    path: format!("{path}/{i}"),
                    value: Some(new.clone()),
                    old: None,
                });
            }
        }
        _ if before == after => {}
        _ => out.push(Change {
            op: Op::Replace,
            path,
            value: Some(after.clone()),
            old: Some(before.clone()),
        }),
    }
}

// ------------------------------------------------------------------- flatten

/// Key style for `flatten`.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KeyStyle {
    /// `a.b[0].c` (keys that are not identifiers are quoted: `a["x y"]`).
    #[default]
    Dotted,
    /// JSON Pointers: `/a/b/0/c`.
    Pointer,
}

/// Arguments of `flatten`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlattenArgs {
    /// The JSON document (a JSON value, or JSON text in a string).
    pub json: Value,
    /// How to write paths (default "dotted").
    #[serde(default)]
    pub style: Option<KeyStyle>,
}

/// Flatten a document into path -> leaf value.
pub fn flatten(args: FlattenArgs, _cx: &Context) -> Result<Json<Map<String, Value>>, ToolError> {
    let style = args.style.unwrap_or_default();
    let mut out = Map::new();
    flatten_into(&document(args.json), style, String::new(), &mut out);
    Ok(Json(out))
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '-')
}

fn flatten_into(value: &Value, style: KeyStyle, path: String, out: &mut Map<String, Value>) {
    let child_key = |key: &str| match style {
        KeyStyle::Pointer => format!("{path}/{}", escape_token(key)),
        KeyStyle::Dotted if is_identifier(key) && path.is_empty() => key.to_owned(),
        KeyStyle::Dotted if is_identifier(key) => format!("{path}.{key}"),
        KeyStyle::Dotted => format!("{path}[{}]", Value::String(key.to_owned())),
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                flatten_into(child, style, child_key(key), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                let key = match style {
                    KeyStyle::Pointer => format!("{path}/{i}"),
                    KeyStyle::Dotted => format!("{path}[{i}]"),
                };
                flatten_into(child, style, key, out);
            }
        }
        leaf => {
            let key = if path.is_empty() && style == KeyStyle::Dotted {
                "$".to_owned()
            } else {
                path
            };
            out.insert(key, leaf.clone());
        }
    }
}

// ------------------------------------------------------------------ validate

/// Arguments of `validate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateArgs {
    /// The text to check.
    pub text: String,
}

/// Where and why parsing failed.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Line of the error, from 1.
    pub line: usize,
    /// Column of the error (characters), from 1.
    pub column: usize,
    /// The offending line with a `^` under the error position.
    pub excerpt: String,
}

/// What `validate` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Validation {
    /// Whether the text is valid JSON.
    pub valid: bool,
    /// The top-level type when valid: object, array, string, number, boolean
    /// or null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The error when invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ParseError>,
}

/// Check whether text is valid JSON.
pub fn validate(args: ValidateArgs, _cx: &Context) -> Result<Json<Validation>, ToolError> {
    Ok(Json(match serde_json::from_str::<Value>(&args.text) {
        Ok(value) => Validation {
            valid: true,
            kind: Some(kind(&value).to_owned()),
            error: None,
        },
        Err(e) => Validation {
            valid: false,
            kind: None,
            error: Some(parse_error(&args.text, &e)),
        },
    }))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    }
}

fn parse_error(text: &str, error: &serde_json::Error) -> ParseError {
    // serde_json appends " at line L column C" to its message; keep the cause.
    let full = error.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(cause, _)| cause)
        .to_owned();
    let mut line = error.line().max(1);
    // serde_json's column counts bytes from 1; column 0 means it had just read
    // the line break, so the error is really at the end of the previous line.
    let mut byte_column = error.column();
    if byte_column == 0 && line > 1 {
        line -= 1;
        byte_column = text.lines().nth(line - 1).map_or(0, |l| l.len() + 1);
    }
    let source_line = text.lines().nth(line - 1).unwrap_or("");
    let column = if byte_column > source_line.len() {
        source_line.chars().count() + 1
    } else {
        let prefix_end = (0..=byte_column)
            .rev()
            .find(|&i| source_line.is_char_boundary(i))
            .unwrap_or(0);
        source_line[..prefix_end].chars().count().max(1)
    };
    const MAX: usize = 120;
    let chars: Vec<char> = source_line.chars().collect();
    let start = column
        .saturating_sub(MAX / 2)
        .min(chars.len().saturating_sub(MAX));
    let shown: String = chars.iter().skip(start).take(MAX).collect();
    let caret = format!("{}^", " ".repeat(column.saturating_sub(1 + start)));
    ParseError {
        message,
        line,
        column,
        excerpt: format!("{shown}\n{caret}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_sdk::CallResult;
    use switchboard_sdk::testing::MockHost;

    fn call(tool: &str, args: Value) -> Result<CallResult, ToolError> {
        JsonTools::tools().call_json(tool, &args, &MockHost::new().context(tool))
    }

    fn structured(tool: &str, args: Value) -> Value {
        match call(tool, args) {
            Ok(r) => r.structured_content.unwrap_or(Value::Null),
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    fn text(tool: &str, args: Value) -> String {
        match call(tool, args) {
            Ok(r) => r.first_text().unwrap_or_default().to_owned(),
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    fn doc() -> Value {
        json!({
            "users": [
                {"name": "Ada", "tags": ["math"], "full name": "Ada Lovelace"},
                {"name": "Alan", "tags": []}
            ],
            "a/b": {"~x": 1},
            "count": 2
        })
    }

    #[test]
    fn lists_tools_with_object_schemas() {
        let tools = JsonTools::tools().list();
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "query",
                "format",
                "merge_patch",
                "diff",
                "flatten",
                "validate"
            ]
        );
        for t in &tools {
            assert_eq!(t.input_schema["type"], "object", "{}", t.name);
            assert_eq!(t.annotations.and_then(|a| a.idempotent), Some(true));
        }
    }

    #[test]
    fn query_by_pointer_and_path() {
        let pointers = |path: &str| -> Vec<(String, Value)> {
            let r = structured("query", json!({"json": doc(), "path": path}));
            let matches = r["matches"].as_array().cloned().unwrap_or_default();
            matches
                .iter()
                .map(|m| {
                    (
                        m["pointer"].as_str().unwrap_or("").to_owned(),
                        m["value"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(
            pointers("/users/1/name"),
            [("/users/1/name".into(), json!("Alan"))]
        );
        assert_eq!(pointers("/a~1b/~0x"), [("/a~1b/~0x".into(), json!(1))]);
        assert_eq!(pointers("").len(), 1);
        assert_eq!(
            pointers("users[*].name"),
            [
                ("/users/0/name".into(), json!("Ada")),
                ("/users/1/name".into(), json!("Alan"))
            ]
        );
        assert_eq!(
            pointers("$.users[-1].name"),
            [("/users/1/name".into(), json!("Alan"))]
        );
        assert_eq!(
            pointers("users[0]['full name']")[0].1,
            json!("Ada Lovelace")
        );
        assert_eq!(pointers("users.0.tags[0]")[0].1, json!("math"));
        assert_eq!(
            pointers("users.*.tags.*"),
            [("/users/0/tags/0".into(), json!("math"))]
        );
        assert_eq!(
            pointers("[\"a/b\"][\"~x\"]"),
            [("/a~1b/~0x".into(), json!(1))]
        );
        assert!(pointers("missing.key").is_empty());
        assert_eq!(pointers("$").len(), 1);
        // JSON text in a string is parsed.
        let r = structured("query", json!({"json": "{\"a\": [1, 2]}", "path": "a[1]"}));
        assert_eq!(r["count"], 1);
        assert_eq!(r["matches"][0]["value"], 2);
        assert!(matches!(
            call("query", json!({"json": {}, "path": "a[1"})),
            Err(ToolError::InvalidArguments(m)) if m.contains("position")
        ));
    }

    #[test]
    fn formatting() {
        let input = r#"{"b": 1, "a": [1, {"d": null, "c": true}]}"#;
        assert_eq!(
            text("format", json!({"text": input, "indent": 0})),
            r#"{"b":1,"a":[1,{"d":null,"c":true}]}"#
        );
        assert_eq!(
            text(
                "format",
                json!({"text": input, "indent": 0, "sort_keys": true})
            ),
            r#"{"a":[1,{"c":true,"d":null}],"b":1}"#
        );
        assert_eq!(
            text("format", json!({"text": "[1,{\"a\":2}]"})),
            "[\n  1,\n  {\n    \"a\": 2\n  }\n]"
        );
        assert_eq!(
            text("format", json!({"text": "[1]", "indent": 4})),
            "[\n    1\n]"
        );
        assert!(matches!(
            call("format", json!({"text": "{oops}"})),
            Err(ToolError::InvalidArguments(m)) if m.contains("line 1 column 2")
        ));
        assert!(matches!(
            call("format", json!({"text": "1", "indent": 9})),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn merge_patch_follows_rfc_7386_examples() {
        // RFC 7386, Appendix A.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            let out = text("merge_patch", json!({"target": target, "patch": patch}));
            assert_eq!(
                serde_json::from_str::<Value>(&out).ok(),
                Some(want),
                "{target} + {patch}"
            );
        }
        // Key order of the target is preserved; text arguments are parsed.
        assert_eq!(
            text(
                "merge_patch",
                json!({"target": "{\"z\":1,\"a\":2}", "patch": "{\"z\":3}"})
            ),
            r#"{"z":3,"a":2}"#
        );
    }

    #[test]
    fn diff_yields_applicable_patch() {
        let before = json!({"a": 1, "b": [1, 2, 3], "c": {"d": "x"}, "gone": true});
        let after = json!({"a": 2, "b": [1, 5], "c": {"d": "x", "e/f": null}, "new": [1]});
        let r = structured("diff", json!({"before": before, "after": after}));
        assert_eq!(r["equal"], false);
        assert_eq!(
            r["changes"],
            json!([
                {"op": "replace", "path": "/a", "value": 2, "old": 1},
                {"op": "replace", "path": "/b/1", "value": 5, "old": 2},
                {"op": "remove", "path": "/b/2", "old": 3},
                {"op": "add", "path": "/c/e~1f", "value": null},
                {"op": "remove", "path": "/gone", "old": true},
                {"op": "add", "path": "/new", "value": [1]}
            ])
        );
        let same = structured(
            "diff",
            json!({"before": {"x": [1]}, "after": "{\"x\": [1]}"}),
        );
        assert_eq!(same, json!({"equal": true, "changes": []}));
        let shrink = structured("diff", json!({"before": [1, 2, 3], "after": [1]}));
        assert_eq!(shrink["changes"][0]["path"], "/2");
        assert_eq!(shrink["changes"][1]["path"], "/1");
    }

    #[test]
    fn flattening() {
        let r = structured("flatten", json!({"json": doc()}));
        assert_eq!(
            r,
            json!({
                "users[0].name": "Ada",
                "users[0].tags[0]": "math",
                "users[0][\"full name\"]": "Ada Lovelace",
                "users[1].name": "Alan",
                "users[1].tags": [],
                "[\"a/b\"][\"~x\"]": 1,
                "count": 2
            })
        );
        let r = structured(
            "flatten",
            json!({"json": {"a": [true]}, "style": "pointer"}),
        );
        assert_eq!(r, json!({"/a/0": true}));
        assert_eq!(structured("flatten", json!({"json": 5})), json!({"$": 5}));
        assert_eq!(
            structured("flatten", json!({"json": 5, "style": "pointer"})),
            json!({"": 5})
        );
    }

    #[test]
    fn validation_reports_positions() {
        assert_eq!(
            structured("validate", json!({"text": " [1, 2] "})),
            json!({"valid": true, "kind": "array"})
        );
        let r = structured(
            "validate",
            json!({"text": "{\n  \"a\": 1,\n  \"b\": tru\n}"}),
        );
        assert_eq!(r["valid"], false);
        assert_eq!(r["error"]["line"], 3);
        assert_eq!(r["error"]["message"], "expected ident");
        assert_eq!(r["error"]["column"], 11);
        assert_eq!(r["error"]["excerpt"], "  \"b\": tru\n          ^");
        let r = structured("validate", json!({"text": "[1,\n 2,\n"}));
        assert_eq!(
            (r["error"]["line"].clone(), r["error"]["column"].clone()),
            (json!(2), json!(4))
        );
        let r = structured("validate", json!({"text": "{\"é\": }"}));
        assert_eq!(r["error"]["column"], 7);
        let r = structured("validate", json!({"text": ""}));
        assert_eq!(r["valid"], false);
        assert_eq!(r["error"]["message"], "EOF while parsing a value");
        let r = structured("validate", json!({"text": "[1] x"}));
        assert_eq!(r["error"]["message"], "trailing characters");
    }
}
