//! The client peer over WSS against the real `sealnet-server` binary (its WSS listener, rooms and
//! authentication): certificate checks (pinned fingerprint, CA file, system trust store), a WSS
//! player and a UDP player in one room exchanging events both ways, a clean disconnect, and
//! AuthOnceWss end to end: authenticate over WSS, then connect over UDP authenticated by the key
//! exchange alone.
//!
//! The server binary is the workspace's (`cargo test --workspace` builds it first), or the one
//! SEALNET_SERVER_BIN names.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues, PARAM_AUTH_ONCE_SECRET, PARAM_TOKEN};
use sealnet::peer::{
    certificate_fingerprint, AuthState, CertificateCheck, ConnectOptions, ConnectSecurity, Peer, PeerConfig, PeerError,
    PeerEvent, PinChoice, TransportKind,
};
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::{EventData, OperationResponse};
use sealnet::protocol::noise::hex;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::StatusInfo;
use sealnet::protocol::status::{op_code, return_code, DisconnectReason, PeerState, StatusCode};
use sealnet::rooms::{CODE, DATA, ROOM_NAME};

/// Longest any step may take before the test fails instead of hanging.
const WAIT: Duration = Duration::from_secs(20);

/// A directory of its own for each server, removed with it.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sealnet-peer-wss-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `sealnet-server`, stopped when dropped.
struct Server {
    child: Child,
    udp: String,
    wss_url: String,
    wss_fingerprint: [u8; 32],
    server_key: [u8; 32],
    scratch: Scratch,
}

fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SEALNET_SERVER_BIN") {
        return path.into();
    }
    // target/debug/deps/peer_wss-HASH → target/debug/sealnet-server
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join("sealnet-server");
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p sealnet-server` (`cargo test --workspace` builds it), or set SEALNET_SERVER_BIN",
        path.display()
    );
    path
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    assert_eq!(text.len(), 2 * N, "{text}");
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

impl Server {
    /// Starts the server with `config` (TOML) and reads its four start-up lines: TCP address, public
    /// key, UDP address, and the WSS URL with its certificate's fingerprint.
    fn start(config: &str, scratch: Scratch) -> Server {
        let config_file = scratch.file("server.toml", &format!("drain_timeout_ms = 0\n{config}"));
        let mut child = Command::new(server_binary())
            .arg("--config")
            .arg(&config_file)
            .args(["--listen", "127.0.0.1:0", "--app-id", "demo", "--key-file"])
            .arg(scratch.0.join("server.key"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(scratch.0.join("server.log")).unwrap())
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines_tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let line = || lines.recv_timeout(WAIT).expect("a start-up line");
        let _tcp = line();
        let key = line();
        let udp = line();
        let wss = line();
        let server_key = unhex(key.strip_prefix("sealnet-server public key: ").expect(&key));
        let udp = udp.strip_prefix("sealnet-server listening on UDP ").expect(&udp).to_owned();
        // "sealnet-server listening on WSS wss://127.0.0.1:PORT/ (certificate sha256 HEX...)"
        let wss = wss.strip_prefix("sealnet-server listening on WSS ").expect(&wss);
        let (wss_url, rest) = wss.split_once(' ').expect(wss);
        let fingerprint = rest.strip_prefix("(certificate sha256 ").expect(rest);
        let wss_fingerprint = unhex(&fingerprint[..64]);
        Server { child, udp, wss_url: wss_url.to_owned(), wss_fingerprint, server_key, scratch }
    }

    /// The server with its development certificate, anonymous players allowed.
    fn default() -> Server {
        Server::start("", Scratch::new())
    }
}

impl Drop for Server {
    /// Stops the server; when a test failed, shows the server's log with the failure.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.scratch.0.join("server.log")).unwrap_or_default();
            eprintln!("--- sealnet-server log ---\n{log}");
        }
    }
}

/// Waits (without polling) for the next result, failing the test after [`WAIT`].
fn next_event(peer: &Peer) -> PeerEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(event) = peer.poll_event() {
            return event;
        }
        assert!(Instant::now() < deadline, "no result within {WAIT:?}; state {:?}", peer.state());
        peer.wait(Duration::from_millis(100));
    }
}

/// Every status up to and including `code`, past the events and responses still queued (a room's
/// Join events, a fresh token's AuthEvent).
fn statuses_until(peer: &Peer, code: StatusCode) -> Vec<StatusInfo> {
    let mut statuses = Vec::new();
    loop {
        if let PeerEvent::Status(info) = next_event(peer) {
            let done = info.code == code;
            statuses.push(info);
            if done {
                return statuses;
            }
        }
    }
}

fn codes(statuses: &[StatusInfo]) -> Vec<StatusCode> {
    statuses.iter().map(|info| info.code).collect()
}

/// The response to `op`, skipping events (a room's Join events, say).
fn response(peer: &Peer, op: u8) -> (OperationResponse, bool) {
    loop {
        match next_event(peer) {
            PeerEvent::OperationResponse { response, encrypted } if response.op_code == op => {
                return (response, encrypted)
            }
            PeerEvent::OperationResponse { response, .. } => {
                panic!("response to {} while waiting for {op}", response.op_code)
            }
            PeerEvent::Event { .. } => {}
            PeerEvent::Status(info) => panic!("status {info:?} while waiting for the response to {op}"),
        }
    }
}

/// The next event with `code`, skipping others.
fn event(peer: &Peer, code: u8) -> (EventData, bool) {
    loop {
        match next_event(peer) {
            PeerEvent::Event { event, encrypted } if event.code == code => return (event, encrypted),
            PeerEvent::Event { .. } => {}
            other => panic!("{other:?} while waiting for event {code}"),
        }
    }
}

fn options<'a>(address: &'a str, pin: PinChoice) -> ConnectOptions<'a> {
    ConnectOptions { address, app_id: "demo", app_version: None, pin, auth: None }
}

fn over_wss(peer: &Peer, url: &str, certificate: CertificateCheck) {
    let security = ConnectSecurity { certificate, auth_once: false };
    peer.connect_secured(TransportKind::WebSocketSecure, &options(url, PinChoice::None), &security).unwrap();
}

fn join(peer: &Peer, room: &str) {
    let params = Params::from_iter([(ROOM_NAME, Value::String(room.to_owned()))]);
    peer.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::RELIABLE).unwrap();
    let (answer, _) = response(peer, op_code::JOIN_ROOM);
    assert_eq!(answer.return_code, 0, "join refused: {:?}", answer.debug_message);
}

fn raise(peer: &Peer, code: i32, data: &str, encrypt: bool) {
    let params = Params::from_iter([(CODE, Value::Int(code)), (DATA, Value::String(data.to_owned()))]);
    peer.send_operation_parts(op_code::RAISE_EVENT, &params, SendOptions { encrypt, ..SendOptions::RELIABLE }).unwrap();
}

fn data_of(event: &EventData) -> &str {
    match event.params.get(DATA) {
        Some(Value::String(text)) => text,
        other => panic!("event data {other:?}"),
    }
}

#[test]
fn a_wss_player_and_a_udp_player_share_a_room_over_a_pinned_certificate() {
    let server = Server::default();
    let wss = Peer::new(PeerConfig::default());
    over_wss(&wss, &server.wss_url, CertificateCheck::Fingerprint(server.wss_fingerprint));
    let connected = statuses_until(&wss, StatusCode::EncryptionEstablished);
    assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished], "{connected:?}");
    assert!(connected[1].message.contains("TLS protects the connection"), "{}", connected[1].message);
    assert_eq!(wss.state(), PeerState::Encrypted);
    assert_eq!(wss.stats().protocol_version, 4);
    assert_eq!(wss.server_public_key(), None, "no key exchange ran");

    let udp = Peer::new(PeerConfig::default());
    udp.connect_over(TransportKind::Udp, &options(&server.udp, PinChoice::Key(server.server_key))).unwrap();
    statuses_until(&udp, StatusCode::EncryptionEstablished);

    join(&wss, "wss-room");
    join(&udp, "wss-room");
    // Both ways, encrypted and not: an encrypted event reaches the UDP player encrypted, and the
    // WSS player sees the Encrypt flag of what it receives.
    for (encrypt, text) in [(true, "sealed"), (false, "plain")] {
        raise(&wss, 7, &format!("from wss, {text}"), encrypt);
        let (got, encrypted) = event(&udp, 7);
        assert_eq!((data_of(&got), encrypted), (format!("from wss, {text}").as_str(), encrypt));
        raise(&udp, 8, &format!("from udp, {text}"), encrypt);
        let (got, encrypted) = event(&wss, 8);
        assert_eq!((data_of(&got), encrypted), (format!("from udp, {text}").as_str(), encrypt));
    }

    wss.disconnect();
    let ended = statuses_until(&wss, StatusCode::Disconnect);
    assert_eq!(codes(&ended), [StatusCode::Disconnect], "a clean disconnect: {ended:?}");
    assert_eq!(ended[0].reason, DisconnectReason::ClientRequest as u16);
    assert_eq!(wss.state(), PeerState::Disconnected);
    // The room saw the WSS player leave.
    event(&udp, sealnet::rooms::EVENT_LEAVE);
    udp.shutdown();
}

#[test]
fn a_certificate_the_check_refuses_is_a_security_exception() {
    let server = Server::default();
    let peer = Peer::new(PeerConfig::default());
    let mut wrong = server.wss_fingerprint;
    wrong[0] ^= 1;
    over_wss(&peer, &server.wss_url, CertificateCheck::Fingerprint(wrong));
    let statuses = statuses_until(&peer, StatusCode::Disconnect);
    assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
    let expected =
        format!("the server's certificate does not match the pinned fingerprint: got {}", hex(&server.wss_fingerprint));
    assert_eq!(statuses[0].message, expected);

    // The development certificate is self-signed: no system root vouches for it.
    over_wss(&peer, &server.wss_url, CertificateCheck::SystemRoots);
    let statuses = statuses_until(&peer, StatusCode::Disconnect);
    assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
    // (Or, on a machine without a trust store, refused for that, with its own message.)
    let message = &statuses[0].message;
    assert!(message.contains("is not trusted") || message.contains("holds no root certificate"), "{message}");
    peer.shutdown();
}

#[test]
fn a_ca_file_admits_the_certificate_it_issued() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let scratch = Scratch::new();
    let ca_file = scratch.file("ca.pem", &ca.pem());
    let cert_file = scratch.file("cert.pem", &leaf.pem());
    let key_file = scratch.file("key.pem", &key.serialize_pem());
    let config = format!("[wss]\ncert_file = {:?}\nkey_file = {:?}\n", cert_file, key_file);
    let server = Server::start(&config, scratch);
    assert_eq!(server.wss_fingerprint, certificate_fingerprint(leaf.der()), "the server serves the leaf");

    let peer = Peer::new(PeerConfig::default());
    let port = server.wss_url.rsplit_once(':').unwrap().1.trim_end_matches('/');
    for url in [server.wss_url.clone(), format!("wss://localhost:{port}/")] {
        over_wss(&peer, &url, CertificateCheck::CaFile(ca_file.clone()));
        let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
        assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished], "{url}");
        join(&peer, "ca-room");
        peer.disconnect();
        statuses_until(&peer, StatusCode::Disconnect);
    }
    // Another CA's file does not.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let other_ca = Scratch::new();
    let other_file = other_ca.file("other.pem", &other.cert.pem());
    over_wss(&peer, &server.wss_url, CertificateCheck::CaFile(other_file));
    let statuses = statuses_until(&peer, StatusCode::Disconnect);
    assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
    peer.shutdown();
}

/// A custom-authentication backend that admits everyone as "wss-player", for the server's webhook.
/// It checks nothing (the server's side of the webhook is tested elsewhere); it stops with the test.
fn admitting_backend() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // The headers, then as much body as Content-Length says.
            while let Ok(read) = stream.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
                        .and_then(|value| value.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            let body = r#"{"ResultCode":1,"UserId":"wss-player","Nickname":"WSS player"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    format!("http://{address}/auth")
}

#[test]
fn auth_once_wss_authenticates_over_wss_then_a_udp_connection_by_its_key_exchange_alone() {
    let scratch = Scratch::new();
    let secret = scratch.file("webhook.secret", &format!("{}\n", "ab".repeat(32)));
    let config = format!(
        "[auth]\nallow_anonymous = false\n[auth.webhook]\nurl = {:?}\nsecret_file = {:?}\n",
        admitting_backend(),
        secret
    );
    let server = Server::start(&config, scratch);

    // Without authenticating, a player of this server can do nothing but authenticate.
    let stranger = Peer::new(PeerConfig::default());
    stranger.connect_over(TransportKind::Udp, &options(&server.udp, PinChoice::None)).unwrap();
    statuses_until(&stranger, StatusCode::EncryptionEstablished);
    let params = Params::from_iter([(ROOM_NAME, Value::String("auth-once-room".into()))]);
    stranger.send_operation_parts(op_code::JOIN_ROOM, &params, SendOptions::RELIABLE).unwrap();
    let (refused, _) = response(&stranger, op_code::JOIN_ROOM);
    assert_ne!(refused.return_code, 0, "the server requires authentication");
    stranger.shutdown();

    let peer = Peer::new(PeerConfig::default());
    let error = peer
        .connect_secured(
            TransportKind::Udp,
            &options(&server.udp, PinChoice::None),
            &ConnectSecurity { auth_once: true, ..ConnectSecurity::default() },
        )
        .unwrap_err();
    assert!(matches!(error, PeerError::Options(ref text) if text.contains("holds none")), "{error}");

    // Authenticate over WSS, naming UDP as the protocol to switch to.
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(b"session").unwrap();
    values.set_expected_protocol(TransportKind::Udp as u8).unwrap();
    let security =
        ConnectSecurity { certificate: CertificateCheck::Fingerprint(server.wss_fingerprint), auth_once: false };
    let wss_options = ConnectOptions { auth: Some(&values), ..options(&server.wss_url, PinChoice::None) };
    peer.connect_secured(TransportKind::WebSocketSecure, &wss_options, &security).unwrap();
    statuses_until(&peer, StatusCode::EncryptionEstablished);
    let (answer, _) = response(&peer, op_code::AUTHENTICATE);
    assert_eq!(answer.return_code, return_code::OK, "{:?}", answer.debug_message);
    assert!(answer.params.get(PARAM_TOKEN).is_some(), "the token reaches the host");
    assert!(answer.params.get(PARAM_AUTH_ONCE_SECRET).is_none(), "the secret does not: {:?}", answer.params);
    assert_eq!(peer.auth_state(), AuthState::Authenticated);
    assert!(peer.has_auth_once_credentials());
    peer.disconnect();
    statuses_until(&peer, StatusCode::Disconnect);

    // Authenticate is not allowed with auth_once: the key exchange is the authentication.
    let udp_options = options(&server.udp, PinChoice::Key(server.server_key));
    let with_values = ConnectOptions { auth: Some(&values), ..udp_options };
    let auth_once = ConnectSecurity { auth_once: true, ..ConnectSecurity::default() };
    let error = peer.connect_secured(TransportKind::Udp, &with_values, &auth_once).unwrap_err();
    assert!(matches!(error, PeerError::Options(_)), "{error}");

    peer.connect_secured(TransportKind::Udp, &udp_options, &auth_once).unwrap();
    let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
    assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished], "{connected:?}");
    assert_eq!(peer.auth_state(), AuthState::Authenticated, "authenticated by the key exchange");
    assert_eq!(peer.server_public_key(), Some(server.server_key));
    join(&peer, "auth-once-room");
    raise(&peer, 5, "authenticated without Authenticate", true);
    peer.disconnect();
    let ended = statuses_until(&peer, StatusCode::Disconnect);
    assert_eq!(ended.last().unwrap().reason, DisconnectReason::ClientRequest as u16, "{ended:?}");
    assert!(peer.has_auth_once_credentials(), "kept for the next connection");

    // Another deployment (its own token key) cannot open the token: refused, and the peer forgets
    // credentials that cannot work again.
    let other = Server::start(&config, Scratch::new());
    let other_options = options(&other.udp, PinChoice::None);
    peer.connect_secured(TransportKind::Udp, &other_options, &auth_once).unwrap();
    let refused = statuses_until(&peer, StatusCode::Disconnect);
    let last = refused.last().unwrap();
    assert_eq!(last.reason, DisconnectReason::TokenRefused as u16, "{refused:?}");
    assert!(refused.iter().all(|info| info.code != StatusCode::EncryptionEstablished), "{refused:?}");
    let expected = AuthState::Failed { return_code: return_code::AUTHENTICATION_TICKET_EXPIRED };
    assert_eq!(peer.auth_state(), expected);
    assert!(!peer.has_auth_once_credentials());
    peer.shutdown();
}

/// Against a small server on loopback built from the core, rustls and tungstenite, for what the real
/// server never does (a text message) and what needs a name the certificate lacks: certificate
/// checks, one frame per message both ways, and what the host sees.
mod in_process {
    use std::io::ErrorKind;
    use std::net::{SocketAddr, TcpListener};
    use std::time::Duration;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection, StreamOwned};

    use sealnet::peer::{
        certificate_fingerprint, CertificateCheck, ConnectOptions, ConnectSecurity, Peer, PeerConfig, PeerEvent,
        PinChoice, Resolver, TransportKind,
    };
    use sealnet::protocol::codec::{Params, Value};
    use sealnet::protocol::frame::frames;
    use sealnet::protocol::message::{EventData, OperationResponse};
    use sealnet::protocol::noise::Keypair;
    use sealnet::protocol::sealing::SendOptions;
    use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, Transport};
    use sealnet::protocol::status::{DisconnectReason, PeerState, StatusCode};

    use super::{codes, next_event, statuses_until};

    const ECHO_EVENT: u8 = 9;

    /// A certificate for localhost and 127.0.0.1 with its key, and the PEM of the CA that issued it.
    struct Issued {
        chain: Vec<CertificateDer<'static>>,
        key: Vec<u8>,
        ca_pem: String,
    }

    fn issue() -> Issued {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        Issued { chain: vec![cert.der().clone()], key: key.serialize_der(), ca_pem: ca.pem() }
    }

    /// What the server does once the WebSocket is up.
    #[derive(Clone, Copy)]
    enum Behaviour {
        /// Accept the session, echo each operation as a response and an event.
        Echo,
        /// Send a text message.
        Text,
    }

    /// Serves one connection on its own thread; the port to connect to.
    fn serve(issued: &Issued, behaviour: Behaviour) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.key.clone()));
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(issued.chain.clone(), key)
            .unwrap();
        let config = std::sync::Arc::new(config);
        std::thread::spawn(move || {
            let Ok((tcp, _)) = listener.accept() else { return };
            tcp.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let tls = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
            // A client that refused the certificate ends here.
            let Ok(mut socket) = tungstenite::accept(tls) else { return };
            if let Behaviour::Text = behaviour {
                let _ = socket.send(tungstenite::Message::text("hello"));
                let _ = socket.read();
                return;
            }
            let keypair = std::sync::Arc::new(Keypair::generate().unwrap());
            let config = SessionConfig { transport: Transport::Secure, ..SessionConfig::default() };
            let mut session = Session::server(config, keypair, std::time::Instant::now());
            let mut output = Vec::new();
            loop {
                let now = std::time::Instant::now();
                match socket.read() {
                    Ok(tungstenite::Message::Binary(message)) => session.receive_message(&message, now),
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(error))
                        if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => session.transport_closed(None),
                }
                if session.poll_timeout().is_some_and(|at| at <= now) {
                    session.handle_timeout(now);
                }
                answer(&mut session, now);
                output.clear();
                session.take_output(&mut output);
                for frame in frames(&output) {
                    if socket.send(tungstenite::Message::binary(frame.to_vec())).is_err() {
                        return;
                    }
                }
                if session.is_closed() || session.wants_close() {
                    let _ = socket.close(None);
                    let _ = socket.flush();
                    return;
                }
            }
        });
        port
    }

    fn answer(session: &mut Session, now: std::time::Instant) {
        while let Some(event) = session.poll_event() {
            match event {
                SessionEvent::ConnectRequest { .. } => session.accept(now).unwrap(),
                SessionEvent::OperationRequest { request, encrypted, .. } => {
                    let options = SendOptions { encrypt: encrypted, ..SendOptions::RELIABLE };
                    let response = OperationResponse {
                        op_code: request.op_code,
                        return_code: 0,
                        debug_message: None,
                        params: request.params.clone(),
                    };
                    session.send_response(&response, options).unwrap();
                    let event = EventData { code: ECHO_EVENT, sender: 1, params: request.params };
                    session.send_event(&event, options).unwrap();
                }
                _ => {}
            }
        }
    }

    /// A peer that finds "localhost" and "game.test" on loopback; the test's certificates carry
    /// the first name, not the second.
    fn new_peer() -> Peer {
        let resolver = Resolver::new(|host, port| {
            assert!(["localhost", "game.test"].contains(&host), "{host}");
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        });
        Peer::new(PeerConfig { resolver, ..PeerConfig::default() })
    }

    fn connect(peer: &Peer, url: &str, certificate: CertificateCheck) {
        let options =
            ConnectOptions { address: url, app_id: "demo", app_version: None, pin: PinChoice::None, auth: None };
        let security = ConnectSecurity { certificate, auth_once: false };
        peer.connect_secured(TransportKind::WebSocketSecure, &options, &security).unwrap();
    }

    #[test]
    fn a_pinned_certificate_connects_and_frames_travel_one_per_message_both_ways() {
        let issued = issue();
        let port = serve(&issued, Behaviour::Echo);
        let peer = new_peer();
        let pin = certificate_fingerprint(&issued.chain[0]);
        // The pin names the certificate: the host name is not checked (this one is not in it).
        connect(&peer, &format!("wss://game.test:{port}/game"), CertificateCheck::Fingerprint(pin));
        let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
        assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished]);
        assert_eq!(peer.state(), PeerState::Encrypted);
        assert_eq!(peer.stats().protocol_version, sealnet::protocol::frame::SECURE_VERSION);
        assert_eq!(peer.server_public_key(), None, "no key exchange ran");
        assert_eq!(peer.establish_encryption(), Ok(()), "a no-op over TLS");

        for (op_code, encrypt) in [(7u8, true), (8u8, false)] {
            let params = Params::from_iter([(1u8, Value::Int(op_code.into())), (2, Value::Bytes(vec![op_code; 3000]))]);
            let options = SendOptions { encrypt, ..SendOptions::RELIABLE };
            peer.send_operation_parts(op_code, &params, options).unwrap();
            match next_event(&peer) {
                PeerEvent::OperationResponse { response, encrypted } => {
                    assert_eq!((response.op_code, response.return_code, encrypted), (op_code, 0, encrypt));
                    assert_eq!(response.params, params);
                }
                other => panic!("expected the response to {op_code}, got {other:?}"),
            }
            match next_event(&peer) {
                PeerEvent::Event { event, encrypted } => {
                    assert_eq!((event.code, encrypted), (ECHO_EVENT, encrypt));
                    assert_eq!(event.params, params);
                }
                other => panic!("expected the event after {op_code}, got {other:?}"),
            }
        }
        peer.disconnect();
        let ended = statuses_until(&peer, StatusCode::Disconnect);
        assert_eq!(codes(&ended), [StatusCode::Disconnect], "{ended:?}");
        assert_eq!(ended[0].reason, DisconnectReason::ClientRequest as u16);
        peer.shutdown();
    }

    #[test]
    fn a_certificate_other_than_the_pinned_one_is_a_security_exception_naming_it() {
        let issued = issue();
        let port = serve(&issued, Behaviour::Echo);
        let peer = new_peer();
        connect(&peer, &format!("wss://127.0.0.1:{port}/"), CertificateCheck::Fingerprint([7; 32]));
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
        let got = sealnet::protocol::noise::hex(&certificate_fingerprint(&issued.chain[0]));
        let expected = format!("the server's certificate does not match the pinned fingerprint: got {got}");
        assert_eq!(statuses[0].message, expected);
        assert_eq!(peer.state(), PeerState::Disconnected);
        peer.shutdown();
    }

    #[test]
    fn a_ca_file_admits_its_certificates_for_their_names_and_the_system_store_does_not() {
        let issued = issue();
        let dir = std::env::temp_dir().join(format!("sealnet-wss-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, &issued.ca_pem).unwrap();

        for host in ["localhost", "127.0.0.1"] {
            let port = serve(&issued, Behaviour::Echo);
            let peer = new_peer();
            connect(&peer, &format!("wss://{host}:{port}/"), CertificateCheck::CaFile(ca_file.clone()));
            let connected = statuses_until(&peer, StatusCode::EncryptionEstablished);
            assert_eq!(codes(&connected), [StatusCode::Connect, StatusCode::EncryptionEstablished], "{host}");
            peer.shutdown();
        }

        // A name the certificate does not carry.
        let port = serve(&issued, Behaviour::Echo);
        let peer = new_peer();
        connect(&peer, &format!("wss://game.test:{port}/"), CertificateCheck::CaFile(ca_file.clone()));
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
        assert!(statuses[0].message.contains("is not trusted (the CA file"), "{}", statuses[0].message);
        peer.shutdown();

        // The system's store knows nothing of the test's CA (or has no root at all): refused either way.
        let port = serve(&issued, Behaviour::Echo);
        let peer = new_peer();
        connect(&peer, &format!("wss://localhost:{port}/"), CertificateCheck::SystemRoots);
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        assert_eq!(codes(&statuses), [StatusCode::SecurityExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
        peer.shutdown();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_connect_timeout_bounds_a_server_that_accepts_and_says_nothing() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepted by the kernel's backlog and never answered: the TLS handshake cannot progress.
        let resolver = Resolver::new(|_, port| Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))]));
        let mut config = PeerConfig { resolver, ..PeerConfig::default() };
        config.session.connect_timeout = Duration::from_millis(600);
        let peer = Peer::new(config);
        let started = std::time::Instant::now();
        // A pin rather than the system roots: the outcome must not depend on this machine's trust store.
        connect(&peer, &format!("wss://localhost:{port}/"), CertificateCheck::Fingerprint([0; 32]));
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        let took = started.elapsed();
        assert_eq!(codes(&statuses), [StatusCode::TimeoutDisconnect, StatusCode::Disconnect], "{statuses:?}");
        assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "{took:?}");
        peer.shutdown();
        drop(listener);
    }

    #[test]
    fn a_server_that_does_not_speak_tls_fails_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let Ok((mut tcp, _)) = listener.accept() else { return };
            let _ = std::io::Write::write_all(&mut tcp, b"HTTP/1.1 400 Bad Request\r\n\r\n");
        });
        let peer = new_peer();
        connect(&peer, &format!("wss://localhost:{port}/"), CertificateCheck::Fingerprint([0; 32]));
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        assert_eq!(codes(&statuses), [StatusCode::ExceptionOnConnect, StatusCode::Disconnect], "{statuses:?}");
        assert!(statuses[0].message.contains("TLS handshake with localhost failed"), "{}", statuses[0].message);
        peer.shutdown();
    }

    #[test]
    fn a_text_message_ends_the_connection() {
        let issued = issue();
        let port = serve(&issued, Behaviour::Text);
        let peer = new_peer();
        connect(
            &peer,
            &format!("wss://localhost:{port}/"),
            CertificateCheck::Fingerprint(certificate_fingerprint(&issued.chain[0])),
        );
        let statuses = statuses_until(&peer, StatusCode::Disconnect);
        let received = statuses.iter().find(|info| info.code == StatusCode::ExceptionOnReceive);
        let received = received.unwrap_or_else(|| panic!("no ExceptionOnReceive: {statuses:?}"));
        assert!(received.message.contains("text WebSocket message"), "{}", received.message);
        peer.shutdown();
    }

    #[test]
    fn a_noise_pin_and_auth_once_are_refused_over_wss() {
        let peer = new_peer();
        let options = ConnectOptions {
            address: "wss://localhost:9/",
            app_id: "demo",
            app_version: None,
            pin: PinChoice::Key([1; 32]),
            auth: None,
        };
        let error = peer.connect_over(TransportKind::WebSocketSecure, &options).unwrap_err();
        assert!(error.to_string().contains("cannot be checked over WSS"), "{error}");
        let options = ConnectOptions { pin: PinChoice::None, ..options };
        let security = ConnectSecurity { auth_once: true, ..ConnectSecurity::default() };
        let error = peer.connect_secured(TransportKind::WebSocketSecure, &options, &security).unwrap_err();
        assert!(error.to_string().contains("auth_once is for UDP and TCP"), "{error}");
        let error =
            peer.connect_secured(TransportKind::Udp, &ConnectOptions { address: "127.0.0.1:9", ..options }, &security);
        assert!(error.unwrap_err().to_string().contains("this peer holds none"));
        let error =
            peer.connect_over(TransportKind::WebSocketSecure, &ConnectOptions { address: "127.0.0.1:9", ..options });
        assert!(matches!(error, Err(sealnet::peer::PeerError::InvalidUrl(_))), "{error:?}");
        assert_eq!(peer.state(), PeerState::Disconnected);
    }
}
