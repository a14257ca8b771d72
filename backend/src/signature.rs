//! The webhook signature of docs/auth.md §2.1, both the checking side (the backend) and the signing
//! side (the load generator and the tests, standing in for the server).
//!
//! `X-Sealnet-Signature: v1=<hex>` is the HMAC-SHA256, keyed with the shared secret, of the timestamp
//! header's exact text, a full stop, and the raw body. The comparison is the `hmac` crate's
//! constant-time `verify_slice`, so the time a mismatch takes says nothing about how much matched.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-sealnet-timestamp";
pub const SIGNATURE_HEADER: &str = "x-sealnet-signature";

/// How far the timestamp may be from this backend's clock, either way, in seconds.
pub const REPLAY_WINDOW_S: i64 = 60;

/// The longest timestamp text accepted: 19 digits always fit an `i64`.
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// Why a request is refused with 401. The variants are for the backend's log; the reply says only
/// which rule failed, which tells a caller nothing it did not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    MissingTimestamp,
    MissingSignature,
    /// The header occurs more than once: which copy was signed would be ambiguous.
    DuplicateHeader,
    BadTimestamp,
    BadSignatureFormat,
    /// The timestamp is outside the replay window; `skew_s` is theirs minus ours.
    Stale {
        skew_s: i64,
    },
    Mismatch,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::MissingTimestamp => f.write_str("missing X-Sealnet-Timestamp"),
            Refusal::MissingSignature => f.write_str("missing X-Sealnet-Signature"),
            Refusal::DuplicateHeader => f.write_str("repeated signature header"),
            Refusal::BadTimestamp => f.write_str("X-Sealnet-Timestamp is not a decimal integer"),
            Refusal::BadSignatureFormat => f.write_str("X-Sealnet-Signature is not v1= and 64 hex digits"),
            Refusal::Stale { skew_s } => {
                write!(f, "timestamp is {skew_s} s from the backend's clock (the window is {REPLAY_WINDOW_S} s)")
            }
            Refusal::Mismatch => f.write_str("signature mismatch"),
        }
    }
}

/// An HMAC keyed once with the secret; each request clones the keyed state instead of re-keying.
#[derive(Clone)]
pub struct Signer {
    keyed: Hmac<Sha256>,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        Signer { keyed: Hmac::new_from_slice(secret).expect("HMAC accepts any key length") }
    }

    fn mac(&self, timestamp: &[u8], body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(timestamp);
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `X-Sealnet-Signature` value for `timestamp` (the header's exact text) and `body`.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let tag = self.mac(timestamp.as_bytes(), body).finalize().into_bytes();
        format!("v1={}", crate::hex::encode(&tag))
    }

    /// Checks a request in the order docs/auth.md §2.1 gives: both headers well formed, the timestamp
    /// within the window of `now_s`, then the HMAC over the raw body.
    pub fn verify(&self, headers: &SignatureHeaders<'_>, body: &[u8], now_s: i64) -> Result<(), Refusal> {
        let timestamp = headers.timestamp.ok_or(Refusal::MissingTimestamp)?;
        let signature = headers.signature.ok_or(Refusal::MissingSignature)?;
        let sent_s = parse_timestamp(timestamp)?;
        let hex = signature.strip_prefix(b"v1=").ok_or(Refusal::BadSignatureFormat)?;
        let tag: [u8; 32] = crate::hex::decode_exact(hex).ok_or(Refusal::BadSignatureFormat)?;
        let skew_s = sent_s.saturating_sub(now_s);
        if skew_s.abs() > REPLAY_WINDOW_S {
            return Err(Refusal::Stale { skew_s });
        }
        self.mac(timestamp, body).verify_slice(&tag).map_err(|_| Refusal::Mismatch)
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(..)")
    }
}

/// The two headers' values as received, `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub timestamp: Option<&'a [u8]>,
    pub signature: Option<&'a [u8]>,
}

/// Digits only: no sign, no spaces, no exponent, as "whole seconds ... in decimal ASCII" says.
fn parse_timestamp(text: &[u8]) -> Result<i64, Refusal> {
    if text.is_empty() || text.len() > MAX_TIMESTAMP_DIGITS || !text.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::BadTimestamp);
    }
    std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).ok_or(Refusal::BadTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn check(signer: &Signer, ts: &str, sig: &str, body: &[u8], now: i64) -> Result<(), Refusal> {
        let headers = SignatureHeaders { timestamp: Some(ts.as_bytes()), signature: Some(sig.as_bytes()) };
        signer.verify(&headers, body, now)
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA256(SECRET, "1700000000.{}"), computed with another implementation.
        let signer = Signer::new(SECRET);
        assert_eq!(
            signer.sign("1700000000", b"{}"),
            "v1=417adf36b901772f658597a76d329694e335e65fc0849d7715c3ca33406309b5"
        );
    }

    #[test]
    fn accepts_within_the_window_only() {
        let signer = Signer::new(SECRET);
        let body = br#"{"AppId":"a"}"#;
        let sig = signer.sign("1000", body);
        assert_eq!(check(&signer, "1000", &sig, body, 1000), Ok(()));
        assert_eq!(check(&signer, "1000", &sig, body, 1060), Ok(()));
        assert_eq!(check(&signer, "1000", &sig, body, 940), Ok(()));
        assert_eq!(check(&signer, "1000", &sig, body, 1061), Err(Refusal::Stale { skew_s: -61 }));
        assert_eq!(check(&signer, "1000", &sig, body, 939), Err(Refusal::Stale { skew_s: 61 }));
        assert_eq!(check(&signer, "1000", &sig.to_uppercase().replace("V1=", "v1="), body, 1000), Ok(()));
    }

    #[test]
    fn refuses_what_was_not_signed() {
        let signer = Signer::new(SECRET);
        let sig = signer.sign("1000", b"body");
        assert_eq!(check(&signer, "1000", &sig, b"body ", 1000), Err(Refusal::Mismatch));
        assert_eq!(check(&signer, "01000", &sig, b"body", 1000), Err(Refusal::Mismatch));
        let other = Signer::new(b"another secret of at least 32 bytes!");
        assert_eq!(check(&other, "1000", &sig, b"body", 1000), Err(Refusal::Mismatch));
    }

    #[test]
    fn refuses_malformed_headers() {
        let signer = Signer::new(SECRET);
        let sig = signer.sign("1000", b"");
        for ts in ["", "-1000", "+1000", "1000.0", " 1000", "1e3", "99999999999999999999"] {
            assert_eq!(check(&signer, ts, &sig, b"", 1000), Err(Refusal::BadTimestamp), "{ts:?}");
        }
        for bad in [&sig[3..], &sig[..sig.len() - 1], "v2=00", "v1=", &format!("{sig}0"), &sig.replace("v1=", "V1=")] {
            assert_eq!(check(&signer, "1000", bad, b"", 1000), Err(Refusal::BadSignatureFormat), "{bad:?}");
        }
        let none = SignatureHeaders::default();
        assert_eq!(signer.verify(&none, b"", 1000), Err(Refusal::MissingTimestamp));
        let no_sig = SignatureHeaders { timestamp: Some(b"1000"), signature: None };
        assert_eq!(signer.verify(&no_sig, b"", 1000), Err(Refusal::MissingSignature));
    }
}
