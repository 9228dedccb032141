//! Client authentication on `/mcp`: with `[clients]` (or `[oauth]`)
//! configured, every request needs `Authorization: Bearer <token>` (RFC
//! 6750): a client's static token, or a JWT access token from the issuer.
//! The client found rides on the request (an axum extension, which rmcp
//! hands to the handler in the request's `http::request::Parts`), so
//! dispatch applies that client's policy; stdio is the local user and has
//! no auth.
//!
//! Refusals are `401` with a `WWW-Authenticate: Bearer` challenge, carrying
//! `error="invalid_token"` when a token was sent but is not valid (`403`
//! `insufficient_scope` for a valid JWT lacking a scope or a client); with
//! `[oauth]` the challenge points to the metadata document. The token
//! never reaches a log, an upstream or a plugin: upstream requests carry
//! only the upstream's own configured headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clients::{Client, ClientDirectory, LiveClients, Refusal};
use crate::metrics::{self, AuthFailure};

const REALM: &str = "switchboard";

/// Middleware (`axum::middleware::from_fn_with_state`) for `/mcp`.
pub async fn authenticate(
    State(live): State<Arc<LiveClients>>,
    mut request: Request,
    next: Next,
) -> Response {
    let clients = live.current();
    if clients.is_empty() {
        // Every HTTP request carries its client, so the handler never
        // decides on its own who an unmarked request is.
        request.extensions_mut().insert(Client::LOCAL);
        return next.run(request).await;
    }
    let token = match bearer_token(&request) {
        Ok(token) => token,
        Err(failure) => return refuse(&clients, failure, None),
    };
    match clients.authenticate(token).await {
        Ok(client) => {
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Err(refusal) => {
            let failure = match &refusal {
                Refusal::UnknownToken => AuthFailure::InvalidToken,
                Refusal::Jwt(e) if e.is_insufficient_scope() => AuthFailure::InsufficientScope,
                Refusal::Jwt(_) => AuthFailure::InvalidToken,
                Refusal::Unmapped => AuthFailure::Unmapped,
            };
            refuse(&clients, failure, Some(&refusal))
        }
    }
}

/// `GET /.well-known/oauth-protected-resource[/PATH]`: the Protected
/// Resource Metadata document (RFC 9728), public like the issuer's own.
pub async fn resource_metadata(State(live): State<Arc<LiveClients>>) -> Response {
    match live.current().jwt() {
        Some(jwt) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            jwt.metadata().to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
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

/// A `401` (or `403` for a token that is valid but not enough) with its
/// RFC 6750 challenge, which with `[oauth]` points to the metadata
/// document (RFC 9728) and names the scopes needed.
fn refuse(clients: &ClientDirectory, failure: AuthFailure, refusal: Option<&Refusal>) -> Response {
    metrics::auth_failed(failure);
    let reason = refusal.map_or_else(|| failure.as_str().to_owned(), ToString::to_string);
    tracing::warn!(
        target: "switchboard::audit",
        reason,
        "refused an HTTP request without a valid client token"
    );
    let mut challenge = format!("Bearer realm=\"{REALM}\"");
    if let Some(jwt) = clients.jwt() {
        challenge.push_str(&format!(", resource_metadata=\"{}\"", jwt.metadata_url()));
        if !jwt.config().scopes.is_empty() {
            challenge.push_str(&format!(", scope=\"{}\"", jwt.config().scopes.join(" ")));
        }
    }
    let (status, error, message) = match failure {
        AuthFailure::Missing => (
            StatusCode::UNAUTHORIZED,
            None,
            "this endpoint needs `Authorization: Bearer <token>` of a configured client".to_owned(),
        ),
        AuthFailure::Malformed => (
            StatusCode::UNAUTHORIZED,
            Some("invalid_request"),
            "the Authorization header is not `Bearer <token>`".to_owned(),
        ),
        AuthFailure::InvalidToken => (StatusCode::UNAUTHORIZED, Some("invalid_token"), reason),
        AuthFailure::InsufficientScope => {
            (StatusCode::FORBIDDEN, Some("insufficient_scope"), reason)
        }
        // A valid token of nobody this host serves: like a missing grant.
        AuthFailure::Unmapped => (StatusCode::FORBIDDEN, Some("insufficient_scope"), reason),
    };
    if let Some(error) = error {
        // Quotes and backslashes cannot appear in a quoted-string unescaped.
        let description: String = message
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        challenge.push_str(&format!(
            ", error=\"{error}\", error_description=\"{description}\""
        ));
    }
    let challenge =
        HeaderValue::from_str(&challenge).unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
    (status, [(header::WWW_AUTHENTICATE, challenge)], message).into_response()
}
