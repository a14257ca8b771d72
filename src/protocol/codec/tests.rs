use super::budget::{ARRAY_ELEMENT_COST, ENTRY_COST, STRING_ELEMENT_COST, TABLE_ENTRY_COST};
use super::testing::{params, same_params, same_value, value, value_v1};
use super::write::varint_len;
use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

const V1: Limits = Limits { protocol_version: 1, ..DEFAULT_LIMITS };

fn encode(params: &Params) -> Vec<u8> {
    let mut out = Vec::new();
    encode_params(params, &mut out);
    out
}

fn single(value: impl Into<Value>) -> Params {
    Params::from_iter([(0u8, value.into())])
}

/// Top-level params holding, under key 0, `levels` arrays nested inside each other.
fn nested_arrays(levels: usize) -> Params {
    let mut value = Value::Null;
    for _ in 0..levels {
        value = Value::Array(vec![value]);
    }
    single(value)
}

fn varint_bytes(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, value);
    out
}

/// One top-level entry (key 0) whose value is `value_bytes`.
fn one_entry(value_bytes: &[u8]) -> Vec<u8> {
    [&[0x01, 0x00], value_bytes].concat()
}

#[test]
fn encodes_every_type_as_specified() {
    let params = Params::from_iter([
        (0u8, Value::Null),
        (1, false.into()),
        (2, true.into()),
        (3, (-1i32).into()),
        (4, 300i64.into()),
        (5, 1.0f32.into()),
        (6, (-2.0f64).into()),
        (7, "hé".into()),
        (8, vec![0xABu8].into()),
        (9, vec![Value::Int(1)].into()),
        (10, single(Value::Null).into()),
    ]);
    let expected: Vec<u8> = [
        &[0x0B][..],
        &[0, 0x00],
        &[1, 0x01],
        &[2, 0x02],
        &[3, 0x03, 0x01],
        &[4, 0x04, 0xD8, 0x04],
        &[5, 0x05, 0x00, 0x00, 0x80, 0x3F],
        &[6, 0x06, 0, 0, 0, 0, 0, 0, 0, 0xC0],
        &[7, 0x07, 0x03, b'h', 0xC3, 0xA9],
        &[8, 0x08, 0x01, 0xAB],
        &[9, 0x09, 0x01, 0x03, 0x02],
        &[10, 0x0A, 0x01, 0x00, 0x00],
    ]
    .concat();
    assert_eq!(encode(&params), expected);
    assert_eq!(encoded_len(&params), expected.len());
    assert_eq!(decode_params(&expected, &DEFAULT_LIMITS), Ok(params));
}

#[test]
fn encoder_writes_keys_ascending_whatever_the_insertion_order() {
    let mut params = Params::new();
    params.insert(9, 1);
    params.insert(2, 2);
    params.insert(5, 3);
    assert_eq!(encode(&params), [3, 2, 0x03, 0x04, 5, 0x03, 0x06, 9, 0x03, 0x02]);
}

#[test]
fn varints_use_their_shortest_form() {
    assert_eq!(varint_bytes(0), [0x00]);
    assert_eq!(varint_bytes(127), [0x7F]);
    assert_eq!(varint_bytes(128), [0x80, 0x01]);
    assert_eq!(varint_bytes(u64::MAX), [&[0xFF; 9][..], &[0x01]].concat());
    assert_eq!(Reader::new(&varint_bytes(u64::MAX)).varint(), Ok(u64::MAX));
}

#[test]
fn integer_extremes_round_trip() {
    for int in [i32::MIN, -1, 0, 1, i32::MAX] {
        let params = single(int);
        assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Ok(params));
    }
    for long in [i64::MIN, -1, 0, 1, i64::MAX] {
        let params = single(long);
        assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Ok(params));
    }
}

#[test]
fn nan_payloads_survive_bit_for_bit() {
    let float_bits = 0x7FA0_0001u32; // signalling NaN with a payload
    let double_bits = 0xFFF8_0000_DEAD_BEEFu64;
    let params = Params::from_iter([(0u8, f32::from_bits(float_bits).into()), (1, f64::from_bits(double_bits).into())]);
    let decoded = decode_params(&encode(&params), &DEFAULT_LIMITS).unwrap();
    match (decoded.get(0), decoded.get(1)) {
        (Some(Value::Float(f)), Some(Value::Double(d))) => {
            assert_eq!(f.to_bits(), float_bits);
            assert_eq!(d.to_bits(), double_bits);
        }
        other => panic!("unexpected values {other:?}"),
    }
}

#[test]
fn params_accessors() {
    let mut params = Params::new();
    assert!(params.is_empty());
    assert_eq!(params.insert(1, "a"), None);
    assert_eq!(params.insert(1, 7i64), Some(Value::String("a".into())));
    params.insert(0, &b"xy"[..]);
    assert_eq!(params.len(), 2);
    assert_eq!(params.get(1), Some(&Value::Long(7)));
    let keys: Vec<u8> = params.iter().map(|(key, _)| key).collect();
    assert_eq!(keys, [0, 1]);
    assert_eq!(params.remove(0), Some(Value::Bytes(b"xy".to_vec())));
    assert_eq!(params.get(0), None);
}

#[test]
fn retain_keeps_the_chosen_entries_in_order() {
    let mut params = Params::new();
    for key in [5u8, 1, 9, 3] {
        params.insert(key, key as i32);
    }
    params.retain(|key, value| key != 9 && *value != Value::Int(1));
    let kept: Vec<u8> = params.iter().map(|(key, _)| key).collect();
    assert_eq!(kept, [3, 5]);
    params.insert(4, 4);
    assert_eq!(params.iter().map(|(key, _)| key).collect::<Vec<_>>(), [3, 4, 5], "still sorted for inserts");
}

#[test]
fn malformed_inputs_fail_with_the_matching_error() {
    let small_budget = Limits { max_total_values: 3, ..DEFAULT_LIMITS };
    let len_2_pow_40 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    let cases: Vec<(&str, Vec<u8>, Limits, CodecError)> = vec![
        ("empty input", vec![], DEFAULT_LIMITS, CodecError::Truncated),
        ("entry without value", vec![0x01, 0x07], DEFAULT_LIMITS, CodecError::Truncated),
        ("string shorter than declared", one_entry(&[0x07, 0x05, b'a', b'b']), DEFAULT_LIMITS, CodecError::Truncated),
        ("half a double", one_entry(&[0x06, 0, 0, 0, 0]), DEFAULT_LIMITS, CodecError::Truncated),
        ("eleven-byte varint", [&[0xFF; 10][..], &[0x01]].concat(), DEFAULT_LIMITS, CodecError::VarintOverflow),
        ("tenth varint byte above one", [&[0xFF; 9][..], &[0x02]].concat(), DEFAULT_LIMITS, CodecError::VarintOverflow),
        (
            "int beyond 32 bits",
            one_entry(&[0x03, 0x80, 0x80, 0x80, 0x80, 0x10]),
            DEFAULT_LIMITS,
            CodecError::VarintOverflow,
        ),
        ("unknown tag", one_entry(&[0x16]), DEFAULT_LIMITS, CodecError::UnknownTag(0x16)),
        ("a version-2 tag in version 1", one_entry(&[0x0B, 7]), V1, CodecError::UnknownTag(0x0B)),
        ("short beyond 16 bits", one_entry(&[0x0C, 0x80, 0x80, 0x04]), DEFAULT_LIMITS, CodecError::VarintOverflow),
        (
            "int array of 2^20 elements",
            one_entry(&[&[0x0E][..], &varint_bytes(1 << 20)].concat()),
            DEFAULT_LIMITS,
            CodecError::ArrayTooLong { len: 4 << 20, max: 256 * 1024 },
        ),
        ("bool array padding", one_entry(&[0x12, 3, 0b1111_0101]), DEFAULT_LIMITS, CodecError::NonZeroPadding),
        (
            "duplicate table key",
            one_entry(&[0x14, 2, 0x07, 1, b'k', 0x00, 0x07, 1, b'k', 0x00]),
            DEFAULT_LIMITS,
            CodecError::DuplicateTableKey,
        ),
        (
            "table key of type null",
            one_entry(&[0x14, 1, 0x00, 0x00, 0x00]),
            DEFAULT_LIMITS,
            CodecError::InvalidTableKey(0),
        ),
        ("invalid utf-8", one_entry(&[0x07, 0x02, 0xC3, 0x28]), DEFAULT_LIMITS, CodecError::InvalidUtf8),
        (
            "string declaring 2^40 bytes",
            one_entry(&[&[0x07][..], &len_2_pow_40].concat()),
            DEFAULT_LIMITS,
            CodecError::StringTooLong { len: 1 << 40, max: 64 * 1024 },
        ),
        (
            "bytes declaring 2^40 bytes",
            one_entry(&[&[0x08][..], &len_2_pow_40].concat()),
            DEFAULT_LIMITS,
            CodecError::BytesTooLong { len: 1 << 40, max: 256 * 1024 },
        ),
        (
            "top level with 5000 entries",
            varint_bytes(5000),
            DEFAULT_LIMITS,
            CodecError::TooManyEntries { count: 5000, max: 4096 },
        ),
        (
            "array declaring 2^40 elements",
            one_entry(&[&[0x09][..], &len_2_pow_40].concat()),
            DEFAULT_LIMITS,
            CodecError::TooManyEntries { count: 1 << 40, max: 4096 },
        ),
        ("nine nested arrays", encode(&nested_arrays(9)), DEFAULT_LIMITS, CodecError::DepthExceeded { max: 8 }),
        (
            "four values over a budget of three",
            vec![4, 0, 0x00, 1, 0x00, 2, 0x00, 3, 0x00],
            small_budget,
            CodecError::TooManyValues { max: 3 },
        ),
        (
            "200 one-entry maps over a 4 KiB decoded budget",
            one_entry(&[&[0x09][..], &varint_bytes(200), &[0x0A, 0x01, 0x00, 0x00].repeat(200)].concat()),
            Limits { max_decoded_bytes: 4096, ..DEFAULT_LIMITS },
            CodecError::DecodedTooLarge { max: 4096 },
        ),
        ("duplicate key", vec![2, 5, 0x00, 5, 0x01], DEFAULT_LIMITS, CodecError::DuplicateKey(5)),
        (
            "duplicate key in nested map",
            one_entry(&[0x0A, 2, 9, 0x00, 9, 0x00]),
            DEFAULT_LIMITS,
            CodecError::DuplicateKey(9),
        ),
        ("trailing bytes", vec![0x00, 0xAA, 0xBB], DEFAULT_LIMITS, CodecError::TrailingBytes { count: 2 }),
        ("padded count", vec![0x80, 0x00], DEFAULT_LIMITS, CodecError::NonCanonicalVarint),
        ("padded string length", one_entry(&[0x07, 0x81, 0x00, b'a']), DEFAULT_LIMITS, CodecError::NonCanonicalVarint),
    ];

    let mut reached = Vec::new();
    for (name, input, limits, expected) in &cases {
        assert_eq!(decode_params(input, limits), Err(*expected), "{name}");
        reached.push(*expected);
    }
    // Fails to compile when a variant is added, and fails at run time if one has no case above.
    let all_variants_reached = reached.iter().fold([false; 17], |mut seen, error| {
        let index = match error {
            CodecError::Truncated => 0,
            CodecError::VarintOverflow => 1,
            CodecError::UnknownTag(_) => 2,
            CodecError::InvalidUtf8 => 3,
            CodecError::StringTooLong { .. } => 4,
            CodecError::BytesTooLong { .. } => 5,
            CodecError::TooManyEntries { .. } => 6,
            CodecError::DepthExceeded { .. } => 7,
            CodecError::TooManyValues { .. } => 8,
            CodecError::DuplicateKey(_) => 9,
            CodecError::TrailingBytes { .. } => 10,
            CodecError::NonCanonicalVarint => 11,
            CodecError::DecodedTooLarge { .. } => 12,
            CodecError::ArrayTooLong { .. } => 13,
            CodecError::DuplicateTableKey => 14,
            CodecError::InvalidTableKey(_) => 15,
            CodecError::NonZeroPadding => 16,
            // Only message bodies can produce this one; see message::tests.
            CodecError::EmptyAppId => return seen,
            // Only senders report this one; see below.
            CodecError::TypeNeedsVersion { .. } => return seen,
        };
        seen[index] = true;
        seen
    });
    assert_eq!(all_variants_reached, [true; 17]);
}

#[test]
fn declared_sizes_beyond_the_input_fail_before_allocating() {
    // With the limits out of the way, only the remaining-input check stands between these
    // declared sizes and a multi-terabyte allocation.
    let unlimited = Limits { max_entries: usize::MAX, max_string: usize::MAX, max_bytes: usize::MAX, ..DEFAULT_LIMITS };
    let len_2_pow_40 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    for tag in [0x07, 0x08, 0x09, 0x0A, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14] {
        let input = one_entry(&[&[tag][..], &len_2_pow_40, &[0x00; 16]].concat());
        assert_eq!(decode_params(&input, &unlimited), Err(CodecError::Truncated));
    }
    // A map entry needs two bytes, so 1000 entries cannot fit in 1500.
    let input = one_entry(&[&[0x0A][..], &varint_bytes(1000), &[0x00; 1500]].concat());
    assert_eq!(decode_params(&input, &DEFAULT_LIMITS), Err(CodecError::Truncated));
    assert_eq!(decode_params(&varint_bytes(1u64 << 40), &unlimited), Err(CodecError::Truncated));
}

#[test]
fn depth_bombs_stop_at_the_limit_without_exhausting_the_stack() {
    let arrays = one_entry(&[[0x09, 0x01].repeat(10_000), vec![0x00]].concat());
    let maps = one_entry(&[[0x0A, 0x01, 0x00].repeat(10_000), vec![0x00]].concat());
    for input in [arrays, maps] {
        assert_eq!(decode_params(&input, &DEFAULT_LIMITS), Err(CodecError::DepthExceeded { max: 8 }));
    }
}

#[test]
fn depth_limit_is_inclusive() {
    let deepest_allowed = nested_arrays(DEFAULT_LIMITS.max_depth);
    let bytes = encode(&deepest_allowed);
    assert_eq!(decode_params(&bytes, &DEFAULT_LIMITS), Ok(deepest_allowed));

    let flat_only = Limits { max_depth: 0, ..DEFAULT_LIMITS };
    assert_eq!(decode_params(&bytes, &flat_only), Err(CodecError::DepthExceeded { max: 0 }));
    assert_eq!(decode_params(&[1, 0, 0x00], &flat_only), Ok(single(Value::Null)));
}

#[test]
fn breadth_bomb_hits_the_total_value_limit() {
    // 4096 arrays of 16 nulls: every container is within max_entries, but 1 + 4096 * 17 values
    // exceed the default total of 65536.
    let inner = [&[0x09, 16][..], &[0x00; 16]].concat();
    let input = one_entry(&[&[0x09][..], &varint_bytes(4096), &inner.repeat(4096)].concat());
    let unbounded_size = Limits { max_decoded_bytes: usize::MAX, ..DEFAULT_LIMITS };
    assert_eq!(decode_params(&input, &unbounded_size), Err(CodecError::TooManyValues { max: 65_536 }));
    let roomy = Limits { max_total_values: 1 + 4096 * 17, ..unbounded_size };
    assert!(decode_params(&input, &roomy).is_ok());
}

#[test]
fn check_params_refuses_what_a_receiver_would_refuse() {
    let cases = [
        (nested_arrays(9), CodecError::DepthExceeded { max: 8 }),
        (single("x".repeat(64 * 1024 + 1)), CodecError::StringTooLong { len: 64 * 1024 + 1, max: 64 * 1024 }),
        (single(vec![0u8; 256 * 1024 + 1]), CodecError::BytesTooLong { len: 256 * 1024 + 1, max: 256 * 1024 }),
        (single(vec![Value::Null; 4097]), CodecError::TooManyEntries { count: 4097, max: 4096 }),
        (single(vec![Value::Array(vec![Value::Null; 4000]); 17]), CodecError::DecodedTooLarge { max: 2 << 20 }),
    ];
    for (params, expected) in cases {
        assert_eq!(check_params(&params, &DEFAULT_LIMITS), Err(expected));
        assert_eq!(decode_params(&encode(&params), &DEFAULT_LIMITS), Err(expected));
    }
    assert_eq!(check_params(&nested_arrays(8), &DEFAULT_LIMITS), Ok(()));
}

#[test]
fn reader_reads_big_endian_fields_and_bounded_strings() {
    let input = [
        &[0x7F, 0x01, 0x02, 0xFF, 0xFE][..],
        &[0x00, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF],
        &[0, 0, 0, 0, 0, 0, 0x01, 0x02],
        &[0x02, b'o', b'k', 0x01, 0x09],
    ]
    .concat();
    let mut reader = Reader::new(&input);
    assert_eq!(reader.u8(), Ok(0x7F));
    assert_eq!(reader.u16_be(), Ok(0x0102));
    assert_eq!(reader.i16_be(), Ok(-2));
    assert_eq!(reader.u32_be(), Ok(256));
    assert_eq!(reader.i32_be(), Ok(-1));
    assert_eq!(reader.u64_be(), Ok(0x0102));
    assert_eq!(reader.clone().string(1), Err(CodecError::StringTooLong { len: 2, max: 1 }));
    assert_eq!(reader.string(2), Ok("ok"));
    assert_eq!(reader.remaining(), 2);
    assert_eq!(reader.finish(), Err(CodecError::TrailingBytes { count: 2 }));
    assert_eq!(reader.bytes(1), Ok(&[0x09][..]));
    assert_eq!(reader.finish(), Ok(()));
    assert_eq!(reader.u8(), Err(CodecError::Truncated));
    assert_eq!(reader.u64_be(), Err(CodecError::Truncated));
}

#[test]
fn errors_display_in_plain_words() {
    assert_eq!(CodecError::Truncated.to_string(), "input truncated");
    assert_eq!(CodecError::UnknownTag(0x0B).to_string(), "unknown value tag 0x0b");
    assert_eq!(CodecError::StringTooLong { len: 9, max: 4 }.to_string(), "string of 9 bytes exceeds the limit of 4");
    let boxed: Box<dyn std::error::Error> = Box::new(CodecError::DuplicateKey(3));
    assert_eq!(boxed.to_string(), "duplicate map key 3");
}

#[test]
fn the_decoded_size_is_charged_before_allocating_and_matches_decoded_size() {
    // Arrays of one-entry maps unfold to many times their wire size; the budget refuses them as
    // soon as the charge passes it, whatever the other limits allow.
    let maps = [0x0A, 0x01, 0x00, 0x00].repeat(4000);
    let input = one_entry(&[&[0x09][..], &varint_bytes(4000), &maps].concat());
    let generous = Limits { max_decoded_bytes: usize::MAX, ..DEFAULT_LIMITS };
    let decoded = decode_params(&input, &generous).unwrap();
    let size = decoded_size(&decoded);
    assert_eq!(size, ENTRY_COST + 4000 * (ARRAY_ELEMENT_COST + ENTRY_COST));
    assert_eq!(decode_params(&input, &Limits { max_decoded_bytes: size, ..DEFAULT_LIMITS }), Ok(decoded));
    let tight = Limits { max_decoded_bytes: size - 1, ..DEFAULT_LIMITS };
    assert_eq!(decode_params(&input, &tight), Err(CodecError::DecodedTooLarge { max: size - 1 }));
}

#[test]
fn the_cost_model_covers_the_real_memory_of_values() {
    assert!(std::mem::size_of::<Value>() <= VALUE_COST);
    assert!(std::mem::size_of::<(u8, Value)>() <= ENTRY_COST);
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (0usize..5, 0usize..8, 0usize..10, 0usize..10, 0usize..40, 0usize..2000).prop_map(
        |(max_depth, max_entries, max_string, max_bytes, max_total_values, max_decoded_bytes)| Limits {
            protocol_version: LATEST_VERSION,
            max_depth,
            max_entries,
            max_string,
            max_bytes,
            max_total_values,
            max_decoded_bytes,
        },
    )
}

proptest! {
    #[test]
    fn params_round_trip(params in params()) {
        let bytes = encode(&params);
        prop_assert_eq!(encoded_len(&params), bytes.len());
        let decoded = decode_params(&bytes, &DEFAULT_LIMITS).unwrap();
        prop_assert!(same_params(&decoded, &params), "{:?} != {:?}", decoded, params);
    }

    #[test]
    fn single_values_round_trip(value in value()) {
        let params = single(value);
        let bytes = encode(&params);
        prop_assert_eq!(encoded_len(&params), bytes.len());
        let decoded = decode_params(&bytes, &DEFAULT_LIMITS).unwrap();
        prop_assert!(same_params(&decoded, &params));
    }

    #[test]
    fn decoded_size_is_exactly_what_the_decoder_charges(params in params()) {
        let bytes = encode(&params);
        let size = decoded_size(&params);
        let exact = Limits { max_decoded_bytes: size, ..DEFAULT_LIMITS };
        prop_assert!(decode_params(&bytes, &exact).is_ok());
        if size > 0 {
            let short = Limits { max_decoded_bytes: size - 1, ..DEFAULT_LIMITS };
            prop_assert_eq!(decode_params(&bytes, &short), Err(CodecError::DecodedTooLarge { max: size - 1 }));
        }
    }

    #[test]
    fn varints_round_trip(number in any::<u64>()) {
        let bytes = varint_bytes(number);
        prop_assert_eq!(bytes.len(), varint_len(number));
        let mut reader = Reader::new(&bytes);
        prop_assert_eq!(reader.varint(), Ok(number));
        prop_assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn check_params_agrees_with_the_decoder(params in params(), limits in small_limits()) {
        let decoded = decode_params(&encode(&params), &limits).map(|_| ());
        prop_assert_eq!(check_params(&params, &limits), decoded);
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        if let Ok(params) = decode_params(&bytes, &DEFAULT_LIMITS) {
            // Everything but map key order is canonical, so the size must match exactly.
            prop_assert_eq!(encoded_len(&params), bytes.len());
        }
    }

    #[test]
    fn corrupted_encodings_never_panic(
        params in params(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let mut bytes = encode(&params);
        let at = position.index(bytes.len());
        bytes[at] = replacement;
        let _ = decode_params(&bytes, &DEFAULT_LIMITS);
    }

    #[test]
    fn every_truncation_fails(params in params()) {
        let bytes = encode(&params);
        for len in 0..bytes.len() {
            prop_assert!(decode_params(&bytes[..len], &DEFAULT_LIMITS).is_err(), "accepted {} of {} bytes", len, bytes.len());
        }
    }
}

#[test]
fn encodes_every_version_2_type_as_specified() {
    let mut table = Table::new();
    table.insert("hp", 100);
    table.insert(7u8, true);
    table.insert(-1i64, Value::Null);
    let params = Params::from_iter([
        (0u8, Value::Byte(0xFE)),
        (1, Value::Short(-2)),
        (2, Value::ShortArray(vec![1, -1])),
        (3, Value::IntArray(vec![1])),
        (4, Value::LongArray(vec![-1])),
        (5, Value::FloatArray(vec![1.0])),
        (6, Value::DoubleArray(vec![-2.0])),
        (7, Value::BoolArray(vec![true, false, true])),
        (8, Value::StringArray(vec!["a".into(), "".into()])),
        (9, Value::Table(table)),
        (10, Value::Custom { code: b'V', data: vec![1, 2] }),
    ]);
    let expected: Vec<u8> = [
        &[0x0B][..],
        &[0, 0x0B, 0xFE],
        &[1, 0x0C, 0x03],
        &[2, 0x0D, 2, 0x01, 0x00, 0xFF, 0xFF],
        &[3, 0x0E, 1, 0x01, 0, 0, 0],
        &[4, 0x0F, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        &[5, 0x10, 1, 0x00, 0x00, 0x80, 0x3F],
        &[6, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0xC0],
        &[7, 0x12, 3, 0b101],
        &[8, 0x13, 2, 1, b'a', 0],
        // Table keys in key order: long -1, string "hp", byte 7.
        &[9, 0x14, 3, 0x04, 0x01, 0x00, 0x07, 2, b'h', b'p', 0x03, 0xC8, 0x01, 0x0B, 7, 0x02],
        &[10, 0x15, b'V', 2, 1, 2],
    ]
    .concat();
    assert_eq!(encode(&params), expected);
    assert_eq!(encoded_len(&params), expected.len());
    let decoded = decode_params(&expected, &DEFAULT_LIMITS).unwrap();
    assert!(same_params(&decoded, &params));
}

#[test]
fn version_1_refuses_the_new_types_on_both_ends_with_the_version_named() {
    for value in [Value::Byte(1), Value::Table(Table::new()), Value::FloatArray(vec![1.0])] {
        let params = single(value.clone());
        let error = check_params(&params, &V1).unwrap_err();
        assert!(matches!(error, CodecError::TypeNeedsVersion { needs: 2, version: 1, .. }), "{error:?}");
        assert!(error.to_string().contains("needs protocol version 2"), "{error}");
        assert!(matches!(decode_params(&encode(&params), &V1), Err(CodecError::UnknownTag(_))));
        assert!(check_params(&params, &DEFAULT_LIMITS).is_ok());
    }
    // Nested inside a version-1 container too.
    let nested = single(Value::Array(vec![Value::Short(3)]));
    assert!(matches!(check_params(&nested, &V1), Err(CodecError::TypeNeedsVersion { what: "short", .. })));
}

#[test]
fn table_keys_of_any_order_are_accepted_and_encode_sorted() {
    // Keys byte 7 then string "a": out of key order on the wire.
    let input = one_entry(&[0x14, 2, 0x0B, 7, 0x00, 0x07, 1, b'a', 0x00]);
    let decoded = decode_params(&input, &DEFAULT_LIMITS).unwrap();
    let canonical = one_entry(&[0x14, 2, 0x07, 1, b'a', 0x00, 0x0B, 7, 0x00]);
    assert_eq!(encode(&decoded), canonical);
    // A string "1" and an int 1 are different keys.
    let mixed = one_entry(&[0x14, 2, 0x07, 1, b'1', 0x00, 0x03, 0x02, 0x00]);
    assert_eq!(decode_params(&mixed, &DEFAULT_LIMITS).map(|p| p.len()), Ok(1));
}

#[test]
fn packed_arrays_are_bounded_by_bytes_not_entries() {
    // 10,000 floats: far more entries than a container may have, but 40 KB.
    let positions = single(Value::FloatArray(vec![0.5; 10_000]));
    assert_eq!(check_params(&positions, &DEFAULT_LIMITS), Ok(()));
    let bytes = encode(&positions);
    assert!(bytes.len() < 40_010);
    assert!(decode_params(&bytes, &DEFAULT_LIMITS).is_ok());
    let too_many = single(Value::DoubleArray(vec![0.0; 40_000]));
    assert_eq!(
        check_params(&too_many, &DEFAULT_LIMITS),
        Err(CodecError::ArrayTooLong { len: 320_000, max: 256 * 1024 })
    );
}

#[test]
fn check_value_refuses_one_value_naming_the_limit() {
    let long = Value::String("x".repeat(70_000));
    let error = check_value(&long, 1, &DEFAULT_LIMITS).unwrap_err();
    assert_eq!(error.to_string(), "string of 70000 bytes exceeds the limit of 65536");
    assert_eq!(check_value(&Value::Int(1), 1, &DEFAULT_LIMITS), Ok(()));
    let deep = nested_arrays(9).remove(0).unwrap();
    assert_eq!(check_value(&deep, 1, &DEFAULT_LIMITS), Err(CodecError::DepthExceeded { max: 8 }));
}

#[test]
fn decoded_costs_of_the_version_2_types() {
    let params = Params::from_iter([
        (0u8, Value::IntArray(vec![1, 2, 3])),
        (1, Value::StringArray(vec!["ab".into()])),
        (2, Value::Table(Table::from_iter([(Key::String("k".into()), Value::Null)]))),
        (3, Value::BoolArray(vec![true; 9])),
    ]);
    let expected = 4 * ENTRY_COST + 12 + (STRING_ELEMENT_COST + 2) + (TABLE_ENTRY_COST + 1) + 9;
    assert_eq!(decoded_size(&params), expected);
    assert!(std::mem::size_of::<(Key, Value)>() <= TABLE_ENTRY_COST);
    assert!(std::mem::size_of::<String>() <= STRING_ELEMENT_COST);
}

proptest! {
    #[test]
    fn version_1_values_mean_the_same_in_both_versions(value in value_v1()) {
        let params = single(value);
        let bytes = encode(&params);
        let v1 = decode_params(&bytes, &V1).unwrap();
        let v2 = decode_params(&bytes, &DEFAULT_LIMITS).unwrap();
        prop_assert!(same_params(&v1, &v2));
    }

    #[test]
    fn every_value_round_trips(value in value()) {
        let params = single(value.clone());
        let decoded = decode_params(&encode(&params), &DEFAULT_LIMITS).unwrap();
        prop_assert!(same_value(decoded.get(0).unwrap(), &value));
    }
}
