use super::*;

/// The limits of a connection that speaks protocol version 1.
const V1: Limits = Limits { protocol_version: 1, ..DEFAULT_LIMITS };

fn dict(entries: Vec<(i64, GdValue)>) -> GdValue {
    GdValue::Dictionary(entries.into_iter().map(|(key, value)| (GdValue::Int(key), value)).collect())
}

fn params(entries: Vec<(u8, Value)>) -> Params {
    entries.into_iter().collect()
}

fn send(value: GdValue) -> Value {
    value_from_gd(&value).unwrap()
}

fn sealnet(typed: Result<Typed, WrapError>) -> GdValue {
    GdValue::Sealnet(typed.unwrap())
}

fn table(entries: Vec<(Key, Value)>) -> Table {
    entries.into_iter().collect()
}

// ---- Godot → sealnet -------------------------------------------------------------------------------

#[test]
fn scalars_map_to_their_sealnet_types() {
    let cases = [
        (GdValue::Nil, Value::Null),
        (GdValue::Bool(true), Value::Bool(true)),
        (GdValue::Bool(false), Value::Bool(false)),
        (GdValue::Int(7), Value::Int(7)),
        (GdValue::Float(1.5), Value::Double(1.5)),
        (GdValue::String("héllo".into()), Value::String("héllo".into())),
        (GdValue::StringName("name".into()), Value::String("name".into())),
        (GdValue::PackedByteArray(vec![0, 1, 255]), Value::Bytes(vec![0, 1, 255])),
        (GdValue::PackedByteArray(Vec::new()), Value::Bytes(Vec::new())),
    ];
    for (godot, expected) in cases {
        let sent = value_from_gd(&godot).unwrap();
        assert_eq!(sent, expected, "{godot:?}");
        // Version-1 types: a version-1 connection sends them too.
        assert_eq!(sent.required_version(), 1, "{godot:?}");
    }
}

#[test]
fn int_is_sent_as_int_when_it_fits_and_long_otherwise() {
    assert_eq!(int_value(0), Value::Int(0));
    assert_eq!(int_value(i64::from(i32::MAX)), Value::Int(i32::MAX));
    assert_eq!(int_value(i64::from(i32::MIN)), Value::Int(i32::MIN));
    assert_eq!(int_value(i64::from(i32::MAX) + 1), Value::Long(i64::from(i32::MAX) + 1));
    assert_eq!(int_value(i64::from(i32::MIN) - 1), Value::Long(i64::from(i32::MIN) - 1));
    assert_eq!(int_value(i64::MAX), Value::Long(i64::MAX));
    assert_eq!(int_value(i64::MIN), Value::Long(i64::MIN));
}

#[test]
fn float_keeps_its_bits_including_nan_and_infinities() {
    for number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE] {
        match send(GdValue::Float(number)) {
            Value::Double(sent) => assert_eq!(sent.to_bits(), number.to_bits()),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn packed_arrays_become_packed_arrays() {
    assert_eq!(send(GdValue::PackedInt32Array(vec![1, -2, i32::MAX])), Value::IntArray(vec![1, -2, i32::MAX]));
    assert_eq!(send(GdValue::PackedInt64Array(vec![1, i64::MIN])), Value::LongArray(vec![1, i64::MIN]));
    assert_eq!(send(GdValue::PackedFloat32Array(vec![0.5, -1.25])), Value::FloatArray(vec![0.5, -1.25]));
    assert_eq!(send(GdValue::PackedFloat64Array(vec![0.25])), Value::DoubleArray(vec![0.25]));
    assert_eq!(
        send(GdValue::PackedStringArray(vec!["a".into(), "β".into(), String::new()])),
        Value::StringArray(vec!["a".into(), "β".into(), String::new()])
    );
    assert_eq!(send(GdValue::BoolArray(vec![true, false, true])), Value::BoolArray(vec![true, false, true]));
    assert_eq!(send(GdValue::PackedInt32Array(Vec::new())), Value::IntArray(Vec::new()));
}

#[test]
fn packed_arrays_are_version_2_types_that_a_version_1_connection_refuses_by_name() {
    // No downgrade to an Array of the elements: the conversion does not know the connection, and the
    // session's check (with a version-1 connection's limits) names the type and where it is.
    let cases = [
        (GdValue::PackedInt32Array(vec![1, -2]), "int array"),
        (GdValue::PackedInt64Array(vec![1]), "long array"),
        (GdValue::PackedFloat32Array(vec![0.5]), "float array"),
        (GdValue::PackedFloat64Array(vec![0.25]), "double array"),
        (GdValue::PackedStringArray(vec!["a".into()]), "string array"),
        (GdValue::BoolArray(vec![true]), "bool array"),
        (GdValue::PackedInt32Array(Vec::new()), "int array"),
    ];
    for (godot, what) in cases {
        let sent = params_from_gd_value(&dict(vec![(245, GdValue::Array(vec![GdValue::Nil, godot.clone()]))])).unwrap();
        assert_eq!(sent.required_version(), 2, "{godot:?}");
        let error = sealnet::protocol::codec::check_params(&sent, &V1).unwrap_err();
        assert_eq!(error, CodecError::TypeNeedsVersion { what, needs: 2, version: 1 }, "{godot:?}");
        assert_eq!(format_path(&locate(&sent, &error, &V1).unwrap()), "params[245][1]", "{godot:?}");
    }
}

#[test]
fn packed_arrays_are_leaves_for_the_nesting_limit() {
    // At the deepest level a container may sit, a packed array still fits: the protocol does not count
    // packed arrays as nesting.
    let mut deep = GdValue::PackedInt32Array(vec![1]);
    for _ in 0..MAX_DEPTH {
        deep = GdValue::Array(vec![deep]);
    }
    let sent = params_from_gd_value(&dict(vec![(0, deep.clone())])).unwrap();
    sealnet::protocol::codec::check_params(&sent, &DEFAULT_LIMITS).unwrap();
    // One Array more is one level too many.
    let deeper = dict(vec![(0, GdValue::Array(vec![deep]))]);
    assert!(matches!(params_from_gd_value(&deeper), Err(ConvertError::TooDeep { .. })));
}

#[test]
fn vectors_and_quaternions_are_the_builtin_custom_types() {
    assert_eq!(
        send(GdValue::Vector3([1.0, 2.0, 3.0])),
        Value::Custom { code: 86, data: vec![0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40] }
    );
    assert_eq!(
        send(GdValue::Vector2([-1.5, 0.25])),
        Value::Custom { code: b'W', data: [(-1.5f32).to_le_bytes(), 0.25f32.to_le_bytes()].concat() }
    );
    let quaternion = [0.0, 0.5, -0.5, 1.0];
    assert_eq!(send(GdValue::Quaternion(quaternion)), Value::Custom { code: b'Q', data: floats_to_le(&quaternion) });
    assert_eq!(floats_to_le(&quaternion).len(), 16);
    // Built-in types are custom values, so they need version 2 whatever the connection speaks.
    assert_eq!(value_from_gd(&GdValue::Vector2([0.0, 0.0])).unwrap().required_version(), 2);
}

#[test]
fn a_dictionary_with_int_keys_from_0_to_255_is_a_map() {
    assert_eq!(send(dict(vec![(1, GdValue::Int(5))])), Value::Map(params(vec![(1, Value::Int(5))])));
    assert_eq!(
        send(dict(vec![(0, GdValue::Nil), (255, GdValue::Bool(true))])),
        Value::Map(params(vec![(0, Value::Null), (255, Value::Bool(true))]))
    );
    // An empty dictionary stays a map, as it was before tables existed.
    assert_eq!(send(GdValue::Dictionary(Vec::new())), Value::Map(Params::new()));
}

#[test]
fn any_other_dictionary_is_a_table() {
    let godot = GdValue::Dictionary(vec![
        (GdValue::String("name".into()), GdValue::String("Ann".into())),
        (GdValue::String("score".into()), GdValue::Int(10)),
        (GdValue::Int(7), GdValue::Float(0.25)),
    ]);
    let expected = table(vec![
        (Key::String("name".into()), Value::String("Ann".into())),
        (Key::String("score".into()), Value::Int(10)),
        (Key::Int(7), Value::Double(0.25)),
    ]);
    assert_eq!(send(godot), Value::Table(expected));

    // An int key outside 0..=255 makes a table; ints take Int or Long by range, as values do.
    let wide = dict(vec![(1, GdValue::Nil), (256, GdValue::Nil), (-1, GdValue::Nil), (1 << 40, GdValue::Nil)]);
    let expected = table(vec![
        (Key::Int(1), Value::Null),
        (Key::Int(256), Value::Null),
        (Key::Int(-1), Value::Null),
        (Key::Long(1 << 40), Value::Null),
    ]);
    assert_eq!(send(wide), Value::Table(expected));

    let names = GdValue::Dictionary(vec![(GdValue::StringName("k".into()), GdValue::Int(1))]);
    assert_eq!(send(names), Value::Table(table(vec![(Key::String("k".into()), Value::Int(1))])));
}

#[test]
fn typed_keys_make_a_table_with_those_key_types() {
    let godot = GdValue::Dictionary(vec![
        (sealnet(Typed::byte(255)), GdValue::Int(1)),
        (sealnet(Typed::short(-3)), GdValue::Int(2)),
        (GdValue::Sealnet(Typed::long(5)), GdValue::Int(3)),
        (GdValue::Int(5), GdValue::Int(4)),
    ]);
    let expected = table(vec![
        (Key::Byte(255), Value::Int(1)),
        (Key::Short(-3), Value::Int(2)),
        (Key::Long(5), Value::Int(3)),
        (Key::Int(5), Value::Int(4)),
    ]);
    assert_eq!(send(godot), Value::Table(expected));
}

#[test]
fn table_keys_of_other_types_are_refused() {
    let keys = [
        GdValue::Float(1.0),
        GdValue::Bool(true),
        GdValue::Nil,
        GdValue::Array(Vec::new()),
        GdValue::Vector2([0.0, 0.0]),
        sealnet(Typed::float32(1.0)),
    ];
    for key in keys {
        let found = key.type_name().to_owned();
        let godot = GdValue::Dictionary(vec![(GdValue::String("a".into()), GdValue::Nil), (key, GdValue::Nil)]);
        let error = params_from_gd_value(&dict(vec![(245, godot)])).unwrap_err();
        assert_eq!(error, ConvertError::TableKeyType { path: vec![PathStep::Key(245)], found: found.clone() });
        assert!(error.to_string().starts_with(&format!("a dictionary key in params[245] is a {found}")), "{error}");
    }
}

#[test]
fn keys_that_are_one_table_key_are_refused() {
    let godot = GdValue::Dictionary(vec![
        (GdValue::String("a".into()), GdValue::Int(1)),
        (GdValue::StringName("a".into()), GdValue::Int(2)),
    ]);
    let error = value_from_gd(&godot).unwrap_err();
    assert_eq!(error, ConvertError::DuplicateTableKey { path: Vec::new(), key: Key::String("a".into()) });
    assert_eq!(error.to_string(), "the dictionary params has key \"a\" twice");
    let longs = GdValue::Dictionary(vec![
        (GdValue::Int(1 << 40), GdValue::Nil),
        (GdValue::Sealnet(Typed::long(1 << 40)), GdValue::Nil),
    ]);
    assert!(matches!(value_from_gd(&longs), Err(ConvertError::DuplicateTableKey { key: Key::Long(_), .. })));
}

#[test]
fn the_top_level_parameters_must_have_keys_from_0_to_255() {
    assert_eq!(
        params_from_gd_value(&dict(vec![(0, GdValue::Int(1)), (255, GdValue::Int(2))])).unwrap(),
        params(vec![(0, Value::Int(1)), (255, Value::Int(2))])
    );
    for key in [-1, 256, i64::MAX, i64::MIN] {
        let error = params_from_gd_value(&dict(vec![(key, GdValue::Nil)])).unwrap_err();
        assert_eq!(error, ConvertError::KeyOutOfRange { path: Vec::new(), key });
    }
    let keys = [
        GdValue::String("1".into()),
        GdValue::Float(1.0),
        GdValue::Bool(true),
        GdValue::Nil,
        GdValue::StringName("k".into()),
        sealnet(Typed::byte(1)),
    ];
    for key in keys {
        let found = key.type_name().to_owned();
        let error = params_from_gd(&[(key, GdValue::Int(1))]).unwrap_err();
        assert_eq!(error, ConvertError::KeyNotInt { path: Vec::new(), found });
    }
    let error = params_from_gd(&[(GdValue::Int(5), GdValue::Nil), (GdValue::Int(5), GdValue::Int(1))]);
    assert_eq!(error.unwrap_err(), ConvertError::DuplicateKey { path: Vec::new(), key: 5 });
}

#[test]
fn top_level_must_be_a_dictionary_or_null() {
    assert_eq!(params_from_gd_value(&GdValue::Nil).unwrap(), Params::new());
    assert_eq!(params_from_gd_value(&GdValue::Dictionary(Vec::new())).unwrap(), Params::new());
    let error = params_from_gd_value(&GdValue::Array(Vec::new())).unwrap_err();
    assert_eq!(error, ConvertError::NotADictionary { found: "Array".into() });
    assert!(error.path().is_empty());
}

#[test]
fn nested_containers_convert_recursively() {
    let godot = dict(vec![
        (0, GdValue::Array(vec![GdValue::Int(1), GdValue::String("x".into()), GdValue::Nil])),
        (255, dict(vec![(3, GdValue::Bool(true)), (4, GdValue::Array(vec![GdValue::PackedByteArray(vec![9])]))])),
    ]);
    let expected = params(vec![
        (0, Value::Array(vec![Value::Int(1), Value::String("x".into()), Value::Null])),
        (255, Value::Map(params(vec![(3, Value::Bool(true)), (4, Value::Array(vec![Value::Bytes(vec![9])]))]))),
    ]);
    assert_eq!(params_from_gd_value(&godot).unwrap(), expected);
}

#[test]
fn unsupported_types_are_refused_with_their_path() {
    let godot = dict(vec![(
        245,
        GdValue::Array(vec![GdValue::Int(1), dict(vec![(7, GdValue::Unsupported("Callable".into()))])]),
    )]);
    let error = params_from_gd_value(&godot).unwrap_err();
    assert_eq!(
        error,
        ConvertError::UnsupportedType {
            path: vec![PathStep::Key(245), PathStep::Index(1), PathStep::Key(7)],
            found: "Callable".into()
        }
    );
    let text = error.to_string();
    assert!(text.starts_with("params[245][1][7] is a Callable, which sealnet cannot send"), "{text}");
}

#[test]
fn errors_inside_tables_name_the_table_key() {
    let godot = dict(vec![(
        245,
        GdValue::Dictionary(vec![(GdValue::String("pos".into()), GdValue::Unsupported("Object (Node)".into()))]),
    )]);
    let error = params_from_gd_value(&godot).unwrap_err();
    assert_eq!(error.path(), &[PathStep::Key(245), PathStep::TableKey(Key::String("pos".into()))]);
    assert!(error.to_string().starts_with("params[245][\"pos\"] is a Object (Node)"), "{error}");
    assert_eq!(
        format_path(&[PathStep::TableKey(Key::Byte(5)), PathStep::TableKey(Key::Long(6))]),
        "params[byte(5)][long(6)]"
    );
    assert_eq!(
        format_path(&[PathStep::TableKey(Key::Long(1 << 40)), PathStep::TableKey(Key::Short(-1))]),
        "params[1099511627776][short(-1)]"
    );
}

#[test]
fn refused_values_carry_their_reason_and_path() {
    let refused = GdValue::Refused { found: "SealnetValue (invalid)".into(), reason: "byte out of range".into() };
    let error = params_from_gd_value(&dict(vec![(3, GdValue::Array(vec![refused]))])).unwrap_err();
    assert_eq!(error.path(), &[PathStep::Key(3), PathStep::Index(0)]);
    assert_eq!(error.to_string(), "params[3][0] is a SealnetValue (invalid) that cannot be sent: byte out of range");
}

#[test]
fn bad_nested_key_reports_the_path_to_its_dictionary() {
    let godot = dict(vec![(1, GdValue::Sealnet(Typed::Map(vec![(GdValue::Int(300), GdValue::Nil)])))]);
    let error = params_from_gd_value(&godot).unwrap_err();
    assert_eq!(error, ConvertError::KeyOutOfRange { path: vec![PathStep::Key(1)], key: 300 });
    assert_eq!(error.to_string(), "a key in params[1] is 300; keys must be int from 0 to 255");
}

fn nested_arrays(levels: usize) -> GdValue {
    let mut value = GdValue::Int(1);
    for _ in 0..levels {
        value = GdValue::Array(vec![value]);
    }
    value
}

#[test]
fn nesting_up_to_the_decoder_limit_is_accepted() {
    let godot = dict(vec![(0, nested_arrays(MAX_DEPTH))]);
    let converted = params_from_gd_value(&godot).unwrap();
    // What is accepted here must also be accepted by the session's own check before sending.
    sealnet::protocol::codec::check_params(&converted, &DEFAULT_LIMITS).unwrap();
}

#[test]
fn nesting_past_the_limit_is_refused() {
    let godot = dict(vec![(0, nested_arrays(MAX_DEPTH + 1))]);
    let error = params_from_gd_value(&godot).unwrap_err();
    assert!(matches!(error, ConvertError::TooDeep { max: MAX_DEPTH, .. }), "{error:?}");
    assert_eq!(error.path().len(), 1 + MAX_DEPTH);
    // Dictionaries, tables and maps count as containers too.
    for wrap in [
        (|inner| dict(vec![(1, inner)])) as fn(GdValue) -> GdValue,
        |inner| GdValue::Dictionary(vec![(GdValue::String("k".into()), inner)]),
        |inner| GdValue::Sealnet(Typed::Table(vec![(GdValue::Int(1), inner)])),
        |inner| GdValue::Sealnet(Typed::Map(vec![(GdValue::Int(1), inner)])),
    ] {
        let mut deep = GdValue::Array(Vec::new());
        for _ in 0..MAX_DEPTH {
            deep = wrap(deep);
        }
        assert!(matches!(params_from_gd_value(&dict(vec![(0, deep)])), Err(ConvertError::TooDeep { .. })));
    }
}

#[test]
fn container_depth_check_matches_the_limit() {
    assert!(check_container_depth(MAX_DEPTH).is_ok());
    assert!(check_container_depth(MAX_DEPTH + 1).is_err());
}

#[test]
fn containers_cut_by_the_engine_layer_are_exactly_those_refused_here() {
    // The engine layer copies a container held at a depth where `container_too_deep` is true as an
    // empty one; that must still be refused, and anything shallower must be copied in full.
    for levels in 1..=MAX_DEPTH + 2 {
        let holder_depth = levels - 1;
        let full = params_from_gd_value(&dict(vec![(0, nested_arrays(levels))]));
        let mut cut = GdValue::Array(Vec::new());
        for _ in 1..levels {
            cut = GdValue::Array(vec![cut]);
        }
        let innermost_cut = params_from_gd_value(&dict(vec![(0, cut)]));
        assert_eq!(full.is_err(), container_too_deep(holder_depth), "levels {levels}");
        assert_eq!(innermost_cut.is_err(), container_too_deep(holder_depth), "levels {levels}");
    }
}

// ---- SealnetValue constructors ---------------------------------------------------------------------

#[test]
fn wrapped_scalars_are_sent_as_their_type() {
    assert_eq!(send(sealnet(Typed::byte(200))), Value::Byte(200));
    assert_eq!(send(sealnet(Typed::short(-12345))), Value::Short(-12345));
    assert_eq!(send(GdValue::Sealnet(Typed::long(5))), Value::Long(5));
    assert_eq!(send(sealnet(Typed::float32(1.5))), Value::Float(1.5));
    assert_eq!(send(sealnet(Typed::custom(200, vec![1, 2]))), Value::Custom { code: 200, data: vec![1, 2] });
    // A long and a 32-bit float are version-1 types; they go on a version-1 connection too.
    assert_eq!(send(GdValue::Sealnet(Typed::long(5))).required_version(), 1);
    assert_eq!(send(sealnet(Typed::float32(0.5))).required_version(), 1);
}

#[test]
fn wrapped_version_2_types_stay_themselves_so_a_version_1_session_refuses_them() {
    // No fallback for an explicit type either: the session's check names it (see client tests).
    for typed in [Typed::byte(1), Typed::short(1), Typed::custom(1, Vec::new())] {
        let sent = send(GdValue::Sealnet(typed.unwrap()));
        assert_eq!(sent.required_version(), 2, "{sent:?}");
        assert!(matches!(check_value(&sent, 1, &V1), Err(CodecError::TypeNeedsVersion { .. })), "{sent:?}");
    }
    let shorts = send(sealnet(Typed::short_array(&GdValue::PackedInt32Array(vec![1]))));
    assert_eq!(shorts, Value::ShortArray(vec![1]));
}

#[test]
fn byte_and_short_ranges_are_checked() {
    assert_eq!(Typed::byte(0).unwrap(), Typed::Byte(0));
    assert_eq!(Typed::byte(255).unwrap(), Typed::Byte(255));
    for bad in [-1, 256, i64::MIN, i64::MAX] {
        let error = Typed::byte(bad).unwrap_err();
        assert_eq!(error.kind, Kind::Byte);
        assert_eq!(error.to_string(), format!("SealnetValue.byte: {bad} is out of range; a byte is from 0 to 255"));
    }
    assert_eq!(Typed::short(-32768).unwrap(), Typed::Short(i16::MIN));
    assert_eq!(Typed::short(32767).unwrap(), Typed::Short(i16::MAX));
    for bad in [-32769, 32768] {
        let error = Typed::short(bad).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("SealnetValue.short: {bad} is out of range; a short is from -32768 to 32767")
        );
    }
}

#[test]
fn float32_refuses_only_finite_values_beyond_its_range() {
    assert_eq!(Typed::float32(-2.25).unwrap(), Typed::Float32(-2.25));
    assert_eq!(Typed::float32(f64::from(f32::MAX)).unwrap(), Typed::Float32(f32::MAX));
    assert_eq!(Typed::float32(f64::INFINITY).unwrap(), Typed::Float32(f32::INFINITY));
    assert!(matches!(Typed::float32(f64::NAN).unwrap(), Typed::Float32(value) if value.is_nan()));
    // Rounded to the nearest 32-bit float.
    assert_eq!(Typed::float32(0.1).unwrap(), Typed::Float32(0.1f32));
    for bad in [1e39, -1e39, f64::MAX] {
        let error = Typed::float32(bad).unwrap_err();
        assert!(error.to_string().contains("out of range of a 32-bit float"), "{error}");
    }
}

#[test]
fn short_arrays_take_int_arrays_and_check_every_element() {
    let expected = Typed::ShortArray(vec![-1, 2, 300]);
    assert_eq!(Typed::short_array(&GdValue::PackedInt32Array(vec![-1, 2, 300])).unwrap(), expected);
    assert_eq!(Typed::short_array(&GdValue::PackedInt64Array(vec![-1, 2, 300])).unwrap(), expected);
    let array = GdValue::Array(vec![GdValue::Int(-1), GdValue::Int(2), GdValue::Int(300)]);
    assert_eq!(Typed::short_array(&array).unwrap(), expected);
    assert_eq!(send(sealnet(Typed::short_array(&array))), Value::ShortArray(vec![-1, 2, 300]));

    let error = Typed::short_array(&GdValue::PackedInt32Array(vec![1, 40000])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SealnetValue.short_array: element 1 is 40000, out of range; a short is from -32768 to 32767"
    );
    let error = Typed::short_array(&GdValue::Array(vec![GdValue::Int(1), GdValue::Float(2.0)])).unwrap_err();
    assert_eq!(error.to_string(), "SealnetValue.short_array: element 1 is a float, not an int");
    let error = Typed::short_array(&GdValue::String("1,2".into())).unwrap_err();
    assert!(error.to_string().contains("not a String"), "{error}");
}

#[test]
fn bool_arrays_take_arrays_of_bools() {
    let array = GdValue::Array(vec![GdValue::Bool(true), GdValue::Bool(false)]);
    assert_eq!(Typed::bool_array(&array).unwrap(), Typed::BoolArray(vec![true, false]));
    assert_eq!(Typed::bool_array(&GdValue::BoolArray(vec![true])).unwrap(), Typed::BoolArray(vec![true]));
    assert_eq!(send(sealnet(Typed::bool_array(&array))), Value::BoolArray(vec![true, false]));
    let error = Typed::bool_array(&GdValue::Array(vec![GdValue::Int(1)])).unwrap_err();
    assert_eq!(error.to_string(), "SealnetValue.bool_array: element 0 is a int, not a bool");
}

#[test]
fn constructors_refuse_values_beyond_the_limits_naming_the_limit() {
    let max = DEFAULT_LIMITS.max_bytes;
    let error = Typed::custom(1, vec![0; max + 1]).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("SealnetValue.custom: byte array of {} bytes exceeds the limit of {max} (limit max_bytes)", max + 1)
    );
    assert!(Typed::custom(1, vec![0; max]).is_ok());
    let shorts = GdValue::PackedInt32Array(vec![0; max / 2 + 1]);
    let error = Typed::short_array(&shorts).unwrap_err();
    assert!(error.to_string().ends_with("(limit max_bytes)"), "{error}");
    let flags = GdValue::BoolArray(vec![false; max * 8 + 1]);
    assert!(Typed::bool_array(&flags).unwrap_err().to_string().ends_with("(limit max_bytes)"));
    let entries = (0..=DEFAULT_LIMITS.max_entries as i64).map(|key| (GdValue::Int(key), GdValue::Nil)).collect();
    assert!(Typed::table(entries).unwrap_err().to_string().ends_with("(limit max_entries)"));
    let long_key = GdValue::String("k".repeat(DEFAULT_LIMITS.max_string + 1));
    let error = Typed::table(vec![(long_key, GdValue::Nil)]).unwrap_err();
    assert!(error.to_string().ends_with("(limit max_string)"), "{error}");
}

#[test]
fn custom_codes_are_range_checked() {
    assert_eq!(Typed::custom(0, Vec::new()).unwrap(), Typed::Custom { code: 0, data: Vec::new() });
    assert_eq!(Typed::custom(255, vec![7]).unwrap(), Typed::Custom { code: 255, data: vec![7] });
    for bad in [-1, 256] {
        let error = Typed::custom(bad, Vec::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("SealnetValue.custom: code {bad} is out of range; codes are from 0 to 255")
        );
    }
    // A custom value may carry a built-in code: that is how unknown or raw data is sent back unchanged.
    assert_eq!(send(sealnet(Typed::custom(86, vec![1]))), Value::Custom { code: 86, data: vec![1] });
}

#[test]
fn table_and_map_constructors_check_their_keys() {
    let entries = vec![(GdValue::Int(1), GdValue::Int(2)), (GdValue::Int(3), GdValue::Nil)];
    let wrapped = sealnet(Typed::table(entries.clone()));
    // A table even though every key would fit a map.
    assert_eq!(send(wrapped), Value::Table(table(vec![(Key::Int(1), Value::Int(2)), (Key::Int(3), Value::Null)])));
    assert_eq!(send(sealnet(Typed::map(entries))), Value::Map(params(vec![(1, Value::Int(2)), (3, Value::Null)])));

    let error = Typed::table(vec![(GdValue::Float(1.0), GdValue::Nil)]).unwrap_err();
    assert!(error.to_string().starts_with("SealnetValue.table: a dictionary key in params is a float"), "{error}");
    let error = Typed::table(vec![
        (GdValue::String("a".into()), GdValue::Nil),
        (GdValue::StringName("a".into()), GdValue::Nil),
    ])
    .unwrap_err();
    assert_eq!(error.to_string(), "SealnetValue.table: has key \"a\" twice");
    let error = Typed::map(vec![(GdValue::Int(256), GdValue::Nil)]).unwrap_err();
    assert_eq!(error.to_string(), "SealnetValue.map: a key in params is 256; keys must be int from 0 to 255");
    let error = Typed::map(vec![(GdValue::String("a".into()), GdValue::Nil)]).unwrap_err();
    assert!(error.to_string().contains("is a String; keys must be int from 0 to 255"), "{error}");
}

#[test]
fn kinds_have_stable_numbers_and_names() {
    for (number, kind) in Kind::ALL.into_iter().enumerate() {
        assert_eq!(kind.code(), number as i64);
        assert_eq!(
            kind.label(),
            if kind == Kind::Invalid {
                "SealnetValue (invalid)".to_owned()
            } else {
                format!("SealnetValue.{}", kind.name())
            }
        );
    }
    assert_eq!(Typed::byte(1).unwrap().kind(), Kind::Byte);
    assert_eq!(Typed::Custom { code: 1, data: Vec::new() }.kind(), Kind::Custom);
    assert_eq!(GdValue::Sealnet(Typed::Long(1)).type_name(), "SealnetValue.long");
}

#[test]
fn register_type_codes_are_checked() {
    assert_eq!(check_custom_code(0), Ok(0));
    assert_eq!(check_custom_code(200), Ok(200));
    assert_eq!(check_custom_code(256).unwrap_err(), "code 256 is out of range; codes are from 0 to 255");
    assert_eq!(check_custom_code(-1).unwrap_err(), "code -1 is out of range; codes are from 0 to 255");
    for (code, name) in BUILTIN_TYPES {
        let error = check_custom_code(i64::from(code)).unwrap_err();
        assert!(error.contains(name), "{error}");
    }
}

// ---- sealnet → Godot -------------------------------------------------------------------------------

#[test]
fn received_values_map_to_godot_shapes() {
    let cases = [
        (Value::Null, GdValue::Nil),
        (Value::Bool(true), GdValue::Bool(true)),
        (Value::Byte(200), GdValue::Int(200)),
        (Value::Short(-12345), GdValue::Int(-12345)),
        (Value::Int(-5), GdValue::Int(-5)),
        (Value::Long(i64::MAX), GdValue::Int(i64::MAX)),
        (Value::Float(0.5), GdValue::Float(0.5)),
        (Value::Double(2.25), GdValue::Float(2.25)),
        (Value::String("s".into()), GdValue::String("s".into())),
        (Value::Bytes(vec![1, 2]), GdValue::PackedByteArray(vec![1, 2])),
        (Value::Array(vec![Value::Int(1), Value::Null]), GdValue::Array(vec![GdValue::Int(1), GdValue::Nil])),
        (Value::ShortArray(vec![-1, 2, 300]), GdValue::PackedInt32Array(vec![-1, 2, 300])),
        (Value::IntArray(vec![7, -8]), GdValue::PackedInt32Array(vec![7, -8])),
        (Value::LongArray(vec![-1, 1 << 32]), GdValue::PackedInt64Array(vec![-1, 1 << 32])),
        (Value::FloatArray(vec![0.5]), GdValue::PackedFloat32Array(vec![0.5])),
        (Value::DoubleArray(vec![-0.125]), GdValue::PackedFloat64Array(vec![-0.125])),
        (Value::BoolArray(vec![true, false]), GdValue::BoolArray(vec![true, false])),
        (Value::StringArray(vec!["β".into()]), GdValue::PackedStringArray(vec!["β".into()])),
        (Value::Map(params(vec![(1, Value::Int(5))])), dict(vec![(1, GdValue::Int(5))])),
    ];
    for (value, expected) in cases {
        assert_eq!(value_to_gd(&value), expected, "{value:?}");
    }
}

#[test]
fn received_tables_become_dictionaries_in_table_order() {
    let received = table(vec![
        (Key::String("name".into()), Value::String("Ann".into())),
        (Key::Int(7), Value::Double(0.25)),
        (Key::Byte(9), Value::Null),
        (Key::Short(-4), Value::Null),
        (Key::Long(1 << 40), Value::Null),
    ]);
    assert_eq!(
        value_to_gd(&Value::Table(received)),
        GdValue::Dictionary(vec![
            (GdValue::Int(7), GdValue::Float(0.25)),
            (GdValue::Int(1 << 40), GdValue::Nil),
            (GdValue::String("name".into()), GdValue::String("Ann".into())),
            (GdValue::Int(9), GdValue::Nil),
            (GdValue::Int(-4), GdValue::Nil),
        ])
    );
}

#[test]
fn table_keys_of_one_number_are_all_kept_and_go_back_as_they_came() {
    let received = table(vec![
        (Key::Int(5), Value::Int(1)),
        (Key::Long(5), Value::Int(2)),
        (Key::Byte(5), Value::Int(3)),
        (Key::Short(5), Value::Int(4)),
    ]);
    let godot = value_to_gd(&Value::Table(received.clone()));
    assert_eq!(
        godot,
        GdValue::Dictionary(vec![
            (GdValue::Int(5), GdValue::Int(1)),
            (GdValue::Sealnet(Typed::Long(5)), GdValue::Int(2)),
            (GdValue::Sealnet(Typed::Byte(5)), GdValue::Int(3)),
            (GdValue::Sealnet(Typed::Short(5)), GdValue::Int(4)),
        ])
    );
    assert_eq!(send(godot), Value::Table(received));
}

#[test]
fn received_builtin_custom_types_become_godot_types() {
    let vector3 = Value::Custom { code: 86, data: floats_to_le(&[1.0, 2.0, 3.0]) };
    assert_eq!(value_to_gd(&vector3), GdValue::Vector3([1.0, 2.0, 3.0]));
    let vector2 = Value::Custom { code: 87, data: floats_to_le(&[-0.5, 8.0]) };
    assert_eq!(value_to_gd(&vector2), GdValue::Vector2([-0.5, 8.0]));
    let quaternion = Value::Custom { code: 81, data: floats_to_le(&[0.0, 0.0, 0.0, 1.0]) };
    assert_eq!(value_to_gd(&quaternion), GdValue::Quaternion([0.0, 0.0, 0.0, 1.0]));
    // NaN payloads survive (compare bits: NaN is not equal to itself).
    let nan = f32::from_bits(0x7fc0_1234);
    match value_to_gd(&Value::Custom { code: 87, data: floats_to_le(&[nan, 0.0]) }) {
        GdValue::Vector2([x, _]) => assert_eq!(x.to_bits(), nan.to_bits()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_or_malformed_custom_values_arrive_as_code_and_bytes_and_go_back_unchanged() {
    for value in [
        Value::Custom { code: 200, data: vec![1, 2, 3] },
        Value::Custom { code: 86, data: vec![0; 8] },
        Value::Custom { code: 87, data: Vec::new() },
        Value::Custom { code: 81, data: vec![0; 17] },
    ] {
        let godot = value_to_gd(&value);
        let Value::Custom { code, data } = &value else { unreachable!() };
        assert_eq!(godot, GdValue::Sealnet(Typed::Custom { code: *code, data: data.clone() }));
        assert_eq!(send(godot), value);
    }
}

#[test]
fn received_params_become_int_keyed_entries_in_key_order() {
    let received = params(vec![(254, Value::Int(2)), (245, Value::Map(params(vec![(1, Value::Bool(false))])))]);
    assert_eq!(
        params_to_gd(&received),
        vec![
            (GdValue::Int(245), GdValue::Dictionary(vec![(GdValue::Int(1), GdValue::Bool(false))])),
            (GdValue::Int(254), GdValue::Int(2)),
        ]
    );
}

#[test]
fn round_trip_preserves_values_that_have_one_godot_shape() {
    let original = params(vec![
        (0, Value::Null),
        (1, Value::Bool(true)),
        (2, Value::Int(i32::MIN)),
        (3, Value::Long(i64::from(i32::MAX) + 1)),
        (4, Value::Double(-1.25)),
        (5, Value::String("text".into())),
        (6, Value::Bytes(vec![0xde, 0xad])),
        (7, Value::Array(vec![Value::Int(1), Value::Array(Vec::new())])),
        (8, Value::Map(params(vec![(9, Value::String("nested".into()))]))),
        (9, Value::IntArray(vec![1, -1])),
        (10, Value::LongArray(vec![1 << 40])),
        (11, Value::FloatArray(vec![1.5])),
        (12, Value::DoubleArray(vec![2.5])),
        (13, Value::BoolArray(vec![false, true])),
        (14, Value::StringArray(vec!["x".into()])),
        (15, Value::Table(table(vec![(Key::String("a".into()), Value::Int(1)), (Key::Int(300), Value::Null)]))),
        (16, Value::Custom { code: 86, data: floats_to_le(&[1.0, 2.0, 3.0]) }),
        (17, Value::Custom { code: 87, data: floats_to_le(&[1.0, 2.0]) }),
        (18, Value::Custom { code: 81, data: floats_to_le(&[1.0, 2.0, 3.0, 4.0]) }),
        (19, Value::Custom { code: 3, data: vec![9] }),
    ]);
    let back = params_from_gd(&params_to_gd(&original)).unwrap();
    assert_eq!(back, original);
}

#[test]
fn types_godot_cannot_hold_come_back_as_their_godot_shape() {
    // Godot has one int and one float type, no 16-bit packed array and no way to mark a table whose
    // keys all fit a map, so these come back as the type the mapping chooses (scripts use the
    // SealnetValue constructors to send them as they were).
    let original = params(vec![
        (0, Value::Long(5)),
        (1, Value::Float(0.5)),
        (2, Value::Byte(7)),
        (3, Value::Short(-7)),
        (4, Value::ShortArray(vec![1, 2])),
        (5, Value::Table(table(vec![(Key::Int(1), Value::Null)]))),
    ]);
    let back = params_from_gd(&params_to_gd(&original)).unwrap();
    assert_eq!(
        back,
        params(vec![
            (0, Value::Int(5)),
            (1, Value::Double(0.5)),
            (2, Value::Int(7)),
            (3, Value::Int(-7)),
            (4, Value::IntArray(vec![1, 2])),
            (5, Value::Map(params(vec![(1, Value::Null)]))),
        ])
    );
}

#[test]
fn type_names_are_godot_names() {
    assert_eq!(GdValue::Nil.type_name(), "null");
    assert_eq!(GdValue::PackedByteArray(Vec::new()).type_name(), "PackedByteArray");
    assert_eq!(GdValue::BoolArray(Vec::new()).type_name(), "Array[bool]");
    assert_eq!(GdValue::Vector3([0.0; 3]).type_name(), "Vector3");
    assert_eq!(GdValue::Unsupported("Callable".into()).type_name(), "Callable");
}

// ---- locating what the session refused -------------------------------------------------------------

#[test]
fn locate_finds_the_value_a_limit_refused() {
    let limits = DEFAULT_LIMITS;
    let long = "x".repeat(limits.max_string + 1);
    let sent = params(vec![
        (1, Value::Int(1)),
        (
            245,
            Value::Array(vec![
                Value::Null,
                Value::Table(table(vec![(Key::String("name".into()), Value::String(long.clone()))])),
            ]),
        ),
    ]);
    let error = sealnet::protocol::codec::check_params(&sent, &limits).unwrap_err();
    let path = locate(&sent, &error, &limits).unwrap();
    assert_eq!(format_path(&path), "params[245][1][\"name\"]");
    assert_eq!(limit_name(&error), Some("max_string"));
    assert_eq!(
        describe_codec_error(&error),
        format!("string of {} bytes exceeds the limit of {} (limit max_string)", long.len(), limits.max_string)
    );
}

#[test]
fn locate_finds_a_type_the_protocol_version_lacks() {
    let sent =
        params_from_gd_value(&dict(vec![(245, dict(vec![(3, GdValue::Int(1)), (1, sealnet(Typed::byte(200)))]))]))
            .unwrap();
    let error = sealnet::protocol::codec::check_params(&sent, &V1).unwrap_err();
    assert_eq!(error, CodecError::TypeNeedsVersion { what: "byte", needs: 2, version: 1 });
    assert_eq!(format_path(&locate(&sent, &error, &V1).unwrap()), "params[245][1]");
    assert_eq!(limit_name(&error), None);
    assert!(describe_codec_error(&error).ends_with("both max_protocol_version and the server allow)"));
}

#[test]
fn locate_gives_up_when_no_single_value_is_to_blame() {
    let limits = Limits { max_total_values: 2, ..DEFAULT_LIMITS };
    let sent = params(vec![(1, Value::Int(1)), (2, Value::Int(2)), (3, Value::Int(3))]);
    let error = sealnet::protocol::codec::check_params(&sent, &limits).unwrap_err();
    assert_eq!(locate(&sent, &error, &limits), None);
}
