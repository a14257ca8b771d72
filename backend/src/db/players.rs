//! Players: accounts (username and password) and guests (one per device id), with their data and ban.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{random_player_id, Store};
use crate::player_data::PlayerData;

/// A player as the admin commands see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    pub id: i64,
    /// `None` for a guest.
    pub username: Option<String>,
    pub data: PlayerData,
    pub banned_at_ms: Option<i64>,
    /// For the backend's log and the operator; never sent to a client or a game server.
    pub ban_reason: Option<String>,
}

/// How an admin command names a player: a player id (all digits) or a username (which always starts
/// with a letter, so the two never collide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerRef {
    Id(i64),
    Username(String),
}

impl PlayerRef {
    pub fn parse(text: &str) -> PlayerRef {
        match text.parse::<i64>() {
            Ok(id) if text.bytes().all(|c| c.is_ascii_digit()) => PlayerRef::Id(id),
            _ => PlayerRef::Username(text.to_ascii_lowercase()),
        }
    }
}

impl std::fmt::Display for PlayerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlayerRef::Id(id) => write!(f, "player {id}"),
            PlayerRef::Username(name) => write!(f, "user {name:?}"),
        }
    }
}

pub struct NewAccount<'a> {
    /// Already normalised (lower case) and checked.
    pub username: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
}

/// What a password login needs to know.
#[derive(Debug, Clone)]
pub struct Account {
    pub player_id: i64,
    pub password_hash: Option<String>,
    pub display_name: String,
    pub banned: bool,
}

/// A guest after its login: found or just created.
#[derive(Debug, Clone)]
pub struct Guest {
    pub player_id: i64,
    pub display_name: String,
    pub banned: bool,
    pub created: bool,
}

const PLAYER_COLUMNS: &str = "id, username, display_name, level, cosmetics, flags, region, banned_at, ban_reason";

impl Store {
    /// Creates an account; `None` when the username is taken.
    pub async fn create_account(&self, account: &NewAccount<'_>, now_ms: i64) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO players (id, username, password_hash, display_name, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (username) DO NOTHING
             RETURNING id",
        )
        .bind(random_player_id()?)
        .bind(account.username)
        .bind(account.password_hash)
        .bind(account.display_name)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| row.try_get(0)).transpose()
    }

    pub async fn account(&self, username: &str) -> Result<Option<Account>, sqlx::Error> {
        let row = sqlx::query("SELECT id, password_hash, banned_at, display_name FROM players WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(Account {
                player_id: row.try_get(0)?,
                password_hash: row.try_get(1)?,
                banned: row.try_get::<Option<i64>, _>(2)?.is_some(),
                display_name: row.try_get(3)?,
            })
        })
        .transpose()
    }

    /// The guest player of a device (by the hash of its id), created on its first login.
    pub async fn guest(&self, device_hash: &str, display_name: &str, now_ms: i64) -> Result<Guest, sqlx::Error> {
        let created = sqlx::query(
            "INSERT INTO players (id, device_hash, display_name, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_hash) DO NOTHING
             RETURNING id",
        )
        .bind(random_player_id()?)
        .bind(device_hash)
        .bind(display_name)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = created {
            return Ok(Guest {
                player_id: row.try_get(0)?,
                display_name: display_name.to_owned(),
                banned: false,
                created: true,
            });
        }
        let row = sqlx::query("SELECT id, display_name, banned_at FROM players WHERE device_hash = $1")
            .bind(device_hash)
            .fetch_one(self.pool())
            .await?;
        Ok(Guest {
            player_id: row.try_get(0)?,
            display_name: row.try_get(1)?,
            banned: row.try_get::<Option<i64>, _>(2)?.is_some(),
            created: false,
        })
    }

    pub async fn player(&self, player: &PlayerRef) -> Result<Option<Player>, sqlx::Error> {
        let column = if matches!(player, PlayerRef::Id(_)) { "id" } else { "username" };
        let sql = format!("SELECT {PLAYER_COLUMNS} FROM players WHERE {column} = $1");
        let query = match player {
            PlayerRef::Id(id) => sqlx::query(&sql).bind(*id),
            PlayerRef::Username(name) => sqlx::query(&sql).bind(name.as_str()),
        };
        query.fetch_optional(self.pool()).await?.map(|row| player_from_row(&row)).transpose()
    }

    /// Bans a player (replacing an earlier ban's reason). False if there is no such player.
    pub async fn ban(&self, player_id: i64, reason: Option<&str>, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE players SET banned_at = $1, ban_reason = $2 WHERE id = $3")
            .bind(now_ms)
            .bind(reason)
            .bind(player_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unban(&self, player_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE players SET banned_at = NULL, ban_reason = NULL WHERE id = $1")
            .bind(player_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a player's data; sessions see it at their next webhook call.
    pub async fn save_data(&self, player_id: i64, data: &PlayerData) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE players SET display_name = $1, level = $2, cosmetics = $3, flags = $4, region = $5
             WHERE id = $6",
        )
        .bind(&data.display_name)
        .bind(data.level)
        .bind(&data.cosmetics)
        .bind(data.flags)
        .bind(&data.region)
        .bind(player_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn player_from_row(row: &AnyRow) -> Result<Player, sqlx::Error> {
    Ok(Player {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        data: data_from_row(row)?,
        banned_at_ms: row.try_get("banned_at")?,
        ban_reason: row.try_get("ban_reason")?,
    })
}

/// The data columns, by name, of any query that selects them.
pub(super) fn data_from_row(row: &AnyRow) -> Result<PlayerData, sqlx::Error> {
    Ok(PlayerData {
        display_name: row.try_get("display_name")?,
        level: row.try_get("level")?,
        cosmetics: row.try_get("cosmetics")?,
        flags: row.try_get("flags")?,
        region: row.try_get("region")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_refs() {
        assert_eq!(PlayerRef::parse("12345"), PlayerRef::Id(12345));
        assert_eq!(PlayerRef::parse("Ada"), PlayerRef::Username("ada".into()));
        assert_eq!(PlayerRef::parse("+12"), PlayerRef::Username("+12".into()));
        assert_eq!(PlayerRef::parse("99999999999999999999"), PlayerRef::Username("99999999999999999999".into()));
    }
}
