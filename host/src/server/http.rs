//! MCP over Streamable HTTP at `/mcp`, both protocol eras on one endpoint;
//! `/healthz` and `/readyz` beside it ([`super::health`]), and `/metrics`
//! ([`crate::metrics`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::{ListenerExt as _, TapIo};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::McpHandler;
use super::health::Probes;
use super::host_check::AllowedHosts;
use super::request_state::RequestStates;
use crate::clients::LiveClients;
use crate::config::ServerSettings;
use crate::dispatch::Dispatcher;
use crate::reload::LiveProviders;

/// A bound, not yet serving, HTTP endpoint (bind first so callers learn the
/// real port before serving, e.g. with `--http 127.0.0.1:0`).
pub struct HttpServer {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    /// `/healthz` and `/readyz`, routed when serving.
    probes: Probes,
    allowed_hosts: AllowedHosts,
    shutdown: CancellationToken,
}

impl HttpServer {
    /// `clients` empty serves every request as the local user; otherwise
    /// each `/mcp` request needs one of their tokens ([`super::auth`]).
    pub async fn bind(
        dispatcher: Arc<Dispatcher>,
        settings: &ServerSettings,
        clients: Arc<LiveClients>,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let probes = Probes::new(dispatcher.clone());
        let allowed_hosts = AllowedHosts::new(&settings.allowed_hosts);
        let mut config = StreamableHttpServerConfig::default()
            .with_allowed_hosts(settings.allowed_hosts.clone())
            .with_allowed_origins(settings.allowed_origins.clone())
            .with_cancellation_token(shutdown.child_token());
        if settings.allowed_origins.is_empty() {
            // An empty list would switch Origin validation off in rmcp; here
            // it means "no browser origin is allowed".
            config = config.enforce_origin_validation();
        }
        let page_size = settings.page_size;
        // One key set for every session: a round may come back on any.
        let request_states = Arc::new(RequestStates::new(&settings.request_state_keys)?);
        let service = StreamableHttpService::new(
            move || {
                Ok(McpHandler::new(
                    dispatcher.clone(),
                    page_size,
                    request_states.clone(),
                ))
            },
            Arc::new(LocalSessionManager::default()),
            config,
        );
        // `/metrics` names plugins, tools and upstreams: the same Host check.
        let mut metrics = axum::Router::new();
        if settings.metrics {
            metrics = metrics
                .route("/metrics", axum::routing::get(crate::metrics::handler))
                .layer(axum::middleware::from_fn_with_state(
                    allowed_hosts.clone(),
                    super::host_check::guard,
                ));
        }
        let mut router = axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn_with_state(
                clients.clone(),
                super::auth::authenticate,
            ))
            .merge(metrics);
        if let Some(jwt) = clients.current().jwt() {
            // RFC 9728: at the well-known path, with and without the
            // resource's own path appended.
            let suffixed = reqwest::Url::parse(&jwt.metadata_url())
                .map(|url| url.path().to_owned())
                .unwrap_or_default();
            let metadata = axum::routing::get(super::auth::resource_metadata);
            let mut well_known = axum::Router::new()
                .route("/.well-known/oauth-protected-resource", metadata.clone());
            if suffixed != "/.well-known/oauth-protected-resource" && suffixed.starts_with('/') {
                well_known = well_known.route(&suffixed, metadata);
            }
            router = router.merge(well_known.with_state(clients));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        Ok(Self {
            listener,
            router,
            probes,
            allowed_hosts,
            shutdown,
        })
    }

    /// What `/readyz` reports on besides the registry: the plugins and
    /// upstreams serving now.
    pub fn with_providers(mut self, live: Arc<LiveProviders>) -> Self {
        self.probes = self.probes.with_providers(live);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` resolves.
    pub async fn serve(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = self.shutdown.clone();
        let router = self.router.merge(self.probes.router(&self.allowed_hosts));
        axum::serve(without_nagle(self.listener), router)
            .with_graceful_shutdown(async move {
                stop.await;
                shutdown.cancel();
            })
            .await?;
        Ok(())
    }
}

/// Accepted connections with `TCP_NODELAY` set. rmcp answers a 2025-11-25
/// (session) POST in several small writes: the SSE headers and a priming
/// event before the handler has answered, then the result event, then the
/// chunk terminator. With Nagle's algorithm on, the result waits for the
/// client's delayed ACK of the first write: ~40 ms on every legacy call.
pub fn without_nagle(
    listener: tokio::net::TcpListener,
) -> TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    listener.tap_io(set_nodelay)
}

fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY on an accepted connection: {e}");
    }
}
