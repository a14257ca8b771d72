//! Password hashing: argon2id, stored as a PHC string (`$argon2id$v=19$m=...`).
//!
//! The string carries its own parameters, so raising the cost later only affects new hashes; old ones
//! still verify. Hashing is deliberately slow (tens of milliseconds), so callers run it on a blocking
//! thread, never on the async workers that answer the webhook.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// argon2id's cost. The defaults are the crate's (19 MiB, 2 passes, 1 lane), the commonly
/// recommended minimum for interactive logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost { memory_kib: Params::DEFAULT_M_COST, iterations: Params::DEFAULT_T_COST }
    }
}

#[derive(Debug, Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when a username is unknown, so that a login
    /// for a missing account takes as long as one with a wrong password.
    decoy: String,
}

impl Hasher {
    pub fn new(cost: PasswordCost) -> Result<Self, String> {
        let params = Params::new(cost.memory_kib, cost.iterations, 1, None).map_err(|e| {
            format!("invalid argon2 parameters (memory {} KiB, {} iterations): {e}", cost.memory_kib, cost.iterations)
        })?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Hasher { argon2, decoy: String::new() };
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| format!("random source: {e}"))?;
        hasher.decoy = hasher.hash(&crate::hex::encode(&random))?;
        Ok(hasher)
    }

    /// A fresh salt (16 random bytes) and the PHC string of `password` under it.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| format!("random source: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        let hash = self.argon2.hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown user, or a guest) it spends
    /// the same time on the decoy and answers false.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let (hash, real) = match stored {
            Some(text) => (text, true),
            None => (self.decoy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else { return false };
        let matched = self.argon2.verify_password(password.as_bytes(), &parsed).is_ok();
        matched && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: the scheme is what is tested, not the cost.
    fn hasher() -> Hasher {
        Hasher::new(PasswordCost { memory_kib: 64, iterations: 1 }).unwrap()
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let hasher = hasher();
        let a = hasher.hash("correct horse").unwrap();
        let b = hasher.hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(hasher.verify("correct horse", Some(&a)));
        assert!(!hasher.verify("correct horsf", Some(&a)));
        assert!(!hasher.verify("correct horse", None));
        assert!(!hasher.verify("correct horse", Some("not a phc string")));
    }

    #[test]
    fn old_hashes_verify_after_the_cost_changes() {
        let old = hasher().hash("pw").unwrap();
        let new = Hasher::new(PasswordCost { memory_kib: 128, iterations: 2 }).unwrap();
        assert!(new.verify("pw", Some(&old)));
    }
}
