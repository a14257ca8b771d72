//! The schema and its migrations, applied at every start (by `serve` and by the admin commands alike).
//!
//! Each migration is a list of statements valid on both SQLite and PostgreSQL, applied in one
//! transaction together with its row in `schema_migrations`, so a crash leaves it either done or not.
//! A migration once released is never edited: changes come as a new one.

use sqlx::{AnyPool, Row};

struct Migration {
    version: i64,
    description: &'static str,
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "players and sessions",
    statements: &[
        // Accounts have a username and a password hash; guests have the hash of their device id
        // instead (so a copy of the database does not hand out guest logins). UNIQUE allows any
        // number of NULLs on both databases. Times are milliseconds since the Unix epoch.
        "CREATE TABLE players (
            id BIGINT PRIMARY KEY,
            username TEXT UNIQUE,
            password_hash TEXT,
            device_hash TEXT UNIQUE,
            display_name TEXT NOT NULL,
            level BIGINT NOT NULL DEFAULT 1,
            cosmetics TEXT NOT NULL DEFAULT '',
            flags BIGINT NOT NULL DEFAULT 0,
            region TEXT NOT NULL DEFAULT '',
            banned_at BIGINT,
            ban_reason TEXT,
            created_at BIGINT NOT NULL
        )",
        // The primary key is the index the webhook's one lookup uses. BYTEA is PostgreSQL's byte
        // string; SQLite takes any type name and stores the bytes as a BLOB.
        "CREATE TABLE sessions (
            id BYTEA PRIMARY KEY,
            player_id BIGINT NOT NULL REFERENCES players (id) ON DELETE CASCADE,
            region TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
        "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
        "CREATE INDEX sessions_player_id ON sessions (player_id)",
    ],
}];

pub(super) async fn migrate(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(pool)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let mut tx = pool.begin().await?;
        for statement in migration.statements {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.description)
            .bind(crate::clock::now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = migration.version, description = migration.description, "applied migration");
    }
    if let Some(newest) = applied.iter().max().filter(|&&v| v > MIGRATIONS.last().map_or(0, |m| m.version)) {
        return Err(sqlx::Error::Protocol(format!(
            "the database's schema (version {newest}) is newer than this sealnet-backend knows; upgrade it"
        )));
    }
    Ok(())
}
