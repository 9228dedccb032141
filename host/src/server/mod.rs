//! The MCP server AI clients talk to, over stdio or Streamable HTTP, in
//! both protocol eras (rmcp negotiates per request / per session).

pub mod auth;
mod era;
pub mod health;
mod host_check;
pub mod http;
mod lists;
pub mod request_state;
pub mod stdio;
mod subscriptions;

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestMethod,
    GetPromptRequestParams, GetPromptResponse, Implementation, InputRequiredResult, InputResponses,
    ListPromptsRequestMethod, ListPromptsResult, ListResourceTemplatesRequestMethod,
    ListResourceTemplatesResult, ListResourcesRequestMethod, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ProgressToken, PromptsCapability,
    ReadResourceRequestMethod, ReadResourceRequestParams, ReadResourceResponse,
    ResourcesCapability, ServerCapabilities, ServerConfig, SubscriptionFilter, Tool,
    ToolsCapability,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use tokio::sync::mpsc;

use crate::client_input::{ClientLink, merge_answers};
use crate::clients::Client;
use crate::dispatch::{Caller, ClientEvent, Dispatcher, EventSink, RequestScope};
use crate::logging::Level;
use crate::provider::{FailureKind, Offers, ToolFailure};
use crate::registry::Registry;
use crate::trace::TraceContext;
use era::{Era, ForEra};
use request_state::RequestStates;
use subscriptions::SessionSubscriptions;

/// One handler per legacy session (or per modern request); all shared
/// state lives behind the `Arc<Dispatcher>`.
#[derive(Clone)]
pub struct McpHandler {
    dispatcher: Arc<Dispatcher>,
    page_size: usize,
    /// `logging/setLevel` of a legacy session; modern requests carry theirs.
    session_log_level: Arc<Mutex<Option<Level>>>,
    /// Signs and checks the `requestState` of 2026-07-28 input rounds.
    request_states: Arc<RequestStates>,
    /// `resources/subscribe` of a legacy session.
    subscriptions: SessionSubscriptions,
}

/// How a request reaches its client for input, and for a 2026-07-28
/// request the bytes its `requestState` is bound to.
struct Asking {
    link: ClientLink,
    binding: Option<Vec<u8>>,
}

/// How a request that produced no result ends.
enum Concluded {
    /// It stopped for the client's input (2026-07-28).
    InputRequired(InputRequiredResult),
    /// A JSON-RPC error of its own (a client capability it needed, -32021).
    Error(McpError),
    /// The failure, as each request reports failures.
    Failed(ToolFailure),
}

impl McpHandler {
    pub fn new(
        dispatcher: Arc<Dispatcher>,
        page_size: usize,
        request_states: Arc<RequestStates>,
    ) -> Self {
        Self {
            dispatcher,
            page_size,
            session_log_level: Arc::new(Mutex::new(None)),
            request_states,
            subscriptions: SessionSubscriptions::default(),
        }
    }

    /// The client link of a request that may ask for input (`tools/call`,
    /// `prompts/get`, `resources/read`): its session (2025-11-25), or its
    /// round, with the answers it sent and those its verified
    /// `requestState` carries (2026-07-28). A state that fails its check
    /// is refused with -32602.
    fn asking(
        &self,
        context: &RequestContext<RoleServer>,
        caller: &Caller,
        request: (&str, &str, Option<&rmcp::model::JsonObject>),
        state: Option<String>,
        responses: Option<InputResponses>,
    ) -> Result<Asking, McpError> {
        let capabilities = context.client_capabilities().unwrap_or_default();
        if Era::of(context) == Era::Legacy {
            return Ok(Asking {
                link: ClientLink::session(context.peer.clone(), capabilities),
                binding: None,
            });
        }
        let (method, target, arguments) = request;
        let binding = request_state::binding(&caller.to_string(), method, target, arguments);
        let carried = match state {
            None => InputResponses::new(),
            Some(state) => self
                .request_states
                .open(&binding, &state)
                .map_err(|e| McpError::invalid_params(e.to_string(), None))?,
        };
        Ok(Asking {
            link: ClientLink::round(capabilities, merge_answers(carried, responses)),
            binding: Some(binding),
        })
    }

    /// How `failure` ends a request that ran with `asking`.
    fn conclude(&self, asking: &Asking, failure: ToolFailure) -> Concluded {
        let Some(binding) = &asking.binding else {
            return Concluded::Failed(failure);
        };
        if failure.kind == FailureKind::InputRequired
            && let Some((open, answered)) = asking.link.next_round()
        {
            let state = self.request_states.seal(binding, answered);
            return Concluded::InputRequired(InputRequiredResult::new(Some(open), Some(state)));
        }
        // The request failed having needed what the client did not declare.
        if let Some(missing) = asking.link.missing_capabilities() {
            let mut error = McpError::missing_required_client_capability(missing);
            error.message = format!("{}: {}", error.message, failure.message).into();
            return Concluded::Error(error);
        }
        Concluded::Failed(failure)
    }

    /// Who sent this request. Over HTTP, the client the auth layer
    /// attached to it ([`auth::authenticate`]: the local user when no
    /// `[clients]` are configured); one without is refused, never served
    /// as the local user. Over stdio, the local user.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
        let Some(parts) = context.extensions.get::<axum::http::request::Parts>() else {
            return Ok(Caller::LOCAL_CLIENT);
        };
        match parts.extensions.get::<Client>() {
            Some(client) => Ok(Caller::Client(client.clone())),
            None => Err(McpError::invalid_request(
                "this request carries no authenticated client",
                None,
            )),
        }
    }

    /// The least severe level the client wants, or `None` for no logs.
    /// 2026-07-28 requests opt in with `_meta` `logLevel` (no level, no
    /// logs); legacy sessions get everything until `logging/setLevel`.
    fn min_log_level(&self, context: &RequestContext<RoleServer>) -> Option<Level> {
        if Era::of(context) == Era::Modern {
            return context.meta.log_level();
        }
        let session = *self
            .session_log_level
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Some(session.unwrap_or(crate::logging::MOST_VERBOSE))
    }
}

impl ServerHandler for McpHandler {
    /// Capabilities are what the providers, together, offer now.
    // Logging (deprecated by SEP-2577) is still declared: both eras have it.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let offers = self.dispatcher.registry().offers();
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .build();
        let list_changed = self.dispatcher.lists_may_change().then_some(true);
        let mut tools = ToolsCapability::default();
        tools.list_changed = list_changed;
        capabilities.tools = Some(tools);
        if offers.resources {
            let mut resources = ResourcesCapability::default();
            resources.list_changed = list_changed;
            resources.subscribe = offers.resource_updates.then_some(true);
            capabilities.resources = Some(resources);
        }
        if offers.prompts {
            let mut prompts = PromptsCapability::default();
            prompts.list_changed = list_changed;
            capabilities.prompts = Some(prompts);
        }
        if offers.completions {
            capabilities.completions = Some(Default::default());
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context)?;
        let registry = self.dispatcher.registry();
        let visible: Vec<Tool> = registry
            .tools_for(&caller)
            .into_iter()
            .map(|entry| entry.tool.clone())
            .collect();
        let (tools, next_cursor) = lists::page(visible, request, self.page_size)?;
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.dispatcher
            .registry()
            // Only for rmcp's check of `Mcp-Param-*` headers against the
            // tool's schema (this hook sees no request); the call itself
            // checks the client's policy.
            .tool_for(&Caller::LOCAL_CLIENT, name)
            .ok()
            .map(|entry| entry.tool.clone())
    }

    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let era = Era::of(&context);
        let caller = self.caller(&context)?;
        let asking = self.asking(
            &context,
            &caller,
            ("tools/call", &request.name, request.arguments.as_ref()),
            request.request_state.take(),
            request.input_responses.take(),
        )?;
        let outcome = self
            .with_events(&context, asking.link.clone(), |scope| {
                self.dispatcher
                    .call(&caller, &request.name, request.arguments, scope)
            })
            .await;
        let failure = match outcome {
            Ok(result) => return Ok(result.for_era(era).into()),
            Err(failure) => failure,
        };
        match self.conclude(&asking, failure) {
            Concluded::InputRequired(result) => Ok(result.into()),
            Concluded::Error(error) => Err(error),
            Concluded::Failed(failure) if failure.kind == FailureKind::NotFound => {
                Err(McpError::invalid_params(failure.message, None))
            }
            // Anything that went wrong running the tool is a result the
            // model can read.
            Concluded::Failed(failure) => Ok(CallToolResult::error(vec![ContentBlock::text(
                failure.message,
            )])
            .for_era(era)
            .into()),
        }
    }

    // Requests no provider can serve answer "method not found" rather
    // than rmcp's default empty success, so clients are not misled.
    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let registry = self.offering::<ListPromptsRequestMethod>(|o| o.prompts)?;
        let (prompts, next_cursor) = lists::page(
            registry.prompts_for(&self.caller(&context)?),
            request,
            self.page_size,
        )?;
        let mut result = ListPromptsResult::with_all_items(prompts);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    async fn get_prompt(
        &self,
        mut request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.offering::<GetPromptRequestMethod>(|o| o.prompts)?;
        let era = Era::of(&context);
        let caller = self.caller(&context)?;
        let asking = self.asking(
            &context,
            &caller,
            ("prompts/get", &request.name, request.arguments.as_ref()),
            request.request_state.take(),
            request.input_responses.take(),
        )?;
        let outcome = self
            .with_events(&context, asking.link.clone(), |scope| {
                self.dispatcher
                    .get_prompt(&caller, &request.name, request.arguments, scope)
            })
            .await;
        match outcome {
            Ok(result) => Ok(result.for_era(era).into()),
            Err(failure) => self.concluded(&asking, failure, None),
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let registry = self.offering::<ListResourcesRequestMethod>(|o| o.resources)?;
        let (resources, next_cursor) = lists::page(
            registry.resources_for(&self.caller(&context)?),
            request,
            self.page_size,
        )?;
        let mut result = ListResourcesResult::with_all_items(resources);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let registry = self.offering::<ListResourceTemplatesRequestMethod>(|o| o.resources)?;
        let (templates, next_cursor) = lists::page(
            registry.resource_templates_for(&self.caller(&context)?),
            request,
            self.page_size,
        )?;
        let mut result = ListResourceTemplatesResult::with_all_items(templates);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    async fn read_resource(
        &self,
        mut request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        self.offering::<ReadResourceRequestMethod>(|o| o.resources)?;
        let era = Era::of(&context);
        let caller = self.caller(&context)?;
        let asking = self.asking(
            &context,
            &caller,
            ("resources/read", &request.uri, None),
            request.request_state.take(),
            request.input_responses.take(),
        )?;
        let outcome = self
            .with_events(&context, asking.link.clone(), |scope| {
                self.dispatcher.read_resource(&caller, &request.uri, scope)
            })
            .await;
        match outcome {
            Ok(result) => Ok(result.for_era(era).into()),
            Err(failure) => self.concluded(&asking, failure, Some(&request.uri)),
        }
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.offering::<CompleteRequestMethod>(|o| o.completions)?;
        let era = Era::of(&context);
        let caller = self.caller(&context)?;
        // Completions may not ask the client (neither era lets them).
        self.with_events(&context, ClientLink::none(), |scope| {
            self.dispatcher.complete(&caller, request, scope)
        })
        .await
        .map(|result| result.for_era(era))
        .map_err(|failure| lists::request_error(failure, None))
    }

    /// A legacy session is established: it hears list changes and the
    /// updates it subscribed to as plain notifications until it goes away.
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if !self.announces() {
            return;
        }
        tokio::spawn(subscriptions::forward_to_session(
            self.dispatcher.clone(),
            context.peer,
            self.subscriptions.clone(),
        ));
    }

    // `resources/subscribe` is the 2025-11-25 way; rmcp marks it deprecated
    // in favour of 2026-07-28's `subscriptions/listen`.
    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.offering::<rmcp::model::SubscribeRequestMethod>(|o| o.resource_updates)?;
        let caller = self.caller(&context)?;
        self.subscriptions
            .subscribe(&self.dispatcher, caller, request.uri)
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.offering::<rmcp::model::UnsubscribeRequestMethod>(|o| o.resource_updates)?;
        self.subscriptions.unsubscribe(&request.uri);
        Ok(())
    }

    /// 2026-07-28 clients hear list changes and resource updates on a
    /// `subscriptions/listen` stream.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        if !self.announces() {
            return None;
        }
        let offers = self.dispatcher.registry().offers();
        let mut filter = SubscriptionFilter::builder();
        if self.dispatcher.lists_may_change() {
            filter = filter.tools_list_changed();
            if offers.resources {
                filter = filter.resources_list_changed();
            }
            if offers.prompts {
                filter = filter.prompts_list_changed();
            }
        }
        // Each URI is checked against the client when an update comes.
        if offers.resource_updates
            && let Some(uris) = &requested.resource_subscriptions
        {
            filter = filter.resource_subscriptions(uris.iter().cloned());
        }
        Some(filter.build())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let caller = self.caller(context.request_context())?;
        subscriptions::forward_to_stream(&self.dispatcher, caller, context).await
    }

    // MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of
    // both eras; rmcp's signature names the deprecated request type.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        *self
            .session_log_level
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(request.level);
        Ok(())
    }
}

impl McpHandler {
    /// Whether clients may hear of changes at all: lists that may change,
    /// or resources whose updates are told.
    fn announces(&self) -> bool {
        self.dispatcher.lists_may_change() || self.dispatcher.registry().offers().resource_updates
    }

    /// The registry, if some provider offers what `offered` picks; else
    /// "method not found" for method `M`.
    fn offering<M: rmcp::model::ConstString + Default>(
        &self,
        offered: impl Fn(&Offers) -> bool,
    ) -> Result<Arc<Registry>, McpError> {
        let registry = self.dispatcher.registry();
        if offered(&registry.offers()) {
            Ok(registry)
        } else {
            Err(McpError::method_not_found::<M>())
        }
    }

    /// A failed resource or prompt request as its client gets it.
    fn concluded<T: From<InputRequiredResult>>(
        &self,
        asking: &Asking,
        failure: ToolFailure,
        uri: Option<&str>,
    ) -> Result<T, McpError> {
        match self.conclude(asking, failure) {
            Concluded::InputRequired(result) => Ok(result.into()),
            Concluded::Error(error) => Err(error),
            Concluded::Failed(failure) => Err(lists::request_error(failure, uri)),
        }
    }

    /// Runs one request through dispatch with the client's cancellation,
    /// delivering its progress and logs to the client while it runs, and
    /// its questions through `client`.
    async fn with_events<'a, T, F>(
        &'a self,
        context: &RequestContext<RoleServer>,
        client: ClientLink,
        request: impl FnOnce(RequestScope) -> F,
    ) -> T
    where
        F: Future<Output = T> + 'a,
    {
        let progress_token = context.meta.get_progress_token();
        let min_level = self.min_log_level(context);
        let (events, receiver) = EventSink::channel();
        let mut scope = RequestScope::root(context.ct.clone(), events);
        scope.client = client;
        let headers = context
            .extensions
            .get::<axum::http::request::Parts>()
            .map(|parts| &parts.headers);
        scope.trace = TraceContext::from_client(&context.meta, headers);
        let run = request(scope);
        let forward = forward_events(receiver, context.peer.clone(), progress_token, min_level);
        let (outcome, ()) = tokio::join!(run, forward);
        outcome
    }
}

/// Delivers a call's progress and log events to the client until the call
/// ends (its senders drop). Progress goes only to clients that sent a token.
// Log messages are rmcp's deprecated `notifications/message` (SEP-2577),
// still part of both eras.
#[allow(deprecated)]
async fn forward_events(
    mut receiver: mpsc::Receiver<ClientEvent>,
    peer: Peer<RoleServer>,
    progress_token: Option<ProgressToken>,
    min_level: Option<Level>,
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
                if !crate::logging::wanted(level, min_level) {
                    continue;
                }
                let param = rmcp::model::LoggingMessageNotificationParam::new(
                    level,
                    serde_json::Value::String(message),
                )
                .with_logger(source);
                peer.notify_logging_message(param).await
            }
        };
        if let Err(e) = sent {
            tracing::debug!("could not deliver a notification to the client: {e}");
        }
    }
}
