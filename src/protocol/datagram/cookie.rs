//! The stateless retry cookie: proof that a client receives at its source address, checked before the
//! server keeps anything for it.
//!
//! `cookie = issued (u32, seconds) || HMAC-SHA256(secret, label || issued || connection id || address)[..16]`

use std::net::{IpAddr, SocketAddr};

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of a cookie: issue time and truncated tag.
pub const COOKIE_LEN: usize = 20;
const TAG_LEN: usize = 16;
const LABEL: &[u8] = b"sealnet/3 retry cookie";
/// A cookie is good for this many seconds after it was issued.
pub(crate) const COOKIE_LIFETIME_SECS: u32 = 10;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The server's cookie secret (random per process, wiped on drop).
pub(crate) struct CookieKey(Zeroizing<[u8; 32]>);

impl CookieKey {
    pub fn new(secret: [u8; 32]) -> Self {
        CookieKey(Zeroizing::new(secret))
    }

    fn tag(&self, issued: u32, connection_id: u64, address: SocketAddr) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        mac.update(LABEL);
        mac.update(&issued.to_be_bytes());
        mac.update(&connection_id.to_be_bytes());
        let ip = match address.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        mac.update(&ip.octets());
        mac.update(&address.port().to_be_bytes());
        mac
    }

    pub fn issue(&self, issued: u32, connection_id: u64, address: SocketAddr) -> [u8; COOKIE_LEN] {
        let tag = self.tag(issued, connection_id, address).finalize().into_bytes();
        let mut cookie = [0; COOKIE_LEN];
        cookie[..4].copy_from_slice(&issued.to_be_bytes());
        cookie[4..].copy_from_slice(&tag[..TAG_LEN]);
        cookie
    }

    /// Whether `cookie` was issued by this key for this connection id and address, within its lifetime.
    pub fn verify(&self, cookie: &[u8], connection_id: u64, address: SocketAddr, now_secs: u32) -> bool {
        if cookie.len() != COOKIE_LEN {
            return false;
        }
        let issued = u32::from_be_bytes(cookie[..4].try_into().expect("4 bytes"));
        // Issued in the future (beyond a second of rounding), or expired.
        if issued > now_secs.saturating_add(1) || now_secs.saturating_sub(issued) > COOKIE_LIFETIME_SECS {
            return false;
        }
        // Constant-time comparison of the truncated tag.
        self.tag(issued, connection_id, address).verify_truncated_left(&cookie[4..]).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_bound_to_its_address_id_and_time() {
        let key = CookieKey::new([7; 32]);
        let address: SocketAddr = "192.0.2.1:5055".parse().unwrap();
        let cookie = key.issue(100, 42, address);
        assert!(key.verify(&cookie, 42, address, 100));
        assert!(key.verify(&cookie, 42, address, 110));
        assert!(!key.verify(&cookie, 42, address, 111), "expired");
        assert!(!key.verify(&cookie, 42, address, 98), "from the future");
        assert!(!key.verify(&cookie, 43, address, 100), "another connection id");
        assert!(!key.verify(&cookie, 42, "192.0.2.1:5056".parse().unwrap(), 100), "another port");
        assert!(!key.verify(&cookie, 42, "192.0.2.2:5055".parse().unwrap(), 100), "another host");
        assert!(!CookieKey::new([8; 32]).verify(&cookie, 42, address, 100), "another server");
        let mut forged = cookie;
        forged[19] ^= 1;
        assert!(!key.verify(&forged, 42, address, 100));
        assert!(!key.verify(&cookie[..19], 42, address, 100));
    }
}
