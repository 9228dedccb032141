//! rmcp clients of the host, in either protocol era, over stdio or HTTP,
//! with every message they send and receive recorded in order ([`Wire`]).

// MCP logging is deprecated by SEP-2577 (2026-07-28) yet still part of both
// protocol eras the host serves.
#![allow(deprecated)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, ClientConfig, ClientJsonRpcMessage,
    ClientRequest, ErrorData, LoggingLevel, ProtocolVersion, RequestMetaObject,
    ServerJsonRpcMessage, ServerResult,
};
use rmcp::service::{PeerRequestOptions, RequestHandle, RunningService, ServiceError};
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::{StreamableHttpClientTransport, Transport};
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt};
use serde_json::{Map, Value, json};

use crate::config::ConfigFile;
use crate::host::Host;

/// How the client reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Stdio,
    Http,
}

/// The MCP protocol era the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 2025-11-25: `initialize`, sessions.
    Legacy,
    /// 2026-07-28: `server/discover`, per-request `_meta`, no sessions.
    Modern,
}

impl Era {
    pub fn protocol_version(self) -> ProtocolVersion {
        match self {
            Era::Legacy => ProtocolVersion::V_2025_11_25,
            Era::Modern => ProtocolVersion::V_2026_07_28,
        }
    }
}

/// A connected rmcp client and the record of its traffic.
pub struct McpClient {
    pub peer: RunningService<RoleClient, ClientConfig>,
    pub wire: Wire,
}

/// A host and one client connected to it.
pub struct Session {
    pub client: McpClient,
    pub host: Host,
}

/// Starts a host for `config` and connects a client in `era` over `link`.
pub async fn connect(config: &ConfigFile, link: Link, era: Era) -> Session {
    match link {
        Link::Stdio => {
            let (host, stdout, stdin) = Host::stdio(config);
            let client = start_client(AsyncRwTransport::new_client(stdout, stdin), era).await;
            Session { client, host }
        }
        Link::Http => {
            let host = Host::http(config).await;
            let client = connect_http(host.url(), era).await;
            Session { client, host }
        }
    }
}

/// Connects a client to an HTTP host that is already running.
pub async fn connect_http(url: &str, era: Era) -> McpClient {
    crate::install_tls_provider();
    start_client(StreamableHttpClientTransport::from_uri(url.to_owned()), era).await
}

/// Connects a client that sends `Authorization: Bearer <token>` on every
/// request.
pub async fn connect_http_with_token(url: &str, era: Era, token: &str) -> McpClient {
    crate::install_tls_provider();
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            url.to_owned(),
        )
        .auth_header(token);
    start_client(StreamableHttpClientTransport::from_config(config), era).await
}

/// Runs the era's lifecycle over `transport` and checks the era the client
/// really negotiated, so a test meant for one era cannot test the other.
async fn start_client<T>(transport: T, era: Era) -> McpClient
where
    T: Transport<RoleClient> + 'static,
{
    let config = match era {
        Era::Legacy => ClientConfig::default().with_protocol_version(ProtocolVersion::V_2025_11_25),
        Era::Modern => ClientConfig::default(),
    };
    let (peer, wire) = start_client_with(transport, era, config).await;
    McpClient { peer, wire }
}

/// [`start_client`] for any client handler (one that answers the host's
/// questions, say); its `get_info` must name the era's version for legacy.
pub async fn start_client_with<T, H>(
    transport: T,
    era: Era,
    handler: H,
) -> (RunningService<RoleClient, H>, Wire)
where
    T: Transport<RoleClient> + 'static,
    H: rmcp::ClientHandler,
{
    let wire = Wire::default();
    let transport = Recorded {
        inner: transport,
        wire: wire.clone(),
    };
    let peer = match era {
        // Plain `serve()`: the `initialize` handshake.
        Era::Legacy => handler
            .serve(transport)
            .await
            .expect("legacy client connects"),
        Era::Modern => handler
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Auto {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                    legacy_version: None,
                },
            )
            .await
            .expect("auto-negotiating client connects"),
    };
    let negotiated = peer
        .peer_info()
        .expect("server info after the handshake")
        .protocol_version
        .clone();
    assert_eq!(
        negotiated,
        era.protocol_version(),
        "the client negotiated the wrong era"
    );
    let first = &wire.sent()[0];
    let expected_method = match era {
        Era::Legacy => "initialize",
        Era::Modern => "server/discover",
    };
    assert_eq!(first["method"], expected_method, "first message: {first}");
    (peer, wire)
}

/// Which way a recorded message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Sent,
    Received,
}

/// Every JSON-RPC message a client sent or received, in order.
#[derive(Clone, Default)]
pub struct Wire(Arc<Mutex<Vec<(Direction, Value)>>>);

impl Wire {
    fn push(&self, direction: Direction, message: Value) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((direction, message));
    }

    /// A position to look from, e.g. before a request.
    pub fn mark(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn messages(&self, direction: Direction, from: usize) -> Vec<Value> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())[from..]
            .iter()
            .filter(|(d, _)| *d == direction)
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn sent(&self) -> Vec<Value> {
        self.messages(Direction::Sent, 0)
    }

    pub fn received_since(&self, mark: usize) -> Vec<Value> {
        self.messages(Direction::Received, mark)
    }

    /// The first notification received from `mark` on, and the mark just
    /// past it (to look for the one after).
    pub fn notification_since(&self, mark: usize) -> Option<(Value, usize)> {
        let messages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let from = mark.min(messages.len());
        messages[from..]
            .iter()
            .position(|(direction, message)| {
                *direction == Direction::Received && message.get("id").is_none()
            })
            .map(|at| (messages[from + at].1.clone(), from + at + 1))
    }
}

impl McpClient {
    /// Calls `name` with `arguments` (a JSON object).
    pub async fn call(&self, name: &str, arguments: Value) -> Call {
        self.call_with_meta(name, arguments, None).await
    }

    /// Sends `tools/call` for `name` and returns without waiting (to cancel
    /// it, say). `meta` is merged into the request's `_meta`.
    pub async fn start_call(
        &self,
        name: &str,
        arguments: Value,
        meta: Option<RequestMetaObject>,
    ) -> RequestHandle<RoleClient> {
        let mut options = PeerRequestOptions::no_options();
        if let Some(meta) = meta {
            options = options.with_meta(meta);
        }
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(
            CallToolRequestParams::new(name.to_owned()).with_arguments(object(arguments)),
        ));
        self.peer
            .send_request_with_option(request, options)
            .await
            .expect("send tools/call")
    }

    /// Calls `name` and records the notifications that arrived before the
    /// response. `meta` is merged into the request's `_meta`.
    pub async fn call_with_meta(
        &self,
        name: &str,
        arguments: Value,
        meta: Option<RequestMetaObject>,
    ) -> Call {
        let mark = self.wire.mark();
        let handle = self.start_call(name, arguments, meta).await;
        let id = to_json(&handle.id);
        let progress_token = to_json(&handle.progress_token);
        let result = handle
            .await_response()
            .await
            .and_then(|result| match result {
                ServerResult::CallToolResult(result) => Ok(result),
                _ => Err(ServiceError::UnexpectedResponse),
            });
        let received = self.wire.received_since(mark);
        let response_at = received
            .iter()
            .position(|m| m["id"] == id && m.get("method").is_none())
            .unwrap_or_else(|| panic!("no response with id {id} on the wire: {received:#?}"));
        let notifications = received[..response_at]
            .iter()
            .filter(|m| m.get("id").is_none() && m.get("method").is_some())
            .cloned()
            .collect();
        Call {
            result,
            notifications,
            progress_token,
        }
    }

    /// Asserts the host still serves this client: `kit_echo` answers.
    pub async fn assert_echo_works(&self) {
        self.assert_echo_works_as("kit_echo").await;
    }

    /// Asserts the testkit's echo tool, under the name `echo`, answers.
    pub async fn assert_echo_works_as(&self, echo: &str) {
        let call = self.call(echo, json!({"text": "still here"})).await;
        let result = call.ok();
        assert_ne!(
            result.is_error,
            Some(true),
            "{echo} failed: {}",
            text(result)
        );
        assert_eq!(text(result), "still here");
    }
}

/// A transport that records what passes through it on a [`Wire`].
struct Recorded<T> {
    inner: T,
    wire: Wire,
}

fn to_json(message: &impl serde::Serialize) -> Value {
    serde_json::to_value(message).expect("a JSON-RPC message serializes")
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Recorded<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.wire.push(Direction::Sent, to_json(&item));
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        let wire = self.wire.clone();
        let receive = self.inner.receive();
        async move {
            let message = receive.await;
            if let Some(message) = &message {
                wire.push(Direction::Received, to_json(message));
            }
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// A finished `tools/call` and what the client received while it ran.
#[derive(Debug)]
pub struct Call {
    pub result: Result<CallToolResult, ServiceError>,
    /// Notifications received after the request went out and before its
    /// response, in order.
    pub notifications: Vec<Value>,
    /// The progress token the request carried.
    pub progress_token: Value,
}

impl Call {
    /// The successful result (panics on a JSON-RPC error).
    pub fn ok(&self) -> &CallToolResult {
        self.result
            .as_ref()
            .unwrap_or_else(|e| panic!("tools/call failed: {e}"))
    }

    /// The JSON-RPC error (panics on a result).
    pub fn jsonrpc_error(&self) -> &ErrorData {
        match &self.result {
            Err(ServiceError::McpError(error)) => error,
            other => panic!("expected a JSON-RPC error, got {other:?}"),
        }
    }

    /// Notifications with this `method`, in order.
    pub fn notifications(&self, method: &str) -> Vec<&Value> {
        self.notifications
            .iter()
            .filter(|n| n["method"] == method)
            .collect()
    }

    /// The params of the `notifications/progress` that came before the
    /// result, in order.
    pub fn progress(&self) -> Vec<Value> {
        self.notifications("notifications/progress")
            .into_iter()
            .map(|n| n["params"].clone())
            .collect()
    }

    /// The progress params of `steps` steps `i` of `steps`, each with the
    /// message "step i", on this call's token: what the testkit plugin and
    /// the fixture upstream send.
    pub fn expected_steps(&self, steps: u32) -> Vec<Value> {
        (1..=steps)
            .map(|i| {
                serde_json::json!({
                    "progressToken": self.progress_token,
                    "progress": f64::from(i),
                    "total": f64::from(steps),
                    "message": format!("step {i}"),
                })
            })
            .collect()
    }
}

/// `arguments` as a JSON object (panics otherwise).
pub fn object(arguments: Value) -> Map<String, Value> {
    match arguments {
        Value::Object(map) => map,
        other => panic!("arguments must be an object, not {other}"),
    }
}

/// `_meta` asking (2026-07-28 style) for log messages at `level` and above.
pub fn log_level_meta(level: LoggingLevel) -> RequestMetaObject {
    let mut meta = RequestMetaObject::new();
    meta.set_log_level(level);
    meta
}

/// The text of a result's text blocks, joined by newlines.
pub fn text(result: &CallToolResult) -> String {
    to_json(result)["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// Asserts `result` is an `isError` result whose text contains every one of
/// `needles`; returns the text.
pub fn assert_tool_error(result: &CallToolResult, needles: &[&str]) -> String {
    let text = text(result);
    assert_eq!(
        result.is_error,
        Some(true),
        "expected isError, got {}",
        to_json(result)
    );
    for needle in needles {
        assert!(text.contains(needle), "error text lacks {needle:?}: {text}");
    }
    text
}
