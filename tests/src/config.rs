//! Admin config files for the host under test, each in its own temp folder.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tempfile::TempDir;

use crate::artifacts::Fixture;

/// A config file on disk; its folder (and the file) go away on drop.
pub struct ConfigFile {
    dir: TempDir,
    path: PathBuf,
}

impl ConfigFile {
    /// Writes `text` verbatim as `switchboard.toml` in a fresh folder.
    pub fn from_text(text: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-")
            .tempdir()
            .expect("create a temp dir");
        let path = dir.path().join("switchboard.toml");
        std::fs::write(&path, text).expect("write the config");
        Self { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config's folder (relative component paths resolve against it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Builds a config. Defaults: the run's shared compile cache, no plugins.
#[derive(Clone)]
pub struct ConfigBuilder {
    server: Vec<String>,
    plugins: Vec<String>,
    upstreams: Vec<String>,
    clients: Vec<String>,
    /// Other tables, as written.
    raw: Vec<String>,
    cache_dir: PathBuf,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigBuilder {
    pub fn new() -> Self {
        Self {
            server: Vec::new(),
            plugins: Vec::new(),
            upstreams: Vec::new(),
            clients: Vec::new(),
            raw: Vec::new(),
            cache_dir: shared_cache_dir().to_owned(),
        }
    }

    /// The standard test config: the testkit as plugin `kit` (tools
    /// `kit_*`) with this per-call timeout and a 32 MiB memory cap.
    pub fn testkit(timeout_ms: u64) -> Self {
        Self::new().plugin(
            "kit",
            Fixture::Testkit.path(),
            &format!("limits = {{ timeout_ms = {timeout_ms}, memory_mb = 32 }}"),
        )
    }

    /// A raw `key = value` line in `[server]`.
    pub fn server(mut self, line: &str) -> Self {
        self.server.push(line.to_owned());
        self
    }

    pub fn cache_dir(mut self, dir: &Path) -> Self {
        self.cache_dir = dir.to_owned();
        self
    }

    /// `[plugins.<name>]` with `component = <component>` and `settings`
    /// (raw TOML lines, e.g. `prefix = "x"`).
    pub fn plugin(mut self, name: &str, component: impl AsRef<Path>, settings: &str) -> Self {
        self.plugins.push(format!(
            "[plugins.{name}]\ncomponent = {}\n{settings}\n",
            toml_string(component.as_ref())
        ));
        self
    }

    /// `[upstreams.<name>]` with `settings` (raw TOML lines, e.g.
    /// `command = [...]` or `url = "..."`, `prefix = "x"`).
    pub fn upstream(mut self, name: &str, settings: &str) -> Self {
        self.upstreams
            .push(format!("[upstreams.{name}]\n{settings}\n"));
        self
    }

    /// `[clients.<name>]` with `settings` (raw TOML lines, e.g.
    /// `token = "..."`, `expose = [...]`).
    pub fn client(mut self, name: &str, settings: &str) -> Self {
        self.clients.push(format!("[clients.{name}]\n{settings}\n"));
        self
    }

    /// Raw TOML appended as it is (e.g. an `[oauth]` table).
    pub fn raw(mut self, text: &str) -> Self {
        self.raw.push(text.to_owned());
        self
    }

    pub fn render(&self) -> String {
        let mut text = format!("[server]\ncache_dir = {}\n", toml_string(&self.cache_dir));
        for line in &self.server {
            text.push_str(line);
            text.push('\n');
        }
        for plugin in &self.plugins {
            text.push('\n');
            text.push_str(plugin);
        }
        for table in self.upstreams.iter().chain(&self.clients).chain(&self.raw) {
            text.push('\n');
            text.push_str(table);
        }
        text
    }

    pub fn write(&self) -> ConfigFile {
        ConfigFile::from_text(&self.render())
    }
}

/// A path as a TOML basic string (JSON string syntax is valid TOML).
pub fn toml_string(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).expect("a string serializes")
}

/// Strings as a TOML array (e.g. an upstream's `command`).
pub fn toml_array<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).expect("strings serialize")
}

/// One compile cache for the whole test run, so each host start does not
/// recompile the fixtures: a folder under `<target>/tmp`,
/// emptied when the run starts. (The cache test uses its own.)
fn shared_cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = crate::artifacts::target_dir()
            .join("tmp")
            .join("switchboard-e2e-cache");
        let _ = std::fs::remove_dir_all(&dir);
        dir
    })
}
