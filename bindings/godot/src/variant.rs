//! Copies between Godot's `Variant` and the engine-free [`GdValue`], shape for shape, and the custom
//! types scripts register with `SealnetPeer.register_type`.
//!
//! Every rule of the sealnet mapping is in `value.rs`; this layer needs a running engine (a `Variant`
//! cannot be built without it), so it stays as small as possible. What it adds is what only the engine
//! can do: tell a `SealnetValue` or an object of a registered type apart, and call the serializers and
//! deserializers scripts registered (they are `Callable`s).

use godot::builtin::{
    real, AnyArray, AnyDictionary, Array, Callable, GString, PackedByteArray, PackedFloat32Array, PackedFloat64Array,
    PackedInt32Array, PackedInt64Array, PackedStringArray, Quaternion, RealConv, StringName, VarArray, VarDictionary,
    Variant, VariantType, Vector2, Vector3,
};
use godot::classes::{ClassDb, Object, Script};
use godot::global::{godot_warn, type_string};
use godot::meta::inspect::ElementType;
use godot::meta::ToGodot;
use godot::obj::{EngineEnum, Gd, Singleton};

use crate::codes::{ErrorCode, Failure};
use crate::sealnet_value::{Held, SealnetValue};
use crate::value::{check_custom_code, container_too_deep as too_deep, GdValue, Kind, Typed};

/// Which objects a registered type covers.
enum TypeClass {
    /// Objects whose script is this one or extends it (a GDScript `class_name`).
    Script(Gd<Script>),
    /// Objects of this engine class or a class derived from it.
    Engine(GString),
}

/// A script's own type, registered under a custom code.
struct ScriptType {
    code: u8,
    class: TypeClass,
    /// Object → PackedByteArray.
    serialize: Callable,
    /// PackedByteArray → the value scripts receive.
    deserialize: Callable,
}

impl ScriptType {
    fn covers(&self, object: &Gd<Object>) -> bool {
        match &self.class {
            TypeClass::Script(wanted) => {
                let mut script = object.get_script();
                while let Some(current) = script {
                    if current == *wanted {
                        return true;
                    }
                    script = current.get_base_script();
                }
                false
            }
            TypeClass::Engine(name) => object.is_class(name),
        }
    }

    fn same_class(&self, other: &TypeClass) -> bool {
        match (&self.class, other) {
            (TypeClass::Script(mine), TypeClass::Script(theirs)) => mine == theirs,
            (TypeClass::Engine(mine), TypeClass::Engine(theirs)) => mine == theirs,
            _ => false,
        }
    }
}

/// The custom types registered on one `SealnetPeer`.
#[derive(Default)]
pub struct Types {
    list: Vec<ScriptType>,
}

fn refuse(message: String) -> Failure {
    Failure::new(ErrorCode::InvalidArgument, message)
}

impl Types {
    /// Registers `class` (a Script, or the name of an engine class) under `code`. Registering a code
    /// again replaces what it had; one class cannot have two codes.
    pub fn register(
        &mut self,
        code: i64,
        class: &Variant,
        serialize: Callable,
        deserialize: Callable,
    ) -> Result<(), Failure> {
        let code = check_custom_code(code).map_err(refuse)?;
        let class = type_class(class)?;
        for (name, callable) in [("serialize", &serialize), ("deserialize", &deserialize)] {
            if !callable.is_valid() {
                return Err(refuse(format!("the {name} Callable for code {code} is not valid")));
            }
        }
        if let Some(other) = self.list.iter().find(|known| known.code != code && known.same_class(&class)) {
            return Err(refuse(format!(
                "that type is registered under code {} already; unregister_type({}) first",
                other.code, other.code
            )));
        }
        self.list.retain(|known| known.code != code);
        self.list.push(ScriptType { code, class, serialize, deserialize });
        Ok(())
    }

    /// Removes the registration of `code`; whether there was one.
    pub fn unregister(&mut self, code: i64) -> bool {
        let before = self.list.len();
        self.list.retain(|known| i64::from(known.code) != code);
        self.list.len() != before
    }

    fn for_object(&self, object: &Gd<Object>) -> Option<&ScriptType> {
        self.list.iter().find(|known| known.covers(object))
    }

    fn for_code(&self, code: u8) -> Option<&ScriptType> {
        self.list.iter().find(|known| known.code == code)
    }
}

fn type_class(class: &Variant) -> Result<TypeClass, Failure> {
    match class.get_type() {
        VariantType::OBJECT => match class.try_to::<Gd<Script>>() {
            Ok(script) => Ok(TypeClass::Script(script)),
            Err(_) => Err(refuse("type must be a Script (a class_name) or the name of an engine class".into())),
        },
        VariantType::STRING | VariantType::STRING_NAME => {
            let name = class.to::<GString>();
            if !ClassDb::singleton().class_exists(&StringName::from(name.to_string().as_str())) {
                return Err(refuse(format!(
                    "there is no engine class named \"{name}\" (for a script class, pass the class itself, not its name)"
                )));
            }
            Ok(TypeClass::Engine(name))
        }
        other => Err(refuse(format!(
            "type must be a Script (a class_name) or the name of an engine class, not a {}",
            type_string(i64::from(other.ord()))
        ))),
    }
}

/// Copies a dictionary's entries (the top-level parameters, at depth 0).
pub fn entries_from_dictionary(dictionary: &AnyDictionary, types: &Types) -> Vec<(GdValue, GdValue)> {
    entries(dictionary, 0, types)
}

/// Copies a value held directly in the parameters (depth 0).
pub fn from_variant(variant: &Variant, types: &Types) -> GdValue {
    copy(variant, 0, types)
}

fn entries(dictionary: &AnyDictionary, depth: usize, types: &Types) -> Vec<(GdValue, GdValue)> {
    dictionary.iter_shared().map(|(key, value)| (copy(&key, depth, types), copy(&value, depth, types))).collect()
}

/// `depth` is that of the container holding `variant`: 0 for a value directly in the parameters.
///
/// A container nested past the limit is copied empty: the mapping in `value.rs` refuses it by its depth
/// alone (reporting where it is), and an array that contains itself stops being followed here.
fn copy(variant: &Variant, depth: usize, types: &Types) -> GdValue {
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
        VariantType::VECTOR2 => {
            let vector = variant.to::<Vector2>();
            GdValue::Vector2([vector.x.as_f32(), vector.y.as_f32()])
        }
        VariantType::VECTOR3 => {
            let vector = variant.to::<Vector3>();
            GdValue::Vector3([vector.x.as_f32(), vector.y.as_f32(), vector.z.as_f32()])
        }
        VariantType::QUATERNION => {
            let quaternion = variant.to::<Quaternion>();
            GdValue::Quaternion([
                quaternion.x.as_f32(),
                quaternion.y.as_f32(),
                quaternion.z.as_f32(),
                quaternion.w.as_f32(),
            ])
        }
        VariantType::ARRAY => {
            let array = variant.to::<AnyArray>();
            // A typed Array[bool] is the bool array: flat, so it is copied whatever its depth.
            if matches!(array.element_type(), ElementType::Builtin(kind) if kind == VariantType::BOOL) {
                GdValue::BoolArray(array.iter_shared().map(|item| item.to::<bool>()).collect())
            } else if too_deep(depth) {
                GdValue::Array(Vec::new())
            } else {
                GdValue::Array(array.iter_shared().map(|item| copy(&item, depth + 1, types)).collect())
            }
        }
        VariantType::DICTIONARY if too_deep(depth) => GdValue::Dictionary(Vec::new()),
        VariantType::DICTIONARY => GdValue::Dictionary(entries(&variant.to::<AnyDictionary>(), depth + 1, types)),
        VariantType::OBJECT => object(variant, depth, types),
        other => GdValue::Unsupported(type_string(i64::from(other.ord())).to_string()),
    }
}

/// A `SealnetValue`, an object of a registered type (serialized now), or a refusal naming the object.
fn object(variant: &Variant, depth: usize, types: &Types) -> GdValue {
    let Ok(object) = variant.try_to::<Gd<Object>>() else {
        return GdValue::Unsupported("Object (null or freed)".into());
    };
    let object = match object.try_cast::<SealnetValue>() {
        Ok(value) => return wrapped(&value.bind(), depth, types),
        Err(object) => object,
    };
    let described = describe_object(&object);
    let Some(registered) = types.for_object(&object) else {
        return GdValue::Unsupported(described);
    };
    let code = registered.code;
    let result = registered.serialize.call(&[object.to_variant()]);
    match result.try_to::<PackedByteArray>() {
        Ok(bytes) => GdValue::Sealnet(Typed::Custom { code, data: bytes.to_vec() }),
        Err(_) => GdValue::Refused {
            found: described,
            reason: format!(
                "the serializer registered for code {code} returned a {}, not a PackedByteArray",
                type_string(i64::from(result.get_type().ord()))
            ),
        },
    }
}

/// "Node2D object", or "RefCounted object (script res://player.gd)" for an object with a script.
fn describe_object(object: &Gd<Object>) -> String {
    let class = object.get_class();
    match object.get_script() {
        Some(script) => format!("{class} object (script {})", script.get_path()),
        None => format!("{class} object"),
    }
}

fn wrapped(value: &SealnetValue, depth: usize, types: &Types) -> GdValue {
    match &value.held {
        Held::Value(typed) => GdValue::Sealnet(typed.clone()),
        // Cut like a dictionary: the mapping refuses it by its depth.
        Held::Table(_) if too_deep(depth) => GdValue::Sealnet(Typed::Table(Vec::new())),
        Held::Table(dictionary) => GdValue::Sealnet(Typed::Table(entries(dictionary, depth + 1, types))),
        Held::Map(_) if too_deep(depth) => GdValue::Sealnet(Typed::Map(Vec::new())),
        Held::Map(dictionary) => GdValue::Sealnet(Typed::Map(entries(dictionary, depth + 1, types))),
        Held::Invalid { message, .. } => {
            GdValue::Refused { found: Kind::Invalid.label().into(), reason: message.clone() }
        }
    }
}

/// Builds the Variant for a received value; custom values of registered codes go through their
/// deserializer.
pub fn to_variant(value: &GdValue, types: &Types) -> Variant {
    match value {
        GdValue::Nil | GdValue::Unsupported(_) | GdValue::Refused { .. } => Variant::nil(),
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
        GdValue::BoolArray(items) => bool_array(items).to_variant(),
        GdValue::Array(items) => {
            let mut array = VarArray::new();
            for item in items {
                array.push(&to_variant(item, types));
            }
            array.to_variant()
        }
        GdValue::Dictionary(entries) => to_dictionary(entries, types).to_variant(),
        GdValue::Vector2([x, y]) => Vector2::new(real::from_f32(*x), real::from_f32(*y)).to_variant(),
        GdValue::Vector3([x, y, z]) => {
            Vector3::new(real::from_f32(*x), real::from_f32(*y), real::from_f32(*z)).to_variant()
        }
        GdValue::Quaternion([x, y, z, w]) => {
            Quaternion::new(real::from_f32(*x), real::from_f32(*y), real::from_f32(*z), real::from_f32(*w)).to_variant()
        }
        GdValue::Sealnet(Typed::Custom { code, data }) => match types.for_code(*code) {
            Some(registered) if registered.deserialize.is_valid() => {
                registered.deserialize.call(&[PackedByteArray::from(data.as_slice()).to_variant()])
            }
            Some(_) => {
                godot_warn!(
                    "SealnetPeer: the deserializer registered for code {code} is no longer valid; the value \
                     arrives as a SealnetValue holding its bytes"
                );
                received(&Typed::Custom { code: *code, data: data.clone() }, types).to_variant()
            }
            None => received(&Typed::Custom { code: *code, data: data.clone() }, types).to_variant(),
        },
        GdValue::Sealnet(typed) => received(typed, types).to_variant(),
    }
}

fn bool_array(items: &[bool]) -> Array<bool> {
    let mut array = Array::<bool>::new();
    for &item in items {
        array.push(item);
    }
    array
}

/// A `SealnetValue` for a received value Godot has no type for (a custom value, a table key).
fn received(typed: &Typed, types: &Types) -> Gd<SealnetValue> {
    let held = match typed {
        Typed::Table(entries) => Held::Table(to_dictionary(entries, types).upcast_any_dictionary()),
        Typed::Map(entries) => Held::Map(to_dictionary(entries, types).upcast_any_dictionary()),
        other => Held::Value(other.clone()),
    };
    Gd::from_object(SealnetValue { held })
}

/// Builds the Dictionary for received parameters.
pub fn to_dictionary(entries: &[(GdValue, GdValue)], types: &Types) -> VarDictionary {
    let mut dictionary = VarDictionary::new();
    for (key, value) in entries {
        dictionary.set(&to_variant(key, types), &to_variant(value, types));
    }
    dictionary
}

/// The `Array[bool]` of a SealnetValue's bools.
pub fn bools_to_variant(items: &[bool]) -> Variant {
    bool_array(items).to_variant()
}
