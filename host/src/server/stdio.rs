//! MCP over stdin/stdout. stdout carries protocol messages only; every log
//! line goes to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::McpHandler;
use super::request_state::RequestStates;
use crate::config::ServerSettings;
use crate::dispatch::Dispatcher;

/// Serves one client on stdio until it closes stdin.
pub async fn serve(dispatcher: Arc<Dispatcher>, settings: &ServerSettings) -> anyhow::Result<()> {
    let request_states = Arc::new(RequestStates::new(&settings.request_state_keys)?);
    let handler = McpHandler::new(dispatcher, settings.page_size, request_states);
    let running = handler.serve(rmcp::transport::stdio()).await?;
    let reason = running.waiting().await?;
    tracing::info!(?reason, "stdio client disconnected");
    Ok(())
}
