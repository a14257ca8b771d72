//! The `SealnetValue` class: an explicitly typed value, for the sealnet types GDScript cannot express
//! with its own values (a byte, a short, a 32-bit float, a long that would fit 32 bits, a short or
//! bool array, a table whose keys all fit a map, a byte-keyed map said explicitly, a custom value).
//!
//! The checks of every constructor are engine-free, on [`Typed`] in `value.rs`; this class only holds
//! the result. A constructor that refuses its argument prints why (`push_error`) and returns an
//! invalid value, which sending refuses with the same reason, so a mistake is never sent as `null`.

use godot::builtin::{AnyDictionary, GString, PackedByteArray, Variant};
use godot::classes::IRefCounted;
use godot::global::godot_error;
use godot::meta::ToGodot;
use godot::obj::Gd;
use godot::register::{godot_api, GodotClass};

use crate::value::{GdValue, Kind, Typed, WrapError};
use crate::variant::{self, Types};

/// A value of an explicit sealnet type, made with one of the static constructors
/// (`SealnetValue.byte(200)`, `SealnetValue.table({...})`, ...). Received custom values of codes
/// nothing is registered for arrive as one too (`KIND_CUSTOM`), and can be sent back unchanged.
#[derive(GodotClass)]
#[class(no_init, base = RefCounted)]
pub struct SealnetValue {
    pub(crate) held: Held,
}

/// What a `SealnetValue` holds.
pub(crate) enum Held {
    /// Every kind but table and map.
    Value(Typed),
    /// The dictionary itself, copied when the value is sent (as any Dictionary is).
    Table(AnyDictionary),
    Map(AnyDictionary),
    Invalid {
        message: String,
    },
}

impl SealnetValue {
    fn made(result: Result<Typed, WrapError>) -> Gd<Self> {
        Gd::from_object(SealnetValue { held: held(result) })
    }

    fn kind(&self) -> Kind {
        match &self.held {
            Held::Value(typed) => typed.kind(),
            Held::Table(_) => Kind::Table,
            Held::Map(_) => Kind::Map,
            Held::Invalid { .. } => Kind::Invalid,
        }
    }

    /// Checks a dictionary's keys for `table` or `map`; the values are checked when it is sent.
    fn keyed(entries: AnyDictionary, check: KeyCheck, keep: fn(AnyDictionary) -> Held) -> Gd<Self> {
        let keys = entries
            .keys_array()
            .iter_shared()
            .map(|key| (variant::from_variant(&key, &Types::default()), GdValue::Nil))
            .collect();
        let held = match check(keys) {
            Ok(_) => keep(entries),
            Err(error) => held(Err(error)),
        };
        Gd::from_object(SealnetValue { held })
    }
}

/// `Typed::table` or `Typed::map`: checks a dictionary's entries (keys, here) for that kind.
type KeyCheck = fn(Vec<(GdValue, GdValue)>) -> Result<Typed, WrapError>;

fn held(result: Result<Typed, WrapError>) -> Held {
    match result {
        Ok(typed) => Held::Value(typed),
        Err(error) => {
            godot_error!("{error}");
            Held::Invalid { message: error.to_string() }
        }
    }
}

#[godot_api]
impl SealnetValue {
    /// A constructor refused its argument; `get_error()` says why.
    #[constant]
    const KIND_INVALID: i64 = Kind::Invalid as i64;
    #[constant]
    const KIND_BYTE: i64 = Kind::Byte as i64;
    #[constant]
    const KIND_SHORT: i64 = Kind::Short as i64;
    #[constant]
    const KIND_LONG: i64 = Kind::Long as i64;
    #[constant]
    const KIND_FLOAT32: i64 = Kind::Float32 as i64;
    #[constant]
    const KIND_SHORT_ARRAY: i64 = Kind::ShortArray as i64;
    #[constant]
    const KIND_BOOL_ARRAY: i64 = Kind::BoolArray as i64;
    #[constant]
    const KIND_TABLE: i64 = Kind::Table as i64;
    #[constant]
    const KIND_MAP: i64 = Kind::Map as i64;
    #[constant]
    const KIND_CUSTOM: i64 = Kind::Custom as i64;

    /// A byte (0 to 255); received as an `int`.
    #[func]
    fn byte(value: i64) -> Gd<SealnetValue> {
        Self::made(Typed::byte(value))
    }

    /// A short (-32768 to 32767); received as an `int`.
    #[func]
    fn short(value: i64) -> Gd<SealnetValue> {
        Self::made(Typed::short(value))
    }

    /// A 64-bit long, even for a number that fits 32 bits (a plain `int` is sent as a 32-bit int then).
    #[func]
    fn long(value: i64) -> Gd<SealnetValue> {
        Self::made(Ok(Typed::long(value)))
    }

    /// A 32-bit float (a plain `float` is sent as a 64-bit double); a finite value beyond its range is
    /// refused.
    #[func]
    fn float32(value: f64) -> Gd<SealnetValue> {
        Self::made(Typed::float32(value))
    }

    /// An array of shorts, from an `Array` of ints or a packed int array; received as a
    /// `PackedInt32Array`.
    #[func]
    fn short_array(values: Variant) -> Gd<SealnetValue> {
        Self::made(Typed::short_array(&variant::from_variant(&values, &Types::default())))
    }

    /// An array of bools, from an `Array` of bools; received as an `Array[bool]` (which is also sent as
    /// a bool array, so this is only needed for an untyped `Array`).
    #[func]
    fn bool_array(values: Variant) -> Gd<SealnetValue> {
        Self::made(Typed::bool_array(&variant::from_variant(&values, &Types::default())))
    }

    /// A table (Photon's Hashtable) even when every key is an int from 0 to 255. Keys must be int,
    /// String or a byte, short or long SealnetValue. Received as a `Dictionary`.
    #[func]
    fn table(entries: AnyDictionary) -> Gd<SealnetValue> {
        Self::keyed(entries, Typed::table, Held::Table)
    }

    /// A byte-keyed map, said explicitly: keys must be ints from 0 to 255 (a plain Dictionary with such
    /// keys is sent as a map too). Received as a `Dictionary`.
    #[func]
    fn map(entries: AnyDictionary) -> Gd<SealnetValue> {
        Self::keyed(entries, Typed::map, Held::Map)
    }

    /// A custom value: a type code (0 to 255) and its bytes, sent as they are.
    #[func]
    fn custom(code: i64, data: PackedByteArray) -> Gd<SealnetValue> {
        Self::made(Typed::custom(code, data.to_vec()))
    }

    /// One of the `KIND_*` constants.
    #[func]
    fn get_kind(&self) -> i64 {
        self.kind().code()
    }

    /// The constructor's name: "byte", "table", "custom", ... ("invalid" for a refused one).
    #[func]
    fn get_kind_name(&self) -> GString {
        GString::from(self.kind().name())
    }

    /// False when the constructor refused its argument; such a value cannot be sent.
    #[func]
    fn is_valid(&self) -> bool {
        !matches!(self.held, Held::Invalid { .. })
    }

    /// Why the constructor refused its argument, or "".
    #[func]
    fn get_error(&self) -> GString {
        match &self.held {
            Held::Invalid { message, .. } => GString::from(message.as_str()),
            _ => GString::new(),
        }
    }

    /// The wrapped value as GDScript holds it: an `int`, a `float`, a `PackedInt32Array` (short array),
    /// an `Array[bool]`, the `Dictionary` (table, map), the bytes (custom); `null` when invalid.
    #[func]
    fn get_value(&self) -> Variant {
        match &self.held {
            Held::Value(Typed::Byte(number)) => i64::from(*number).to_variant(),
            Held::Value(Typed::Short(number)) => i64::from(*number).to_variant(),
            Held::Value(Typed::Long(number)) => number.to_variant(),
            Held::Value(Typed::Float32(number)) => f64::from(*number).to_variant(),
            Held::Value(Typed::ShortArray(items)) => {
                let items: Vec<i32> = items.iter().map(|&item| i32::from(item)).collect();
                godot::builtin::PackedInt32Array::from(items.as_slice()).to_variant()
            }
            Held::Value(Typed::BoolArray(items)) => variant::bools_to_variant(items),
            Held::Value(Typed::Custom { data, .. }) => PackedByteArray::from(data.as_slice()).to_variant(),
            // Tables and maps are held as their dictionary; a received one never is a `Typed` one.
            Held::Value(Typed::Table(_) | Typed::Map(_)) | Held::Invalid { .. } => Variant::nil(),
            Held::Table(dictionary) | Held::Map(dictionary) => dictionary.to_variant(),
        }
    }

    /// The type code of a custom value, or -1.
    #[func]
    fn get_code(&self) -> i64 {
        match &self.held {
            Held::Value(Typed::Custom { code, .. }) => i64::from(*code),
            _ => -1,
        }
    }

    /// The bytes of a custom value, or an empty array.
    #[func]
    fn get_data(&self) -> PackedByteArray {
        match &self.held {
            Held::Value(Typed::Custom { data, .. }) => PackedByteArray::from(data.as_slice()),
            _ => PackedByteArray::new(),
        }
    }
}

#[godot_api]
impl IRefCounted for SealnetValue {
    /// `SealnetValue.byte(200)`, `SealnetValue.custom(86, 12 bytes)`, `SealnetValue (invalid: ...)`.
    fn to_string(&self) -> GString {
        let text = match &self.held {
            Held::Value(Typed::Custom { code, data }) => format!("SealnetValue.custom({code}, {} bytes)", data.len()),
            Held::Invalid { message, .. } => format!("SealnetValue (invalid: {message})"),
            _ => format!("{}({})", self.kind().label(), self.get_value()),
        };
        GString::from(text.as_str())
    }
}
