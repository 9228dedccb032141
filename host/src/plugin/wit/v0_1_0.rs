//! `switchboard:plugin@0.1.0` (`wit/v0.1.0/plugin.wit`): its bindings, the
//! conversions between its WIT types and the host's, and its `host` import.
//! A released version: a newer one goes beside it, this one stays as it is.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::model::{
    CallToolResult, ContentBlock, Resource, ResourceContents, Tool, ToolAnnotations,
};
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use super::WitResult;
use super::shared::{shared_conversions, shared_host_functions, shared_tool_exports};
use crate::logging::Level;
use crate::plugin::state::PluginState;
use crate::provider::{FailureKind, ToolFailure, ToolSpec};
use crate::registry::{RegistryError, parse_schema};

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "tool-provider",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::switchboard::plugin::{host, types as wit};

/// The package version, as in `switchboard:plugin@0.1.0`.
pub const VERSION: &str = "0.1.0";

pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    ToolProvider::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
}

shared_tool_exports!();

impl wit::Host for PluginState {}

impl host::Host for PluginState {
    shared_host_functions!();
}

shared_conversions!();
