//! The MCP server AI clients talk to, over stdio or Streamable HTTP, in
//! both protocol eras (rmcp negotiates per request / per session).

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras Switchboard serves.
#![allow(deprecated)]

pub mod http;
mod lists;
pub mod stdio;

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestMethod,
    GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsRequestMethod,
    ListPromptsResult, ListResourceTemplatesRequestMethod, ListResourceTemplatesResult,
    ListResourcesRequestMethod, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, PromptsCapability, ProtocolVersion, ReadResourceRequestMethod,
    ReadResourceRequestParams, ReadResourceResponse, ResourcesCapability, ServerCapabilities,
    ServerConfig, SetLevelRequestParams, SubscriptionFilter, Tool, ToolsCapability,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use tokio::sync::mpsc;

use crate::dispatch::{Caller, ClientEvent, Dispatcher, EventSink, ListChanged};
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
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .build();
        // Only upstreams change lists and offer resources and prompts.
        if !self.dispatcher.upstreams().is_empty() {
            let mut tools = ToolsCapability::default();
            tools.list_changed = Some(true);
            capabilities.tools = Some(tools);
            let mut resources = ResourcesCapability::default();
            resources.list_changed = Some(true);
            capabilities.resources = Some(resources);
            let mut prompts = PromptsCapability::default();
            prompts.list_changed = Some(true);
            capabilities.prompts = Some(prompts);
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("switchboard", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Switchboard serves tools from sandboxed WebAssembly plugins and upstream MCP servers. Tool names are <provider>_<tool>.",
            )
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let catalog = self.dispatcher.catalog();
        let visible: Vec<Tool> = catalog
            .entries()
            .iter()
            .filter(|e| e.exposed)
            .map(|e| e.tool.clone())
            .collect();
        let (tools, next_cursor) = lists::page(visible, request, self.page_size)?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.dispatcher
            .catalog()
            .get(name)
            .filter(|e| e.exposed)
            .map(|e| e.tool.clone())
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

    // Capabilities Switchboard does not declare (no upstreams) answer
    // "method not found" rather than rmcp's default empty success, so
    // clients are not misled.
    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        if self.dispatcher.upstreams().is_empty() {
            return Err(McpError::method_not_found::<ListPromptsRequestMethod>());
        }
        lists::prompts(&self.dispatcher, request, self.page_size)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        if self.dispatcher.upstreams().is_empty() {
            return Err(McpError::method_not_found::<GetPromptRequestMethod>());
        }
        lists::get_prompt(&self.dispatcher, request)
            .await
            .map(Into::into)
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        if self.dispatcher.upstreams().is_empty() {
            return Err(McpError::method_not_found::<ListResourcesRequestMethod>());
        }
        lists::resources(&self.dispatcher, request, self.page_size)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        if self.dispatcher.upstreams().is_empty() {
            return Err(McpError::method_not_found::<
                ListResourceTemplatesRequestMethod,
            >());
        }
        lists::resource_templates(&self.dispatcher, request, self.page_size)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if self.dispatcher.upstreams().is_empty() {
            return Err(McpError::method_not_found::<ReadResourceRequestMethod>());
        }
        lists::read_resource(&self.dispatcher, request)
            .await
            .map(Into::into)
    }

    /// A legacy session is established: it hears list changes as plain
    /// notifications until it goes away.
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if self.dispatcher.upstreams().is_empty() {
            return;
        }
        let mut changes = self.dispatcher.subscribe_changes();
        let peer = context.peer;
        tokio::spawn(async move {
            loop {
                let change = match changes.recv().await {
                    Ok(change) => change,
                    // Missed some: the client re-lists anyway.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => ListChanged::Tools,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let sent = match change {
                    ListChanged::Tools => peer.notify_tool_list_changed().await,
                    ListChanged::Resources => peer.notify_resource_list_changed().await,
                    ListChanged::Prompts => peer.notify_prompt_list_changed().await,
                };
                if sent.is_err() {
                    // The session is gone.
                    return;
                }
            }
        });
    }

    /// 2026-07-28 clients hear list changes on a `subscriptions/listen`
    /// stream.
    fn accepted_subscription_filter(
        &self,
        _requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        if self.dispatcher.upstreams().is_empty() {
            return None;
        }
        Some(
            SubscriptionFilter::builder()
                .tools_list_changed()
                .resources_list_changed()
                .prompts_list_changed()
                .build(),
        )
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.dispatcher.subscribe_changes();
        loop {
            let change = tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => match change {
                    Ok(change) => change,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => ListChanged::Tools,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
                },
            };
            let sink = context.sink();
            // A category the client did not ask for is filtered by the sink.
            let _ = match change {
                ListChanged::Tools => sink.notify_tool_list_changed().await,
                ListChanged::Resources => sink.notify_resource_list_changed().await,
                ListChanged::Prompts => sink.notify_prompt_list_changed().await,
            };
        }
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
