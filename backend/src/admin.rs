//! What the admin subcommands do (`ban`, `unban`, `set-data`, `sessions`), working directly on the
//! database; each returns the text to print. Changes take effect at the player's next webhook call,
//! because the webhook reads the player row on every call rather than a copy in the session.

use std::fmt::{self, Write as _};

use crate::clock;
use crate::db::{Player, PlayerRef, Store};

/// The longest ban reason kept.
pub const MAX_BAN_REASON: usize = 1000;

#[derive(Debug)]
pub enum AdminError {
    NoSuchPlayer(PlayerRef),
    Invalid(String),
    Database(sqlx::Error),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::NoSuchPlayer(player) => write!(f, "no such player: {player}"),
            AdminError::Invalid(message) => f.write_str(message),
            AdminError::Database(error) => write!(f, "database: {error}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        AdminError::Database(error)
    }
}

async fn find(store: &Store, player: &PlayerRef) -> Result<Player, AdminError> {
    store.player(player).await?.ok_or_else(|| AdminError::NoSuchPlayer(player.clone()))
}

fn describe(player: &Player) -> String {
    match &player.username {
        Some(name) => format!("player {} ({name})", player.id),
        None => format!("player {} (guest {:?})", player.id, player.data.display_name),
    }
}

pub async fn ban(store: &Store, player: &PlayerRef, reason: Option<&str>) -> Result<String, AdminError> {
    if reason.is_some_and(|r| r.len() > MAX_BAN_REASON) {
        return Err(AdminError::Invalid(format!("the reason is longer than {MAX_BAN_REASON} bytes")));
    }
    let found = find(store, player).await?;
    store.ban(found.id, reason, clock::now_ms()).await?;
    tracing::info!(player_id = found.id, reason, "banned player");
    Ok(format!("banned {}", describe(&found)))
}

pub async fn unban(store: &Store, player: &PlayerRef) -> Result<String, AdminError> {
    let found = find(store, player).await?;
    store.unban(found.id).await?;
    tracing::info!(player_id = found.id, "unbanned player");
    let note = if found.banned_at_ms.is_none() { " (was not banned)" } else { "" };
    Ok(format!("unbanned {}{note}", describe(&found)))
}

/// Applies every `key=value` (all or none: one bad assignment changes nothing).
pub async fn set_data(store: &Store, player: &PlayerRef, assignments: &[String]) -> Result<String, AdminError> {
    if assignments.is_empty() {
        return Err(AdminError::Invalid("give at least one key=value".into()));
    }
    let found = find(store, player).await?;
    let mut data = found.data.clone();
    for assignment in assignments {
        data.assign(assignment).map_err(AdminError::Invalid)?;
    }
    store.save_data(found.id, &data).await?;
    let json = serde_json::to_string(&data.data(None)).unwrap_or_default();
    Ok(format!("{}: display_name {:?}, data {json}", describe(&found), data.display_name))
}

/// The valid sessions, one a line, with only a prefix of each id (the id is a credential).
pub async fn sessions(store: &Store, player: Option<&PlayerRef>) -> Result<String, AdminError> {
    let player_id = match player {
        Some(player) => Some(find(store, player).await?.id),
        None => None,
    };
    let now = clock::now_ms();
    let sessions = store.list_sessions(now, player_id).await?;
    let mut out = String::new();
    let _ = writeln!(out, "{:<9} {:>16}  {:<20} {:<24} {:>10}", "SESSION", "PLAYER", "USER", "NAME", "EXPIRES IN");
    for s in &sessions {
        let user = s.username.as_deref().unwrap_or("(guest)");
        let name: String = s.display_name.chars().take(24).collect();
        let left = clock::format_remaining(s.expires_at_ms - now);
        let _ =
            writeln!(out, "{:<9} {:>16}  {user:<20} {name:<24} {left:>10}", format!("{}…", s.id.short()), s.player_id);
    }
    let _ = write!(out, "{} session{}", sessions.len(), if sessions.len() == 1 { "" } else { "s" });
    Ok(out)
}
