//! The server's static X25519 key: loaded from a file, or created there on first start.
//!
//! The file holds the 32 secret bytes as 64 hex digits (a trailing newline is allowed). A new file is
//! created exclusively with mode 0600; an existing file that group or others may access is refused,
//! because anyone who can read it can impersonate the server. The secret is never logged or printed.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sealnet::protocol::noise::Keypair;
use zeroize::{Zeroize, Zeroizing};

/// Why the key could not be loaded or created. Never contains key material.
#[derive(Debug)]
pub enum KeyFileError {
    /// The file exists but group or others have access to it.
    Permissions {
        path: PathBuf,
        mode: u32,
    },
    /// The file does not hold 64 hex digits.
    Malformed {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    /// The system random source failed.
    Random,
    /// `static_key` in the configuration is not 64 hex digits.
    InvalidStaticKey,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Permissions { path, mode } => write!(
                f,
                "key file {} has mode {mode:04o}: group and others must have no access to the server's secret key \
                 (fix with: chmod 600 {})",
                path.display(),
                path.display()
            ),
            KeyFileError::Malformed { path } => {
                write!(f, "key file {} does not hold a key (expected 64 hex digits)", path.display())
            }
            KeyFileError::Io { path, action, error } => {
                write!(f, "cannot {action} key file {}: {error}", path.display())
            }
            KeyFileError::Random => f.write_str("the system random source failed while generating a key"),
            KeyFileError::InvalidStaticKey => f.write_str("static_key must be 64 hex digits"),
        }
    }
}

impl std::error::Error for KeyFileError {}

/// Whether [`load_or_create`] found the key or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    Loaded,
    Created,
}

/// Where the server's key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `static_key` in the configuration.
    Config,
    File {
        path: PathBuf,
        origin: KeyOrigin,
    },
}

/// The server key the configuration names: `static_key` if set, else the key file (created if missing,
/// at [`default_key_path`] unless `key_file` says otherwise). An inline `static_key` is taken out of
/// the configuration and wiped, so the secret does not stay in memory for the server's lifetime.
pub fn server_key(config: &mut crate::config::Config) -> Result<(Keypair, KeySource), KeyFileError> {
    if let Some(hex) = config.static_key.take() {
        let hex = Zeroizing::new(hex);
        let secret = Zeroizing::new(parse_hex_key(hex.trim()).ok_or(KeyFileError::InvalidStaticKey)?);
        return Ok((Keypair::from_secret_bytes(*secret), KeySource::Config));
    }
    let path = match &config.key_file {
        Some(path) => path.clone(),
        None => default_key_path()?,
    };
    let (keypair, origin) = load_or_create(&path)?;
    Ok((keypair, KeySource::File { path, origin }))
}

/// Where the key lives without a `key_file` setting: `$STATE_DIRECTORY/server.key` (set by systemd's
/// `StateDirectory=`), else `$XDG_STATE_HOME/sealnet/server.key`, else
/// `~/.local/state/sealnet/server.key`; never the current directory, which may be a checkout. A missing
/// `sealnet` directory is created with mode 0700.
pub fn default_key_path() -> Result<PathBuf, KeyFileError> {
    default_state_file("server.key")
}

/// `name` in the directory [`default_key_path`] uses.
pub fn default_state_file(name: &str) -> Result<PathBuf, KeyFileError> {
    let from = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(state) = from("STATE_DIRECTORY") {
        // systemd may list several directories, separated by colons; the first is ours.
        let first = state.to_string_lossy().split(':').next().unwrap_or_default().to_owned();
        return Ok(PathBuf::from(first).join(name));
    }
    let dir = match (from("XDG_STATE_HOME"), from("HOME")) {
        (Some(state), _) => state.join("sealnet"),
        (None, Some(home)) => home.join(".local/state/sealnet"),
        (None, None) => {
            let path = PathBuf::from("$HOME/.local/state/sealnet");
            let error = io::Error::new(io::ErrorKind::NotFound, "neither XDG_STATE_HOME nor HOME is set; set key_file");
            return Err(KeyFileError::Io { path, action: "locate", error });
        }
    };
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|error| KeyFileError::Io {
        path: dir.clone(),
        action: "create the directory of",
        error,
    })?;
    Ok(dir.join(name))
}

/// Loads the key at `path`, or generates one and writes it there (mode 0600) when the file is missing.
pub fn load_or_create(path: &Path) -> Result<(Keypair, KeyOrigin), KeyFileError> {
    let (secret, origin) = load_or_create_secret(path)?;
    Ok((Keypair::from_secret_bytes(*secret), origin))
}

/// Loads an existing key file, refusing one that group or others may access.
pub fn load(path: &Path) -> Result<Keypair, KeyFileError> {
    load_secret(path).map(|secret| Keypair::from_secret_bytes(*secret))
}

/// Writes `keypair`'s secret to a new file with mode 0600; fails if the file exists.
pub fn create(path: &Path, keypair: &Keypair) -> Result<(), KeyFileError> {
    create_secret(path, &keypair.secret_bytes())
}

/// Any 32-byte secret kept under the same rules as the static key (the token key, say): loaded from
/// `path`, or generated from the system's random source and written there when the file is missing.
pub fn load_or_create_secret(path: &Path) -> Result<(Zeroizing<[u8; 32]>, KeyOrigin), KeyFileError> {
    match load_secret(path) {
        Err(KeyFileError::Io { error, .. }) if error.kind() == io::ErrorKind::NotFound => {}
        other => return other.map(|secret| (secret, KeyOrigin::Loaded)),
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut secret[..]).map_err(|_| KeyFileError::Random)?;
    match create_secret(path, &secret) {
        Ok(()) => Ok((secret, KeyOrigin::Created)),
        // Another process created it first: use theirs, so both agree on the key.
        Err(KeyFileError::Io { error, .. }) if error.kind() == io::ErrorKind::AlreadyExists => {
            load_secret(path).map(|secret| (secret, KeyOrigin::Loaded))
        }
        Err(error) => Err(error),
    }
}

/// Loads the 32 secret bytes of an existing key file, refusing one that group or others may access.
pub fn load_secret(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let io_error = |action| move |error| KeyFileError::Io { path: path.to_owned(), action, error };
    let mut file = OpenOptions::new().read(true).open(path).map_err(io_error("open"))?;
    let metadata = file.metadata().map_err(io_error("inspect"))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions { path: path.to_owned(), mode });
    }
    if !metadata.is_file() {
        return Err(KeyFileError::Malformed { path: path.to_owned() });
    }
    // Room for more than is ever read from the start, so reading never reallocates and leaves an
    // unwiped copy behind. A key file is 65 bytes; reading a little more tells it is not one.
    let mut text = Zeroizing::new(Vec::with_capacity(512));
    let read = (&mut file).take(256).read_to_end(&mut text).map_err(io_error("read"));
    let parsed = read.ok().and_then(|_| std::str::from_utf8(&text).ok()).and_then(|text| parse_hex_key(text.trim()));
    parsed.map(Zeroizing::new).ok_or_else(|| KeyFileError::Malformed { path: path.to_owned() })
}

/// Writes a secret to a new file with mode 0600; fails if the file exists.
pub fn create_secret(path: &Path, secret: &[u8; 32]) -> Result<(), KeyFileError> {
    let io_error = |action| move |error| KeyFileError::Io { path: path.to_owned(), action, error };
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_error("create"))?;
    // The umask can only remove bits, but a pre-set ACL default or an odd filesystem might add some.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_error("set permissions of"))?;
    let mut text = encode_hex(&secret[..]);
    text.push('\n');
    let text = Zeroizing::new(text);
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error("write"))
}

/// Parses exactly 64 hex digits (either case) into 32 bytes.
pub fn parse_hex_key(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (out, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(high), Some(low)) => *out = (high << 4) | low,
            _ => {
                key.zeroize();
                return None;
            }
        }
    }
    Some(key)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex into one buffer, so the secret's digits exist in exactly one place to wipe.
fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2 + 1);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn missing_file_is_created_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        let (first, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Created);
        assert_eq!(mode_of(&path), 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert_ne!(text.trim(), encode_hex(first.public()), "the file holds the secret, not the public key");

        let (second, origin) = load_or_create(&path).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded);
        assert_eq!(first.public(), second.public());
    }

    #[test]
    fn group_or_world_accessible_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        load_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = load_or_create(&path).unwrap_err();
            assert!(matches!(error, KeyFileError::Permissions { mode: m, .. } if m == mode), "{error}");
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
    }

    #[test]
    fn malformed_files_are_refused_without_being_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        fs::write(&path, "not a key\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load_or_create(&path), Err(KeyFileError::Malformed { .. })));
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key\n");
    }

    #[test]
    fn a_written_key_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let keypair = Keypair::from_secret_bytes([7; 32]);
        create(&path, &keypair).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{}\n", "07".repeat(32)));
        assert_eq!(load(&path).unwrap().public(), keypair.public());
        assert!(matches!(create(&path, &keypair), Err(KeyFileError::Io { .. })), "never overwrites");
    }

    #[test]
    fn a_static_key_in_the_config_overrides_the_key_file_and_is_taken_out() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("unused.key");
        let mut config = crate::config::Config {
            static_key: Some("07".repeat(32)),
            key_file: Some(key_file.clone()),
            ..Default::default()
        };
        let (keypair, source) = server_key(&mut config).unwrap();
        assert_eq!(source, KeySource::Config);
        assert_eq!(keypair.public(), Keypair::from_secret_bytes([7; 32]).public());
        assert!(!key_file.exists(), "no key file is created");
        assert_eq!(config.static_key, None, "the secret does not stay in the configuration");

        let (_, source) = server_key(&mut config).unwrap();
        assert_eq!(source, KeySource::File { path: key_file, origin: KeyOrigin::Created });
    }

    #[test]
    fn hex_keys_parse_strictly() {
        assert_eq!(parse_hex_key(&"aB".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hex_key(&"0".repeat(63)), None);
        assert_eq!(parse_hex_key(&"0".repeat(65)), None);
        assert_eq!(parse_hex_key(&format!("{}g", "0".repeat(63))), None);
    }
}
