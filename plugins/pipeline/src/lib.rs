//! `pipeline-tools`: tools that chain other plugins' tools through the host.
//!
//! This plugin computes almost nothing itself: each tool is a short pipeline
//! of calls to the example plugins `text`, `json` and `codec`, made through
//! [`Context::call_tool`], so the host checks every call against this
//! plugin's grants, its chain depth and cycles. It shows the pattern for a
//! plugin that composes others:
//!
//! - each host call is a numbered step with a progress report
//!   (`step i of n: <tool>`) and an info log line;
//! - a failing step becomes a tool error naming the step, the tool and the
//!   reason, keeping the error's kind (a denied call stays `denied`, with how
//!   to grant it);
//! - results are read as typed structures ([`CallResult::parse`]) or text.
//!
//! Tools (names as the plugin registers them; clients see them as
//! `pipeline_<name>`):
//!
//! | tool | calls |
//! |------|-------|
//! | `document_report` | `text_word_count`, `codec_hash`, `text_slugify` |
//! | `extract_and_hash` | `json_query`, then `codec_hash` per match |
//! | `json_fingerprint` | `json_format`, `codec_hash` |
//!
//! The callees are addressed by their default names (`<plugin>_<tool>`), so
//! the `text`, `json` and `codec` plugins must be loaded under those names
//! without a prefix override. Grant exactly what the tools call:
//!
//! ```toml
//! [plugins.pipeline]
//! component = "target/wasm32-wasip2/release/pipeline_tools.wasm"
//! grants.tools = ["text_word_count", "text_slugify", "json_query", "json_format", "codec_hash"]
//! ```
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p pipeline-tools`
//! (writes `pipeline_tools.wasm`).

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard_sdk::{CallResult, Context, Json, Plugin, Tool, ToolError, ToolSet, export_plugin};

/// The plugin.
pub struct PipelineTools;

impl Plugin for PipelineTools {
    fn tools() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new(
                    "document_report",
                    "Report on a document in one call: word, line, character and paragraph \
                     counts, reading time, SHA-256 of the text, and a URL slug of its title \
                     (the `title` argument, or the first non-blank line). Chains \
                     text_word_count, codec_hash and text_slugify.",
                    document_report,
                )
                .title("Document report")
                .pure(),
            )
            .tool(
                Tool::new(
                    "extract_and_hash",
                    "Select values in a JSON document by path (as json_query: JSON Pointer or \
                     dotted path with `*` wildcards, e.g. \"users[*].email\") and hash each \
                     match. Strings are hashed as their text; other values as canonical JSON \
                     (compact, keys sorted), the same bytes json_fingerprint hashes. Chains \
                     json_query, then codec_hash per match.",
                    extract_and_hash,
                )
                .title("Extract and hash")
                .pure(),
            )
            .tool(
                Tool::new(
                    "json_fingerprint",
                    "Fingerprint a JSON document independently of key order and whitespace: \
                     its canonical form (compact, object keys sorted recursively) and a hash \
                     of it. Two documents with equal data get equal fingerprints. Chains \
                     json_format and codec_hash.",
                    json_fingerprint,
                )
                .title("JSON fingerprint")
                .pure(),
            )
    }
}

export_plugin!(PipelineTools);

// The tools this plugin calls, by the names clients see.
const TEXT_WORD_COUNT: &str = "text_word_count";
const TEXT_SLUGIFY: &str = "text_slugify";
const JSON_QUERY: &str = "json_query";
const JSON_FORMAT: &str = "json_format";
const CODEC_HASH: &str = "codec_hash";

// --------------------------------------------------------------------- steps

/// A pipeline of host calls run as numbered steps: reports progress before
/// each one and turns its failure into an error that names the step.
struct Steps<'a> {
    cx: &'a Context,
    done: usize,
    total: Option<usize>,
}

impl<'a> Steps<'a> {
    /// `total`: the number of steps, if known up front.
    fn new(cx: &'a Context, total: Option<usize>) -> Self {
        Self { cx, done: 0, total }
    }

    /// The number of steps, once known (e.g. after a query).
    fn set_total(&mut self, total: usize) {
        self.total = Some(total);
    }

    /// How the current step is named in messages: `step 2 of 3 (codec_hash)`.
    fn label(&self, tool: &str) -> String {
        let step = self.done + 1;
        match self.total {
            Some(total) => format!("step {step} of {total} ({tool})"),
            None => format!("step {step} ({tool})"),
        }
    }

    /// Run the next step: call `tool` with `arguments`.
    fn call(&mut self, tool: &str, arguments: &Value) -> Result<(String, CallResult), ToolError> {
        let label = self.label(tool);
        let step = self.done + 1;
        let message = match self.total {
            Some(total) => format!("step {step} of {total}: {tool}"),
            None => format!("step {step}: {tool}"),
        };
        self.cx.progress(
            self.done as f64,
            self.total.map(|t| t as f64),
            Some(&message),
        );
        let result = self
            .cx
            .call_tool(tool, arguments)
            .map_err(|error| step_error(&label, tool, error))?;
        if result.is_error {
            let text = result.all_text();
            let text = if text.is_empty() {
                "(no message)"
            } else {
                &text
            };
            return Err(ToolError::failed(format!(
                "{label} returned an error: {text}"
            )));
        }
        self.done += 1;
        Ok((label, result))
    }

    /// Run the next step and read its structured result as `T`.
    fn call_as<T: DeserializeOwned>(
        &mut self,
        tool: &str,
        arguments: &Value,
    ) -> Result<T, ToolError> {
        let (label, result) = self.call(tool, arguments)?;
        result.parse().map_err(|error| {
            ToolError::failed(format!(
                "{label} returned an unexpected result: {}",
                error.message()
            ))
        })
    }

    /// Run the next step and read its first text block.
    fn call_text(&mut self, tool: &str, arguments: &Value) -> Result<String, ToolError> {
        let (label, result) = self.call(tool, arguments)?;
        result.first_text().map(str::to_owned).ok_or_else(|| {
            ToolError::failed(format!(
                "{label} returned an unexpected result: no text content"
            ))
        })
    }

    /// Report that every step is done.
    fn finish(&self) {
        self.cx.progress(
            self.done as f64,
            Some(self.done as f64),
            Some(&format!("done: {} step(s)", self.done)),
        );
    }
}

/// A step's error, saying which step failed and why; the kind is kept,
/// except that a missing tool is this plugin's failure, not a missing tool
/// of ours.
fn step_error(label: &str, tool: &str, error: ToolError) -> ToolError {
    match error {
        ToolError::Denied(m) => {
            let plugin = tool.split('_').next().unwrap_or(tool);
            ToolError::denied(format!(
                "{label} was denied: {m} — grant it by adding \"{tool}\" (or a pattern such as \
                 \"{plugin}_*\") to this plugin's `grants.tools` in the Switchboard config"
            ))
        }
        ToolError::NotFound(m) => ToolError::failed(format!(
            "{label} failed: the host has no tool `{tool}` ({m}) — this plugin needs the \
             `{}` plugin loaded under its default name",
            tool.split('_').next().unwrap_or(tool)
        )),
        ToolError::InvalidArguments(m) => {
            ToolError::invalid_arguments(format!("{label} rejected its arguments: {m}"))
        }
        ToolError::Timeout(m) => ToolError::timeout(format!("{label} timed out: {m}")),
        ToolError::Cancelled(m) => ToolError::cancelled(format!("{label} was cancelled: {m}")),
        ToolError::Failed(m) => ToolError::failed(format!("{label} failed: {m}")),
    }
}

/// Hash algorithms (those `codec_hash` offers).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// SHA-256 (default).
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-1 (legacy; not collision resistant).
    Sha1,
    /// MD5 (legacy; not collision resistant).
    Md5,
}

/// `codec_hash` arguments: hash `input`'s UTF-8 bytes, lowercase hex digest.
fn hash_arguments(input: &str, algorithm: Algorithm) -> Value {
    json!({ "input": input, "algorithm": algorithm })
}

/// Compact JSON with object keys sorted recursively (what `json_format`
/// produces with `indent: 0, sort_keys: true`).
fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, child)| (key.clone(), sorted(child)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

// ----------------------------------------------------------- document_report

/// Slugs are cut to this many characters.
const SLUG_MAX_LENGTH: usize = 60;
/// Reading speed for `reading_minutes`.
const WORDS_PER_MINUTE: usize = 200;

/// Arguments of `document_report`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentReportArgs {
    /// The document's text (plain text or Markdown).
    pub text: String,
    /// The title to make the slug from (default: the first non-blank line of
    /// the text, without leading Markdown `#`).
    #[serde(default)]
    pub title: Option<String>,
}

/// What `text_word_count` answers (the fields used here).
#[derive(Debug, Deserialize)]
struct WordCounts {
    words: usize,
    lines: usize,
    characters: usize,
    bytes: usize,
    paragraphs: usize,
}

/// What `document_report` returns.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DocumentReport {
    /// The title the slug was made from.
    pub title: String,
    /// URL slug of the title, at most 60 characters (from `text_slugify`).
    pub slug: String,
    /// Whitespace-separated words (from `text_word_count`, like the counts below).
    pub words: usize,
    /// Lines.
    pub lines: usize,
    /// Unicode scalar values.
    pub characters: usize,
    /// UTF-8 bytes.
    pub bytes: usize,
    /// Blocks of non-blank lines separated by blank lines.
    pub paragraphs: usize,
    /// Estimated reading time at 200 words per minute, rounded up.
    pub reading_minutes: usize,
    /// SHA-256 of the text's UTF-8 bytes, lowercase hex (from `codec_hash`).
    pub sha256: String,
}

/// Counts, hash and slug of a document.
pub fn document_report(
    args: DocumentReportArgs,
    cx: &Context,
) -> Result<Json<DocumentReport>, ToolError> {
    if args.text.trim().is_empty() {
        return Err(ToolError::invalid_arguments(
            "`text` must not be empty or blank",
        ));
    }
    let title = match args.title {
        Some(title) if !title.trim().is_empty() => title.trim().to_owned(),
        Some(_) => return Err(ToolError::invalid_arguments("`title` must not be blank")),
        None => first_line_title(&args.text),
    };

    let mut steps = Steps::new(cx, Some(3));
    let counts: WordCounts = steps.call_as(TEXT_WORD_COUNT, &json!({ "text": args.text }))?;
    cx.info(format_args!(
        "counted {} word(s) in {} line(s)",
        counts.words, counts.lines
    ));
    let sha256 = steps.call_text(CODEC_HASH, &hash_arguments(&args.text, Algorithm::Sha256))?;
    cx.info(format_args!("sha256 {sha256}"));
    let slug = steps.call_text(
        TEXT_SLUGIFY,
        &json!({ "text": title, "max_length": SLUG_MAX_LENGTH }),
    )?;
    cx.info(format_args!("slug {slug:?} from title {title:?}"));
    steps.finish();

    Ok(Json(DocumentReport {
        title,
        slug,
        words: counts.words,
        lines: counts.lines,
        characters: counts.characters,
        bytes: counts.bytes,
        paragraphs: counts.paragraphs,
        reading_minutes: counts.words.div_ceil(WORDS_PER_MINUTE),
        sha256,
    }))
}

/// The first non-blank line, without Markdown heading marks.
fn first_line_title(text: &str) -> String {
    text.lines()
        .map(|line| line.trim().trim_start_matches('#').trim())
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------- extract_and_hash

/// Default and maximum of `extract_and_hash`'s `limit`.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// Arguments of `extract_and_hash`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractAndHashArgs {
    /// The JSON document (a JSON value, or JSON text in a string).
    pub json: Value,
    /// Which values to hash: a JSON Pointer ("" or starting with "/") or a
    /// dotted path such as "users[*].email"; `*` and `[*]` match every key or
    /// element.
    pub path: String,
    /// The hash algorithm (default sha256).
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// Hash at most this many matches, 1 to 100 (default 20); the rest are
    /// counted but not hashed.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// What `json_query` answers.
#[derive(Debug, Deserialize)]
struct QueryResult {
    count: usize,
    matches: Vec<QueryMatch>,
}

#[derive(Debug, Deserialize)]
struct QueryMatch {
    pointer: String,
    value: Value,
}

/// How a matched value was turned into bytes to hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashedAs {
    /// A string: its text (UTF-8).
    Text,
    /// Any other value: canonical JSON (compact, object keys sorted).
    CanonicalJson,
}

/// One hashed match.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct HashedValue {
    /// Where the value is, as a JSON Pointer.
    pub pointer: String,
    /// The value.
    pub value: Value,
    /// How the value was hashed.
    pub hashed_as: HashedAs,
    /// The digest, lowercase hex.
    pub digest: String,
}

/// What `extract_and_hash` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct ExtractAndHash {
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// How many values matched the path.
    pub matched: usize,
    /// Whether some matches were not hashed because of `limit`.
    pub truncated: bool,
    /// The hashed matches, in document order.
    pub items: Vec<HashedValue>,
}

/// Query a document, then hash each match.
pub fn extract_and_hash(
    args: ExtractAndHashArgs,
    cx: &Context,
) -> Result<Json<ExtractAndHash>, ToolError> {
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid_arguments(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let algorithm = args.algorithm.unwrap_or_default();

    // One query step, then one hash step per match: the total is known after
    // the query.
    let mut steps = Steps::new(cx, None);
    let query: QueryResult =
        steps.call_as(JSON_QUERY, &json!({ "json": args.json, "path": args.path }))?;
    let truncated = query.matches.len() > limit;
    let selected: Vec<QueryMatch> = query.matches.into_iter().take(limit).collect();
    steps.set_total(1 + selected.len());
    if truncated {
        cx.warn(format_args!(
            "{} values match `{}`; hashing the first {limit} (raise `limit`, at most {MAX_LIMIT})",
            query.count, args.path
        ));
    } else {
        cx.info(format_args!(
            "{} value(s) match `{}`",
            query.count, args.path
        ));
    }

    let mut items = Vec::with_capacity(selected.len());
    for found in selected {
        let (input, hashed_as) = match &found.value {
            Value::String(text) => (text.clone(), HashedAs::Text),
            other => (canonical_json(other), HashedAs::CanonicalJson),
        };
        let digest = steps.call_text(CODEC_HASH, &hash_arguments(&input, algorithm))?;
        cx.info(format_args!("{} -> {digest}", found.pointer));
        items.push(HashedValue {
            pointer: found.pointer,
            value: found.value,
            hashed_as,
            digest,
        });
    }
    steps.finish();

    Ok(Json(ExtractAndHash {
        algorithm,
        matched: query.count,
        truncated,
        items,
    }))
}

// ---------------------------------------------------------- json_fingerprint

/// Arguments of `json_fingerprint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintArgs {
    /// The JSON document (a JSON value, or JSON text in a string).
    pub json: Value,
    /// The hash algorithm (default sha256).
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
}

/// What `json_fingerprint` returns.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Fingerprint {
    /// The algorithm used.
    pub algorithm: Algorithm,
    /// The hash of `canonical`'s UTF-8 bytes, lowercase hex (from `codec_hash`).
    pub digest: String,
    /// The document in canonical form: compact, object keys sorted
    /// recursively (from `json_format`).
    pub canonical: String,
}

/// Canonicalize a document, then hash it.
pub fn json_fingerprint(
    args: FingerprintArgs,
    cx: &Context,
) -> Result<Json<Fingerprint>, ToolError> {
    let algorithm = args.algorithm.unwrap_or_default();
    // Like the json plugin: a string holding JSON text is that document; any
    // other value (including a string that is not JSON) is the document itself.
    let text = match &args.json {
        Value::String(text) if serde_json::from_str::<Value>(text).is_ok() => text.clone(),
        other => other.to_string(),
    };

    let mut steps = Steps::new(cx, Some(2));
    let canonical = steps.call_text(
        JSON_FORMAT,
        &json!({ "text": text, "indent": 0, "sort_keys": true }),
    )?;
    cx.info(format_args!("canonical form is {} bytes", canonical.len()));
    let digest = steps.call_text(CODEC_HASH, &hash_arguments(&canonical, algorithm))?;
    cx.info(format_args!("fingerprint {digest}"));
    steps.finish();

    Ok(Json(Fingerprint {
        algorithm,
        digest,
        canonical,
    }))
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use switchboard_sdk::Level;
    use switchboard_sdk::testing::MockHost;

    /// A host that answers calls with the real example plugins (run natively),
    /// by the names clients see, except the tools in `deny`.
    fn real_host(deny: &[&str]) -> MockHost {
        let mut host = MockHost::new();
        let plugins = [
            ("text", text_tools::TextTools::tools()),
            ("json", json_tools::JsonTools::tools()),
            ("codec", codec_tools::CodecTools::tools()),
        ];
        for (plugin, tools) in plugins {
            let tools = Rc::new(tools);
            for info in tools.list() {
                let name = format!("{plugin}_{}", info.name);
                if deny.contains(&name.as_str()) {
                    continue;
                }
                let tools = Rc::clone(&tools);
                host = host.on_call(name, move |args| {
                    tools.call_json(&info.name, args, &MockHost::new().context(&info.name))
                });
            }
        }
        host
    }

    fn call(host: &MockHost, tool: &str, args: Value) -> Result<CallResult, ToolError> {
        PipelineTools::tools().call_json(tool, &args, &host.context(tool))
    }

    fn structured(host: &MockHost, tool: &str, args: Value) -> Value {
        match call(host, tool, args) {
            Ok(result) => result.structured_content.expect("structured content"),
            Err(e) => panic!("{tool}: {e}"),
        }
    }

    fn called(host: &MockHost) -> Vec<String> {
        host.calls().into_iter().map(|(name, _)| name).collect()
    }

    const DOC: &str = "# Release notes\n\nSwitchboard 0.1 ships three plugins.\nChaining works.\n";

    #[test]
    fn lists_tools_with_object_schemas() {
        let tools = PipelineTools::tools().list();
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["document_report", "extract_and_hash", "json_fingerprint"]
        );
        for tool in &tools {
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            assert!(tool.output_schema.is_some(), "{}", tool.name);
            assert_eq!(
                tool.annotations.and_then(|a| a.read_only),
                Some(true),
                "{}",
                tool.name
            );
        }
    }

    #[test]
    fn document_report_chains_three_tools_with_progress() {
        let host = real_host(&[]);
        let report = structured(&host, "document_report", json!({ "text": DOC }));
        assert_eq!(
            report,
            json!({
                "title": "Release notes",
                "slug": "release-notes",
                "words": 10,
                "lines": 4,
                "characters": DOC.chars().count(),
                "bytes": DOC.len(),
                "paragraphs": 2,
                "reading_minutes": 1,
                "sha256": "67c70a3e4c5f440fa63df31e59618466f23dccd6af8582c97ce36030e0822341",
            })
        );
        assert_eq!(called(&host), [TEXT_WORD_COUNT, CODEC_HASH, TEXT_SLUGIFY]);
        let calls = host.calls();
        assert_eq!(calls[1].1, json!({ "input": DOC, "algorithm": "sha256" }));
        assert_eq!(
            calls[2].1,
            json!({ "text": "Release notes", "max_length": 60 })
        );
        let progress = host.progress_reports();
        let steps: Vec<(f64, Option<f64>)> = progress.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(
            steps,
            [
                (0.0, Some(3.0)),
                (1.0, Some(3.0)),
                (2.0, Some(3.0)),
                (3.0, Some(3.0))
            ]
        );
        assert_eq!(progress[1].2.as_deref(), Some("step 2 of 3: codec_hash"));
        let infos = host
            .logs()
            .into_iter()
            .filter(|(level, _)| *level == Level::Info)
            .count();
        assert_eq!(infos, 3);
    }

    #[test]
    fn document_report_uses_the_given_title() {
        let host = real_host(&[]);
        let report = structured(
            &host,
            "document_report",
            json!({ "text": "body", "title": "  Crème Brûlée!  " }),
        );
        assert_eq!(report["title"], "Crème Brûlée!");
        assert_eq!(report["slug"], "creme-brulee");
    }

    #[test]
    fn a_denied_step_names_the_step_and_the_grant() {
        let host = real_host(&[CODEC_HASH]);
        let error = call(&host, "document_report", json!({ "text": DOC })).unwrap_err();
        let ToolError::Denied(message) = &error else {
            panic!("expected denied, got {error:?}");
        };
        assert!(
            message.starts_with("step 2 of 3 (codec_hash) was denied: "),
            "{message}"
        );
        assert!(
            message.contains("tool `codec_hash` is not granted"),
            "{message}"
        );
        assert!(message.contains("\"codec_hash\""), "{message}");
        assert!(message.contains("grants.tools"), "{message}");
        // The pipeline stopped at the denied step.
        assert_eq!(called(&host), [TEXT_WORD_COUNT, CODEC_HASH]);
    }

    #[test]
    fn step_errors_keep_their_kind_and_name_the_step() {
        let host = MockHost::new()
            .on_call(TEXT_WORD_COUNT, |_| {
                Ok(CallResult::text(
                    r#"{"words":1,"lines":1,"characters":1,"bytes":1,"paragraphs":1}"#,
                ))
            })
            .on_call(CODEC_HASH, |_| Err(ToolError::timeout("took 5000 ms")))
            .on_call(TEXT_SLUGIFY, |_| Ok(CallResult::text("x")));
        let error = call(&host, "document_report", json!({ "text": "x" })).unwrap_err();
        assert_eq!(
            error,
            ToolError::Timeout("step 2 of 3 (codec_hash) timed out: took 5000 ms".into())
        );

        let host = MockHost::new().on_call(TEXT_WORD_COUNT, |_| Ok(CallResult::error_text("boom")));
        let error = call(&host, "document_report", json!({ "text": "x" })).unwrap_err();
        assert_eq!(
            error,
            ToolError::Failed("step 1 of 3 (text_word_count) returned an error: boom".into())
        );

        let host = MockHost::new().on_call(TEXT_WORD_COUNT, |_| Ok(CallResult::text("not json")));
        let error = call(&host, "document_report", json!({ "text": "x" })).unwrap_err();
        assert!(
            matches!(&error, ToolError::Failed(m)
                if m.starts_with("step 1 of 3 (text_word_count) returned an unexpected result: ")),
            "{error:?}"
        );

        let host = MockHost::new().on_call(JSON_FORMAT, |_| {
            Err(ToolError::not_found("no tool named `json_format`"))
        });
        let error = call(&host, "json_fingerprint", json!({ "json": {} })).unwrap_err();
        assert!(
            matches!(&error, ToolError::Failed(m)
                if m.starts_with("step 1 of 2 (json_format) failed: the host has no tool")
                    && m.contains("`json` plugin loaded")),
            "{error:?}"
        );
    }

    #[test]
    fn invalid_input_is_rejected_before_any_call() {
        let host = real_host(&[]);
        for (tool, args, needle) in [
            ("document_report", json!({ "text": "  \n" }), "`text`"),
            (
                "document_report",
                json!({ "text": "a", "title": " " }),
                "`title`",
            ),
            (
                "extract_and_hash",
                json!({ "json": {}, "path": "", "limit": 0 }),
                "`limit`",
            ),
            (
                "extract_and_hash",
                json!({ "json": {}, "path": "", "algorithm": "crc32" }),
                "unknown variant",
            ),
        ] {
            match call(&host, tool, args) {
                Err(ToolError::InvalidArguments(m)) => assert!(m.contains(needle), "{m}"),
                other => panic!("{tool}: {other:?}"),
            }
        }
        assert!(host.calls().is_empty());
    }

    #[test]
    fn extract_and_hash_hashes_each_match() {
        let host = real_host(&[]);
        let doc = json!({
            "users": [
                { "name": "Ada", "email": "ada@example.com" },
                { "name": "Alan", "email": "alan@example.com" },
                { "name": "Grace" }
            ]
        });
        let out = structured(
            &host,
            "extract_and_hash",
            json!({ "json": doc, "path": "users[*].email" }),
        );
        assert_eq!(out["algorithm"], "sha256");
        assert_eq!(out["matched"], 2);
        assert_eq!(out["truncated"], false);
        let items = out["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["pointer"], "/users/0/email");
        assert_eq!(items[0]["value"], "ada@example.com");
        assert_eq!(items[0]["hashed_as"], "text");
        // sha256("ada@example.com")
        let expected = codec_tools::CodecTools::tools()
            .call_json(
                "hash",
                &json!({ "input": "ada@example.com" }),
                &MockHost::new().context("hash"),
            )
            .expect("hash");
        assert_eq!(items[0]["digest"], expected.first_text().expect("text"));
        assert_eq!(called(&host), [JSON_QUERY, CODEC_HASH, CODEC_HASH]);
        let totals: Vec<Option<f64>> = host.progress_reports().iter().map(|p| p.1).collect();
        assert_eq!(totals, [None, Some(3.0), Some(3.0), Some(3.0)]);
    }

    #[test]
    fn extract_and_hash_limits_and_other_algorithms() {
        let host = real_host(&[]);
        let out = structured(
            &host,
            "extract_and_hash",
            json!({ "json": "[1, 2, 3]", "path": "[*]", "limit": 2, "algorithm": "md5" }),
        );
        assert_eq!(out["matched"], 3);
        assert_eq!(out["truncated"], true);
        assert_eq!(out["items"].as_array().map(Vec::len), Some(2));
        // md5("1")
        assert_eq!(
            out["items"][0]["digest"],
            "c4ca4238a0b923820dcc509a6f75849b"
        );
        assert_eq!(out["items"][0]["hashed_as"], "canonical_json");
        assert!(
            host.logs()
                .iter()
                .any(|(level, m)| *level == Level::Warning && m.contains("first 2"))
        );

        let out = structured(
            &host,
            "extract_and_hash",
            json!({ "json": {}, "path": "/missing" }),
        );
        assert_eq!(out["matched"], 0);
        assert_eq!(out["items"], json!([]));
    }

    #[test]
    fn extract_and_hash_reports_a_bad_path_as_the_query_step() {
        let host = real_host(&[]);
        let error = call(
            &host,
            "extract_and_hash",
            json!({ "json": {}, "path": "a[" }),
        )
        .unwrap_err();
        assert!(
            matches!(&error, ToolError::InvalidArguments(m)
                if m.starts_with("step 1 (json_query) rejected its arguments: ")),
            "{error:?}"
        );
    }

    #[test]
    fn fingerprints_ignore_key_order_and_whitespace() {
        let host = real_host(&[]);
        let a = structured(
            &host,
            "json_fingerprint",
            json!({ "json": "{ \"b\": 1, \"a\": [1, {\"d\": 2, \"c\": 3}] }" }),
        );
        let b = structured(
            &host,
            "json_fingerprint",
            json!({ "json": { "a": [1, { "c": 3, "d": 2 }], "b": 1 } }),
        );
        assert_eq!(a, b);
        assert_eq!(a["canonical"], r#"{"a":[1,{"c":3,"d":2}],"b":1}"#);
        assert_eq!(a["algorithm"], "sha256");

        // extract_and_hash hashes non-string values the same way.
        let extracted = structured(
            &host,
            "extract_and_hash",
            json!({ "json": { "doc": { "b": 1, "a": [1, { "d": 2, "c": 3 }] } }, "path": "doc" }),
        );
        assert_eq!(extracted["items"][0]["digest"], a["digest"]);
        assert_eq!(
            canonical_json(&json!({ "b": 1, "a": [1, { "d": 2, "c": 3 }] })),
            a["canonical"]
        );
    }

    #[test]
    fn a_string_that_is_not_json_is_fingerprinted_as_a_string() {
        let host = real_host(&[]);
        let out = structured(&host, "json_fingerprint", json!({ "json": "hello" }));
        assert_eq!(out["canonical"], r#""hello""#);
    }
}
