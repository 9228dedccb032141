//! `switchboard:plugin@0.2.0` (`wit/v0.2.0/plugin.wit`): a whole MCP server
//! in a plugin. Its bindings, the conversions of what 0.1.0 did not have
//! (resources, templates, prompts, completions, requests to the client), and
//! its `host` import.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock,
    GetPromptResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult, Reference,
    Resource, ResourceContents, ResourceTemplate, Role, Tool, ToolAnnotations,
};
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use super::shared::{shared_conversions, shared_host_functions, shared_tool_exports};
use super::{Offer, WitResult};
use crate::config::ClientRequestKind;
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

impl PluginState {
    /// Why a request to the client cannot be sent: the missing grant, or,
    /// when granted, that this host does not carry plugin requests to
    /// clients yet (the import is part of 0.2.0 so plugins can be built
    /// against it; the host side is the next step of this version).
    fn client_request(&self, kind: ClientRequestKind) -> ToolFailure {
        match self.check_client_grant(kind) {
            Err(denied) => denied,
            Ok(()) => ToolFailure::new(
                FailureKind::Failed,
                format!(
                    "the host cannot send {} requests to clients yet: plugin `{}` is granted them, but no client will be asked",
                    kind.as_str(),
                    self.plugin_name()
                ),
            ),
        }
    }
}

impl host::Host for PluginState {
    shared_host_functions!();

    async fn create_message(
        &mut self,
        _request: wit::SamplingRequest,
    ) -> wasmtime::Result<Result<wit::SamplingResult, wit::ToolError>> {
        Ok(Err(self.client_request(ClientRequestKind::Sampling).into()))
    }

    async fn elicit(
        &mut self,
        _request: wit::ElicitationRequest,
    ) -> wasmtime::Result<Result<wit::ElicitationAction, wit::ToolError>> {
        Ok(Err(self
            .client_request(ClientRequestKind::Elicitation)
            .into()))
    }

    async fn list_roots(&mut self) -> wasmtime::Result<Result<Vec<wit::Root>, wit::ToolError>> {
        Ok(Err(self.client_request(ClientRequestKind::Roots).into()))
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
