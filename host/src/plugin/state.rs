//! What each call's `Store` holds, and what the `host` import a plugin
//! sees does (each WIT version's bindings call it).

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{CallToolResult, Tool};
use tokio_util::sync::CancellationToken;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::http_gate::HttpGate;
use super::listing::Announcer;
use super::output::CapturedOutput;
use super::sandbox::Sandbox;
use crate::changes::ListChanged;
use crate::client_input::{Answer, Ask, Question, fill_in};
use crate::config::{ClientRequestGrants, ClientRequestKind};
use crate::dispatch::{CallScope, Caller, ClientEvent};
use crate::logging::{self, Level};
use crate::provider::{FailureKind, ToolFailure};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The longest resource URI a plugin may announce an update of: it is held
/// until clients are told, so a plugin must not make the host keep more.
const MAX_ANNOUNCED_URI_BYTES: usize = 2048;

/// Why the host stopped a running plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    Timeout,
    Cancelled,
    /// A question for a 2026-07-28 client is open: the request ends
    /// `input_required` and runs again with the answer.
    InputRequired,
}

pub struct PluginState {
    plugin: Arc<str>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_gate: HttpGate,
    client_grants: ClientRequestGrants,
    announcer: Announcer,
    table: ResourceTable,
    limits: MemoryLimiter,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
    /// The call this store serves; `None` while the host lists tools at load.
    scope: Option<CallScope>,
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub interrupted: Option<Interruption>,
}

/// Store limits that remember whether the memory cap was what stopped a
/// plugin, so the error can say so instead of "unreachable executed".
pub struct MemoryLimiter {
    inner: StoreLimits,
    pub memory_limit_hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        self.memory_limit_hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

impl PluginState {
    /// A store's state: the plugin's granted sandbox, its memory cap, and
    /// the call it serves.
    pub fn new(
        plugin: Arc<str>,
        sandbox: &Sandbox,
        announcer: Announcer,
        memory_bytes: usize,
        scope: Option<CallScope>,
        deadline: Instant,
        cancel: CancellationToken,
    ) -> Result<Self, String> {
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        let wasi = sandbox.wasi_ctx(stdout.clone(), stderr.clone())?;
        Ok(Self {
            http_gate: HttpGate::new(plugin.clone(), sandbox.http_grants()),
            client_grants: sandbox.client_grants(),
            announcer,
            plugin,
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: MemoryLimiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory_bytes)
                    .table_elements(1 << 20)
                    .instances(64)
                    .tables(64)
                    .memories(16)
                    .build(),
                memory_limit_hit: false,
            },
            stdout,
            stderr,
            scope,
            deadline,
            cancel,
            interrupted: None,
        })
    }

    /// Gives a store made ahead of time (a spare) to the call it now serves.
    pub fn begin_call(&mut self, scope: CallScope, deadline: Instant, cancel: CancellationToken) {
        self.scope = Some(scope);
        self.deadline = deadline;
        self.cancel = cancel;
    }

    pub fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limits
    }

    pub fn memory_limit_hit(&self) -> bool {
        self.limits.memory_limit_hit
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.http_gate,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// What the `host` import does, whatever the WIT version: each version's
/// module converts its types and calls these.
impl PluginState {
    /// `host.announce` of a list change. Ignored while the host lists the
    /// plugin (no call is served then): a listing that announced would
    /// list again for ever.
    pub fn announce_list_change(&self, kind: ListChanged) {
        if self.scope.is_some() {
            self.announcer.list_changed(kind);
        }
    }

    /// `host.announce` of a resource's new contents (`uri`, the plugin's
    /// own URI).
    pub fn announce_resource_update(&self, uri: &str) {
        if self.scope.is_none() {
            return;
        }
        if uri.len() > MAX_ANNOUNCED_URI_BYTES {
            tracing::warn!(
                plugin = %self.plugin,
                "announced an update of a resource URI of {} bytes, over {MAX_ANNOUNCED_URI_BYTES}; ignored",
                uri.len()
            );
            return;
        }
        self.announcer.resource_updated(uri);
    }

    /// `host.call-tool`: calls `name` for the plugin, through the one call
    /// path, within the call this store serves.
    /// A callee that stopped to ask the client for input stops this plugin
    /// too (the trap, `Err`): the whole request runs again once answered.
    pub async fn call_granted_tool(
        &mut self,
        name: &str,
        arguments: &str,
    ) -> wasmtime::Result<Result<CallToolResult, ToolFailure>> {
        let Some(scope) = self.scope.clone() else {
            return Ok(Err(ToolFailure::new(
                FailureKind::Denied,
                "tools cannot be called while the host is listing this plugin's tools",
            )));
        };
        let arguments = match serde_json::from_str::<serde_json::Value>(arguments) {
            Ok(serde_json::Value::Object(object)) => Some(object),
            Ok(_) => {
                return Ok(Err(ToolFailure::new(
                    FailureKind::InvalidArguments,
                    "arguments must be a JSON object",
                )));
            }
            Err(e) => {
                return Ok(Err(ToolFailure::new(
                    FailureKind::InvalidArguments,
                    format!("arguments are not valid JSON: {e}"),
                )));
            }
        };
        let caller = Caller::Plugin(self.plugin.to_string());
        let outcome = scope
            .dispatcher
            .call(&caller, name, arguments, scope.nested())
            .await;
        match outcome {
            Err(failure) if failure.kind == FailureKind::InputRequired => {
                Err(self.stop_for_input())
            }
            outcome => Ok(outcome),
        }
    }

    /// The trap that ends a run waiting for the client's input.
    fn stop_for_input(&mut self) -> wasmtime::Error {
        self.interrupted = Some(Interruption::InputRequired);
        wasmtime::Error::msg("stopped to ask the client for input")
    }

    /// `host.ask`: the questions for the client, each answered in order or
    /// failed on its own (a conversion problem, a missing grant, the
    /// client). `Err` traps: a 2026-07-28 client is asked in the result.
    pub async fn ask_client(
        &mut self,
        questions: Vec<(String, Result<Ask, ToolFailure>)>,
    ) -> wasmtime::Result<Vec<Result<Answer, ToolFailure>>> {
        let Some(scope) = self.scope.clone() else {
            let failure = ToolFailure::new(
                FailureKind::Denied,
                "the client cannot be asked while the host is listing this plugin's offer",
            );
            return Ok(questions.iter().map(|_| Err(failure.clone())).collect());
        };
        let mut answers: Vec<Option<Result<Answer, ToolFailure>>> = Vec::new();
        let mut to_ask = Vec::new();
        for (key, ask) in questions {
            match ask.and_then(|ask| self.check_client_grant(ask.kind()).map(|()| ask)) {
                Ok(ask) => {
                    answers.push(None);
                    to_ask.push(Question { key, ask });
                }
                Err(failure) => answers.push(Some(Err(failure))),
            }
        }
        let caller = Caller::Plugin(self.plugin.to_string());
        let Ok(asked) = scope.dispatcher.ask_client(&caller, to_ask, &scope).await else {
            return Err(self.stop_for_input());
        };
        Ok(fill_in(answers, asked))
    }

    /// Whether this plugin may send a `kind` request to its client; the
    /// refusal says which grant is missing and is audited like any other.
    pub fn check_client_grant(&self, kind: ClientRequestKind) -> Result<(), ToolFailure> {
        if self.client_grants.allows(kind) {
            return Ok(());
        }
        let failure = ToolFailure::new(
            FailureKind::Denied,
            format!(
                "plugin `{}` may not send {} requests to the client: it is not granted them (grants.{} = true)",
                self.plugin,
                kind.as_str(),
                kind.as_str()
            ),
        );
        if let Some(scope) = &self.scope {
            let caller = Caller::Plugin(self.plugin.to_string());
            scope
                .dispatcher
                .audit_refused(&caller, kind.method(), &failure, &scope.trace);
        }
        Err(failure)
    }

    /// `host.list-tools`: the tools this plugin is granted, each as `each`
    /// makes it; none while the host lists the plugin's own tools.
    pub fn granted_tools<T>(&self, each: impl FnMut(&Tool) -> T) -> Vec<T> {
        let Some(scope) = &self.scope else {
            return Vec::new();
        };
        let registry = scope.dispatcher.registry();
        let caller = Caller::Plugin(self.plugin.to_string());
        registry
            .tools_for(&caller)
            .into_iter()
            .map(|entry| &entry.tool)
            .map(each)
            .collect()
    }

    /// `host.log`: to the host's log and to the client of the call.
    pub async fn log_message(&mut self, level: Level, message: String) {
        let plugin = &*self.plugin;
        logging::event!(level, target: "switchboard::plugin", plugin, "{message}");
        if let Some(scope) = &self.scope {
            scope
                .events
                .send(ClientEvent::Log {
                    source: plugin.to_owned(),
                    level,
                    message,
                })
                .await;
        }
    }

    /// `host.progress`: to the client of the call, if it asked for progress.
    pub async fn report_progress(
        &mut self,
        done: f64,
        total: Option<f64>,
        message: Option<String>,
    ) {
        if let Some(scope) = &self.scope {
            scope
                .events
                .send(ClientEvent::Progress {
                    source: self.plugin.to_string(),
                    done,
                    total,
                    message,
                })
                .await;
        }
    }
}

impl Interruption {
    pub fn failure(self, plugin: &str, tool: &str, timeout_ms: u64) -> ToolFailure {
        match self {
            Interruption::Timeout => ToolFailure::new(
                FailureKind::Timeout,
                format!("plugin `{plugin}` timed out in tool `{tool}` after {timeout_ms} ms"),
            ),
            Interruption::Cancelled => ToolFailure::new(
                FailureKind::Cancelled,
                format!("plugin `{plugin}`: call to `{tool}` was cancelled"),
            ),
            Interruption::InputRequired => ToolFailure::new(
                FailureKind::InputRequired,
                format!("plugin `{plugin}` asked the client for input in `{tool}`"),
            ),
        }
    }
}
