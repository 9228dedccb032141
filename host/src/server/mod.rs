//! The MCP server AI clients talk to, over stdio or Streamable HTTP, in
//! both protocol eras (rmcp negotiates per request / per session).

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras Switchboard serves.
#![allow(deprecated)]

pub mod http;
pub mod stdio;

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    CompleteRequestParams, CompleteResult, ContentBlock, Implementation, ListPromptsRequestMethod,
    ListPromptsResult, ListResourceTemplatesRequestMethod, ListResourceTemplatesResult,
    ListResourcesRequestMethod, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, ProtocolVersion, ServerCapabilities, ServerConfig, SetLevelRequestParams, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use tokio::sync::mpsc;

use crate::dispatch::{Caller, ClientEvent, Dispatcher, EventSink};
use crate::provider::FailureKind;

/// One handler per legacy session (or per modern request); all shared
/// state lives behind the `Arc<Dispatcher>`.
#[derive(Clone)]
pub struct McpHandler {
    dispatcher: Arc<Dispatcher>,
    page_size: usize,
    /// `logging/setLevel` of a legacy session; modern requests carry theirs.
    session_log_level: Arc<Mutex<Option<LoggingLevel>>>,
}

impl McpHandler {
    pub fn new(dispatcher: Arc<Dispatcher>, page_size: usize) -> Self {
        Self {
            dispatcher,
            page_size,
            session_log_level: Arc::new(Mutex::new(None)),
        }
    }

    /// The least severe level the client wants, or `None` for no logs.
    /// 2026-07-28 requests opt in with `_meta` `logLevel` (no level, no
    /// logs); legacy sessions get everything until `logging/setLevel`.
    fn min_log_level(&self, context: &RequestContext<RoleServer>) -> Option<LoggingLevel> {
        let modern = context
            .protocol_version()
            .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        if modern {
            return context.meta.log_level();
        }
        let session = *self
            .session_log_level
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Some(session.unwrap_or(LoggingLevel::Debug))
    }
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        )
        .with_server_info(Implementation::new("switchboard", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Switchboard serves tools from sandboxed WebAssembly plugins. Tool names are <plugin>_<tool>.",
        )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let entries = self.dispatcher.catalog().entries();
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|&offset| offset <= entries.len())
                .ok_or_else(|| {
                    McpError::invalid_params(format!("invalid cursor `{cursor}`"), None)
                })?,
        };
        let end = (start + self.page_size).min(entries.len());
        let tools: Vec<Tool> = entries[start..end].iter().map(|e| e.tool.clone()).collect();
        let mut result = ListToolsResult::with_all_items(tools);
        if end < entries.len() {
            result.next_cursor = Some(end.to_string());
        }
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.dispatcher.catalog().get(name).map(|e| e.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let progress_token = context.meta.get_progress_token();
        let min_level = self.min_log_level(&context);
        let (events, receiver) = EventSink::channel();
        let scope = self.dispatcher.root_scope(context.ct.clone(), events);
        let call = self
            .dispatcher
            .call(&Caller::Client, &request.name, request.arguments, scope);
        let forward = forward_events(receiver, context.peer.clone(), progress_token, min_level);
        let (outcome, ()) = tokio::join!(call, forward);
        match outcome {
            Ok(result) => Ok(result.into()),
            Err(failure) if failure.kind == FailureKind::NotFound => {
                Err(McpError::invalid_params(failure.message, None))
            }
            Err(failure) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(failure.message)]).into())
            }
        }
    }

    // Capabilities Switchboard does not declare answer "method not found"
    // rather than rmcp's default empty success, so clients are not misled.
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Err(McpError::method_not_found::<ListPromptsRequestMethod>())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Err(McpError::method_not_found::<ListResourcesRequestMethod>())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Err(McpError::method_not_found::<
            ListResourceTemplatesRequestMethod,
        >())
    }

    async fn complete(
        &self,
        _request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        Err(McpError::method_not_found::<CompleteRequestMethod>())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        *self
            .session_log_level
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(request.level);
        Ok(())
    }
}

/// Delivers a call's progress and log events to the client until the call
/// ends (its senders drop). Progress goes only to clients that sent a token.
async fn forward_events(
    mut receiver: mpsc::Receiver<ClientEvent>,
    peer: Peer<RoleServer>,
    progress_token: Option<ProgressToken>,
    min_level: Option<LoggingLevel>,
) {
    while let Some(event) = receiver.recv().await {
        let sent = match event {
            ClientEvent::Progress {
                done,
                total,
                message,
                ..
            } => {
                let Some(token) = &progress_token else {
                    continue;
                };
                let mut param = ProgressNotificationParam::new(token.clone(), done);
                if let Some(total) = total {
                    param = param.with_total(total);
                }
                if let Some(message) = message {
                    param = param.with_message(message);
                }
                peer.notify_progress(param).await
            }
            ClientEvent::Log {
                source,
                level,
                message,
            } => {
                if min_level.is_none_or(|min| severity(level) < severity(min)) {
                    continue;
                }
                let param =
                    LoggingMessageNotificationParam::new(level, serde_json::Value::String(message))
                        .with_logger(source);
                peer.notify_logging_message(param).await
            }
        };
        if let Err(e) = sent {
            tracing::debug!("could not deliver a notification to the client: {e}");
        }
    }
}

/// RFC 5424 order, least severe first.
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}
