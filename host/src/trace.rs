//! Distributed traces: an OpenTelemetry span for every request dispatch
//! runs (a client's, or a plugin's nested call through its host import) and
//! for every request sent to an upstream, exported over OTLP/HTTP when
//! `[traces]` is configured.
//!
//! A client's request joins the trace its caller names, by W3C trace
//! context in the request's `_meta` (`traceparent`, `tracestate`: MCP's
//! SEP-414) or else in the HTTP `traceparent` header. Requests to upstreams
//! carry the context of their own span in `_meta` the same way, so an
//! upstream that traces continues the same trace.
//!
//! The context travels with the request's scope ([`TraceContext`]), not
//! in a task-local: a plugin's nested calls run inside wasmtime's futures,
//! and an explicit parent keeps the tree right whatever polls them. Off
//! (no `[traces]`), every function here returns at once without allocating.

use std::sync::OnceLock;

use anyhow::Context as _;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue, trace::TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use rmcp::model::{MetaObject, RequestMetaObject};

use crate::config::TracesConfig;

/// The tracer, once `[traces]` started exporting; unset means off.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Whether spans are being recorded.
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

/// Exports spans until dropped or shut down: hold it while serving.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

/// Starts exporting spans as `config` says. Once per process: the tracer
/// is global, as every request's spans share it.
pub fn start(config: &TracesConfig) -> anyhow::Result<TraceExport> {
    crate::startup::install_tls_provider();
    let headers = config
        .headers
        .iter()
        .map(|(name, value)| (name.clone(), value.expose().to_owned()))
        .collect();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&config.otlp_endpoint)
        .with_headers(headers)
        .with_timeout(config.timeout)
        .build()
        .with_context(|| {
            format!(
                "cannot set up span export to {} ([traces])",
                config.otlp_endpoint
            )
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        // A request that arrives in a trace follows its caller's choice.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("switchboard");
    TRACER
        .set(tracer)
        .map_err(|_| anyhow::anyhow!("span export was already started"))?;
    tracing::info!(
        endpoint = &*config.otlp_endpoint,
        sample_ratio = config.sample_ratio,
        "exporting traces over OTLP/HTTP"
    );
    Ok(TraceExport { provider })
}

impl TraceExport {
    /// Sends the spans still queued, then stops. The SDK blocks while it
    /// flushes, so that runs off the async workers.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!("could not send the last spans: {e}");
        }
    }
}

/// W3C trace context (`traceparent`, `tracestate`); stateless.
fn propagator() -> TraceContextPropagator {
    TraceContextPropagator::new()
}

/// Where a request sits in a trace: the span it runs under. Empty when
/// traces are off.
#[derive(Clone, Debug, Default)]
pub struct TraceContext(Option<Context>);

impl TraceContext {
    /// A request that starts a trace of its own (the CLI, a test).
    pub fn root() -> Self {
        Self(enabled().then(Context::new))
    }

    /// A client's request: the trace its `_meta` names, else the one its
    /// HTTP `traceparent` header names, else a new one.
    pub fn from_client(meta: &MetaObject, headers: Option<&http::HeaderMap>) -> Self {
        if !enabled() {
            return Self(None);
        }
        let parent = if meta.get_traceparent().is_some() {
            propagator().extract(&MetaCarrier(meta))
        } else if let Some(headers) = headers.filter(|h| h.contains_key("traceparent")) {
            propagator().extract(&HeaderCarrier(headers))
        } else {
            Context::new()
        };
        Self(Some(parent))
    }

    /// Writes this context into an outgoing request's `_meta`.
    pub fn inject(&self, meta: &mut Option<RequestMetaObject>) {
        let Some(cx) = &self.0 else { return };
        if !cx.span().span_context().is_valid() {
            return;
        }
        propagator().inject_context(cx, &mut MetaCarrierMut(meta.get_or_insert_default()));
    }
}

/// One request's span; ends when dropped.
pub struct RequestSpan(Option<Context>);

impl RequestSpan {
    /// Starts a span under `parent`: `Server` for a request a client sent,
    /// `Internal` for a plugin's nested call, `Client` for one sent to an
    /// upstream. `name` and `attributes` are only built when traces are on.
    pub fn start(
        parent: &TraceContext,
        kind: SpanKind,
        name: impl FnOnce() -> String,
        attributes: impl FnOnce() -> Vec<KeyValue>,
    ) -> Self {
        let (Some(tracer), Some(parent)) = (TRACER.get(), &parent.0) else {
            return Self(None);
        };
        let span = tracer
            .span_builder(name())
            .with_kind(kind)
            .with_attributes(attributes())
            .start_with_context(tracer, parent);
        Self(Some(parent.with_span(span)))
    }

    /// The context requests made under this span start from.
    pub fn context(&self) -> TraceContext {
        TraceContext(self.0.clone())
    }

    /// Adds attributes known only later (who served it, the outcome).
    pub fn record(&self, attributes: impl FnOnce() -> Vec<KeyValue>) {
        if let Some(cx) = &self.0 {
            cx.span().set_attributes(attributes());
        }
    }

    /// Marks the span failed: `error_type` is a short class (`timeout`,
    /// `denied`, `tool_error`), `message` the error as the caller saw it.
    pub fn fail(&self, error_type: &'static str, message: &str) {
        if let Some(cx) = &self.0 {
            let span = cx.span();
            span.set_attribute(KeyValue::new("error.type", error_type));
            span.set_status(Status::error(message.to_owned()));
        }
    }
}

impl Drop for RequestSpan {
    fn drop(&mut self) {
        if let Some(cx) = &self.0 {
            cx.span().end();
        }
    }
}

struct MetaCarrier<'a>(&'a MetaObject);

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(serde_json::Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

struct MetaCarrierMut<'a>(&'a mut RequestMetaObject);

impl Injector for MetaCarrierMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .insert(key.to_owned(), serde_json::Value::String(value));
    }
}

struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn off_means_no_context_and_no_span() {
        // The unit tests never start an export, so traces are off.
        assert!(!enabled());
        let mut meta = MetaObject::default();
        meta.set_traceparent(PARENT);
        let cx = TraceContext::from_client(&meta, None);
        assert!(cx.0.is_none());
        let span = RequestSpan::start(&cx, SpanKind::Server, || unreachable!(), || unreachable!());
        let mut out = None;
        span.context().inject(&mut out);
        assert_eq!(out, None, "nothing is written when traces are off");
    }

    #[test]
    fn w3c_context_round_trips_through_meta_and_headers() {
        let mut meta = MetaObject::default();
        meta.set_traceparent(PARENT);
        meta.set_tracestate("vendor=1");
        let from_meta = propagator().extract(&MetaCarrier(&meta));
        let span = from_meta.span();
        let context = span.span_context();
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(context.is_sampled());

        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", PARENT.parse().unwrap());
        let from_header = propagator().extract(&HeaderCarrier(&headers));
        assert_eq!(
            from_header.span().span_context().trace_id(),
            context.trace_id()
        );

        let mut out = Some(RequestMetaObject::default());
        TraceContext(Some(from_meta)).inject(&mut out);
        let out = out.unwrap();
        assert_eq!(out.get_traceparent(), Some(PARENT));
        assert_eq!(out.get_tracestate(), Some("vendor=1"));
    }
}
