//! Copies between Godot's `Variant` and the engine-free [`GdValue`], shape for shape.
//!
//! Every rule of the sealnet mapping is in `value.rs`; this layer needs a running engine (a `Variant`
//! cannot be built without it), so it stays as small as possible.

use godot::builtin::{
    AnyArray, AnyDictionary, GString, PackedByteArray, PackedFloat32Array, PackedFloat64Array, PackedInt32Array,
    PackedInt64Array, PackedStringArray, StringName, VarArray, VarDictionary, Variant, VariantType,
};
use godot::global::type_string;
use godot::meta::ToGodot;
use godot::obj::EngineEnum;

use crate::value::{container_too_deep as too_deep, GdValue};

/// Copies a dictionary's entries (the top-level parameters, at depth 0).
pub fn entries_from_dictionary(dictionary: &AnyDictionary) -> Vec<(GdValue, GdValue)> {
    entries(dictionary, 0)
}

/// Copies a value held directly in the parameters (depth 0).
pub fn from_variant(variant: &Variant) -> GdValue {
    copy(variant, 0)
}

fn entries(dictionary: &AnyDictionary, depth: usize) -> Vec<(GdValue, GdValue)> {
    dictionary.iter_shared().map(|(key, value)| (copy(&key, depth), copy(&value, depth))).collect()
}

/// `depth` is that of the container holding `variant`: 0 for a value directly in the parameters.
///
/// A container nested past the limit is copied empty: the mapping in `value.rs` refuses it by its depth
/// alone (reporting where it is), and an array that contains itself stops being followed here.
fn copy(variant: &Variant, depth: usize) -> GdValue {
    match variant.get_type() {
        VariantType::NIL => GdValue::Nil,
        VariantType::BOOL => GdValue::Bool(variant.to::<bool>()),
        VariantType::INT => GdValue::Int(variant.to::<i64>()),
        VariantType::FLOAT => GdValue::Float(variant.to::<f64>()),
        VariantType::STRING => GdValue::String(variant.to::<GString>().to_string()),
        VariantType::STRING_NAME => GdValue::StringName(variant.to::<StringName>().to_string()),
        VariantType::PACKED_BYTE_ARRAY => GdValue::PackedByteArray(variant.to::<PackedByteArray>().to_vec()),
        VariantType::PACKED_INT32_ARRAY => GdValue::PackedInt32Array(variant.to::<PackedInt32Array>().to_vec()),
        VariantType::PACKED_INT64_ARRAY => GdValue::PackedInt64Array(variant.to::<PackedInt64Array>().to_vec()),
        VariantType::PACKED_FLOAT32_ARRAY => GdValue::PackedFloat32Array(variant.to::<PackedFloat32Array>().to_vec()),
        VariantType::PACKED_FLOAT64_ARRAY => GdValue::PackedFloat64Array(variant.to::<PackedFloat64Array>().to_vec()),
        VariantType::PACKED_STRING_ARRAY => GdValue::PackedStringArray(
            variant.to::<PackedStringArray>().as_slice().iter().map(GString::to_string).collect(),
        ),
        VariantType::ARRAY if too_deep(depth) => GdValue::Array(Vec::new()),
        VariantType::ARRAY => {
            GdValue::Array(variant.to::<AnyArray>().iter_shared().map(|item| copy(&item, depth + 1)).collect())
        }
        VariantType::DICTIONARY if too_deep(depth) => GdValue::Dictionary(Vec::new()),
        VariantType::DICTIONARY => GdValue::Dictionary(entries(&variant.to::<AnyDictionary>(), depth + 1)),
        other => GdValue::Unsupported(type_string(i64::from(other.ord())).to_string()),
    }
}

/// Builds the Variant for a received value.
pub fn to_variant(value: &GdValue) -> Variant {
    match value {
        GdValue::Nil | GdValue::Unsupported(_) => Variant::nil(),
        GdValue::Bool(flag) => flag.to_variant(),
        GdValue::Int(number) => number.to_variant(),
        GdValue::Float(number) => number.to_variant(),
        GdValue::String(text) => GString::from(text.as_str()).to_variant(),
        GdValue::StringName(text) => StringName::from(text.as_str()).to_variant(),
        GdValue::PackedByteArray(bytes) => PackedByteArray::from(bytes.as_slice()).to_variant(),
        GdValue::PackedInt32Array(items) => PackedInt32Array::from(items.as_slice()).to_variant(),
        GdValue::PackedInt64Array(items) => PackedInt64Array::from(items.as_slice()).to_variant(),
        GdValue::PackedFloat32Array(items) => PackedFloat32Array::from(items.as_slice()).to_variant(),
        GdValue::PackedFloat64Array(items) => PackedFloat64Array::from(items.as_slice()).to_variant(),
        GdValue::PackedStringArray(items) => {
            let strings: Vec<GString> = items.iter().map(|item| GString::from(item.as_str())).collect();
            PackedStringArray::from(strings.as_slice()).to_variant()
        }
        GdValue::Array(items) => {
            let mut array = VarArray::new();
            for item in items {
                array.push(&to_variant(item));
            }
            array.to_variant()
        }
        GdValue::Dictionary(entries) => to_dictionary(entries).to_variant(),
    }
}

/// Builds the Dictionary for received parameters.
pub fn to_dictionary(entries: &[(GdValue, GdValue)]) -> VarDictionary {
    let mut dictionary = VarDictionary::new();
    for (key, value) in entries {
        dictionary.set(&to_variant(key), &to_variant(value));
    }
    dictionary
}
