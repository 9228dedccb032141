//! Hot reload: on `SIGHUP`, or when `serve --watch` sees the config or a
//! component change, the host loads the config again the way it started
//! (every plugin compiled through the cache, so unchanged components load
//! in milliseconds), keeps each upstream whose settings did not change
//! (its sessions and child processes go on), and swaps the new registry
//! into the running dispatcher in one step. Clients keep their sessions
//! and are told what lists changed, in both eras; calls already running
//! finish on the registry they started with. A config that does not load
//! changes nothing: its problems are logged as `check` prints them and the
//! host goes on serving the previous one.
//!
//! `[clients]` reload too (tokens, policies and rate limits apply from the
//! next request). The listener's own settings (`[server]`, except
//! `max_chain_depth`), `[oauth]` and `[traces]` are read at start only: a
//! reload that changes them says so and keeps the running values.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::clients::LiveClients;
use crate::config::Config;
use crate::dispatch::{Caller, Dispatcher, ListChanged};
use crate::registry::Registry;
use crate::startup;
use crate::upstream::Upstream;

/// What `/readyz` and the next reload read: the providers serving now.
#[derive(Default)]
pub struct LiveProviders {
    plugins: RwLock<usize>,
    upstreams: RwLock<Vec<Arc<Upstream>>>,
}

impl LiveProviders {
    pub fn new(plugins: usize, upstreams: Vec<Arc<Upstream>>) -> Arc<Self> {
        Arc::new(Self {
            plugins: RwLock::new(plugins),
            upstreams: RwLock::new(upstreams),
        })
    }

    pub fn plugins(&self) -> usize {
        *self.plugins.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn upstreams(&self) -> Vec<Arc<Upstream>> {
        self.upstreams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, plugins: usize, upstreams: Vec<Arc<Upstream>>) {
        *self.plugins.write().unwrap_or_else(|e| e.into_inner()) = plugins;
        *self.upstreams.write().unwrap_or_else(|e| e.into_inner()) = upstreams;
    }
}

/// What one successful reload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub plugins: usize,
    pub tools: usize,
    /// The lists clients were told changed.
    pub changed: Vec<ListChanged>,
    /// Settings that changed but apply only after a restart.
    pub needs_restart: Vec<&'static str>,
    /// Whether `[clients]` changed and the new clients serve now.
    pub clients: bool,
}

pub struct Reloader {
    path: PathBuf,
    dispatcher: Arc<Dispatcher>,
    live: Arc<LiveProviders>,
    /// The HTTP endpoint's clients (`None` over stdio, which serves the
    /// local user).
    clients: Option<Arc<LiveClients>>,
    /// The config now served; also makes reloads run one at a time.
    current: tokio::sync::Mutex<Config>,
}

impl Reloader {
    /// Reloads `config` into `dispatcher` (and `live`), and `[clients]`
    /// into `clients` when serving HTTP.
    pub fn new(
        config: Config,
        dispatcher: Arc<Dispatcher>,
        live: Arc<LiveProviders>,
        clients: Option<Arc<LiveClients>>,
    ) -> Arc<Self> {
        dispatcher.set_reloadable();
        Arc::new(Self {
            path: config.path.clone(),
            dispatcher,
            live,
            clients,
            current: tokio::sync::Mutex::new(config),
        })
    }

    /// Loads the config file again and, if it loads, serves it. `Err`
    /// lists every problem found; the previous config stays.
    pub async fn reload(&self) -> Result<Reloaded, Vec<String>> {
        let mut current = self.current.lock().await;
        let config = Config::load(&self.path).map_err(|e| vec![e.to_string()])?;
        let before = self.dispatcher.registry();
        let reuse = self.live.upstreams();
        let loaded = startup::load_into(&config, Some(&self.dispatcher), &reuse)
            .await
            .map_err(|errors| errors.0)?;
        let after = self.dispatcher.registry();
        let changed = changed_lists(&before, &after);
        for kind in &changed {
            self.dispatcher.announce(*kind);
        }
        self.live.replace(loaded.plugins.len(), loaded.upstreams);
        let clients_changed = current.clients != config.clients;
        if clients_changed && let Some(clients) = &self.clients {
            clients.replace(&config.clients);
        }
        let reloaded = Reloaded {
            plugins: loaded.plugins.len(),
            tools: after.all_tools().len(),
            changed,
            needs_restart: needs_restart(&current, &config),
            clients: clients_changed && self.clients.is_some(),
        };
        *current = config;
        Ok(reloaded)
    }

    /// Reloads and logs the outcome (the signal and watch paths).
    pub async fn reload_and_log(&self, why: &str) {
        match self.reload().await {
            Ok(reloaded) => {
                tracing::info!(
                    plugins = reloaded.plugins,
                    tools = reloaded.tools,
                    changed = ?reloaded.changed,
                    clients_reloaded = reloaded.clients,
                    "reloaded {} ({why})",
                    self.path.display()
                );
                for setting in reloaded.needs_restart {
                    tracing::warn!(
                        "`{setting}` changed: it applies when the host restarts; the running value stays"
                    );
                }
            }
            Err(problems) => {
                tracing::error!(
                    "reload of {} ({why}) failed with {} problem(s); still serving the previous config:\n  - {}",
                    self.path.display(),
                    problems.len(),
                    problems.join("\n  - ")
                );
            }
        }
    }

    /// Reloads on every `SIGHUP` until the host stops.
    pub fn reload_on_sighup(self: &Arc<Self>) {
        let reloader = self.clone();
        tokio::spawn(async move {
            let mut hangups =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                    Ok(signal) => signal,
                    Err(e) => {
                        tracing::warn!("cannot listen for SIGHUP, so no reload on it: {e}");
                        return;
                    }
                };
            while hangups.recv().await.is_some() {
                reloader.reload_and_log("SIGHUP").await;
            }
        });
    }

    /// Reloads when the config file or a plugin's component changes
    /// (`serve --watch`), looking every `period`.
    pub fn reload_on_change(self: &Arc<Self>, period: Duration) {
        let reloader = self.clone();
        tokio::spawn(async move {
            let mut seen = reloader.stamps().await;
            loop {
                tokio::time::sleep(period).await;
                let now = reloader.stamps().await;
                if now == seen {
                    continue;
                }
                // Let the writer finish (editors and cargo write in steps).
                tokio::time::sleep(period / 2).await;
                seen = reloader.stamps().await;
                reloader.reload_and_log("a watched file changed").await;
            }
        });
    }

    /// The modification stamps of the config and every component.
    async fn stamps(&self) -> Vec<Option<(SystemTime, u64)>> {
        let mut files = vec![self.path.clone()];
        files.extend(
            self.current
                .lock()
                .await
                .plugins
                .iter()
                .map(|p| p.component.clone()),
        );
        files.iter().map(|file| stamp(file)).collect()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// The settings a reload cannot apply to a running host.
fn needs_restart(running: &Config, new: &Config) -> Vec<&'static str> {
    let (a, b) = (&running.server, &new.server);
    [
        ("server.http", a.http != b.http),
        (
            "server.allowed_origins",
            a.allowed_origins != b.allowed_origins,
        ),
        ("server.allowed_hosts", a.allowed_hosts != b.allowed_hosts),
        ("server.page_size", a.page_size != b.page_size),
        ("server.cache_dir", a.cache_dir != b.cache_dir),
        ("server.metrics", a.metrics != b.metrics),
        ("oauth", running.oauth != new.oauth),
        ("traces", running.traces != new.traces),
    ]
    .into_iter()
    .filter_map(|(setting, changed)| changed.then_some(setting))
    .collect()
}

/// The lists whose contents differ, as clients see them.
fn changed_lists(before: &Registry, after: &Registry) -> Vec<ListChanged> {
    let caller = Caller::LOCAL_CLIENT;
    let json = |value: Result<Value, serde_json::Error>| value.unwrap_or(Value::Null);
    let tools = |r: &Registry| {
        json(serde_json::to_value(
            r.tools_for(&caller)
                .iter()
                .map(|entry| &entry.tool)
                .collect::<Vec<_>>(),
        ))
    };
    let resources = |r: &Registry| {
        json(serde_json::to_value((
            r.resources_for(&caller),
            r.resource_templates_for(&caller),
        )))
    };
    let prompts = |r: &Registry| json(serde_json::to_value(r.prompts_for(&caller)));
    let mut changed = Vec::new();
    if tools(before) != tools(after) {
        changed.push(ListChanged::Tools);
    }
    if resources(before) != resources(after) {
        changed.push(ListChanged::Resources);
    }
    if prompts(before) != prompts(after) {
        changed.push(ListChanged::Prompts);
    }
    changed
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("/etc/switchboard.toml")).expect("valid")
    }

    #[test]
    fn listener_oauth_and_traces_settings_need_a_restart() {
        let running = config("[server]\nhttp = \"127.0.0.1:7777\"\nmax_chain_depth = 4\n");
        let same = config("[server]\nhttp = \"127.0.0.1:7777\"\nmax_chain_depth = 2\n");
        assert!(
            needs_restart(&running, &same).is_empty(),
            "max_chain_depth reloads"
        );
        let moved = config(
            "[server]\nhttp = \"127.0.0.1:8888\"\npage_size = 5\n[clients.a]\ntoken = \"0123456789abcdef\"\n[traces]\notlp_endpoint = \"http://127.0.0.1:4318\"\n",
        );
        assert_eq!(
            needs_restart(&running, &moved),
            ["server.http", "server.page_size", "traces"]
        );
    }
}
