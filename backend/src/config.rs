//! Configuration: an optional TOML file, overridden by command-line flags, checked once into a
//! [`Config`] that the rest of the backend takes as given.
//!
//! ```toml
//! listen = "127.0.0.1:4540"
//! database_url = "sqlite://sealnet-backend.db"   # or postgres://user@host/db, or a plain file path
//! secret_file = "webhook.secret"
//! session_ttl_minutes = 30
//! namespace = "my-game"
//! max_db_connections = 4
//!
//! [password]
//! memory_kib = 19456
//! iterations = 2
//! ```
//!
//! Relative paths are taken from the current directory.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::password::PasswordCost;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:4540";
pub const DEFAULT_DATABASE: &str = "sealnet-backend.db";
pub const DEFAULT_NAMESPACE: &str = "sealnet";
/// Session lifetimes: docs/auth.md §1 asks for 10 to 60 minutes.
pub const DEFAULT_TTL_MINUTES: u32 = 30;
pub const MIN_TTL_MINUTES: u32 = 10;
pub const MAX_TTL_MINUTES: u32 = 60;
pub const MAX_NAMESPACE: usize = 64;

/// Settings as read from the file or the flags: each may be missing, and a flag wins over the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub session_ttl_minutes: Option<u32>,
    pub namespace: Option<String>,
    pub max_db_connections: Option<u32>,
    pub password: Option<PasswordSettings>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub memory_kib: Option<u32>,
    pub iterations: Option<u32>,
}

impl Settings {
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
    }

    /// `self` with every setting `over` has replaced by `over`'s.
    pub fn overridden_by(self, over: Settings) -> Settings {
        let password = match (self.password, over.password) {
            (Some(base), Some(over)) => Some(PasswordSettings {
                memory_kib: over.memory_kib.or(base.memory_kib),
                iterations: over.iterations.or(base.iterations),
            }),
            (base, over) => over.or(base),
        };
        Settings {
            listen: over.listen.or(self.listen),
            database_url: over.database_url.or(self.database_url),
            secret_file: over.secret_file.or(self.secret_file),
            session_ttl_minutes: over.session_ttl_minutes.or(self.session_ttl_minutes),
            namespace: over.namespace.or(self.namespace),
            max_db_connections: over.max_db_connections.or(self.max_db_connections),
            password,
        }
    }
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Normalised by [`database_url`]: `sqlite://...?mode=rwc` or `postgres://...`.
    pub database_url: String,
    /// Needed to serve the webhook; the admin commands do without.
    pub secret_file: Option<PathBuf>,
    pub session_ttl_minutes: u32,
    pub namespace: String,
    pub max_db_connections: u32,
    pub password: PasswordCost,
}

impl Config {
    /// Fills in the defaults and checks every value.
    pub fn from_settings(settings: Settings) -> Result<Config, ConfigError> {
        let database_url = database_url(settings.database_url.as_deref().unwrap_or(DEFAULT_DATABASE))?;
        let default_connections = if is_sqlite(&database_url) { 4 } else { 8 };
        let password = settings.password.unwrap_or_default();
        let defaults = PasswordCost::default();
        let config = Config {
            listen: settings.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid default")),
            database_url,
            secret_file: settings.secret_file,
            session_ttl_minutes: settings.session_ttl_minutes.unwrap_or(DEFAULT_TTL_MINUTES),
            namespace: settings.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            max_db_connections: settings.max_db_connections.unwrap_or(default_connections),
            password: PasswordCost {
                memory_kib: password.memory_kib.unwrap_or(defaults.memory_kib),
                iterations: password.iterations.unwrap_or(defaults.iterations),
            },
        };
        config.check()?;
        Ok(config)
    }

    /// The defaults with another database: what the tests and the load generator start from.
    pub fn for_database(url: &str) -> Result<Config, ConfigError> {
        Config::from_settings(Settings { database_url: Some(url.to_owned()), ..Settings::default() })
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if !(MIN_TTL_MINUTES..=MAX_TTL_MINUTES).contains(&self.session_ttl_minutes) {
            return Err(ConfigError(format!(
                "session_ttl_minutes is {}: it must be {MIN_TTL_MINUTES} to {MAX_TTL_MINUTES}",
                self.session_ttl_minutes
            )));
        }
        if self.namespace.is_empty() || self.namespace.len() > MAX_NAMESPACE {
            return Err(ConfigError(format!("namespace must be 1 to {MAX_NAMESPACE} bytes")));
        }
        if self.max_db_connections == 0 {
            return Err(ConfigError("max_db_connections must be at least 1".into()));
        }
        Ok(())
    }

    pub fn session_ttl_ms(&self) -> i64 {
        i64::from(self.session_ttl_minutes) * 60_000
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Turns what a user may write into a URL the database driver takes: `postgres://` and
/// `postgresql://` URLs as they are, `sqlite:` URLs with `mode=rwc` added (so a missing file is
/// created), and anything else as the path of an SQLite file.
pub fn database_url(text: &str) -> Result<String, ConfigError> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(text.to_owned());
    }
    if let Some(rest) = text.strip_prefix("sqlite:") {
        if rest.contains(":memory:") || rest.contains("mode=memory") {
            // Each pooled connection would get a database of its own.
            return Err(ConfigError("an in-memory SQLite database cannot be shared; give a file".into()));
        }
        if rest.contains("mode=") {
            return Ok(text.to_owned());
        }
        let separator = if rest.contains('?') { '&' } else { '?' };
        return Ok(format!("{text}{separator}mode=rwc"));
    }
    if text.is_empty() {
        return Err(ConfigError("the database URL or path is empty".into()));
    }
    if text.contains("://") {
        return Err(ConfigError(format!(
            "unsupported database URL {:?}: use postgres://, sqlite: or a file path",
            text.split("://").next().unwrap_or_default()
        )));
    }
    Ok(format!("sqlite://{}?mode=rwc", percent_encode_path(text)))
}

/// Escapes what would end or alter the path part of a URL (the driver decodes it again).
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(database_url("/data/a b.db").unwrap(), "sqlite:///data/a%20b.db?mode=rwc");
        assert_eq!(database_url("rel/x.db").unwrap(), "sqlite://rel/x.db?mode=rwc");
        assert_eq!(database_url("sqlite://x.db").unwrap(), "sqlite://x.db?mode=rwc");
        assert_eq!(database_url("sqlite://x.db?cache=shared").unwrap(), "sqlite://x.db?cache=shared&mode=rwc");
        assert_eq!(database_url("sqlite://x.db?mode=ro").unwrap(), "sqlite://x.db?mode=ro");
        assert_eq!(database_url("postgres://u@h/db").unwrap(), "postgres://u@h/db");
        assert!(database_url("sqlite::memory:").is_err());
        assert!(database_url("mysql://h/db").is_err());
        assert!(database_url("").is_err());
    }

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_settings(Settings::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.session_ttl_minutes, 30);
        assert_eq!(config.session_ttl_ms(), 30 * 60_000);
        assert_eq!(config.namespace, "sealnet");
        assert_eq!(config.max_db_connections, 4);
        assert_eq!(config.password, PasswordCost::default());

        let file: Settings = toml::from_str(
            "listen = \"0.0.0.0:9000\"\nsession_ttl_minutes = 45\nnamespace = \"game\"\n[password]\nmemory_kib = 4096\n",
        )
        .unwrap();
        let flags = Settings { session_ttl_minutes: Some(20), ..Settings::default() };
        let config = Config::from_settings(file.overridden_by(flags)).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.session_ttl_minutes, 20);
        assert_eq!(config.namespace, "game");
        assert_eq!(config.password.memory_kib, 4096);
        assert_eq!(config.password.iterations, PasswordCost::default().iterations);
    }

    #[test]
    fn refusals() {
        for ttl in [9, 61, 0] {
            let settings = Settings { session_ttl_minutes: Some(ttl), ..Settings::default() };
            assert!(Config::from_settings(settings).is_err(), "{ttl}");
        }
        let settings = Settings { namespace: Some(String::new()), ..Settings::default() };
        assert!(Config::from_settings(settings).is_err());
        assert!(toml::from_str::<Settings>("lisen = \"x\"").is_err(), "a misspelt key is an error, not ignored");
    }
}
