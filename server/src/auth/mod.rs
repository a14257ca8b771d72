//! Authentication on the server: who a connection's player is (its [`AuthContext`]), the custom-auth
//! webhook that asks the studio's backend (`webhook`), and the sealed server tokens that carry a
//! context from server to server (`token`). The contract with backends is docs/auth.md.

pub mod setup;
pub mod token;
pub mod webhook;

use std::net::SocketAddr;

/// A scalar the backend may put in `Data` (docs/auth.md §3.1).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthValue {
    String(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// Who a connection's player is, once authenticated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthContext {
    pub user_id: String,
    pub nickname: String,
    /// The backend's flat data, in the order it sent it.
    pub data: Vec<(String, AuthValue)>,
}

/// What the server tells the backend about one Authenticate (docs/auth.md §2). Its `Debug` shows
/// sizes, not the credentials.
#[derive(Clone)]
pub struct AuthRequest {
    pub app_id: String,
    pub app_version: String,
    /// At most 128 bytes (checked before a request is built).
    pub connection_token: Vec<u8>,
    pub user_id: Option<String>,
    pub params: Vec<(String, String)>,
    pub auth_data: Option<Vec<u8>>,
    pub client_address: SocketAddr,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("app_id", &self.app_id)
            .field("app_version", &self.app_version)
            .field("connection_token_len", &self.connection_token.len())
            .field("user_id", &self.user_id)
            .field("params", &self.params.len())
            .field("auth_data_len", &self.auth_data.as_ref().map(Vec::len))
            .field("client_address", &self.client_address)
            .finish()
    }
}

/// The backend's answer, as far as it may reach the client (docs/auth.md §3).
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookOutcome {
    /// ResultCode 0 or 1.
    Accepted(AuthContext),
    /// ResultCode 2: the client may see the message (at most 200 bytes, cut on a character boundary).
    Rejected { message: Option<String> },
    /// ResultCode 3: the client gets a generic message; the backend's message is for the server log.
    Refused { logged_message: Option<String> },
    /// No usable answer. `transient`: the backend did not answer in time (timeouts, 5xx past the
    /// retries, connection failures, every slot taken); otherwise it answered against the contract (a
    /// backend error). `detail` is for the server log only: it never holds the secret or the
    /// connection token.
    Unavailable { detail: String, transient: bool },
}

/// Milliseconds since the Unix epoch, as token lifetimes count them. Tests drive their own.
pub type WallClock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock as a [`WallClock`].
pub fn system_clock() -> WallClock {
    std::sync::Arc::new(|| {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// What checks a custom authentication: the webhook, or an embedder's own code.
pub trait AuthProvider: Send + Sync {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Decides about one player. Runs on its own task, so it may take its time waiting (the server
    /// bounds how many run at once); it must not panic. The task runs on the event loop of the
    /// player's shard, with the other connections of that shard: it must await, never block or
    /// compute for long (send such work to `tokio::task::spawn_blocking` or a runtime of its own).
    fn authenticate(&self, request: AuthRequest) -> ProviderFuture;
}

/// What [`AuthProvider::authenticate`] returns.
pub type ProviderFuture = std::pin::Pin<Box<dyn std::future::Future<Output = WebhookOutcome> + Send + 'static>>;
