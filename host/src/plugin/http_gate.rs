//! Outbound HTTP from plugins (`wasi:http`), allowed only to the scheme +
//! host + port the admin granted. This hook is the only HTTP egress: raw
//! sockets and DNS stay denied in the WASI context.
//!
//! A hostname grant does not open private networks: if it resolves to a
//! loopback, private, link-local or otherwise internal address the request
//! is refused, unless the grant names that address (or `localhost`) itself.
//! The name is looked up once and the request goes to exactly the addresses
//! that were checked (see `send`), so a DNS answer that changes between the
//! check and the connection (rebinding) cannot reach an internal address.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};

use futures::future::BoxFuture;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::config::HttpGrant;

mod send;

use send::{Destination, IoFuture, Timeouts};

type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

/// The network as the gate sees it: one name lookup per request, and TCP
/// connections to the addresses that lookup returned and the gate vetted.
/// A seam so tests can play a rebinding DNS server.
pub trait Net: Send + Sync {
    fn lookup(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>;
    fn connect(&self, address: SocketAddr)
    -> BoxFuture<'static, io::Result<tokio::net::TcpStream>>;
}

/// The host's resolver and sockets.
struct SystemNet;

impl Net for SystemNet {
    fn lookup(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    }

    fn connect(
        &self,
        address: SocketAddr,
    ) -> BoxFuture<'static, io::Result<tokio::net::TcpStream>> {
        Box::pin(tokio::net::TcpStream::connect(address))
    }
}

// One shared instance: a gate is made for every store.
static SYSTEM_NET: LazyLock<Arc<dyn Net>> = LazyLock::new(|| Arc::new(SystemNet));

pub struct HttpGate {
    plugin: Arc<str>,
    grants: Arc<[HttpGrant]>,
    net: Arc<dyn Net>,
}

impl HttpGate {
    pub fn new(plugin: Arc<str>, grants: Arc<[HttpGrant]>) -> Self {
        Self::with_net(plugin, grants, SYSTEM_NET.clone())
    }

    fn with_net(plugin: Arc<str>, grants: Arc<[HttpGrant]>, net: Arc<dyn Net>) -> Self {
        Self {
            plugin,
            grants,
            net,
        }
    }
}

/// Whether a request needs its resolved addresses checked.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The grant names this exact address or `localhost`: allowed as is.
    Explicit,
    /// Allowed by a hostname grant, if it resolves to public addresses only.
    IfPublic,
}

/// A granted request's destination.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// Lowercase, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    tls: bool,
    verdict: Verdict,
}

fn decide(grants: &[HttpGrant], uri: &http::Uri) -> Result<Target, String> {
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
    let target = |verdict| Target {
        host: bare.to_owned(),
        port,
        tls: scheme == "https",
        verdict,
    };
    if grant.host == host && (bare.parse::<IpAddr>().is_ok() || host == "localhost") {
        return Ok(target(Verdict::Explicit));
    }
    if let Ok(ip) = bare.parse::<IpAddr>() {
        // An IP literal reached through a wildcard: check it right here.
        return if is_internal(ip) {
            Err(format!(
                "{ip} is an internal address; grant it by name to allow it"
            ))
        } else {
            Ok(target(Verdict::Explicit))
        };
    }
    Ok(target(Verdict::IfPublic))
}

/// Why a granted request could not get vetted addresses.
enum Unvetted {
    Refused(String),
    Failed(HttpError),
}

/// The addresses this request may connect to: the IP literal itself, or the
/// one lookup of its name, refused whole if a hostname grant's answer holds
/// an internal address. These are the only addresses `send` dials.
async fn vet(
    net: &dyn Net,
    target: &Target,
    timeouts: Timeouts,
) -> Result<Vec<SocketAddr>, Unvetted> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let dns_error = || {
        Unvetted::Failed(HttpError::DnsError {
            rcode: None,
            info_code: None,
        })
    };
    // The lookup is part of connecting, as it is in `default_send_request`.
    let addresses = tokio::time::timeout(timeouts.connect, net.lookup(&target.host, target.port))
        .await
        .map_err(|_| Unvetted::Failed(HttpError::DnsTimeout))?
        .map_err(|_| dns_error())?;
    if addresses.is_empty() {
        return Err(dns_error());
    }
    if target.verdict == Verdict::IfPublic
        && let Some(internal) = addresses.iter().map(|a| a.ip()).find(|ip| is_internal(*ip))
    {
        return Err(Unvetted::Refused(format!(
            "{} resolves to the internal address {internal}; grant it by address to allow it",
            target.host
        )));
    }
    Ok(addresses)
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
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0 // "this network", 0.0.0.0/8
                || a == 100 && (b & 0xc0) == 64 // carrier-grade NAT, 100.64.0.0/10
                || a == 198 && (b & 0xfe) == 18 // benchmarking, 198.18.0.0/15
                || a >= 240 // reserved, 240.0.0.0/4
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
                || embedded_ipv4(v6).is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// The IPv4 address an IPv6 one carries where translators route it to
/// that IPv4 host: NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        std::net::Ipv4Addr::new(a, b, c, d)
    };
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(from(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(from(s[1], s[2]))
    } else {
        None
    }
}

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        // Like the default hook, nothing to report on it: `send` returns the
        // connection's own future for the response side.
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let decision = decide(&self.grants, request.uri());
        let plugin = self.plugin.clone();
        let net = self.net.clone();
        let url = request.uri().to_string();
        Box::new(async move {
            let refuse = |reason: String| {
                tracing::warn!(target: "switchboard::audit", plugin = %plugin, %url, "outbound HTTP denied: {reason}");
                HttpError::HttpRequestDenied
            };
            let target = decision.map_err(refuse)?;
            let timeouts = Timeouts::new(options);
            let addresses = vet(&*net, &target, timeouts).await.map_err(|e| match e {
                Unvetted::Refused(reason) => refuse(reason),
                Unvetted::Failed(err) => err,
            })?;
            tracing::info!(target: "switchboard::audit", plugin = %plugin, %url, ?addresses, "outbound HTTP");
            let to = Destination {
                host: &target.host,
                tls: target.tls,
                addresses: &addresses,
            };
            send::send(&*net, request, to, timeouts).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;

    use super::*;

    fn grants(list: &[&str]) -> Vec<HttpGrant> {
        list.iter()
            .map(|g| HttpGrant::parse(g).expect("grant"))
            .collect()
    }

    fn verdict(grants: &[HttpGrant], url: &str) -> Result<Verdict, String> {
        decide(grants, &url.parse().expect("uri")).map(|t| t.verdict)
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
            "0.1.2.3",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "ff02::1",
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "2002:7f00:1::1",     // 6to4 of 127.0.0.1
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "198.20.0.1",
            "2606:4700::1111",
            "64:ff9b::5db8:d822", // NAT64 of 93.184.216.34
            "2002:5db8:d822::1",  // 6to4 of 93.184.216.34
        ] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn targets_carry_the_bare_host_and_tls() {
        let g = grants(&["https://[::1]:8443", "http://*.example.com"]);
        let target = decide(&g, &"https://[::1]:8443/".parse().expect("uri"));
        assert_eq!(
            target,
            Ok(Target {
                host: "::1".to_owned(),
                port: 8443,
                tls: true,
                verdict: Verdict::Explicit,
            })
        );
        let target = decide(&g, &"http://A.example.com/".parse().expect("uri"));
        assert_eq!(
            target,
            Ok(Target {
                host: "a.example.com".to_owned(),
                port: 80,
                tls: false,
                verdict: Verdict::IfPublic,
            })
        );
    }

    /// How the scripted network opens connections.
    #[derive(Clone, Copy)]
    enum Dial {
        /// To the address asked for.
        Real,
        /// To this local server instead, whatever was asked for, so a public
        /// answer can be served here while the attempt is still recorded.
        To(SocketAddr),
        /// Never completes.
        Hang,
    }

    /// A DNS server that may give a different answer on each lookup (the last
    /// one repeats), and a record of every address the gate dialed.
    struct Scripted {
        answers: Vec<Vec<IpAddr>>,
        lookups: AtomicUsize,
        dialed: Mutex<Vec<SocketAddr>>,
        dial: Dial,
    }

    impl Scripted {
        fn new(answers: &[&[&str]], dial: Dial) -> Arc<Self> {
            let answers = answers
                .iter()
                .map(|ips| ips.iter().map(|ip| ip.parse().expect("ip")).collect())
                .collect();
            Arc::new(Self {
                answers,
                lookups: AtomicUsize::new(0),
                dialed: Mutex::new(Vec::new()),
                dial,
            })
        }

        fn dialed(&self) -> Vec<SocketAddr> {
            self.dialed.lock().expect("lock").clone()
        }
    }

    impl Net for Scripted {
        fn lookup(
            &self,
            _host: &str,
            port: u16,
        ) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>> {
            let n = self.lookups.fetch_add(1, Ordering::SeqCst);
            let ips = self.answers[n.min(self.answers.len() - 1)].clone();
            Box::pin(async move {
                Ok(ips
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect())
            })
        }

        fn connect(
            &self,
            address: SocketAddr,
        ) -> BoxFuture<'static, io::Result<tokio::net::TcpStream>> {
            self.dialed.lock().expect("lock").push(address);
            let dial = self.dial;
            Box::pin(async move {
                match dial {
                    Dial::Real => tokio::net::TcpStream::connect(address).await,
                    Dial::To(local) => tokio::net::TcpStream::connect(local).await,
                    Dial::Hang => futures::future::pending().await,
                }
            })
        }
    }

    #[derive(Clone, Copy)]
    enum Reply {
        /// Close as soon as the client's first bytes are in.
        Close,
        /// Write this, then close.
        Send(&'static [u8]),
        /// Write this, then keep the connection open until the client leaves.
        SendAndHold(&'static [u8]),
    }

    /// A local TCP server recording what each connection sent first.
    struct Server {
        addr: SocketAddr,
        seen: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Server {
        fn start(ip: &str, port: u16, reply: Reply) -> Self {
            let listener = std::net::TcpListener::bind((ip, port)).expect("bind");
            let addr = listener.local_addr().expect("local addr");
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut first = Vec::new();
                    let mut buf = [0u8; 4096];
                    // An HTTP head ends in a blank line; a TLS client hello
                    // (first byte 0x16) comes in one read.
                    while !(first.first() == Some(&0x16)
                        || first.windows(4).any(|w| w == b"\r\n\r\n"))
                    {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => first.extend_from_slice(&buf[..n]),
                        }
                    }
                    log.lock().expect("lock").push(first);
                    match reply {
                        Reply::Close => {}
                        Reply::Send(bytes) => {
                            let _ = stream.write_all(bytes);
                        }
                        Reply::SendAndHold(bytes) => {
                            let _ = stream.write_all(bytes);
                            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                        }
                    }
                }
            });
            Self { addr, seen }
        }

        fn seen(&self) -> Vec<String> {
            let seen = self.seen.lock().expect("lock");
            seen.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect()
        }
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

    fn gate_for(grant: &str, net: Arc<Scripted>) -> HttpGate {
        HttpGate::with_net("t".into(), grants(&[grant]).into(), net)
    }

    /// Sends a GET through the gate as wasmtime-wasi-http would (with the
    /// Host header set) and reads the whole body; `Err` if the send failed.
    async fn get(
        gate: &mut HttpGate,
        url: &str,
        options: Option<RequestOptions>,
    ) -> Result<(u16, Result<Bytes, HttpError>), HttpError> {
        let uri: http::Uri = url.parse().expect("uri");
        let authority = uri.authority().expect("authority").to_string();
        let request = http::Request::get(uri)
            .header(http::header::HOST, authority)
            .body(
                Empty::<Bytes>::new()
                    .map_err(HttpError::from)
                    .boxed_unsync(),
            )
            .expect("request");
        let exchange = async {
            let send = gate.send_request(request, options, Box::new(async { Ok(()) }));
            let (response, io) = Box::into_pin(send).await?;
            tokio::spawn(Box::into_pin(io));
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map(|c| c.to_bytes());
            Ok((status, body))
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .expect("the exchange ended in time")
    }

    /// The rebinding attack: the name answers a public address when the gate
    /// checks it and loopback afterwards. The request must go to the checked
    /// address, found by the gate's only lookup.
    #[tokio::test]
    async fn a_rebound_name_is_only_dialed_at_the_vetted_address() {
        let server = Server::start("127.0.0.1", 0, Reply::Send(OK));
        let net = Scripted::new(&[&["93.184.216.34"], &["127.0.0.1"]], Dial::To(server.addr));
        let mut gate = gate_for("http://rebind.test", net.clone());

        let (status, body) = get(&mut gate, "http://rebind.test/x?y=1", None)
            .await
            .expect("sent");
        assert_eq!(status, 200);
        assert_eq!(body.expect("body"), "ok");
        assert_eq!(
            net.lookups.load(Ordering::SeqCst),
            1,
            "one lookup per request"
        );
        assert_eq!(
            net.dialed(),
            vec!["93.184.216.34:80".parse::<SocketAddr>().expect("addr")],
            "dialed something other than the vetted answer"
        );
        // Origin-form request line, Host header kept.
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("GET /x?y=1 HTTP/1.1\r\n"),
            "{}",
            seen[0]
        );
        assert!(
            seen[0]
                .to_ascii_lowercase()
                .contains("host: rebind.test\r\n"),
            "{}",
            seen[0]
        );
    }

    /// An internal address in the one answer refuses the request without
    /// dialing anything.
    #[tokio::test]
    async fn an_internal_answer_is_refused_before_connecting() {
        for answer in [
            &["127.0.0.1"][..],
            &["93.184.216.34", "10.1.2.3"],
            &["::ffff:169.254.169.254"],
        ] {
            let net = Scripted::new(&[answer, &["93.184.216.34"]], Dial::Hang);
            let mut gate = gate_for("https://rebind.test", net.clone());
            let result = get(&mut gate, "https://rebind.test/", None).await;
            assert!(
                matches!(result, Err(HttpError::HttpRequestDenied)),
                "{answer:?}: {result:?}"
            );
            assert_eq!(net.dialed(), vec![], "{answer:?}");
        }
    }

    /// An explicit `localhost` grant skips the filter but still connects to
    /// its single lookup's answer, over real sockets.
    #[tokio::test]
    async fn explicit_localhost_connects_to_its_one_answer() {
        let first = Server::start("127.0.0.1", 0, Reply::Send(OK));
        let port = first.addr.port();
        // Same port on another loopback address: what a second lookup says.
        let second = Server::start("127.0.0.2", port, Reply::Send(OK));
        let net = Scripted::new(&[&["127.0.0.1"], &["127.0.0.2"]], Dial::Real);
        let url = format!("http://localhost:{port}");
        let mut gate = gate_for(&url, net.clone());
        for _ in 0..2 {
            let (status, _) = get(&mut gate, &format!("{url}/"), None)
                .await
                .expect("sent");
            assert_eq!(status, 200);
        }
        // Two requests, two lookups: the second request went to the second
        // answer, which is what that request's own lookup said.
        assert_eq!(first.seen().len(), 1);
        assert_eq!(second.seen().len(), 1);
        assert_eq!(net.lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn https_speaks_tls_with_the_host_name() {
        let server = Server::start("127.0.0.1", 0, Reply::Close);
        let port = server.addr.port();
        let net = Scripted::new(&[&["127.0.0.1"]], Dial::Real);
        let url = format!("https://localhost:{port}");
        let mut gate = gate_for(&url, net);
        let result = get(&mut gate, &format!("{url}/"), None).await;
        assert!(matches!(result, Err(HttpError::Tls(_))), "{result:?}");
        let seen = server.seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].first(), Some(&0x16), "not a TLS handshake");
        assert!(
            seen[0].windows(9).any(|w| w == b"localhost"),
            "the client hello names no server"
        );
    }

    fn options(connect: u64, first_byte: u64, between_bytes: u64) -> Option<RequestOptions> {
        Some(RequestOptions {
            connect_timeout: Some(Duration::from_millis(connect)),
            first_byte_timeout: Some(Duration::from_millis(first_byte)),
            between_bytes_timeout: Some(Duration::from_millis(between_bytes)),
        })
    }

    #[tokio::test]
    async fn the_request_options_timeouts_apply() {
        // Connect: the connection never opens.
        let net = Scripted::new(&[&["93.184.216.34"]], Dial::Hang);
        let mut gate = gate_for("http://slow.test", net);
        let result = get(&mut gate, "http://slow.test/", options(100, 5_000, 5_000)).await;
        assert!(
            matches!(result, Err(HttpError::ConnectionTimeout)),
            "{result:?}"
        );

        // First byte: the server reads the request and says nothing.
        let server = Server::start("127.0.0.1", 0, Reply::SendAndHold(b""));
        let net = Scripted::new(&[&["127.0.0.1"]], Dial::Real);
        let url = format!("http://localhost:{}", server.addr.port());
        let mut gate = gate_for(&url, net);
        let result = get(&mut gate, &format!("{url}/"), options(5_000, 100, 5_000)).await;
        assert!(
            matches!(result, Err(HttpError::ConnectionReadTimeout)),
            "{result:?}"
        );

        // Between bytes: the head and part of the body, then silence.
        let server = Server::start(
            "127.0.0.1",
            0,
            Reply::SendAndHold(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
        );
        let net = Scripted::new(&[&["127.0.0.1"]], Dial::Real);
        let url = format!("http://localhost:{}", server.addr.port());
        let mut gate = gate_for(&url, net);
        let (status, body) = get(&mut gate, &format!("{url}/"), options(5_000, 5_000, 100))
            .await
            .expect("the head arrives");
        assert_eq!(status, 200);
        assert!(
            matches!(body, Err(HttpError::ConnectionReadTimeout)),
            "{body:?}"
        );
    }
}
