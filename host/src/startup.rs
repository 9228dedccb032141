//! From a validated config to a ready dispatcher: compile every plugin (in
//! parallel, through the cache) while the upstreams connect, list their
//! tools, build the catalog; then keep the catalog current as upstreams
//! change.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::catalog::{Catalog, CatalogError, ProviderTools};
use crate::config::{Config, Limits, UpstreamConfig};
use crate::dispatch::{Dispatcher, ListChanged};
use crate::grants::Grants;
use crate::plugin::{CacheOutcome, Runtime};
use crate::provider::Provider;
use crate::upstream::{Upstream, UpstreamStatus};

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
    let started = Instant::now();
    // Upstreams connect while plugins compile.
    let (upstream_changes, changes) = mpsc::unbounded_channel();
    let upstreams =
        start_upstreams(&config.upstreams, upstream_changes).map_err(|e| LoadErrors(vec![e]))?;
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
        .map_err(|e| LoadErrors(vec![format!("cannot start the wasm engine: {e:#}")]))?;

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
    let mut groups = Vec::new();
    let mut plugins = Vec::new();
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
        match runtime.instantiate(plugin, &component).await {
            Ok((provider, tools)) => {
                plugins.push(PluginReport {
                    name: plugin.name.clone(),
                    component: plugin.component.clone(),
                    tools: tools.len(),
                    cache,
                    limits: plugin.limits,
                });
                groups.push(ProviderTools {
                    provider,
                    prefix: plugin.prefix.clone(),
                    tools,
                    expose: None,
                });
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let _ = upstreams_settled.await;
    let plugin_groups = groups;
    // The catalog below includes every listing made so far: the changes
    // they announced are news to nobody.
    let mut changes = changes;
    while changes.try_recv().is_ok() {}
    let catalog = match Catalog::build(with_upstream_tools(&plugin_groups, &upstreams)) {
        Ok(catalog) => catalog,
        Err(problems) => {
            errors.extend(problems.iter().map(|problem| describe(problem, config)));
            Catalog::default()
        }
    };
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    let mut grants = Grants::default();
    let mut warnings = Vec::new();
    for plugin in &config.plugins {
        for pattern in &plugin.grants.tools {
            if !catalog
                .entries()
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
        grants.allow_tools(&plugin.name, plugin.grants.tools.clone());
    }
    tracing::info!(
        plugins = plugins.len(),
        tools = catalog.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "catalog ready"
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
    let dispatcher = Dispatcher::with_upstreams(
        catalog,
        grants,
        config.server.max_chain_depth,
        upstreams.clone(),
    );
    if !upstreams.is_empty() {
        tokio::spawn(keep_catalog_current(
            Arc::downgrade(&dispatcher),
            plugin_groups,
            changes,
        ));
    }
    Ok(Loaded {
        runtime,
        dispatcher,
        plugins,
        upstreams,
        warnings,
    })
}

fn start_upstreams(
    configs: &[UpstreamConfig],
    changes: mpsc::UnboundedSender<ListChanged>,
) -> Result<Vec<Arc<Upstream>>, String> {
    if configs.is_empty() {
        return Ok(Vec::new());
    }
    // reqwest's TLS needs a process-wide crypto provider; an error means one
    // is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One pooled client for every HTTP upstream: a new TCP connection per
    // call costs more than the call (see shared/FACTS.md).
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot set up the HTTP client for upstreams: {e}"))?;
    Ok(configs
        .iter()
        .map(|config| Upstream::start(config.clone(), http.clone(), changes.clone()))
        .collect())
}

/// The plugins' tool groups (fixed at load) and each upstream's current
/// tools.
fn with_upstream_tools(
    plugin_groups: &[ProviderTools],
    upstreams: &[Arc<Upstream>],
) -> Vec<ProviderTools> {
    let mut groups: Vec<ProviderTools> = plugin_groups
        .iter()
        .map(|group| ProviderTools {
            provider: group.provider.clone(),
            prefix: group.prefix.clone(),
            tools: group.tools.clone(),
            expose: group.expose.clone(),
        })
        .collect();
    groups.extend(upstreams.iter().map(|upstream| ProviderTools {
        provider: upstream.clone() as Arc<dyn Provider>,
        prefix: upstream.prefix().to_owned(),
        tools: upstream.tool_specs(),
        expose: upstream.expose().map(<[String]>::to_vec),
    }));
    groups
}

/// Rebuilds the catalog whenever an upstream's tools change, and passes
/// every list change on to clients. Upstreams announce only real changes
/// (see `upstream::Shared::store_listing`). A tool that became invalid or
/// collides is left out and logged; the rest stay served.
async fn keep_catalog_current(
    dispatcher: std::sync::Weak<Dispatcher>,
    plugin_groups: Vec<ProviderTools>,
    mut changes: mpsc::UnboundedReceiver<ListChanged>,
) {
    while let Some(change) = changes.recv().await {
        let Some(dispatcher) = dispatcher.upgrade() else {
            return;
        };
        if change != ListChanged::Tools {
            dispatcher.announce(change);
            continue;
        }
        let groups = with_upstream_tools(&plugin_groups, dispatcher.upstreams());
        let (catalog, problems) = Catalog::build_skipping(groups);
        for problem in &problems {
            tracing::error!("tool left out of the catalog: {problem}");
        }
        tracing::info!(tools = catalog.len(), "catalog updated");
        dispatcher.replace_catalog(catalog);
    }
}

fn describe(problem: &CatalogError, config: &Config) -> String {
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
