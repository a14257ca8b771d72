//! `decode_params` on arbitrary bytes. What decodes must re-encode to as many bytes (keys may come back
//! sorted), stay within the decoded-size budget, pass `check_params`, and decode again to the same
//! value. Then a differential check: under tighter limits picked by the input, the decoder (on the
//! canonical encoding) and `check_params` (on the value) must refuse with the same error or both accept,
//! as `check_params` promises.

use sealnet::protocol::codec::{
    check_params, decode_params, decoded_size, encode_params, encoded_len, CodecError, Limits, DEFAULT_LIMITS,
};

pub fn run(data: &[u8]) {
    let Ok(params) = decode_params(data, &DEFAULT_LIMITS) else {
        return;
    };
    let mut encoded = Vec::with_capacity(data.len());
    encode_params(&params, &mut encoded);
    assert_eq!(encoded.len(), data.len(), "re-encoding changed the length");
    assert_eq!(encoded_len(&params), encoded.len(), "encoded_len disagrees with encode_params");
    assert!(decoded_size(&params) <= DEFAULT_LIMITS.max_decoded_bytes, "decoded size above the limit");
    assert_eq!(check_params(&params, &DEFAULT_LIMITS), Ok(()), "check_params refuses decoded params");

    // Compared as bytes: values holding NaN are not equal to themselves.
    let again = decode_params(&encoded, &DEFAULT_LIMITS).expect("the canonical encoding decodes");
    let mut twice = Vec::with_capacity(encoded.len());
    encode_params(&again, &mut twice);
    assert_eq!(twice, encoded, "decode(encode(params)) differs from params");

    let limits = tighter_limits(data);
    assert_eq!(
        decode_params(&encoded, &limits).err().map(same_refusal),
        check_params(&params, &limits).err().map(same_refusal),
        "decoder and check_params disagree under {limits:?}"
    );
}

/// A type the version lacks is the same refusal in both words: the receiver sees an unknown tag, the
/// sender knows the type and names the version it needs.
fn same_refusal(error: CodecError) -> CodecError {
    match error {
        CodecError::TypeNeedsVersion { .. } => CodecError::UnknownTag(0),
        CodecError::UnknownTag(_) => CodecError::UnknownTag(0),
        other => other,
    }
}

/// Limits derived from the input's last bytes (free payload in most encodings): each bound is either
/// the default or a small value, so inputs land on both sides of every limit.
fn tighter_limits(data: &[u8]) -> Limits {
    let knob = |from_end: usize| data.len().checked_sub(from_end + 1).map_or(0, |at| data[at]);
    let pick = |knob: u8, default: usize, small: fn(usize) -> usize| {
        if knob & 0x80 != 0 {
            default
        } else {
            small(usize::from(knob & 0x7f))
        }
    };
    Limits {
        max_depth: pick(knob(0), DEFAULT_LIMITS.max_depth, |k| k % 10),
        max_entries: pick(knob(1), DEFAULT_LIMITS.max_entries, |k| k % 24),
        max_string: pick(knob(2), DEFAULT_LIMITS.max_string, |k| k),
        max_bytes: pick(knob(3), DEFAULT_LIMITS.max_bytes, |k| k),
        max_total_values: pick(knob(4), DEFAULT_LIMITS.max_total_values, |k| k),
        max_decoded_bytes: pick(knob(5), DEFAULT_LIMITS.max_decoded_bytes, |k| k * 16),
        // Both versions: version 1 must refuse every version-2 tag the same way in both paths.
        protocol_version: if knob(6) & 1 == 0 { DEFAULT_LIMITS.protocol_version } else { 1 },
    }
}
