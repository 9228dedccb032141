//! Typed tools: [`Tool`], [`ToolSet`], [`IntoToolOutput`], [`Json`].

use std::fmt;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::Contract;
use crate::{CallResult, Context, PromptSet, ResourceSet, ToolError};

/// Hints about a tool's behaviour (MCP tool annotations). `None` means "not
/// stated"; clients then assume the spec's defaults (not read-only,
/// destructive, not idempotent, open world).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// The tool does not modify its environment.
    pub read_only: Option<bool>,
    /// The tool may perform destructive updates (meaningful when not read-only).
    pub destructive: Option<bool>,
    /// Calling it again with the same arguments has no additional effect.
    pub idempotent: Option<bool>,
    /// The tool interacts with an open world of external entities.
    pub open_world: Option<bool>,
}

/// A tool's description as the host sees it (also what
/// [`Context::list_tools`] returns for the tools a plugin may call).
#[derive(Clone, Debug, PartialEq)]
pub struct ToolInfo {
    /// Name, `[A-Za-z0-9_-]{1,64}`.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub input_schema: Value,
    /// JSON Schema of the structured content, when the tool returns it.
    pub output_schema: Option<Value>,
    /// Behaviour hints.
    pub annotations: Option<Annotations>,
}

/// The arguments type of a tool that takes none: accepts `{}`.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Structured output: returning `Json(value)` sends `value` as structured
/// content, a text block holding the same JSON (as MCP recommends), and
/// declares `T`'s JSON Schema as the tool's output schema. `T` must
/// serialize to a JSON object (a struct or map).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// What a tool function may return (inside `Result<_, _>`).
///
/// Implemented for `String`, `&str` (one text block), [`Json<T>`]
/// (structured content + output schema) and [`CallResult`] (full control).
pub trait IntoToolOutput {
    /// The output schema this type declares, if any. Must have root
    /// `"type": "object"`.
    fn output_schema() -> Option<Value> {
        None
    }

    /// Turn the value into a result.
    fn into_call_result(self) -> Result<CallResult, ToolError>;
}

impl IntoToolOutput for String {
    fn into_call_result(self) -> Result<CallResult, ToolError> {
        Ok(CallResult::text(self))
    }
}

impl IntoToolOutput for &str {
    fn into_call_result(self) -> Result<CallResult, ToolError> {
        Ok(CallResult::text(self))
    }
}

impl IntoToolOutput for CallResult {
    fn into_call_result(self) -> Result<CallResult, ToolError> {
        Ok(self)
    }
}

impl<T: Serialize + JsonSchema> IntoToolOutput for Json<T> {
    fn output_schema() -> Option<Value> {
        Some(output_schema_for::<T>())
    }

    fn into_call_result(self) -> Result<CallResult, ToolError> {
        let value = serde_json::to_value(&self.0)
            .map_err(|e| ToolError::failed(format!("cannot serialize the result: {e}")))?;
        if !value.is_object() {
            return Err(ToolError::failed(
                "structured output must be a JSON object (the tool's output type is not a struct or map)",
            ));
        }
        let text = value.to_string();
        Ok(CallResult::text(text).with_structured(value))
    }
}

pub(crate) fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        // Clients handle self-contained schemas best; recursive types still
        // use `$ref`/`$defs`.
        s.inline_subschemas = true;
        s.meta_schema = None;
    })
}

fn finish(mut schema: Value, contract: Contract) -> Value {
    if let Some(object) = schema.as_object_mut() {
        // The root title is the Rust type's name: noise for a model.
        object.remove("title");
    }
    crate::schema::make_portable(&mut schema, contract);
    schema
}

/// The JSON Schema the SDK derives for a tool's arguments type `T`
/// (draft 2020-12, subschemas inlined, no `$schema`/root `title`), made
/// portable: no `type` arrays, only standard `format`s, no schema that
/// accepts anything without saying so.
///
/// An `Option<T>` field is not required and is `T` or `null` (one-type
/// `anyOf` branches): serde reads both a missing field and `null` as `None`.
pub fn input_schema_for<T: JsonSchema>() -> Value {
    let generator: SchemaGenerator = settings().for_deserialize().into_generator();
    finish(
        generator.into_root_schema_for::<T>().to_value(),
        Contract::Arguments,
    )
}

/// The JSON Schema the SDK derives for a structured output type `T`, made
/// portable like [`input_schema_for`]'s.
///
/// It describes what serde writes: an `Option<T>` field with
/// `#[serde(skip_serializing_if = "Option::is_none")]` is left out for
/// `None`, so it has the schema of `T` and is not required; one without it
/// is written as `null` for `None`, so it is required and its schema is
/// `{"anyOf": [<T>, {"type": "null"}]}`.
pub fn output_schema_for<T: JsonSchema>() -> Value {
    let generator: SchemaGenerator = settings().for_serialize().into_generator();
    finish(
        generator.into_root_schema_for::<T>().to_value(),
        Contract::Output,
    )
}

fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

/// Whether `name` is a valid tool name: `[A-Za-z0-9_-]`, 1 to 64 characters.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

type Handler = Box<dyn Fn(&str, &Context) -> Result<CallResult, ToolError> + Send + Sync>;

/// Where a schema comes from. Derived schemas are generated only when the
/// host lists tools (once, at load), never on a call.
enum SchemaSource {
    Derived(fn() -> Option<Value>),
    Fixed(Value),
}

impl SchemaSource {
    fn get(&self) -> Option<Value> {
        match self {
            Self::Derived(make) => make(),
            Self::Fixed(value) => Some(value.clone()),
        }
    }
}

/// One typed tool: a name, a description, a function, and optional title
/// and annotations.
///
/// The function takes the arguments (any `DeserializeOwned + JsonSchema`
/// struct; doc comments on its fields become descriptions in the schema)
/// and a [`Context`], and returns `Result<O, E>` where `O:`
/// [`IntoToolOutput`] and `E: Into<ToolError>`.
pub struct Tool {
    name: String,
    title: Option<String>,
    description: String,
    annotations: Option<Annotations>,
    input_schema: SchemaSource,
    output_schema: SchemaSource,
    handler: Handler,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("title", &self.title)
            .field("description", &self.description)
            .field("annotations", &self.annotations)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool named `name` running `handler`.
    ///
    /// # Panics
    ///
    /// If `name` is not `[A-Za-z0-9_-]{1,64}`: that is a bug in the plugin,
    /// caught by any unit test that builds the [`ToolSet`].
    pub fn new<A, O, E, F>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        O: IntoToolOutput,
        E: Into<ToolError>,
        F: Fn(A, &Context) -> Result<O, E> + Send + Sync + 'static,
    {
        let name = name.into();
        assert!(
            is_valid_tool_name(&name),
            "invalid tool name {name:?}: use 1 to 64 characters from [A-Za-z0-9_-]"
        );
        let handler: Handler = Box::new(move |arguments: &str, cx: &Context| {
            let arguments = if arguments.trim().is_empty() {
                "{}"
            } else {
                arguments
            };
            let args: A = serde_json::from_str(arguments)
                .map_err(|e| ToolError::invalid_arguments(format!("invalid arguments: {e}")))?;
            handler(args, cx).map_err(Into::into)?.into_call_result()
        });
        Self {
            name,
            title: None,
            description: description.into(),
            annotations: None,
            input_schema: SchemaSource::Derived(|| Some(input_schema_for::<A>())),
            output_schema: SchemaSource::Derived(O::output_schema),
            handler,
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Set all annotations at once.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    fn annotate(mut self, set: impl FnOnce(&mut Annotations)) -> Self {
        set(self.annotations.get_or_insert_with(Annotations::default));
        self
    }

    /// Hint: the tool does not modify its environment.
    pub fn read_only(self) -> Self {
        self.annotate(|a| a.read_only = Some(true))
    }

    /// Hint: the tool may (`true`) or does not (`false`) perform destructive
    /// updates.
    pub fn destructive(self, destructive: bool) -> Self {
        self.annotate(|a| {
            a.read_only = Some(false);
            a.destructive = Some(destructive);
        })
    }

    /// Hint: repeating a call with the same arguments has no further effect.
    pub fn idempotent(self) -> Self {
        self.annotate(|a| a.idempotent = Some(true))
    }

    /// Hint: the tool does (`true`) or does not (`false`) reach an open world
    /// of external entities (the web, other services).
    pub fn open_world(self, open_world: bool) -> Self {
        self.annotate(|a| a.open_world = Some(open_world))
    }

    /// Shorthand for a pure computation: read-only, idempotent, closed world.
    pub fn pure(self) -> Self {
        self.read_only().idempotent().open_world(false)
    }

    /// Declare `T`'s schema as the output schema (for tools returning a raw
    /// [`CallResult`] with structured content; [`Json`] does this itself).
    pub fn output_schema_of<T: JsonSchema>(mut self) -> Self {
        self.output_schema = SchemaSource::Derived(|| Some(output_schema_for::<T>()));
        self
    }

    /// Use a hand-written input schema instead of the derived one. It must
    /// have root `"type": "object"` and accept what the arguments type
    /// deserializes.
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = SchemaSource::Fixed(schema);
        self
    }

    /// The tool's description with schemas, as the host sees it.
    ///
    /// # Panics
    ///
    /// If a schema's root is not `"type": "object"` (e.g. the arguments type
    /// is an enum or a tuple): a bug in the plugin.
    pub fn info(&self) -> ToolInfo {
        let input_schema = self
            .input_schema
            .get()
            .unwrap_or_else(|| serde_json::json!({ "type": "object" }));
        assert!(
            is_object_schema(&input_schema),
            "tool `{}`: the arguments type must be a struct (JSON Schema root \"type\": \"object\"), got {input_schema}",
            self.name
        );
        let output_schema = self.output_schema.get();
        if let Some(schema) = &output_schema {
            assert!(
                is_object_schema(schema),
                "tool `{}`: the structured output type must be a struct or map (JSON Schema root \"type\": \"object\"), got {schema}",
                self.name
            );
        }
        ToolInfo {
            name: self.name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            input_schema,
            output_schema,
            annotations: self.annotations,
        }
    }

    /// Run the tool on JSON arguments (text).
    pub fn call(&self, arguments: &str, cx: &Context) -> Result<CallResult, ToolError> {
        (self.handler)(arguments, cx)
    }
}

/// The tools a plugin offers.
///
/// ```
/// use switchboard_sdk::{Context, Tool, ToolError, ToolSet};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args {
///     /// Text to shout.
///     text: String,
/// }
///
/// fn shout(args: Args, _cx: &Context) -> Result<String, ToolError> {
///     Ok(args.text.to_uppercase())
/// }
///
/// let tools = ToolSet::new().tool(Tool::new("shout", "Uppercase text", shout).pure());
/// let cx = switchboard_sdk::testing::MockHost::new().context("shout");
/// let out = tools.call("shout", r#"{"text":"hi"}"#, &cx).unwrap();
/// assert_eq!(out.first_text(), Some("HI"));
/// ```
#[derive(Debug, Default)]
pub struct ToolSet {
    tools: Vec<Tool>,
}

impl ToolSet {
    /// No tools yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a tool.
    ///
    /// # Panics
    ///
    /// If a tool with the same name is already in the set.
    pub fn tool(mut self, tool: Tool) -> Self {
        assert!(
            self.get(&tool.name).is_none(),
            "duplicate tool name `{}`",
            tool.name
        );
        self.tools.push(tool);
        self
    }

    /// Shorthand for `.tool(Tool::new(name, description, handler))`.
    pub fn add<A, O, E, F>(
        self,
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        O: IntoToolOutput,
        E: Into<ToolError>,
        F: Fn(A, &Context) -> Result<O, E> + Send + Sync + 'static,
    {
        self.tool(Tool::new(name, description, handler))
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The tools, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }

    /// Every tool's description with schemas (what the host's `list-tools`
    /// gets). Call it in a unit test: it panics on a schema that is not an
    /// object.
    pub fn list(&self) -> Vec<ToolInfo> {
        self.tools.iter().map(Tool::info).collect()
    }

    /// Run the tool `name` on JSON arguments (text). Unknown names answer
    /// [`ToolError::NotFound`]; arguments that do not deserialize answer
    /// [`ToolError::InvalidArguments`] with serde's message.
    pub fn call(&self, name: &str, arguments: &str, cx: &Context) -> Result<CallResult, ToolError> {
        match self.get(name) {
            Some(tool) => tool.call(arguments, cx),
            None => Err(ToolError::not_found(format!("no tool named `{name}`"))),
        }
    }

    /// [`call`](Self::call) with a JSON value, for tests.
    pub fn call_json(
        &self,
        name: &str,
        arguments: &Value,
        cx: &Context,
    ) -> Result<CallResult, ToolError> {
        self.call(name, &arguments.to_string(), cx)
    }
}

/// A plugin: the set of tools it offers. Export it with
/// [`export_plugin!`](crate::export_plugin).
pub trait Plugin {
    /// Build the tool set. Called at most once per plugin instance.
    fn tools() -> ToolSet;

    /// The resources and resource templates it serves (none by default).
    /// Called at most once per plugin instance.
    fn resources() -> ResourceSet {
        ResourceSet::new()
    }

    /// The prompts it serves (none by default). Called at most once per
    /// plugin instance.
    fn prompts() -> PromptSet {
        PromptSet::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHost;
    use crate::{Content, Level};
    use serde_json::json;
    use std::collections::BTreeMap;

    /// Count things.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct CountArgs {
        /// The text to count in.
        text: String,
        /// Also count blank lines.
        #[serde(default)]
        blank_lines: Option<bool>,
        mode: Mode,
        nested: Option<Nested>,
    }

    #[derive(Deserialize, JsonSchema, Default)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        #[default]
        Words,
        Chars,
    }

    #[derive(Deserialize, JsonSchema)]
    struct Nested {
        depth: u8,
    }

    #[derive(Serialize, JsonSchema, Debug, PartialEq)]
    struct Counts {
        /// Number of units.
        n: usize,
    }

    fn count(args: CountArgs, cx: &Context) -> Result<Json<Counts>, ToolError> {
        cx.debug("counting");
        let n = match args.mode {
            Mode::Words => args.text.split_whitespace().count(),
            Mode::Chars => args.text.chars().count(),
        };
        let _ = (args.blank_lines, args.nested.map(|n| n.depth));
        Ok(Json(Counts { n }))
    }

    fn upper(args: TextArgs, _cx: &Context) -> Result<String, ToolError> {
        if args.text.is_empty() {
            return Err(ToolError::invalid_arguments("`text` must not be empty"));
        }
        Ok(args.text.to_uppercase())
    }

    #[derive(Deserialize, JsonSchema)]
    struct TextArgs {
        text: String,
    }

    fn parse_num(args: TextArgs, _cx: &Context) -> Result<&'static str, ToolError> {
        let _n: i64 = args.text.parse()?;
        Ok("ok")
    }

    fn set() -> ToolSet {
        ToolSet::new()
            .tool(
                Tool::new("count", "Count words or chars", count)
                    .title("Count")
                    .pure(),
            )
            .add("upper", "Uppercase", upper)
            .add("parse_num", "Parse an integer", parse_num)
            .add("nothing", "Takes no arguments", |_: NoArgs, _: &Context| {
                Ok::<_, ToolError>(CallResult::new())
            })
    }

    #[test]
    fn input_schema_is_a_self_contained_object_with_descriptions() {
        let info = set().list();
        let schema = &info[0].input_schema;
        assert_eq!(schema["type"], "object");
        assert!(schema.get("$schema").is_none());
        assert!(schema.get("title").is_none());
        assert!(
            schema.get("$defs").is_none(),
            "subschemas are inlined: {schema}"
        );
        assert_eq!(schema["description"], "Count things.");
        assert_eq!(
            schema["properties"]["text"]["description"],
            "The text to count in."
        );
        assert_eq!(schema["required"], json!(["text", "mode"]));
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["mode"]["enum"],
            json!(["words", "chars"])
        );
        assert_eq!(info[3].input_schema["type"], "object");
    }

    #[test]
    fn output_schema_only_for_json_outputs() {
        let info = set().list();
        let out = info[0]
            .output_schema
            .as_ref()
            .expect("Json declares a schema");
        assert_eq!(out["type"], "object");
        assert_eq!(out["properties"]["n"]["description"], "Number of units.");
        assert!(info[1].output_schema.is_none());
    }

    #[test]
    fn annotations_and_titles() {
        let info = set().list();
        assert_eq!(info[0].title.as_deref(), Some("Count"));
        assert_eq!(
            info[0].annotations,
            Some(Annotations {
                read_only: Some(true),
                destructive: None,
                idempotent: Some(true),
                open_world: Some(false),
            })
        );
        assert_eq!(info[1].annotations, None);
        let t = Tool::new("d", "d", upper)
            .destructive(true)
            .open_world(true);
        assert_eq!(
            t.info().annotations,
            Some(Annotations {
                read_only: Some(false),
                destructive: Some(true),
                idempotent: None,
                open_world: Some(true),
            })
        );
    }

    #[test]
    fn dispatch_json_output_and_context() {
        let host = MockHost::new();
        let cx = host.context("count");
        let r = set()
            .call("count", r#"{"text":"a b c","mode":"words"}"#, &cx)
            .expect("ok");
        assert_eq!(r.structured_content, Some(json!({"n": 3})));
        assert_eq!(r.content, vec![Content::Text(r#"{"n":3}"#.into())]);
        assert!(!r.is_error);
        assert_eq!(host.logs(), vec![(Level::Debug, "counting".to_string())]);
        assert_eq!(
            r.parse::<BTreeMap<String, usize>>()
                .ok()
                .and_then(|m| m.get("n").copied()),
            Some(3)
        );
    }

    #[test]
    fn dispatch_errors() {
        let cx = MockHost::new().context("x");
        let tools = set();
        assert!(
            matches!(tools.call("missing", "{}", &cx), Err(ToolError::NotFound(m)) if m.contains("missing"))
        );
        // Missing field, wrong type, unknown field, not JSON: serde's message.
        for (args, needle) in [
            ("{}", "missing field `text`"),
            (r#"{"text": 1, "mode": "words"}"#, "invalid type"),
            (
                r#"{"text": "a", "mode": "words", "extra": 1}"#,
                "unknown field `extra`",
            ),
            (
                r#"{"text": "a", "mode": "lines"}"#,
                "unknown variant `lines`",
            ),
            ("not json", "expected"),
        ] {
            match tools.call("count", args, &cx) {
                Err(ToolError::InvalidArguments(m)) => {
                    assert!(m.contains(needle), "{args}: {m}")
                }
                other => panic!("{args}: {other:?}"),
            }
        }
        assert_eq!(
            tools.call_json("upper", &json!({"text": ""}), &cx),
            Err(ToolError::InvalidArguments(
                "`text` must not be empty".into()
            ))
        );
        assert!(matches!(
            tools.call_json("parse_num", &json!({"text": "x"}), &cx),
            Err(ToolError::Failed(m)) if m.contains("invalid digit")
        ));
    }

    #[test]
    fn text_outputs_and_empty_arguments() {
        let cx = MockHost::new().context("x");
        let tools = set();
        let r = tools.call_json("upper", &json!({"text": "hi"}), &cx);
        assert_eq!(r, Ok(CallResult::text("HI")));
        assert_eq!(
            tools.call_json("parse_num", &json!({"text": "12"}), &cx),
            Ok(CallResult::text("ok"))
        );
        assert_eq!(tools.call("nothing", "", &cx), Ok(CallResult::new()));
        assert_eq!(tools.call("nothing", "{}", &cx), Ok(CallResult::new()));
        assert!(tools.call("nothing", r#"{"a":1}"#, &cx).is_err());
    }

    #[test]
    fn json_output_must_be_an_object() {
        assert!(Json(vec![1, 2]).into_call_result().is_err());
        let map: BTreeMap<String, u8> = [("a".to_string(), 1)].into();
        let r = Json(map).into_call_result().expect("map is an object");
        assert_eq!(r.first_text(), Some(r#"{"a":1}"#));
    }

    #[test]
    #[should_panic(expected = "must be a struct")]
    fn non_object_arguments_are_rejected_when_listing() {
        fn f(_: u32, _: &Context) -> Result<String, ToolError> {
            Ok(String::new())
        }
        ToolSet::new().add("num", "n", f).list();
    }

    #[test]
    #[should_panic(expected = "structured output type must be a struct or map")]
    fn non_object_outputs_are_rejected_when_listing() {
        fn f(_: NoArgs, _: &Context) -> Result<Json<Vec<u8>>, ToolError> {
            Ok(Json(vec![]))
        }
        ToolSet::new().add("list", "l", f).list();
    }

    #[test]
    #[should_panic(expected = "duplicate tool name `upper`")]
    fn duplicate_names_panic() {
        let _ = ToolSet::new()
            .add("upper", "a", upper)
            .add("upper", "b", upper);
    }

    #[test]
    #[should_panic(expected = "invalid tool name")]
    fn bad_names_panic() {
        let _ = Tool::new("has space", "a", upper);
    }

    #[test]
    fn tool_names() {
        assert!(is_valid_tool_name("a-b_C9"));
        assert!(!is_valid_tool_name(""));
        assert!(!is_valid_tool_name("a.b"));
        assert!(!is_valid_tool_name(&"a".repeat(65)));
        assert!(is_valid_tool_name(&"a".repeat(64)));
    }

    #[test]
    fn raw_call_result_with_declared_output_schema() {
        fn f(_: NoArgs, _: &Context) -> Result<CallResult, ToolError> {
            Ok(CallResult::text("x").with_structured(json!({"n": 1})))
        }
        let t = Tool::new("raw", "raw", f).output_schema_of::<Counts>();
        assert_eq!(
            t.info().output_schema.map(|s| s["type"].clone()),
            Some(json!("object"))
        );
        let fixed =
            Tool::new("fixed", "f", f).input_schema(json!({"type": "object", "properties": {}}));
        assert_eq!(fixed.info().input_schema["properties"], json!({}));
    }
}
