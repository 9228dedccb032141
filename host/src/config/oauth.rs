//! `[oauth]`: the host as an OAuth 2.1 resource server. Clients bring JWT
//! access tokens from an authorization server (the `issuer`); the host
//! checks them against the issuer's keys (JWKS), this server's resource URL
//! as audience (RFC 8707), expiry and scopes, and maps their claims to a
//! `[clients.NAME]` with `jwt_claims`.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::upstream::At;

const DEFAULT_LEEWAY_S: u64 = 60;
const DEFAULT_JWKS_REFRESH_S: u64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOAuth {
    issuer: Spanned<String>,
    resource: Spanned<String>,
    jwks_url: Option<Spanned<String>>,
    #[serde(default)]
    scopes: Vec<String>,
    leeway_s: Option<u64>,
    jwks_refresh_s: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The authorization server (`iss` of its tokens).
    pub issuer: String,
    /// This server's resource URL: the audience tokens must be for.
    pub resource: String,
    /// Where the issuer's keys are; `None`: from its metadata (RFC 8414,
    /// then OpenID Connect discovery).
    pub jwks_url: Option<String>,
    /// Scopes every token must carry.
    pub scopes: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often the keys are fetched again (and at once for an unknown
    /// `kid`, at most every few seconds).
    pub jwks_refresh: Duration,
}

/// `http` only on loopback (local issuers in tests and development), as
/// OAuth 2.1 asks; `https` everywhere else.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "`{url}` must be an https URL (http only for localhost)"
        )),
    }
}

pub(super) fn resolve_oauth(raw: RawOAuth, at: &At<'_>) -> Result<OAuthConfig, ConfigError> {
    let url = |value: &Spanned<String>, field: &str| {
        check_url(value.get_ref())
            .map(|()| value.get_ref().trim_end_matches('/').to_owned())
            .map_err(|problem| at(value.span(), &format!("oauth.{field}"), problem))
    };
    let issuer = url(&raw.issuer, "issuer")?;
    let resource = url(&raw.resource, "resource")?;
    let jwks_url = raw
        .jwks_url
        .as_ref()
        .map(|value| url(value, "jwks_url"))
        .transpose()?;
    let jwks_refresh = match &raw.jwks_refresh_s {
        None => DEFAULT_JWKS_REFRESH_S,
        Some(value) if *value.get_ref() == 0 => {
            return Err(at(
                value.span(),
                "oauth.jwks_refresh_s",
                "must be greater than 0".into(),
            ));
        }
        Some(value) => *value.get_ref(),
    };
    Ok(OAuthConfig {
        issuer,
        resource,
        jwks_url,
        scopes: raw.scopes,
        leeway: Duration::from_secs(raw.leeway_s.unwrap_or(DEFAULT_LEEWAY_S)),
        jwks_refresh: Duration::from_secs(jwks_refresh),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/switchboard.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn oauth_with_defaults() {
        let config = parse(
            "[oauth]\nissuer = \"https://idp.example.com/realms/mcp/\"\nresource = \"https://mcp.example.com/mcp\"\nscopes = [\"mcp\"]\n",
        )
        .unwrap();
        let oauth = config.oauth.unwrap();
        assert_eq!(oauth.issuer, "https://idp.example.com/realms/mcp");
        assert_eq!(oauth.resource, "https://mcp.example.com/mcp");
        assert_eq!(oauth.jwks_url, None);
        assert_eq!(oauth.scopes, ["mcp"]);
        assert_eq!(oauth.leeway.as_secs(), 60);
        assert_eq!(oauth.jwks_refresh.as_secs(), 300);
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let local = parse(
            "[oauth]\nissuer = \"http://127.0.0.1:9000\"\nresource = \"http://localhost:7777/mcp\"\n",
        );
        assert!(local.is_ok(), "{local:?}");
        let remote = parse(
            "[oauth]\nissuer = \"http://idp.example.com\"\nresource = \"https://mcp.example.com/mcp\"\n",
        )
        .unwrap_err();
        assert!(remote.contains("`oauth.issuer`"), "{remote}");
        assert!(remote.contains("must be an https URL"), "{remote}");
        let missing = parse("[oauth]\nissuer = \"https://idp.example.com\"\n").unwrap_err();
        assert!(missing.contains("missing field `resource`"), "{missing}");
    }

    #[test]
    fn jwt_clients_need_oauth() {
        let error = parse("[clients.a]\njwt_claims = { sub = \"x\" }\n").unwrap_err();
        assert!(error.contains("`clients.a.jwt_claims`"), "{error}");
        assert!(error.contains("needs an [oauth] table"), "{error}");
        let ok = parse(
            "[oauth]\nissuer = \"https://idp.example.com\"\nresource = \"https://mcp.example.com/mcp\"\n[clients.a]\njwt_claims = { azp = \"desktop\" }\n",
        )
        .unwrap();
        assert_eq!(
            ok.clients[0].jwt_claims,
            Some(vec![("azp".to_owned(), "desktop".to_owned())])
        );
    }
}
