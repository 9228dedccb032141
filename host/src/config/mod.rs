//! The admin's TOML file, parsed and validated.
//!
//! Every error names the key and the line it is on, so an admin can fix a file
//! without reading the source.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

mod clients;
mod oauth;
#[cfg(test)]
mod reference_tests;
mod traces;
mod upstream;

pub use clients::ClientConfig;
pub use oauth::OAuthConfig;
pub use traces::TracesConfig;
pub use upstream::{BreakerSettings, Endpoint, RestartSettings, Secret, UpstreamConfig};

/// Default config file, looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "switchboard.toml";
/// Default Streamable HTTP address: loopback only.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:7777";
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_MEMORY_MB: u64 = 64;
const DEFAULT_MAX_RESULT_KB: u64 = 4096;
const DEFAULT_MAX_CONCURRENT: u64 = 64;
const DEFAULT_SPARE_INSTANCES: u64 = 1;
/// Each spare holds an instance slot and its memory while it waits.
const MAX_SPARE_INSTANCES: u64 = 16;
const DEFAULT_PAGE_SIZE: usize = 100;
/// Names clients see stay within what every client accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// A configuration problem, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No file at `path`. Desktop clients start the host in a folder of
    /// their choosing, so the message names the folder a relative path was
    /// resolved against.
    #[error(
        "config file {} not found{}; pass the config with `--config FILE` (an absolute path when an MCP client starts the host)",
        resolved.display(),
        relative_note(path, resolved)
    )]
    NotFound { path: PathBuf, resolved: PathBuf },
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors and unknown or mistyped keys, as reported by the TOML
    /// parser (its message names the line and the key).
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}:{line}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    defaults: RawLimits,
    #[serde(default)]
    plugins: BTreeMap<Spanned<String>, RawPlugin>,
    #[serde(default)]
    upstreams: BTreeMap<Spanned<String>, upstream::RawUpstream>,
    #[serde(default)]
    clients: BTreeMap<Spanned<String>, clients::RawClient>,
    oauth: Option<oauth::RawOAuth>,
    traces: Option<traces::RawTraces>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    http: Option<Spanned<String>>,
    allowed_origins: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    page_size: Option<Spanned<usize>>,
    cache_dir: Option<PathBuf>,
    max_chain_depth: Option<Spanned<usize>>,
    metrics: Option<bool>,
    request_state_keys: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_ms: Option<Spanned<u64>>,
    memory_mb: Option<Spanned<u64>>,
    max_result_kb: Option<Spanned<u64>>,
    max_concurrent: Option<Spanned<u64>>,
    spare_instances: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    component: Spanned<PathBuf>,
    prefix: Option<Spanned<String>>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    grants: RawGrants,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    #[serde(default)]
    tools: Vec<Spanned<String>>,
    #[serde(default)]
    env: Vec<Spanned<String>>,
    #[serde(default)]
    dirs: BTreeMap<Spanned<String>, RawDirGrant>,
    #[serde(default)]
    http: Vec<Spanned<String>>,
    #[serde(default)]
    sampling: bool,
    #[serde(default)]
    elicitation: bool,
    #[serde(default)]
    roots: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirGrant {
    path: Spanned<PathBuf>,
    #[serde(default)]
    mode: DirMode,
}

/// Access to a granted folder.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DirMode {
    #[default]
    #[serde(rename = "ro")]
    ReadOnly,
    #[serde(rename = "rw")]
    ReadWrite,
}

impl std::fmt::Display for DirMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirMode::ReadOnly => "read-only",
            DirMode::ReadWrite => "read-write",
        })
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (relative paths in it are relative to its folder).
    pub path: PathBuf,
    pub server: ServerSettings,
    pub plugins: Vec<PluginConfig>,
    pub upstreams: Vec<UpstreamConfig>,
    /// Who may use the HTTP endpoint; empty lets every request in.
    pub clients: Vec<ClientConfig>,
    /// JWT access tokens from an authorization server, for clients with
    /// `jwt_claims`.
    pub oauth: Option<OAuthConfig>,
    /// Where spans are exported; `None`: no traces.
    pub traces: Option<TracesConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub http: SocketAddr,
    /// Browser origins allowed to call the HTTP endpoint (requests without an
    /// `Origin` header, i.e. non-browser clients, always pass).
    pub allowed_origins: Vec<String>,
    /// `Host` header values accepted (DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// Tools per `tools/list` page.
    pub page_size: usize,
    /// Where compiled components are cached; outside every plugin's reach.
    pub cache_dir: PathBuf,
    /// Longest chain of plugin-to-tool calls.
    pub max_chain_depth: usize,
    /// Whether requests are counted and `/metrics` is served.
    pub metrics: bool,
    /// Keys that sign 2026-07-28 `requestState` (the first signs, all
    /// verify); empty: a random key per process.
    pub request_state_keys: Vec<String>,
}

/// Per-call limits of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout_ms: u64,
    pub memory_mb: u64,
    /// Largest result (content plus structured content) a call may return.
    pub max_result_kb: u64,
    /// Calls running at once; more wait (within their deadline) for a slot.
    pub max_concurrent: u64,
    /// Clean instances made ahead of calls, so a call does not wait for
    /// instantiation; each serves one call only. 0 instantiates per call.
    pub spare_instances: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            memory_mb: DEFAULT_MEMORY_MB,
            max_result_kb: DEFAULT_MAX_RESULT_KB,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            spare_instances: DEFAULT_SPARE_INSTANCES,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PluginConfig {
    pub name: String,
    /// Absolute (or config-relative resolved) path of the `.wasm` component.
    pub component: PathBuf,
    /// What client-visible names start with: `<prefix>_<tool>`, or just
    /// `<tool>` when the prefix is empty.
    pub prefix: String,
    pub limits: Limits,
    pub grants: PluginGrants,
    /// Line of the plugin's table, for errors found later (at load).
    pub line: usize,
}

/// What a plugin may reach beyond its own memory. Empty = nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginGrants {
    /// Patterns of client-visible tool names it may call (`text_*`).
    pub tools: Vec<String>,
    /// Host environment variables it may read (by name).
    pub env: Vec<String>,
    /// Folders it sees, guest path -> host folder.
    pub dirs: Vec<DirGrant>,
    /// Outbound HTTP destinations (scheme + host + port).
    pub http: Vec<HttpGrant>,
    /// Requests to the client of the request it serves (WIT 0.2.0
    /// imports): sampling its model, eliciting from its user, its roots.
    pub client: ClientRequestGrants,
}

/// Which requests a plugin or an upstream may send to the client it
/// serves; each off unless granted (`grants.sampling = true`, ...). An
/// upstream's `grants` table is exactly this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientRequestGrants {
    pub sampling: bool,
    pub elicitation: bool,
    pub roots: bool,
}

/// A kind of request a plugin may send to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRequestKind {
    Sampling,
    Elicitation,
    Roots,
}

impl ClientRequestKind {
    /// As in the grant's key (`grants.sampling`) and the MCP capability.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientRequestKind::Sampling => "sampling",
            ClientRequestKind::Elicitation => "elicitation",
            ClientRequestKind::Roots => "roots",
        }
    }

    /// The MCP request it is sent as.
    pub fn method(self) -> &'static str {
        match self {
            ClientRequestKind::Sampling => "sampling/createMessage",
            ClientRequestKind::Elicitation => "elicitation/create",
            ClientRequestKind::Roots => "roots/list",
        }
    }
}

impl ClientRequestGrants {
    pub fn allows(self, kind: ClientRequestKind) -> bool {
        match kind {
            ClientRequestKind::Sampling => self.sampling,
            ClientRequestKind::Elicitation => self.elicitation,
            ClientRequestKind::Roots => self.roots,
        }
    }
}

impl PluginGrants {
    /// One human-readable line per kind of grant held (tools, http, each
    /// folder with its mode, env); empty when the plugin may reach nothing.
    /// The one place a grant kind is described, so a new kind cannot be
    /// left out of what `check` shows.
    pub fn describe(&self) -> Vec<String> {
        // Destructured so that adding a field fails to compile here.
        let Self {
            tools,
            env,
            dirs,
            http,
            client,
        } = self;
        let list = |items: &[String]| items.join(", ");
        let mut lines = Vec::new();
        if !tools.is_empty() {
            lines.push(format!("tools: {}", list(tools)));
        }
        if !http.is_empty() {
            let http: Vec<String> = http.iter().map(HttpGrant::to_string).collect();
            lines.push(format!("http: {}", list(&http)));
        }
        for dir in dirs {
            lines.push(format!(
                "dir {} -> {} ({})",
                dir.guest,
                dir.host.display(),
                dir.mode
            ));
        }
        if !env.is_empty() {
            lines.push(format!("env: {}", list(env)));
        }
        let ClientRequestGrants {
            sampling,
            elicitation,
            roots,
        } = *client;
        let asks: Vec<&str> = [
            (sampling, "sampling"),
            (elicitation, "elicitation"),
            (roots, "roots"),
        ]
        .into_iter()
        .filter_map(|(granted, kind)| granted.then_some(kind))
        .collect();
        if !asks.is_empty() {
            lines.push(format!("client requests: {}", asks.join(", ")));
        }
        lines
    }
}

/// One allowed outbound HTTP destination, e.g. `https://api.example.com`,
/// `https://*.example.com`, `http://127.0.0.1:8080`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGrant {
    /// `http` or `https`.
    pub scheme: String,
    /// Lowercase host; `*.example.com` matches any subdomain.
    pub host: String,
    pub port: u16,
}

impl HttpGrant {
    /// Parses `scheme://host[:port]` (no path, no credentials).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` needs a scheme, like https://api.example.com"))?;
        let port_default = match scheme {
            "https" => 443,
            "http" => 80,
            other => return Err(format!("`{text}`: scheme `{other}` is not http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
            return Err(format!(
                "`{text}` must be only scheme://host[:port], without path or credentials"
            ));
        }
        // An IPv6 literal is bracketed and full of colons: the port, if
        // any, follows the closing bracket.
        let (host, port) = match authority.strip_prefix('[') {
            Some(_) => match authority.split_once(']') {
                Some((open, "")) => (&authority[..open.len() + 1], None),
                Some((open, after)) => match after.strip_prefix(':') {
                    Some(port) => (&authority[..open.len() + 1], Some(port)),
                    None => return Err(format!("`{text}`: `{after}` after the IPv6 address")),
                },
                None => return Err(format!("`{text}`: the IPv6 address has no closing `]`")),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            None => port_default,
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| format!("`{text}`: `{port}` is not a port"))?,
        };
        let host = host.to_ascii_lowercase();
        let bare = host.strip_prefix("*.").unwrap_or(&host);
        if bare.is_empty() || bare.contains('*') {
            return Err(format!(
                "`{text}`: a wildcard may only open the host, as in https://*.example.com"
            ));
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }
}

/// As an admin writes it: the port only when it is not the scheme's default.
impl std::fmt::Display for HttpGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let default_port = if self.scheme == "http" { 80 } else { 443 };
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != default_port {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// Absolute path inside the sandbox, e.g. `/data`.
    pub guest: String,
    /// The host folder behind it (resolved against the config's folder).
    pub host: PathBuf,
    pub mode: DirMode,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    path: path.to_owned(),
                    resolved: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
                }
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let at = |span: std::ops::Range<usize>, key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: line_of(text, span.start),
            key: key.to_owned(),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));

        let http = match &raw.server.http {
            None => DEFAULT_HTTP_ADDR.parse().expect("default address parses"),
            Some(addr) => addr.get_ref().parse().map_err(|e| {
                at(
                    addr.span(),
                    "server.http",
                    format!(
                        "`{}` is not an address like 127.0.0.1:7777 ({e})",
                        addr.get_ref()
                    ),
                )
            })?,
        };
        let page_size = match &raw.server.page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(size) if *size.get_ref() == 0 => {
                return Err(at(
                    size.span(),
                    "server.page_size",
                    "must be at least 1".into(),
                ));
            }
            Some(size) => *size.get_ref(),
        };
        let server = ServerSettings {
            http,
            allowed_origins: raw
                .server
                .allowed_origins
                .unwrap_or_else(|| vec!["http://localhost:*".into(), "http://127.0.0.1:*".into()]),
            allowed_hosts: raw
                .server
                .allowed_hosts
                .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]),
            page_size,
            max_chain_depth: match &raw.server.max_chain_depth {
                None => crate::dispatch::DEFAULT_MAX_DEPTH,
                Some(depth) if *depth.get_ref() == 0 => {
                    return Err(at(
                        depth.span(),
                        "server.max_chain_depth",
                        "must be at least 1".into(),
                    ));
                }
                Some(depth) => *depth.get_ref(),
            },
            cache_dir: raw
                .server
                .cache_dir
                .map(|dir| base.join(dir))
                .unwrap_or_else(default_cache_dir),
            metrics: raw.server.metrics.unwrap_or(true),
            request_state_keys: match raw.server.request_state_keys {
                None => Vec::new(),
                Some(keys) => {
                    if let Some(short) = keys
                        .get_ref()
                        .iter()
                        .position(|key| key.len() < crate::server::request_state::MIN_KEY_BYTES)
                    {
                        return Err(at(
                            keys.span(),
                            "server.request_state_keys",
                            format!(
                                "key {} is shorter than {} bytes; use a long random string (e.g. `openssl rand -hex 32`)",
                                short + 1,
                                crate::server::request_state::MIN_KEY_BYTES
                            ),
                        ));
                    }
                    keys.into_inner()
                }
            },
        };

        let defaults = resolve_limits(&raw.defaults, Limits::default(), "defaults", &at)?;

        let mut plugins = Vec::with_capacity(raw.plugins.len());
        for (name, plugin) in raw.plugins {
            let key = format!("plugins.{}", name.get_ref());
            if !is_valid_name_part(name.get_ref()) {
                return Err(at(
                    name.span(),
                    &key,
                    "plugin names use only letters, digits, `_` and `-`".into(),
                ));
            }
            let prefix = resolve_prefix(&name, plugin.prefix.as_ref(), &key, &at)?;
            let limits = resolve_limits(&plugin.limits, defaults, &format!("{key}.limits"), &at)?;
            let grants = resolve_grants(plugin.grants, &format!("{key}.grants"), base, &at)?;
            plugins.push(PluginConfig {
                name: name.get_ref().clone(),
                component: base.join(plugin.component.get_ref()),
                prefix,
                limits,
                grants,
                line: line_of(text, name.span().start),
            });
        }

        let mut upstreams = Vec::with_capacity(raw.upstreams.len());
        for (name, raw_upstream) in raw.upstreams {
            let key = format!("upstreams.{}", name.get_ref());
            if plugins.iter().any(|p| &p.name == name.get_ref()) {
                return Err(at(
                    name.span(),
                    &key,
                    format!(
                        "a plugin is already named `{}`: plugins and upstreams share one namespace",
                        name.get_ref()
                    ),
                ));
            }
            let line = line_of(text, name.span().start);
            upstreams.push(upstream::resolve_upstream(
                &name,
                raw_upstream,
                base,
                &at,
                line,
            )?);
        }

        let oauth = raw
            .oauth
            .map(|raw| oauth::resolve_oauth(raw, &at))
            .transpose()?;
        let traces = raw
            .traces
            .map(|raw| traces::resolve_traces(raw, &at))
            .transpose()?;
        let clients =
            clients::resolve_clients(raw.clients, base, oauth.is_some(), &at, &|offset| {
                line_of(text, offset)
            })?;

        Ok(Config {
            path: path.to_owned(),
            server,
            plugins,
            upstreams,
            clients,
            oauth,
            traces,
        })
    }
}

fn resolve_limits(
    raw: &RawLimits,
    fallback: Limits,
    key: &str,
    at: &impl Fn(std::ops::Range<usize>, &str, String) -> ConfigError,
) -> Result<Limits, ConfigError> {
    let positive = |value: &Option<Spanned<u64>>, field: &str, fallback: u64| match value {
        None => Ok(fallback),
        Some(v) if *v.get_ref() == 0 => Err(at(
            v.span(),
            &format!("{key}.{field}"),
            "must be greater than 0".into(),
        )),
        Some(v) => Ok(*v.get_ref()),
    };
    let limits = Limits {
        timeout_ms: positive(&raw.timeout_ms, "timeout_ms", fallback.timeout_ms)?,
        memory_mb: positive(&raw.memory_mb, "memory_mb", fallback.memory_mb)?,
        max_result_kb: positive(&raw.max_result_kb, "max_result_kb", fallback.max_result_kb)?,
        max_concurrent: positive(
            &raw.max_concurrent,
            "max_concurrent",
            fallback.max_concurrent,
        )?,
        spare_instances: raw
            .spare_instances
            .as_ref()
            .map_or(fallback.spare_instances, |v| *v.get_ref()),
    };
    if let Some(v) = &raw.spare_instances
        && *v.get_ref() > MAX_SPARE_INSTANCES
    {
        return Err(at(
            v.span(),
            &format!("{key}.spare_instances"),
            format!("must be at most {MAX_SPARE_INSTANCES}"),
        ));
    }
    if let Some(v) = &raw.memory_mb
        && *v.get_ref() > 4096
    {
        return Err(at(
            v.span(),
            &format!("{key}.memory_mb"),
            "a 32-bit wasm memory holds at most 4096 MiB".into(),
        ));
    }
    Ok(limits)
}

fn resolve_grants(
    raw: RawGrants,
    key: &str,
    base: &Path,
    at: &impl Fn(std::ops::Range<usize>, &str, String) -> ConfigError,
) -> Result<PluginGrants, ConfigError> {
    let mut grants = PluginGrants {
        client: ClientRequestGrants {
            sampling: raw.sampling,
            elicitation: raw.elicitation,
            roots: raw.roots,
        },
        ..PluginGrants::default()
    };
    for pattern in raw.tools {
        check_tool_pattern(&pattern, &format!("{key}.tools"), at)?;
        grants.tools.push(pattern.into_inner());
    }
    for var in raw.env {
        let valid = var
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if var.get_ref().is_empty() || !valid {
            return Err(at(
                var.span(),
                &format!("{key}.env"),
                format!("`{}` is not an environment variable name", var.get_ref()),
            ));
        }
        grants.env.push(var.into_inner());
    }
    for grant in raw.http {
        let parsed = HttpGrant::parse(grant.get_ref())
            .map_err(|problem| at(grant.span(), &format!("{key}.http"), problem))?;
        grants.http.push(parsed);
    }
    for (guest, dir) in raw.dirs {
        let dir_key = format!("{key}.dirs.\"{}\"", guest.get_ref());
        if !guest.get_ref().starts_with('/') || guest.get_ref().split('/').any(|part| part == "..")
        {
            return Err(at(
                guest.span(),
                &dir_key,
                "the path inside the sandbox must be absolute, like \"/data\", without `..`".into(),
            ));
        }
        grants.dirs.push(DirGrant {
            guest: guest.into_inner(),
            host: base.join(dir.path.get_ref()),
            mode: dir.mode,
        });
    }
    Ok(grants)
}

/// The prefix of a provider's tool names: its own (already checked) name
/// unless overridden; `""` means none.
fn resolve_prefix(
    name: &Spanned<String>,
    prefix: Option<&Spanned<String>>,
    key: &str,
    at: &(dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + '_),
) -> Result<String, ConfigError> {
    match prefix {
        None => Ok(name.get_ref().clone()),
        Some(prefix) if prefix.get_ref().is_empty() => Ok(String::new()),
        Some(prefix) if is_valid_name_part(prefix.get_ref()) => Ok(prefix.get_ref().clone()),
        Some(prefix) => Err(at(
            prefix.span(),
            &format!("{key}.prefix"),
            format!(
                "`{}` is not a valid prefix: use letters, digits, `_` and `-`, or \"\" for none",
                prefix.get_ref()
            ),
        )),
    }
}

/// A tool-name pattern: name characters plus `*` and `?` wildcards.
fn check_tool_pattern(
    pattern: &Spanned<String>,
    key: &str,
    at: &(dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + '_),
) -> Result<(), ConfigError> {
    let valid = pattern
        .get_ref()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-*?".contains(&b));
    if pattern.get_ref().is_empty() || !valid {
        return Err(at(
            pattern.span(),
            key,
            format!(
                "`{}` is not a tool pattern: use tool names with `*` and `?` wildcards",
                pattern.get_ref()
            ),
        ));
    }
    Ok(())
}

fn relative_note(path: &Path, resolved: &Path) -> String {
    if path.is_absolute() {
        String::new()
    } else {
        let folder = resolved.parent().unwrap_or(resolved);
        format!(
            " (`{}` is relative to the working directory, {})",
            path.display(),
            folder.display()
        )
    }
}

/// `[A-Za-z0-9_-]+`: what every MCP client accepts in a tool name.
pub fn is_valid_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.bytes().filter(|&b| b == b'\n').count())
        + 1
}

/// `$XDG_CACHE_HOME/switchboard`, else `$HOME/.cache/switchboard`, else a
/// folder of this user's in the temp folder (`<temp>/switchboard-<uid>` on
/// unix, where the temp folder is shared; Windows' is already per user).
fn default_cache_dir() -> PathBuf {
    #[cfg(unix)]
    let user = Some(rustix::process::geteuid().as_raw());
    #[cfg(not(unix))]
    let user = None;
    cache_dir_from(
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
        std::env::temp_dir(),
        user,
    )
}

/// [`default_cache_dir`] apart from the environment. An empty or relative
/// `XDG_CACHE_HOME` or `HOME` is ignored (the XDG rule), rather than
/// putting the cache under whatever folder the host was started in.
fn cache_dir_from(
    xdg_cache_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
    temp: PathBuf,
    user: Option<u32>,
) -> PathBuf {
    let absolute = |value: Option<std::ffi::OsString>| {
        value.map(PathBuf::from).filter(|path| path.is_absolute())
    };
    if let Some(base) = absolute(xdg_cache_home) {
        return base.join("switchboard");
    }
    if let Some(home) = absolute(home) {
        return home.join(".cache").join("switchboard");
    }
    match user {
        Some(uid) => temp.join(format!("switchboard-{uid}")),
        None => temp.join("switchboard"),
    }
}

// Unix paths: on Windows `/x` is not absolute.
#[cfg(all(test, unix))]
mod cache_dir_tests {
    use super::cache_dir_from;
    use std::path::{Path, PathBuf};

    fn dir(xdg: Option<&str>, home: Option<&str>) -> PathBuf {
        cache_dir_from(
            xdg.map(Into::into),
            home.map(Into::into),
            PathBuf::from("/tmp"),
            Some(1000),
        )
    }

    #[test]
    fn xdg_cache_home_then_home_then_a_per_user_temp_folder() {
        assert_eq!(
            dir(Some("/x/cache"), Some("/home/u")),
            Path::new("/x/cache/switchboard")
        );
        assert_eq!(
            dir(None, Some("/home/u")),
            Path::new("/home/u/.cache/switchboard")
        );
        assert_eq!(dir(None, None), Path::new("/tmp/switchboard-1000"));
        assert_eq!(
            cache_dir_from(None, None, PathBuf::from("/tmp"), None),
            Path::new("/tmp/switchboard")
        );
    }

    #[test]
    fn empty_or_relative_variables_are_ignored() {
        assert_eq!(
            dir(Some(""), Some("/home/u")),
            Path::new("/home/u/.cache/switchboard")
        );
        assert_eq!(
            dir(Some("cache"), Some("")),
            Path::new("/tmp/switchboard-1000")
        );
        assert_eq!(dir(None, Some("home")), Path::new("/tmp/switchboard-1000"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/sb/switchboard.toml"))
    }

    #[test]
    fn defaults_apply_and_paths_resolve_against_the_config_folder() {
        let config = parse("[plugins.text]\ncomponent = \"p/text.wasm\"\n").expect("valid");
        assert_eq!(config.server.http.to_string(), DEFAULT_HTTP_ADDR);
        let plugin = &config.plugins[0];
        assert_eq!(plugin.prefix, "text");
        assert_eq!(plugin.component, Path::new("/etc/sb/p/text.wasm"));
        assert_eq!(plugin.limits, Limits::default());
    }

    #[test]
    fn spare_instances_may_be_zero_but_is_bounded() {
        let config =
            parse("[defaults]\nspare_instances = 0\n\n[plugins.a]\ncomponent = \"a.wasm\"\n")
                .expect("valid");
        assert_eq!(config.plugins[0].limits.spare_instances, 0);
        let err = parse("[plugins.a]\ncomponent = \"a.wasm\"\nlimits = { spare_instances = 17 }\n")
            .expect_err("too many spares")
            .to_string();
        assert!(err.contains("plugins.a.limits.spare_instances"), "{err}");
        assert!(err.contains("at most 16"), "{err}");
    }

    #[test]
    fn plugin_limits_override_defaults_field_by_field() {
        let config = parse(
            "[defaults]\ntimeout_ms = 500\nmemory_mb = 32\n\n[plugins.a]\ncomponent = \"a.wasm\"\nlimits = { memory_mb = 128 }\n",
        )
        .expect("valid");
        assert_eq!(
            config.plugins[0].limits,
            Limits {
                timeout_ms: 500,
                memory_mb: 128,
                ..Limits::default()
            }
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_key_and_line() {
        let err = parse("[server]\nhttp = \"127.0.0.1:1\"\nbogus = 1\n")
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn semantic_errors_name_key_and_line() {
        let err = parse("[plugins.a]\ncomponent = \"a.wasm\"\nprefix = \"bad prefix\"\n")
            .expect_err("bad prefix")
            .to_string();
        assert!(err.contains(":3:"), "{err}");
        assert!(err.contains("plugins.a.prefix"), "{err}");

        let err = parse("[server]\nhttp = \"nowhere\"\n")
            .expect_err("bad addr")
            .to_string();
        assert!(err.contains(":2:") && err.contains("server.http"), "{err}");

        let err = parse("[plugins.a]\ncomponent = \"a.wasm\"\nlimits = { timeout_ms = 0 }\n")
            .expect_err("zero timeout")
            .to_string();
        assert!(err.contains("plugins.a.limits.timeout_ms"), "{err}");
    }

    #[test]
    fn grants_parse_and_validate() {
        let config = parse(
            "[plugins.a]\ncomponent = \"a.wasm\"\n[plugins.a.grants]\ntools = [\"text_*\"]\nenv = [\"LANG\"]\ndirs = { \"/data\" = { path = \"d\", mode = \"rw\" }, \"/ro\" = { path = \"/abs\" } }\n",
        )
        .expect("valid");
        let grants = &config.plugins[0].grants;
        assert_eq!(grants.tools, ["text_*"]);
        assert_eq!(grants.env, ["LANG"]);
        assert_eq!(
            grants.dirs,
            [
                DirGrant {
                    guest: "/data".into(),
                    host: "/etc/sb/d".into(),
                    mode: DirMode::ReadWrite
                },
                DirGrant {
                    guest: "/ro".into(),
                    host: "/abs".into(),
                    mode: DirMode::ReadOnly
                },
            ]
        );
        for (bad, key) in [
            ("tools = [\"a b\"]", "plugins.a.grants.tools"),
            ("env = [\"A=B\"]", "plugins.a.grants.env"),
            (
                "dirs = { \"rel\" = { path = \"d\" } }",
                "plugins.a.grants.dirs",
            ),
        ] {
            let err = parse(&format!(
                "[plugins.a]\ncomponent = \"a.wasm\"\n[plugins.a.grants]\n{bad}\n"
            ))
            .expect_err(bad)
            .to_string();
            assert!(err.contains(":4:") && err.contains(key), "{err}");
        }
        let err = parse("[plugins.a]\ncomponent = \"a.wasm\"\ngrants = { dirs = { \"/d\" = { path = \"d\", mode = \"x\" } } }\n")
            .expect_err("bad mode")
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn http_grants_parse() {
        let grant = |s: &str| HttpGrant::parse(s);
        assert_eq!(
            grant("https://API.example.com").expect("ok"),
            HttpGrant {
                scheme: "https".into(),
                host: "api.example.com".into(),
                port: 443
            }
        );
        assert_eq!(grant("http://127.0.0.1:8080/").expect("ok").port, 8080);
        assert_eq!(
            grant("https://*.example.com").expect("ok").host,
            "*.example.com"
        );
        assert_eq!(grant("http://[::1]:9000").expect("ok").host, "[::1]");
        let bare_v6 = grant("https://[2001:db8::1]").expect("ok");
        assert_eq!(
            (bare_v6.host.as_str(), bare_v6.port),
            ("[2001:db8::1]", 443)
        );
        for bad in [
            "http://[::1",
            "http://[::1]9000",
            "http://[::1]:x",
            "example.com",
            "ftp://x",
            "https://x/path",
            "https://u@x",
            "https://a.*.com",
            "https://x:99999",
        ] {
            assert!(grant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grants_describe_every_kind() {
        assert!(PluginGrants::default().describe().is_empty());
        let http_only = PluginGrants {
            http: [
                "https://api.example.com",
                "http://127.0.0.1:8080",
                "http://[::1]:9000",
            ]
            .iter()
            .map(|g| HttpGrant::parse(g).expect("grant"))
            .collect(),
            ..PluginGrants::default()
        };
        assert_eq!(
            http_only.describe(),
            ["http: https://api.example.com, http://127.0.0.1:8080, http://[::1]:9000"]
        );
        let all = PluginGrants {
            tools: vec!["text_*".into(), "json_get".into()],
            env: vec!["LANG".into()],
            dirs: vec![
                DirGrant {
                    guest: "/data".into(),
                    host: "/srv/data".into(),
                    mode: DirMode::ReadOnly,
                },
                DirGrant {
                    guest: "/out".into(),
                    host: "/srv/out".into(),
                    mode: DirMode::ReadWrite,
                },
            ],
            http: vec![HttpGrant::parse("https://*.example.com:8443").expect("grant")],
            client: ClientRequestGrants {
                sampling: true,
                elicitation: false,
                roots: true,
            },
        };
        assert_eq!(
            all.describe(),
            [
                "tools: text_*, json_get",
                "http: https://*.example.com:8443",
                "dir /data -> /srv/data (read-only)",
                "dir /out -> /srv/out (read-write)",
                "env: LANG",
                "client requests: sampling, roots",
            ]
        );
    }

    #[test]
    fn empty_prefix_means_no_prefix() {
        let config = parse("[plugins.a]\ncomponent = \"a.wasm\"\nprefix = \"\"\n").expect("valid");
        assert_eq!(config.plugins[0].prefix, "");
    }

    #[test]
    fn missing_component_is_an_error() {
        let err = parse("[plugins.a]\nprefix = \"x\"\n")
            .expect_err("missing")
            .to_string();
        assert!(err.contains("component"), "{err}");
    }
}
