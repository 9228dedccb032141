//! `[upstreams.NAME]`: other MCP servers the host connects to, as child
//! processes over stdio or as Streamable HTTP endpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;

const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_HEALTH_INTERVAL_MS: u64 = 15_000;
const DEFAULT_BREAKER_FAILURES: u64 = 5;
const DEFAULT_BREAKER_COOLDOWN_MS: u64 = 10_000;
const DEFAULT_RESTART_BACKOFF_MS: u64 = 200;
const DEFAULT_RESTART_MAX_BACKOFF_MS: u64 = 30_000;
/// More replicas than this is a typo, not a deployment.
const MAX_REPLICAS: u64 = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    /// `["prog", "arg"]`, or `[["prog", "a"], ["prog", "b"]]` for replicas.
    command: Option<Spanned<toml::Value>>,
    /// `"https://host/mcp"`, or a list of them for replicas.
    url: Option<Spanned<toml::Value>>,
    replicas: Option<Spanned<u64>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    cwd: Option<Spanned<PathBuf>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    prefix: Option<Spanned<String>>,
    expose: Option<Vec<Spanned<String>>>,
    timeout_ms: Option<Spanned<u64>>,
    connect_timeout_ms: Option<Spanned<u64>>,
    health_interval_ms: Option<Spanned<u64>>,
    breaker_failures: Option<Spanned<u64>>,
    breaker_cooldown_ms: Option<Spanned<u64>>,
    restart_backoff_ms: Option<Spanned<u64>>,
    restart_max_backoff_ms: Option<Spanned<u64>>,
    /// What it may ask the client of the call it serves.
    #[serde(default)]
    grants: super::ClientRequestGrants,
}

/// A value that must not reach logs, errors, plugins or clients (a header
/// with a token, an environment variable with a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One way to reach one replica of an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A child process speaking MCP on its stdin/stdout.
    Command {
        program: String,
        args: Vec<String>,
        /// Added to the host's environment for the child.
        env: Vec<(String, Secret)>,
        cwd: Option<PathBuf>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        url: String,
        headers: Vec<(String, Secret)>,
    },
}

impl std::fmt::Display for Endpoint {
    /// What the admin would recognise, without any secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Command { program, args, .. } => {
                f.write_str(program)?;
                for arg in args {
                    write!(f, " {arg}")?;
                }
                Ok(())
            }
            Endpoint::Http { url, .. } => f.write_str(url),
        }
    }
}

/// When to stop sending calls to a failing replica, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures (timeouts, lost connections) that open it.
    pub failures: u32,
    /// How long it stays open before one probe call may pass.
    pub cooldown: Duration,
}

/// How a dead replica is brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartSettings {
    /// First wait after a failure; doubles on each further failure.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub name: String,
    /// Client-visible names are `<prefix>_<tool>` (just `<tool>` when empty).
    pub prefix: String,
    /// Replicas of one provider; at least one.
    pub endpoints: Vec<Endpoint>,
    /// Patterns of the upstream's own tool names clients see; `None` = all.
    pub expose: Option<Vec<String>>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub health_interval: Duration,
    pub breaker: BreakerSettings,
    pub restart: RestartSettings,
    /// Requests it may send the client of the call it serves (sampling,
    /// elicitation, roots); the host declares only these to it.
    pub client_requests: super::ClientRequestGrants,
    /// Line of the upstream's table, for errors found later.
    pub line: usize,
}

pub(super) type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + 'a;

pub(super) fn resolve_upstream(
    name: &Spanned<String>,
    raw: RawUpstream,
    base: &Path,
    at: &At<'_>,
    line: usize,
) -> Result<UpstreamConfig, ConfigError> {
    let key = format!("upstreams.{}", name.get_ref());
    if !super::is_valid_name_part(name.get_ref()) {
        return Err(at(
            name.span(),
            &key,
            "upstream names use only letters, digits, `_` and `-`".into(),
        ));
    }
    let prefix = super::resolve_prefix(name, raw.prefix.as_ref(), &key, at)?;
    let sub = |field: &str| format!("{key}.{field}");

    let env = expand_all(&raw.env, &sub("env"), at)?;
    let headers = expand_all(&raw.headers, &sub("headers"), at)?;
    let endpoints = match (&raw.command, &raw.url) {
        (Some(_), Some(url)) => {
            return Err(at(
                url.span(),
                &key,
                "give either `command` (a child process) or `url` (Streamable HTTP), not both"
                    .into(),
            ));
        }
        (None, None) => {
            return Err(at(
                name.span(),
                &key,
                "needs `command = [\"program\", \"arg\", ...]` or `url = \"https://host/mcp\"`"
                    .into(),
            ));
        }
        (Some(command), None) => {
            if let Some((header, value)) = raw.headers.iter().next() {
                return Err(at(
                    value.span(),
                    &format!("{key}.headers.{header}"),
                    "headers apply to `url` upstreams only".into(),
                ));
            }
            let cwd = raw.cwd.as_ref().map(|cwd| base.join(cwd.get_ref()));
            parse_commands(command, &sub("command"), at)?
                .into_iter()
                .map(|argv| {
                    let mut argv = argv.into_iter();
                    let program = argv.next().unwrap_or_default();
                    // A relative path is relative to the config file, like
                    // every other path in it; a bare name is looked up in PATH.
                    let program = if program.contains('/') && !program.starts_with('/') {
                        base.join(&program).to_string_lossy().into_owned()
                    } else {
                        program
                    };
                    Endpoint::Command {
                        program,
                        args: argv.collect(),
                        env: env.clone(),
                        cwd: cwd.clone(),
                    }
                })
                .collect::<Vec<_>>()
        }
        (None, Some(url)) => {
            for (field, present) in [
                ("env", raw.env.values().next().map(Spanned::span)),
                ("cwd", raw.cwd.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = present {
                    return Err(at(
                        span,
                        &sub(field),
                        format!("`{field}` applies to `command` upstreams only"),
                    ));
                }
            }
            parse_urls(url, &sub("url"), at)?
                .into_iter()
                .map(|url| Endpoint::Http {
                    url,
                    headers: headers.clone(),
                })
                .collect()
        }
    };
    let endpoints = match &raw.replicas {
        None => endpoints,
        Some(count) if !(1..=MAX_REPLICAS).contains(count.get_ref()) => {
            return Err(at(
                count.span(),
                &sub("replicas"),
                format!("must be between 1 and {MAX_REPLICAS}"),
            ));
        }
        Some(count) if endpoints.len() > 1 => {
            return Err(at(
                count.span(),
                &sub("replicas"),
                "give either several commands/urls or `replicas`, not both".into(),
            ));
        }
        Some(count) => {
            std::iter::repeat_n(endpoints[0].clone(), *count.get_ref() as usize).collect()
        }
    };

    let mut expose = None;
    if let Some(patterns) = raw.expose {
        let mut valid = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            super::check_tool_pattern(&pattern, &sub("expose"), at)?;
            valid.push(pattern.into_inner());
        }
        expose = Some(valid);
    }

    let millis = |value: &Option<Spanned<u64>>, field: &str, default: u64| match value {
        None => Ok(Duration::from_millis(default)),
        Some(v) if *v.get_ref() == 0 => {
            Err(at(v.span(), &sub(field), "must be greater than 0".into()))
        }
        Some(v) => Ok(Duration::from_millis(*v.get_ref())),
    };
    let breaker_failures = match &raw.breaker_failures {
        None => DEFAULT_BREAKER_FAILURES,
        Some(v) if !(1..=1000).contains(v.get_ref()) => {
            return Err(at(
                v.span(),
                &sub("breaker_failures"),
                "must be between 1 and 1000".into(),
            ));
        }
        Some(v) => *v.get_ref(),
    };
    let restart = RestartSettings {
        backoff: millis(
            &raw.restart_backoff_ms,
            "restart_backoff_ms",
            DEFAULT_RESTART_BACKOFF_MS,
        )?,
        max_backoff: millis(
            &raw.restart_max_backoff_ms,
            "restart_max_backoff_ms",
            DEFAULT_RESTART_MAX_BACKOFF_MS,
        )?,
    };
    if restart.max_backoff < restart.backoff
        && let Some(v) = &raw.restart_max_backoff_ms
    {
        return Err(at(
            v.span(),
            &sub("restart_max_backoff_ms"),
            "must not be less than restart_backoff_ms".into(),
        ));
    }
    Ok(UpstreamConfig {
        name: name.get_ref().clone(),
        prefix,
        endpoints,
        expose,
        timeout: millis(&raw.timeout_ms, "timeout_ms", DEFAULT_UPSTREAM_TIMEOUT_MS)?,
        connect_timeout: millis(
            &raw.connect_timeout_ms,
            "connect_timeout_ms",
            DEFAULT_CONNECT_TIMEOUT_MS,
        )?,
        health_interval: millis(
            &raw.health_interval_ms,
            "health_interval_ms",
            DEFAULT_HEALTH_INTERVAL_MS,
        )?,
        breaker: BreakerSettings {
            failures: breaker_failures as u32,
            cooldown: millis(
                &raw.breaker_cooldown_ms,
                "breaker_cooldown_ms",
                DEFAULT_BREAKER_COOLDOWN_MS,
            )?,
        },
        restart,
        client_requests: raw.grants,
        line,
    })
}

/// `["prog", "arg"]` is one command; `[["prog"], ["prog", "x"]]` is several.
fn parse_commands(
    value: &Spanned<toml::Value>,
    key: &str,
    at: &At<'_>,
) -> Result<Vec<Vec<String>>, ConfigError> {
    let problem = || {
        at(
            value.span(),
            key,
            "must be a non-empty list of strings like [\"mcp-server-time\", \"--flag\"], or a list of such lists for replicas".into(),
        )
    };
    let strings = |items: &[toml::Value]| -> Option<Vec<String>> {
        let argv: Option<Vec<String>> = items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect();
        argv.filter(|argv| argv.first().is_some_and(|program| !program.is_empty()))
    };
    let toml::Value::Array(items) = value.get_ref() else {
        return Err(problem());
    };
    if items.iter().all(toml::Value::is_str) {
        return strings(items).map(|argv| vec![argv]).ok_or_else(problem);
    }
    let commands: Option<Vec<Vec<String>>> = items
        .iter()
        .map(|item| item.as_array().and_then(|argv| strings(argv)))
        .collect();
    commands
        .filter(|commands| !commands.is_empty())
        .ok_or_else(problem)
}

fn parse_urls(
    value: &Spanned<toml::Value>,
    key: &str,
    at: &At<'_>,
) -> Result<Vec<String>, ConfigError> {
    let urls: Vec<&str> = match value.get_ref() {
        toml::Value::String(url) => vec![url.as_str()],
        toml::Value::Array(items) => items.iter().filter_map(toml::Value::as_str).collect(),
        _ => Vec::new(),
    };
    let count = match value.get_ref() {
        toml::Value::Array(items) => items.len(),
        _ => 1,
    };
    if urls.is_empty() || urls.len() != count {
        return Err(at(
            value.span(),
            key,
            "must be a URL like \"https://host/mcp\", or a list of URLs for replicas".into(),
        ));
    }
    urls.into_iter()
        .map(|url| {
            let valid = (url.starts_with("http://") || url.starts_with("https://"))
                && url.len() > "https://".len()
                && !url.contains(char::is_whitespace);
            if valid {
                Ok(url.to_owned())
            } else {
                Err(at(
                    value.span(),
                    key,
                    format!("`{url}` is not an http:// or https:// URL"),
                ))
            }
        })
        .collect()
}

pub(super) fn expand_all(
    table: &BTreeMap<String, Spanned<String>>,
    key: &str,
    at: &At<'_>,
) -> Result<Vec<(String, Secret)>, ConfigError> {
    table
        .iter()
        .map(|(name, value)| {
            expand_env_vars(value.get_ref(), |var| std::env::var(var).ok())
                .map(|expanded| (name.clone(), Secret(expanded)))
                .map_err(|problem| at(value.span(), &format!("{key}.{name}"), problem))
        })
        .collect()
}

/// Replaces each `${NAME}` with the host's environment variable `NAME`;
/// `$$` is a literal `$`. A variable that is not set is an error, so a
/// missing token fails at start rather than as a 401 later.
pub(super) fn expand_env_vars(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail
                .find('}')
                .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
            let var = &tail[..end];
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "`${{{var}}}` is not an environment variable reference"
                ));
            }
            let value =
                lookup(var).ok_or_else(|| format!("environment variable `{var}` is not set"))?;
            out.push_str(&value);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/sb/switchboard.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    #[test]
    fn commands_urls_and_replicas() {
        let config = parse(
            r#"
[upstreams.time]
command = ["mcp-server-time", "--local-timezone", "UTC"]
env = { TZ = "UTC" }
cwd = "work"

[upstreams.pair]
command = [["./bin/server", "a"], ["./bin/server", "b"]]
expose = ["get_*"]
prefix = ""

[upstreams.copies]
command = ["server"]
replicas = 3

[upstreams.docs]
url = ["http://a:1/mcp", "https://b/mcp"]
timeout_ms = 500
breaker_failures = 2
"#,
        )
        .expect("valid");
        let by_name = |name: &str| {
            config
                .upstreams
                .iter()
                .find(|u| u.name == name)
                .expect("present")
        };
        let time = by_name("time");
        assert_eq!(time.prefix, "time");
        assert_eq!(
            time.timeout,
            Duration::from_millis(DEFAULT_UPSTREAM_TIMEOUT_MS)
        );
        let Endpoint::Command {
            program,
            args,
            env,
            cwd,
        } = &time.endpoints[0]
        else {
            panic!("a command");
        };
        assert_eq!(
            program, "mcp-server-time",
            "bare names are looked up in PATH"
        );
        assert_eq!(args, &["--local-timezone", "UTC"]);
        assert_eq!(env[0].0, "TZ");
        assert_eq!(cwd.as_deref(), Some(Path::new("/etc/sb/work")));

        let pair = by_name("pair");
        assert_eq!(pair.endpoints.len(), 2);
        assert_eq!(pair.prefix, "");
        assert_eq!(pair.expose.as_deref(), Some(&["get_*".to_owned()][..]));
        assert_eq!(pair.endpoints[1].to_string(), "/etc/sb/./bin/server b");

        assert_eq!(by_name("copies").endpoints.len(), 3);
        let docs = by_name("docs");
        assert_eq!(docs.endpoints.len(), 2);
        assert_eq!(docs.breaker.failures, 2);
        assert_eq!(docs.timeout, Duration::from_millis(500));
    }

    #[test]
    fn questions_to_the_client_are_off_until_granted() {
        let config = parse(
            "[upstreams.quiet]\ncommand = [\"a\"]\n\n[upstreams.asks]\ncommand = [\"a\"]\ngrants = { sampling = true, roots = true }\n",
        )
        .expect("valid");
        let grants = |name: &str| {
            config
                .upstreams
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.client_requests)
                .expect("configured")
        };
        assert_eq!(
            grants("quiet"),
            super::super::ClientRequestGrants::default()
        );
        let asks = grants("asks");
        assert!(asks.sampling && asks.roots && !asks.elicitation);
    }

    #[test]
    fn mistakes_name_the_key_and_line() {
        let cases = [
            (
                "[upstreams.x]\nprefix = \"x\"\n",
                "upstreams.x",
                "needs `command =",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\nurl = \"http://h/mcp\"\n",
                "upstreams.x",
                "not both",
            ),
            (
                "[upstreams.x]\ncommand = []\n",
                "upstreams.x.command",
                "non-empty list",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\", 1]\n",
                "upstreams.x.command",
                "list of strings",
            ),
            (
                "[upstreams.x]\nurl = \"ftp://h\"\n",
                "upstreams.x.url",
                "not an http",
            ),
            (
                "[upstreams.x]\nurl = \"http://h/mcp\"\nenv = { A = \"b\" }\n",
                "upstreams.x.env",
                "`command` upstreams only",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\nheaders = { A = \"b\" }\n",
                "upstreams.x.headers.A",
                "`url` upstreams only",
            ),
            (
                "[upstreams.x]\nurl = \"http://h/mcp\"\nheaders = { A = \"${SWITCHBOARD_TEST_UNSET_VAR}\" }\n",
                "upstreams.x.headers.A",
                "`SWITCHBOARD_TEST_UNSET_VAR` is not set",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\nreplicas = 0\n",
                "upstreams.x.replicas",
                "between 1",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\ntimeout_ms = 0\n",
                "upstreams.x.timeout_ms",
                "greater than 0",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\nexpose = [\"a b\"]\n",
                "upstreams.x.expose",
                "not a tool pattern",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\nbogus = 1\n",
                "bogus",
                "line 3",
            ),
            (
                "[plugins.x]\ncomponent = \"x.wasm\"\n[upstreams.x]\ncommand = [\"a\"]\n",
                "upstreams.x",
                "share one namespace",
            ),
            (
                "[upstreams.x]\ncommand = [\"a\"]\ngrants = { tools = [\"y\"] }\n",
                "tools",
                "line 3",
            ),
        ];
        for (text, key, message) in cases {
            let error = error(text);
            assert!(
                error.contains(key) && error.contains(message),
                "config {text:?} gave: {error}"
            );
        }
    }

    #[test]
    fn env_references_expand_and_missing_ones_are_errors() {
        let lookup = |var: &str| (var == "TOKEN").then(|| "s3cret".to_owned());
        assert_eq!(
            expand_env_vars("Bearer ${TOKEN}", lookup).as_deref(),
            Ok("Bearer s3cret")
        );
        assert_eq!(
            expand_env_vars("a $$ b $x", lookup).as_deref(),
            Ok("a $ b $x")
        );
        let missing = expand_env_vars("${NOPE}", lookup).expect_err("unset");
        assert!(missing.contains("`NOPE` is not set"), "{missing}");
        assert!(expand_env_vars("${TOKEN", lookup).is_err());
        assert!(expand_env_vars("${BAD-NAME}", lookup).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret("s3cret".into());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let endpoint = Endpoint::Http {
            url: "https://x/mcp".into(),
            headers: vec![("Authorization".into(), secret)],
        };
        assert!(!format!("{endpoint:?}").contains("s3cret"));
        assert_eq!(endpoint.to_string(), "https://x/mcp");
    }
}
