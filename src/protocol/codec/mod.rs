//! Typed operation parameters and their wire encoding.
//!
//! Operations, responses and events carry a small dictionary of typed values keyed by one byte, so a
//! game can add fields without a schema change and both ends stay cheap to implement. A value is a
//! one-byte tag followed by its payload (docs/protocol.md, section 4, is the full definition):
//!
//! ```text
//! version 1
//! 0x00 null      0x01 false        0x02 true
//! 0x03 i32       (zigzag varint)   0x04 i64   (zigzag varint)
//! 0x05 f32       (4 bytes LE)      0x06 f64   (8 bytes LE)
//! 0x07 string    (varint length, UTF-8)
//! 0x08 bytes     (varint length, raw)
//! 0x09 array     (varint count, values)
//! 0x0A map       (varint count, count x (key u8, value)); the encoder writes keys ascending
//! version 2
//! 0x0B u8        (1 byte)          0x0C i16   (zigzag varint)
//! 0x0D i16[]  0x0E i32[]  0x0F i64[]  0x10 f32[]  0x11 f64[]   (varint count, fixed-size LE elements)
//! 0x12 bool[]    (varint count, bits packed 8 to a byte, least significant first)
//! 0x13 string[]  (varint count, strings)
//! 0x14 table     (varint count, count x (key, value)); keys are i32, i64, string, u8 or i16 values
//! 0x15 custom    (type code u8, varint length, bytes)
//! ```
//!
//! A top-level [`Params`] is a map payload without its tag. The decoder is the first code to interpret
//! bytes a peer chose, so it checks every declared length against [`Limits`] and against the input that
//! is actually left before it allocates, and it bounds nesting so neither recursion nor the size of the
//! result can be driven by a few hostile bytes.

mod budget;
mod read;
mod value;
mod write;

#[cfg(test)]
mod tests;

use std::fmt;

pub use budget::{decoded_size, KEY_COST, VALUE_COST};
pub use read::Reader;
pub use value::{Key, Params, Table, Value};
pub use write::{put_string, put_varint};

/// The newest protocol version whose value types this codec knows.
pub const LATEST_VERSION: u8 = 2;

/// Bounds on what one decode may produce, and which value types the connection's protocol version
/// has.
///
/// Each bound caps memory or work an untrusted peer can cause with a small input. `max_depth` also
/// bounds native stack use, because decoding, checking, encoding and dropping values all recurse once
/// per nesting level; keep it small (tens, not thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest container allowed; a container directly inside the top-level params is at depth 1.
    pub max_depth: usize,
    /// Most entries in any one map, table, array or string array, the top-level params included.
    pub max_entries: usize,
    /// Longest string, in bytes.
    pub max_string: usize,
    /// Longest byte array, custom value or packed array, in bytes on the wire.
    pub max_bytes: usize,
    /// Most values in one decode, at every depth together; stops payloads that are wide rather than deep.
    pub max_total_values: usize,
    /// Largest decoded size of one message (see [`decoded_size`]): the memory a decode may build,
    /// charged before each allocation, so a small frame cannot unfold into a large in-memory value.
    pub max_decoded_bytes: usize,
    /// The protocol version of the connection: version 1 has only the types up to the map.
    pub protocol_version: u8,
}

pub const DEFAULT_LIMITS: Limits = Limits {
    max_depth: 8,
    max_entries: 4096,
    max_string: 64 * 1024,
    max_bytes: 256 * 1024,
    max_total_values: 65_536,
    max_decoded_bytes: 2 * 1024 * 1024,
    protocol_version: LATEST_VERSION,
};

impl Default for Limits {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

impl Limits {
    fn check_depth(&self, depth: usize) -> Result<(), CodecError> {
        if depth > self.max_depth {
            return Err(CodecError::DepthExceeded { max: self.max_depth });
        }
        Ok(())
    }

    fn check_entries(&self, count: u64) -> Result<usize, CodecError> {
        let max = self.max_entries;
        usize::try_from(count).ok().filter(|&count| count <= max).ok_or(CodecError::TooManyEntries { count, max })
    }
}

/// Why bytes could not be decoded, or why in-memory parameters may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The input ended, or declared more content than it has left.
    Truncated,
    /// A varint does not fit in 64 bits, or an i32 or i16 value does not fit its width.
    VarintOverflow,
    UnknownTag(u8),
    InvalidUtf8,
    StringTooLong {
        len: u64,
        max: usize,
    },
    BytesTooLong {
        len: u64,
        max: usize,
    },
    /// A packed array (or bool array) of more bytes on the wire than `max_bytes`.
    ArrayTooLong {
        len: u64,
        max: usize,
    },
    TooManyEntries {
        count: u64,
        max: usize,
    },
    DepthExceeded {
        max: usize,
    },
    TooManyValues {
        max: usize,
    },
    /// The decoded message would exceed [`Limits::max_decoded_bytes`].
    DecodedTooLarge {
        max: usize,
    },
    DuplicateKey(u8),
    /// A key repeated in one table.
    DuplicateTableKey,
    /// A table key of a type keys cannot have (only i32, i64, string, u8 and i16 can).
    InvalidTableKey(u8),
    /// Padding bits of a bool array's last byte are set.
    NonZeroPadding,
    TrailingBytes {
        count: usize,
    },
    /// A varint with redundant zero groups; refused so each number has exactly one encoding.
    NonCanonicalVarint,
    /// A connect request without an application id; kept apart from length errors so the server can
    /// tell a misconfigured client from an oversized one.
    EmptyAppId,
    /// A value of a type the connection's protocol version does not have (refused before sending).
    TypeNeedsVersion {
        what: &'static str,
        needs: u8,
        version: u8,
    },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Truncated => f.write_str("input truncated"),
            CodecError::VarintOverflow => f.write_str("varint overflows its integer type"),
            CodecError::UnknownTag(tag) => write!(f, "unknown value tag {tag:#04x}"),
            CodecError::InvalidUtf8 => f.write_str("string is not valid utf-8"),
            CodecError::StringTooLong { len, max } => {
                write!(f, "string of {len} bytes exceeds the limit of {max}")
            }
            CodecError::BytesTooLong { len, max } => {
                write!(f, "byte array of {len} bytes exceeds the limit of {max}")
            }
            CodecError::ArrayTooLong { len, max } => {
                write!(f, "packed array of {len} bytes exceeds the limit of {max}")
            }
            CodecError::TooManyEntries { count, max } => {
                write!(f, "{count} entries exceed the limit of {max}")
            }
            CodecError::DepthExceeded { max } => {
                write!(f, "nesting exceeds the maximum depth of {max}")
            }
            CodecError::TooManyValues { max } => {
                write!(f, "more than {max} values in one message")
            }
            CodecError::DecodedTooLarge { max } => {
                write!(f, "message would take more than {max} bytes once decoded")
            }
            CodecError::DuplicateKey(key) => write!(f, "duplicate map key {key}"),
            CodecError::DuplicateTableKey => f.write_str("duplicate table key"),
            CodecError::InvalidTableKey(tag) => {
                write!(f, "table key of type {tag:#04x} (keys are int, long, string, byte or short)")
            }
            CodecError::NonZeroPadding => f.write_str("bool array has padding bits set"),
            CodecError::TrailingBytes { count } => write!(f, "{count} unread trailing bytes"),
            CodecError::NonCanonicalVarint => f.write_str("non-canonical varint encoding"),
            CodecError::EmptyAppId => f.write_str("empty app id"),
            CodecError::TypeNeedsVersion { what, needs, version } => {
                let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                write!(
                    f,
                    "{article} {what} value needs protocol version {needs}; this connection speaks version {version}"
                )
            }
        }
    }
}

impl std::error::Error for CodecError {}

/// Appends `params` in wire form.
///
/// Encoding recurses once per nesting level of the in-memory value; run [`check_params`] first on
/// parameters that did not come from [`decode_params`].
pub fn encode_params(params: &Params, out: &mut Vec<u8>) {
    write::params(params, out);
}

/// The bytes one value takes on the wire, its tag included.
pub fn encoded_value_len(value: &Value) -> usize {
    write::value_len(value)
}

/// The exact number of bytes [`encode_params`] appends, so callers can reserve once.
pub fn encoded_len(params: &Params) -> usize {
    write::params_len(params)
}

/// Decodes parameters that must fill `input` exactly, so nothing can be smuggled after them.
pub fn decode_params(input: &[u8], limits: &Limits) -> Result<Params, CodecError> {
    let mut reader = Reader::new(input);
    let params = reader.params(limits)?;
    reader.finish()?;
    Ok(params)
}

/// Refuses in-memory parameters that a receiver with the same `limits` would refuse, with the same
/// error the receiver would report, so a sender learns of the problem before anything is sent. A
/// type the protocol version lacks is refused with [`CodecError::TypeNeedsVersion`].
pub fn check_params(params: &Params, limits: &Limits) -> Result<(), CodecError> {
    budget::LimitCheck { limits, budget: budget::Budget::new(limits) }.params(params, 0)
}

/// Refuses one value that could never be sent under `limits` at `depth` (1 for a value directly in
/// the top-level params), looking at the value alone: its type, sizes, entry counts and nesting. Lets
/// a builder refuse a bad value when it is put, naming the limit; the whole message is checked again
/// when sent.
pub fn check_value(value: &Value, depth: usize, limits: &Limits) -> Result<(), CodecError> {
    let unbounded = Limits { max_total_values: usize::MAX, max_decoded_bytes: usize::MAX, ..*limits };
    budget::LimitCheck { limits: &unbounded, budget: budget::Budget::new(&unbounded) }.value(value, depth)
}

#[cfg(test)]
pub(crate) mod testing;
