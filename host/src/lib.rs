//! Switchboard: one MCP server in front of sandboxed WebAssembly tool
//! plugins.
//!
//! A request travels `server` → `dispatch` → a `provider` (a `plugin` or
//! an `upstream`), with the `registry` naming what providers offer and
//! saying who may reach it (`grants` for plugins).

pub mod changes;
pub mod client_input;
pub mod clients;
pub mod config;
pub mod dispatch;
#[cfg(test)]
mod dispatch_tests;
pub mod grants;
pub mod logging;
pub mod metrics;
pub mod oauth;
pub mod plugin;
pub mod provider;
pub mod rate_limit;
pub mod registry;
pub mod reload;
pub mod server;
pub mod startup;
pub mod telemetry;
pub mod trace;
pub mod upstream;
