//! The host as an OAuth 2.1 resource server: JWT access tokens checked
//! against the issuer's published keys (a JWKS, fetched at start, refreshed
//! on a timer and at once for a key id it does not know, so rotation needs
//! no restart), for this server's resource URL as audience (RFC 8707), with
//! expiry, issuer and scopes checked; and the Protected Resource Metadata
//! document (RFC 9728) that tells clients where to get tokens.
//!
//! Signatures are checked by `jsonwebtoken` (ring underneath); only
//! asymmetric algorithms are accepted, so a token signed with a public key
//! as an HMAC secret (algorithm confusion) is refused.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, RwLock};

use crate::config::OAuthConfig;

/// The least time between two fetches of the keys prompted by unknown key
/// ids: a client sending made-up `kid`s cannot make the host hammer the
/// issuer.
const MIN_REFETCH: Duration = Duration::from_secs(10);
/// How long one fetch of metadata or keys may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was refused. The messages go to the client (in
/// `WWW-Authenticate`) and the log: they name what is wrong, never the
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not accepted (only asymmetric signatures are)")]
    Algorithm(Algorithm),
    #[error("the token's key {0} is not among the issuer's keys")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is not for this server (audience must be {0})")]
    WrongAudience(String),
    #[error("the token was not issued by {0}")]
    WrongIssuer(String),
    #[error("the token lacks the scope(s) {0}")]
    MissingScopes(String),
    #[error("the issuer's keys are not available: {0}")]
    KeysUnavailable(String),
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

impl JwtError {
    /// The RFC 6750 error code: `insufficient_scope` answers 403, the rest
    /// `invalid_token` (401).
    pub fn is_insufficient_scope(&self) -> bool {
        matches!(self, JwtError::MissingScopes(_))
    }
}

struct Keys {
    set: JwkSet,
    fetched: Option<Instant>,
}

pub struct JwtVerifier {
    config: OAuthConfig,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    /// One fetch at a time; others wait for it and use its keys.
    fetching: Mutex<()>,
}

impl JwtVerifier {
    pub fn new(config: OAuthConfig) -> anyhow::Result<Self> {
        crate::startup::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client for the JWKS: {e}"))?;
        Ok(Self {
            config,
            http,
            keys: RwLock::new(Keys {
                set: JwkSet { keys: Vec::new() },
                fetched: None,
            }),
            fetching: Mutex::new(()),
        })
    }

    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// Where the metadata document is served (RFC 9728 section 3: the
    /// well-known path inserted before the resource's path).
    pub fn metadata_url(&self) -> String {
        match reqwest::Url::parse(&self.config.resource) {
            Ok(resource) => {
                let path = resource.path().trim_end_matches('/');
                let mut url = resource.clone();
                url.set_path(&format!("/.well-known/oauth-protected-resource{path}"));
                url.set_query(None);
                url.to_string()
            }
            Err(_) => format!(
                "{}/.well-known/oauth-protected-resource",
                self.config.resource
            ),
        }
    }

    /// The Protected Resource Metadata document (RFC 9728).
    pub fn metadata(&self) -> Value {
        let mut document = json!({
            "resource": self.config.resource,
            "authorization_servers": [self.config.issuer],
            "bearer_methods_supported": ["header"],
            "resource_name": "Switchboard",
        });
        if !self.config.scopes.is_empty() {
            document["scopes_supported"] = json!(self.config.scopes);
        }
        document
    }

    /// Fetches the keys now (at start, and on the refresh timer). A
    /// failure is logged; verification retries when a token needs them.
    pub async fn refresh(&self) {
        if let Err(e) = self.fetch().await {
            tracing::warn!("OAuth: {e}");
        }
    }

    /// Keeps the keys fresh every `jwks_refresh` until the host stops.
    pub fn spawn_refresh(self: &std::sync::Arc<Self>) {
        let verifier = std::sync::Arc::downgrade(self);
        let period = self.config.jwks_refresh;
        tokio::spawn(async move {
            loop {
                let Some(strong) = verifier.upgrade() else {
                    return;
                };
                strong.refresh().await;
                drop(strong);
                tokio::time::sleep(period).await;
            }
        });
    }

    /// The token's claims, if it is a valid access token for this server.
    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| JwtError::Malformed(e.to_string()))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(JwtError::Algorithm(header.alg));
        }
        let jwk = self.key_for(header.kid.as_deref()).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| {
            JwtError::KeysUnavailable(format!("a key of the issuer is unusable: {e}"))
        })?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let issuer = &self.config.issuer;
        validation.set_issuer(&[issuer.clone(), format!("{issuer}/")]);
        let resource = &self.config.resource;
        validation.set_audience(&[resource.clone(), format!("{resource}/")]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| self.describe(e))?;
        let missing: Vec<&str> = self
            .config
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|scope| !has_scope(&data.claims, scope))
            .collect();
        if !missing.is_empty() {
            return Err(JwtError::MissingScopes(missing.join(" ")));
        }
        Ok(data.claims)
    }

    fn describe(&self, error: jsonwebtoken::errors::Error) -> JwtError {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidSignature => JwtError::BadSignature,
            ErrorKind::ExpiredSignature => JwtError::Expired,
            ErrorKind::ImmatureSignature => JwtError::NotYetValid,
            ErrorKind::InvalidAudience => JwtError::WrongAudience(self.config.resource.clone()),
            ErrorKind::InvalidIssuer => JwtError::WrongIssuer(self.config.issuer.clone()),
            ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) => {
                JwtError::Malformed(error.to_string())
            }
            _ => JwtError::Invalid(error.to_string()),
        }
    }

    /// The issuer's key with id `kid` (or its only key when the token
    /// names none), fetching the keys again if it is not there.
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk, JwtError> {
        if let Some(key) = self.find(kid).await? {
            return Ok(key);
        }
        let min_refetch = MIN_REFETCH.min(self.config.jwks_refresh);
        let stale = {
            let keys = self.keys.read().await;
            keys.fetched.is_none_or(|at| at.elapsed() >= min_refetch)
        };
        if stale {
            self.fetch().await?;
            if let Some(key) = self.find(kid).await? {
                return Ok(key);
            }
        }
        Err(JwtError::UnknownKey(match kid {
            Some(kid) => format!("`{kid}`"),
            None => "(no `kid`)".to_owned(),
        }))
    }

    async fn find(&self, kid: Option<&str>) -> Result<Option<Jwk>, JwtError> {
        let keys = self.keys.read().await;
        Ok(match kid {
            Some(kid) => keys
                .set
                .keys
                .iter()
                .find(|key| key.common.key_id.as_deref() == Some(kid))
                .cloned(),
            None if keys.set.keys.len() == 1 => keys.set.keys.first().cloned(),
            None if keys.set.keys.len() > 1 => {
                return Err(JwtError::Malformed(
                    "the token names no key (`kid`) and the issuer has several".into(),
                ));
            }
            None => None,
        })
    }

    async fn fetch(&self) -> Result<(), JwtError> {
        let _one_at_a_time = self.fetching.lock().await;
        let url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => self.discover_jwks_url().await?,
        };
        let set: JwkSet = serde_json::from_slice(&self.get(&url).await?)
            .map_err(|e| JwtError::KeysUnavailable(format!("{url} is not a JWK set: {e}")))?;
        tracing::info!(
            url,
            keys = set.keys.len(),
            "OAuth: fetched the issuer's keys"
        );
        *self.keys.write().await = Keys {
            set,
            fetched: Some(Instant::now()),
        };
        Ok(())
    }

    /// `jwks_uri` from the issuer's metadata: RFC 8414 first, then OpenID
    /// Connect discovery.
    async fn discover_jwks_url(&self) -> Result<String, JwtError> {
        let issuer = &self.config.issuer;
        let mut candidates = Vec::new();
        if let Ok(url) = reqwest::Url::parse(issuer) {
            let path = url.path().trim_end_matches('/');
            let mut rfc8414 = url.clone();
            rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
            candidates.push(rfc8414.to_string());
        }
        candidates.push(format!("{issuer}/.well-known/openid-configuration"));
        let mut problems = Vec::new();
        for url in candidates {
            match self.get(&url).await {
                Ok(body) => {
                    let metadata: Value = serde_json::from_slice(&body).unwrap_or_default();
                    match metadata.get("jwks_uri").and_then(Value::as_str) {
                        Some(jwks) => return Ok(jwks.to_owned()),
                        None => problems.push(format!("{url} has no `jwks_uri`")),
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        Err(JwtError::KeysUnavailable(format!(
            "no `jwks_uri` in the issuer's metadata ({}); set oauth.jwks_url",
            problems.join("; ")
        )))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, JwtError> {
        let unavailable = |e: String| JwtError::KeysUnavailable(format!("GET {url}: {e}"));
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(response.status().to_string()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(body.to_vec())
    }
}

/// Whether the token grants `scope`: the space-separated `scope` claim
/// (RFC 9068), or an `scp` list or string (as some issuers write it).
fn has_scope(claims: &Map<String, Value>, scope: &str) -> bool {
    let in_text = |value: &Value| {
        value
            .as_str()
            .is_some_and(|text| text.split_whitespace().any(|s| s == scope))
    };
    claims.get("scope").is_some_and(in_text)
        || claims.get("scp").is_some_and(|scp| match scp {
            Value::Array(items) => items.iter().any(|item| item.as_str() == Some(scope)),
            other => in_text(other),
        })
}

/// Whether the claims carry `value` under `name` (or, for a list claim
/// such as `groups`, hold it in the list).
pub fn claim_matches(claims: &Map<String, Value>, name: &str, value: &str) -> bool {
    match claims.get(name) {
        Some(Value::String(text)) => text == value,
        Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(value)),
        Some(Value::Bool(flag)) => flag.to_string() == value,
        Some(Value::Number(number)) => number.to_string() == value,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn scopes_from_either_claim() {
        let c = claims(json!({"scope": "openid mcp:tools"}));
        assert!(has_scope(&c, "mcp:tools"));
        assert!(!has_scope(&c, "mcp"));
        assert!(has_scope(&claims(json!({"scp": ["a", "mcp"]})), "mcp"));
        assert!(has_scope(&claims(json!({"scp": "mcp other"})), "mcp"));
        assert!(!has_scope(&claims(json!({})), "mcp"));
    }

    #[test]
    fn claims_match_strings_lists_and_scalars() {
        let c = claims(json!({"sub": "u1", "groups": ["ops", "dev"], "admin": true, "n": 3}));
        assert!(claim_matches(&c, "sub", "u1"));
        assert!(!claim_matches(&c, "sub", "u2"));
        assert!(claim_matches(&c, "groups", "dev"));
        assert!(!claim_matches(&c, "groups", "sales"));
        assert!(claim_matches(&c, "admin", "true"));
        assert!(claim_matches(&c, "n", "3"));
        assert!(!claim_matches(&c, "missing", "x"));
    }

    fn verifier(resource: &str) -> JwtVerifier {
        JwtVerifier::new(OAuthConfig {
            issuer: "https://idp.example.com/realms/mcp".into(),
            resource: resource.into(),
            jwks_url: Some("https://idp.example.com/keys".into()),
            scopes: vec!["mcp".into()],
            leeway: Duration::from_secs(60),
            jwks_refresh: Duration::from_secs(300),
        })
        .unwrap()
    }

    #[test]
    fn metadata_is_served_under_the_resource_path() {
        let v = verifier("https://mcp.example.com/mcp");
        assert_eq!(
            v.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            v.metadata(),
            json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://idp.example.com/realms/mcp"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Switchboard",
                "scopes_supported": ["mcp"],
            })
        );
        assert_eq!(
            verifier("https://mcp.example.com").metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[tokio::test]
    async fn symmetric_and_malformed_tokens_are_refused_before_any_fetch() {
        let v = verifier("https://mcp.example.com/mcp");
        // {"alg":"HS256","typ":"JWT"} . {} . signature
        let hs256 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.c2ln";
        assert_eq!(
            v.verify(hs256).await,
            Err(JwtError::Algorithm(Algorithm::HS256))
        );
        assert!(matches!(
            v.verify("not-a-jwt").await,
            Err(JwtError::Malformed(_))
        ));
    }
}
