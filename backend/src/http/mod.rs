//! The HTTP API and the task that serves it.
//!
//! | route | caller | purpose |
//! |---|---|---|
//! | `POST /register` | game | create an account |
//! | `POST /login` | game | password login: a new session |
//! | `POST /guest` | game | guest login by device id: a new session |
//! | `POST /logout` | game | end a session |
//! | `POST /auth` | sealnet server | the signed webhook of docs/auth.md |
//! | `GET /health` | operator | 200 when the database answers |

mod accounts;
mod error;
mod webhook;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

pub use webhook::{EXPIRED_MESSAGE, INVALID_TOKEN_MESSAGE, REFUSED_MESSAGE};

use crate::config::Config;
use crate::db::Store;
use crate::password::Hasher;
use crate::secret::SecretError;
use crate::signature::Signer;

/// The largest request body read. A webhook call is a few hundred bytes (a token of at most 128
/// bytes plus the client's parameters); logins are smaller still.
pub const MAX_BODY: usize = 64 * 1024;

/// How often expired sessions are deleted. They are refused from the moment they expire; this only
/// keeps the table from growing.
const EXPIRY_SWEEP: Duration = Duration::from_secs(60);

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub signer: Signer,
    pub hasher: Arc<Hasher>,
    /// Bounds the argon2 computations running at once: each takes its memory cost (19 MiB by
    /// default), so a burst of logins must queue rather than exhaust memory or the blocking pool.
    pub password_slots: Semaphore,
    pub namespace: String,
    pub ttl_ms: i64,
}

impl AppState {
    pub fn user_id(&self, player_id: i64) -> String {
        crate::user_id::derive(&self.namespace, player_id)
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/register", post(accounts::register))
        .route("/login", post(accounts::login))
        .route("/guest", post(accounts::guest))
        .route("/logout", post(accounts::logout))
        .route("/auth", post(webhook::authenticate))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> StatusCode {
    match state.store.ping().await {
        Ok(()) => StatusCode::OK,
        Err(error) => {
            tracing::error!(%error, "health check: the database does not answer");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Why the backend could not start.
#[derive(Debug)]
pub enum StartError {
    NoSecretFile,
    Secret(SecretError),
    Password(String),
    Database(sqlx::Error),
    Bind { addr: SocketAddr, error: io::Error },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NoSecretFile => f.write_str(
                "no webhook secret: give --secret-file FILE or secret_file in the config \
                 (make one with: sealnet-backend gen-secret FILE)",
            ),
            StartError::Secret(error) => error.fmt(f),
            StartError::Password(error) => f.write_str(error),
            StartError::Database(error) => write!(f, "database: {error}"),
            StartError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A backend serving on its listener until [`RunningBackend::stop`].
pub struct RunningBackend {
    addr: SocketAddr,
    store: Store,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<io::Result<()>>,
    sweeper: JoinHandle<()>,
}

/// Loads the secret, opens (and migrates) the database, binds the listener and starts serving on the
/// current tokio runtime. The bound address is known on return (useful with port 0).
pub async fn start(config: &Config) -> Result<RunningBackend, StartError> {
    let secret_file = config.secret_file.as_deref().ok_or(StartError::NoSecretFile)?;
    let secret = crate::secret::load(secret_file).map_err(StartError::Secret)?;
    let cost = config.password;
    let hasher = tokio::task::spawn_blocking(move || Hasher::new(cost))
        .await
        .map_err(|e| StartError::Password(e.to_string()))?
        .map_err(StartError::Password)?;
    let store = Store::connect(&config.database_url, config.max_db_connections).await.map_err(StartError::Database)?;
    let listener =
        TcpListener::bind(config.listen).await.map_err(|error| StartError::Bind { addr: config.listen, error })?;
    let addr = listener.local_addr().map_err(|error| StartError::Bind { addr: config.listen, error })?;
    let state = Arc::new(AppState {
        store: store.clone(),
        signer: Signer::new(secret.as_bytes()),
        hasher: Arc::new(hasher),
        password_slots: Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        namespace: config.namespace.clone(),
        ttl_ms: config.session_ttl_ms(),
    });
    // Replies are small and written at once; without NODELAY a keep-alive connection's next reply can
    // wait on the previous one's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (shutdown, stopped) = oneshot::channel::<()>();
    let app = router(state);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let sweeper = tokio::spawn(sweep_expired(store.clone()));
    tracing::info!(%addr, database = store.backend().name(), ttl_minutes = config.session_ttl_minutes, "serving");
    Ok(RunningBackend { addr, store, shutdown, server, sweeper })
}

impl RunningBackend {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Stops accepting, lets requests in progress finish, then closes the database.
    pub async fn stop(self) -> io::Result<()> {
        let _ = self.shutdown.send(());
        self.sweeper.abort();
        let served = self.server.await.unwrap_or_else(|e| Err(io::Error::other(e)));
        self.store.close().await;
        served
    }
}

async fn sweep_expired(store: Store) {
    // The first sweep one period after start, not at once: nothing can have expired in a new process
    // that a sweep a minute later would not catch.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EXPIRY_SWEEP, EXPIRY_SWEEP);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.delete_expired_sessions(crate::clock::now_ms()).await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "deleted expired sessions"),
            Err(error) => tracing::warn!(%error, "could not delete expired sessions"),
        }
    }
}
