//! `[clients.NAME]`: the AI clients allowed on the HTTP endpoint, each with
//! its bearer token, what it sees, and its rate limits. With no `[clients]`
//! table the endpoint takes every request (loopback use, the default);
//! with one, every `/mcp` request must carry one of the tokens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::upstream::{At, expand_env_vars};
use crate::rate_limit::RateLimit;

/// Shorter tokens are guessable; 16 characters of a random base64 or hex
/// string are at least 64 bits.
const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<PathBuf>>,
    token_sha256: Option<Spanned<String>>,
    jwt_claims: Option<Spanned<BTreeMap<String, String>>>,
    expose: Option<Vec<Spanned<String>>>,
    rate_limit: Option<Spanned<RawRateLimit>>,
    tool_rate_limit: Option<Spanned<RawRateLimit>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    per_second: f64,
    burst: Option<u32>,
}

/// A client as the config names it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub name: String,
    /// SHA-256 of the token: the token itself is not kept. `None` for a
    /// client known by its JWT claims instead.
    pub token_sha256: Option<[u8; 32]>,
    /// Claims (name, value) a JWT access token must carry to be this
    /// client's (`[oauth]`); a claim holding a list matches if the list
    /// holds the value.
    pub jwt_claims: Option<Vec<(String, String)>>,
    /// Patterns of the tool and prompt names and resource URIs it sees;
    /// `None` sees everything.
    pub expose: Option<Vec<String>>,
    /// All its requests to providers.
    pub rate_limit: Option<RateLimit>,
    /// Its calls of each tool, one bucket per tool.
    pub tool_rate_limit: Option<RateLimit>,
    pub line: usize,
}

impl ClientConfig {
    /// What the client may do, as `check` lists it (never the token).
    pub fn describe(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(claims) = &self.jwt_claims {
            let claims: Vec<String> = claims.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("JWT with {}", claims.join(", ")));
        }
        parts.push(match &self.expose {
            None => "sees everything".to_owned(),
            Some(patterns) if patterns.is_empty() => "sees nothing".to_owned(),
            Some(patterns) => format!("sees {}", patterns.join(", ")),
        });
        if let Some(limit) = self.rate_limit {
            parts.push(format!("requests {limit}"));
        }
        if let Some(limit) = self.tool_rate_limit {
            parts.push(format!("each tool {limit}"));
        }
        parts
    }
}

pub(super) fn resolve_clients(
    raw: BTreeMap<Spanned<String>, RawClient>,
    base: &Path,
    oauth: bool,
    at: &At<'_>,
    line_of: &dyn Fn(usize) -> usize,
) -> Result<Vec<ClientConfig>, ConfigError> {
    let mut clients: Vec<ClientConfig> = Vec::with_capacity(raw.len());
    for (name, client) in raw {
        let key = format!("clients.{}", name.get_ref());
        if !super::is_valid_name_part(name.get_ref()) {
            return Err(at(
                name.span(),
                &key,
                "client names use only letters, digits, `_` and `-`".into(),
            ));
        }
        let token_sha256 = match &client.jwt_claims {
            Some(claims) if !oauth => {
                return Err(at(
                    claims.span(),
                    &format!("{key}.jwt_claims"),
                    "needs an [oauth] table: the issuer whose tokens carry these claims".into(),
                ));
            }
            _ => resolve_token(&name, &client, &key, base, at)?,
        };
        if let Some(other) = clients
            .iter()
            .find(|c| token_sha256.is_some() && c.token_sha256 == token_sha256)
        {
            return Err(at(
                name.span(),
                &key,
                format!(
                    "has the same token as client `{}`: each client needs its own, or the host cannot tell them apart",
                    other.name
                ),
            ));
        }
        let rate = |raw: &Option<Spanned<RawRateLimit>>, field: &str| {
            raw.as_ref()
                .map(|limit| resolve_rate_limit(limit, &format!("{key}.{field}"), at))
                .transpose()
        };
        clients.push(ClientConfig {
            name: name.get_ref().clone(),
            token_sha256,
            jwt_claims: client
                .jwt_claims
                .map(|claims| claims.into_inner().into_iter().collect()),
            expose: client
                .expose
                .map(|patterns| patterns.into_iter().map(Spanned::into_inner).collect()),
            rate_limit: rate(&client.rate_limit, "rate_limit")?,
            tool_rate_limit: rate(&client.tool_rate_limit, "tool_rate_limit")?,
            line: line_of(name.span().start),
        });
    }
    Ok(clients)
}

/// The SHA-256 of the client's token, from whichever one of `token`,
/// `token_file` and `token_sha256` it gives; `None` if it gives
/// `jwt_claims` instead.
fn resolve_token(
    name: &Spanned<String>,
    client: &RawClient,
    key: &str,
    base: &Path,
    at: &At<'_>,
) -> Result<Option<[u8; 32]>, ConfigError> {
    let given = [
        client.token.as_ref().map(|_| "token"),
        client.token_file.as_ref().map(|_| "token_file"),
        client.token_sha256.as_ref().map(|_| "token_sha256"),
        client.jwt_claims.as_ref().map(|_| "jwt_claims"),
    ];
    let given: Vec<&str> = given.into_iter().flatten().collect();
    if given.len() != 1 {
        let problem = if given.is_empty() {
            "needs a token: `token = \"${ENV_VAR}\"`, `token_file = \"PATH\"` or `token_sha256 = \"HEX\"` (or `jwt_claims` with [oauth])".to_owned()
        } else {
            format!("give one of {}, not several", given.join(", "))
        };
        return Err(at(name.span(), key, problem));
    }
    if client.jwt_claims.is_some() {
        return Ok(None);
    }
    let checked = |token: String, span: std::ops::Range<usize>, field: &str| {
        if token.chars().count() < MIN_TOKEN_LEN {
            return Err(at(
                span,
                &format!("{key}.{field}"),
                format!(
                    "the token is shorter than {MIN_TOKEN_LEN} characters: use a random one, e.g. `openssl rand -hex 32`"
                ),
            ));
        }
        Ok(Some(crate::clients::token_digest(&token)))
    };
    if let Some(token) = &client.token {
        let expanded = expand_env_vars(token.get_ref(), |var| std::env::var(var).ok())
            .map_err(|problem| at(token.span(), &format!("{key}.token"), problem))?;
        return checked(expanded, token.span(), "token");
    }
    if let Some(file) = &client.token_file {
        let path = base.join(file.get_ref());
        let text = std::fs::read_to_string(&path).map_err(|e| {
            at(
                file.span(),
                &format!("{key}.token_file"),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        // Files written by `echo` or editors end in a newline.
        return checked(text.trim_end().to_owned(), file.span(), "token_file");
    }
    let hex = client
        .token_sha256
        .as_ref()
        .expect("one of the three is given");
    parse_sha256(hex.get_ref()).map(Some).ok_or_else(|| {
        at(
            hex.span(),
            &format!("{key}.token_sha256"),
            "must be 64 hex digits, the SHA-256 of the token (e.g. `printf %s \"$TOKEN\" | sha256sum`)".into(),
        )
    })
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

fn resolve_rate_limit(
    raw: &Spanned<RawRateLimit>,
    key: &str,
    at: &At<'_>,
) -> Result<RateLimit, ConfigError> {
    let limit = raw.get_ref();
    if !(limit.per_second.is_finite() && limit.per_second > 0.0) {
        return Err(at(
            raw.span(),
            key,
            "`per_second` must be a number greater than 0".into(),
        ));
    }
    // By default a second's worth may come at once (at least one).
    let burst = limit
        .burst
        .unwrap_or_else(|| limit.per_second.ceil().min(f64::from(u32::MAX)) as u32)
        .max(1);
    if limit.burst == Some(0) {
        return Err(at(raw.span(), key, "`burst` must be at least 1".into()));
    }
    Ok(RateLimit {
        per_second: limit.per_second,
        burst,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError};

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/switchboard/switchboard.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    const TOKEN: &str = "0123456789abcdef0123";

    #[test]
    fn a_client_with_a_token_policy_and_limits() {
        let config = parse(&format!(
            "[clients.alice]\ntoken = \"{TOKEN}\"\nexpose = [\"text_*\"]\nrate_limit = {{ per_second = 2.5 }}\ntool_rate_limit = {{ per_second = 1, burst = 4 }}\n"
        ))
        .unwrap();
        let alice = &config.clients[0];
        assert_eq!(alice.name, "alice");
        assert_eq!(
            alice.token_sha256,
            Some(crate::clients::token_digest(TOKEN))
        );
        assert_eq!(alice.expose, Some(vec!["text_*".to_owned()]));
        let rate = alice.rate_limit.unwrap();
        assert_eq!((rate.per_second, rate.burst), (2.5, 3));
        let tool = alice.tool_rate_limit.unwrap();
        assert_eq!((tool.per_second, tool.burst), (1.0, 4));
        assert_eq!(alice.line, 1);
    }

    #[test]
    fn tokens_from_env_file_or_hash_all_give_the_same_digest() {
        // SAFETY (of the test): a variable only this test reads.
        unsafe { std::env::set_var("SWITCHBOARD_TEST_CLIENT_TOKEN", TOKEN) };
        let from_env =
            parse("[clients.a]\ntoken = \"${SWITCHBOARD_TEST_CLIENT_TOKEN}\"\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).unwrap();
        let from_file = Config::parse(
            "[clients.a]\ntoken_file = \"token\"\n",
            &dir.path().join("switchboard.toml"),
        )
        .unwrap();
        let hex: String = crate::clients::token_digest(TOKEN)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let from_hash = parse(&format!("[clients.a]\ntoken_sha256 = \"{hex}\"\n")).unwrap();
        assert_eq!(from_env.clients, from_file.clients);
        assert_eq!(from_env.clients, from_hash.clients);
    }

    #[test]
    fn bad_clients_are_refused_naming_the_key() {
        let cases = [
            ("[clients.a]\nexpose = []\n", "clients.a", "needs a token"),
            (
                "[clients.a]\ntoken = \"0123456789abcdef\"\ntoken_sha256 = \"00\"\n",
                "clients.a",
                "give one of token, token_sha256",
            ),
            (
                "[clients.a]\ntoken = \"short\"\n",
                "clients.a.token",
                "shorter than 16",
            ),
            (
                "[clients.a]\ntoken = \"${SWITCHBOARD_TEST_UNSET_VAR}\"\n",
                "clients.a.token",
                "`SWITCHBOARD_TEST_UNSET_VAR` is not set",
            ),
            (
                "[clients.a]\ntoken_sha256 = \"abc\"\n",
                "clients.a.token_sha256",
                "64 hex digits",
            ),
            (
                "[clients.a]\ntoken_file = \"missing\"\n",
                "clients.a.token_file",
                "cannot read /etc/switchboard/missing",
            ),
            (
                "[clients.\"a b\"]\ntoken = \"0123456789abcdef\"\n",
                "clients.a b",
                "letters, digits",
            ),
            (
                "[clients.a]\ntoken = \"0123456789abcdef\"\nrate_limit = { per_second = 0 }\n",
                "clients.a.rate_limit",
                "greater than 0",
            ),
            (
                "[clients.a]\ntoken = \"0123456789abcdef\"\ntool_rate_limit = { per_second = 1, burst = 0 }\n",
                "clients.a.tool_rate_limit",
                "at least 1",
            ),
            (
                "[clients.a]\ntoken = \"0123456789abcdef\"\n[clients.b]\ntoken = \"0123456789abcdef\"\n",
                "clients.b",
                "same token as client `a`",
            ),
        ];
        for (text, key, message) in cases {
            let error = error(text);
            assert!(error.contains(&format!("`{key}`")), "{text}: {error}");
            assert!(error.contains(message), "{text}: {error}");
        }
        let unknown = error("[clients.a]\ntoken = \"0123456789abcdef\"\nscopes = []\n");
        assert!(unknown.contains("unknown field `scopes`"), "{unknown}");
    }
}
