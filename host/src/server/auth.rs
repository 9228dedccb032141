//! Client authentication on `/mcp`: with `[clients]` configured, every
//! request needs `Authorization: Bearer <token>` of one of them (RFC 6750).
//! The client found rides on the request (an axum extension, which rmcp
//! hands to the handler in the request's `http::request::Parts`), so
//! dispatch applies that client's policy; stdio is the local user and has
//! no auth.
//!
//! Refusals are `401` with a `WWW-Authenticate: Bearer` challenge, carrying
//! `error="invalid_token"` when a token was sent but is not one of them.
//! The token never reaches a log, an upstream or a plugin.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clients::ClientDirectory;
use crate::metrics::{self, AuthFailure};

const REALM: &str = "switchboard";

/// Middleware (`axum::middleware::from_fn_with_state`) for `/mcp`.
pub async fn authenticate(
    State(clients): State<Arc<ClientDirectory>>,
    mut request: Request,
    next: Next,
) -> Response {
    if clients.is_empty() {
        return next.run(request).await;
    }
    let token = match bearer_token(&request) {
        Ok(token) => token,
        Err(failure) => return refuse(failure),
    };
    match clients.authenticate(token) {
        Some(client) => {
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        None => refuse(AuthFailure::InvalidToken),
    }
}

/// The token of an `Authorization: Bearer` header (the scheme is case
/// insensitive, RFC 7235).
fn bearer_token(request: &Request) -> Result<&str, AuthFailure> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(AuthFailure::Missing);
    };
    let value = value.to_str().map_err(|_| AuthFailure::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthFailure::Malformed);
    }
    Ok(token)
}

fn refuse(failure: AuthFailure) -> Response {
    metrics::auth_failed(failure);
    tracing::warn!(
        target: "switchboard::audit",
        reason = failure.as_str(),
        "refused an HTTP request without a valid client token"
    );
    let (challenge, message) = match failure {
        AuthFailure::Missing => (
            format!("Bearer realm=\"{REALM}\""),
            "this endpoint needs `Authorization: Bearer <token>` of a configured client",
        ),
        AuthFailure::Malformed => (
            format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"expected Authorization: Bearer <token>\""
            ),
            "the Authorization header is not `Bearer <token>`",
        ),
        AuthFailure::InvalidToken => (
            format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"the token is not one of a configured client\""
            ),
            "the bearer token is not one of a configured client",
        ),
    };
    let challenge =
        HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        message,
    )
        .into_response()
}
