//! Engine-free mirror of the Godot values the extension accepts, and its mapping to sealnet values.
//!
//! Godot's `Variant`, `Dictionary` and `Array` can only be built while the engine is loaded, so every
//! rule of the translation lives here, on [`GdValue`], where plain `cargo test` can check it. The layer
//! in `variant.rs` only copies a `Variant` into a `GdValue` (and back) shape for shape.
//!
//! Godot → sealnet:
//!
//! | Godot                 | sealnet                                                    |
//! |-----------------------|------------------------------------------------------------|
//! | `null`                | `Null`                                                     |
//! | `bool`                | `Bool`                                                     |
//! | `int`                 | `Int` when the value fits in 32 bits, else `Long`          |
//! | `float`               | `Double`                                                   |
//! | `String`, `StringName`| `String`                                                   |
//! | `PackedByteArray`     | `Bytes`                                                    |
//! | `Array`               | `Array`                                                    |
//! | `Dictionary`          | `Map`; every key must be an `int` from 0 to 255            |
//! | `PackedInt32Array`    | `Array` of `Int`                                           |
//! | `PackedInt64Array`    | `Array` of `Long`                                          |
//! | `PackedFloat32Array`  | `Array` of `Float`                                         |
//! | `PackedFloat64Array`  | `Array` of `Double`                                        |
//! | `PackedStringArray`   | `Array` of `String`                                        |
//! | anything else         | refused with [`ConvertError::UnsupportedType`]             |
//!
//! GDScript has a single 64-bit `int`. It is sent as a 32-bit `Int` whenever it fits because that is the
//! type the server and other clients expect for codes, counts and actor numbers (the reference server
//! refuses a `Long` event code); only values outside the 32-bit range travel as `Long`.
//!
//! sealnet → Godot: `Int` and `Long` become `int`, `Float` and `Double` become `float`, `Bytes` a
//! `PackedByteArray`, `Array` an `Array`, `Map` a `Dictionary` with `int` keys. A packed array that was
//! sent therefore arrives as a plain `Array`.

use std::fmt;

use sealnet::protocol::codec::{Params, Value, DEFAULT_LIMITS};

/// Deepest container nesting accepted from Godot: the decoder's default bound. A container directly in
/// the top-level parameters is at depth 1. It also stops a self-containing Godot `Array` from recursing.
pub const MAX_DEPTH: usize = DEFAULT_LIMITS.max_depth;

/// A Godot value, shape for shape, without the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum GdValue {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    StringName(String),
    PackedByteArray(Vec<u8>),
    Array(Vec<GdValue>),
    /// Entries in the dictionary's order; keys may be of any type until they are checked.
    Dictionary(Vec<(GdValue, GdValue)>),
    PackedInt32Array(Vec<i32>),
    PackedInt64Array(Vec<i64>),
    PackedFloat32Array(Vec<f32>),
    PackedFloat64Array(Vec<f64>),
    PackedStringArray(Vec<String>),
    /// A Godot type with no sealnet counterpart (Vector2, Object, Callable, ...), by its Godot name.
    Unsupported(String),
}

impl GdValue {
    /// The Godot name of the value's type, for error messages.
    pub fn type_name(&self) -> &str {
        match self {
            GdValue::Nil => "null",
            GdValue::Bool(_) => "bool",
            GdValue::Int(_) => "int",
            GdValue::Float(_) => "float",
            GdValue::String(_) => "String",
            GdValue::StringName(_) => "StringName",
            GdValue::PackedByteArray(_) => "PackedByteArray",
            GdValue::Array(_) => "Array",
            GdValue::Dictionary(_) => "Dictionary",
            GdValue::PackedInt32Array(_) => "PackedInt32Array",
            GdValue::PackedInt64Array(_) => "PackedInt64Array",
            GdValue::PackedFloat32Array(_) => "PackedFloat32Array",
            GdValue::PackedFloat64Array(_) => "PackedFloat64Array",
            GdValue::PackedStringArray(_) => "PackedStringArray",
            GdValue::Unsupported(name) => name,
        }
    }
}

/// One step from the top-level parameters down to a value, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep {
    Key(u8),
    Index(usize),
}

/// Why a Godot value cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// A dictionary key is not an `int`.
    KeyNotInt { path: Vec<PathStep>, found: String },
    /// A dictionary key is an `int` outside 0..=255.
    KeyOutOfRange { path: Vec<PathStep>, key: i64 },
    /// The same key appears twice in one dictionary.
    DuplicateKey { path: Vec<PathStep>, key: u8 },
    /// A value of a type sealnet cannot carry.
    UnsupportedType { path: Vec<PathStep>, found: String },
    /// Containers nest deeper than [`MAX_DEPTH`] (or an array contains itself).
    TooDeep { path: Vec<PathStep>, max: usize },
    /// The top-level value passed where parameters are expected is not a dictionary.
    NotADictionary { found: String },
}

impl ConvertError {
    /// Where in the parameters the problem is, outermost step first.
    pub fn path(&self) -> &[PathStep] {
        match self {
            ConvertError::KeyNotInt { path, .. }
            | ConvertError::KeyOutOfRange { path, .. }
            | ConvertError::DuplicateKey { path, .. }
            | ConvertError::UnsupportedType { path, .. }
            | ConvertError::TooDeep { path, .. } => path,
            ConvertError::NotADictionary { .. } => &[],
        }
    }

    /// Records that the error happened one step further down: called on the way back up.
    fn within(mut self, step: PathStep) -> Self {
        match &mut self {
            ConvertError::KeyNotInt { path, .. }
            | ConvertError::KeyOutOfRange { path, .. }
            | ConvertError::DuplicateKey { path, .. }
            | ConvertError::UnsupportedType { path, .. }
            | ConvertError::TooDeep { path, .. } => path.insert(0, step),
            ConvertError::NotADictionary { .. } => {}
        }
        self
    }
}

/// Formats a path as GDScript would index it: `params[245][0]`.
fn write_path(f: &mut fmt::Formatter<'_>, path: &[PathStep]) -> fmt::Result {
    f.write_str("params")?;
    for step in path {
        match step {
            PathStep::Key(key) => write!(f, "[{key}]")?,
            PathStep::Index(index) => write!(f, "[{index}]")?,
        }
    }
    Ok(())
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::KeyNotInt { path, found } => {
                f.write_str("a dictionary key in ")?;
                write_path(f, path)?;
                write!(f, " is a {found}; keys must be int from 0 to 255")
            }
            ConvertError::KeyOutOfRange { path, key } => {
                f.write_str("a dictionary key in ")?;
                write_path(f, path)?;
                write!(f, " is {key}; keys must be int from 0 to 255")
            }
            ConvertError::DuplicateKey { path, key } => {
                f.write_str("a dictionary in ")?;
                write_path(f, path)?;
                write!(f, " has key {key} twice")
            }
            ConvertError::UnsupportedType { path, found } => {
                write_path(f, path)?;
                write!(
                    f,
                    " is a {found}, which sealnet cannot send (use null, bool, int, float, String, \
                     PackedByteArray, Array, Dictionary or a packed int/float/string array)"
                )
            }
            ConvertError::TooDeep { path, max } => {
                write_path(f, path)?;
                write!(f, " nests containers deeper than {max} levels (or an array contains itself)")
            }
            ConvertError::NotADictionary { found } => {
                write!(f, "parameters must be a Dictionary with int keys from 0 to 255, not a {found}")
            }
        }
    }
}

impl std::error::Error for ConvertError {}

/// Checks a dictionary key: an `int` from 0 to 255.
pub fn key_from_gd(key: &GdValue) -> Result<u8, ConvertError> {
    match key {
        GdValue::Int(value) => {
            u8::try_from(*value).map_err(|_| ConvertError::KeyOutOfRange { path: Vec::new(), key: *value })
        }
        other => Err(ConvertError::KeyNotInt { path: Vec::new(), found: other.type_name().to_owned() }),
    }
}

/// The sealnet value for a Godot `int`: `Int` when it fits in 32 bits, else `Long`.
pub fn int_value(value: i64) -> Value {
    match i32::try_from(value) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::Long(value),
    }
}

/// Converts top-level parameters: the entries of a Godot dictionary.
pub fn params_from_gd(entries: &[(GdValue, GdValue)]) -> Result<Params, ConvertError> {
    map_from_gd(entries, 0)
}

/// Converts a Godot value that must be a dictionary into parameters.
pub fn params_from_gd_value(value: &GdValue) -> Result<Params, ConvertError> {
    match value {
        GdValue::Dictionary(entries) => params_from_gd(entries),
        // `null` stands for "no parameters", as an empty dictionary would.
        GdValue::Nil => Ok(Params::new()),
        other => Err(ConvertError::NotADictionary { found: other.type_name().to_owned() }),
    }
}

/// Converts one Godot value found inside parameters (a value directly in the params is at depth 0).
pub fn value_from_gd(value: &GdValue) -> Result<Value, ConvertError> {
    convert(value, 0)
}

fn map_from_gd(entries: &[(GdValue, GdValue)], depth: usize) -> Result<Params, ConvertError> {
    let mut params = Params::new();
    for (key, value) in entries {
        let key = key_from_gd(key)?;
        if params.get(key).is_some() {
            return Err(ConvertError::DuplicateKey { path: Vec::new(), key });
        }
        let value = convert(value, depth).map_err(|error| error.within(PathStep::Key(key)))?;
        params.insert(key, value);
    }
    Ok(params)
}

/// Checks that a container at `depth` (the params themselves are depth 0) may hold further containers.
pub fn check_container_depth(depth: usize) -> Result<(), ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::TooDeep { path: Vec::new(), max: MAX_DEPTH });
    }
    Ok(())
}

/// Whether a container held at `depth` is refused for its nesting. The engine layer copies such a
/// container empty, which is how a Godot array that contains itself stops being followed.
pub fn container_too_deep(depth: usize) -> bool {
    check_container_depth(depth + 1).is_err()
}

fn convert(value: &GdValue, depth: usize) -> Result<Value, ConvertError> {
    Ok(match value {
        GdValue::Nil => Value::Null,
        GdValue::Bool(flag) => Value::Bool(*flag),
        GdValue::Int(number) => int_value(*number),
        GdValue::Float(number) => Value::Double(*number),
        GdValue::String(text) | GdValue::StringName(text) => Value::String(text.clone()),
        GdValue::PackedByteArray(bytes) => Value::Bytes(bytes.clone()),
        GdValue::Array(items) => {
            check_container_depth(depth + 1)?;
            let mut values = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                values.push(convert(item, depth + 1).map_err(|error| error.within(PathStep::Index(index)))?);
            }
            Value::Array(values)
        }
        GdValue::Dictionary(entries) => {
            check_container_depth(depth + 1)?;
            Value::Map(map_from_gd(entries, depth + 1)?)
        }
        GdValue::PackedInt32Array(items) => {
            check_container_depth(depth + 1)?;
            Value::Array(items.iter().map(|&item| Value::Int(item)).collect())
        }
        GdValue::PackedInt64Array(items) => {
            check_container_depth(depth + 1)?;
            Value::Array(items.iter().map(|&item| Value::Long(item)).collect())
        }
        GdValue::PackedFloat32Array(items) => {
            check_container_depth(depth + 1)?;
            Value::Array(items.iter().map(|&item| Value::Float(item)).collect())
        }
        GdValue::PackedFloat64Array(items) => {
            check_container_depth(depth + 1)?;
            Value::Array(items.iter().map(|&item| Value::Double(item)).collect())
        }
        GdValue::PackedStringArray(items) => {
            check_container_depth(depth + 1)?;
            Value::Array(items.iter().map(|item| Value::String(item.clone())).collect())
        }
        GdValue::Unsupported(name) => {
            return Err(ConvertError::UnsupportedType { path: Vec::new(), found: name.clone() });
        }
    })
}

/// Converts received parameters into dictionary entries with `int` keys, in ascending key order.
pub fn params_to_gd(params: &Params) -> Vec<(GdValue, GdValue)> {
    params.iter().map(|(key, value)| (GdValue::Int(i64::from(key)), value_to_gd(value))).collect()
}

/// Converts a received value. Every sealnet value has a Godot counterpart, so this cannot fail.
pub fn value_to_gd(value: &Value) -> GdValue {
    match value {
        Value::Null => GdValue::Nil,
        Value::Bool(flag) => GdValue::Bool(*flag),
        Value::Int(number) => GdValue::Int(i64::from(*number)),
        Value::Long(number) => GdValue::Int(*number),
        Value::Float(number) => GdValue::Float(f64::from(*number)),
        Value::Double(number) => GdValue::Float(*number),
        Value::String(text) => GdValue::String(text.clone()),
        Value::Bytes(bytes) => GdValue::PackedByteArray(bytes.clone()),
        Value::Array(items) => GdValue::Array(items.iter().map(value_to_gd).collect()),
        Value::Map(params) => GdValue::Dictionary(params_to_gd(params)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(entries: Vec<(i64, GdValue)>) -> GdValue {
        GdValue::Dictionary(entries.into_iter().map(|(key, value)| (GdValue::Int(key), value)).collect())
    }

    fn params(entries: Vec<(u8, Value)>) -> Params {
        entries.into_iter().collect()
    }

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
            assert_eq!(value_from_gd(&godot).unwrap(), expected, "{godot:?}");
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
            match value_from_gd(&GdValue::Float(number)).unwrap() {
                Value::Double(sent) => assert_eq!(sent.to_bits(), number.to_bits()),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn packed_arrays_become_typed_arrays() {
        assert_eq!(
            value_from_gd(&GdValue::PackedInt32Array(vec![1, -2, i32::MAX])).unwrap(),
            Value::Array(vec![Value::Int(1), Value::Int(-2), Value::Int(i32::MAX)])
        );
        assert_eq!(
            value_from_gd(&GdValue::PackedInt64Array(vec![1, i64::MIN])).unwrap(),
            Value::Array(vec![Value::Long(1), Value::Long(i64::MIN)])
        );
        assert_eq!(
            value_from_gd(&GdValue::PackedFloat32Array(vec![0.5])).unwrap(),
            Value::Array(vec![Value::Float(0.5)])
        );
        assert_eq!(
            value_from_gd(&GdValue::PackedFloat64Array(vec![0.25])).unwrap(),
            Value::Array(vec![Value::Double(0.25)])
        );
        assert_eq!(
            value_from_gd(&GdValue::PackedStringArray(vec!["a".into(), String::new()])).unwrap(),
            Value::Array(vec![Value::String("a".into()), Value::String(String::new())])
        );
        assert_eq!(value_from_gd(&GdValue::PackedInt32Array(Vec::new())).unwrap(), Value::Array(Vec::new()));
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
    fn keys_zero_and_255_are_accepted() {
        let converted = params_from_gd_value(&dict(vec![(0, GdValue::Int(1)), (255, GdValue::Int(2))])).unwrap();
        assert_eq!(converted, params(vec![(0, Value::Int(1)), (255, Value::Int(2))]));
    }

    #[test]
    fn keys_out_of_range_are_refused_with_the_key() {
        for key in [-1, 256, i64::MAX, i64::MIN] {
            let error = params_from_gd_value(&dict(vec![(key, GdValue::Nil)])).unwrap_err();
            assert_eq!(error, ConvertError::KeyOutOfRange { path: Vec::new(), key });
        }
    }

    #[test]
    fn keys_of_other_types_are_refused() {
        let keys = [
            GdValue::String("1".into()),
            GdValue::Float(1.0),
            GdValue::Bool(true),
            GdValue::Nil,
            GdValue::StringName("k".into()),
        ];
        for key in keys {
            let found = key.type_name().to_owned();
            let error = params_from_gd(&[(key, GdValue::Int(1))]).unwrap_err();
            assert_eq!(error, ConvertError::KeyNotInt { path: Vec::new(), found });
        }
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let error = params_from_gd(&[(GdValue::Int(5), GdValue::Nil), (GdValue::Int(5), GdValue::Int(1))]).unwrap_err();
        assert_eq!(error, ConvertError::DuplicateKey { path: Vec::new(), key: 5 });
    }

    #[test]
    fn unsupported_types_are_refused_with_their_path() {
        let godot = dict(vec![(
            245,
            GdValue::Array(vec![GdValue::Int(1), dict(vec![(7, GdValue::Unsupported("Vector2".into()))])]),
        )]);
        let error = params_from_gd_value(&godot).unwrap_err();
        assert_eq!(
            error,
            ConvertError::UnsupportedType {
                path: vec![PathStep::Key(245), PathStep::Index(1), PathStep::Key(7)],
                found: "Vector2".into()
            }
        );
        let text = error.to_string();
        assert!(text.starts_with("params[245][1][7] is a Vector2"), "{text}");
    }

    #[test]
    fn bad_nested_key_reports_the_path_to_its_dictionary() {
        let godot = dict(vec![(1, dict(vec![(300, GdValue::Nil)]))]);
        let error = params_from_gd_value(&godot).unwrap_err();
        assert_eq!(error, ConvertError::KeyOutOfRange { path: vec![PathStep::Key(1)], key: 300 });
        assert_eq!(error.to_string(), "a dictionary key in params[1] is 300; keys must be int from 0 to 255");
    }

    #[test]
    fn top_level_must_be_a_dictionary_or_null() {
        assert_eq!(params_from_gd_value(&GdValue::Nil).unwrap(), Params::new());
        assert_eq!(params_from_gd_value(&GdValue::Dictionary(Vec::new())).unwrap(), Params::new());
        let error = params_from_gd_value(&GdValue::Array(Vec::new())).unwrap_err();
        assert_eq!(error, ConvertError::NotADictionary { found: "Array".into() });
        assert!(error.path().is_empty());
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
        // Packed arrays and dictionaries count as containers too.
        let mut deep = GdValue::PackedInt32Array(vec![1]);
        for _ in 0..MAX_DEPTH {
            deep = dict(vec![(1, deep)]);
        }
        assert!(matches!(params_from_gd_value(&dict(vec![(0, deep)])), Err(ConvertError::TooDeep { .. })));
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

    #[test]
    fn received_values_map_to_godot_shapes() {
        let cases = [
            (Value::Null, GdValue::Nil),
            (Value::Bool(true), GdValue::Bool(true)),
            (Value::Int(-5), GdValue::Int(-5)),
            (Value::Long(i64::MAX), GdValue::Int(i64::MAX)),
            (Value::Float(0.5), GdValue::Float(0.5)),
            (Value::Double(2.25), GdValue::Float(2.25)),
            (Value::String("s".into()), GdValue::String("s".into())),
            (Value::Bytes(vec![1, 2]), GdValue::PackedByteArray(vec![1, 2])),
            (Value::Array(vec![Value::Int(1), Value::Null]), GdValue::Array(vec![GdValue::Int(1), GdValue::Nil])),
        ];
        for (value, expected) in cases {
            assert_eq!(value_to_gd(&value), expected, "{value:?}");
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
        ]);
        let back = params_from_gd(&params_to_gd(&original)).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn small_long_and_float_come_back_as_int_and_double() {
        // Godot has one int and one float type, so the width is chosen again on the way out.
        let original = params(vec![(0, Value::Long(5)), (1, Value::Float(0.5))]);
        let back = params_from_gd(&params_to_gd(&original)).unwrap();
        assert_eq!(back, params(vec![(0, Value::Int(5)), (1, Value::Double(0.5))]));
    }

    #[test]
    fn type_names_are_godot_names() {
        assert_eq!(GdValue::Nil.type_name(), "null");
        assert_eq!(GdValue::PackedByteArray(Vec::new()).type_name(), "PackedByteArray");
        assert_eq!(GdValue::Unsupported("Callable".into()).type_name(), "Callable");
    }
}
