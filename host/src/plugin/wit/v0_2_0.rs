//! `switchboard:plugin@0.2.0` (`wit/v0.2.0/plugin.wit`): a whole MCP server
//! in a plugin. Its bindings, the conversions of what 0.1.0 did not have
//! (resources, templates, prompts, completions, requests to the client), and
//! its `host` import.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock,
    ElicitationAction, GetPromptResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult,
    Reference, Resource, ResourceContents, ResourceTemplate, Role, Tool, ToolAnnotations,
};
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use super::shared::{shared_conversions, shared_host_functions, shared_tool_exports};
use super::{Offer, WitResult};
use crate::changes::ListChanged;
use crate::client_input::{Answer, Ask};
use crate::logging::Level;
use crate::plugin::state::PluginState;
use crate::provider::{FailureKind, ToolFailure, ToolSpec};
use crate::registry::{RegistryError, parse_schema};

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "tool-provider",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::switchboard::plugin::{host, types as wit};

/// The package version, as in `switchboard:plugin@0.2.0`.
pub const VERSION: &str = "0.2.0";

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    ToolProvider::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
}

shared_tool_exports!();

/// Everything the plugin offers, asked once at load.
pub async fn offer(
    instance: &ToolProvider,
    store: &mut Store<PluginState>,
    plugin: &str,
) -> wasmtime::Result<Offer> {
    let tools = list_tools(instance, &mut *store, plugin).await?;
    let resources = instance.switchboard_plugin_resources();
    let listed = resources.call_list_resources(&mut *store).await?;
    let templates = resources.call_list_resource_templates(&mut *store).await?;
    let prompts = instance
        .switchboard_plugin_prompts()
        .call_list_prompts(&mut *store)
        .await?;
    Ok(Offer {
        tools,
        resources: listed.into_iter().map(Resource::from).collect(),
        templates: templates.into_iter().map(ResourceTemplate::from).collect(),
        prompts: prompts.into_iter().map(Prompt::from).collect(),
    })
}

pub async fn read_resource(
    instance: &ToolProvider,
    store: &mut Store<PluginState>,
    uri: &str,
) -> wasmtime::Result<Result<ReadContents, wit::ToolError>> {
    Ok(instance
        .switchboard_plugin_resources()
        .call_read_resource(store, uri)
        .await?
        .map(ReadContents))
}

pub async fn get_prompt(
    instance: &ToolProvider,
    store: &mut Store<PluginState>,
    name: &str,
    arguments: &[(String, String)],
) -> wasmtime::Result<Result<wit::PromptResult, wit::ToolError>> {
    instance
        .switchboard_plugin_prompts()
        .call_get_prompt(store, name, arguments)
        .await
}

/// Completes an argument; `request.ref` already names the plugin's own
/// prompt or template.
pub async fn complete(
    instance: &ToolProvider,
    store: &mut Store<PluginState>,
    request: &CompleteRequestParams,
) -> wasmtime::Result<Result<wit::Completion, wit::ToolError>> {
    let reference = match &request.r#ref {
        Reference::Prompt(prompt) => wit::CompletionRef::Prompt(prompt.name.clone()),
        Reference::Resource(template) => wit::CompletionRef::ResourceTemplate(template.uri.clone()),
        // Dispatch routes only the two kinds above.
        _ => {
            return Ok(Err(wit::ToolError::InvalidArguments(
                "completion of an unknown kind of reference".into(),
            )));
        }
    };
    let argument = wit::CompletionArgument {
        name: request.argument.name.clone(),
        value: request.argument.value.clone(),
    };
    let mut context: Vec<wit::CompletionArgument> = request
        .context
        .as_ref()
        .and_then(|context| context.arguments.as_ref())
        .into_iter()
        .flatten()
        .map(|(name, value)| wit::CompletionArgument {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    // A map has no order; the plugin sees the same one every time.
    context.sort_by(|a, b| a.name.cmp(&b.name));
    instance
        .switchboard_plugin_completions()
        .call_complete(store, &reference, &argument, &context)
        .await
}

impl wit::Host for PluginState {}

impl host::Host for PluginState {
    shared_host_functions!();

    async fn ask(
        &mut self,
        questions: Vec<wit::InputQuestion>,
    ) -> wasmtime::Result<Vec<Result<wit::InputAnswer, wit::ToolError>>> {
        let questions = questions
            .into_iter()
            .map(|question| (question.key, Ask::try_from(question.request)))
            .collect();
        let answers = self.ask_client(questions).await?;
        Ok(answers
            .into_iter()
            .map(|answer| {
                answer
                    .map(wit::InputAnswer::from)
                    .map_err(wit::ToolError::from)
            })
            .collect())
    }

    async fn announce(&mut self, change: wit::Change) -> wasmtime::Result<()> {
        match change {
            wit::Change::Tools => self.announce_list_change(ListChanged::Tools),
            wit::Change::Resources => self.announce_list_change(ListChanged::Resources),
            wit::Change::Prompts => self.announce_list_change(ListChanged::Prompts),
            wit::Change::ResourceUpdated(uri) => self.announce_resource_update(&uri),
        }
        Ok(())
    }
}

/// A plugin's question in MCP's terms. Built through JSON: the MCP request
/// types are non-exhaustive, and their serde form is the spec's.
impl TryFrom<wit::InputRequest> for Ask {
    type Error = ToolFailure;

    fn try_from(request: wit::InputRequest) -> Result<Self, ToolFailure> {
        let invalid = |what: &str, e: serde_json::Error| {
            ToolFailure::new(FailureKind::InvalidArguments, format!("{what}: {e}"))
        };
        match request {
            wit::InputRequest::Roots => Ok(Ask::Roots),
            wit::InputRequest::Sampling(request) => {
                let json = sampling_json(request)?;
                serde_json::from_value(json)
                    .map(Ask::Sampling)
                    .map_err(|e| invalid("not a valid sampling request", e))
            }
            wit::InputRequest::Elicitation(wit::ElicitationRequest::Form(form)) => {
                let schema: serde_json::Value = serde_json::from_str(&form.requested_schema)
                    .map_err(|e| invalid("the requested schema is not JSON", e))?;
                let json = serde_json::json!({
                    "mode": "form",
                    "message": form.message,
                    "requestedSchema": schema,
                });
                serde_json::from_value(json)
                    .map(Ask::Elicitation)
                    .map_err(|e| {
                        invalid(
                            "not a valid elicitation form (a flat object of primitive fields)",
                            e,
                        )
                    })
            }
            wit::InputRequest::Elicitation(wit::ElicitationRequest::Url(url)) => {
                let json = serde_json::json!({
                    "mode": "url",
                    "message": url.message,
                    "url": url.url,
                    "elicitationId": url.elicitation_id,
                });
                serde_json::from_value(json)
                    .map(Ask::Elicitation)
                    .map_err(|e| invalid("not a valid URL elicitation", e))
            }
        }
    }
}

/// `sampling/createMessage` parameters as the spec writes them.
fn sampling_json(request: wit::SamplingRequest) -> Result<serde_json::Value, ToolFailure> {
    let mut messages = Vec::new();
    for message in request.messages {
        let mut blocks = Vec::new();
        for block in message.content {
            blocks.push(match block {
                wit::ContentBlock::Text(text) => serde_json::json!({"type": "text", "text": text}),
                wit::ContentBlock::Image(image) => serde_json::json!({
                    "type": "image", "data": BASE64.encode(&image.data), "mimeType": image.mime_type,
                }),
                wit::ContentBlock::Audio(audio) => serde_json::json!({
                    "type": "audio", "data": BASE64.encode(&audio.data), "mimeType": audio.mime_type,
                }),
                _ => {
                    return Err(ToolFailure::new(
                        FailureKind::InvalidArguments,
                        "a sampling message carries only text, image or audio",
                    ));
                }
            });
        }
        // One block is written as an object: what clients before SEP-1577 read.
        let content = match <[serde_json::Value; 1]>::try_from(blocks) {
            Ok([block]) => block,
            Err(blocks) => serde_json::Value::Array(blocks),
        };
        let role = match message.role {
            wit::Role::User => "user",
            wit::Role::Assistant => "assistant",
        };
        messages.push(serde_json::json!({"role": role, "content": content}));
    }
    let mut fields = serde_json::Map::new();
    fields.insert("messages".into(), messages.into());
    fields.insert("maxTokens".into(), request.max_tokens.into());
    if let Some(system) = request.system_prompt {
        fields.insert("systemPrompt".into(), system.into());
    }
    if let Some(temperature) = request.temperature {
        fields.insert("temperature".into(), temperature.into());
    }
    if !request.stop_sequences.is_empty() {
        fields.insert("stopSequences".into(), request.stop_sequences.into());
    }
    if let Some(preferences) = request.model_preferences {
        let hints: Vec<serde_json::Value> = preferences
            .hints
            .into_iter()
            .map(|name| serde_json::json!({"name": name}))
            .collect();
        let mut object = serde_json::Map::new();
        object.insert("hints".into(), hints.into());
        for (key, value) in [
            ("costPriority", preferences.cost_priority),
            ("speedPriority", preferences.speed_priority),
            ("intelligencePriority", preferences.intelligence_priority),
        ] {
            if let Some(value) = value {
                object.insert(key.into(), value.into());
            }
        }
        fields.insert("modelPreferences".into(), object.into());
    }
    Ok(fields.into())
}

/// The client's answer as the plugin reads it.
#[allow(deprecated)]
impl From<Answer> for wit::InputAnswer {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Sampling(result) => {
                let content = result
                    .message
                    .content
                    .clone()
                    .into_vec()
                    .iter()
                    .filter_map(|block| serde_json::to_value(block).ok())
                    .filter_map(|block| wit_sampled_block(&block))
                    .collect();
                wit::InputAnswer::Sampling(wit::SamplingResult {
                    role: match result.message.role {
                        Role::Assistant => wit::Role::Assistant,
                        _ => wit::Role::User,
                    },
                    content,
                    model: result.model,
                    stop_reason: result.stop_reason,
                })
            }
            Answer::Elicitation(result) => wit::InputAnswer::Elicitation(match result.action {
                ElicitationAction::Accept => wit::ElicitationAction::Accept(
                    result.content.map(|content| content.to_string()),
                ),
                ElicitationAction::Decline => wit::ElicitationAction::Decline,
                _ => wit::ElicitationAction::Cancel,
            }),
            Answer::Roots(result) => wit::InputAnswer::Roots(
                result
                    .roots
                    .into_iter()
                    .map(|root| wit::Root {
                        uri: root.uri,
                        name: root.name,
                    })
                    .collect(),
            ),
        }
    }
}

/// A sampled content block a plugin can read (text, image, audio); tool
/// use blocks are for clients that sample with tools, which plugins cannot
/// offer.
fn wit_sampled_block(block: &serde_json::Value) -> Option<wit::ContentBlock> {
    let text = |field: &str| block.get(field).and_then(serde_json::Value::as_str);
    match text("type")? {
        "text" => Some(wit::ContentBlock::Text(text("text")?.to_owned())),
        kind @ ("image" | "audio") => {
            let binary = wit::BinaryContent {
                data: BASE64.decode(text("data")?).ok()?,
                mime_type: text("mimeType")?.to_owned(),
            };
            Some(if kind == "image" {
                wit::ContentBlock::Image(binary)
            } else {
                wit::ContentBlock::Audio(binary)
            })
        }
        _ => None,
    }
}

shared_conversions!();

impl From<wit::ResourceInfo> for Resource {
    fn from(resource: wit::ResourceInfo) -> Self {
        let mut out = Resource::new(resource.uri, resource.name);
        out.title = resource.title;
        out.description = resource.description;
        out.mime_type = resource.mime_type;
        out.size = resource.size;
        out
    }
}

impl From<wit::ResourceTemplate> for ResourceTemplate {
    fn from(template: wit::ResourceTemplate) -> Self {
        let mut out = ResourceTemplate::new(template.uri_template, template.name);
        out.title = template.title;
        out.description = template.description;
        out.mime_type = template.mime_type;
        out
    }
}

impl From<wit::Prompt> for Prompt {
    fn from(prompt: wit::Prompt) -> Self {
        let arguments: Vec<PromptArgument> = prompt
            .arguments
            .into_iter()
            .map(|argument| {
                let mut out = PromptArgument::new(argument.name);
                out.title = argument.title;
                out.description = argument.description;
                out.required = Some(argument.required);
                out
            })
            .collect();
        let mut out = Prompt::new(
            prompt.name,
            prompt.description,
            (!arguments.is_empty()).then_some(arguments),
        );
        out.title = prompt.title;
        out
    }
}

impl From<wit::Role> for Role {
    fn from(role: wit::Role) -> Self {
        match role {
            wit::Role::User => Role::User,
            wit::Role::Assistant => Role::Assistant,
        }
    }
}

/// What `read-resource` answered.
pub struct ReadContents(Vec<wit::EmbeddedResource>);

impl WitResult for ReadContents {
    type Mcp = ReadResourceResult;

    fn size(&self) -> usize {
        self.0.iter().map(resource_size).sum()
    }

    /// An empty answer is the plugin's bug: the spec forbids empty contents
    /// (an unknown URI is `not-found`).
    fn into_mcp(self) -> Result<ReadResourceResult, String> {
        if self.0.is_empty() {
            return Err("read-resource answered no contents".into());
        }
        Ok(ReadResourceResult::new(
            self.0.into_iter().map(ResourceContents::from).collect(),
        ))
    }
}

impl WitResult for wit::PromptResult {
    type Mcp = GetPromptResult;

    fn size(&self) -> usize {
        self.messages
            .iter()
            .map(|message| content_size(&message.content))
            .sum()
    }

    fn into_mcp(self) -> Result<GetPromptResult, String> {
        let messages = self
            .messages
            .into_iter()
            .map(|message| PromptMessage::new(message.role.into(), message.content.into()))
            .collect();
        let mut out = GetPromptResult::new(messages);
        out.description = self.description;
        Ok(out)
    }
}

impl WitResult for wit::Completion {
    type Mcp = CompleteResult;

    fn size(&self) -> usize {
        self.values.iter().map(String::len).sum()
    }

    fn into_mcp(self) -> Result<CompleteResult, String> {
        CompletionInfo::with_pagination(self.values, self.total, self.has_more)
            .map(CompleteResult::new)
    }
}
