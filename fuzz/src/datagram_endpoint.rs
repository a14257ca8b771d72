//! The server's stateless front (`Endpoint::on_unknown`) and the datagram header parser, fed arbitrary
//! bytes as a datagram from a fixed address at a clock the input chooses (docs/protocol.md, sections
//! 14.2 to 14.4).
//!
//! Checked besides "no panic": `parse_header` reads exactly the kind byte and the connection id; the
//! endpoint is stateless (the same datagram gets the same answer); a Retry is exactly `RETRY_LEN`
//! bytes, answers only an Initial of at least 1200 bytes, starts with `KIND_RETRY`, echoes the
//! connection id and says whether the Initial carried a cookie; the cookie it issues is accepted back
//! from that address within its lifetime and refused from another address, after its lifetime, with a
//! bit flipped, or by another endpoint; and an Initial is accepted exactly when its cookie is the one
//! this endpoint issues for that connection id and address at the cookie's issue time, within the
//! lifetime.

use std::time::{Duration, Instant};

use sealnet::protocol::datagram::{
    parse_header, DropReason, Endpoint, Incoming, COOKIE_LEN, DATAGRAM_HEADER_LEN, KIND_DATA, KIND_INITIAL, KIND_RETRY,
    MIN_INITIAL_LEN, RETRY_LEN,
};

use crate::datagram_wire::{client_address, other_address};
use crate::input::{base_time, Input};

/// The endpoint's cookie secret (fixed, so a seed can carry a valid cookie).
pub const SECRET: [u8; 32] = [0x5e; 32];
/// Seconds a cookie stays valid after it was issued (section 14.3).
const LIFETIME_SECS: u64 = 10;

/// The clock of a run: whole seconds since the endpoint's epoch, chosen by the input's first byte.
pub fn clock(code: u8) -> u64 {
    match code {
        0..=239 => u64::from(code),
        // Now and then far from the epoch, where a u32 of seconds still holds.
        _ => u64::from(code - 239) * 100_000_000,
    }
}

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let seconds = clock(input.u8());
    let datagram = input.rest();
    check_header(datagram);

    let epoch = base_time();
    let endpoint = Endpoint::new(SECRET, epoch);
    let now = epoch + Duration::from_secs(seconds);
    let from = client_address();
    let mut retry = [0u8; RETRY_LEN];
    let outcome = endpoint.on_unknown(datagram, from, now, &mut retry);
    // Stateless: nothing of the first call is kept, so a second gives the same answer (and cookie).
    let mut again = [0u8; RETRY_LEN];
    assert_eq!(endpoint.on_unknown(datagram, from, now, &mut again), outcome, "the endpoint kept state");
    let header = parse_header(datagram);
    let what = || {
        format!("{outcome:?} for {} bytes at {seconds} s: {:02x?}", datagram.len(), &datagram[..datagram.len().min(48)])
    };
    match outcome {
        Incoming::Drop(reason) => {
            match header {
                None => assert_eq!(reason, DropReason::Malformed, "{}", what()),
                Some((KIND_RETRY, _)) => assert_eq!(reason, DropReason::WrongDirection, "{}", what()),
                Some((KIND_DATA, _)) => assert_eq!(reason, DropReason::Malformed, "{}", what()),
                Some(_) => assert_ne!(reason, DropReason::WrongDirection, "{}", what()),
            }
            if reason == DropReason::ShortInitial {
                assert!(datagram.len() < MIN_INITIAL_LEN, "a long Initial dropped as short: {}", what());
            }
        }
        Incoming::Retry { len, stale_cookie } => {
            assert_eq!(retry, again, "two Retries for the same Initial in the same second differ");
            check_retry(datagram, &retry, len, stale_cookie, &what);
            let cookie: [u8; COOKIE_LEN] = retry[DATAGRAM_HEADER_LEN + 1..].try_into().expect("20 bytes");
            check_issued_cookie(&endpoint, datagram, &cookie, epoch, seconds);
            if stale_cookie {
                // The cookie it carried is not one this endpoint would accept here and now.
                check_not_issued(&endpoint, datagram, epoch, seconds, &what);
            }
        }
        Incoming::Accept { connection_id } => {
            let (kind, id) = header.expect("an accepted datagram has a header");
            assert!(kind == KIND_INITIAL && id == connection_id && id != 0, "{}", what());
            assert!(datagram.len() >= MIN_INITIAL_LEN, "a short Initial accepted: {}", what());
            assert_eq!(usize::from(datagram[DATAGRAM_HEADER_LEN]), COOKIE_LEN, "accepted without a cookie: {}", what());
            let cookie = &datagram[DATAGRAM_HEADER_LEN + 1..DATAGRAM_HEADER_LEN + 1 + COOKIE_LEN];
            let issued = u64::from(u32::from_be_bytes(cookie[..4].try_into().expect("4 bytes")));
            assert!(
                issued <= seconds + 1 && seconds.saturating_sub(issued) <= LIFETIME_SECS,
                "a cookie issued at {issued} s accepted at {seconds} s: {}",
                what()
            );
            // It is exactly the cookie this endpoint issues for this Initial at that time.
            let mut reissued = [0u8; RETRY_LEN];
            let bare = without_cookie(datagram);
            let answer = endpoint.on_unknown(&bare, from, epoch + Duration::from_secs(issued), &mut reissued);
            assert_eq!(answer, Incoming::Retry { len: RETRY_LEN, stale_cookie: false }, "{}", what());
            assert_eq!(&reissued[DATAGRAM_HEADER_LEN + 1..], cookie, "accepted a cookie it never issued: {}", what());
        }
    }
}

/// `parse_header` reads the kind byte and the big-endian connection id, for the three kinds only.
fn check_header(datagram: &[u8]) {
    for len in (0..=datagram.len().min(DATAGRAM_HEADER_LEN + 1)).chain([datagram.len()]) {
        let bytes = &datagram[..len];
        let expected = (len >= DATAGRAM_HEADER_LEN && matches!(bytes[0], KIND_INITIAL | KIND_RETRY | KIND_DATA))
            .then(|| (bytes[0], u64::from_be_bytes(bytes[1..9].try_into().expect("8 bytes"))));
        assert_eq!(parse_header(bytes), expected, "parse_header of {bytes:02x?}");
    }
}

fn check_retry(datagram: &[u8], retry: &[u8; RETRY_LEN], len: usize, stale_cookie: bool, what: &dyn Fn() -> String) {
    assert_eq!(len, RETRY_LEN, "a Retry of another length: {}", what());
    assert_eq!(
        parse_header(datagram).map(|(kind, _)| kind),
        Some(KIND_INITIAL),
        "a Retry for a non-Initial: {}",
        what()
    );
    assert!(datagram.len() >= MIN_INITIAL_LEN, "a Retry for a short Initial (amplification): {}", what());
    assert!(len <= datagram.len(), "a Retry larger than its Initial: {}", what());
    assert_eq!(retry[0], KIND_RETRY, "{}", what());
    assert_eq!(retry[1..9], datagram[1..9], "the Retry does not echo the connection id: {}", what());
    assert_ne!(retry[1..9], [0; 8], "a Retry for connection id 0: {}", what());
    assert_eq!(usize::from(retry[9]), COOKIE_LEN, "{}", what());
    let carried = datagram[DATAGRAM_HEADER_LEN];
    assert!(usize::from(carried) == COOKIE_LEN || carried == 0, "a Retry for a bad cookie_len: {}", what());
    assert_eq!(stale_cookie, carried != 0, "stale_cookie does not say whether a cookie came: {}", what());
}

/// The cookie just issued for `datagram` opens the door from the same address, within its lifetime,
/// and nowhere else.
fn check_issued_cookie(endpoint: &Endpoint, datagram: &[u8], cookie: &[u8; COOKIE_LEN], epoch: Instant, seconds: u64) {
    let connection_id = parse_header(datagram).expect("an Initial").1;
    let returned = with_cookie(datagram, cookie);
    let mut retry = [0u8; RETRY_LEN];
    let at = |secs: u64| epoch + Duration::from_secs(secs);
    let accept = Incoming::Accept { connection_id };
    for later in [0, 1, LIFETIME_SECS] {
        assert_eq!(
            endpoint.on_unknown(&returned, client_address(), at(seconds + later), &mut retry),
            accept,
            "the cookie it issued was refused {later} s later"
        );
    }
    let stale = Incoming::Retry { len: RETRY_LEN, stale_cookie: true };
    let refused = [
        ("from another address", endpoint.on_unknown(&returned, other_address(), at(seconds), &mut retry)),
        (
            "after its lifetime",
            endpoint.on_unknown(&returned, client_address(), at(seconds + LIFETIME_SECS + 1), &mut retry),
        ),
    ];
    for (when, answer) in refused {
        assert_eq!(answer, stale, "a cookie was accepted {when}");
    }
    if seconds >= 2 {
        // Issued more than a second in the future, seen from an earlier clock.
        let answer = endpoint.on_unknown(&returned, client_address(), at(seconds - 2), &mut retry);
        assert_eq!(answer, stale, "a cookie from the future was accepted");
    }
    let other = Endpoint::new([0xa5; 32], epoch);
    assert_eq!(
        other.on_unknown(&returned, client_address(), at(seconds), &mut retry),
        stale,
        "another server's cookie"
    );
    let mut flipped = *cookie;
    flipped[COOKIE_LEN - 1 - (seconds as usize % 16)] ^= 1 << (seconds % 8);
    let forged = with_cookie(datagram, &flipped);
    assert_eq!(endpoint.on_unknown(&forged, client_address(), at(seconds), &mut retry), stale, "a flipped cookie");
    // Another connection id with the same cookie.
    let mut moved = returned.clone();
    moved[8] ^= 1;
    if moved[1..9] != [0; 8] {
        assert_eq!(endpoint.on_unknown(&moved, client_address(), at(seconds), &mut retry), stale, "another id");
    }
}

/// A refused cookie is not the one the endpoint issues for this Initial at the cookie's issue time,
/// unless that time is outside the lifetime seen from now.
fn check_not_issued(endpoint: &Endpoint, datagram: &[u8], epoch: Instant, seconds: u64, what: &dyn Fn() -> String) {
    let cookie = &datagram[DATAGRAM_HEADER_LEN + 1..DATAGRAM_HEADER_LEN + 1 + COOKIE_LEN];
    let issued = u64::from(u32::from_be_bytes(cookie[..4].try_into().expect("4 bytes")));
    if issued > seconds + 1 || seconds.saturating_sub(issued) > LIFETIME_SECS {
        return;
    }
    let mut reissued = [0u8; RETRY_LEN];
    let bare = without_cookie(datagram);
    let answer = endpoint.on_unknown(&bare, client_address(), epoch + Duration::from_secs(issued), &mut reissued);
    assert_eq!(answer, Incoming::Retry { len: RETRY_LEN, stale_cookie: false }, "{}", what());
    assert_ne!(
        &reissued[DATAGRAM_HEADER_LEN + 1..],
        cookie,
        "refused a cookie it issued, within its lifetime: {}",
        what()
    );
}

/// The Initial without its cookie (`cookie_len` 0), padded back to its length.
pub fn without_cookie(datagram: &[u8]) -> Vec<u8> {
    let cookie_len = usize::from(datagram[DATAGRAM_HEADER_LEN]);
    let mut bare = datagram[..DATAGRAM_HEADER_LEN].to_vec();
    bare.push(0);
    bare.extend_from_slice(&datagram[DATAGRAM_HEADER_LEN + 1 + cookie_len..]);
    bare.resize(datagram.len().max(MIN_INITIAL_LEN), 0);
    bare
}

/// The Initial with `cookie` in place of whatever cookie it carried.
pub fn with_cookie(datagram: &[u8], cookie: &[u8]) -> Vec<u8> {
    let cookie_len = usize::from(datagram[DATAGRAM_HEADER_LEN]);
    let mut returned = datagram[..DATAGRAM_HEADER_LEN].to_vec();
    returned.push(cookie.len() as u8);
    returned.extend_from_slice(cookie);
    returned.extend_from_slice(&datagram[DATAGRAM_HEADER_LEN + 1 + cookie_len..]);
    returned
}
