//! The host as an OAuth 2.1 resource server, against a local issuer written
//! here (an ES256 key, its JWKS and RFC 8414 metadata served on loopback):
//! the RFC 9728 metadata document and the challenge pointing to it, JWT
//! access tokens checked for signature, issuer, audience (RFC 8707),
//! expiry and scope, claims mapped to `[clients.NAME]`, key rotation
//! without a restart, and no token passthrough to an upstream.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use switchboard_e2e::upstreams::FixtureHttp;
use switchboard_e2e::{ConfigBuilder, Era, Host, PATIENCE, connect_http_with_token};

/// The audience tokens are for: this server's resource URL as the admin
/// configures it (the test host listens on another port; the audience is
/// an identifier).
const RESOURCE: &str = "http://localhost:7777/mcp";
const SCOPE: &str = "mcp:tools";
const UPSTREAM_SECRET: &str = "Bearer upstream-secret-4d2a";

/// An ES256 signing key and its public JWK.
struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("read it back");
        // Uncompressed point: 0x04, then X and Y.
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            jwk,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("sign a token")
    }
}

/// The local issuer: metadata at the RFC 8414 well-known path, and a JWKS
/// the test can swap (key rotation).
struct Issuer {
    url: String,
    jwks: Arc<Mutex<Value>>,
}

impl Issuer {
    async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the issuer");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks = Arc::new(Mutex::new(key_set(keys)));
        let metadata = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string();
        let served = jwks.clone();
        let app = axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                axum::routing::get(move || async move { as_json(metadata) }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let set = served.lock().unwrap().to_string();
                    async move { as_json(set) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, jwks }
    }

    fn rotate_to(&self, keys: &[&SigningKey]) {
        *self.jwks.lock().unwrap() = key_set(keys);
    }

    /// Claims of a good access token for the host, with `extra` merged in.
    fn claims(&self, extra: Value) -> Value {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.url, "aud": RESOURCE, "sub": "user-1", "azp": "desktop-app",
            "scope": format!("openid {SCOPE}"), "iat": now, "exp": now + 300,
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        claims
    }
}

/// A JSON response (axum's `Json` needs a feature the host does not use).
fn as_json(body: String) -> ([(&'static str, &'static str); 1], String) {
    ([("content-type", "application/json")], body)
}

fn key_set(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Status and `WWW-Authenticate` of an initialize sent with `token`.
async fn refusal(host: &Host, token: Option<&str>) -> (StatusCode, String) {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let response = crate::auth::post(host, authorization.as_deref()).await;
    (response.status(), crate::auth::challenge(&response))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_access_tokens_from_a_local_issuer() {
    let k1 = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&k1]).await;
    let upstream = tokio::task::block_in_place(|| FixtureHttp::start("fx"));
    let config = ConfigBuilder::testkit(10_000)
        .upstream(
            "fx",
            &format!(
                "url = \"{}\"\nheaders = {{ Authorization = \"{UPSTREAM_SECRET}\" }}",
                upstream.url()
            ),
        )
        .raw(&format!(
            "[oauth]\nissuer = \"{}\"\nresource = \"{RESOURCE}\"\nscopes = [\"{SCOPE}\"]\njwks_refresh_s = 1\n",
            issuer.url
        ))
        .client(
            "desktop",
            "jwt_claims = { azp = \"desktop-app\" }\nexpose = [\"kit_echo\", \"fx_headers\"]",
        )
        .client(
            "ops",
            "jwt_claims = { azp = \"desktop-app\", groups = \"ops\" }",
        )
        .write();
    let host = Host::http(&config).await;
    let base = host.url().strip_suffix("/mcp").unwrap().to_owned();

    // Discovery: the challenge points to the metadata document.
    let metadata_url = "http://localhost:7777/.well-known/oauth-protected-resource/mcp";
    let (status, challenge) = refusal(&host, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("scope=\"{SCOPE}\"")),
        "{challenge}"
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = reqwest::get(format!("{base}{path}"))
            .await
            .expect("GET the metadata");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        let text = response.text().await.expect("a body");
        let document: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            document,
            json!({
                "resource": RESOURCE,
                "authorization_servers": [issuer.url],
                "bearer_methods_supported": ["header"],
                "resource_name": "Switchboard",
                "scopes_supported": [SCOPE],
            })
        );
    }

    // A good token is the client its claims map to; the most specific
    // mapping wins.
    let desktop_token = k1.sign(&issuer.claims(json!({})));
    let desktop = connect_http_with_token(host.url(), Era::Modern, &desktop_token).await;
    assert_eq!(
        crate::upstream::tool_names(&desktop).await,
        ["fx_headers", "kit_echo"]
    );
    let ops_token = k1.sign(&issuer.claims(json!({"groups": ["dev", "ops"]})));
    let ops = connect_http_with_token(host.url(), Era::Legacy, &ops_token).await;
    assert!(
        crate::upstream::tool_names(&ops)
            .await
            .contains(&"kit_add".to_owned())
    );

    // No token passthrough: the upstream sees its own credentials only.
    let seen = desktop.call("fx_headers", json!({})).await;
    let seen = seen.ok().structured_content.clone().expect("structured");
    assert_eq!(seen["authorization"], UPSTREAM_SECRET, "{seen}");
    assert!(!seen.to_string().contains(&desktop_token), "{seen}");

    // Bad tokens, each refused naming why.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stranger = SigningKey::generate("k1");
    let cases = [
        (
            k1.sign(&issuer.claims(json!({"exp": now - 3600}))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "expired",
        ),
        (
            k1.sign(&issuer.claims(json!({"aud": "https://other.example/mcp"}))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "not for this server",
        ),
        (
            k1.sign(&issuer.claims(json!({"iss": "http://127.0.0.1:1"}))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "not issued by",
        ),
        (
            stranger.sign(&issuer.claims(json!({}))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "signature does not verify",
        ),
        (
            k1.sign(&issuer.claims(json!({"scope": "openid"}))),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            SCOPE,
        ),
        (
            k1.sign(&issuer.claims(json!({"azp": "someone-else"}))),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "match no client",
        ),
    ];
    for (token, expected_status, error, why) in &cases {
        let (status, challenge) = refusal(&host, Some(token)).await;
        assert_eq!(status, *expected_status, "{why}: {challenge}");
        assert!(
            challenge.contains(&format!("error=\"{error}\"")),
            "{challenge}"
        );
        assert!(challenge.contains(why), "{why}: {challenge}");
    }
    assert!(
        !host.stderr().contains(&desktop_token),
        "no token in the log"
    );

    // Rotation: the issuer publishes a new key; tokens signed with it are
    // accepted once the host has refetched (on its timer, or at once for
    // the unknown `kid`), with no restart.
    let k2 = SigningKey::generate("k2");
    issuer.rotate_to(&[&k2]);
    let rotated = k2.sign(&issuer.claims(json!({})));
    let started = Instant::now();
    loop {
        let (status, challenge) = refusal(&host, Some(&rotated)).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the rotated key was never accepted: {status} {challenge}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let metrics = crate::metrics::scrape(&host).await;
    for reason in ["missing", "invalid_token", "insufficient_scope", "unmapped"] {
        let series = format!("switchboard_auth_failures_total{{reason=\"{reason}\"}}");
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }
    assert!(
        metrics.contains(r#"caller="client:desktop""#),
        "calls counted under the mapped client"
    );
}
