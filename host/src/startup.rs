//! From a validated config to a ready dispatcher: compile every plugin (in
//! parallel, through the cache) while the upstreams connect, list what
//! they offer, build the registry; then keep the registry current as
//! upstreams change.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::changes::{ListChanged, PendingChanges};
use crate::config::{Config, Limits, UpstreamConfig};
use crate::dispatch::Dispatcher;
use crate::grants::Grants;
use crate::plugin::{CacheOutcome, Runtime};
use crate::registry::{ProviderSource, Registry, RegistryError};
use crate::upstream::{Upstream, UpstreamStatus};

/// Resource URI schemes, one per kind of provider.
const PLUGIN_SCHEME: &str = "plugin";
const UPSTREAM_SCHEME: &str = "upstream";

/// What `check` reports about each loaded plugin.
#[derive(Debug, Clone)]
pub struct PluginReport {
    pub name: String,
    pub component: PathBuf,
    pub tools: usize,
    pub cache: CacheOutcome,
    pub limits: Limits,
}

pub struct Loaded {
    pub runtime: Arc<Runtime>,
    pub dispatcher: Arc<Dispatcher>,
    pub plugins: Vec<PluginReport>,
    pub upstreams: Vec<Arc<Upstream>>,
    /// Problems that do not stop the host (e.g. a grant matching nothing).
    pub warnings: Vec<String>,
}

/// Every problem found, so an admin fixes them all in one go.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct LoadErrors(pub Vec<String>);

pub async fn load(config: &Config) -> Result<Loaded, LoadErrors> {
    load_into(config, None, &[]).await
}

/// As [`load`], for a reload: upstreams in `reuse` whose settings are the
/// same keep running (and their sessions), and the registry is installed
/// into `live`, the dispatcher clients already talk to. Nothing changes
/// unless the whole config loads.
pub async fn load_into(
    config: &Config,
    live: Option<&Arc<Dispatcher>>,
    reuse: &[Arc<Upstream>],
) -> Result<Loaded, LoadErrors> {
    let started = Instant::now();
    // Upstreams connect while plugins compile.
    let changes = Arc::new(PendingChanges::default());
    let (upstreams, started_any) =
        start_upstreams(&config.upstreams, &changes, reuse).map_err(|e| LoadErrors(vec![e]))?;
    let upstreams_settled = {
        let upstreams = upstreams.clone();
        let limit = config
            .upstreams
            .iter()
            .map(|u| u.connect_timeout)
            .max()
            .unwrap_or_default();
        tokio::spawn(async move {
            futures::future::join_all(upstreams.iter().map(|u| u.wait_settled(limit))).await;
        })
    };
    let max_memory_mb = config
        .plugins
        .iter()
        .map(|p| p.limits.memory_mb)
        .max()
        .unwrap_or(0);
    let runtime = Runtime::new(config.server.cache_dir.clone(), max_memory_mb)
        .map(Arc::new)
        .map_err(|e| LoadErrors(vec![format!("cannot set up the plugin runtime: {e:#}")]))?;

    // Compile on blocking threads, all plugins at once.
    let compiles: Vec<_> = config
        .plugins
        .iter()
        .cloned()
        .map(|plugin| {
            let runtime = runtime.clone();
            tokio::task::spawn_blocking(move || runtime.compile(&plugin))
        })
        .collect();

    let mut errors = Vec::new();
    let mut sources = Vec::new();
    let mut plugins = Vec::new();
    // Whether a plugin may announce changes (WIT 0.2.0 and later).
    let mut announcing = false;
    for (plugin, compile) in config.plugins.iter().zip(compiles) {
        let compiled = match compile.await {
            Ok(result) => result,
            Err(join) => {
                errors.push(format!(
                    "plugin `{}`: compilation panicked: {join}",
                    plugin.name
                ));
                continue;
            }
        };
        let (component, cache) = match compiled {
            Ok(compiled) => compiled,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        match runtime
            .instantiate(plugin, &component, changes.clone())
            .await
        {
            Ok((provider, problems)) => {
                announcing |= crate::provider::Provider::offers(&*provider).list_changes;
                errors.extend(problems.iter().map(|problem| describe(problem, config)));
                plugins.push(PluginReport {
                    name: plugin.name.clone(),
                    component: plugin.component.clone(),
                    tools: crate::provider::Provider::tools(&*provider).len(),
                    cache,
                    limits: plugin.limits,
                });
                sources.push(Arc::new(ProviderSource {
                    provider,
                    prefix: plugin.prefix.clone(),
                    expose: None,
                    scheme: PLUGIN_SCHEME,
                }));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let _ = upstreams_settled.await;
    // The registry below includes every listing made so far: the changes
    // they announced are news to nobody.
    changes.take();
    sources.extend(upstreams.iter().map(|upstream| {
        Arc::new(ProviderSource {
            provider: upstream.clone(),
            prefix: upstream.prefix().to_owned(),
            expose: upstream.expose().map(<[String]>::to_vec),
            scheme: UPSTREAM_SCHEME,
        })
    }));
    let mut grants = Grants::default();
    for plugin in &config.plugins {
        grants.allow_tools(&plugin.name, plugin.grants.tools.clone());
    }
    let (registry, problems) = Registry::build(sources, grants, config.server.max_chain_depth);
    errors.extend(problems.iter().map(|problem| describe(problem, config)));
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    let mut warnings = Vec::new();
    for plugin in &config.plugins {
        for pattern in &plugin.grants.tools {
            if !registry
                .all_tools()
                .iter()
                .any(|e| glob_match::glob_match(pattern, e.name()))
            {
                let warning = format!(
                    "plugin `{}`: grants.tools pattern `{pattern}` matches no tool",
                    plugin.name
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
        }
    }
    tracing::info!(
        plugins = plugins.len(),
        tools = registry.all_tools().len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "registry ready"
    );
    for upstream in &upstreams {
        let status = upstream.status();
        if !status
            .replicas
            .iter()
            .any(|r| r.health == crate::upstream::Health::Ready)
        {
            let warning = format!(
                "upstream `{}` is not ready ({}); its tools appear when it connects",
                status.name,
                describe_replicas(&status)
            );
            tracing::warn!("{warning}");
            warnings.push(warning);
        }
    }
    let dispatcher = match live {
        Some(live) => {
            live.replace_registry(registry);
            live.clone()
        }
        None => Dispatcher::new(registry),
    };
    // Reused upstreams still report to the task of the load that started
    // them; plugins are new in every load.
    if started_any || announcing {
        tokio::spawn(keep_registry_current(Arc::downgrade(&dispatcher), changes));
    }
    Ok(Loaded {
        runtime,
        dispatcher,
        plugins,
        upstreams,
        warnings,
    })
}

/// Whether an upstream can keep running under `new`: all settings equal
/// (secrets included, after `${VAR}` expansion); where its table sits in
/// the file does not matter.
fn same_settings(running: &UpstreamConfig, new: &UpstreamConfig) -> bool {
    let mut running = running.clone();
    running.line = new.line;
    running == *new
}

/// The upstreams of `configs`: those in `reuse` with the very same
/// settings as they are, the others started. Also says whether any was
/// started.
fn start_upstreams(
    configs: &[UpstreamConfig],
    changes: &Arc<PendingChanges>,
    reuse: &[Arc<Upstream>],
) -> Result<(Vec<Arc<Upstream>>, bool), String> {
    let mut upstreams = Vec::with_capacity(configs.len());
    let mut to_start = Vec::new();
    for config in configs {
        match reuse.iter().find(|u| same_settings(u.config(), config)) {
            Some(running) => upstreams.push(Some(running.clone())),
            None => {
                upstreams.push(None);
                to_start.push(config);
            }
        }
    }
    if to_start.is_empty() {
        return Ok((upstreams.into_iter().flatten().collect(), false));
    }
    install_tls_provider();
    // One pooled client for every HTTP upstream: a new TCP connection per
    // call costs more than the call (see shared/FACTS.md).
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot set up the HTTP client for upstreams: {e}"))?;
    let mut to_start = to_start.into_iter();
    let upstreams = upstreams
        .into_iter()
        .map(|kept| {
            kept.unwrap_or_else(|| {
                let config = to_start.next().expect("one config per upstream to start");
                Upstream::start(config.clone(), http.clone(), changes.clone())
            })
        })
        .collect();
    Ok((upstreams, true))
}

/// Rebuilds the parts of the registry whose providers changed, and passes
/// each kind of change on to clients once. Upstreams announce only real
/// changes (see `upstream::Shared::store_listing`), and announcements made
/// while a rebuild runs collapse into one more rebuild. A tool that became
/// invalid or collides is left out and logged; the rest stay served.
async fn keep_registry_current(
    dispatcher: std::sync::Weak<Dispatcher>,
    changes: Arc<PendingChanges>,
) {
    loop {
        let pending = changes.next().await;
        let Some(dispatcher) = dispatcher.upgrade() else {
            return;
        };
        if !pending.lists.is_empty() {
            rebuild_and_announce(&dispatcher, &pending.lists);
        }
        // After a rebuild, so an update names the resource as clients see
        // it now.
        let registry = dispatcher.registry();
        for (provider, uri) in &pending.updated {
            if let Some(public) = registry.public_resource_uri(provider, uri) {
                dispatcher.resource_updated(&public);
            }
        }
    }
}

/// Rebuilds the parts of the registry of the providers in `changed` and
/// tells clients each kind of change once.
fn rebuild_and_announce(dispatcher: &Dispatcher, changed: &BTreeSet<(String, ListChanged)>) {
    let mut providers: Vec<&str> = changed.iter().map(|(name, _)| name.as_str()).collect();
    providers.dedup();
    let (registry, problems) = dispatcher.registry().rebuilt(&providers);
    for problem in &problems {
        match problem.provider() {
            Some(provider) => {
                tracing::error!("left out of the registry: `{provider}`: {problem}")
            }
            None => tracing::error!("left out of the registry: {problem}"),
        }
    }
    tracing::info!(
        tools = registry.all_tools().len(),
        providers = ?providers,
        "registry updated"
    );
    dispatcher.replace_registry(registry);
    for (provider, kind) in changed {
        crate::metrics::list_changed(provider, *kind);
    }
    let mut kinds: Vec<_> = changed.iter().map(|(_, kind)| *kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        dispatcher.announce(kind);
    }
}

fn describe(problem: &RegistryError, config: &Config) -> String {
    let Some(name) = problem.provider() else {
        return problem.to_string();
    };
    if let Some(plugin) = config.plugins.iter().find(|p| p.name == name) {
        return format!(
            "plugin `{}` ({}): {problem}",
            plugin.name,
            plugin.component.display()
        );
    }
    format!("upstream `{name}`: {problem}")
}

/// One line per replica: its endpoint and state.
pub fn describe_replicas(status: &UpstreamStatus) -> String {
    let now = Instant::now();
    status
        .replicas
        .iter()
        .map(|replica| format!("{}: {}", replica.endpoint, replica.health.describe(now)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Installs ring as rustls' process-wide crypto provider, which every
/// reqwest client needs before it is built (the tree has reqwest's
/// provider-less rustls). Idempotent.
pub fn install_tls_provider() {
    // An error means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
