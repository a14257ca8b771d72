//! Storage: players and their sessions, on SQLite (a file, the default) or PostgreSQL.
//!
//! Both go through sqlx's `Any` driver with one set of SQL texts: `$1`-style placeholders, `BIGINT`,
//! `TEXT`, `ON CONFLICT` and `RETURNING` mean the same on both, so nothing is written twice. Queries
//! are built at run time (no compile-time checking against a live database). The only difference
//! left is connection set-up ([`Store::connect`]), where SQLite gets its journal settings.

mod players;
mod schema;
mod sessions;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyConnection;
use sqlx::{AnyPool, Executor};

pub use players::{Account, Guest, NewAccount, Player, PlayerRef};
pub use sessions::{NewSession, SessionListing, SessionLookup};

/// Which database a [`Store`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects (`url` as [`crate::config::database_url`] normalises it), then brings the schema up
    /// to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if crate::config::is_sqlite(url) { Backend::Sqlite } else { Backend::Postgres };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| Box::pin(async move { prepare_connection(conn, backend).await }))
            .connect(url)
            .await?;
        let store = Store { pool, backend };
        schema::migrate(&store.pool).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A round trip to the database, for the health check.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// Waits for the pool's connections to close (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Per-connection settings. SQLite: write-ahead logging, so the webhook's reads never wait for a
/// login's write; `synchronous = NORMAL`, which is durable across application crashes and costs no
/// fsync per commit in WAL mode; foreign keys, which SQLite leaves off by default; and a busy timeout
/// for the moments an admin command writes at the same time as the server.
async fn prepare_connection(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        conn.execute("PRAGMA journal_mode = WAL").await?;
        conn.execute("PRAGMA synchronous = NORMAL").await?;
        conn.execute("PRAGMA foreign_keys = ON").await?;
        conn.execute("PRAGMA busy_timeout = 5000").await?;
    }
    Ok(())
}

/// A random player id in 1 to 2^53 - 1: unique in practice without a sequence (whose syntax the two
/// databases do not share), not guessable from a neighbour's, and exact as a JSON number in every
/// language.
fn random_player_id() -> Result<i64, sqlx::Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| sqlx::Error::Protocol(format!("random source: {e}")))?;
    let id = (u64::from_be_bytes(bytes) >> 11) as i64;
    Ok(if id == 0 { 1 } else { id })
}
