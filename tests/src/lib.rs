//! Harness for Switchboard's end-to-end tests: builds the real `switchboard`
//! binary, the `upstream-fixture` MCP server and the fixture plugins once,
//! writes admin configs, runs hosts (stdio or HTTP, killed on drop, stderr
//! captured) and connects real rmcp clients in either protocol era, recording
//! every message they exchange. `upstreams` starts the real third-party MCP
//! servers (installed by `tests/upstreams/install.sh`).
//!
//! The tests themselves are in `tests/e2e/`; run them with
//! `cargo test -p switchboard-e2e` (needs `rustup target add wasm32-wasip2`).
//! Set `SWITCHBOARD_E2E_BIN=/path/to/switchboard` to test a given binary
//! instead of building one.

pub mod answering;
pub mod artifacts;
pub mod client;
pub mod config;
pub mod host;
pub mod upstreams;

pub use artifacts::{Fixture, host_binary, upstream_fixture_binary, workspace_root};
pub use client::{
    Call, Era, Link, McpClient, Session, assert_tool_error, connect, connect_http,
    connect_http_with_token, log_level_meta, text,
};
pub use config::{ConfigBuilder, ConfigFile};
pub use host::{CliOutput, Host, PATIENCE, cli_command, run_cli};

/// Makes `reqwest` clients buildable in this process. In a workspace build
/// reqwest carries the host's provider-less rustls, so building a client
/// without a process-wide crypto provider would panic. Every host start and
/// client connection calls this.
pub fn install_tls_provider() {
    // An error means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
