//! Server settings: a TOML file over built-in defaults, then command-line overrides.
//!
//! Every field has a default, so the server runs with no file at all. Unknown keys are refused, so a
//! misspelt setting is an error rather than silently ignored.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The defaults, as a config file would spell them. `Config::default()` parses this text, so the
/// documented defaults and the real ones cannot drift apart.
pub const DEFAULT_CONFIG_TOML: &str = r#"# sealnet-server configuration. Every key is optional; these are the defaults.

# Address and port to listen on (TCP). Port 0 picks a free port and prints it.
listen = "127.0.0.1:4530"

# Application ids a client may name in Connect; any other id is refused with UnknownAppId.
app_ids = ["demo"]

# Where the server's X25519 static key is kept. Created (mode 0600) when missing.
key_file = "sealnet-server.key"

# static_key = "<64 hex chars>"   # a secret key given inline; overrides key_file

# A client that sends nothing for this long is disconnected.
disconnect_timeout_ms = 10000

# Connections beyond this are refused with ServerFull once they have sent Connect.
max_connections = 1000

# Events queued for one client. A client that lets its queue fill is disconnected (SlowConsumer).
outbound_queue = 4096

[plugins]
# Replace the masked words (case-insensitive) in string event data with asterisks.
profanity_mask = false
masked_words = []
"#;

/// Everything the server can be told.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub app_ids: Vec<String>,
    pub key_file: PathBuf,
    /// A 64-hex-digit X25519 secret; when set, `key_file` is not used.
    #[serde(default)]
    pub static_key: Option<String>,
    pub disconnect_timeout_ms: u64,
    pub max_connections: usize,
    pub outbound_queue: usize,
    pub plugins: PluginConfig,
}

/// Settings of the plugins that ship with the server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    pub profanity_mask: bool,
    pub masked_words: Vec<String>,
}

/// A partial config as read from a file: whatever is absent keeps its default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    app_ids: Option<Vec<String>>,
    key_file: Option<PathBuf>,
    static_key: Option<String>,
    disconnect_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    outbound_queue: Option<usize>,
    plugins: Option<PluginFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginFile {
    profanity_mask: Option<bool>,
    masked_words: Option<Vec<String>>,
}

/// Why a configuration could not be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Read { path: PathBuf, message: String },
    Parse { origin: String, message: String },
    Invalid(String),
    Usage(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, message } => write!(f, "cannot read config file {}: {message}", path.display()),
            ConfigError::Parse { origin, message } => write!(f, "invalid config in {origin}: {}", message.trim_end()),
            ConfigError::Invalid(message) => write!(f, "invalid config: {message}"),
            ConfigError::Usage(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULT_CONFIG_TOML).expect("the built-in default config parses")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("app_ids", &self.app_ids)
            .field("key_file", &self.key_file)
            .field("static_key", &self.static_key.as_ref().map(|_| "<set>"))
            .field("disconnect_timeout_ms", &self.disconnect_timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("outbound_queue", &self.outbound_queue)
            .field("plugins", &self.plugins)
            .finish()
    }
}

impl Config {
    /// Parses config text over the defaults. `origin` names the source in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text)
            .map_err(|error| ConfigError::Parse { origin: origin.to_owned(), message: describe(&error, text) })?;
        let mut config = Config::default();
        let ConfigFile {
            listen,
            app_ids,
            key_file,
            static_key,
            disconnect_timeout_ms,
            max_connections,
            outbound_queue,
            plugins,
        } = file;
        set(&mut config.listen, listen);
        set(&mut config.app_ids, app_ids);
        set(&mut config.key_file, key_file);
        config.static_key = static_key.or(config.static_key);
        set(&mut config.disconnect_timeout_ms, disconnect_timeout_ms);
        set(&mut config.max_connections, max_connections);
        set(&mut config.outbound_queue, outbound_queue);
        if let Some(PluginFile { profanity_mask, masked_words }) = plugins {
            set(&mut config.plugins.profanity_mask, profanity_mask);
            set(&mut config.plugins.masked_words, masked_words);
        }
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::Read { path: path.to_owned(), message: error.to_string() })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Refuses settings the server cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.app_ids.is_empty() {
            return Err(ConfigError::Invalid("app_ids must name at least one application".into()));
        }
        if let Some(id) =
            self.app_ids.iter().find(|id| id.is_empty() || id.len() > sealnet::protocol::message::MAX_APP_ID)
        {
            return Err(ConfigError::Invalid(format!(
                "app id {id:?} must be 1 to {} bytes",
                sealnet::protocol::message::MAX_APP_ID
            )));
        }
        if self.disconnect_timeout_ms == 0 {
            return Err(ConfigError::Invalid("disconnect_timeout_ms must be above 0".into()));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid("max_connections must be above 0".into()));
        }
        if self.outbound_queue == 0 {
            return Err(ConfigError::Invalid("outbound_queue must be above 0".into()));
        }
        if self.static_key.as_deref().is_some_and(|key| crate::keyfile::parse_hex_key(key.trim()).is_none()) {
            // The value itself is a secret and is not repeated.
            return Err(ConfigError::Invalid("static_key must be 64 hex digits".into()));
        }
        if self.plugins.masked_words.iter().any(|word| word.trim().is_empty()) {
            return Err(ConfigError::Invalid("plugins.masked_words must not contain empty words".into()));
        }
        Ok(())
    }

    pub fn disconnect_timeout(&self) -> Duration {
        Duration::from_millis(self.disconnect_timeout_ms)
    }
}

/// The parse error with its line and column, but without quoting the file: the offending line could
/// hold the secret `static_key`.
fn describe(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Config),
    Help,
}

pub const USAGE: &str = "\
Usage: sealnet-server [OPTIONS]

Options:
  --config FILE     read settings from a TOML file (built-in defaults otherwise)
  --listen ADDR     address to listen on, e.g. 127.0.0.1:4530 (port 0: any free port)
  --key-file PATH   where the server's static key is kept (created with mode 0600 when missing)
  --app-id ID       accepted application id; repeat for several (replaces the configured list)
  --help            print this help

Logging goes to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change the level (default: info).";

/// Reads the arguments (without the program name): the config file first, then the overrides.
pub fn parse_args<I, S>(args: I) -> Result<Command, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut config_file: Option<PathBuf> = None;
    let mut listen: Option<SocketAddr> = None;
    let mut key_file: Option<PathBuf> = None;
    let mut app_ids: Vec<String> = Vec::new();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Ok(Command::Help);
        }
        if !matches!(name.as_str(), "--config" | "--listen" | "--key-file" | "--app-id") {
            return Err(ConfigError::Usage(format!("unknown argument {arg:?} (see --help)")));
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| ConfigError::Usage(format!("{name} needs a value (see --help)")))?;
        match name.as_str() {
            "--config" => config_file = Some(PathBuf::from(value)),
            "--listen" => {
                listen = Some(value.parse().map_err(|_| {
                    ConfigError::Usage(format!("--listen: {value:?} is not an address such as 127.0.0.1:4530"))
                })?)
            }
            "--key-file" => key_file = Some(PathBuf::from(value)),
            _ => app_ids.push(value),
        }
    }
    let mut config = match config_file {
        Some(path) => Config::from_file(&path)?,
        None => Config::default(),
    };
    set(&mut config.listen, listen);
    set(&mut config.key_file, key_file);
    if !app_ids.is_empty() {
        config.app_ids = app_ids;
    }
    config.validate()?;
    Ok(Command::Run(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let config = Config::default();
        assert_eq!(config.listen, "127.0.0.1:4530".parse().unwrap());
        assert_eq!(config.app_ids, ["demo"]);
        assert_eq!(config.key_file, PathBuf::from("sealnet-server.key"));
        assert_eq!(config.static_key, None);
        assert_eq!(config.disconnect_timeout(), Duration::from_secs(10));
        assert_eq!(config.max_connections, 1000);
        assert_eq!(config.outbound_queue, 4096);
        assert!(!config.plugins.profanity_mask);
        assert!(config.plugins.masked_words.is_empty());
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(parse_args(Vec::<String>::new()), Ok(Command::Run(config)));
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(Config::from_toml("", "test"), Ok(Config::default()));
    }

    #[test]
    fn file_values_override_defaults() {
        let text = r#"
            listen = "0.0.0.0:9000"
            app_ids = ["a", "b"]
            key_file = "/var/lib/sealnet/key"
            disconnect_timeout_ms = 5000
            outbound_queue = 16
            [plugins]
            profanity_mask = true
            masked_words = ["darn", "heck"]
        "#;
        let config = Config::from_toml(text, "test").unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.app_ids, ["a", "b"]);
        assert_eq!(config.key_file, PathBuf::from("/var/lib/sealnet/key"));
        assert_eq!(config.disconnect_timeout_ms, 5000);
        assert_eq!(config.max_connections, 1000, "unset keys keep their default");
        assert_eq!(config.outbound_queue, 16);
        assert_eq!(
            config.plugins,
            PluginConfig { profanity_mask: true, masked_words: vec!["darn".into(), "heck".into()] }
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let error = Config::from_toml("listen = \"127.0.0.1:1\"\nmax_conections = 5\n", "server.toml").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("server.toml"), "{text}");
        assert!(text.contains("max_conections"), "{text}");

        let error = Config::from_toml("[plugins]\nprofanity = true\n", "server.toml").unwrap_err();
        assert!(error.to_string().contains("profanity"), "{error}");
    }

    #[test]
    fn wrong_types_and_bad_values_are_errors() {
        assert!(matches!(Config::from_toml("listen = 5", "t"), Err(ConfigError::Parse { .. })));
        assert!(matches!(Config::from_toml("listen = \"nowhere\"", "t"), Err(ConfigError::Parse { .. })));
        assert!(matches!(Config::from_toml("app_ids = []", "t"), Err(ConfigError::Invalid(_))));
        assert!(matches!(Config::from_toml("outbound_queue = 0", "t"), Err(ConfigError::Invalid(_))));
        let error = Config::from_toml("static_key = \"abcd\"", "t").unwrap_err();
        assert_eq!(error, ConfigError::Invalid("static_key must be 64 hex digits".into()));
    }

    #[test]
    fn parse_errors_point_at_the_line_without_quoting_it() {
        let secret = "ab".repeat(32);
        let error =
            Config::from_toml(&format!("listen = \"127.0.0.1:1\"\nstatic_key = {secret}\n"), "s.toml").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("invalid config in s.toml: line 2, column"), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }

    #[test]
    fn static_key_is_not_printed_by_debug() {
        let key = "11".repeat(32);
        let config = Config::from_toml(&format!("static_key = \"{key}\""), "t").unwrap();
        assert_eq!(config.static_key.as_deref(), Some(key.as_str()));
        assert!(!format!("{config:?}").contains(&key));
    }

    #[test]
    fn command_line_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "app_ids = [\"x\"]\nlisten = \"127.0.0.1:7000\"\n").unwrap();
        let args = [
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--key-file=k.key",
            "--app-id",
            "one",
            "--app-id",
            "two",
        ];
        let Ok(Command::Run(config)) = parse_args(args) else { panic!("arguments refused") };
        assert_eq!(config.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.key_file, PathBuf::from("k.key"));
        assert_eq!(config.app_ids, ["one", "two"]);

        let Ok(Command::Run(config)) = parse_args(["--config", path.to_str().unwrap()]) else { panic!() };
        assert_eq!(config.app_ids, ["x"]);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert_eq!(parse_args(["--help"]), Ok(Command::Help));
        assert!(matches!(parse_args(["--listen"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--listen", "nope"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--frobnicate"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--config", "/nonexistent/sealnet.toml"]), Err(ConfigError::Read { .. })));
    }
}
