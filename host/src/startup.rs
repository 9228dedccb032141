//! From a validated config to a ready dispatcher: compile every plugin (in
//! parallel, through the cache), list its tools, build the catalog.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::catalog::{Catalog, ProviderTools};
use crate::config::{Config, Limits};
use crate::dispatch::Dispatcher;
use crate::grants::Grants;
use crate::plugin::{CacheOutcome, Runtime};

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
    /// Problems that do not stop the host (e.g. a grant matching nothing).
    pub warnings: Vec<String>,
}

/// Every problem found, so an admin fixes them all in one go.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct LoadErrors(pub Vec<String>);

pub async fn load(config: &Config) -> Result<Loaded, LoadErrors> {
    let started = Instant::now();
    let runtime = Runtime::new(config.server.cache_dir.clone())
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
                });
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let catalog = match Catalog::build(groups) {
        Ok(catalog) => catalog,
        Err(problems) => {
            errors.extend(problems.into_iter().map(|problem| {
                let plugin = problem
                    .provider()
                    .and_then(|name| config.plugins.iter().find(|p| p.name == name));
                match plugin {
                    Some(plugin) => format!(
                        "plugin `{}` ({}): {problem}",
                        plugin.name,
                        plugin.component.display()
                    ),
                    None => problem.to_string(),
                }
            }));
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
    Ok(Loaded {
        runtime,
        dispatcher: Dispatcher::new(catalog, grants, config.server.max_chain_depth),
        plugins,
        warnings,
    })
}
