//! MCP over stdin/stdout. stdout carries protocol messages only; every log
//! line goes to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::McpHandler;
use crate::dispatch::Dispatcher;

/// Serves one client on stdio until it closes stdin.
pub async fn serve(dispatcher: Arc<Dispatcher>, page_size: usize) -> anyhow::Result<()> {
    let handler = McpHandler::new(dispatcher, page_size);
    let running = handler.serve(rmcp::transport::stdio()).await?;
    let reason = running.waiting().await?;
    tracing::info!(?reason, "stdio client disconnected");
    Ok(())
}
