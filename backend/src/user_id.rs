//! The stable `UserId` the webhook answers with.
//!
//! It is derived, not stored: a hash of the deployment's namespace and the player id. The same player
//! always gets the same id (across sessions, logins and restarts), every player (guests included, each
//! being its own player) gets a different one, and two deployments with different namespaces never
//! share ids even when their player ids collide.

use sha2::{Digest, Sha256};

/// A domain separator, so these hashes can never be mistaken for any other use of SHA-256 here.
const DOMAIN: &[u8] = b"sealnet-backend user id v1\0";

/// 32 lowercase hex digits (128 bits of the hash), well inside the 1-to-128-byte limit of docs/auth.md §3.
pub fn derive(namespace: &str, player_id: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(DOMAIN);
    // The namespace's length first, so no (namespace, id) pair can produce another's input.
    hash.update((namespace.len() as u64).to_be_bytes());
    hash.update(namespace.as_bytes());
    hash.update(player_id.to_be_bytes());
    let digest = hash.finalize();
    crate::hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_distinct_and_namespaced() {
        assert_eq!(derive("game", 1), derive("game", 1));
        assert_ne!(derive("game", 1), derive("game", 2));
        assert_ne!(derive("game", 1), derive("other", 1));
        assert_eq!(derive("game", 1).len(), 32);
    }
}
