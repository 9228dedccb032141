//! The baseline: a native rmcp 3.9 server with one `echo` tool, served the
//! way the host serves (stdio, or Streamable HTTP at `/mcp` on axum).

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

#[derive(Clone)]
struct Echo;

fn echo_tool() -> Tool {
    let schema: JsonObject = serde_json::from_value(serde_json::json!({
        "type": "object",
        "properties": { "text": { "type": "string" } },
        "required": ["text"]
    }))
    .expect("a JSON object");
    Tool::new("echo", "Returns its input text", Arc::new(schema))
}

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("native-echo", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(vec![echo_tool()]))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == "echo").then(echo_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if request.name != "echo" {
            return Err(McpError::invalid_params(
                format!("unknown tool `{}`", request.name),
                None,
            ));
        }
        let text = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("text"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| McpError::invalid_params("`text` (a string) is required", None))?;
        Ok(CallToolResult::success(vec![ContentBlock::text(text.to_owned())]).into())
    }
}

/// Serves one client on stdin/stdout until it closes stdin.
pub async fn serve_stdio() -> anyhow::Result<()> {
    let running = Echo.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// Serves Streamable HTTP at `/mcp`; prints `listening on` like the host.
pub async fn serve_http(addr: SocketAddr) -> anyhow::Result<()> {
    // Same rmcp configuration as the host's (Origin validation on).
    let config = StreamableHttpServerConfig::default().enforce_origin_validation();
    let service = StreamableHttpService::new(
        || Ok(Echo),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "native-echo: listening on http://{}/mcp",
        listener.local_addr()?
    );
    // Like the host: without it every legacy-era call waits ~40 ms.
    axum::serve(switchboard::server::http::without_nagle(listener), router).await?;
    Ok(())
}
