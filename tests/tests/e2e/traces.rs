//! OpenTelemetry traces (`[traces]`), received by an OTLP/HTTP receiver
//! written here (protobuf, on loopback): the spans of a chained call
//! (client -> plugin -> plugin -> upstream) form one tree under the trace
//! context the client sent, the upstream gets the context of the span that
//! called it, and an HTTP `traceparent` header works when `_meta` has none.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use rmcp::model::RequestMetaObject;
use serde_json::{Value, json};
use switchboard_e2e::config::toml_array;
use switchboard_e2e::upstreams::fixture_stdio_command;
use switchboard_e2e::{
    ConfigBuilder, ConfigFile, Era, Fixture, Host, PATIENCE, connect_http, run_cli, text,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// A span as the receiver got it, ids in hex.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent: String,
    attributes: Vec<(String, String)>,
    error: bool,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with protobuf bodies.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body.as_ref())
                        .expect("the host sends OTLP protobuf");
                    let mut sink = sink.lock().unwrap();
                    for resource_spans in request.resource_spans {
                        let service = resource_spans
                            .resource
                            .iter()
                            .flat_map(|r| &r.attributes)
                            .find(|kv| kv.key == "service.name")
                            .map(|kv| value_text(kv.value.as_ref()))
                            .unwrap_or_default();
                        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                            sink.push(Received {
                                service: service.clone(),
                                name: span.name,
                                kind: span.kind,
                                trace_id: hex(&span.trace_id),
                                span_id: hex(&span.span_id),
                                parent: hex(&span.parent_span_id),
                                attributes: span
                                    .attributes
                                    .iter()
                                    .map(|kv| (kv.key.clone(), value_text(kv.value.as_ref())))
                                    .collect(),
                                // STATUS_CODE_ERROR
                                error: span.status.is_some_and(|s| s.code == 2),
                            });
                        }
                    }
                    // An empty ExportTraceServiceResponse.
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, spans }
    }

    /// Waits until `count` spans of trace `trace_id` arrived.
    async fn trace(&self, trace_id: &str, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let spans: Vec<Received> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .cloned()
                .collect();
            if spans.len() >= count {
                return spans;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{count} spans of trace {trace_id} did not arrive; got {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn value_text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// The one span named `name`.
fn span<'a>(spans: &'a [Received], name: &str) -> &'a Received {
    let named: Vec<&Received> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(named.len(), 1, "one span `{name}` in {spans:#?}");
    named[0]
}

/// Plugins `outer` and `inner` (testkit) and upstream `fx`, granted so that
/// `outer_call` -> `inner_call` -> `fx_trace_context` is allowed, with
/// spans exported to `receiver` at once.
async fn traced_host(receiver: &Receiver) -> (Host, ConfigFile) {
    let config = ConfigBuilder::new()
        .plugin(
            "outer",
            Fixture::Testkit.path(),
            "grants.tools = [\"inner_call\", \"outer_spin\"]",
        )
        .plugin(
            "inner",
            Fixture::Testkit.path(),
            "grants.tools = [\"fx_trace_context\", \"missing_tool\"]",
        )
        .upstream(
            "fx",
            &format!("command = {}", toml_array(&fixture_stdio_command("fx"))),
        )
        .raw(&format!(
            "[traces]\notlp_endpoint = \"{}\"\nservice_name = \"sb-e2e\"\n",
            receiver.url
        ))
        .write();
    // The batch exporter waits 5 s by default; the standard variable makes
    // it send as soon as spans end.
    let host = Host::http_with_env(&config, &[], &[("OTEL_BSP_SCHEDULE_DELAY", "50")]).await;
    (host, config)
}

/// A chained call in the trace the client names: one tree, with each
/// nested call the child of the call that made it, the upstream request a
/// client span, and the upstream handed that span's context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chained_call_is_one_trace_under_the_clients_context() {
    let receiver = Receiver::start().await;
    let (host, config) = traced_host(&receiver).await;
    let client = connect_http(host.url(), Era::Modern).await;
    let check = run_cli(&config, &["check"]);
    check.assert_success();
    assert!(
        check.stdout.contains(&format!(
            "TRACES: spans of every request to {}/v1/traces (service `sb-e2e`, 100% of new traces sampled)",
            receiver.url
        )),
        "{}",
        check.stdout
    );

    let mut meta = RequestMetaObject::default();
    meta.set_traceparent(format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"));
    meta.set_tracestate("e2e=1");
    let call = client
        .call_with_meta(
            "outer_call",
            json!({"name": "inner_call", "arguments": {"name": "fx_trace_context"}}),
            Some(meta),
        )
        .await;
    let result = call.ok();
    assert_ne!(result.is_error, Some(true), "{}", text(result));
    let seen: Value = serde_json::from_str(&text(result)).expect("the fixture's JSON");

    let spans = receiver.trace(TRACE_ID, 4).await;
    let outer = span(&spans, "tools/call outer_call");
    let inner = span(&spans, "tools/call inner_call");
    let to_fx = span(&spans, "tools/call fx_trace_context");
    let upstream = span(&spans, "tools/call trace_context");

    assert_eq!(
        outer.parent, CLIENT_SPAN,
        "the client's span is the root's parent"
    );
    assert_eq!(outer.kind, SpanKind::Server as i32);
    assert_eq!(outer.service, "sb-e2e");
    assert_eq!(outer.attribute("mcp.method.name"), Some("tools/call"));
    assert_eq!(outer.attribute("gen_ai.tool.name"), Some("outer_call"));
    assert_eq!(outer.attribute("switchboard.provider"), Some("outer"));
    assert_eq!(outer.attribute("switchboard.outcome"), Some("ok"));

    assert_eq!(inner.parent, outer.span_id, "outer's nested call");
    assert_eq!(inner.kind, SpanKind::Internal as i32);
    assert_eq!(inner.attribute("switchboard.caller"), Some("plugin:outer"));
    assert_eq!(inner.attribute("switchboard.provider"), Some("inner"));

    assert_eq!(to_fx.parent, inner.span_id, "inner's nested call");
    assert_eq!(to_fx.attribute("switchboard.caller"), Some("plugin:inner"));
    assert_eq!(to_fx.attribute("switchboard.provider"), Some("fx"));

    assert_eq!(upstream.parent, to_fx.span_id, "the request sent to fx");
    assert_eq!(upstream.kind, SpanKind::Client as i32);
    assert_eq!(upstream.attribute("switchboard.upstream"), Some("fx"));
    assert!(spans.iter().all(|s| !s.error), "nothing failed: {spans:#?}");

    // The upstream continues the trace from the span that called it.
    assert_eq!(
        seen["traceparent"],
        format!("00-{TRACE_ID}-{}-01", upstream.span_id),
        "{seen}"
    );
    assert_eq!(seen["tracestate"], "e2e=1", "{seen}");

    // A failing nested call marks its span, and only its span, failed.
    let failing = client
        .call_with_meta(
            "outer_call",
            json!({"name": "inner_call", "arguments": {"name": "missing_tool"}}),
            Some({
                let mut meta = RequestMetaObject::default();
                meta.set_traceparent(format!("00-{}-{CLIENT_SPAN}-01", "1".repeat(32)));
                meta
            }),
        )
        .await;
    assert_eq!(failing.ok().is_error, Some(true), "{}", text(failing.ok()));
    let spans = receiver.trace(&"1".repeat(32), 3).await;
    let missing = span(&spans, "tools/call missing_tool");
    assert!(missing.error, "{missing:?}");
    assert_eq!(missing.attribute("switchboard.outcome"), Some("not-found"));
    assert_eq!(missing.attribute("error.type"), Some("not-found"));
    assert_eq!(
        missing.parent,
        span(&spans, "tools/call inner_call").span_id
    );
}

/// Without `_meta` trace context, the HTTP `traceparent` header names the
/// parent; with neither, a request starts a trace of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_traceparent_header_is_the_parent_when_meta_has_none() {
    const ECHO: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"outer_echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let receiver = Receiver::start().await;
    let (host, _config) = traced_host(&receiver).await;
    let http = reqwest::Client::new();
    let send = |traceparent: Option<String>| {
        let mut request = crate::http::post(&http, &host, ECHO)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "outer_echo");
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        request.send()
    };
    let header_trace = "2".repeat(32);
    let answered = send(Some(format!("00-{header_trace}-{CLIENT_SPAN}-01")))
        .await
        .expect("POST");
    assert!(answered.status().is_success(), "{answered:?}");
    assert!(answered.text().await.unwrap().contains("hi"));
    let spans = receiver.trace(&header_trace, 1).await;
    assert_eq!(span(&spans, "tools/call outer_echo").parent, CLIENT_SPAN);

    let before = receiver.spans.lock().unwrap().len();
    let answered = send(None).await.expect("POST");
    assert!(answered.status().is_success(), "{answered:?}");
    let started = Instant::now();
    let own = loop {
        let spans = receiver.spans.lock().unwrap().clone();
        if let Some(own) = spans[before..]
            .iter()
            .find(|s| s.name == "tools/call outer_echo")
        {
            break own.clone();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no span for the untraced call"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(own.parent, "", "a root span: {own:?}");
    assert_ne!(own.trace_id, header_trace);
}
