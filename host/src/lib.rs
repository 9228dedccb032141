//! Switchboard: one MCP server in front of sandboxed WebAssembly tool
//! plugins.
//!
//! A call travels `server` → `dispatch` → a `provider` (a `plugin`), with
//! the `catalog` naming tools and `grants` saying who may call what.

pub mod catalog;
pub mod config;
pub mod dispatch;
pub mod grants;
pub mod plugin;
pub mod provider;
pub mod server;
pub mod startup;
pub mod telemetry;
pub mod upstream;
