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

mod v0_1_0;

use rmcp::model::CallToolResult;
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker};

use super::state::PluginState;
use crate::provider::{ToolFailure, ToolSpec};
use crate::registry::RegistryError;

/// A version of `switchboard:plugin` this host implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitVersion {
    V0_1_0,
}

impl WitVersion {
    /// Every version this host accepts, oldest first.
    pub const ALL: &[WitVersion] = &[WitVersion::V0_1_0];

    /// As it stands in `switchboard:plugin@<version>`.
    pub fn as_str(self) -> &'static str {
        match self {
            WitVersion::V0_1_0 => v0_1_0::VERSION,
        }
    }
}

/// Adds every version's `host` import to the linker. Each has a name of its
/// own (`switchboard:plugin/host@<version>`), so plugins of all versions
/// link against the one linker.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    v0_1_0::add_to_linker(linker)?;
    Ok(())
}

/// A plugin's component, linked and checked against its version's world:
/// what instances are made from.
pub enum PluginPre {
    V0_1_0(v0_1_0::ToolProviderPre<PluginState>),
}

/// One instance of a plugin, in the bindings of its version.
pub enum PluginInstance {
    V0_1_0(v0_1_0::ToolProvider),
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
}

impl PluginPre {
    /// Checks that `pre` exports what `version` requires.
    pub fn new(version: WitVersion, pre: InstancePre<PluginState>) -> wasmtime::Result<Self> {
        Ok(match version {
            WitVersion::V0_1_0 => PluginPre::V0_1_0(v0_1_0::ToolProviderPre::new(pre)?),
        })
    }

    pub async fn instantiate_async(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<PluginInstance> {
        Ok(match self {
            PluginPre::V0_1_0(pre) => PluginInstance::V0_1_0(pre.instantiate_async(store).await?),
        })
    }
}

impl PluginInstance {
    /// The plugin's `list-tools`: each tool with its schemas parsed, or why
    /// it cannot be offered.
    pub async fn list_tools(
        &self,
        store: &mut Store<PluginState>,
        plugin: &str,
    ) -> wasmtime::Result<Vec<Result<ToolSpec, RegistryError>>> {
        match self {
            PluginInstance::V0_1_0(instance) => v0_1_0::list_tools(instance, store, plugin).await,
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
        })
    }
}

/// A call's result in one version's WIT shape.
trait WitResult {
    /// Bytes it carries (text, binary data, structured JSON): what the
    /// `max_result_kb` limit measures.
    fn size(&self) -> usize;

    /// As the host passes it on, or what is wrong with it.
    fn into_mcp(self) -> Result<CallToolResult, String>;
}

/// A version's answer to `call-tool`, limited to `max_bytes` and converted.
fn checked<R: WitResult, E: Into<ToolFailure>>(
    answer: Result<R, E>,
    max_bytes: u64,
) -> Result<CallToolResult, Refused> {
    let result = answer.map_err(|error| Refused::Failed(error.into()))?;
    let size = result.size();
    if size as u64 > max_bytes {
        return Err(Refused::TooLarge(size));
    }
    result.into_mcp().map_err(Refused::Malformed)
}
