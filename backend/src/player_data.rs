//! The player data a game server needs at spawn time, and the rules that keep it small and flat.
//!
//! The webhook answers with it as `Nickname` and a flat `Data` map (docs/auth.md §3.1: scalars only,
//! its JSON at most 512 bytes by default). The limits here are checked when the data is written
//! (registration, `set-data`), so a reply can never exceed them.

use serde::Serialize;

/// The most a display name may take: the `Nickname` limit of docs/auth.md §3.
pub const MAX_DISPLAY_NAME: usize = 64;
pub const MAX_COSMETICS: usize = 256;
pub const MAX_REGION: usize = 32;
/// What `Data`'s JSON text may reach with the home region. A session's own region (at most
/// [`MAX_REGION`] bytes, nothing to escape) can add at most that much, which still stays within the
/// server's default `max_data_bytes` of 512.
pub const MAX_DATA_JSON: usize = 480;
const _: () = assert!(MAX_DATA_JSON + MAX_REGION <= 512);

/// A player's data as stored on the players table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerData {
    pub display_name: String,
    pub level: i64,
    /// The player's equipped cosmetics, as the game encodes them (e.g. `hat:red,cape:blue`).
    pub cosmetics: String,
    /// A bit set whose meaning is the game's (e.g. 1 = moderator, 2 = beta tester).
    pub flags: i64,
    /// The player's home region; a login may name another for its session.
    pub region: String,
}

impl PlayerData {
    pub fn new(display_name: String) -> Self {
        PlayerData { display_name, level: 1, cosmetics: String::new(), flags: 0, region: String::new() }
    }

    /// Applies one `key=value` of the `set-data` command. Keys: `display_name` (or `nickname`),
    /// `level`, `cosmetics`, `flags`, `region`.
    pub fn assign(&mut self, assignment: &str) -> Result<(), String> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| format!("{assignment:?} is not key=value"))?;
        let mut next = self.clone();
        match key {
            "display_name" | "nickname" => next.display_name = display_name(value)?,
            "level" => next.level = number(key, value, 0)?,
            "flags" => next.flags = number(key, value, i64::MIN)?,
            "cosmetics" => next.cosmetics = text(key, value, MAX_COSMETICS)?,
            "region" => next.region = region(value)?,
            _ => {
                return Err(format!("unknown key {key:?} (known: display_name, level, cosmetics, flags, region)"));
            }
        }
        let size = next.data(None).json_len();
        if size > MAX_DATA_JSON {
            return Err(format!("the data would take {size} bytes of JSON, more than {MAX_DATA_JSON}"));
        }
        *self = next;
        Ok(())
    }

    /// The webhook's `Data` map; `session_region` (the region a login chose) overrides the home region.
    pub fn data<'a>(&'a self, session_region: Option<&'a str>) -> AuthData<'a> {
        AuthData {
            level: self.level,
            cosmetics: &self.cosmetics,
            flags: self.flags,
            region: session_region.unwrap_or(&self.region),
        }
    }
}

/// `Data` as sent: a struct rather than a map, so the keys keep this order and every value is a scalar
/// by construction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuthData<'a> {
    pub level: i64,
    pub cosmetics: &'a str,
    pub flags: i64,
    pub region: &'a str,
}

impl AuthData<'_> {
    pub fn json_len(&self) -> usize {
        serde_json::to_vec(self).map(|v| v.len()).unwrap_or(usize::MAX)
    }
}

/// 1 to 64 bytes, no control characters, no leading or trailing spaces.
pub fn display_name(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed != value {
        return Err("display_name must be non-empty and have no leading or trailing spaces".into());
    }
    text("display_name", value, MAX_DISPLAY_NAME)
}

/// A region code such as `eu` or `us-east`: ASCII letters, digits, `-` and `_`, at most 32.
pub fn region(value: &str) -> Result<String, String> {
    if value.len() > MAX_REGION || !value.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        return Err(format!("region must be at most {MAX_REGION} ASCII letters, digits, '-' or '_'"));
    }
    Ok(value.to_owned())
}

fn text(key: &str, value: &str, max: usize) -> Result<String, String> {
    if value.len() > max {
        return Err(format!("{key} is {} bytes, at most {max} are allowed", value.len()));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{key} must not contain control characters"));
    }
    Ok(value.to_owned())
}

fn number(key: &str, value: &str, min: i64) -> Result<i64, String> {
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    match parsed {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => Err(format!("{key} must be at least {min}")),
        Err(_) => Err(format!("{key} must be an integer, not {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_update_and_validate() {
        let mut data = PlayerData::new("Ada".into());
        data.assign("level=12").unwrap();
        data.assign("flags=0x5").unwrap();
        data.assign("cosmetics=hat:red,cape:blue").unwrap();
        data.assign("region=eu-west").unwrap();
        data.assign("nickname=Ada L.").unwrap();
        assert_eq!(data.level, 12);
        assert_eq!(data.flags, 5);
        assert_eq!(data.display_name, "Ada L.");
        assert!(data.assign("level=-1").is_err());
        assert!(data.assign("level=ten").is_err());
        assert!(data.assign("region=eu west").is_err());
        assert!(data.assign("display_name=").is_err());
        assert!(data.assign("display_name= x").is_err());
        assert!(data.assign(&format!("display_name={}", "n".repeat(65))).is_err());
        assert!(data.assign("colour=red").is_err());
        assert!(data.assign("level").is_err());
        assert_eq!(data.level, 12, "a refused assignment changes nothing it names");
    }

    #[test]
    fn data_is_flat_ordered_and_bounded() {
        let mut data = PlayerData::new("Ada".into());
        data.assign("region=eu").unwrap();
        let json = serde_json::to_string(&data.data(None)).unwrap();
        assert_eq!(json, r#"{"level":1,"cosmetics":"","flags":0,"region":"eu"}"#);
        let json = serde_json::to_string(&data.data(Some("us"))).unwrap();
        assert!(json.ends_with(r#""region":"us"}"#));
        // Quotes double in JSON: 250 of them fit the column but not the reply.
        assert!(data.assign(&format!("cosmetics={}", "\"".repeat(250))).is_err());
        assert_eq!(data.cosmetics, "");
        data.assign(&format!("cosmetics={}", "c".repeat(MAX_COSMETICS))).unwrap();
    }
}
