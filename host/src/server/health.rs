//! Health endpoints for load balancers and Kubernetes probes, beside `/mcp`:
//!
//! - `/healthz`: `200 ok` whenever the process serves HTTP (liveness). It
//!   touches nothing, reveals nothing, and so checks nothing either.
//! - `/readyz`: whether the host is ready to serve (readiness), with what it
//!   serves and the state of every upstream, read live from the dispatcher's
//!   registry and the upstreams' own handles on every request.
//!
//! Readiness: plugins are loaded before the HTTP server is bound (a plugin
//! that fails to load stops the host), so what remains is the upstreams. An
//! upstream is *settled* once some replica has connected (and listed) at
//! least once, or once every replica is in a crash loop. The host is ready
//! (`200`, `"status": "ready"`) when every upstream is settled, and starting
//! (`503`, `"status": "starting"`) while some upstream has neither come up
//! nor been declared crash-looping: it may come up any moment, and calls to
//! it would wait for it. Startup already waits for this within the longest
//! `connect_timeout_ms`, so 503 is seen only while a slow or failing
//! upstream is still on its first tries.
//!
//! A settled upstream never makes the host unready again: one that went
//! down after serving, or is crash-looping, is reported by name (`down`,
//! `crash-loop`) while `/readyz` stays `200`, because the host still serves
//! every other plugin and upstream, and calls to the broken one fail at once
//! with a message naming it. Taking the host out of a load balancer for it
//! would turn one broken upstream into an outage of everything (and every
//! replica of the host, sharing the config, would be taken out alike).
//!
//! `/readyz` names upstreams and their states, so it applies the same
//! `allowed_hosts` check (DNS-rebinding guard) as `/mcp`
//! ([`super::host_check`]). It sends no CORS
//! headers, so a page of another origin cannot read it; a rebound name that
//! would make it same-origin is what the `Host` check stops. Failure reasons
//! and endpoints (which may carry paths, URLs or tokens) are left out: they
//! are in the log and in `switchboard check`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::host_check::AllowedHosts;
use crate::dispatch::Dispatcher;
use crate::reload::LiveProviders;
use crate::upstream::{Health, UpstreamStatus};

/// What the probes report on: the live dispatcher (its registry is swapped
/// as upstreams change) and the upstreams' handles.
#[derive(Clone)]
pub struct Probes {
    dispatcher: Arc<Dispatcher>,
    /// The plugins and upstreams serving now (a reload replaces them).
    live: Arc<LiveProviders>,
}

impl Probes {
    pub fn new(dispatcher: Arc<Dispatcher>) -> Self {
        Self {
            dispatcher,
            live: Arc::default(),
        }
    }

    /// The providers to report on.
    pub fn with_providers(mut self, live: Arc<LiveProviders>) -> Self {
        self.live = live;
        self
    }

    /// `/healthz` and `/readyz`, GET and HEAD; `/readyz` only for an
    /// allowed `Host` (see [`super::host_check`]).
    pub fn router(self, allowed_hosts: &AllowedHosts) -> axum::Router {
        let readyz = axum::Router::new()
            .route("/readyz", axum::routing::get(readyz))
            .layer(axum::middleware::from_fn_with_state(
                allowed_hosts.clone(),
                super::host_check::guard,
            ));
        axum::Router::new()
            .route("/healthz", axum::routing::get(healthz))
            .merge(readyz)
            .with_state(Arc::new(self))
    }

    /// The status code and body of `/readyz` now.
    pub fn readiness(&self) -> (StatusCode, Value) {
        let now = Instant::now();
        let mut upstreams = Map::new();
        let mut settled = true;
        for upstream in &self.live.upstreams() {
            let status = upstream.status();
            let state = UpstreamState::of(&status, upstream.has_connected());
            settled &= state != UpstreamState::Starting;
            upstreams.insert(status.name.clone(), describe(&status, state, now));
        }
        let registry = self.dispatcher.registry();
        let body = json!({
            "status": if settled { "ready" } else { "starting" },
            "plugins": self.live.plugins(),
            "tools": registry.all_tools().len(),
            "upstreams": upstreams,
        });
        let code = if settled {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (code, body)
    }
}

/// An upstream as `/readyz` sums it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpstreamState {
    /// Some replica is ready (how many, of how many).
    Ready { ready: usize, of: usize },
    /// Never connected yet, and not (yet) in a crash loop: not settled.
    Starting,
    /// Connected before; no replica is ready now (restarting, or waiting
    /// for the next attempt).
    Down,
    /// Every replica is in a crash loop (still retried, at the longest
    /// backoff).
    CrashLoop,
}

impl UpstreamState {
    fn of(status: &UpstreamStatus, has_connected: bool) -> Self {
        let ready = status
            .replicas
            .iter()
            .filter(|r| r.health == Health::Ready)
            .count();
        if ready > 0 {
            UpstreamState::Ready {
                ready,
                of: status.replicas.len(),
            }
        } else if status
            .replicas
            .iter()
            .all(|r| matches!(r.health, Health::CrashLoop { .. }))
        {
            UpstreamState::CrashLoop
        } else if has_connected {
            UpstreamState::Down
        } else {
            UpstreamState::Starting
        }
    }

    fn label(self) -> String {
        match self {
            UpstreamState::Ready { ready, of } => format!("ready {ready}/{of}"),
            UpstreamState::Starting => "starting".into(),
            UpstreamState::Down => "down".into(),
            UpstreamState::CrashLoop => "crash-loop".into(),
        }
    }
}

/// One upstream's entry: its state, tools, and each replica's state.
fn describe(status: &UpstreamStatus, state: UpstreamState, now: Instant) -> Value {
    let replicas: Vec<Value> = status
        .replicas
        .iter()
        .map(|replica| {
            let mut entry = Map::new();
            let (label, failures, retry_at) = match &replica.health {
                Health::Starting => ("starting", None, None),
                Health::Ready => ("ready", None, None),
                Health::Down { retry_at, .. } => ("down", None, Some(*retry_at)),
                Health::CrashLoop {
                    failures, retry_at, ..
                } => ("crash-loop", Some(*failures), Some(*retry_at)),
            };
            entry.insert("state".into(), label.into());
            if let Some(failures) = failures {
                entry.insert("failures".into(), failures.into());
            }
            if let Some(retry_at) = retry_at {
                let ms = retry_at.saturating_duration_since(now).as_millis() as u64;
                entry.insert("retry_in_ms".into(), ms.into());
            }
            entry.insert("restarts".into(), replica.restarts.into());
            let breaker = if replica.breaker_closed {
                "closed"
            } else {
                "open"
            };
            entry.insert("breaker".into(), breaker.into());
            Value::Object(entry)
        })
        .collect();
    json!({
        "state": state.label(),
        "tools": status.tools,
        "replicas": replicas,
    })
}

/// Probes must see the answer of now, not a cache's.
fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

async fn healthz() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            no_store(),
        ],
        "ok",
    )
        .into_response()
}

async fn readyz(State(probes): State<Arc<Probes>>) -> Response {
    let (code, body) = probes.readiness();
    (
        code,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            no_store(),
        ],
        body.to_string(),
    )
        .into_response()
}
