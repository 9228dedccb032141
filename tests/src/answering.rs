//! A client that answers the host's questions (sampling, elicitation,
//! roots), the way an AI client with a model and a user would, and records
//! each one. In a 2025-11-25 session rmcp hands it the host's requests; in
//! 2026-07-28 rmcp's `call_tool`/`get_prompt` fulfil `input_required`
//! results through it and retry, so one test drives both eras.

// Sampling and roots are deprecated by SEP-2577, yet part of both eras.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, ListRootsResult, ProtocolVersion, Role, Root,
    RootsCapabilities, SamplingCapability, SamplingMessage, SamplingMessageContentBlock,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::{Value, json};

use crate::client::{Era, Link, Wire, start_client_with, text};
use crate::config::ConfigFile;
use crate::host::Host;

/// The root every answering client reports.
pub const CLIENT_ROOT: &str = "file:///work/answering-client";

/// What the model "says": the prompt it was given, so tests see it arrived.
pub fn sampled_reply(prompt: &str) -> String {
    format!("model says: {prompt}")
}

/// Answers every question and remembers each (method, params).
#[derive(Clone)]
pub struct AnsweringClient {
    info: ClientConfig,
    /// What an elicitation form answers.
    form: Value,
    asked: Arc<Mutex<Vec<(String, Value)>>>,
}

impl AnsweringClient {
    /// Declares sampling, elicitation (form) and roots; forms answer `form`.
    pub fn new(era: Era, form: Value) -> Self {
        let mut capabilities = ClientCapabilities::default();
        capabilities.sampling = Some(SamplingCapability::default());
        capabilities.elicitation = Some(ElicitationCapability::default());
        capabilities.roots = Some(RootsCapabilities::default());
        let mut info = ClientConfig::default().with_protocol_version(match era {
            Era::Legacy => ProtocolVersion::V_2025_11_25,
            Era::Modern => ProtocolVersion::V_2026_07_28,
        });
        info.capabilities = capabilities;
        Self {
            info,
            form,
            asked: Arc::default(),
        }
    }

    /// The questions asked so far, by method.
    pub fn asked(&self) -> Vec<(String, Value)> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, method: &str, params: &impl serde::Serialize) {
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((method.to_owned(), params));
    }
}

impl ClientHandler for AnsweringClient {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.record("sampling/createMessage", &params);
        let prompt = serde_json::to_value(&params.messages)
            .ok()
            .and_then(|messages| {
                let last = messages.as_array()?.last()?.clone();
                let content = &last["content"];
                let block = if content.is_array() {
                    &content[0]
                } else {
                    content
                };
                block["text"].as_str().map(str::to_owned)
            })
            .unwrap_or_default();
        Ok(CreateMessageResult::new(
            SamplingMessage::new(
                Role::Assistant,
                SamplingMessageContentBlock::text(sampled_reply(&prompt)),
            ),
            "answering-model".into(),
        ))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.record("elicitation/create", &request);
        let mut result = ElicitResult::new(ElicitationAction::Accept);
        result.content = Some(self.form.clone());
        Ok(result)
    }

    async fn list_roots(
        &self,
        _context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        self.record("roots/list", &json!({}));
        Ok(ListRootsResult::new(vec![
            Root::new(CLIENT_ROOT).with_name("answering client"),
        ]))
    }
}

/// A host and an answering client connected to it.
pub struct AnsweringSession {
    pub peer: RunningService<RoleClient, AnsweringClient>,
    pub wire: Wire,
    pub client: AnsweringClient,
    pub host: Host,
}

impl AnsweringSession {
    /// Calls `tool` with `arguments` (a JSON object); panics if the request
    /// itself fails.
    pub async fn call(&self, tool: &str, arguments: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = arguments.as_object().cloned();
        self.peer
            .call_tool(params)
            .await
            .unwrap_or_else(|e| panic!("{tool} failed: {e}"))
    }

    /// How many `input_required` results the client received.
    pub fn input_required_rounds(&self) -> usize {
        self.wire
            .received_since(0)
            .iter()
            .filter(|m| m["result"]["resultType"] == "input_required")
            .count()
    }

    /// Calls `tool` and answers its text, asserting it succeeded.
    pub async fn call_ok(&self, tool: &str, arguments: Value) -> String {
        let result = self.call(tool, arguments).await;
        assert_ne!(result.is_error, Some(true), "{tool}: {}", text(&result));
        text(&result)
    }
}

/// Starts a host for `config` and connects `client` in `era` over `link`.
pub async fn connect_answering(
    config: &ConfigFile,
    link: Link,
    era: Era,
    client: AnsweringClient,
) -> AnsweringSession {
    let handler = client.clone();
    let (host, (peer, wire)) = match link {
        Link::Stdio => {
            let (host, stdout, stdin) = Host::stdio(config);
            let transport = AsyncRwTransport::new_client(stdout, stdin);
            (host, start_client_with(transport, era, handler).await)
        }
        Link::Http => {
            let host = Host::http(config).await;
            crate::install_tls_provider();
            let transport = StreamableHttpClientTransport::from_uri(host.url().to_owned());
            (host, start_client_with(transport, era, handler).await)
        }
    };
    AnsweringSession {
        peer,
        wire,
        client,
        host,
    }
}
