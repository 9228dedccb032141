//! AI clients as the host tells them apart: who a request comes from (its
//! bearer token or JWT access token, looked up in the [`ClientDirectory`]), what that client
//! may see (its `expose` patterns, applied by the registry's one
//! visibility rule), and how fast it may go (its token buckets, checked by
//! dispatch before a provider runs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use subtle::ConstantTimeEq;

use crate::config::ClientConfig;
use crate::oauth::{JwtError, JwtVerifier};
use crate::provider::{FailureKind, ToolFailure};
use crate::rate_limit::{RateLimit, TokenBucket};

/// SHA-256 of a bearer token: what the host keeps and compares.
pub fn token_digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// One configured client: its name, what it sees, its buckets.
#[derive(Debug)]
pub struct ClientPolicy {
    name: String,
    expose: Option<Vec<String>>,
    requests: Option<Mutex<TokenBucket>>,
    tool_limit: Option<RateLimit>,
    /// One bucket per tool it has called (names the registry knows, so
    /// a bounded set).
    tool_buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl ClientPolicy {
    pub fn new(config: &ClientConfig) -> Self {
        let now = Instant::now();
        Self {
            name: config.name.clone(),
            expose: config.expose.clone(),
            requests: config
                .rate_limit
                .map(|limit| Mutex::new(TokenBucket::new(limit, now))),
            tool_limit: config.tool_rate_limit,
            tool_buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this client sees `name` (a tool or prompt name, or a
    /// resource URI, as clients see them).
    pub fn exposes(&self, name: &str) -> bool {
        self.expose.as_ref().is_none_or(|patterns| {
            patterns
                .iter()
                .any(|pattern| glob_match::glob_match(pattern, name))
        })
    }

    /// Takes a token for one request (`tool` names the tool of a
    /// `tools/call`), or says which limit it is over and when to retry.
    /// Nothing is taken from either bucket unless both have a token.
    pub fn admit(&self, tool: Option<&str>, now: Instant) -> Result<(), ToolFailure> {
        let mut requests = self
            .requests
            .as_ref()
            .map(|bucket| bucket.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(bucket) = requests.as_deref_mut() {
            bucket
                .check(now)
                .map_err(|wait| self.limited(&bucket.limit(), "requests", wait))?;
        }
        // Only clients with a per-tool limit touch the per-tool buckets, and
        // a tool's name is copied once, when its bucket is made.
        let mut tools = match (tool, self.tool_limit) {
            (Some(_), Some(_)) => Some(self.tool_buckets.lock().unwrap_or_else(|e| e.into_inner())),
            _ => None,
        };
        let tool_bucket = match (tools.as_deref_mut(), tool, self.tool_limit) {
            (Some(tools), Some(tool), Some(limit)) => {
                if !tools.contains_key(tool) {
                    tools.insert(tool.to_owned(), TokenBucket::new(limit, now));
                }
                let bucket = tools.get_mut(tool).expect("inserted above");
                bucket
                    .check(now)
                    .map_err(|wait| self.limited(&limit, &format!("calls of `{tool}`"), wait))?;
                Some(bucket)
            }
            _ => None,
        };
        if let Some(bucket) = requests.as_deref_mut() {
            bucket.take();
        }
        if let Some(bucket) = tool_bucket {
            bucket.take();
        }
        Ok(())
    }

    fn limited(&self, limit: &RateLimit, what: &str, wait: std::time::Duration) -> ToolFailure {
        // Whole milliseconds, rounded up: "retry in 0 ms" would be wrong.
        let wait_ms = wait.as_micros().div_ceil(1000);
        ToolFailure::new(
            FailureKind::RateLimited,
            format!(
                "rate limit of client `{}` for {what} ({limit}) exceeded; retry in {wait_ms} ms",
                self.name
            ),
        )
    }
}

/// Who a client request comes from: a configured client, or (`local`) the
/// user on stdio or an HTTP endpoint without `[clients]`, who sees
/// everything and has no limits.
#[derive(Debug, Clone, Default)]
pub struct Client(Option<Arc<ClientPolicy>>);

impl Client {
    /// The local user.
    pub const LOCAL: Client = Client(None);

    pub fn local() -> Self {
        Self::LOCAL
    }

    pub fn configured(policy: Arc<ClientPolicy>) -> Self {
        Self(Some(policy))
    }

    pub fn policy(&self) -> Option<&ClientPolicy> {
        self.0.as_deref()
    }

    pub fn exposes(&self, name: &str) -> bool {
        self.policy().is_none_or(|policy| policy.exposes(name))
    }

    pub fn admit(&self, tool: Option<&str>, now: Instant) -> Result<(), ToolFailure> {
        self.policy()
            .map_or(Ok(()), |policy| policy.admit(tool, now))
    }
}

impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        self.policy().map(ClientPolicy::name) == other.policy().map(ClientPolicy::name)
    }
}

impl Eq for Client {}

/// `client` for the local user, `client:NAME` for a configured one (the
/// audit line's and the metrics' `caller`).
impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.policy() {
            None => f.write_str("client"),
            Some(policy) => write!(f, "client:{}", policy.name),
        }
    }
}

/// Claim (name, value) pairs a JWT must carry.
type Claims = Vec<(String, String)>;

/// Why a presented bearer token names no client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the bearer token is not one of a configured client")]
    UnknownToken,
    #[error("{0}")]
    Jwt(#[from] JwtError),
    #[error("the token is valid but its claims match no client's `jwt_claims`")]
    Unmapped,
}

/// The client directory in force on the HTTP endpoint; a reload of
/// `[clients]` swaps in a new one, which the next request uses.
pub struct LiveClients(std::sync::RwLock<Arc<ClientDirectory>>);

impl LiveClients {
    pub fn new(directory: ClientDirectory) -> Arc<Self> {
        Arc::new(Self(std::sync::RwLock::new(Arc::new(directory))))
    }

    /// The directory now in force.
    pub fn current(&self) -> Arc<ClientDirectory> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Serves `clients` from the next request on, with the running JWT
    /// verifier (`[oauth]` is read at start only). Their rate-limit
    /// buckets start full.
    pub fn replace(&self, clients: &[ClientConfig]) {
        let jwt = self.current().jwt.clone();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(ClientDirectory::new(clients, jwt));
    }
}

/// The configured clients, found by token or by JWT claims.
#[derive(Default)]
pub struct ClientDirectory {
    by_token: Vec<([u8; 32], Arc<ClientPolicy>)>,
    /// Clients known by JWT claims, in config (name) order.
    by_claims: Vec<(Claims, Arc<ClientPolicy>)>,
    jwt: Option<Arc<JwtVerifier>>,
}

impl ClientDirectory {
    /// `jwt` checks JWT access tokens (`[oauth]`); clients with
    /// `jwt_claims` are found through it.
    pub fn new(clients: &[ClientConfig], jwt: Option<Arc<JwtVerifier>>) -> Self {
        let mut directory = Self {
            jwt,
            ..Self::default()
        };
        for config in clients {
            let policy = Arc::new(ClientPolicy::new(config));
            if let Some(digest) = config.token_sha256 {
                directory.by_token.push((digest, policy.clone()));
            }
            if let Some(claims) = &config.jwt_claims {
                directory.by_claims.push((claims.clone(), policy));
            }
        }
        directory
    }

    /// No clients and no `[oauth]`: the endpoint takes every request.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty() && self.jwt.is_none()
    }

    pub fn jwt(&self) -> Option<&JwtVerifier> {
        self.jwt.as_deref()
    }

    /// The client this bearer token belongs to. Static tokens first: their
    /// digests are compared in constant time against every entry, so
    /// timing tells nothing about them (hashing first also hides their
    /// length). Then, with `[oauth]`, as a JWT access token, whose claims
    /// pick the client whose `jwt_claims` they match (the one with the most
    /// claims if several do, the first by name on a tie).
    pub async fn authenticate(&self, token: &str) -> Result<Client, Refusal> {
        let presented = token_digest(token);
        let mut found = None;
        for (digest, policy) in &self.by_token {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(policy.clone());
            }
        }
        if let Some(policy) = found {
            return Ok(Client::configured(policy));
        }
        let Some(jwt) = &self.jwt else {
            return Err(Refusal::UnknownToken);
        };
        let claims = jwt.verify(token).await?;
        let mut best: Option<(usize, &Arc<ClientPolicy>)> = None;
        for (wanted, policy) in &self.by_claims {
            let matches = wanted
                .iter()
                .all(|(name, value)| crate::oauth::claim_matches(&claims, name, value));
            if matches && best.is_none_or(|(count, _)| wanted.len() > count) {
                best = Some((wanted.len(), policy));
            }
        }
        best.map(|(_, policy)| Client::configured(policy.clone()))
            .ok_or(Refusal::Unmapped)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn config(name: &str, token: &str) -> ClientConfig {
        ClientConfig {
            name: name.into(),
            token_sha256: Some(token_digest(token)),
            jwt_claims: None,
            expose: None,
            rate_limit: None,
            tool_rate_limit: None,
            line: 1,
        }
    }

    #[tokio::test]
    async fn tokens_find_their_client() {
        let directory = ClientDirectory::new(
            &[
                config("alice", "alice-token-0123456789"),
                config("bob", "bob-token-0123456789"),
            ],
            None,
        );
        let alice = directory
            .authenticate("alice-token-0123456789")
            .await
            .unwrap();
        assert_eq!(alice.to_string(), "client:alice");
        assert_eq!(
            directory
                .authenticate("bob-token-0123456789")
                .await
                .unwrap()
                .to_string(),
            "client:bob"
        );
        assert_eq!(
            directory.authenticate("alice-token-012345678").await,
            Err(Refusal::UnknownToken)
        );
        assert_eq!(directory.authenticate("").await, Err(Refusal::UnknownToken));
        assert!(!directory.is_empty());
        assert!(ClientDirectory::new(&[], None).is_empty());
        assert_eq!(Client::local().to_string(), "client");
    }

    #[test]
    fn expose_patterns_filter_names_and_uris() {
        let mut alice = config("alice", "t");
        alice.expose = Some(vec!["text_*".into(), "upstream://docs/**".into()]);
        let alice = Client::configured(Arc::new(ClientPolicy::new(&alice)));
        assert!(alice.exposes("text_upper"));
        assert!(!alice.exposes("json_query"));
        assert!(alice.exposes("upstream://docs/a/b.md"));
        assert!(!alice.exposes("upstream://other/a"));
        let all = Client::configured(Arc::new(ClientPolicy::new(&config("bob", "u"))));
        assert!(all.exposes("json_query"));
        assert!(Client::local().exposes("anything"));
    }

    #[test]
    fn limits_refuse_naming_the_client_and_take_nothing_on_refusal() {
        let mut alice = config("alice", "t");
        alice.rate_limit = Some(RateLimit {
            per_second: 1.0,
            burst: 3,
        });
        alice.tool_rate_limit = Some(RateLimit {
            per_second: 1.0,
            burst: 1,
        });
        let policy = ClientPolicy::new(&alice);
        let now = Instant::now();
        policy.admit(Some("text_upper"), now).unwrap();
        let refused = policy.admit(Some("text_upper"), now).unwrap_err();
        assert_eq!(refused.kind, FailureKind::RateLimited);
        assert!(
            refused.message.contains(
                "rate limit of client `alice` for calls of `text_upper` (1/s, burst 1) exceeded; retry in 1000 ms"
            ),
            "{}",
            refused.message
        );
        // The refused call took nothing from the client's bucket: two of
        // its three tokens are left, for other tools and other requests.
        policy.admit(Some("json_query"), now).unwrap();
        policy.admit(None, now).unwrap();
        let refused = policy.admit(None, now).unwrap_err();
        assert!(
            refused.message.contains("for requests (1/s, burst 3)"),
            "{}",
            refused.message
        );
        policy.admit(None, now + Duration::from_secs(1)).unwrap();
    }
}
