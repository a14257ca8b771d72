//! The custom-auth webhook client (docs/auth.md §2, §3): one signed JSON `POST` per Authenticate, to
//! the studio's backend, and the strict reading of its reply.
//!
//! What bounds a call:
//! - **Time.** The whole call, waiting for a slot, retries and backoff included, ends by one deadline
//!   (`timeout`, 1 s by default); each attempt gets what is left of it. A player waiting on a slow
//!   backend holds a connection slot on this server, so the budget is what keeps a backend outage from
//!   turning into a server outage.
//! - **Concurrency.** At most `max_outstanding` calls are in flight server-wide. A call waits (in
//!   order of arrival) for a slot within its budget, so a burst of logins is smoothed rather than
//!   refused, and fails with "too many outstanding authentication calls" when none frees in time.
//! - **Size.** A reply is read up to 4,096 bytes and no further, whatever its `Content-Length` says.
//!
//! Transient failures (HTTP 5xx, connection failures, timeouts) are retried after 25 ms, then 50 ms,
//! and so on, while attempts and budget last. Everything else that is not a well-formed reply is a
//! backend error and is not retried: a 4xx (401 is how a backend reports a bad signature) will not
//! heal by asking again within the same second.
//!
//! `Data` is measured as the compact JSON text this server re-serialises from what it parsed (no
//! whitespace, numbers in their shortest form), not as the bytes the backend sent: a backend that
//! pretty-prints is not charged for its indentation, and the limit bounds what the server keeps.
//!
//! Detail strings (for the server log) name statuses, field names, sizes and I/O errors; they never
//! hold the secret, the connection token, the request body or the URL (whose path or query may carry
//! an API key): logs name only the endpoint's scheme, host and port.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::{AuthContext, AuthRequest, AuthValue, WebhookOutcome};

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signing time, seconds since the Unix epoch (docs/auth.md §2.1).
pub const TIMESTAMP_HEADER: &str = "X-Sealnet-Timestamp";
/// The header carrying `v1=<hex>` (docs/auth.md §2.1).
pub const SIGNATURE_HEADER: &str = "X-Sealnet-Signature";

/// Shortest shared secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Largest reply body read; a longer one is a backend error.
pub const MAX_REPLY_BYTES: usize = 4096;
/// Limits on a successful reply (docs/auth.md §3, §3.1).
pub const MAX_USER_ID_BYTES: usize = 128;
pub const MAX_NICKNAME_BYTES: usize = 64;
pub const MAX_DATA_ENTRIES: usize = 32;
pub const MAX_DATA_KEY_BYTES: usize = 64;
/// At most this much of a rejection's `Message` reaches the client.
pub const MAX_MESSAGE_BYTES: usize = 200;

/// Defaults of [`WebhookSettings`], as docs/auth.md names them.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_MAX_DATA_BYTES: usize = 512;
pub const DEFAULT_MAX_OUTSTANDING: usize = 256;

/// The wait before the first retry; each later one waits twice as long as the one before.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
/// How much of a secret file is read: a secret line is far shorter, and reading a bounded amount keeps
/// a wrongly named file (a log, a device) from being slurped whole into memory.
const MAX_SECRET_FILE_BYTES: u64 = 4096;
/// The detail of a call that found every slot taken for its whole budget.
pub const TOO_MANY_OUTSTANDING: &str = "too many outstanding authentication calls";

/// How the webhook is called. [`WebhookSettings::new`] fills in the documented defaults.
#[derive(Clone)]
pub struct WebhookSettings {
    /// `https://…`, or `http://…` to a loopback host (any host with `allow_plain_http`). It may carry a
    /// query string, which is sent as configured.
    pub url: String,
    /// The shared secret, at least [`MIN_SECRET_BYTES`]; see [`load_secret`].
    pub secret: Zeroizing<Vec<u8>>,
    /// Sent in the body's `Static` object, in this order. Keys must be distinct.
    pub static_params: Vec<(String, String)>,
    pub allow_plain_http: bool,
    /// The whole call, waiting for a slot and retries included.
    pub timeout: Duration,
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Largest compact JSON text of a reply's `Data`.
    pub max_data_bytes: usize,
    /// Calls in flight at once, server-wide (at least 1).
    pub max_outstanding: usize,
    /// PEM certificates trusted for HTTPS in addition to the system's roots (a private CA, say).
    pub ca_file: Option<PathBuf>,
}

impl WebhookSettings {
    /// Settings for `url` and `secret` with every other field at its documented default.
    pub fn new(url: impl Into<String>, secret: Zeroizing<Vec<u8>>) -> WebhookSettings {
        WebhookSettings {
            url: url.into(),
            secret,
            static_params: Vec::new(),
            allow_plain_http: false,
            timeout: DEFAULT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
            ca_file: None,
        }
    }
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's path or query may hold an API key, so only its endpoint is shown; never the secret.
        let endpoint =
            reqwest::Url::parse(&self.url).map(|url| endpoint_of(&url)).unwrap_or_else(|_| "<invalid>".into());
        f.debug_struct("WebhookSettings")
            .field("url", &endpoint)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("static_params", &format_args!("<{} entries>", self.static_params.len()))
            .field("allow_plain_http", &self.allow_plain_http)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("max_data_bytes", &self.max_data_bytes)
            .field("max_outstanding", &self.max_outstanding)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Why the webhook cannot be set up. Never contains the secret, nor the URL beyond its host.
#[derive(Debug)]
pub enum WebhookConfigError {
    /// The URL does not parse, has no host, or a scheme other than http/https.
    InvalidUrl(String),
    /// `http://` to a host that is not loopback, without `allow_plain_http`.
    PlainHttp {
        host: String,
    },
    SecretTooShort {
        len: usize,
    },
    /// The secret file exists but group or others have access to it.
    SecretPermissions {
        path: PathBuf,
        mode: u32,
    },
    SecretMalformed {
        path: PathBuf,
        reason: &'static str,
    },
    SecretIo {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    CaFile {
        path: PathBuf,
        reason: String,
    },
    /// A number out of range, a duplicated static parameter.
    InvalidSetting(String),
    /// The HTTP client could not be built.
    Client(String),
}

impl fmt::Display for WebhookConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookConfigError::InvalidUrl(reason) => write!(f, "webhook url is not usable: {reason}"),
            WebhookConfigError::PlainHttp { host } => write!(
                f,
                "webhook url uses plain http:// to {host}, which is not a loopback address: use https://, or set \
                 allow_plain_http = true if the whole network path to the backend is trusted"
            ),
            WebhookConfigError::SecretTooShort { len } => write!(
                f,
                "the webhook secret is {len} bytes; it must be at least {MIN_SECRET_BYTES} \
                 (sealnet-backend gen-secret writes one)"
            ),
            WebhookConfigError::SecretPermissions { path, mode } => write!(
                f,
                "webhook secret file {} has mode {mode:04o}: group and others must have no access to the shared \
                 secret (fix with: chmod 600 {})",
                path.display(),
                path.display()
            ),
            WebhookConfigError::SecretMalformed { path, reason } => {
                write!(f, "webhook secret file {} {reason}", path.display())
            }
            WebhookConfigError::SecretIo { path, action, error } => {
                write!(f, "cannot {action} webhook secret file {}: {error}", path.display())
            }
            WebhookConfigError::CaFile { path, reason } => {
                write!(f, "cannot use webhook CA file {}: {reason}", path.display())
            }
            WebhookConfigError::InvalidSetting(message) => write!(f, "invalid webhook setting: {message}"),
            WebhookConfigError::Client(message) => write!(f, "cannot set up the webhook's HTTP client: {message}"),
        }
    }
}

impl std::error::Error for WebhookConfigError {}

/// Reads the shared secret: the bytes of the file's first line, without its line ending (`\n` or
/// `\r\n`); nothing else on the line is trimmed, since the backend signs with the same bytes. A file
/// that group or others may access is refused, as is a secret under [`MIN_SECRET_BYTES`].
pub fn load_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, WebhookConfigError> {
    let io_error = |action| move |error| WebhookConfigError::SecretIo { path: path.to_owned(), action, error };
    let mut file = OpenOptions::new().read(true).open(path).map_err(io_error("open"))?;
    let metadata = file.metadata().map_err(io_error("inspect"))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(WebhookConfigError::SecretPermissions { path: path.to_owned(), mode });
    }
    if !metadata.is_file() {
        return Err(WebhookConfigError::SecretMalformed { path: path.to_owned(), reason: "is not a regular file" });
    }
    // Capacity for everything that is read, so the buffer never reallocates and leaves an unwiped copy.
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_SECRET_FILE_BYTES as usize + 1));
    (&mut file).take(MAX_SECRET_FILE_BYTES + 1).read_to_end(&mut text).map_err(io_error("read"))?;
    let line = match text.iter().position(|&byte| byte == b'\n') {
        Some(end) => &text[..end],
        None if text.len() as u64 > MAX_SECRET_FILE_BYTES => {
            return Err(WebhookConfigError::SecretMalformed {
                path: path.to_owned(),
                reason: "has a first line longer than 4096 bytes",
            })
        }
        None => &text[..],
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() < MIN_SECRET_BYTES {
        return Err(WebhookConfigError::SecretTooShort { len: line.len() });
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// The `X-Sealnet-Signature` value for a request signed at `timestamp` (seconds since the Unix epoch)
/// with `body`: `v1=` and the lowercase hex HMAC-SHA256 of `<timestamp>.<body>` (docs/auth.md §2.1).
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    sign_with(mac, &timestamp.to_string(), body)
}

/// Signs with a keyed HMAC state, so the raw secret need not be kept once the webhook is built.
fn sign_with(mut mac: HmacSha256, timestamp: &str, body: &[u8]) -> String {
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(3 + tag.len() * 2);
    text.push_str("v1=");
    for byte in tag.iter() {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// The webhook client: one HTTP connection pool and one bound on calls in flight, shared by clones.
#[derive(Clone)]
pub struct Webhook {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    url: reqwest::Url,
    /// scheme://host:port, the only part of the URL that is logged.
    endpoint: String,
    /// Keyed with the shared secret; cloned per request.
    mac: HmacSha256,
    static_params: Vec<(String, String)>,
    timeout: Duration,
    max_attempts: u32,
    max_data_bytes: usize,
    max_outstanding: usize,
    permits: Semaphore,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("endpoint", &self.inner.endpoint)
            .field("timeout", &self.inner.timeout)
            .field("max_attempts", &self.inner.max_attempts)
            .field("outstanding", &self.outstanding())
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Checks the settings and builds the client. The secret is kept only as a keyed HMAC state.
    pub fn new(settings: WebhookSettings) -> Result<Webhook, WebhookConfigError> {
        let WebhookSettings {
            url,
            secret,
            static_params,
            allow_plain_http,
            timeout,
            max_attempts,
            max_data_bytes,
            max_outstanding,
            ca_file,
        } = settings;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WebhookConfigError::SecretTooShort { len: secret.len() });
        }
        let invalid = |message: String| Err(WebhookConfigError::InvalidSetting(message));
        if timeout.is_zero() {
            return invalid("the webhook timeout must be more than 0 ms".into());
        }
        if max_attempts == 0 {
            return invalid("max_attempts must be at least 1".into());
        }
        if max_outstanding == 0 || max_outstanding > Semaphore::MAX_PERMITS {
            return invalid(format!("max_outstanding must be 1 to {}", Semaphore::MAX_PERMITS));
        }
        for (index, (key, _)) in static_params.iter().enumerate() {
            if static_params[..index].iter().any(|(earlier, _)| earlier == key) {
                return invalid(format!("static parameter {key:?} is given twice"));
            }
        }
        let url = check_url(&url, allow_plain_http)?;
        let endpoint = endpoint_of(&url);
        if url.scheme() == "http" && !url.host_str().is_some_and(is_loopback_host) {
            let endpoint = endpoint.as_str();
            tracing::warn!(endpoint, "the authentication webhook is called over plain http:// (allow_plain_http)");
        }
        let extra_roots = match &ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };

        // reqwest is built without a crypto provider of its own (see Cargo.toml) and uses the process
        // default. An error here means some other part of the process installed one first; that one
        // is then used, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            // A redirect would send the signed body somewhere the configuration did not name; a 3xx is
            // a backend error like any other status but 200.
            .redirect(reqwest::redirect::Policy::none())
            // Server to server, to a configured address: an HTTP(S)_PROXY meant for people's tools
            // must not reroute the call.
            .no_proxy()
            .user_agent(concat!("sealnet-server/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(max_outstanding)
            .tls_certs_merge(extra_roots)
            .build()
            .map_err(|error| WebhookConfigError::Client(error_chain(&error)))?;

        let mac = HmacSha256::new_from_slice(&secret).expect("HMAC accepts keys of any length");
        drop(secret);
        Ok(Webhook {
            inner: Arc::new(Inner {
                client,
                url,
                endpoint,
                mac,
                static_params,
                timeout,
                max_attempts,
                max_data_bytes,
                max_outstanding,
                permits: Semaphore::new(max_outstanding),
            }),
        })
    }

    /// Asks the backend about one Authenticate, within the configured `timeout`.
    pub async fn authenticate(&self, request: &AuthRequest) -> WebhookOutcome {
        self.authenticate_within(request, self.inner.timeout).await
    }

    /// As [`authenticate`](Self::authenticate), within `budget` when that is shorter than the
    /// configured timeout: for a caller with a deadline of its own (a connection about to time out).
    pub async fn authenticate_within(&self, request: &AuthRequest, budget: Duration) -> WebhookOutcome {
        let inner = &*self.inner;
        let budget = budget.min(inner.timeout);
        let started = Instant::now();
        let deadline = started + budget;
        let body = inner.request_body(request);
        let attempts = AtomicU32::new(0);
        let outcome = match tokio::time::timeout_at(deadline, inner.permits.acquire()).await {
            // The semaphore is never closed, so an error is a timeout too.
            Err(_) | Ok(Err(_)) => unavailable(TOO_MANY_OUTSTANDING.to_owned()),
            Ok(Ok(_permit)) => {
                match tokio::time::timeout_at(deadline, inner.call(&body, budget, deadline, &attempts)).await {
                    Ok(outcome) => outcome,
                    Err(_) => unavailable(format!(
                        "no usable answer within the {} ms budget ({} attempt(s))",
                        budget.as_millis(),
                        attempts.load(Ordering::Relaxed)
                    )),
                }
            }
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let endpoint = inner.endpoint.as_str();
        match &outcome {
            WebhookOutcome::Accepted(context) => {
                let user_id = context.user_id.as_str();
                tracing::debug!(endpoint, elapsed_ms, user_id, "authentication webhook accepted the player");
            }
            WebhookOutcome::Rejected { .. } => {
                tracing::debug!(endpoint, elapsed_ms, "authentication webhook rejected the player (2)");
            }
            WebhookOutcome::Refused { logged_message } => {
                let message = logged_message.as_deref().unwrap_or("");
                tracing::debug!(endpoint, elapsed_ms, message, "authentication webhook refused the player (3)");
            }
            WebhookOutcome::Unavailable { detail, transient } => {
                let detail = detail.as_str();
                tracing::warn!(endpoint, elapsed_ms, detail, transient, "authentication webhook unavailable");
            }
        }
        outcome
    }

    /// Calls in flight right now (each holds one of `max_outstanding` slots).
    pub fn outstanding(&self) -> usize {
        self.inner.max_outstanding - self.inner.permits.available_permits()
    }
}

impl Inner {
    fn request_body(&self, request: &AuthRequest) -> Vec<u8> {
        let base64 = &base64::engine::general_purpose::STANDARD;
        let body = RequestBody {
            app_id: &request.app_id,
            app_version: &request.app_version,
            connection_token: base64.encode(&request.connection_token),
            user_id: request.user_id.as_deref(),
            auth_params: StringMap(&request.params),
            auth_data: request.auth_data.as_ref().map(|data| base64.encode(data)),
            // SocketAddr's Display is `ip:port`, `[ip]:port` for IPv6, as §2 asks.
            client_address: request.client_address.to_string(),
            static_params: StringMap(&self.static_params),
        };
        serde_json::to_vec(&body).expect("strings and string maps always serialise")
    }

    /// The retry loop; the caller bounds it by `deadline` as a whole.
    async fn call(&self, body: &[u8], budget: Duration, deadline: Instant, attempts: &AtomicU32) -> WebhookOutcome {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            attempts.store(attempt, Ordering::Relaxed);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let detail = match self.attempt(body, remaining).await {
                Ok(outcome) => return outcome,
                Err(transient) => transient,
            };
            if attempt >= self.max_attempts {
                return unavailable(format!("{detail} (attempt {attempt} of {})", self.max_attempts));
            }
            if Instant::now() + backoff >= deadline {
                return unavailable(format!(
                    "{detail} (attempt {attempt}; the {} ms budget leaves no time to retry)",
                    budget.as_millis()
                ));
            }
            let (endpoint, backoff_ms) = (self.endpoint.as_str(), backoff.as_millis() as u64);
            tracing::debug!(endpoint, attempt, detail, backoff_ms, "authentication webhook attempt failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    /// One request. `Err` is a transient failure (worth retrying); `Ok` is final, backend errors
    /// included.
    async fn attempt(&self, body: &[u8], remaining: Duration) -> Result<WebhookOutcome, String> {
        let timestamp = unix_seconds().to_string();
        let signature = sign_with(self.mac.clone(), &timestamp, body);
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_vec())
            .timeout(remaining)
            .send()
            .await;
        let mut response = sent.map_err(describe_send_error)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(format!("the backend answered HTTP {status}"));
        }
        if status != reqwest::StatusCode::OK {
            return Ok(backend_error(format!("the backend answered HTTP {status}, not 200")));
        }
        match read_bounded(&mut response).await {
            Ok(reply) => Ok(parse_reply(&reply, self.max_data_bytes)),
            Err(BodyError::TooLarge) => Ok(backend_error(format!("the reply is longer than {MAX_REPLY_BYTES} bytes"))),
            // The connection broke mid-reply: as transient as one that broke before it.
            Err(BodyError::Read(error)) => {
                Err(format!("reading the reply failed: {}", error_chain(&error.without_url())))
            }
        }
    }
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// Reads the reply body chunk by chunk, stopping as soon as it passes [`MAX_REPLY_BYTES`].
async fn read_bounded(response: &mut reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > MAX_REPLY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(declared.map_or(1024, |length| length as usize));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transient failure: the backend did not answer usably in time (worth trying again later).
fn unavailable(detail: String) -> WebhookOutcome {
    WebhookOutcome::Unavailable { detail, transient: true }
}

/// The backend answered, but wrongly (a status other than 200 and 5xx, a reply that breaks the
/// contract): a fault of the backend or of its configuration, not an outage.
fn backend_error(detail: String) -> WebhookOutcome {
    WebhookOutcome::Unavailable { detail, transient: false }
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// A reqwest error and its causes. Callers strip the URL first where the error carries one (it may hold
/// an API key in its query).
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = cause {
        let piece = current.to_string();
        // Wrappers often repeat their cause's text; say it once.
        if !text.ends_with(&piece) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&piece);
        }
        cause = current.source();
    }
    text
}

fn describe_send_error(error: reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer in the time left"
    } else if error.is_connect() {
        "cannot connect to the backend"
    } else {
        "the request failed"
    };
    format!("{what}: {}", error_chain(&error.without_url()))
}

/// Parses and checks the webhook URL against docs/auth.md §2.2.
fn check_url(text: &str, allow_plain_http: bool) -> Result<reqwest::Url, WebhookConfigError> {
    let url = reqwest::Url::parse(text.trim()).map_err(|error| WebhookConfigError::InvalidUrl(error.to_string()))?;
    let host = match url.host_str() {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => return Err(WebhookConfigError::InvalidUrl("it has no host".into())),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_plain_http || is_loopback_host(&host) => {}
        "http" => return Err(WebhookConfigError::PlainHttp { host }),
        other => {
            return Err(WebhookConfigError::InvalidUrl(format!(
                "its scheme is {other}:, not https: (or http: to a loopback address)"
            )))
        }
    }
    Ok(url)
}

/// `localhost`, 127.0.0.0/8 or ::1. Other names are not resolved here: what a name resolves to can
/// change after start-up, so only a name that means loopback by definition counts.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn endpoint_of(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, WebhookConfigError> {
    let ca_error = |reason: String| WebhookConfigError::CaFile { path: path.to_owned(), reason };
    let pem = std::fs::read(path).map_err(|error| ca_error(error.to_string()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| ca_error(error_chain(&error)))?;
    if certificates.is_empty() {
        return Err(ca_error("it holds no PEM certificate".into()));
    }
    Ok(certificates)
}

/// The request body of docs/auth.md §2, fields in the table's order.
#[derive(Serialize)]
struct RequestBody<'a> {
    #[serde(rename = "AppId")]
    app_id: &'a str,
    #[serde(rename = "AppVersion")]
    app_version: &'a str,
    #[serde(rename = "ConnectionToken")]
    connection_token: String,
    #[serde(rename = "UserId", skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(rename = "AuthParams")]
    auth_params: StringMap<'a>,
    #[serde(rename = "AuthData", skip_serializing_if = "Option::is_none")]
    auth_data: Option<String>,
    #[serde(rename = "ClientAddress")]
    client_address: String,
    #[serde(rename = "Static")]
    static_params: StringMap<'a>,
}

/// Pairs written as a JSON object, in their order.
struct StringMap<'a>(&'a [(String, String)]);

impl Serialize for StringMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

/// The fields of a reply this server reads; others are ignored. Fields are kept as parsed and checked
/// only once `ResultCode` says which of them matter, so a rejection is not spoilt by, say, a stale
/// `Data` field the backend did not mean to send.
#[derive(Default)]
struct Reply {
    result_code: Option<Value>,
    user_id: Option<Value>,
    nickname: Option<Value>,
    data: Option<DataField>,
    message: Option<Value>,
    /// The first field that appeared twice (a backend error; JSON parsers disagree on which copy wins).
    duplicate: Option<&'static str>,
}

/// `Data` as sent: an object's entries in their order (a `Value` would sort them), or another kind.
enum DataField {
    Object(Vec<(String, Value)>),
    Null,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Reply {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ReplyVisitor;
        impl<'de> Visitor<'de> for ReplyVisitor {
            type Value = Reply;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reply, A::Error> {
                fn put<T>(slot: &mut Option<T>, value: T, name: &'static str, duplicate: &mut Option<&'static str>) {
                    if slot.is_some() {
                        duplicate.get_or_insert(name);
                    }
                    *slot = Some(value);
                }
                let mut reply = Reply::default();
                while let Some(key) = map.next_key::<String>()? {
                    let duplicate = &mut reply.duplicate;
                    match key.as_str() {
                        "ResultCode" => put(&mut reply.result_code, map.next_value()?, "ResultCode", duplicate),
                        "UserId" => put(&mut reply.user_id, map.next_value()?, "UserId", duplicate),
                        "Nickname" => put(&mut reply.nickname, map.next_value()?, "Nickname", duplicate),
                        "Data" => put(&mut reply.data, map.next_value()?, "Data", duplicate),
                        "Message" => put(&mut reply.message, map.next_value()?, "Message", duplicate),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(reply)
            }
        }
        deserializer.deserialize_map(ReplyVisitor)
    }
}

impl<'de> Deserialize<'de> for DataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = DataField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataField, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(DataField::Object(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DataField, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(DataField::Other("an array"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<DataField, E> {
                Ok(DataField::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<DataField, E> {
                Ok(DataField::Other("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<DataField, E> {
                Ok(DataField::Other("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<DataField, E> {
                Ok(DataField::Other("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<DataField, E> {
                Ok(DataField::Other("a number"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<DataField, E> {
                Ok(DataField::Other("a string"))
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

/// Turns a 200 reply's body into an outcome (docs/auth.md §3).
fn parse_reply(body: &[u8], max_data_bytes: usize) -> WebhookOutcome {
    let reply: Reply = match serde_json::from_slice(body) {
        Ok(reply) => reply,
        // Only a top-level value of the wrong kind gets here as a data error, and serde's text for it
        // would quote the value (a string the backend sent, say): name the position instead.
        Err(error) if error.is_data() => {
            return backend_error(format!(
                "the reply is JSON but not an object (line {}, column {})",
                error.line(),
                error.column()
            ))
        }
        Err(error) => return backend_error(format!("the reply is not JSON: {error}")),
    };
    if let Some(field) = reply.duplicate {
        return backend_error(format!("the reply has the field {field} twice"));
    }
    let code = match &reply.result_code {
        None => return backend_error("the reply has no ResultCode".into()),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(code) => code,
            None => return backend_error("ResultCode is not an integer".into()),
        },
        Some(other) => return backend_error(format!("ResultCode is {}, not an integer", kind_of(other))),
    };
    let result = match code {
        0 | 1 => accepted(reply, max_data_bytes).map(WebhookOutcome::Accepted),
        2 => optional_string(reply.message, "Message")
            .map(|message| WebhookOutcome::Rejected { message: message.map(cut_to_message_limit) }),
        3 => optional_string(reply.message, "Message")
            .map(|message| WebhookOutcome::Refused { logged_message: message.map(cut_to_message_limit) }),
        other => Err(format!("ResultCode {other} is not 0 to 3")),
    };
    result.unwrap_or_else(backend_error)
}

fn accepted(reply: Reply, max_data_bytes: usize) -> Result<AuthContext, String> {
    let user_id = match reply.user_id {
        None | Some(Value::Null) => return Err("a success without UserId".into()),
        Some(Value::String(user_id)) => user_id,
        Some(other) => return Err(format!("UserId is {}, not a string", kind_of(&other))),
    };
    if user_id.is_empty() || user_id.len() > MAX_USER_ID_BYTES {
        return Err(format!("UserId is {} bytes; it must be 1 to {MAX_USER_ID_BYTES}", user_id.len()));
    }
    let nickname = optional_string(reply.nickname, "Nickname")?.unwrap_or_default();
    if nickname.len() > MAX_NICKNAME_BYTES {
        return Err(format!("Nickname is {} bytes; at most {MAX_NICKNAME_BYTES} are allowed", nickname.len()));
    }
    let data = match reply.data {
        None | Some(DataField::Null) => Vec::new(),
        Some(DataField::Other(kind)) => return Err(format!("Data is {kind}, not an object")),
        Some(DataField::Object(entries)) => check_data(entries, max_data_bytes)?,
    };
    Ok(AuthContext { user_id, nickname, data })
}

/// Applies docs/auth.md §3.1 to `Data`'s entries, keeping their order.
fn check_data(entries: Vec<(String, Value)>, max_data_bytes: usize) -> Result<Vec<(String, AuthValue)>, String> {
    if entries.len() > MAX_DATA_ENTRIES {
        return Err(format!("Data has {} entries; at most {MAX_DATA_ENTRIES} are allowed", entries.len()));
    }
    let size = compact_json_size(&entries);
    if size > max_data_bytes {
        return Err(format!("Data is {size} bytes as compact JSON; at most {max_data_bytes} are allowed"));
    }
    let mut data: Vec<(String, AuthValue)> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if key.is_empty() || key.len() > MAX_DATA_KEY_BYTES {
            return Err(format!("a Data key is {} bytes; keys must be 1 to {MAX_DATA_KEY_BYTES}", key.len()));
        }
        if data.iter().any(|(earlier, _)| *earlier == key) {
            return Err(format!("the Data key {key:?} appears twice"));
        }
        let value = match value {
            Value::String(text) => AuthValue::String(text),
            Value::Bool(flag) => AuthValue::Bool(flag),
            // Integers within i64 stay integers; larger ones (u64 above i64::MAX; serde_json parses
            // still larger ones as doubles already) and numbers written with a fraction or an exponent
            // become doubles.
            Value::Number(number) => match number.as_i64() {
                Some(integer) => AuthValue::Int(integer),
                None => AuthValue::Double(number.as_f64().unwrap_or(f64::NAN)),
            },
            Value::Null => return Err(format!("the Data value of {key:?} is null")),
            nested @ (Value::Array(_) | Value::Object(_)) => {
                return Err(format!("the Data value of {key:?} is {}: Data must be flat", kind_of(&nested)))
            }
        };
        data.push((key, value));
    }
    Ok(data)
}

/// The length of `entries` written as one compact JSON object, counted without building the text.
fn compact_json_size(entries: &[(String, Value)]) -> usize {
    struct Entries<'a>(&'a [(String, Value)]);
    impl Serialize for Entries<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
        }
    }
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, &Entries(entries)).expect("parsed JSON values always serialise");
    counter.0
}

fn optional_string(value: Option<Value>, name: &str) -> Result<Option<String>, String> {
    match value {
        // Many backends write absent optional fields as null; that is not worth refusing a player over.
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format!("{name} is {}, not a string", kind_of(&other))),
    }
}

/// The first [`MAX_MESSAGE_BYTES`] bytes of `message`, less any character cut in two.
fn cut_to_message_limit(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
