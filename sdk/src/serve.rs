//! Resources, resource templates, prompts and their completions: what a
//! plugin serves besides tools ([`ResourceSet`], [`PromptSet`]).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Content, Context, ResourceContents, ToolError, input_schema_for, is_valid_tool_name};

type Reader =
    Box<dyn Fn(&ResourceRequest, &Context) -> Result<ResourceContents, ToolError> + Send + Sync>;
type Completer = Box<dyn Fn(&Completion<'_>) -> Vec<String> + Send + Sync>;
type Renderer =
    Box<dyn Fn(&Value, &Context) -> Result<Vec<PromptMessage>, ToolError> + Send + Sync>;

/// What a resource read is for: the URI asked for and, for a template, the
/// values of its variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The URI the client asked for, as the plugin wrote it.
    pub uri: String,
    /// A template's variables (`{name}` → value); empty for a listed resource.
    pub variables: BTreeMap<String, String>,
}

impl ResourceRequest {
    /// Variable `name` of the template, if the URI had it.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }
}

/// An argument being completed: its name, the value typed so far, and the
/// other arguments already filled in.
#[derive(Clone, Copy, Debug)]
pub struct Completion<'a> {
    /// The argument's (or template variable's) name.
    pub argument: &'a str,
    /// What the user has typed so far.
    pub value: &'a str,
    /// Arguments filled in before this one.
    pub context: &'a BTreeMap<String, String>,
}

impl Completion<'_> {
    /// `candidates` that start with the typed value, in order: the usual
    /// completer.
    pub fn matching<'c>(&self, candidates: impl IntoIterator<Item = &'c str>) -> Vec<String> {
        candidates
            .into_iter()
            .filter(|candidate| candidate.starts_with(self.value))
            .map(str::to_owned)
            .collect()
    }
}

/// What the host lists of a resource or template.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceInfo {
    /// The URI, or the URI template.
    pub uri: String,
    /// A short name.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it holds.
    pub description: Option<String>,
    /// MIME type of its contents.
    pub mime_type: Option<String>,
}

/// A resource (a fixed URI) or a resource template (an RFC 6570 URI
/// template such as `notes://{name}`), and the function that reads it.
///
/// ```
/// use switchboard_sdk::{Resource, ResourceContents, ResourceSet};
///
/// let resources = ResourceSet::new()
///     .resource(
///         Resource::new("notes://index", "index", |_, _| Ok("groceries\ntodo".into()))
///             .mime_type("text/plain"),
///     )
///     .resource(
///         Resource::template("notes://{name}", "note", |request, _| {
///             let name = request.variable("name").unwrap_or_default();
///             Ok(ResourceContents::Text(format!("the note {name}")))
///         })
///         .complete(|c| c.matching(["groceries", "todo"])),
///     );
/// assert_eq!(resources.list().len(), 1);
/// assert_eq!(resources.list_templates().len(), 1);
/// ```
pub struct Resource {
    info: ResourceInfo,
    is_template: bool,
    reader: Reader,
    completer: Option<Completer>,
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("info", &self.info)
            .field("is_template", &self.is_template)
            .finish_non_exhaustive()
    }
}

impl Resource {
    /// A resource at the fixed `uri`.
    pub fn new<F>(uri: impl Into<String>, name: impl Into<String>, reader: F) -> Self
    where
        F: Fn(&ResourceRequest, &Context) -> Result<ResourceContents, ToolError>
            + Send
            + Sync
            + 'static,
    {
        Self::build(uri.into(), name.into(), false, Box::new(reader))
    }

    /// Resources whose URIs `uri_template` (RFC 6570: `{var}`, `{+var}`)
    /// describes; the reader gets the variables' values.
    ///
    /// # Panics
    ///
    /// If the template has an unclosed `{`: a bug in the plugin, caught
    /// by any unit test that builds the [`ResourceSet`].
    pub fn template<F>(uri_template: impl Into<String>, name: impl Into<String>, reader: F) -> Self
    where
        F: Fn(&ResourceRequest, &Context) -> Result<ResourceContents, ToolError>
            + Send
            + Sync
            + 'static,
    {
        let uri_template = uri_template.into();
        assert!(
            template_parts(&uri_template).is_some(),
            "invalid URI template {uri_template:?}: every `{{` needs a `}}`"
        );
        Self::build(uri_template, name.into(), true, Box::new(reader))
    }

    fn build(uri: String, name: String, is_template: bool, reader: Reader) -> Self {
        Self {
            info: ResourceInfo {
                uri,
                name,
                ..ResourceInfo::default()
            },
            is_template,
            reader,
            completer: None,
        }
    }

    /// Human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// What it holds.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// MIME type of its contents.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.info.mime_type = Some(mime_type.into());
        self
    }

    /// Completes a template's variables (`completion/complete` with a
    /// `ref/resource`).
    pub fn complete(
        mut self,
        completer: impl Fn(&Completion<'_>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completer = Some(Box::new(completer));
        self
    }

    /// What the host lists.
    pub fn info(&self) -> &ResourceInfo {
        &self.info
    }

    /// The template's variables for `uri`, if it is one of its URIs (for a
    /// fixed resource: `uri` equal to its own, no variables).
    fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        if !self.is_template {
            return (uri == self.info.uri).then(BTreeMap::new);
        }
        let parts = template_parts(&self.info.uri)?;
        let mut variables = BTreeMap::new();
        bind(&parts, uri, &mut variables).then_some(variables)
    }
}

/// A template as literal text and `{expression}`s.
enum Part<'a> {
    Literal(&'a str),
    /// Operator (`+`, `#`, `/`, ... or none) and variable names.
    Variables(Option<char>, Vec<&'a str>),
}

fn template_parts(template: &str) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        parts.push(Part::Literal(&rest[..open]));
        let mut expression = &rest[open + 1..close];
        let operator = expression.chars().next().filter(|c| "+#./;?&".contains(*c));
        if let Some(op) = operator {
            expression = &expression[op.len_utf8()..];
        }
        parts.push(Part::Variables(operator, expression.split(',').collect()));
        rest = &rest[close + 1..];
    }
    parts.push(Part::Literal(rest));
    Some(parts)
}

/// Matches `uri` against `parts`, binding simple (one value per
/// expression) variables; shortest expansions first.
fn bind<'a>(parts: &[Part<'a>], uri: &str, variables: &mut BTreeMap<String, String>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return uri.is_empty();
    };
    match first {
        Part::Literal(literal) => uri
            .strip_prefix(literal)
            .is_some_and(|tail| bind(rest, tail, variables)),
        Part::Variables(operator, names) => {
            let Some(name) = names.first() else {
                return false;
            };
            let body = match operator {
                Some(op) if *op != '+' => match uri.strip_prefix(*op) {
                    Some(body) => body,
                    None => return false,
                },
                _ => uri,
            };
            let in_segment = |c: char| !matches!(c, '/' | '?' | '#');
            let ends = body.char_indices().map(|(at, _)| at).skip(1);
            for end in ends.chain([body.len()]).filter(|&end| end > 0) {
                let value = &body[..end];
                if !matches!(operator, Some('+' | '#')) && !value.chars().all(in_segment) {
                    break;
                }
                if bind(rest, &body[end..], variables) {
                    variables.insert((*name).to_owned(), value.to_owned());
                    return true;
                }
            }
            false
        }
    }
}

/// The resources and templates a plugin serves. Return it from
/// [`Plugin::resources`](crate::Plugin::resources).
#[derive(Debug, Default)]
pub struct ResourceSet {
    resources: Vec<Resource>,
}

impl ResourceSet {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a resource or template.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// The fixed resources, for `resources/list`.
    pub fn list(&self) -> Vec<ResourceInfo> {
        self.resources
            .iter()
            .filter(|r| !r.is_template)
            .map(|r| r.info.clone())
            .collect()
    }

    /// The templates, for `resources/templates/list`.
    pub fn list_templates(&self) -> Vec<ResourceInfo> {
        self.resources
            .iter()
            .filter(|r| r.is_template)
            .map(|r| r.info.clone())
            .collect()
    }

    /// Reads `uri`: the fixed resource with that URI, else the first
    /// template it matches. The contents carry the resource's MIME type.
    pub fn read(
        &self,
        uri: &str,
        cx: &Context,
    ) -> Result<(ResourceContents, Option<String>), ToolError> {
        let fixed = self.resources.iter().filter(|r| !r.is_template);
        let templates = self.resources.iter().filter(|r| r.is_template);
        for resource in fixed.chain(templates) {
            if let Some(variables) = resource.matches(uri) {
                let request = ResourceRequest {
                    uri: uri.to_owned(),
                    variables,
                };
                let contents = (resource.reader)(&request, cx)?;
                return Ok((contents, resource.info.mime_type.clone()));
            }
        }
        Err(ToolError::not_found(format!("no resource `{uri}`")))
    }

    /// Completes a variable of the template `uri_template`.
    pub fn complete(&self, uri_template: &str, completion: &Completion<'_>) -> Vec<String> {
        self.resources
            .iter()
            .find(|r| r.is_template && r.info.uri == uri_template)
            .and_then(|r| r.completer.as_ref())
            .map(|complete| complete(completion))
            .unwrap_or_default()
    }
}

/// Who says a prompt message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// One message of a rendered prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said: text, an image, an embedded resource, ...
    pub content: Content,
}

impl PromptMessage {
    /// A text message from the user.
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: Content::Text(text.into()),
        }
    }

    /// A text message from the assistant.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: Content::Text(text.into()),
        }
    }

    /// A message of any content.
    pub fn new(role: Role, content: Content) -> Self {
        Self { role, content }
    }
}

/// A prompt argument as the host lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptArgumentInfo {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Whether the prompt needs it.
    pub required: bool,
}

/// What the host lists of a prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptInfo {
    /// Name, `[A-Za-z0-9_-]{1,64}`.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its arguments, from the arguments type's fields.
    pub arguments: Vec<PromptArgumentInfo>,
}

/// A prompt template: typed arguments (MCP passes strings, so the type's
/// fields are `String` or `Option<String>`; doc comments become the
/// arguments' descriptions) and the function that renders its messages.
///
/// ```
/// use schemars::JsonSchema;
/// use serde::Deserialize;
/// use switchboard_sdk::{Prompt, PromptMessage, PromptSet};
///
/// #[derive(Deserialize, JsonSchema)]
/// struct ReviewArgs {
///     /// The code to review.
///     code: String,
///     /// What to focus on.
///     focus: Option<String>,
/// }
///
/// let prompts = PromptSet::new().prompt(
///     Prompt::new("review", "Review a piece of code", |args: ReviewArgs, _| {
///         let focus = args.focus.unwrap_or_else(|| "correctness".into());
///         Ok(vec![PromptMessage::user(format!("Review for {focus}:\n{}", args.code))])
///     })
///     .complete(|c| c.matching(["correctness", "speed", "style"])),
/// );
/// let info = &prompts.list()[0];
/// assert_eq!(info.arguments[0].name, "code");
/// assert!(info.arguments[0].required && !info.arguments[1].required);
/// ```
pub struct Prompt {
    info: PromptInfo,
    renderer: Renderer,
    completer: Option<Completer>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt named `name` rendered by `render`.
    ///
    /// # Panics
    ///
    /// If `name` is not `[A-Za-z0-9_-]{1,64}`: a bug in the plugin, caught
    /// by any unit test that builds the [`PromptSet`].
    pub fn new<A, F>(name: impl Into<String>, description: impl Into<String>, render: F) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        F: Fn(A, &Context) -> Result<Vec<PromptMessage>, ToolError> + Send + Sync + 'static,
    {
        let name = name.into();
        assert!(
            is_valid_tool_name(&name),
            "invalid prompt name {name:?}: use 1 to 64 characters from [A-Za-z0-9_-]"
        );
        let renderer: Renderer = Box::new(move |arguments: &Value, cx: &Context| {
            let args: A = serde_json::from_value(arguments.clone())
                .map_err(|e| ToolError::invalid_arguments(format!("invalid arguments: {e}")))?;
            render(args, cx)
        });
        Self {
            info: PromptInfo {
                name,
                title: None,
                description: Some(description.into()),
                arguments: arguments_of(&input_schema_for::<A>()),
            },
            renderer,
            completer: None,
        }
    }

    /// Human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// Completes its arguments (`completion/complete` with a `ref/prompt`).
    pub fn complete(
        mut self,
        completer: impl Fn(&Completion<'_>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completer = Some(Box::new(completer));
        self
    }

    /// What the host lists.
    pub fn info(&self) -> &PromptInfo {
        &self.info
    }
}

/// A prompt's arguments from its arguments type's schema: its properties,
/// required where the schema says so.
fn arguments_of(schema: &Value) -> Vec<PromptArgumentInfo> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| PromptArgumentInfo {
                    name: name.clone(),
                    description: property["description"].as_str().map(str::to_owned),
                    required: required.contains(&name.as_str()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The prompts a plugin serves. Return it from
/// [`Plugin::prompts`](crate::Plugin::prompts).
#[derive(Debug, Default)]
pub struct PromptSet {
    prompts: Vec<Prompt>,
}

impl PromptSet {
    /// No prompts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a prompt.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompts.push(prompt);
        self
    }

    /// For `prompts/list`.
    pub fn list(&self) -> Vec<PromptInfo> {
        self.prompts.iter().map(|p| p.info.clone()).collect()
    }

    /// Renders prompt `name` with `arguments` (name → value).
    pub fn get(
        &self,
        name: &str,
        arguments: &BTreeMap<String, String>,
        cx: &Context,
    ) -> Result<Vec<PromptMessage>, ToolError> {
        let prompt = self
            .prompts
            .iter()
            .find(|p| p.info.name == name)
            .ok_or_else(|| ToolError::not_found(format!("no prompt `{name}`")))?;
        let arguments = arguments
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        (prompt.renderer)(&Value::Object(arguments), cx)
    }

    /// Completes an argument of prompt `name`.
    pub fn complete(&self, name: &str, completion: &Completion<'_>) -> Vec<String> {
        self.prompts
            .iter()
            .find(|p| p.info.name == name)
            .and_then(|p| p.completer.as_ref())
            .map(|complete| complete(completion))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHost;

    #[test]
    fn templates_bind_their_variables() {
        let resources = ResourceSet::new()
            .resource(Resource::new("test://fixed", "fixed", |_, _| {
                Ok("fixed".into())
            }))
            .resource(Resource::template(
                "test://template/{id}/data",
                "data",
                |request, _| Ok(format!("data {}", request.variable("id").unwrap_or("?")).into()),
            ))
            .resource(Resource::template(
                "files://{+path}",
                "file",
                |request, _| {
                    Ok(request
                        .variable("path")
                        .unwrap_or_default()
                        .to_owned()
                        .into())
                },
            ));
        let cx = MockHost::new().context("read");
        let read = |uri: &str| resources.read(uri, &cx).map(|(contents, _)| contents);
        assert_eq!(
            read("test://fixed"),
            Ok(ResourceContents::Text("fixed".into()))
        );
        assert_eq!(
            read("test://template/123/data"),
            Ok(ResourceContents::Text("data 123".into()))
        );
        assert_eq!(
            read("files://a/b.txt"),
            Ok(ResourceContents::Text("a/b.txt".into()))
        );
        assert!(matches!(
            read("test://template/1/2/data"),
            Err(ToolError::NotFound(_))
        ));
        assert!(matches!(read("test://other"), Err(ToolError::NotFound(_))));
    }

    #[derive(serde::Deserialize, JsonSchema)]
    struct Args {
        /// The first.
        arg1: String,
        arg2: Option<String>,
    }

    #[test]
    fn prompts_render_typed_arguments_and_complete() {
        let prompts = PromptSet::new().prompt(
            Prompt::new("p", "A prompt", |args: Args, _| {
                Ok(vec![PromptMessage::user(format!(
                    "{} {}",
                    args.arg1,
                    args.arg2.unwrap_or_default()
                ))])
            })
            .complete(|c| c.matching(["alpha", "beta", "alpine"])),
        );
        let info = &prompts.list()[0];
        assert_eq!(info.arguments.len(), 2);
        assert_eq!(info.arguments[0].description.as_deref(), Some("The first."));
        assert!(info.arguments[0].required);
        assert!(!info.arguments[1].required);
        let cx = MockHost::new().context("p");
        let arguments = BTreeMap::from([("arg1".to_owned(), "x".to_owned())]);
        assert_eq!(
            prompts.get("p", &arguments, &cx),
            Ok(vec![PromptMessage::user("x ")])
        );
        let missing = prompts.get("p", &BTreeMap::new(), &cx);
        assert!(matches!(missing, Err(ToolError::InvalidArguments(m)) if m.contains("arg1")));
        let context = BTreeMap::new();
        let completion = Completion {
            argument: "arg1",
            value: "al",
            context: &context,
        };
        assert_eq!(prompts.complete("p", &completion), ["alpha", "alpine"]);
        assert!(prompts.complete("nope", &completion).is_empty());
    }
}
