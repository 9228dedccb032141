//! Outbound HTTP from plugins (`wasi:http`), allowed only to the scheme +
//! host + port the admin granted. This hook is the only HTTP egress: raw
//! sockets and DNS stay denied in the WASI context.
//!
//! A hostname grant does not open private networks: if it resolves to a
//! loopback, private, link-local or otherwise internal address the request
//! is refused, unless the grant names that address (or `localhost`) itself.

use std::net::IpAddr;
use std::sync::Arc;

use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, default_hooks,
};

use crate::config::HttpGrant;

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

pub struct HttpGate {
    plugin: Arc<str>,
    grants: Arc<[HttpGrant]>,
}

impl HttpGate {
    pub fn new(plugin: Arc<str>, grants: Arc<[HttpGrant]>) -> Self {
        Self { plugin, grants }
    }
}

/// Whether a request needs its resolved addresses checked.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The grant names this exact address or `localhost`: allowed as is.
    Explicit,
    /// Allowed by a hostname grant, if it resolves to public addresses only.
    IfPublic { host: String, port: u16 },
}

fn decide(grants: &[HttpGrant], uri: &http::Uri) -> Result<Verdict, String> {
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri
        .host()
        .ok_or_else(|| "the request has no host".to_owned())?
        .to_ascii_lowercase();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "http" { 80 } else { 443 });
    let grant = grants
        .iter()
        .find(|g| g.scheme == scheme && g.port == port && host_matches(&g.host, &host))
        .ok_or_else(|| format!("no grants.http entry allows {scheme}://{host}:{port}"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if grant.host == host && (bare.parse::<IpAddr>().is_ok() || host == "localhost") {
        return Ok(Verdict::Explicit);
    }
    if let Ok(ip) = bare.parse::<IpAddr>() {
        // An IP literal reached through a wildcard: check it right here.
        return if is_internal(ip) {
            Err(format!(
                "{ip} is an internal address; grant it by name to allow it"
            ))
        } else {
            Ok(Verdict::Explicit)
        };
    }
    Ok(Verdict::IfPublic {
        host: bare.to_owned(),
        port,
    })
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
        None => pattern == host,
    }
}

/// Addresses a plugin must not reach through a hostname grant.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link-local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let verdict = decide(&self.grants, request.uri());
        let plugin = self.plugin.clone();
        let url = request.uri().to_string();
        Box::new(async move {
            let refuse = |reason: String| {
                tracing::warn!(target: "switchboard::audit", plugin = %plugin, %url, "outbound HTTP denied: {reason}");
                HttpError::HttpRequestDenied
            };
            match verdict {
                Err(reason) => return Err(refuse(reason)),
                Ok(Verdict::Explicit) => {}
                Ok(Verdict::IfPublic { host, port }) => {
                    let addresses = tokio::net::lookup_host((host.as_str(), port))
                        .await
                        .map_err(|_| HttpError::DnsError {
                            rcode: None,
                            info_code: None,
                        })?;
                    if let Some(internal) = addresses.map(|a| a.ip()).find(|ip| is_internal(*ip)) {
                        return Err(refuse(format!(
                            "{host} resolves to the internal address {internal}; grant it by address to allow it"
                        )));
                    }
                }
            }
            tracing::info!(target: "switchboard::audit", plugin = %plugin, %url, "outbound HTTP");
            Box::into_pin(default_hooks().send_request(request, options, fut)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &[&str]) -> Vec<HttpGrant> {
        list.iter()
            .map(|g| HttpGrant::parse(g).expect("grant"))
            .collect()
    }

    fn verdict(grants: &[HttpGrant], url: &str) -> Result<Verdict, String> {
        decide(grants, &url.parse().expect("uri"))
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        let g = grants(&["https://api.example.com"]);
        assert!(verdict(&g, "https://api.example.com/v1").is_ok());
        assert!(verdict(&g, "http://api.example.com/").is_err());
        assert!(verdict(&g, "https://api.example.com:8443/").is_err());
        assert!(verdict(&g, "https://evil.com/").is_err());
        assert!(verdict(&g, "https://api.example.com.evil.com/").is_err());
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let g = grants(&["https://*.example.com"]);
        assert!(verdict(&g, "https://a.example.com/").is_ok());
        assert!(verdict(&g, "https://a.b.example.com/").is_ok());
        assert!(verdict(&g, "https://example.com/").is_err());
        assert!(verdict(&g, "https://badexample.com/").is_err());
    }

    #[test]
    fn internal_addresses_need_an_explicit_grant() {
        assert!(verdict(&[], "http://127.0.0.1/").is_err());
        let g = grants(&["http://127.0.0.1:8080", "http://localhost:9000"]);
        assert_eq!(
            verdict(&g, "http://127.0.0.1:8080/x"),
            Ok(Verdict::Explicit)
        );
        assert_eq!(verdict(&g, "http://localhost:9000/"), Ok(Verdict::Explicit));
        assert!(verdict(&g, "http://127.0.0.1:8081/").is_err());
        for ip in [
            "10.0.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        assert!(!is_internal("93.184.216.34".parse().expect("ip")));
    }
}
