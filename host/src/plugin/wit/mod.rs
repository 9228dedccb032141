//! The versions of the WIT contract `switchboard:plugin` this host
//! implements, one module each (`v0_1_0` for `switchboard:plugin@0.1.0`,
//! built from `wit/v0.1.0/`). A version's module holds its own bindings,
//! the conversions between its WIT types and the host's, and its side of
//! the `host` import. This module picks the version a component was built
//! against and answers in the host's types whatever the version, so no
//! other part of the host knows there is more than one.
//!
//! A new version goes in a module of its own beside the others (a released
//! one is never edited): a variant in [`WitVersion`], [`PluginPre`] and
//! [`PluginInstance`], one arm in each of their matches, and its line in
//! [`add_to_linker`].

mod shared;
mod v0_1_0;
mod v0_2_0;

use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, GetPromptResult, Prompt,
    ReadResourceResult, Resource, ResourceTemplate,
};
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

use super::state::PluginState;
use crate::provider::{ToolFailure, ToolSpec};
use crate::registry::RegistryError;

/// A version of `switchboard:plugin` this host implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitVersion {
    V0_1_0,
    V0_2_0,
}

impl WitVersion {
    /// Every version this host accepts, oldest first.
    pub const ALL: &[WitVersion] = &[WitVersion::V0_1_0, WitVersion::V0_2_0];

    /// As it stands in `switchboard:plugin@<version>`.
    pub fn as_str(self) -> &'static str {
        match self {
            WitVersion::V0_1_0 => v0_1_0::VERSION,
            WitVersion::V0_2_0 => v0_2_0::VERSION,
        }
    }
}

/// Adds every version's `host` import to the linker. Each has a name of its
/// own (`switchboard:plugin/host@<version>`), so plugins of all versions
/// link against the one linker.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1_0::add_to_linker(linker)?;
    v0_2_0::add_to_linker(linker)?;
    Ok(())
}

/// A plugin's component, linked and checked against its version's world:
/// what instances are made from.
pub enum PluginPre {
    V0_1_0(v0_1_0::ToolProviderPre<PluginState>),
    V0_2_0(v0_2_0::ToolProviderPre<PluginState>),
}

/// One instance of a plugin, in the bindings of its version.
pub enum PluginInstance {
    V0_1_0(v0_1_0::ToolProvider),
    V0_2_0(v0_2_0::ToolProvider),
}

/// What a plugin offers, as it answered at load: tools with their schemas
/// parsed (or why one cannot be offered), resources, templates, prompts
/// under the plugin's own names and URIs.
#[derive(Default)]
pub struct Offer {
    pub tools: Vec<Result<ToolSpec, RegistryError>>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    pub prompts: Vec<Prompt>,
}

/// Why the answer to a call is not a result the host passes on.
pub enum Refused {
    /// The plugin answered with its own `tool-error`.
    Failed(ToolFailure),
    /// The result carries this many bytes, more than the call allows; it was
    /// not converted.
    TooLarge(usize),
    /// The result cannot be passed on, for the reason given.
    Malformed(String),
    /// The plugin's WIT version has no such export (a 0.1.0 plugin asked
    /// for resources, say); the registry never routes such a request.
    Unsupported(&'static str),
}

impl PluginPre {
    pub fn version(&self) -> WitVersion {
        match self {
            PluginPre::V0_1_0(_) => WitVersion::V0_1_0,
            PluginPre::V0_2_0(_) => WitVersion::V0_2_0,
        }
    }

    /// Checks that `pre` exports what `version` requires.
    pub fn new(version: WitVersion, pre: InstancePre<PluginState>) -> wasmtime::Result<Self> {
        Ok(match version {
            WitVersion::V0_1_0 => PluginPre::V0_1_0(v0_1_0::ToolProviderPre::new(pre)?),
            WitVersion::V0_2_0 => PluginPre::V0_2_0(v0_2_0::ToolProviderPre::new(pre)?),
        })
    }

    pub async fn instantiate_async(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<PluginInstance> {
        Ok(match self {
            PluginPre::V0_1_0(pre) => PluginInstance::V0_1_0(pre.instantiate_async(store).await?),
            PluginPre::V0_2_0(pre) => PluginInstance::V0_2_0(pre.instantiate_async(store).await?),
        })
    }
}

impl PluginInstance {
    /// What the plugin offers (0.1.0 plugins offer tools only).
    pub async fn offer(
        &self,
        store: &mut Store<PluginState>,
        plugin: &str,
    ) -> wasmtime::Result<Offer> {
        match self {
            PluginInstance::V0_1_0(instance) => Ok(Offer {
                tools: v0_1_0::list_tools(instance, store, plugin).await?,
                ..Offer::default()
            }),
            PluginInstance::V0_2_0(instance) => v0_2_0::offer(instance, store, plugin).await,
        }
    }

    /// The plugin's `call-tool`, with a result of at most
    /// `max_result_bytes` (measured before it is converted).
    pub async fn call_tool(
        &self,
        store: &mut Store<PluginState>,
        tool: &str,
        arguments: &str,
        max_result_bytes: u64,
    ) -> wasmtime::Result<Result<CallToolResult, Refused>> {
        Ok(match self {
            PluginInstance::V0_1_0(instance) => checked(
                v0_1_0::call_tool(instance, store, tool, arguments).await?,
                max_result_bytes,
            ),
            PluginInstance::V0_2_0(instance) => checked(
                v0_2_0::call_tool(instance, store, tool, arguments).await?,
                max_result_bytes,
            ),
        })
    }

    /// The plugin's `read-resource` of its own `uri`.
    pub async fn read_resource(
        &self,
        store: &mut Store<PluginState>,
        uri: &str,
        max_result_bytes: u64,
    ) -> wasmtime::Result<Result<ReadResourceResult, Refused>> {
        Ok(match self {
            PluginInstance::V0_1_0(_) => Err(Refused::Unsupported("resources")),
            PluginInstance::V0_2_0(instance) => checked(
                v0_2_0::read_resource(instance, store, uri).await?,
                max_result_bytes,
            ),
        })
    }

    /// The plugin's `get-prompt` of its own prompt `name`.
    pub async fn get_prompt(
        &self,
        store: &mut Store<PluginState>,
        name: &str,
        arguments: &[(String, String)],
        max_result_bytes: u64,
    ) -> wasmtime::Result<Result<GetPromptResult, Refused>> {
        Ok(match self {
            PluginInstance::V0_1_0(_) => Err(Refused::Unsupported("prompts")),
            PluginInstance::V0_2_0(instance) => checked(
                v0_2_0::get_prompt(instance, store, name, arguments).await?,
                max_result_bytes,
            ),
        })
    }

    /// The plugin's `complete`.
    pub async fn complete(
        &self,
        store: &mut Store<PluginState>,
        request: &CompleteRequestParams,
        max_result_bytes: u64,
    ) -> wasmtime::Result<Result<CompleteResult, Refused>> {
        Ok(match self {
            PluginInstance::V0_1_0(_) => Err(Refused::Unsupported("completions")),
            PluginInstance::V0_2_0(instance) => checked(
                v0_2_0::complete(instance, store, request).await?,
                max_result_bytes,
            ),
        })
    }
}

/// A request's result in one version's WIT shape.
trait WitResult {
    /// The MCP result it becomes.
    type Mcp;

    /// Bytes it carries (text, binary data, structured JSON): what the
    /// `max_result_kb` limit measures.
    fn size(&self) -> usize;

    /// As the host passes it on, or what is wrong with it.
    fn into_mcp(self) -> Result<Self::Mcp, String>;
}

/// A version's answer to a request, limited to `max_bytes` and converted.
fn checked<R: WitResult, E: Into<ToolFailure>>(
    answer: Result<R, E>,
    max_bytes: u64,
) -> Result<R::Mcp, Refused> {
    let result = answer.map_err(|error| Refused::Failed(error.into()))?;
    let size = result.size();
    if size as u64 > max_bytes {
        return Err(Refused::TooLarge(size));
    }
    result.into_mcp().map_err(Refused::Malformed)
}
