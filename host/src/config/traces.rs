//! `[traces]`: OpenTelemetry spans of every request, exported over OTLP/HTTP
//! (protobuf) to a collector. Off unless the table is present.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::upstream::{At, Secret, expand_all};

const DEFAULT_SERVICE_NAME: &str = "switchboard";
const DEFAULT_EXPORT_TIMEOUT_MS: u64 = 10_000;
/// Where OTLP/HTTP receivers take spans, below their base URL.
const TRACES_PATH: &str = "/v1/traces";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTraces {
    otlp_endpoint: Spanned<String>,
    service_name: Option<Spanned<String>>,
    sample_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TracesConfig {
    /// The receiver's traces URL (`…/v1/traces`).
    pub otlp_endpoint: String,
    /// `service.name` of every span.
    pub service_name: String,
    /// Share of new traces recorded (0.0 to 1.0); a request that arrives
    /// in a trace follows its caller's sampling decision.
    pub sample_ratio: f64,
    /// Sent with every export (a collector's token, say).
    pub headers: Vec<(String, Secret)>,
    /// How long one export may take.
    pub timeout: Duration,
}

pub(super) fn resolve_traces(raw: RawTraces, at: &At<'_>) -> Result<TracesConfig, ConfigError> {
    let endpoint = raw.otlp_endpoint.get_ref().trim_end_matches('/');
    let parsed = reqwest::Url::parse(endpoint).map_err(|e| {
        at(
            raw.otlp_endpoint.span(),
            "traces.otlp_endpoint",
            format!("`{endpoint}` is not a URL ({e})"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(at(
            raw.otlp_endpoint.span(),
            "traces.otlp_endpoint",
            format!("`{endpoint}` must be an http or https URL of an OTLP/HTTP receiver"),
        ));
    }
    // Admins give the receiver's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT
    // does); the full traces URL is accepted too.
    let otlp_endpoint = if endpoint.ends_with(TRACES_PATH) {
        endpoint.to_owned()
    } else {
        format!("{endpoint}{TRACES_PATH}")
    };
    let service_name = match raw.service_name {
        None => DEFAULT_SERVICE_NAME.to_owned(),
        Some(name) if name.get_ref().trim().is_empty() => {
            return Err(at(
                name.span(),
                "traces.service_name",
                "must not be empty".into(),
            ));
        }
        Some(name) => name.into_inner(),
    };
    let sample_ratio = match raw.sample_ratio {
        None => 1.0,
        Some(ratio) if !(0.0..=1.0).contains(ratio.get_ref()) => {
            return Err(at(
                ratio.span(),
                "traces.sample_ratio",
                format!("{} is not between 0.0 and 1.0", ratio.get_ref()),
            ));
        }
        Some(ratio) => *ratio.get_ref(),
    };
    let timeout_ms = match raw.timeout_ms {
        None => DEFAULT_EXPORT_TIMEOUT_MS,
        Some(ms) if *ms.get_ref() == 0 => {
            return Err(at(
                ms.span(),
                "traces.timeout_ms",
                "must be greater than 0".into(),
            ));
        }
        Some(ms) => *ms.get_ref(),
    };
    Ok(TracesConfig {
        otlp_endpoint,
        service_name,
        sample_ratio,
        headers: expand_all(&raw.headers, "traces.headers", at)?,
        timeout: Duration::from_millis(timeout_ms),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/switchboard.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn off_without_the_table() {
        assert_eq!(parse("").unwrap().traces, None);
    }

    #[test]
    fn a_base_url_gets_the_traces_path_and_defaults() {
        let traces = parse("[traces]\notlp_endpoint = \"http://collector:4318/\"\n")
            .unwrap()
            .traces
            .unwrap();
        assert_eq!(traces.otlp_endpoint, "http://collector:4318/v1/traces");
        assert_eq!(traces.service_name, "switchboard");
        assert_eq!(traces.sample_ratio, 1.0);
        assert_eq!(traces.timeout.as_millis(), 10_000);
        assert!(traces.headers.is_empty());
    }

    #[test]
    fn the_full_traces_url_is_kept() {
        let traces = parse(
            "[traces]\notlp_endpoint = \"https://otel.example.com/v1/traces\"\nservice_name = \"gw-1\"\nsample_ratio = 0.25\n",
        )
        .unwrap()
        .traces
        .unwrap();
        assert_eq!(traces.otlp_endpoint, "https://otel.example.com/v1/traces");
        assert_eq!(traces.service_name, "gw-1");
        assert_eq!(traces.sample_ratio, 0.25);
    }

    #[test]
    fn bad_values_name_their_key_and_line() {
        let ratio =
            parse("[traces]\notlp_endpoint = \"http://c:4318\"\nsample_ratio = 1.5\n").unwrap_err();
        assert!(ratio.contains(":3: `traces.sample_ratio`"), "{ratio}");
        assert!(ratio.contains("not between 0.0 and 1.0"), "{ratio}");
        let scheme = parse("[traces]\notlp_endpoint = \"grpc://c:4317\"\n").unwrap_err();
        assert!(scheme.contains("`traces.otlp_endpoint`"), "{scheme}");
        assert!(scheme.contains("OTLP/HTTP"), "{scheme}");
        let header = parse(
            "[traces]\notlp_endpoint = \"http://c:4318\"\nheaders = { authorization = \"${SWITCHBOARD_TEST_UNSET_VAR}\" }\n",
        )
        .unwrap_err();
        assert!(
            header.contains("`traces.headers.authorization`"),
            "{header}"
        );
        let missing = parse("[traces]\nservice_name = \"x\"\n").unwrap_err();
        assert!(
            missing.contains("missing field `otlp_endpoint`"),
            "{missing}"
        );
    }
}
