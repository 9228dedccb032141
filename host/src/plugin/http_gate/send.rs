//! Sends one granted request over a connection to addresses the gate has
//! already vetted.
//!
//! wasmtime-wasi-http's `default_send_request` takes only the URI and looks
//! the name up again to connect, so a DNS answer that changed after the
//! gate's check (rebinding) would reach an internal address. This is the same
//! exchange — TCP, rustls with the webpki roots for https, a hyper HTTP/1.1
//! handshake, the request options' timeouts — over a socket opened to the
//! given addresses only.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

use super::Net;

/// The future that drives the connection after the response head arrived.
pub type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

/// The timeouts a guest may set through `request-options`; the defaults are
/// the ones `default_send_request` uses.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

impl Timeouts {
    pub fn new(options: Option<RequestOptions>) -> Self {
        const DEFAULT: Duration = Duration::from_secs(600);
        let options = options.unwrap_or_default();
        Self {
            connect: options.connect_timeout.unwrap_or(DEFAULT),
            first_byte: options.first_byte_timeout.unwrap_or(DEFAULT),
            // Tokio panics on a zero-period interval: 1 ns is as good as zero.
            between_bytes: options
                .between_bytes_timeout
                .unwrap_or(DEFAULT)
                .max(Duration::from_nanos(1)),
        }
    }
}

/// Where to send: the name TLS verifies and the vetted addresses, tried in
/// order.
pub struct Destination<'a> {
    pub host: &'a str,
    pub tls: bool,
    pub addresses: &'a [SocketAddr],
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Built once: parsing the root store on every request would cost more than
/// the request itself on a fast network. `None` only if ring refuses the
/// default protocol versions, which it does not.
static TLS: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(config))
});

pub async fn send(
    net: &dyn Net,
    mut request: http::Request<WasiBody>,
    to: Destination<'_>,
    timeouts: Timeouts,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    // Connecting, TLS and the handshake all count against the connect
    // timeout, so a server that accepts TCP but stalls TLS cannot hold the
    // plugin past it.
    let (mut sender, conn) = tokio::time::timeout(timeouts.connect, async {
        let stream = connect(net, to.addresses).await?;
        let stream: Box<dyn Stream> = if to.tls {
            let config = TLS.clone().ok_or_else(|| {
                HttpError::InternalError(Some("no TLS client configuration".to_owned()))
            })?;
            let name = match to.host.parse::<IpAddr>() {
                Ok(ip) => ServerName::from(ip),
                Err(_) => ServerName::try_from(to.host)?.to_owned(),
            };
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map_err(HttpError::Tls)?;
            Box::new(tls)
        } else {
            Box::new(stream)
        };
        hyper::client::conn::http1::Builder::new()
            .handshake::<_, WasiBody>(TokioIo::new(stream))
            .await
            .map_err(HttpError::from)
    })
    .await
    .map_err(|_| HttpError::ConnectionTimeout)??;

    // The request line carries only path and query unless talking to a
    // proxy; hyper does not strip scheme and authority itself.
    let origin_form = http::Uri::builder()
        .path_and_query(request.uri().path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    *request.uri_mut() = origin_form;

    let between_bytes = timeouts.between_bytes;
    let response = async move {
        let response = tokio::time::timeout(timeouts.first_byte, sender.send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)??;
        let mut timer = tokio::time::interval(between_bytes);
        timer.reset();
        Ok::<_, HttpError>(response.map(|incoming| TimedBody { incoming, timer }.boxed_unsync()))
    };
    // hyper's connection must be polled for the response to arrive: drive
    // both here, and hand the connection back to run on once the head is in.
    let mut response = pin!(response);
    let mut conn = Some(conn);
    let response = poll_fn(|cx| {
        if let Poll::Ready(result) = response.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        let Some(running) = conn.as_mut() else {
            return Poll::Pending;
        };
        let finished = ready!(Pin::new(running).poll(cx));
        conn = None;
        match finished {
            // The connection ended cleanly: the response may be complete.
            Ok(()) => response.as_mut().poll(cx),
            Err(err) => Poll::Ready(Err(HttpError::from(err))),
        }
    })
    .await?;
    let io: IoFuture = Box::new(async move {
        match conn {
            None => Ok(()),
            Some(conn) => conn.await.map_err(|err| {
                if err.is_timeout() {
                    HttpError::HttpResponseTimeout
                } else {
                    HttpError::from(err)
                }
            }),
        }
    });
    Ok((response, io))
}

/// The first vetted address that accepts, like `TcpStream::connect` does
/// with the addresses of a name.
async fn connect(
    net: &dyn Net,
    addresses: &[SocketAddr],
) -> Result<tokio::net::TcpStream, HttpError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for address in addresses {
        match net.connect(*address).await {
            Ok(stream) => return Ok(stream),
            Err(err) => last = err,
        }
    }
    Err(HttpError::Connect(last))
}

/// The response body, failing if the server goes quiet for longer than the
/// between-bytes timeout.
struct TimedBody {
    incoming: hyper::body::Incoming,
    timer: tokio::time::Interval,
}

impl http_body::Body for TimedBody {
    type Data = <hyper::body::Incoming as http_body::Body>::Data;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(err))) if err.is_timeout() => {
                Poll::Ready(Some(Err(HttpError::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(HttpError::from(err)))),
            Poll::Ready(Some(Ok(frame))) => {
                self.timer.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timer.poll_tick(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
