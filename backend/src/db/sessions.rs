//! Sessions: one row per login, keyed by its random id, pointing at its player.

use sqlx::Row;

use super::players::data_from_row;
use super::Store;
use crate::player_data::PlayerData;
use crate::session_id::{SessionId, SESSION_ID_LEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewSession {
    pub id: SessionId,
    pub expires_at_ms: i64,
}

/// Everything the webhook needs about a session, from its one lookup.
#[derive(Debug, Clone)]
pub struct SessionLookup {
    pub player_id: i64,
    pub expires_at_ms: i64,
    /// The region the login asked for, if any (else the player's home region applies).
    pub session_region: Option<String>,
    pub data: PlayerData,
    pub banned: bool,
    pub ban_reason: Option<String>,
}

/// A row of the admin `sessions` listing.
#[derive(Debug, Clone)]
pub struct SessionListing {
    pub id: SessionId,
    pub player_id: i64,
    pub username: Option<String>,
    pub display_name: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

impl Store {
    /// A new session for `player_id`, valid for `ttl_ms` from `now_ms`.
    pub async fn create_session(
        &self,
        player_id: i64,
        region: Option<&str>,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<NewSession, sqlx::Error> {
        let id = SessionId::generate().map_err(|e| sqlx::Error::Protocol(format!("random source: {e}")))?;
        let expires_at_ms = now_ms + ttl_ms;
        sqlx::query("INSERT INTO sessions (id, player_id, region, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id.as_bytes()[..])
            .bind(player_id)
            .bind(region)
            .bind(now_ms)
            .bind(expires_at_ms)
            .execute(self.pool())
            .await?;
        Ok(NewSession { id, expires_at_ms })
    }

    /// The webhook's lookup: one query by primary key, joined with the player. The caller compares
    /// the expiry with its clock, so an expired session and an unknown one can be told apart in the log.
    pub async fn lookup_session(&self, id: &SessionId) -> Result<Option<SessionLookup>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.player_id, s.expires_at, s.region AS session_region,
                    p.display_name, p.level, p.cosmetics, p.flags, p.region, p.banned_at, p.ban_reason
             FROM sessions s JOIN players p ON p.id = s.player_id
             WHERE s.id = $1",
        )
        .bind(&id.as_bytes()[..])
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionLookup {
            player_id: row.try_get("player_id")?,
            expires_at_ms: row.try_get("expires_at")?,
            session_region: row.try_get("session_region")?,
            data: data_from_row(&row)?,
            banned: row.try_get::<Option<i64>, _>("banned_at")?.is_some(),
            ban_reason: row.try_get("ban_reason")?,
        }))
    }

    /// Ends a session (logout). False if it did not exist.
    pub async fn delete_session(&self, id: &SessionId) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(&id.as_bytes()[..]).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the sessions that expired by `now_ms`; returns how many.
    pub async fn delete_expired_sessions(&self, now_ms: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }

    /// The sessions still valid at `now_ms`, soonest to expire first; of one player only if given.
    pub async fn list_sessions(&self, now_ms: i64, player_id: Option<i64>) -> Result<Vec<SessionListing>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.id, s.player_id, p.username, p.display_name, s.created_at, s.expires_at
             FROM sessions s JOIN players p ON p.id = s.player_id
             WHERE s.expires_at > $1 AND ($2 IS NULL OR s.player_id = $2)
             ORDER BY s.expires_at, s.player_id",
        )
        .bind(now_ms)
        .bind(player_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let bytes: Vec<u8> = row.try_get("id")?;
                let id: [u8; SESSION_ID_LEN] = bytes
                    .try_into()
                    .map_err(|_| sqlx::Error::Protocol("a session id in the database is not 16 bytes".into()))?;
                Ok(SessionListing {
                    id: SessionId::from_bytes(id),
                    player_id: row.try_get("player_id")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    created_at_ms: row.try_get("created_at")?,
                    expires_at_ms: row.try_get("expires_at")?,
                })
            })
            .collect()
    }
}
