//! The webhook's shared secret: the first line of a file that only its owner may read.
//!
//! docs/auth.md §2.1: the secret is the bytes of the file's first line without its line ending, at
//! least 32 of them. Anyone who can read it can forge webhook calls, so a file that group or others
//! may access is refused rather than used. The secret never appears in a log or an error message.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The shortest secret accepted.
pub const MIN_SECRET_LEN: usize = 32;

/// How much of the file is read: a secret line is short, and this bounds what a wrong path costs.
const MAX_READ: u64 = 4096;

/// The secret's bytes, wiped when dropped.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why the secret file could not be used. Never contains any of the secret.
#[derive(Debug)]
pub enum SecretError {
    /// Group or others have some access to the file.
    Permissions {
        path: PathBuf,
        mode: u32,
    },
    /// The first line is shorter than [`MIN_SECRET_LEN`] bytes.
    TooShort {
        path: PathBuf,
        len: usize,
    },
    NotAFile {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    Random,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Permissions { path, mode } => write!(
                f,
                "secret file {} has mode {mode:04o}: group and others must have no access to the webhook secret \
                 (fix with: chmod 600 {})",
                path.display(),
                path.display()
            ),
            SecretError::TooShort { path, len } => write!(
                f,
                "secret file {}: the first line is {len} bytes, at least {MIN_SECRET_LEN} are required \
                 (make one with: sealnet-backend gen-secret FILE)",
                path.display()
            ),
            SecretError::NotAFile { path } => write!(f, "secret file {} is not a regular file", path.display()),
            SecretError::Io { path, action, error } => {
                write!(f, "cannot {action} secret file {}: {error}", path.display())
            }
            SecretError::Random => f.write_str("the system random source failed while generating a secret"),
        }
    }
}

impl std::error::Error for SecretError {}

/// Reads the secret from `path`, refusing a file that group or others may access.
pub fn load(path: &Path) -> Result<Secret, SecretError> {
    let io_error = |action| move |error| SecretError::Io { path: path.to_owned(), action, error };
    let file = OpenOptions::new().read(true).open(path).map_err(io_error("open"))?;
    // The mode of the file that was opened, not of whatever the path names a moment later.
    let metadata = file.metadata().map_err(io_error("inspect"))?;
    if !metadata.is_file() {
        return Err(SecretError::NotAFile { path: path.to_owned() });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretError::Permissions { path: path.to_owned(), mode });
    }
    // Capacity for all that can be read, so the buffer never reallocates and leaves an unwiped copy.
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_READ as usize));
    file.take(MAX_READ).read_to_end(&mut text).map_err(io_error("read"))?;
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let mut line = &text[..line_end];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    if line.len() < MIN_SECRET_LEN {
        return Err(SecretError::TooShort { path: path.to_owned(), len: line.len() });
    }
    Ok(Secret(Zeroizing::new(line.to_vec())))
}

/// Writes a new secret, 64 hex digits from 32 random bytes and a newline, to a file created
/// exclusively (an existing file is never overwritten) with mode 0600.
pub fn generate(path: &Path) -> Result<(), SecretError> {
    let io_error = |action| move |error| SecretError::Io { path: path.to_owned(), action, error };
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut bytes[..]).map_err(|_| SecretError::Random)?;
    let mut text = Zeroizing::new(crate::hex::encode(&bytes[..]));
    text.push('\n');
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_error("create"))?;
    // The umask only removes bits, but a default ACL could add some: set the mode explicitly.
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_error("set permissions of"))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io_error("write"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn first_line_without_its_ending() {
        let dir = tempfile::tempdir().unwrap();
        let line = "x".repeat(40);
        let path = write(dir.path(), "s", format!("{line}\r\nsecond line\n").as_bytes(), 0o600);
        assert_eq!(load(&path).unwrap().as_bytes(), line.as_bytes());
        let path = write(dir.path(), "t", line.as_bytes(), 0o400);
        assert_eq!(load(&path).unwrap().as_bytes(), line.as_bytes());
    }

    #[test]
    fn refuses_short_and_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "short", b"0123456789012345678901234567890\n", 0o600);
        assert!(matches!(load(&path), Err(SecretError::TooShort { len: 31, .. })));
        for mode in [0o640, 0o604, 0o610, 0o660] {
            let path = write(dir.path(), &format!("m{mode:o}"), "y".repeat(64).as_bytes(), mode);
            let error = load(&path).unwrap_err();
            assert!(matches!(error, SecretError::Permissions { .. }), "{mode:o}");
            assert!(error.to_string().contains("chmod 600"));
        }
        assert!(matches!(load(dir.path()), Err(SecretError::NotAFile { .. })));
    }

    #[test]
    fn generated_secret_is_private_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        generate(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let secret = load(&path).unwrap();
        assert_eq!(secret.as_bytes().len(), 64);
        assert!(secret.as_bytes().iter().all(u8::is_ascii_hexdigit));
        let before = fs::read(&path).unwrap();
        assert!(matches!(generate(&path), Err(SecretError::Io { action: "create", .. })));
        assert_eq!(fs::read(&path).unwrap(), before, "an existing file is never overwritten");
    }
}
