//! Prometheus metrics: the process's one registry and every metric in it,
//! served as text at `/metrics` ([`handler`]). Other modules call the small
//! typed functions here and never touch the metrics crate, so every name,
//! label and label value is decided in this file.
//!
//! Label values stay a bounded set: provider, plugin and upstream names come
//! from the config, tool and prompt names from the registry (a name it does
//! not know is [`UNKNOWN`], so a client cannot mint series by asking for
//! made-up names), `caller` is `client`, `client:NAME` (a configured client)
//! or `plugin:NAME`, and everything
//! else is a fixed set of words.
//!
//! One process is one host, so the registry is process-global. Recording
//! only adds to atomics, so tests that run in parallel in one process do
//! not break each other; the unit tests below use registries of their own
//! to assert exact values.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::changes::ListChanged;
use crate::dispatch::Caller;
use crate::provider::FailureKind;

/// The label value standing for a name the registry does not know (and for
/// resource URIs, which clients choose freely): as the audit line's
/// `callee="-"`.
pub const UNKNOWN: &str = "-";

/// The MCP method of a tool call (the one `switchboard_tool_calls_total`
/// counts).
const TOOLS_CALL: &str = "tools/call";

/// Upper bounds (seconds) of the request duration buckets: from a
/// 100 µs lookup failure to a 30 s upstream call.
const DURATION_BUCKETS: [f64; 17] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// How a request ended: the audit line's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The tool answered with `isError`.
    ToolError,
    /// No result, and why.
    NoResult(FailureKind),
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ToolError => "tool-error",
            Outcome::NoResult(kind) => kind.as_str(),
        }
    }
}

/// Where a plugin instance was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instantiation {
    /// Ahead of any call, by the background task that keeps spares ready.
    Spare,
    /// On a call's own path, because no spare was ready.
    OnCall,
}

impl Instantiation {
    fn as_str(self) -> &'static str {
        match self {
            Instantiation::Spare => "spare",
            Instantiation::OnCall => "on_call",
        }
    }
}

/// Why the HTTP endpoint refused a request before any MCP handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    Malformed,
    /// A bearer token of no configured client, or a JWT that is not valid.
    InvalidToken,
    /// A valid JWT without a scope this server requires.
    InsufficientScope,
    /// A valid JWT whose claims match no client's `jwt_claims`.
    Unmapped,
}

impl AuthFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::InsufficientScope => "insufficient_scope",
            AuthFailure::Unmapped => "unmapped",
        }
    }
}

/// An upstream replica's state, as `switchboard check` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    Starting,
    Ready,
    Down,
    CrashLoop,
}

impl ReplicaState {
    const ALL: [ReplicaState; 4] = [
        ReplicaState::Starting,
        ReplicaState::Ready,
        ReplicaState::Down,
        ReplicaState::CrashLoop,
    ];

    fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Starting => "starting",
            ReplicaState::Ready => "ready",
            ReplicaState::Down => "down",
            ReplicaState::CrashLoop => "crash-loop",
        }
    }
}

fn list_kind(kind: ListChanged) -> &'static str {
    match kind {
        ListChanged::Tools => "tools",
        ListChanged::Resources => "resources",
        ListChanged::Prompts => "prompts",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    request: &'static str,
    provider: String,
    name: String,
    caller: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolCallLabels {
    provider: String,
    tool: String,
    caller: String,
    outcome: &'static str,
}

/// For the duration histogram and the in-flight gauge: few series, so a
/// histogram per name is not needed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestKindLabels {
    request: &'static str,
    provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstantiationLabels {
    plugin: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    upstream: String,
    replica: usize,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaStateLabels {
    upstream: String,
    replica: usize,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthFailureLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListChangeLabels {
    provider: String,
    kind: &'static str,
}

type DurationFamily = Family<RequestKindLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// A registry and its metrics. The process has one ([`global`]); unit
/// tests make their own.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tool_calls: Family<ToolCallLabels, Counter>,
    durations: DurationFamily,
    in_flight: Family<RequestKindLabels, Gauge>,
    instantiations: Family<InstantiationLabels, Counter>,
    spares: Family<PluginLabels, Gauge>,
    replica_state: Family<ReplicaStateLabels, Gauge>,
    restarts: Family<ReplicaLabels, Counter>,
    breaker_open: Family<ReplicaLabels, Gauge>,
    list_changes: Family<ListChangeLabels, Counter>,
    auth_failures: Family<AuthFailureLabels, Counter>,
}

impl Metrics {
    fn new() -> Self {
        let metrics = Self {
            registry: Registry::default(),
            requests: Family::default(),
            tool_calls: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            in_flight: Family::default(),
            instantiations: Family::default(),
            spares: Family::default(),
            replica_state: Family::default(),
            restarts: Family::default(),
            breaker_open: Family::default(),
            list_changes: Family::default(),
            auth_failures: Family::default(),
        };
        let mut registry = Registry::default();
        // Counters are registered without `_total` and the histogram
        // without `_seconds`: the encoder adds the suffix (and `# UNIT`).
        // A family's clone shares its series.
        registry.register(
            "switchboard_requests",
            "Requests for something a provider serves (tools/call, resources/read, prompts/get, completion/complete), by outcome",
            metrics.requests.clone(),
        );
        registry.register(
            "switchboard_tool_calls",
            "Tool calls, by provider, tool, caller and outcome",
            metrics.tool_calls.clone(),
        );
        registry.register_with_unit(
            "switchboard_request_duration",
            "Time a request spent in the host, nested calls included",
            Unit::Seconds,
            metrics.durations.clone(),
        );
        registry.register(
            "switchboard_requests_in_flight",
            "Requests running on a provider now",
            metrics.in_flight.clone(),
        );
        registry.register(
            "switchboard_plugin_instantiations",
            "Plugin instances made: ahead of calls (spare) or on a call's path (on_call)",
            metrics.instantiations.clone(),
        );
        registry.register(
            "switchboard_plugin_spare_instances",
            "Plugin instances made ahead and ready for a call",
            metrics.spares.clone(),
        );
        registry.register(
            "switchboard_upstream_replica_state",
            "1 for the state an upstream replica is in, 0 for the others",
            metrics.replica_state.clone(),
        );
        registry.register(
            "switchboard_upstream_restarts",
            "Sessions an upstream replica started after its first",
            metrics.restarts.clone(),
        );
        registry.register(
            "switchboard_upstream_breaker_open",
            "1 while an upstream replica's circuit breaker is open or probing, 0 when closed",
            metrics.breaker_open.clone(),
        );
        registry.register(
            "switchboard_list_changes",
            "List changes applied to the registry and announced to clients",
            metrics.list_changes.clone(),
        );
        registry.register(
            "switchboard_auth_failures",
            "HTTP requests refused by client authentication, by reason",
            metrics.auth_failures.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    fn request_finished(
        &self,
        request: &'static str,
        provider: &str,
        name: &str,
        caller: &Caller,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let caller = caller.to_string();
        let outcome = outcome.as_str();
        if request == TOOLS_CALL {
            self.tool_calls
                .get_or_create(&ToolCallLabels {
                    provider: provider.to_owned(),
                    tool: name.to_owned(),
                    caller: caller.clone(),
                    outcome,
                })
                .inc();
        }
        self.requests
            .get_or_create(&RequestLabels {
                request,
                provider: provider.to_owned(),
                name: name.to_owned(),
                caller,
                outcome,
            })
            .inc();
        self.durations
            .get_or_create(&RequestKindLabels {
                request,
                provider: provider.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn request_started(&self, request: &'static str, provider: &str) -> Gauge {
        let gauge = self.in_flight.get_or_create_owned(&RequestKindLabels {
            request,
            provider: provider.to_owned(),
        });
        gauge.inc();
        gauge
    }

    fn instantiated(&self, plugin: &str, kind: Instantiation) {
        self.instantiations
            .get_or_create(&InstantiationLabels {
                plugin: plugin.to_owned(),
                kind: kind.as_str(),
            })
            .inc();
    }

    fn spare_gauge(&self, plugin: &str) -> SpareGauge {
        SpareGauge(self.spares.get_or_create_owned(&PluginLabels {
            plugin: plugin.to_owned(),
        }))
    }

    fn replica(&self, upstream: &str, replica: usize) -> ReplicaMetrics {
        let labels = ReplicaLabels {
            upstream: upstream.to_owned(),
            replica,
        };
        let states = ReplicaState::ALL.map(|state| {
            self.replica_state.get_or_create_owned(&ReplicaStateLabels {
                upstream: upstream.to_owned(),
                replica,
                state: state.as_str(),
            })
        });
        let replica = ReplicaMetrics {
            states,
            restarts: self.restarts.get_or_create_owned(&labels),
            breaker_open: self.breaker_open.get_or_create_owned(&labels),
        };
        replica.state(ReplicaState::Starting);
        replica
    }

    fn list_changed(&self, provider: &str, kind: ListChanged) {
        self.list_changes
            .get_or_create(&ListChangeLabels {
                provider: provider.to_owned(),
                kind: list_kind(kind),
            })
            .inc();
    }

    fn auth_failed(&self, failure: AuthFailure) {
        self.auth_failures
            .get_or_create(&AuthFailureLabels {
                reason: failure.as_str(),
            })
            .inc();
    }

    fn encode(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        match format {
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut text, &self.registry)?
            }
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?
            }
        }
        Ok(text)
    }
}

/// `server.metrics = false` turns recording off (for the bench's baseline,
/// or an admin who scrapes nothing); on by default.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Stops recording for the rest of the process.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Counts one request for something a provider serves, when it ends
/// (whatever the outcome, cancellation included). `request` is the MCP
/// method; `provider` the callee (`-` if none); `name` the tool or prompt
/// as clients name it, or [`UNKNOWN`] for a name the registry does not know
/// and for resource URIs: the caller decides, since only it knows.
pub fn request_finished(
    request: &'static str,
    provider: &str,
    name: &str,
    caller: &Caller,
    outcome: Outcome,
    elapsed: Duration,
) {
    if enabled() {
        global().request_finished(request, provider, name, caller, outcome, elapsed);
    }
}

/// Counts a request as running on `provider` until the guard is dropped
/// (however the request ends: a result, an error, or its future dropped).
pub fn request_started(request: &'static str, provider: &str) -> InFlight {
    InFlight(enabled().then(|| global().request_started(request, provider)))
}

/// A request counted in `switchboard_requests_in_flight` (unless metrics
/// are off).
#[must_use = "the request counts as in flight only while the guard lives"]
pub struct InFlight(Option<Gauge>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(gauge) = &self.0 {
            gauge.dec();
        }
    }
}

/// Counts one instance of `plugin` made.
pub fn instantiated(plugin: &str, kind: Instantiation) {
    if enabled() {
        global().instantiated(plugin, kind);
    }
}

/// The gauge of `plugin`'s ready spares.
pub fn spare_gauge(plugin: &str) -> SpareGauge {
    global().spare_gauge(plugin)
}

/// How many spares of one plugin are ready.
#[derive(Clone, Debug)]
pub struct SpareGauge(Gauge);

impl SpareGauge {
    pub fn set(&self, ready: usize) {
        self.0.set(i64::try_from(ready).unwrap_or(i64::MAX));
    }
}

/// The metrics of replica `replica` (its index) of `upstream`, starting.
pub fn replica(upstream: &str, replica: usize) -> ReplicaMetrics {
    global().replica(upstream, replica)
}

/// One upstream replica's state, restarts and breaker, held by the replica
/// so that updating them needs no label lookup.
#[derive(Debug)]
pub struct ReplicaMetrics {
    /// One per [`ReplicaState::ALL`], in that order.
    states: [Gauge; 4],
    restarts: Counter,
    breaker_open: Gauge,
}

impl ReplicaMetrics {
    pub fn state(&self, now: ReplicaState) {
        for (state, gauge) in ReplicaState::ALL.iter().zip(&self.states) {
            gauge.set(i64::from(*state == now));
        }
    }

    pub fn restarted(&self) {
        self.restarts.inc();
    }

    pub fn breaker_open(&self, open: bool) {
        self.breaker_open.set(i64::from(open));
    }
}

/// Counts a list change of `provider` applied to the registry.
pub fn list_changed(provider: &str, kind: ListChanged) {
    global().list_changed(provider, kind);
}

/// Counts one HTTP request refused by client authentication.
pub fn auth_failed(failure: AuthFailure) {
    global().auth_failed(failure);
}

/// The text formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0, for scrapers that ask for it (Prometheus does).
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4: what anything else gets.
    Prometheus,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        }
    }
}

/// Every metric of the process, as text in `format`.
pub fn encode(format: Format) -> Result<String, std::fmt::Error> {
    global().encode(format)
}

/// `GET /metrics`: the exposition in the format the scraper asks for.
pub async fn handler(headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::from_accept(accept);
    match encode(format) {
        Ok(text) => ([(header::CONTENT_TYPE, format.content_type())], text).into_response(),
        // Writing to a String cannot fail; an encoder bug still must not
        // take the endpoint down.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn render(metrics: &Metrics) -> String {
        metrics.encode(Format::Prometheus).expect("encodes")
    }

    /// The value of the sample line that starts with `series` (name and
    /// labels, exactly as rendered).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(series)?.strip_prefix(' ')?;
            value.parse().ok()
        })
    }

    #[test]
    fn requests_are_counted_by_outcome_with_durations() {
        let metrics = Metrics::new();
        let client = Caller::LOCAL_CLIENT;
        let plugin = Caller::Plugin("pipeline".into());
        let ms = Duration::from_millis(1);
        metrics.request_finished("tools/call", "text", "text_count", &client, Outcome::Ok, ms);
        metrics.request_finished("tools/call", "text", "text_count", &client, Outcome::Ok, ms);
        metrics.request_finished(
            "tools/call",
            "text",
            "text_count",
            &plugin,
            Outcome::NoResult(FailureKind::Denied),
            ms,
        );
        metrics.request_finished(
            "prompts/get",
            "docs",
            "docs_intro",
            &client,
            Outcome::ToolError,
            Duration::from_secs(40),
        );
        let text = render(&metrics);
        assert_eq!(
            sample(
                &text,
                r#"switchboard_tool_calls_total{provider="text",tool="text_count",caller="client",outcome="ok"}"#
            ),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"switchboard_tool_calls_total{provider="text",tool="text_count",caller="plugin:pipeline",outcome="denied"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"switchboard_requests_total{request="tools/call",provider="text",name="text_count",caller="client",outcome="ok"}"#
            ),
            Some(2.0),
            "{text}"
        );
        // Only tools/call counts as a tool call.
        assert!(!text.contains(r#"tool="docs_intro""#), "{text}");
        assert_eq!(
            sample(
                &text,
                r#"switchboard_request_duration_seconds_count{request="tools/call",provider="text"}"#
            ),
            Some(3.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"switchboard_request_duration_seconds_bucket{request="tools/call",provider="text",le="0.001"}"#
            ),
            Some(3.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"switchboard_request_duration_seconds_bucket{request="tools/call",provider="text",le="0.0005"}"#
            ),
            Some(0.0),
            "{text}"
        );
        // Past the last bucket: only +Inf has it.
        assert_eq!(
            sample(
                &text,
                r#"switchboard_request_duration_seconds_bucket{request="prompts/get",provider="docs",le="30"}"#
            ),
            Some(0.0),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"switchboard_request_duration_seconds_bucket{request="prompts/get",provider="docs",le="+Inf"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert!(text.contains("# TYPE switchboard_request_duration_seconds histogram"));
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        let odd = Caller::Plugin("a\"b\\c\nd".into());
        metrics.request_finished("tools/call", "p", "t", &odd, Outcome::Ok, Duration::ZERO);
        let text = render(&metrics);
        assert!(
            text.contains(r#"caller="plugin:a\"b\\c\nd""#),
            "not escaped:\n{text}"
        );
        // Every sample stays on one line.
        for line in text.lines().filter(|l| l.contains("plugin:a")) {
            assert!(line.ends_with(" 1"), "{line:?}");
        }
    }

    #[test]
    fn in_flight_returns_to_zero_when_the_guard_drops() {
        let metrics = Metrics::new();
        let series = r#"switchboard_requests_in_flight{request="tools/call",provider="kit"}"#;
        let first = InFlight(Some(metrics.request_started("tools/call", "kit")));
        let second = InFlight(Some(metrics.request_started("tools/call", "kit")));
        assert_eq!(sample(&render(&metrics), series), Some(2.0));
        drop(first);
        assert_eq!(sample(&render(&metrics), series), Some(1.0));
        // A request future dropped mid-way drops its guard with it.
        let abandoned = async move {
            let _held = second;
            std::future::pending::<()>().await;
        };
        drop(abandoned);
        assert_eq!(sample(&render(&metrics), series), Some(0.0));
    }

    #[test]
    fn pool_upstream_and_list_metrics_render() {
        let metrics = Metrics::new();
        metrics.instantiated("kit", Instantiation::Spare);
        metrics.instantiated("kit", Instantiation::Spare);
        metrics.instantiated("kit", Instantiation::OnCall);
        metrics.spare_gauge("kit").set(1);
        let replica = metrics.replica("docs", 1);
        replica.state(ReplicaState::Ready);
        replica.restarted();
        replica.breaker_open(true);
        metrics.list_changed("docs", ListChanged::Tools);
        let text = render(&metrics);
        for (series, value) in [
            (
                r#"switchboard_plugin_instantiations_total{plugin="kit",kind="spare"}"#,
                2.0,
            ),
            (
                r#"switchboard_plugin_instantiations_total{plugin="kit",kind="on_call"}"#,
                1.0,
            ),
            (r#"switchboard_plugin_spare_instances{plugin="kit"}"#, 1.0),
            (
                r#"switchboard_upstream_replica_state{upstream="docs",replica="1",state="ready"}"#,
                1.0,
            ),
            (
                r#"switchboard_upstream_replica_state{upstream="docs",replica="1",state="starting"}"#,
                0.0,
            ),
            (
                r#"switchboard_upstream_replica_state{upstream="docs",replica="1",state="crash-loop"}"#,
                0.0,
            ),
            (
                r#"switchboard_upstream_restarts_total{upstream="docs",replica="1"}"#,
                1.0,
            ),
            (
                r#"switchboard_upstream_breaker_open{upstream="docs",replica="1"}"#,
                1.0,
            ),
            (
                r#"switchboard_list_changes_total{provider="docs",kind="tools"}"#,
                1.0,
            ),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
    }

    #[test]
    fn openmetrics_is_served_to_scrapers_that_ask() {
        let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        let metrics = Metrics::new();
        metrics.list_changed("docs", ListChanged::Prompts);
        let text = metrics.encode(Format::OpenMetrics).expect("encodes");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("# TYPE switchboard_list_changes counter"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_handler_serves_the_global_registry() {
        // Unique labels: other tests record into the global registry too.
        global().list_changed("handler-test", ListChanged::Resources);
        let response = handler(HeaderMap::new()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let text = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert_eq!(
            sample(
                &text,
                r#"switchboard_list_changes_total{provider="handler-test",kind="resources"}"#
            ),
            Some(1.0),
            "{text}"
        );
    }
}
