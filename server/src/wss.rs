//! The WSS listener (README, "WSS"): what stands between a TCP connection it accepted and the
//! connection loop in `connection::message`, that is TLS (rustls with ring) and the WebSocket upgrade.
//!
//! The certificate comes from PEM files or, for development, is made at start (self-signed for
//! localhost, 127.0.0.1 and ::1) and its SHA-256 fingerprint printed, as the server prints its public
//! key. Plain WebSocket, without TLS, is for a proxy in front that terminates TLS, or for local tests;
//! the configuration allows it on loopback only unless told otherwise (`config::WssConfig`).
//!
//! A connection is pending from its accept on, as a TCP one is (the pending pool, its bound per
//! address, eviction of the oldest); its TLS handshake waits for its turn under the key-exchange
//! budget, since it costs the server a signature and a Diffie-Hellman as a Noise handshake does; and
//! the TLS and WebSocket handshakes together must be over within `wss.handshake_timeout_ms`.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, http};
use tokio_tungstenite::WebSocketStream;
use zeroize::{Zeroize, Zeroizing};

use crate::config::{Config, WssConfig};
use crate::connection::{self, Slot};
use crate::limits::Source;
use crate::metrics::wss as outcome;
use crate::rooms::Peer;
use crate::server::{stop_requested, Shared};

/// Longest upgrade request read (request line and headers): browsers send well under 2 KiB.
const MAX_REQUEST: usize = 8 * 1024;
/// Largest certificate chain file read.
const MAX_CHAIN_FILE: u64 = 1024 * 1024;
/// Largest private key file read (an RSA-4096 key in PEM is about 3.3 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;
/// How long a refused upgrade may take to deliver its answer.
const ANSWER_LIMIT: Duration = Duration::from_secs(1);
/// The development certificate's names.
const DEVELOPMENT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The bound WSS socket and what its connections need, before the server runs.
pub(crate) struct WssListener {
    pub(crate) tcp: TcpListener,
    pub(crate) endpoint: Arc<Endpoint>,
}

/// What the start-up line and the server's owner are told about the WSS listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WssInfo {
    /// The address bound (the real port when port 0 was asked for).
    pub address: SocketAddr,
    /// What clients connect to: `wss://` (`ws://` without TLS), the address, and the path.
    pub url: String,
    /// SHA-256 of the certificate's DER encoding, for pinning (`None` without TLS).
    pub certificate_sha256: Option<[u8; 32]>,
    /// The certificate is the development one made at start.
    pub self_signed: bool,
}

impl WssInfo {
    /// The start-up line after "sealnet-server listening on ", e.g.
    /// `WSS wss://127.0.0.1:19090/ (certificate sha256 HEX, self-signed for development)`.
    pub fn startup_line(&self) -> String {
        match (self.certificate_sha256, self.self_signed) {
            (Some(sha256), true) => format!(
                "WSS {} (certificate sha256 {}, self-signed for development)",
                self.url,
                sealnet::protocol::noise::hex(&sha256)
            ),
            (Some(sha256), false) => {
                format!("WSS {} (certificate sha256 {})", self.url, sealnet::protocol::noise::hex(&sha256))
            }
            (None, _) => format!("WS {} (plain WebSocket: no TLS)", self.url),
        }
    }
}

/// What every WSS connection's handshake needs.
pub(crate) struct Endpoint {
    tls: Option<TlsAcceptor>,
    /// Empty: any path.
    path: String,
    handshake_timeout: Duration,
    pub(crate) info: WssInfo,
}

/// Binds the WSS socket and sets up its TLS, when WSS is on. Certificate files are read, or the
/// development certificate made, before the socket is bound, so a bad file costs no port.
pub(crate) fn bind(config: &Config) -> io::Result<Option<WssListener>> {
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    let wss = &config.wss;
    let Some(address) = wss.address(config.listen).map_err(|e| invalid(e.to_string()))? else { return Ok(None) };
    let tls = if wss.tls { Some(server_tls(wss)?) } else { None };
    let context =
        |error: io::Error| io::Error::new(error.kind(), format!("cannot listen for WSS on {address}: {error}"));
    let socket = if address.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(context)?;
    socket.set_reuseaddr(true).map_err(context)?;
    socket.bind(address).map_err(context)?;
    let tcp = socket.listen(config.admission.listen_backlog).map_err(context)?;
    let bound = tcp.local_addr()?;
    let path = if wss.path.is_empty() { "/" } else { wss.path.as_str() };
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let info = WssInfo {
        address: bound,
        url: format!("{scheme}://{bound}{path}"),
        certificate_sha256: tls.as_ref().map(|tls| tls.sha256),
        self_signed: tls.as_ref().is_some_and(|tls| tls.self_signed),
    };
    let endpoint = Endpoint {
        tls: tls.map(|tls| TlsAcceptor::from(tls.config)),
        path: wss.path.clone(),
        handshake_timeout: Duration::from_millis(wss.handshake_timeout_ms),
        info,
    };
    Ok(Some(WssListener { tcp, endpoint: Arc::new(endpoint) }))
}

/// The TLS side of the listener.
struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    sha256: [u8; 32],
    self_signed: bool,
}

fn server_tls(wss: &WssConfig) -> io::Result<ServerTls> {
    let (chain, key, self_signed) = match (&wss.cert_file, &wss.key_file) {
        (Some(cert_file), Some(key_file)) => (read_chain(cert_file)?, read_key(key_file)?, false),
        _ => {
            let (certificate, key) = development_certificate()?;
            (vec![certificate], key, true)
        }
    };
    let sha256 = Sha256::digest(chain[0].as_ref()).into();
    // ring, as the webhook client uses: one crypto library in the server.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| io::Error::other(format!("TLS for WSS: {error}")))?
        .with_no_client_auth()
        // This also checks that the key is the certificate's.
        .with_single_cert(chain, key)
        .map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("wss.cert_file and wss.key_file: {error}"))
        })?;
    Ok(ServerTls { config: Arc::new(config), sha256, self_signed })
}

/// The certificate chain in a PEM file, the server's own certificate first.
fn read_chain(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let named = |error: io::Error| io::Error::new(error.kind(), format!("wss.cert_file {}: {error}", path.display()));
    let mut text = Vec::new();
    File::open(path).and_then(|file| file.take(MAX_CHAIN_FILE).read_to_end(&mut text)).map_err(named)?;
    let chain = CertificateDer::pem_slice_iter(&text).collect::<Result<Vec<_>, _>>().map_err(|error| {
        named(io::Error::new(io::ErrorKind::InvalidData, format!("not a PEM certificate: {error}")))
    })?;
    if chain.is_empty() {
        return Err(named(io::Error::new(io::ErrorKind::InvalidData, "holds no PEM certificate")));
    }
    Ok(chain)
}

/// The private key in a PEM file, refused when others may access it: whoever reads it can pose as
/// the server. (Group access stays possible for the usual group of TLS keys, such as ssl-cert.)
fn read_key(path: &Path) -> io::Result<PrivateKeyDer<'static>> {
    let named = |error: io::Error| io::Error::new(error.kind(), format!("wss.key_file {}: {error}", path.display()));
    let file = File::open(path).map_err(named)?;
    let mode = file.metadata().map_err(named)?.permissions().mode() & 0o7777;
    if mode & 0o007 != 0 {
        return Err(named(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "has mode {mode:04o}: others must have no access to the TLS private key (fix with: chmod o-rwx {})",
                path.display()
            ),
        )));
    }
    // Room for more than is ever read, so that reading never reallocates and leaves a copy unwiped.
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    file.take(MAX_KEY_FILE).read_to_end(&mut text).map_err(named)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|_| {
        named(io::Error::new(io::ErrorKind::InvalidData, "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"))
    })
}

/// A self-signed certificate for this machine's loopback names, made fresh at every start (ECDSA
/// P-256), valid from a day before now for a year. Its key is never written anywhere.
fn development_certificate() -> io::Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let failed = |error: rcgen::Error| io::Error::other(format!("cannot make the development certificate: {error}"));
    let mut key = rcgen::KeyPair::generate().map_err(failed)?;
    let names: Vec<String> = DEVELOPMENT_NAMES.iter().map(|name| (*name).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "sealnet development certificate");
    let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    params.not_before = epoch + since_epoch.saturating_sub(DAY);
    params.not_after = epoch + since_epoch + 365 * DAY;
    let certificate = params.self_signed(&key).map_err(failed)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    key.zeroize();
    Ok((certificate.der().clone(), private))
}

/// Admits a connection the WSS listener accepted, as a TCP accept does, and starts it on a shard.
pub(crate) fn accept(
    shared: &Arc<Shared>,
    endpoint: &Arc<Endpoint>,
    stream: TcpStream,
    address: SocketAddr,
    shutdown: &watch::Receiver<bool>,
) {
    let counters = shared.shards.counters();
    counters.wss[outcome::ACCEPTED].add(1);
    let id = crate::server::next_connection_id();
    let source = Source::of(address.ip());
    let (peer, outbound) = connection::new_peer(shared, id);
    if let Err(refusal) = shared.admission.arrive(id, source, &peer) {
        counters.wss[outcome::REFUSED_ADMISSION].add(1);
        tracing::debug!(%address, ?refusal, "WSS connection closed at once");
        return;
    }
    tracing::debug!(connection = id, %address, "WSS connection accepted");
    let _ = stream.set_nodelay(true);
    let slot =
        Slot { shared: shared.clone(), id, source, address, admitted: false, _alive: shared.shards.connection_guard() };
    // Handed over as a plain socket, to be registered with its shard's own event loop.
    match stream.into_std() {
        Ok(stream) => {
            let task = connection::message::serve(stream, slot, peer, outbound, shutdown.clone(), endpoint.clone());
            shared.shards.spawn(shared.shards.for_new_connection(), task);
        }
        Err(error) => {
            counters.wss[outcome::CLOSED_BEFORE_UPGRADE].add(1);
            tracing::warn!(connection = id, %error, "could not hand the WSS connection over")
        }
    }
}

/// Why a connection ended before its session began.
enum Failure {
    RateLimited,
    Timeout,
    Tls(io::Error),
    /// Not an upgrade (to be answered 400), or for another path (answered 404 already): the link, to
    /// close after the failure is counted, with what is still to be written on it.
    Upgrade {
        problem: String,
        link: Box<Link>,
        answer: Vec<u8>,
    },
    /// Evicted from the pending pool.
    Evicted,
    /// The client went away, or the server is stopping.
    Closed(String),
}

/// Runs the TLS handshake and the WebSocket upgrade of a connection on the shard this is polled on.
/// `None`: it failed (counted, and logged at debug level); the connection is closed.
pub(crate) async fn establish(
    endpoint: &Endpoint,
    stream: std::net::TcpStream,
    slot: &Slot,
    peer: &Peer,
    shutdown: &mut watch::Receiver<bool>,
    websocket: WebSocketConfig,
) -> Option<WebSocketStream<Link>> {
    let shared = &slot.shared;
    let deadline = Instant::now() + endpoint.handshake_timeout;
    let attempt = async {
        let stream =
            TcpStream::from_std(stream).map_err(|error| Failure::Closed(format!("cannot register: {error}")))?;
        let link = match &endpoint.tls {
            Some(tls) => {
                match shared.key_exchanges.admit(slot.source, Instant::now()) {
                    None => return Err(Failure::RateLimited),
                    // Its turn under the budget (the limiter reserved it).
                    Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                    Some(_) => {}
                }
                Link::Tls(Box::new(tls.accept(Socket::Registered(stream)).await.map_err(Failure::Tls)?))
            }
            None => Link::Plain(Socket::Registered(stream)),
        };
        upgrade(link, &endpoint.path, websocket).await
    };
    let result = tokio::select! {
        result = tokio::time::timeout_at(deadline.into(), attempt) => result.unwrap_or(Err(Failure::Timeout)),
        _ = peer.kicked() => Err(Failure::Evicted),
        () = stop_requested(shutdown) => Err(Failure::Closed("server shutting down".into())),
    };
    let counters = shared.shards.counters();
    let mut refused = None;
    let (index, problem) = match result {
        Ok(websocket) => {
            counters.wss[outcome::ESTABLISHED].add(1);
            return Some(websocket);
        }
        Err(Failure::RateLimited) => (outcome::REFUSED_RATE_LIMITED, "too many key exchanges".to_owned()),
        Err(Failure::Timeout) => (outcome::HANDSHAKE_TIMEOUT, "handshake not over in time".to_owned()),
        Err(Failure::Tls(error)) => (outcome::TLS_FAILED, error.to_string()),
        Err(Failure::Upgrade { problem, link, answer }) => {
            refused = Some((link, answer));
            (outcome::UPGRADE_FAILED, problem)
        }
        Err(Failure::Evicted) => (outcome::REFUSED_ADMISSION, "too many connections waiting".to_owned()),
        Err(Failure::Closed(problem)) => (outcome::CLOSED_BEFORE_UPGRADE, problem),
    };
    counters.wss[index].add(1);
    tracing::debug!(
        connection = slot.id,
        address = %slot.address,
        outcome = crate::metrics::WSS_OUTCOMES[index],
        problem,
        "WSS connection closed before its session"
    );
    if let Some((mut link, answer)) = refused {
        let _ = tokio::time::timeout(ANSWER_LIMIT, answer_and_close(&mut link, &answer)).await;
    }
    None
}

/// The WebSocket upgrade: a request for another path is answered 404, one that is no upgrade at all
/// 400 with what is wrong with it (in the body, as text).
async fn upgrade(mut link: Link, path: &str, websocket: WebSocketConfig) -> Result<WebSocketStream<Link>, Failure> {
    // The signature is tungstenite's callback's, large error and all.
    #[allow(clippy::result_large_err)]
    let check_path = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if path.is_empty() || request.uri().path() == path {
            return Ok(response);
        }
        let mut refusal = ErrorResponse::new(Some(format!("no WebSocket endpoint at this path: use {path}\n")));
        *refusal.status_mut() = http::StatusCode::NOT_FOUND;
        Err(refusal)
    };
    let mut request = RequestReader::new(&mut link);
    // The handshake's own stream only borrows the link: the connection's stream owns it, with what
    // came after the request.
    let result =
        tokio_tungstenite::accept_hdr_async_with_config(&mut request, check_path, Some(websocket)).await.map(drop);
    let too_large = request.too_large;
    let tail = std::mem::take(&mut request.tail);
    drop(request);
    let problem = match result {
        Ok(()) => return Ok(WebSocketStream::from_partially_read(link, tail, Role::Server, Some(websocket)).await),
        Err(tungstenite::Error::Http(response)) => {
            let problem = format!("answered {} (path {path:?} only)", response.status());
            return Err(Failure::Upgrade { problem, link: Box::new(link), answer: Vec::new() });
        }
        Err(tungstenite::Error::Protocol(tungstenite::error::ProtocolError::HandshakeIncomplete)) => {
            return Err(Failure::Closed("closed during the upgrade".into()))
        }
        Err(_) if too_large => format!("the request is longer than {MAX_REQUEST} bytes"),
        Err(tungstenite::Error::Io(error)) => return Err(Failure::Closed(error.to_string())),
        Err(error) => error.to_string(),
    };
    let body = format!("not a WebSocket upgrade request: {problem}\n");
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    Err(Failure::Upgrade { problem, link: Box::new(link), answer: answer.into_bytes() })
}

/// Writes a refusal (if any is left to write), then closes.
async fn answer_and_close(link: &mut Link, answer: &[u8]) {
    if link.write_all(answer).await.is_ok() {
        close_link(link).await;
    }
}

/// Closes the writing side (TLS first: its close_notify), then reads what the client still sends
/// until it closes too, so that the close is no reset that could discard the last thing sent before
/// the client reads it. The caller bounds how long this may take.
pub(crate) async fn close_link(link: &mut Link) {
    if link.shutdown().await.is_err() {
        return;
    }
    let mut discard = [0u8; 1024];
    while matches!(link.read(&mut discard).await, Ok(read) if read > 0) {}
}

/// Reads the upgrade request for the handshake, and nothing after it: what follows the blank line
/// that ends it is kept for the WebSocket stream. Refuses a request longer than [`MAX_REQUEST`].
struct RequestReader<'a> {
    link: &'a mut Link,
    /// Bytes of the request passed on.
    seen: usize,
    /// How much of "\r\n\r\n" the last bytes passed on matched.
    matched: usize,
    ended: bool,
    tail: Vec<u8>,
    too_large: bool,
}

impl<'a> RequestReader<'a> {
    fn new(link: &'a mut Link) -> Self {
        RequestReader { link, seen: 0, matched: 0, ended: false, tail: Vec::new(), too_large: false }
    }
}

impl AsyncRead for RequestReader<'_> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The handshake reads again only while the request is incomplete, which it no longer is.
        if this.ended {
            return Poll::Ready(Ok(()));
        }
        let start = buf.filled().len();
        ready!(Pin::new(&mut *this.link).poll_read(cx, buf))?;
        const END: &[u8; 4] = b"\r\n\r\n";
        let mut passed = buf.filled().len() - start;
        for (index, &byte) in buf.filled()[start..].iter().enumerate() {
            this.matched = match byte {
                _ if byte == END[this.matched] => this.matched + 1,
                b'\r' => 1,
                _ => 0,
            };
            if this.matched == END.len() {
                passed = index + 1;
                this.tail = buf.filled()[start + passed..].to_vec();
                this.ended = true;
                break;
            }
        }
        buf.set_filled(start + passed);
        this.seen += passed;
        if this.seen > MAX_REQUEST {
            this.too_large = true;
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "upgrade request too long")));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for RequestReader<'_> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().link).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().link).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().link).poll_shutdown(cx)
    }
}

/// A connection's TCP socket, registered with the event loop of the shard it runs on, or detached
/// while it moves to another shard (as a TCP connection's socket moves).
pub(crate) enum Socket {
    Registered(TcpStream),
    Detached(std::net::TcpStream),
    /// Lost while moving (the system refused to deregister or register it).
    Gone,
}

impl Socket {
    /// Deregisters the socket from this shard's event loop, before the connection moves.
    pub(crate) fn detach(&mut self) -> io::Result<()> {
        if let Socket::Registered(stream) = std::mem::replace(self, Socket::Gone) {
            *self = Socket::Detached(stream.into_std()?);
        }
        Ok(())
    }

    /// Registers the socket with the event loop of the shard this runs on, after a move.
    pub(crate) fn attach(&mut self) -> io::Result<()> {
        match std::mem::replace(self, Socket::Gone) {
            Socket::Detached(stream) => *self = Socket::Registered(TcpStream::from_std(stream)?),
            other => *self = other,
        }
        Ok(())
    }

    fn registered(&mut self) -> io::Result<&mut TcpStream> {
        match self {
            Socket::Registered(stream) => Ok(stream),
            _ => Err(io::Error::new(io::ErrorKind::NotConnected, "the socket is not registered with this shard")),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_read(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_write(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_flush(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().registered() {
            Ok(stream) => Pin::new(stream).poll_shutdown(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

/// What carries a connection's WebSocket: TLS over its socket, or the socket itself.
pub(crate) enum Link {
    Tls(Box<tokio_rustls::server::TlsStream<Socket>>),
    Plain(Socket),
}

impl Link {
    pub(crate) fn socket_mut(&mut self) -> &mut Socket {
        match self {
            Link::Tls(tls) => tls.get_mut().0,
            Link::Plain(socket) => socket,
        }
    }
}

impl AsyncRead for Link {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Link::Plain(socket) => Pin::new(socket).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Link::Plain(socket) => Pin::new(socket).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Link::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
            Link::Plain(socket) => Pin::new(socket).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Link::Tls(tls) => tls.is_write_vectored(),
            Link::Plain(socket) => socket.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Link::Plain(socket) => Pin::new(socket).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Link::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Link::Plain(socket) => Pin::new(socket).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_certificate_names_the_loopback_addresses_and_is_new_at_every_start() {
        let (certificate, key) = development_certificate().unwrap();
        assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
        let der = certificate.as_ref();
        let holds = |part: &[u8]| der.windows(part.len()).any(|window| window == part);
        assert!(holds(b"localhost"), "the DNS name");
        // Subject alternative names of type IP address (tag 0x87), IPv4 and IPv6 loopback.
        assert!(holds(&[0x87, 4, 127, 0, 0, 1]), "127.0.0.1");
        let mut v6 = vec![0x87, 16];
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        assert!(holds(&v6), "::1");
        // Two certificates made at two starts differ, so neither's key is ever reused.
        let (other, _) = development_certificate().unwrap();
        assert_ne!(certificate, other);
    }

    #[test]
    fn the_startup_line_names_the_url_and_the_fingerprint() {
        let info = WssInfo {
            address: "127.0.0.1:19090".parse().unwrap(),
            url: "wss://127.0.0.1:19090/".into(),
            certificate_sha256: Some([0xab; 32]),
            self_signed: true,
        };
        let hex = "ab".repeat(32);
        assert_eq!(
            info.startup_line(),
            format!("WSS wss://127.0.0.1:19090/ (certificate sha256 {hex}, self-signed for development)")
        );
        let files = WssInfo { self_signed: false, ..info.clone() };
        assert_eq!(files.startup_line(), format!("WSS wss://127.0.0.1:19090/ (certificate sha256 {hex})"));
        let plain = WssInfo { url: "ws://127.0.0.1:19090/".into(), certificate_sha256: None, ..info };
        assert_eq!(plain.startup_line(), "WS ws://127.0.0.1:19090/ (plain WebSocket: no TLS)");
    }
}
