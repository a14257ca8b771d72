//! AES-256-GCM with Noise's nonce rule, shared by the handshake and the transport.
//!
//! The nonce is 32 zero bits followed by the 64-bit counter big-endian (Noise, section 12.3). Keys are
//! held only inside the cipher, whose key schedule is wiped on drop.

use aes_gcm::aead::{AeadInOut, Tag};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use super::frame::TAG_LEN;

/// A keyed AES-256-GCM instance. Prints no key material. Deliberately not `Clone`: a copy would
/// share the key but not the counter of whoever holds it, and so invite nonce reuse.
///
/// ```compile_fail
/// let cipher = sealnet::protocol::aead::Cipher::new(&[0; 32]);
/// let copy = cipher.clone();
/// ```
pub struct Cipher(Aes256Gcm);

/// The tag did not verify: the bytes, the associated data or the counter were altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticationFailed;

impl std::fmt::Display for AuthenticationFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("authentication tag did not verify")
    }
}

impl std::error::Error for AuthenticationFailed {}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(AES-256-GCM, key hidden)")
    }
}

fn noise_nonce(counter: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    bytes.into()
}

impl Cipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Cipher(Aes256Gcm::new(key.into()))
    }

    /// Encrypts `buffer` in place and returns the tag.
    pub fn seal_in_place(&self, counter: u64, associated_data: &[u8], buffer: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .encrypt_inout_detached(&noise_nonce(counter), associated_data, buffer.into())
            .expect("AES-GCM accepts any input below 64 GiB; frames are far smaller");
        tag.into()
    }

    /// Decrypts `buffer` in place after checking `tag`. On failure the buffer content is unspecified.
    pub fn open_in_place(
        &self,
        counter: u64,
        associated_data: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), AuthenticationFailed> {
        let tag = Tag::<Aes256Gcm>::try_from(tag).map_err(|_| AuthenticationFailed)?;
        self.0
            .decrypt_inout_detached(&noise_nonce(counter), associated_data, buffer.into(), &tag)
            .map_err(|_| AuthenticationFailed)
    }

    /// Encrypt-with-associated-data as Noise defines it: ciphertext followed by the tag, appended to `out`.
    pub fn seal_append(&self, counter: u64, associated_data: &[u8], plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(counter, associated_data, &mut out[start..]);
        out.extend_from_slice(&tag);
    }

    /// Inverse of [`seal_append`](Self::seal_append): returns the plaintext.
    pub fn open_to_vec(
        &self,
        counter: u64,
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, AuthenticationFailed> {
        let body_len = sealed.len().checked_sub(TAG_LEN).ok_or(AuthenticationFailed)?;
        let mut plaintext = sealed[..body_len].to_vec();
        self.open_in_place(counter, associated_data, &mut plaintext, &sealed[body_len..])?;
        Ok(plaintext)
    }
}
