//! Glue between the SDK's types and the WIT bindings.

use serde_json::Value;

use crate::ask::{Answer, Elicitation, Elicited, Question, Root, Sampled};
use crate::bindings::switchboard::plugin::host as wit_host;
use crate::bindings::switchboard::plugin::types as wit;
use crate::{
    Annotations, CallResult, Change, Content, Context, EmbeddedResource, Host, Level, PromptSet,
    ResourceContents, ResourceLink, ResourceSet, Role, ToolError, ToolInfo, ToolSet,
};

/// The real host imports.
pub(crate) struct WasmHost;

impl Host for WasmHost {
    fn call_tool(&self, name: &str, arguments: &str) -> Result<CallResult, ToolError> {
        wit_host::call_tool(name, arguments)
            .map(CallResult::from)
            .map_err(error_from_wit)
    }

    fn list_tools(&self) -> Vec<ToolInfo> {
        wit_host::list_tools()
            .into_iter()
            .map(ToolInfo::from)
            .collect()
    }

    fn log(&self, level: Level, message: &str) {
        wit_host::log(level.into(), message);
    }

    fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        wit_host::progress(done, total, message);
    }

    fn ask(&self, questions: Vec<(String, Question)>) -> Vec<Result<Answer, ToolError>> {
        let questions: Vec<wit::InputQuestion> = questions
            .into_iter()
            .map(|(key, question)| wit::InputQuestion {
                key,
                request: question.into(),
            })
            .collect();
        wit_host::ask(&questions)
            .into_iter()
            .map(|answer| answer.map(Answer::from).map_err(error_from_wit))
            .collect()
    }

    fn announce(&self, change: Change) {
        let change = match change {
            Change::Tools => wit::Change::Tools,
            Change::Resources => wit::Change::Resources,
            Change::Prompts => wit::Change::Prompts,
            Change::ResourceUpdated(uri) => wit::Change::ResourceUpdated(uri),
        };
        wit_host::announce(&change);
    }
}

impl From<Role> for wit::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::User => Self::User,
            Role::Assistant => Self::Assistant,
        }
    }
}

impl From<Question> for wit::InputRequest {
    fn from(question: Question) -> Self {
        match question {
            Question::Roots => Self::Roots,
            Question::Sampling(sampling) => Self::Sampling(wit::SamplingRequest {
                messages: sampling
                    .messages
                    .into_iter()
                    .map(|message| wit::SamplingMessage {
                        role: message.role.into(),
                        content: message.content.into_iter().map(Into::into).collect(),
                    })
                    .collect(),
                system_prompt: sampling.system_prompt,
                max_tokens: sampling.max_tokens,
                temperature: sampling.temperature,
                stop_sequences: sampling.stop_sequences,
                model_preferences: (!sampling.model_hints.is_empty()).then_some(
                    wit::ModelPreferences {
                        hints: sampling.model_hints,
                        cost_priority: None,
                        speed_priority: None,
                        intelligence_priority: None,
                    },
                ),
            }),
            Question::Elicitation(Elicitation::Form { message, schema }) => {
                Self::Elicitation(wit::ElicitationRequest::Form(wit::FormElicitation {
                    message,
                    requested_schema: schema.to_string(),
                }))
            }
            Question::Elicitation(Elicitation::Url { message, url, id }) => {
                Self::Elicitation(wit::ElicitationRequest::Url(wit::UrlElicitation {
                    message,
                    url,
                    elicitation_id: id,
                }))
            }
        }
    }
}

impl From<wit::InputAnswer> for Answer {
    fn from(answer: wit::InputAnswer) -> Self {
        match answer {
            wit::InputAnswer::Sampling(sampled) => Answer::Sampled(Sampled {
                role: match sampled.role {
                    wit::Role::User => Role::User,
                    wit::Role::Assistant => Role::Assistant,
                },
                content: sampled.content.into_iter().map(Content::from).collect(),
                model: sampled.model,
                stop_reason: sampled.stop_reason,
            }),
            wit::InputAnswer::Elicitation(action) => Answer::Elicited(match action {
                // The host sends valid JSON; none (URL mode) reads as null.
                wit::ElicitationAction::Accept(content) => Elicited::Accepted(
                    content
                        .and_then(|text| serde_json::from_str(&text).ok())
                        .unwrap_or(Value::Null),
                ),
                wit::ElicitationAction::Decline => Elicited::Declined,
                wit::ElicitationAction::Cancel => Elicited::Cancelled,
            }),
            wit::InputAnswer::Roots(roots) => Answer::Roots(
                roots
                    .into_iter()
                    .map(|root| Root {
                        uri: root.uri,
                        name: root.name,
                    })
                    .collect(),
            ),
        }
    }
}

impl From<Level> for wit::LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => Self::Debug,
            Level::Info => Self::Info,
            Level::Notice => Self::Notice,
            Level::Warning => Self::Warning,
            Level::Error => Self::Error,
            Level::Critical => Self::Critical,
            Level::Alert => Self::Alert,
            Level::Emergency => Self::Emergency,
        }
    }
}

impl From<ToolError> for wit::ToolError {
    fn from(error: ToolError) -> Self {
        match error {
            ToolError::NotFound(m) => Self::NotFound(m),
            ToolError::InvalidArguments(m) => Self::InvalidArguments(m),
            ToolError::Denied(m) => Self::Denied(m),
            ToolError::Timeout(m) => Self::Timeout(m),
            ToolError::Cancelled(m) => Self::Cancelled(m),
            ToolError::Failed(m) => Self::Failed(m),
        }
    }
}

// Not a `From` impl: the generated `tool-error` implements `std::error::Error`,
// which the blanket `From` on `ToolError` already covers (as `Failed`).
fn error_from_wit(error: wit::ToolError) -> ToolError {
    match error {
        wit::ToolError::NotFound(m) => ToolError::NotFound(m),
        wit::ToolError::InvalidArguments(m) => ToolError::InvalidArguments(m),
        wit::ToolError::Denied(m) => ToolError::Denied(m),
        wit::ToolError::Timeout(m) => ToolError::Timeout(m),
        wit::ToolError::Cancelled(m) => ToolError::Cancelled(m),
        wit::ToolError::Failed(m) => ToolError::Failed(m),
    }
}

impl From<Annotations> for wit::Annotations {
    fn from(a: Annotations) -> Self {
        Self {
            read_only: a.read_only,
            destructive: a.destructive,
            idempotent: a.idempotent,
            open_world: a.open_world,
        }
    }
}

impl From<wit::Annotations> for Annotations {
    fn from(a: wit::Annotations) -> Self {
        Self {
            read_only: a.read_only,
            destructive: a.destructive,
            idempotent: a.idempotent,
            open_world: a.open_world,
        }
    }
}

impl From<ToolInfo> for wit::Tool {
    fn from(info: ToolInfo) -> Self {
        Self {
            name: info.name,
            title: info.title,
            description: info.description,
            input_schema: info.input_schema.to_string(),
            output_schema: info.output_schema.map(|s| s.to_string()),
            annotations: info.annotations.map(Into::into),
        }
    }
}

fn parse_schema(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl From<wit::Tool> for ToolInfo {
    fn from(tool: wit::Tool) -> Self {
        Self {
            name: tool.name,
            title: tool.title,
            description: tool.description,
            input_schema: parse_schema(tool.input_schema),
            output_schema: tool.output_schema.map(parse_schema),
            annotations: tool.annotations.map(Into::into),
        }
    }
}

impl From<ResourceContents> for wit::ResourceContents {
    fn from(contents: ResourceContents) -> Self {
        match contents {
            ResourceContents::Text(text) => Self::Text(text),
            ResourceContents::Blob(data) => Self::Blob(data),
        }
    }
}

impl From<Content> for wit::ContentBlock {
    fn from(content: Content) -> Self {
        match content {
            Content::Text(text) => Self::Text(text),
            Content::Image { data, mime_type } => {
                Self::Image(wit::BinaryContent { data, mime_type })
            }
            Content::Audio { data, mime_type } => {
                Self::Audio(wit::BinaryContent { data, mime_type })
            }
            Content::Resource(r) => Self::EmbeddedResource(wit::EmbeddedResource {
                uri: r.uri,
                mime_type: r.mime_type,
                contents: r.contents.into(),
            }),
            Content::ResourceLink(l) => Self::ResourceLink(wit::ResourceLink {
                uri: l.uri,
                name: l.name,
                title: l.title,
                description: l.description,
                mime_type: l.mime_type,
                size: l.size,
            }),
        }
    }
}

impl From<wit::ContentBlock> for Content {
    fn from(block: wit::ContentBlock) -> Self {
        match block {
            wit::ContentBlock::Text(text) => Self::Text(text),
            wit::ContentBlock::Image(b) => Self::Image {
                data: b.data,
                mime_type: b.mime_type,
            },
            wit::ContentBlock::Audio(b) => Self::Audio {
                data: b.data,
                mime_type: b.mime_type,
            },
            wit::ContentBlock::EmbeddedResource(r) => Self::Resource(EmbeddedResource {
                uri: r.uri,
                mime_type: r.mime_type,
                contents: match r.contents {
                    wit::ResourceContents::Text(text) => ResourceContents::Text(text),
                    wit::ResourceContents::Blob(data) => ResourceContents::Blob(data),
                },
            }),
            wit::ContentBlock::ResourceLink(l) => Self::ResourceLink(ResourceLink {
                uri: l.uri,
                name: l.name,
                title: l.title,
                description: l.description,
                mime_type: l.mime_type,
                size: l.size,
            }),
        }
    }
}

impl From<CallResult> for wit::CallResult {
    fn from(result: CallResult) -> Self {
        Self {
            content: result.content.into_iter().map(Into::into).collect(),
            structured_content: result.structured_content.map(|v| v.to_string()),
            is_error: result.is_error,
        }
    }
}

impl From<wit::CallResult> for CallResult {
    fn from(result: wit::CallResult) -> Self {
        Self {
            content: result.content.into_iter().map(Into::into).collect(),
            // Structured content that is not JSON is kept as a JSON string
            // rather than dropped.
            structured_content: result.structured_content.map(parse_schema),
            is_error: result.is_error,
        }
    }
}

/// Used by [`export_plugin!`](crate::export_plugin); not a public API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use crate::bindings::exports::switchboard::plugin::provider::Guest;
    pub use wit::{CallResult, Tool, ToolError};

    pub fn list_tools(tools: &ToolSet) -> Vec<Tool> {
        tools.list().into_iter().map(Into::into).collect()
    }

    pub use crate::bindings::exports::switchboard::plugin::completions::Guest as CompletionsGuest;
    pub use crate::bindings::exports::switchboard::plugin::prompts::Guest as PromptsGuest;
    pub use crate::bindings::exports::switchboard::plugin::resources::Guest as ResourcesGuest;
    pub use wit::{
        Completion, CompletionArgument, CompletionRef, EmbeddedResource, Prompt, PromptResult,
        ResourceInfo, ResourceTemplate,
    };

    pub fn list_resources(resources: &ResourceSet) -> Vec<ResourceInfo> {
        resources
            .list()
            .into_iter()
            .map(|info| ResourceInfo {
                uri: info.uri,
                name: info.name,
                title: info.title,
                description: info.description,
                mime_type: info.mime_type,
                size: None,
            })
            .collect()
    }

    pub fn list_resource_templates(resources: &ResourceSet) -> Vec<ResourceTemplate> {
        resources
            .list_templates()
            .into_iter()
            .map(|info| ResourceTemplate {
                uri_template: info.uri,
                name: info.name,
                title: info.title,
                description: info.description,
                mime_type: info.mime_type,
            })
            .collect()
    }

    pub fn read_resource(
        resources: &ResourceSet,
        uri: String,
    ) -> Result<Vec<EmbeddedResource>, ToolError> {
        let cx = Context::wasm(uri.as_str());
        let (contents, mime_type) = resources.read(&uri, &cx)?;
        Ok(vec![EmbeddedResource {
            uri,
            mime_type,
            contents: contents.into(),
        }])
    }

    pub fn list_prompts(prompts: &PromptSet) -> Vec<Prompt> {
        prompts
            .list()
            .into_iter()
            .map(|info| Prompt {
                name: info.name,
                title: info.title,
                description: info.description,
                arguments: info
                    .arguments
                    .into_iter()
                    .map(|argument| wit::PromptArgument {
                        name: argument.name,
                        title: None,
                        description: argument.description,
                        required: argument.required,
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn get_prompt(
        prompts: &PromptSet,
        name: String,
        arguments: Vec<(String, String)>,
    ) -> Result<PromptResult, ToolError> {
        let cx = Context::wasm(name.as_str());
        let messages = prompts.get(&name, &arguments.into_iter().collect(), &cx)?;
        Ok(PromptResult {
            description: None,
            messages: messages
                .into_iter()
                .map(|message| wit::PromptMessage {
                    role: message.role.into(),
                    content: message.content.into(),
                })
                .collect(),
        })
    }

    pub fn complete(
        resources: &ResourceSet,
        prompts: &PromptSet,
        reference: CompletionRef,
        argument: CompletionArgument,
        context: Vec<CompletionArgument>,
    ) -> Result<Completion, ToolError> {
        let context = context.into_iter().map(|a| (a.name, a.value)).collect();
        let completion = crate::Completion {
            argument: &argument.name,
            value: &argument.value,
            context: &context,
        };
        let mut values = match reference {
            CompletionRef::Prompt(name) => prompts.complete(&name, &completion),
            CompletionRef::ResourceTemplate(uri) => resources.complete(&uri, &completion),
        };
        // MCP allows at most 100 values per answer.
        let total = u32::try_from(values.len()).ok();
        let has_more = values.len() > 100;
        values.truncate(100);
        Ok(Completion {
            values,
            total,
            has_more,
        })
    }

    pub fn call_tool(
        tools: &ToolSet,
        name: String,
        arguments: String,
    ) -> Result<CallResult, ToolError> {
        let cx = Context::wasm(name.as_str());
        tools
            .call(&name, &arguments, &cx)
            .map(Into::into)
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_map_both_ways() {
        let all = [
            ToolError::not_found("a"),
            ToolError::invalid_arguments("b"),
            ToolError::denied("c"),
            ToolError::timeout("d"),
            ToolError::cancelled("e"),
            ToolError::failed("f"),
        ];
        for error in all {
            let wit: wit::ToolError = error.clone().into();
            assert_eq!(error_from_wit(wit), error);
        }
    }

    #[test]
    fn call_results_round_trip() {
        let result = CallResult::text("t")
            .with_image(vec![1], "image/png")
            .with_audio(vec![2], "audio/wav")
            .with_text_resource("mem://a", Some("text/plain"), "body")
            .with_blob_resource("mem://b", None, vec![3])
            .with_resource_link(ResourceLink::new("mem://c", "c").description("d"))
            .with_structured(json!({"k": [1, 2]}))
            .with_is_error(true);
        let wit: wit::CallResult = result.clone().into();
        assert_eq!(wit.structured_content.as_deref(), Some(r#"{"k":[1,2]}"#));
        assert!(matches!(
            wit.content[3],
            wit::ContentBlock::EmbeddedResource(_)
        ));
        assert_eq!(CallResult::from(wit), result);
    }

    #[test]
    fn tool_infos_round_trip() {
        let info = ToolInfo {
            name: "n".into(),
            title: Some("N".into()),
            description: "d".into(),
            input_schema: json!({"type": "object"}),
            output_schema: Some(json!({"type": "object", "properties": {}})),
            annotations: Some(Annotations {
                read_only: Some(true),
                ..Annotations::default()
            }),
        };
        let wit: wit::Tool = info.clone().into();
        assert_eq!(wit.input_schema, r#"{"type":"object"}"#);
        assert_eq!(ToolInfo::from(wit), info);
    }

    #[test]
    fn levels_map() {
        assert!(matches!(
            wit::LogLevel::from(Level::Warning),
            wit::LogLevel::Warning
        ));
        assert!(matches!(
            wit::LogLevel::from(Level::Emergency),
            wit::LogLevel::Emergency
        ));
    }

    #[test]
    fn private_glue_lists_and_calls() {
        fn echo(args: serde_json::Map<String, Value>, _: &Context) -> Result<String, ToolError> {
            Ok(Value::Object(args).to_string())
        }
        let tools = ToolSet::new().add("echo", "Echo", echo);
        let listed = __private::list_tools(&tools);
        assert_eq!(listed[0].name, "echo");
        let out = __private::call_tool(&tools, "echo".into(), r#"{"a":1}"#.into());
        assert!(
            matches!(out, Ok(r) if matches!(&r.content[0], wit::ContentBlock::Text(t) if t == r#"{"a":1}"#))
        );
        let missing = __private::call_tool(&tools, "nope".into(), "{}".into());
        assert!(matches!(missing, Err(wit::ToolError::NotFound(_))));
    }
}
