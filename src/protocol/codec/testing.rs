//! Strategies and comparisons shared by the codec and message tests.

use super::{Key, Params, Table, Value};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// Raw bit patterns, so NaNs with payloads and signalling NaNs are covered too.
fn any_f32() -> impl Strategy<Value = f32> {
    any::<u32>().prop_map(f32::from_bits)
}

fn any_f64() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(f64::from_bits)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        any_f32().prop_map(Value::Float),
        any_f64().prop_map(Value::Double),
        ".{0,12}".prop_map(Value::String),
        vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
        any::<u8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Short),
        vec(any::<i16>(), 0..6).prop_map(Value::ShortArray),
        vec(any::<i32>(), 0..6).prop_map(Value::IntArray),
        vec(any::<i64>(), 0..6).prop_map(Value::LongArray),
        vec(any_f32(), 0..6).prop_map(Value::FloatArray),
        vec(any_f64(), 0..6).prop_map(Value::DoubleArray),
        vec(any::<bool>(), 0..20).prop_map(Value::BoolArray),
        vec(".{0,6}", 0..4).prop_map(Value::StringArray),
        (any::<u8>(), vec(any::<u8>(), 0..8)).prop_map(|(code, data)| Value::Custom { code, data }),
    ]
}

pub(crate) fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        any::<i32>().prop_map(Key::Int),
        any::<i64>().prop_map(Key::Long),
        ".{0,6}".prop_map(Key::String),
        any::<u8>().prop_map(Key::Byte),
        any::<i16>().prop_map(Key::Short),
    ]
}

/// Values nested at most four containers deep.
pub(crate) fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any::<u8>(), inner.clone(), 0..6).prop_map(|entries| Value::Map(entries.into_iter().collect())),
            btree_map(key(), inner, 0..6).prop_map(|entries| Value::Table(entries.into_iter().collect::<Table>())),
        ]
    })
}

/// Values of the version-1 types only.
pub(crate) fn value_v1() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        any_f32().prop_map(Value::Float),
        any_f64().prop_map(Value::Double),
        ".{0,12}".prop_map(Value::String),
        vec(any::<u8>(), 0..12).prop_map(Value::Bytes),
    ];
    scalar.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any::<u8>(), inner, 0..6).prop_map(|entries| Value::Map(entries.into_iter().collect())),
        ]
    })
}

pub(crate) fn params() -> impl Strategy<Value = Params> {
    btree_map(any::<u8>(), value(), 0..8).prop_map(|entries| entries.into_iter().collect())
}

/// Equality that compares floats by bit pattern, so NaN equals itself.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Double(x), Value::Double(y)) => x.to_bits() == y.to_bits(),
        (Value::FloatArray(x), Value::FloatArray(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        (Value::DoubleArray(x), Value::DoubleArray(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y)),
        (Value::Map(x), Value::Map(y)) => same_params(x, y),
        (Value::Table(x), Value::Table(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
        }
        _ => a == b,
    }
}

pub(crate) fn same_params(a: &Params, b: &Params) -> bool {
    a.len() == b.len() && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| ka == kb && same_value(va, vb))
}
