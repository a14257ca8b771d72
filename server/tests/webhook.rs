//! The webhook client against a stub backend on real loopback sockets.
//!
//! The stub is a small HTTP/1.1 responder (keep-alive, optionally behind TLS) that checks every
//! request the way docs/auth.md §2 and §2.1 tell a backend to: both headers, the replay window, the
//! HMAC over `<t>.<body>` compared in constant time, and the body's fields and their types. A request
//! that fails a check gets 401 (signature) or 400 (body) and is recorded as a problem, so a test that
//! expects success also proves the request was well formed. What the stub answers is scripted per
//! test, by the index of the request; tests coordinate with it through channels and semaphores, never
//! through sleeps.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sealnet_server::auth::webhook::{self, Webhook, WebhookConfigError, WebhookSettings};
use sealnet_server::auth::{AuthContext, AuthRequest, AuthValue, WebhookOutcome};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use zeroize::Zeroizing;

/// The secret the stub verifies with.
const SECRET: &[u8] = b"test-secret-0123456789abcdef-0123456789";
/// A connection token, to check that no detail string ever contains it.
const TOKEN: &[u8] = b"session=8f0c2a61d4e94b7f;mode=ranked";

// A private CA and a certificate it issued for localhost and 127.0.0.1 (P-256, valid 2000 to 2100),
// made for these tests only; the key protects nothing else.
const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBdzCCAR6gAwIBAgICEAAwCgYIKoZIzj0EAwIwIjEgMB4GA1UEAwwXc2VhbG5l
dCB3ZWJob29rIHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAw
MDBaMCIxIDAeBgNVBAMMF3NlYWxuZXQgd2ViaG9vayB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEohXT9ihsleYVCp1aM4mjvXPVkpPDwx33NrteW69P
Bqj86BhuY27ZocUTrHw7xi9aTX9FxsKwq2vdQYpv31L5AKNCMEAwDwYDVR0TAQH/
BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFF0mKe40H3LOF6QDGTyQ
ltQb64GhMAoGCCqGSM49BAMCA0cAMEQCIB9N4OimIyDKpYKwRfKIw7tO3aflUXsH
rO0UeXK7beOnAiArYbW4nm2adD2xlSAQ5tVbsCiKh4Gins3Tq+Vf4Y8rwQ==
-----END CERTIFICATE-----
";
const TEST_LEAF_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBuzCCAWGgAwIBAgICEAEwCgYIKoZIzj0EAwIwIjEgMB4GA1UEAwwXc2VhbG5l
dCB3ZWJob29rIHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAw
MDBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABPG/LLHRBwZuWt9Ojfvk4ZZwcjCpxqcEYxeYKUYL2xZXR10//P+mgM0IWXrI
IFRnIfg7Fi7+O8yEE4FRr6UjBHKjgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNVHQ8B
Af8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYIJbG9jYWxo
b3N0hwR/AAABMB8GA1UdIwQYMBaAFF0mKe40H3LOF6QDGTyQltQb64GhMB0GA1Ud
DgQWBBTEpha2g6UwCjvtVQg14vueC+pCazAKBggqhkjOPQQDAgNIADBFAiEAoEaR
cVYbnChwdVwpm596uZIvvZTuGwm/byPnOx2ils4CIENyrelL7NyxVm2FqlwDasQx
YZS8vje01uCj5FlAuS6T
-----END CERTIFICATE-----
";
const TEST_LEAF_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQF4ATclvRntXVI4c
WPegDBRCgRs+0eWnZKD/N1NGD/ShRANCAATxvyyx0QcGblrfTo375OGWcHIwqcan
BGMXmClGC9sWV0ddP/z/poDNCFl6yCBUZyH4OxYu/jvMhBOBUa+lIwRy
-----END PRIVATE KEY-----
";

// ---------------------------------------------------------------------------------------------------
// The stub backend
// ---------------------------------------------------------------------------------------------------

/// What the stub does with one (valid) request.
#[derive(Clone)]
enum Action {
    /// Answer with this status and body.
    Reply(u16, String),
    /// Take one permit of the gate (the test adds them), then answer.
    Hold(Arc<Semaphore>, u16, String),
    /// Never answer; keep the connection open until the client gives up on it.
    Silent,
    /// Write these bytes as the whole response, then close.
    Raw(Vec<u8>),
}

type Script = Box<dyn Fn(usize) -> Action + Send + Sync>;

struct Shared {
    script: Script,
    requests: AtomicUsize,
    problems: Mutex<Vec<String>>,
    arrivals: mpsc::UnboundedSender<Value>,
}

struct Stub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    arrivals: mpsc::UnboundedReceiver<Value>,
}

impl Stub {
    async fn start(script: impl Fn(usize) -> Action + Send + Sync + 'static) -> Stub {
        Stub::start_with(Box::new(script), None).await
    }

    async fn start_tls(script: impl Fn(usize) -> Action + Send + Sync + 'static) -> Stub {
        Stub::start_with(Box::new(script), Some(tls_acceptor())).await
    }

    /// A stub that answers every request the same way.
    async fn always(action: Action) -> Stub {
        Stub::start(move |_| action.clone()).await
    }

    async fn start_with(script: Script, tls: Option<tokio_rustls::TlsAcceptor>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, arrivals) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            script,
            requests: AtomicUsize::new(0),
            problems: Mutex::new(Vec::new()),
            arrivals: sender,
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = accepting.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve(stream, shared).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, shared).await;
                            }
                        }
                    }
                });
            }
        });
        Stub { addr, shared, arrivals }
    }

    /// The webhook URL, with a query string, which must reach the backend as configured.
    fn url(&self) -> String {
        format!("http://{}/auth?tenant=test", self.addr)
    }

    /// Requests that reached the stub, valid or not.
    fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    fn problems(&self) -> Vec<String> {
        self.shared.problems.lock().unwrap().clone()
    }

    fn assert_all_valid(&self) {
        assert_eq!(self.problems(), Vec::<String>::new(), "the stub found problems in the requests");
    }

    /// Waits until the next valid request has reached the stub and returns its body. (The bound only
    /// keeps a broken test from hanging; it never decides an outcome.)
    async fn arrival(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.arrivals.recv())
            .await
            .expect("a request reaches the stub")
            .expect("the stub is running")
    }
}

struct RawRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut buffer).await {
        let index = shared.requests.fetch_add(1, Ordering::SeqCst);
        let action = match check_signature(&request) {
            Err(problem) => {
                shared.problems.lock().unwrap().push(problem);
                Action::Reply(401, r#"{"error":"unauthorized"}"#.into())
            }
            Ok(()) => match check_body(&request) {
                Err(problem) => {
                    shared.problems.lock().unwrap().push(problem);
                    Action::Reply(400, r#"{"error":"bad request"}"#.into())
                }
                Ok(body) => {
                    let _ = shared.arrivals.send(body);
                    (shared.script)(index)
                }
            },
        };
        match action {
            Action::Reply(status, body) => {
                if write_reply(&mut stream, status, &body).await.is_err() {
                    return;
                }
            }
            Action::Hold(gate, status, body) => {
                gate.acquire().await.unwrap().forget();
                if write_reply(&mut stream, status, &body).await.is_err() {
                    return;
                }
            }
            Action::Silent => {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
                return;
            }
            Action::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}

/// One request off a keep-alive connection; `None` at the end of the connection.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> Option<RawRequest> {
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).ok()?.to_owned();
            let mut lines = head.split("\r\n");
            let mut request_line = lines.next()?.split(' ');
            let method = request_line.next()?.to_owned();
            let target = request_line.next()?.to_owned();
            let mut headers = Vec::new();
            for line in lines {
                let (name, value) = line.split_once(':')?;
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.parse().ok())
                .unwrap_or(0);
            let start = end + 4;
            while buffer.len() < start + length {
                read_more(stream, buffer).await?;
            }
            let body = buffer[start..start + length].to_vec();
            buffer.drain(..start + length);
            return Some(RawRequest { method, target, headers, body });
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(read) => {
            buffer.extend_from_slice(&chunk[..read]);
            Some(())
        }
    }
}

async fn write_reply<S: AsyncWrite + Unpin>(stream: &mut S, status: u16, body: &str) -> std::io::Result<()> {
    // HTTP forbids a body with 204; one sent anyway would be read as the start of the next response.
    let body = if status == 204 { "" } else { body };
    // One write: a head and a body written apart would meet Nagle's algorithm and the client's delayed
    // ACK, and every reply would take some 40 ms.
    let response = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await
}

/// docs/auth.md §2.1, as a backend implements it.
fn check_signature(request: &RawRequest) -> Result<(), String> {
    let timestamp = request.header("X-Sealnet-Timestamp").ok_or("no timestamp header")?;
    let signature = request.header("X-Sealnet-Signature").ok_or("no signature header")?;
    if timestamp.is_empty() || !timestamp.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("timestamp {timestamp:?} is not a decimal integer"));
    }
    let signed_at: u64 = timestamp.parse().map_err(|_| "timestamp out of range")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    if now.abs_diff(signed_at) > 60 {
        return Err("timestamp outside the replay window".into());
    }
    let hex = signature
        .strip_prefix("v1=")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| format!("signature {signature:?} is not v1= and 64 lowercase hex digits"))?;
    let tag: Vec<u8> = (0..32).map(|index| u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).unwrap()).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    mac.verify_slice(&tag).map_err(|_| "signature mismatch".to_owned())
}

/// docs/auth.md §2: exactly the listed fields, each of its type.
fn check_body(request: &RawRequest) -> Result<Value, String> {
    if request.method != "POST" {
        return Err(format!("method {}", request.method));
    }
    if request.target != "/auth?tenant=test" && request.target != "/auth" {
        return Err(format!("target {} is not the configured one", request.target));
    }
    if request.header("Content-Type") != Some("application/json") {
        return Err(format!("content type {:?}", request.header("Content-Type")));
    }
    let body: Value = serde_json::from_slice(&request.body).map_err(|error| format!("body is not JSON: {error}"))?;
    let object = body.as_object().ok_or("body is not an object")?;
    const ALWAYS: [&str; 6] = ["AppId", "AppVersion", "ConnectionToken", "AuthParams", "ClientAddress", "Static"];
    const SOMETIMES: [&str; 2] = ["UserId", "AuthData"];
    for key in object.keys() {
        if !ALWAYS.contains(&key.as_str()) && !SOMETIMES.contains(&key.as_str()) {
            return Err(format!("unexpected field {key}"));
        }
    }
    for key in ALWAYS {
        if !object.contains_key(key) {
            return Err(format!("missing field {key}"));
        }
    }
    let base64 = &base64::engine::general_purpose::STANDARD;
    for key in ["AppId", "AppVersion", "ConnectionToken", "ClientAddress", "UserId", "AuthData"] {
        if object.get(key).is_some_and(|value| !value.is_string()) {
            return Err(format!("{key} is not a string"));
        }
    }
    for key in ["ConnectionToken", "AuthData"] {
        if let Some(text) = object.get(key).and_then(Value::as_str) {
            base64.decode(text).map_err(|error| format!("{key} is not standard base64: {error}"))?;
        }
    }
    for key in ["AuthParams", "Static"] {
        let map = object[key].as_object().ok_or_else(|| format!("{key} is not an object"))?;
        if !map.values().all(Value::is_string) {
            return Err(format!("{key} has a value that is not a string"));
        }
    }
    object["ClientAddress"]
        .as_str()
        .unwrap()
        .parse::<SocketAddr>()
        .map_err(|_| "ClientAddress is not ip:port".to_owned())?;
    Ok(body)
}

fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = vec![CertificateDer::from_pem_slice(TEST_LEAF_PEM.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(TEST_LEAF_KEY_PEM.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

fn request() -> AuthRequest {
    AuthRequest {
        app_id: "demo".into(),
        app_version: "1.2.3".into(),
        connection_token: TOKEN.to_vec(),
        user_id: Some("hint-7".into()),
        params: vec![("mode".into(), "ranked".into()), ("region".into(), "eu".into())],
        auth_data: Some(vec![0, 1, 2, 255]),
        client_address: "203.0.113.7:40000".parse().unwrap(),
    }
}

fn settings(url: &str) -> WebhookSettings {
    let mut settings = WebhookSettings::new(url, Zeroizing::new(SECRET.to_vec()));
    settings.static_params = vec![("api_key".into(), "key-123".into()), ("title".into(), "demo game".into())];
    settings
}

fn webhook_for(stub: &Stub) -> Webhook {
    Webhook::new(settings(&stub.url())).unwrap()
}

fn ok(status: u16, body: Value) -> Action {
    Action::Reply(status, body.to_string())
}

fn text(body: &str) -> Action {
    Action::Reply(200, body.to_owned())
}

fn success() -> Action {
    ok(200, json!({"ResultCode": 0, "UserId": "player-42"}))
}

/// One call against a stub that answers `action`; returns the outcome and the stub.
async fn call_once(action: Action) -> (WebhookOutcome, Stub) {
    let stub = Stub::always(action).await;
    let outcome = webhook_for(&stub).authenticate(&request()).await;
    (outcome, stub)
}

/// One call per action, in order, through one client against one stub (building a client costs more
/// than a call, so tests with many cases share one). Every request must have been valid.
async fn outcomes(actions: Vec<Action>) -> Vec<WebhookOutcome> {
    let count = actions.len();
    let stub = Stub::start(move |index| actions[index].clone()).await;
    let webhook = webhook_for(&stub);
    let mut outcomes = Vec::with_capacity(count);
    for _ in 0..count {
        outcomes.push(webhook.authenticate(&request()).await);
    }
    assert_eq!(stub.requests(), count, "one request per call");
    stub.assert_all_valid();
    outcomes
}

/// Asserts `outcome` is Unavailable with a detail that mentions `needle` and holds neither the secret
/// nor the connection token (raw or base64); returns the detail.
#[track_caller]
fn assert_unavailable(outcome: &WebhookOutcome, needle: &str) -> String {
    let WebhookOutcome::Unavailable { detail, .. } = outcome else {
        panic!("expected Unavailable ({needle}), got {outcome:?}");
    };
    assert!(detail.contains(needle), "detail {detail:?} does not mention {needle:?}");
    assert_clean(detail);
    detail.clone()
}

#[track_caller]
fn assert_clean(text: &str) {
    let secret = std::str::from_utf8(SECRET).unwrap();
    let token = std::str::from_utf8(TOKEN).unwrap();
    let token_base64 = base64::engine::general_purpose::STANDARD.encode(TOKEN);
    for forbidden in [secret, token, token_base64.as_str(), "key-123", "tenant=test"] {
        assert!(!text.contains(forbidden), "{text:?} leaks {forbidden:?}");
    }
}

fn accepted(user_id: &str, nickname: &str, data: Vec<(&str, AuthValue)>) -> WebhookOutcome {
    WebhookOutcome::Accepted(AuthContext {
        user_id: user_id.into(),
        nickname: nickname.into(),
        data: data.into_iter().map(|(key, value)| (key.to_owned(), value)).collect(),
    })
}

// ---------------------------------------------------------------------------------------------------
// Success
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn result_code_0_gives_the_context_with_data_in_the_order_sent() {
    // Written out by hand: the keys are deliberately not in sorted order.
    let reply = r#"{"ResultCode":0,"UserId":"player-42","Nickname":"Zoë","Data":{
        "level":12,"name":"Zoë the Brave","ratio":0.75,"vip":true,"debt":-9223372036854775808,
        "huge":18446744073709551615,"hundred":1e2,"off":false},"Extra":{"ignored":[1,2]}}"#;
    let (outcome, mut stub) = call_once(text(reply)).await;
    assert_eq!(
        outcome,
        accepted(
            "player-42",
            "Zoë",
            vec![
                ("level", AuthValue::Int(12)),
                ("name", AuthValue::String("Zoë the Brave".into())),
                ("ratio", AuthValue::Double(0.75)),
                ("vip", AuthValue::Bool(true)),
                ("debt", AuthValue::Int(i64::MIN)),
                ("huge", AuthValue::Double(18446744073709551615.0)),
                ("hundred", AuthValue::Double(100.0)),
                ("off", AuthValue::Bool(false)),
            ]
        )
    );
    stub.assert_all_valid();
    assert_eq!(stub.requests(), 1);

    // The body the backend got, field by field.
    let body = stub.arrival().await;
    assert_eq!(
        body,
        json!({
            "AppId": "demo",
            "AppVersion": "1.2.3",
            "ConnectionToken": base64::engine::general_purpose::STANDARD.encode(TOKEN),
            "UserId": "hint-7",
            "AuthParams": {"mode": "ranked", "region": "eu"},
            "AuthData": "AAEC/w==",
            "ClientAddress": "203.0.113.7:40000",
            "Static": {"api_key": "key-123", "title": "demo game"},
        })
    );
}

#[tokio::test]
async fn result_code_1_is_success_too_and_optional_request_fields_are_left_out() {
    let mut stub = Stub::start(|index| match index {
        0 => ok(200, json!({"ResultCode": 1, "UserId": "u"})),
        // Absent optional fields written as null, as many backends do, are taken as absent.
        _ => ok(200, json!({"ResultCode": 1, "UserId": "v", "Nickname": null, "Data": null, "Message": null})),
    })
    .await;
    let webhook = webhook_for(&stub);
    let request = AuthRequest {
        app_id: "demo".into(),
        app_version: "".into(),
        connection_token: Vec::new(),
        user_id: None,
        params: Vec::new(),
        auth_data: None,
        client_address: "[2001:db8::1]:5".parse().unwrap(),
    };
    assert_eq!(webhook.authenticate(&request).await, accepted("u", "", vec![]));
    assert_eq!(webhook.authenticate(&request).await, accepted("v", "", vec![]));
    stub.assert_all_valid();

    let body = stub.arrival().await;
    let object = body.as_object().unwrap();
    assert!(!object.contains_key("UserId") && !object.contains_key("AuthData"), "{body}");
    assert_eq!(body["ConnectionToken"], "");
    assert_eq!(body["AuthParams"], json!({}));
    assert_eq!(body["ClientAddress"], "[2001:db8::1]:5");
    assert_eq!(webhook.outstanding(), 0);
}

#[tokio::test]
async fn https_to_a_backend_under_a_private_ca_needs_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    fs::write(&ca_file, TEST_CA_PEM).unwrap();
    let stub = Stub::start_tls(|_| success()).await;
    let url = format!("https://127.0.0.1:{}/auth", stub.addr.port());

    let mut trusting = settings(&url);
    trusting.ca_file = Some(ca_file);
    let outcome = Webhook::new(trusting).unwrap().authenticate(&request()).await;
    assert_eq!(outcome, accepted("player-42", "", vec![]));
    assert_eq!(stub.requests(), 1);

    // Without the CA the certificate is unknown: the handshake fails and nothing is sent.
    let outcome = Webhook::new(settings(&url)).unwrap().authenticate(&request()).await;
    assert_unavailable(&outcome, "cannot connect to the backend");
    assert_eq!(stub.requests(), 1);
    stub.assert_all_valid();
}

// ---------------------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn result_code_2_passes_the_message_cut_to_200_bytes_on_a_character_boundary() {
    // 1 + 150 * 2 bytes; byte 200 falls inside an 'é', so 199 bytes remain.
    let long = format!("a{}", "é".repeat(150));
    let replies = [
        json!({"ResultCode": 2, "Message": long}),
        json!({"ResultCode": 2, "Message": "session expired, log in again"}),
        json!({"ResultCode": 2}),
        // What matters for a rejection is the message; leftovers of a success are not checked.
        json!({"ResultCode": 2, "Message": "banned", "Data": {"nested": {"x": 1}}, "UserId": 5}),
    ];
    let stub = Stub::start(move |index| ok(200, replies[index].clone())).await;
    let webhook = webhook_for(&stub);

    let WebhookOutcome::Rejected { message: Some(message) } = webhook.authenticate(&request()).await else {
        panic!("expected a rejection with a message");
    };
    assert_eq!(message.len(), 199);
    assert!(long.starts_with(&message));
    assert_eq!(
        webhook.authenticate(&request()).await,
        WebhookOutcome::Rejected { message: Some("session expired, log in again".into()) }
    );
    assert_eq!(webhook.authenticate(&request()).await, WebhookOutcome::Rejected { message: None });
    assert_eq!(webhook.authenticate(&request()).await, WebhookOutcome::Rejected { message: Some("banned".into()) });
    stub.assert_all_valid();
}

#[tokio::test]
async fn result_code_3_is_refused_with_the_message_kept_for_the_log() {
    let (outcome, stub) = call_once(ok(200, json!({"ResultCode": 3, "Message": "account 17 is banned"}))).await;
    // The variant is what reaches the client (a generic message); the text is only for the log.
    assert_eq!(outcome, WebhookOutcome::Refused { logged_message: Some("account 17 is banned".into()) });
    stub.assert_all_valid();
}

// ---------------------------------------------------------------------------------------------------
// Transient failures and time
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_5xx_is_retried_and_a_later_success_counts() {
    let stub = Stub::start(|index| if index < 2 { ok(503, json!({})) } else { success() }).await;
    let outcome = webhook_for(&stub).authenticate(&request()).await;
    assert_eq!(outcome, accepted("player-42", "", vec![]));
    assert_eq!(stub.requests(), 3, "two failures and the success");
    stub.assert_all_valid();
}

#[tokio::test]
async fn a_5xx_past_the_retries_is_unavailable() {
    let stub = Stub::always(ok(500, json!({"error": "database down"}))).await;
    let webhook = webhook_for(&stub);
    let outcome = webhook.authenticate(&request()).await;
    assert_unavailable(&outcome, "HTTP 500");
    assert_unavailable(&outcome, "attempt 3 of 3");
    assert!(matches!(outcome, WebhookOutcome::Unavailable { transient: true, .. }), "an outage");
    assert_eq!(stub.requests(), 3);

    let mut once = settings(&stub.url());
    once.max_attempts = 1;
    let outcome = Webhook::new(once).unwrap().authenticate(&request()).await;
    assert_unavailable(&outcome, "attempt 1 of 1");
    assert_eq!(stub.requests(), 4);
    stub.assert_all_valid();
}

#[tokio::test]
async fn a_backend_that_never_answers_is_given_up_on_at_the_budget() {
    let stub = Stub::always(Action::Silent).await;
    let webhook = webhook_for(&stub);
    let started = Instant::now();
    let outcome = webhook.authenticate(&request()).await;
    let elapsed = started.elapsed();
    assert_unavailable(&outcome, "1000 ms");
    assert!(elapsed >= Duration::from_millis(990), "gave up early, after {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?} for a 1 s budget");
    assert_eq!(stub.requests(), 1, "the only attempt used the whole budget");
    assert_eq!(webhook.outstanding(), 0);
    stub.assert_all_valid();
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unavailable() {
    // A port that was just free: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let webhook = Webhook::new(settings(&format!("http://127.0.0.1:{port}/auth?tenant=test"))).unwrap();
    let started = Instant::now();
    let outcome = webhook.authenticate(&request()).await;
    assert_unavailable(&outcome, "cannot connect to the backend");
    assert_unavailable(&outcome, "attempt 3 of 3");
    assert!(started.elapsed() < Duration::from_millis(900), "backoff of 25 + 50 ms, not the budget");
}

#[tokio::test]
async fn max_outstanding_bounds_the_calls_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let held = gate.clone();
    let mut stub = Stub::start(move |_| Action::Hold(held.clone(), 200, success_text())).await;
    let mut bounded = settings(&stub.url());
    bounded.max_outstanding = 2;
    bounded.timeout = Duration::from_secs(10);
    let webhook = Webhook::new(bounded).unwrap();
    let spawn_call = || {
        let webhook = webhook.clone();
        tokio::spawn(async move { webhook.authenticate(&request()).await })
    };

    let first = spawn_call();
    let second = spawn_call();
    stub.arrival().await;
    stub.arrival().await;
    assert_eq!(webhook.outstanding(), 2, "both calls are held by the backend");

    // A third call finds no slot within its budget and never reaches the backend.
    let started = Instant::now();
    let third = webhook.authenticate_within(&request(), Duration::from_millis(200)).await;
    assert_unavailable(&third, webhook::TOO_MANY_OUTSTANDING);
    assert!(started.elapsed() >= Duration::from_millis(190), "it waited for a slot within its budget");
    assert_eq!(stub.requests(), 2);

    // A call that waits for a slot gets one when a held call ends.
    let fourth = spawn_call();
    gate.add_permits(3);
    for call in [first, second, fourth] {
        assert_eq!(call.await.unwrap(), accepted("player-42", "", vec![]));
    }
    assert_eq!(stub.requests(), 3);
    assert_eq!(webhook.outstanding(), 0);
    stub.assert_all_valid();
}

fn success_text() -> String {
    json!({"ResultCode": 0, "UserId": "player-42"}).to_string()
}

// ---------------------------------------------------------------------------------------------------
// Backend errors
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_401_from_a_mismatched_secret_is_a_backend_error_without_retry() {
    let stub = Stub::always(success()).await;
    let mut wrong = settings(&stub.url());
    wrong.secret = Zeroizing::new(b"a different secret of at least 32 bytes".to_vec());
    let outcome = Webhook::new(wrong).unwrap().authenticate(&request()).await;
    assert_unavailable(&outcome, "HTTP 401");
    assert!(matches!(outcome, WebhookOutcome::Unavailable { transient: false, .. }), "a backend error");
    assert_eq!(stub.requests(), 1, "a 4xx is not retried");
    assert_eq!(stub.problems(), vec!["signature mismatch".to_owned()]);
}

#[tokio::test]
async fn other_statuses_than_200_are_backend_errors_and_redirects_are_not_followed() {
    let stub = Stub::start(|index| match index {
        0 => ok(404, json!({"ResultCode": 0, "UserId": "u"})),
        1 => ok(204, json!({})),
        _ => Action::Raw(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /auth\r\nContent-Length: 0\r\n\r\n".to_vec()),
    })
    .await;
    let webhook = webhook_for(&stub);
    assert_unavailable(&webhook.authenticate(&request()).await, "HTTP 404");
    assert_unavailable(&webhook.authenticate(&request()).await, "HTTP 204");
    assert_unavailable(&webhook.authenticate(&request()).await, "HTTP 307");
    assert_eq!(stub.requests(), 3, "one request each: no retry, no redirect followed");
    stub.assert_all_valid();
}

#[tokio::test]
async fn a_reply_that_is_not_a_json_object_is_a_backend_error() {
    let bodies = ["<html>502 Bad Gateway</html>", "", "[0, \"player-42\"]", "\"player-42\"", "{\"ResultCode\":0,"];
    let stub = Stub::start(move |index| text(bodies[index])).await;
    let webhook = webhook_for(&stub);
    assert_unavailable(&webhook.authenticate(&request()).await, "not JSON");
    assert_unavailable(&webhook.authenticate(&request()).await, "not JSON");
    let detail = assert_unavailable(&webhook.authenticate(&request()).await, "not an object");
    let detail_of_string = assert_unavailable(&webhook.authenticate(&request()).await, "not an object");
    assert!(!detail.contains("player-42") && !detail_of_string.contains("player-42"), "the body is not quoted");
    assert_unavailable(&webhook.authenticate(&request()).await, "not JSON");
    assert_eq!(stub.requests(), 5, "no retries");
    stub.assert_all_valid();
}

#[tokio::test]
async fn wrong_result_codes_and_user_ids_are_backend_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"UserId": "u"}), "no ResultCode"),
        (json!({"ResultCode": "0", "UserId": "u"}), "ResultCode is a string"),
        (json!({"ResultCode": 0.5, "UserId": "u"}), "ResultCode is not an integer"),
        (json!({"ResultCode": 4, "UserId": "u"}), "ResultCode 4 is not 0 to 3"),
        (json!({"ResultCode": -1, "UserId": "u"}), "ResultCode -1"),
        (json!({"ResultCode": 0}), "without UserId"),
        (json!({"ResultCode": 1, "UserId": null}), "without UserId"),
        (json!({"ResultCode": 0, "UserId": ""}), "UserId is 0 bytes"),
        (json!({"ResultCode": 0, "UserId": "x".repeat(129)}), "UserId is 129 bytes"),
        (json!({"ResultCode": 0, "UserId": 42}), "UserId is a number"),
        (json!({"ResultCode": 0, "UserId": "u", "Nickname": "n".repeat(65)}), "Nickname is 65 bytes"),
        (json!({"ResultCode": 0, "UserId": "u", "Nickname": ["n"]}), "Nickname is an array"),
        (json!({"ResultCode": 2, "Message": 7}), "Message is a number"),
    ];
    let mut actions: Vec<Action> = cases.iter().map(|(reply, _)| ok(200, reply.clone())).collect();
    // The limits themselves are allowed.
    actions.push(ok(200, json!({"ResultCode": 0, "UserId": "x".repeat(128), "Nickname": "n".repeat(64)})));
    // A field given twice: which copy a parser keeps differs, so neither is trusted.
    actions.push(text(r#"{"ResultCode":0,"UserId":"alice","UserId":"bob"}"#));

    let outcomes = outcomes(actions).await;
    for ((reply, needle), outcome) in cases.iter().zip(&outcomes) {
        assert!(matches!(outcome, WebhookOutcome::Unavailable { .. }), "{reply} gave {outcome:?}");
        assert_unavailable(outcome, needle);
    }
    assert_eq!(outcomes[cases.len()], accepted(&"x".repeat(128), &"n".repeat(64), vec![]));
    assert_unavailable(&outcomes[cases.len() + 1], "the field UserId twice");
}

#[tokio::test]
async fn nested_null_or_non_object_data_is_a_backend_error() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"inventory": {"sword": 1}}), "\"inventory\" is an object: Data must be flat"),
        (json!({"friends": ["a", "b"]}), "\"friends\" is an array"),
        (json!({"clan": null}), "\"clan\" is null"),
        (json!([1, 2]), "Data is an array, not an object"),
        (json!("level=3"), "Data is a string, not an object"),
    ];
    let actions =
        cases.iter().map(|(data, _)| ok(200, json!({"ResultCode": 0, "UserId": "u", "Data": data}))).collect();
    for ((_, needle), outcome) in cases.iter().zip(&outcomes(actions).await) {
        assert_unavailable(outcome, needle);
    }
}

#[tokio::test]
async fn data_limits_count_entries_keys_and_compact_json_text() {
    // {"k":"<n>"} is 8 + n bytes as compact JSON.
    let data_of = |n: usize| json!({"k": "v".repeat(n)});
    let reply_with = |data: Value| json!({"ResultCode": 0, "UserId": "u", "Data": data});

    let entries = |count: usize| Value::Object((0..count).map(|i| (format!("k{i}"), json!(i))).collect());
    let outcomes = outcomes(vec![
        // Exactly 512 bytes is allowed, also when the backend pretty-prints: whitespace is not counted.
        text(&serde_json::to_string_pretty(&reply_with(data_of(504))).unwrap()),
        ok(200, reply_with(data_of(505))),
        // 32 entries are allowed, 33 are not.
        ok(200, reply_with(entries(32))),
        ok(200, reply_with(entries(33))),
        // Keys are 1 to 64 bytes.
        ok(200, reply_with(json!({"k".repeat(64): 1}))),
        ok(200, reply_with(json!({"k".repeat(65): 1}))),
        ok(200, reply_with(json!({"": 1}))),
        // A key given twice.
        text(r#"{"ResultCode":0,"UserId":"u","Data":{"a":1,"a":2}}"#),
    ])
    .await;
    assert_eq!(outcomes[0], accepted("u", "", vec![("k", AuthValue::String("v".repeat(504)))]));
    assert_unavailable(&outcomes[1], "Data is 513 bytes as compact JSON; at most 512");
    let WebhookOutcome::Accepted(context) = &outcomes[2] else { panic!("32 entries: {:?}", outcomes[2]) };
    assert_eq!(context.data.len(), 32);
    assert_unavailable(&outcomes[3], "Data has 33 entries; at most 32");
    assert!(matches!(outcomes[4], WebhookOutcome::Accepted(_)), "{:?}", outcomes[4]);
    assert_unavailable(&outcomes[5], "a Data key is 65 bytes");
    assert_unavailable(&outcomes[6], "a Data key is 0 bytes");
    assert_unavailable(&outcomes[7], "the Data key \"a\" appears twice");

    // max_data_bytes is a setting.
    let stub = Stub::always(ok(200, reply_with(data_of(505)))).await;
    let mut roomy = settings(&stub.url());
    roomy.max_data_bytes = 1024;
    assert!(matches!(Webhook::new(roomy).unwrap().authenticate(&request()).await, WebhookOutcome::Accepted(_)));
}

#[tokio::test]
async fn a_reply_over_4096_bytes_is_not_read_past_the_limit() {
    // A reply of exactly 4,096 bytes (an unknown field pads it) is read; one byte more is not.
    let padded = |total: usize| {
        let frame = r#"{"ResultCode":0,"UserId":"u","Padding":""}"#;
        format!(r#"{{"ResultCode":0,"UserId":"u","Padding":"{}"}}"#, "p".repeat(total - frame.len()))
    };
    assert_eq!(padded(4096).len(), 4096);
    let outcomes = outcomes(vec![text(&padded(4096)), text(&padded(4097))]).await;
    assert_eq!(outcomes[0], accepted("u", "", vec![]));
    assert_unavailable(&outcomes[1], "longer than 4096 bytes");

    // Without a Content-Length (chunked) the body is cut off while it streams in: the stub sends 64 KiB.
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut chunk = |data: &str| chunked.extend_from_slice(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes());
    chunk(r#"{"ResultCode":0,"UserId":"u"#);
    for _ in 0..64 {
        chunk(&"u".repeat(1024));
    }
    chunk(r#""}"#);
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (outcome, stub) = call_once(Action::Raw(chunked)).await;
    assert_unavailable(&outcome, "longer than 4096 bytes");
    assert_eq!(stub.requests(), 1, "an oversized reply is not retried");
}

// ---------------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------------

#[track_caller]
fn refused(settings: WebhookSettings) -> WebhookConfigError {
    let error = Webhook::new(settings).unwrap_err();
    assert_clean(&error.to_string());
    error
}

#[test]
fn plain_http_is_only_for_loopback_unless_allowed() {
    // 192.0.2.0/24 is reserved for documentation; nothing is ever sent there (new() makes no call).
    let error = refused(settings("http://192.0.2.10/auth"));
    assert!(matches!(&error, WebhookConfigError::PlainHttp { host } if host == "192.0.2.10"), "{error}");
    assert!(error.to_string().contains("allow_plain_http"), "{error}");
    assert!(matches!(refused(settings("http://auth.example.com/")), WebhookConfigError::PlainHttp { .. }));

    let mut allowed = settings("http://192.0.2.10/auth");
    allowed.allow_plain_http = true;
    Webhook::new(allowed).unwrap();
    for loopback in ["http://127.0.0.1:8080/auth", "http://127.3.4.5/", "http://localhost:9/a?b=c", "http://[::1]:1/"] {
        Webhook::new(settings(loopback)).unwrap_or_else(|error| panic!("{loopback}: {error}"));
    }
    Webhook::new(settings("https://auth.example.com/sealnet?tenant=test")).unwrap();
}

#[test]
fn bad_urls_and_settings_are_refused_without_echoing_secrets() {
    for url in ["not a url", "ftp://auth.example.com/", "file:///etc/passwd", ""] {
        let error = refused(settings(url));
        assert!(matches!(error, WebhookConfigError::InvalidUrl(_)), "{url}: {error}");
    }

    let mut short = settings("https://auth.example.com/");
    short.secret = Zeroizing::new(b"only-31-bytes-of-secret-here-xx".to_vec());
    let error = refused(short);
    assert!(matches!(error, WebhookConfigError::SecretTooShort { len: 31 }), "{error}");
    assert!(!error.to_string().contains("only-31-bytes"), "{error}");

    let mut zero = settings("https://auth.example.com/");
    zero.timeout = Duration::ZERO;
    assert!(matches!(refused(zero), WebhookConfigError::InvalidSetting(_)));
    let mut zero = settings("https://auth.example.com/");
    zero.max_attempts = 0;
    assert!(matches!(refused(zero), WebhookConfigError::InvalidSetting(_)));
    let mut zero = settings("https://auth.example.com/");
    zero.max_outstanding = 0;
    assert!(matches!(refused(zero), WebhookConfigError::InvalidSetting(_)));
    let mut twice = settings("https://auth.example.com/");
    twice.static_params.push(("title".into(), "again".into()));
    assert!(matches!(refused(twice), WebhookConfigError::InvalidSetting(_)));

    // Debug output shows neither the secret nor the URL's path and query.
    let shown = format!("{:?}", settings("https://auth.example.com/hook?tenant=test"));
    assert_clean(&shown);
    assert!(shown.contains("https://auth.example.com"), "{shown}");
}

#[test]
fn an_unusable_ca_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut missing = settings("https://auth.example.com/");
    missing.ca_file = Some(dir.path().join("missing.pem"));
    assert!(matches!(refused(missing), WebhookConfigError::CaFile { .. }));

    let empty = dir.path().join("empty.pem");
    fs::write(&empty, "no certificates in here\n").unwrap();
    let mut no_certificates = settings("https://auth.example.com/");
    no_certificates.ca_file = Some(empty);
    let error = refused(no_certificates);
    assert!(matches!(error, WebhookConfigError::CaFile { .. }), "{error}");
}

#[test]
fn the_secret_file_is_its_first_line_and_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhook.secret");
    let secret = "b".repeat(64);
    fs::write(&path, format!("{secret}\r\nsecond line is not part of it\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(webhook::load_secret(&path).unwrap().as_slice(), secret.as_bytes());

    // Without a line ending, and with inner spaces kept.
    fs::write(&path, "a secret with spaces that is long enough").unwrap();
    assert_eq!(webhook::load_secret(&path).unwrap().as_slice(), b"a secret with spaces that is long enough");

    for mode in [0o644, 0o640, 0o604] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let error = webhook::load_secret(&path).unwrap_err();
        assert!(matches!(error, WebhookConfigError::SecretPermissions { mode: m, .. } if m == mode), "{error}");
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    fs::write(&path, "short\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let error = webhook::load_secret(&path).unwrap_err();
    assert!(matches!(error, WebhookConfigError::SecretTooShort { len: 5 }), "{error}");
    assert!(!error.to_string().contains("short\n"), "{error}");

    let error = webhook::load_secret(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(error, WebhookConfigError::SecretIo { .. }), "{error}");
}

#[test]
fn the_signature_matches_an_independent_computation() {
    // HMAC-SHA256 of "1700000000.{\"AppId\":\"demo\"}" under this key, computed with another
    // implementation (Python's hmac module).
    assert_eq!(
        webhook::sign(b"0123456789abcdef0123456789abcdef", 1_700_000_000, br#"{"AppId":"demo"}"#),
        "v1=40ee1ff76e281b095e2e395d289c88d8d59ee1aabb6105cbbbf107c470a4859f"
    );
}
