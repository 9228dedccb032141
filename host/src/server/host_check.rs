//! The DNS-rebinding guard of `/mcp` (rmcp's `allowed_hosts` check), for
//! the host's other endpoints that reveal what it serves (`/readyz`,
//! `/metrics`): the `Host` header (or the request's authority) must match
//! an `server.allowed_hosts` entry by name, and by port if the entry has
//! one; an empty list allows every host, as in rmcp. Refusals are answered
//! as rmcp answers them on `/mcp`: `403`, or `400` for a malformed `Host`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `server.allowed_hosts`, shared by the guarded routes.
#[derive(Clone)]
pub struct AllowedHosts(Arc<[String]>);

impl AllowedHosts {
    pub fn new(allowed: &[String]) -> Self {
        Self(allowed.into())
    }
}

/// Middleware (`axum::middleware::from_fn_with_state`) refusing requests
/// whose `Host` is not allowed.
pub async fn guard(State(allowed): State<AllowedHosts>, request: Request, next: Next) -> Response {
    match check_host(request.uri(), request.headers(), &allowed.0) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// rmcp's DNS-rebinding check of `/mcp`, with its answers: the `Host`
/// header (or the request's authority) must match an `allowed_hosts` entry
/// by name, and by port if the entry has one; an empty list allows all.
fn check_host(
    uri: &Uri,
    headers: &HeaderMap,
    allowed: &[String],
) -> Result<(), (StatusCode, &'static str)> {
    if allowed.is_empty() {
        return Ok(());
    }
    let bad_request = |message: &'static str| (StatusCode::BAD_REQUEST, message);
    let authority = match headers.get(header::HOST) {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| bad_request("Bad Request: Invalid Host header encoding"))?;
            axum::http::uri::Authority::try_from(text)
                .map_err(|_| bad_request("Bad Request: Invalid Host header"))?
        }
        None => uri
            .authority()
            .cloned()
            .ok_or_else(|| bad_request("Bad Request: missing Host header"))?,
    };
    let host = normalize(authority.host());
    let port = authority.port_u16();
    let matches = allowed.iter().any(|entry| {
        let entry = entry.trim();
        if entry.is_empty() {
            return false;
        }
        let (name, entry_port) = match axum::http::uri::Authority::try_from(entry) {
            Ok(parsed) => (normalize(parsed.host()), parsed.port_u16()),
            Err(_) => (normalize(entry), None),
        };
        name == host && entry_port.is_none_or(|p| port == Some(p))
    });
    if matches {
        return Ok(());
    }
    tracing::warn!(
        host = authority.as_str(),
        path = uri.path(),
        "refused a request with a Host header not in allowed_hosts (possible DNS rebinding)"
    );
    Err((
        StatusCode::FORBIDDEN,
        "Forbidden: Host header is not allowed",
    ))
}

fn normalize(host: &str) -> String {
    host.trim_matches('[')
        .trim_matches(']')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn check(host: Option<&str>, allowed: &[&str]) -> Option<StatusCode> {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        check_host(&Uri::from_static("/readyz"), &headers, &allowed)
            .err()
            .map(|(code, _)| code)
    }

    #[test]
    fn hosts_are_checked_like_rmcp_does() {
        let default = ["localhost", "127.0.0.1", "::1"];
        assert_eq!(check(Some("localhost:7777"), &default), None);
        assert_eq!(check(Some("LOCALHOST"), &default), None);
        assert_eq!(check(Some("127.0.0.1:1"), &default), None);
        assert_eq!(check(Some("[::1]:7777"), &default), None);
        assert_eq!(
            check(Some("evil.example:7777"), &default),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(check(Some("a b"), &default), Some(StatusCode::BAD_REQUEST));
        assert_eq!(check(None, &default), Some(StatusCode::BAD_REQUEST));
        // A port in the entry must match; none in the entry allows any.
        let pinned = ["example.com:8080"];
        assert_eq!(check(Some("example.com:8080"), &pinned), None);
        assert_eq!(
            check(Some("example.com:9090"), &pinned),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            check(Some("example.com"), &pinned),
            Some(StatusCode::FORBIDDEN)
        );
        // No list: every host (as rmcp).
        assert_eq!(check(Some("evil.example"), &[]), None);
    }
}
