//! Plugins: WebAssembly components run by one wasmtime engine, each call in
//! a fresh store (nothing survives from one call to the next, so calls of
//! different clients never see each other's state).

mod cache;
mod component_file;
mod http_gate;
pub mod inspect;
mod instances;
mod listing;
mod output;
mod sandbox;
mod state;
mod wit;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, GetPromptResult, JsonObject, Prompt,
    ReadResourceResult, Resource, ResourceTemplate,
};
use tokio_util::sync::{CancellationToken, DropGuard};
use wasmtime::component::{Component, Linker};
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

pub use cache::CacheOutcome;
use cache::CompileCache;
use instances::{InstanceFactory, Spares};
use listing::{Announcer, Listed};
use sandbox::Sandbox;
use state::{Interruption, PluginState};
pub use wit::WitVersion;
use wit::{Offer, PluginInstance, PluginPre, Refused};

use crate::changes::PendingChanges;
use crate::config::{Limits, PluginConfig};
use crate::dispatch::CallScope;
use crate::provider::{FailureKind, Offers, Provider, ToolFailure, ToolSpec};
use crate::registry::RegistryError;

/// How often the engine's epoch advances: the granularity of timeouts and
/// of yielding a busy plugin back to the async runtime.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A plugin that could not be loaded: names the plugin, its file and why.
#[derive(Debug, thiserror::Error)]
#[error("plugin `{plugin}` ({path}): {reason}")]
pub struct PluginLoadError {
    pub plugin: String,
    pub path: PathBuf,
    pub reason: String,
}

/// A plugin's component, checked and compiled, and the WIT version it was
/// built against.
pub struct Compiled {
    component: Component,
    version: WitVersion,
}

/// The engine, the linker with every host import, and the compile cache.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: CompileCache,
    ticker_stop: Arc<AtomicBool>,
}

/// Instances (and their memories) live in a pool: a fresh store per call
/// reuses a slot, reset by the allocator, instead of mapping new memory;
/// calls stay isolated because no slot is shared by two live instances.
///
/// Where the kernel can report which pages a call dirtied (`PAGEMAP_SCAN`,
/// Linux 6.7+), a freed slot has just those pages zeroed in place (up to
/// [`KEEP_RESIDENT`]) instead of being unmapped: the next instance in that
/// slot then takes no page faults, which were most of a small call's cost,
/// and memory that stays resident is only what calls actually touched.
pub fn pool_config(max_memory_mb: u64) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 8)
        .total_memories(POOL_INSTANCES)
        .total_tables(POOL_INSTANCES * 8)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(64)
        .max_memory_size(usize::try_from(max_memory_mb << 20).unwrap_or(usize::MAX));
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
    }
    pool
}

/// Dirtied bytes of a freed memory (or table) slot zeroed in place rather
/// than unmapped; beyond it the rest is unmapped as usual. It bounds what
/// an idle slot keeps resident.
const KEEP_RESIDENT: usize = 1 << 20;

/// Component instances alive at once across all plugins; an instantiation
/// beyond it fails that call with a clear error, never the host.
const POOL_INSTANCES: u32 = 1000;

impl Runtime {
    /// An engine whose instances come from a pool sized for plugins of at
    /// most `max_memory_mb` (falling back to on-demand allocation where the
    /// pool's address space cannot be reserved).
    pub fn new(cache_dir: PathBuf, max_memory_mb: u64) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(
            max_memory_mb,
        )));
        let engine = match Engine::new(&pooled) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::warn!("instance pool unavailable, allocating on demand: {e:#}");
                Engine::new(&config)?
            }
        };
        // Before anything else starts: a cache folder another user could
        // write to is an error at start (`serve` and `check` both fail,
        // naming the folder and the fix), never a silent fallback.
        let cache = CompileCache::new(cache_dir, &engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        wit::add_to_linker(&mut linker)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.clone();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("switchboard-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })?;

        Ok(Self {
            engine,
            linker,
            cache,
            ticker_stop,
        })
    }

    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache.dir()
    }

    /// Reads, checks and compiles (or loads from cache) a plugin's component.
    /// CPU-bound: run it off the async threads.
    pub fn compile(
        &self,
        plugin: &PluginConfig,
    ) -> Result<(Compiled, CacheOutcome), PluginLoadError> {
        let fail = |reason: String| PluginLoadError {
            plugin: plugin.name.clone(),
            path: plugin.component.clone(),
            reason,
        };
        let bytes = component_file::read(&plugin.component).map_err(fail)?;
        inspect::check_header(&bytes).map_err(|e| fail(e.to_string()))?;
        let (component, outcome) = self
            .cache
            .load_or_compile(&self.engine, &bytes)
            .map_err(|e| fail(format!("not a valid component: {e:#}")))?;
        let version =
            inspect::check_world(&self.engine, &component).map_err(|e| fail(e.to_string()))?;
        Ok((Compiled { component, version }, outcome))
    }

    /// Links a compiled component and asks it for its tools. What it
    /// later announces changed reaches `changes`.
    pub async fn instantiate(
        &self,
        plugin: &PluginConfig,
        compiled: &Compiled,
        changes: Arc<PendingChanges>,
    ) -> Result<(Arc<PluginProvider>, Vec<RegistryError>), PluginLoadError> {
        let fail = |reason: String| PluginLoadError {
            plugin: plugin.name.clone(),
            path: plugin.component.clone(),
            reason,
        };
        let pre = self
            .linker
            .instantiate_pre(&compiled.component)
            .map_err(|e| {
                fail(format!(
                    "imports something this host does not provide: {e:#}"
                ))
            })?;
        let pre = PluginPre::new(compiled.version, pre).map_err(|e| fail(format!("{e:#}")))?;
        let sandbox = Sandbox::from_grants(&plugin.grants, self.cache.dir()).map_err(fail)?;
        let factory = Arc::new(InstanceFactory {
            name: plugin.name.clone(),
            engine: self.engine.clone(),
            pre,
            limits: plugin.limits,
            sandbox,
            announcer: Announcer::new(&plugin.name, changes),
        });
        let stop_relisting = CancellationToken::new();
        let provider = PluginProvider {
            factory,
            spares: Spares::none(),
            slots: tokio::sync::Semaphore::new(
                usize::try_from(plugin.limits.max_concurrent)
                    .unwrap_or(usize::MAX)
                    .min(tokio::sync::Semaphore::MAX_PERMITS),
            ),
            listed: RwLock::default(),
            _relisting: stop_relisting.clone().drop_guard(),
        };
        let (listed, problems) = provider
            .ask_offer()
            .await
            .map_err(|failure| fail(failure.message))?;
        // Spares only for a plugin that loaded; the first one can reuse the
        // slot the listing just freed.
        let provider = Arc::new(PluginProvider {
            spares: Spares::start(provider.factory.clone()),
            listed: RwLock::new(listed),
            ..provider
        });
        if provider.factory.pre.version() != WitVersion::V0_1_0 {
            tokio::spawn(keep_listing_current(
                Arc::downgrade(&provider),
                stop_relisting,
            ));
        }
        Ok((provider, problems))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// One loaded plugin: pre-linked, a fresh instance for every call.
pub struct PluginProvider {
    factory: Arc<InstanceFactory>,
    spares: Spares,
    /// One permit per call allowed to run at once (`max_concurrent`).
    slots: tokio::sync::Semaphore,
    /// What the plugin answered when last listed.
    listed: RwLock<Listed>,
    /// Stops the re-listing task when the plugin is unloaded.
    _relisting: DropGuard,
}

/// Lists the plugin again each time it announces a list change (repeats
/// while a listing runs collapse into one more), and tells the host which
/// lists really changed. A listing that fails keeps the last one.
async fn keep_listing_current(provider: Weak<PluginProvider>, stop: CancellationToken) {
    loop {
        let announcer = match provider.upgrade() {
            Some(provider) => provider.factory.announcer.clone(),
            None => return,
        };
        tokio::select! {
            () = announcer.next_list_change() => {}
            () = stop.cancelled() => return,
        }
        let Some(provider) = provider.upgrade() else {
            return;
        };
        match provider.ask_offer().await {
            Ok((fresh, problems)) => {
                for problem in problems {
                    tracing::warn!(plugin = %provider.name(), "left out of its new listing: {problem}");
                }
                let changed = {
                    let mut listed = provider.listed.write().unwrap_or_else(|e| e.into_inner());
                    let changed = listed.changes_to(&fresh);
                    *listed = fresh;
                    changed
                };
                announcer.changed(&changed);
            }
            Err(failure) => tracing::warn!(
                plugin = %provider.name(),
                "could not list the plugin again after it announced a change: {failure}"
            ),
        }
    }
}

impl PluginProvider {
    fn limits(&self) -> &Limits {
        &self.factory.limits
    }

    fn listed(&self) -> std::sync::RwLockReadGuard<'_, Listed> {
        self.listed.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the plugin what it serves (at load, and after it announced a
    /// change); the registry is built from the answer. Each tool's schemas
    /// are parsed here, and a bad one is reported by name and left out.
    async fn ask_offer(&self) -> Result<(Listed, Vec<RegistryError>), ToolFailure> {
        let deadline = Instant::now() + self.factory.timeout();
        let mut store = self
            .factory
            .new_store(None, deadline, CancellationToken::new())?;
        let run = async {
            let instance = self.factory.pre.instantiate_async(&mut store).await?;
            instance.offer(&mut store, self.name()).await
        };
        match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(Ok(offer)) => Ok(listed_from(offer)),
            Ok(Err(error)) => Err(self.crash(&store, "its listing", error)),
            Err(_) => Err(Interruption::Timeout.failure(
                self.name(),
                "its listing",
                self.limits().timeout_ms,
            )),
        }
    }

    /// Runs one request (`what`: a tool's, prompt's or resource's name) in
    /// a fresh instance (a ready spare, or one made now) once one of the
    /// plugin's `max_concurrent` slots is free.
    async fn run<T>(
        &self,
        what: &str,
        scope: CallScope,
        request: impl AsyncFnOnce(
            &PluginInstance,
            &mut Store<PluginState>,
            u64,
        ) -> wasmtime::Result<Result<T, Refused>>,
    ) -> Result<T, ToolFailure> {
        let deadline = scope.deadline;
        let _slot = self.slot(what, deadline).await?;
        let cancel = scope.cancel.clone();
        let (mut store, spare) = match self.spares.take() {
            Some(spare) => {
                let (store, instance) = spare.bind(scope, deadline, cancel);
                (store, Some(instance))
            }
            None => (self.factory.new_store(Some(scope), deadline, cancel)?, None),
        };
        let max_result_bytes = self.limits().max_result_kb.saturating_mul(1024);
        let run = async {
            let instance = match spare {
                Some(instance) => instance,
                None => self.factory.pre.instantiate_async(&mut store).await?,
            };
            request(&instance, &mut store, max_result_bytes).await
        };
        // The epoch callback stops a busy plugin; this stops one blocked
        // in a host call (a WASI sleep, say).
        let outcome = tokio::time::timeout_at(deadline.into(), run).await;
        self.log_output(&store, what);
        match outcome {
            Err(_) => {
                Err(Interruption::Timeout.failure(self.name(), what, self.limits().timeout_ms))
            }
            Ok(Err(error)) => Err(self.crash(&store, what, error)),
            Ok(Ok(Err(refused))) => Err(self.refused(what, refused)),
            Ok(Ok(Ok(result))) => Ok(result),
        }
    }

    /// Waits for one of the plugin's `max_concurrent` slots, within the
    /// request's deadline.
    async fn slot(
        &self,
        what: &str,
        deadline: Instant,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, ToolFailure> {
        match tokio::time::timeout_at(deadline.into(), self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ToolFailure::new(
                FailureKind::Timeout,
                format!(
                    "plugin `{}` is busy: {} requests were already running and none finished before `{what}`'s deadline",
                    self.name(),
                    self.limits().max_concurrent
                ),
            )),
        }
    }

    /// Why the answer of `tool` does not reach the caller, as the caller sees it.
    fn refused(&self, tool: &str, refused: Refused) -> ToolFailure {
        match refused {
            Refused::Failed(failure) => failure,
            Refused::TooLarge(size) => ToolFailure::new(
                FailureKind::Failed,
                format!(
                    "plugin `{}` returned {} KiB from `{tool}`, over its limit of {} KiB (limits.max_result_kb)",
                    self.name(),
                    size / 1024,
                    self.limits().max_result_kb
                ),
            ),
            Refused::Unsupported(kind) => ToolFailure::new(
                FailureKind::NotFound,
                format!(
                    "plugin `{}` serves no {kind} (it was built against switchboard:plugin@{})",
                    self.name(),
                    self.factory.pre.version().as_str()
                ),
            ),
            Refused::Malformed(problem) => ToolFailure::new(
                FailureKind::Failed,
                format!(
                    "plugin `{}` returned a bad result from `{tool}`: {problem}",
                    self.name()
                ),
            ),
        }
    }

    /// Turns a trap into the most specific failure we can name.
    fn crash(&self, store: &Store<PluginState>, tool: &str, error: wasmtime::Error) -> ToolFailure {
        let state = store.data();
        let name = self.name();
        if let Some(interruption) = state.interrupted {
            return interruption.failure(name, tool, self.limits().timeout_ms);
        }
        if state.memory_limit_hit() {
            return ToolFailure::new(
                FailureKind::Failed,
                format!(
                    "plugin `{name}` ran out of memory in tool `{tool}` (limit {} MiB)",
                    self.limits().memory_mb
                ),
            );
        }
        let what = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}"),
        };
        let stderr = state.stderr.contents();
        let stderr = if stderr.is_empty() {
            String::new()
        } else {
            format!("; its stderr: {stderr}")
        };
        ToolFailure::new(
            FailureKind::Failed,
            format!("plugin `{name}` crashed in tool `{tool}`: {what}{stderr}"),
        )
    }

    fn log_output(&self, store: &Store<PluginState>, tool: &str) {
        for (stream, output) in [
            ("stdout", &store.data().stdout),
            ("stderr", &store.data().stderr),
        ] {
            let text = output.contents();
            if !text.is_empty() {
                tracing::info!(target: "switchboard::plugin", plugin = %self.name(), tool, stream, "{text}");
            }
        }
    }
}

impl Provider for PluginProvider {
    fn name(&self) -> &str {
        &self.factory.name
    }

    fn timeout(&self) -> Duration {
        self.factory.timeout()
    }

    fn tools(&self) -> Vec<ToolSpec> {
        self.listed().tools.clone()
    }

    fn offers(&self) -> Offers {
        let listed = self.listed();
        let templates = !listed.templates.is_empty();
        let prompts = !listed.prompts.is_empty();
        let resources = templates || !listed.resources.is_empty();
        // Only 0.1.0 has no `host.announce`.
        let announces = self.factory.pre.version() != WitVersion::V0_1_0;
        Offers {
            resources,
            prompts,
            // What a completion can be for.
            completions: templates || prompts,
            list_changes: announces,
            resource_updates: announces && resources,
        }
    }

    fn resources(&self) -> Vec<Resource> {
        self.listed().resources.clone()
    }

    fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.listed().templates.clone()
    }

    fn prompts(&self) -> Vec<Prompt> {
        self.listed().prompts.clone()
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: JsonObject,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CallToolResult, ToolFailure>> {
        Box::pin(async move {
            let arguments = serde_json::Value::Object(arguments).to_string();
            self.run(tool, scope, async |instance, store, max| {
                instance.call_tool(store, tool, &arguments, max).await
            })
            .await
        })
    }

    fn read_resource<'a>(
        &'a self,
        uri: &'a str,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<ReadResourceResult, ToolFailure>> {
        Box::pin(async move {
            self.run(uri, scope, async |instance, store, max| {
                instance.read_resource(store, uri, max).await
            })
            .await
        })
    }

    fn get_prompt<'a>(
        &'a self,
        name: &'a str,
        arguments: Option<JsonObject>,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<GetPromptResult, ToolFailure>> {
        Box::pin(async move {
            let arguments = prompt_arguments(name, arguments)?;
            self.run(name, scope, async |instance, store, max| {
                instance.get_prompt(store, name, &arguments, max).await
            })
            .await
        })
    }

    fn complete<'a>(
        &'a self,
        request: CompleteRequestParams,
        scope: CallScope,
    ) -> BoxFuture<'a, Result<CompleteResult, ToolFailure>> {
        Box::pin(async move {
            let what = "completion/complete";
            self.run(what, scope, async |instance, store, max| {
                instance.complete(store, &request, max).await
            })
            .await
        })
    }
}

/// A listing as the registry takes it: tools whose schemas failed to parse
/// are left out and returned as problems.
fn listed_from(offer: Offer) -> (Listed, Vec<RegistryError>) {
    let Offer {
        tools,
        resources,
        templates,
        prompts,
    } = offer;
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for tool in tools {
        match tool {
            Ok(tool) => valid.push(tool),
            Err(problem) => problems.push(problem),
        }
    }
    let listed = Listed {
        tools: valid,
        resources,
        templates,
        prompts,
    };
    (listed, problems)
}

/// A prompt's arguments as the WIT passes them: MCP allows only string
/// values, in a fixed order (by name) so a plugin sees the same list for
/// the same request.
fn prompt_arguments(
    prompt: &str,
    arguments: Option<JsonObject>,
) -> Result<Vec<(String, String)>, ToolFailure> {
    let mut out = Vec::new();
    for (name, value) in arguments.unwrap_or_default() {
        match value {
            serde_json::Value::String(text) => out.push((name, text)),
            other => {
                return Err(ToolFailure::new(
                    FailureKind::InvalidArguments,
                    format!("prompt `{prompt}`: argument `{name}` must be a string, not {other}"),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
