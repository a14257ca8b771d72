//! `Header::parse` on arbitrary bytes: whatever parses must re-encode to exactly the bytes it came
//! from, and every shorter prefix must be reported as incomplete, with the right count.

use sealnet::protocol::frame::{FrameError, Header, DEFAULT_MAX_BODY, FIXED_HEADER_LEN, MAX_HEADER_LEN, TAG_LEN};

pub fn run(data: &[u8]) {
    let Ok((header, len)) = Header::parse(data, DEFAULT_MAX_BODY) else {
        return;
    };
    assert_eq!(len, header.len(), "parsed length differs from the header's encoded length");
    assert!(len <= data.len() && len <= MAX_HEADER_LEN);
    assert!(header.body_len <= DEFAULT_MAX_BODY);
    assert!(!header.encrypted || header.counter.is_some(), "encrypted without authentication");
    assert!(header.counter.is_none() || header.body_len as usize >= TAG_LEN, "authenticated body shorter than a tag");

    let mut out = [0u8; MAX_HEADER_LEN];
    header.write(&mut out[..len]);
    assert_eq!(out[..len], data[..len], "re-encoded header differs from its input");
    assert_eq!(Header::parse(&out[..len], DEFAULT_MAX_BODY), Ok((header, len)));

    for cut in 0..len {
        let needed = if cut < FIXED_HEADER_LEN { FIXED_HEADER_LEN - cut } else { len - cut };
        assert_eq!(
            Header::parse(&data[..cut], DEFAULT_MAX_BODY),
            Err(FrameError::Incomplete { needed }),
            "prefix {cut}"
        );
    }

    // The body limit is inclusive.
    assert_eq!(Header::parse(data, header.body_len), Ok((header, len)));
    if let Some(below) = header.body_len.checked_sub(1) {
        assert_eq!(
            Header::parse(data, below),
            Err(FrameError::BodyTooLarge { len: header.body_len, max: below }),
            "limit one below the body length"
        );
    }
}
