//! Engine-free mirror of the Godot values the extension accepts, and its mapping to sealnet values.
//!
//! Godot's `Variant`, `Dictionary` and `Array` can only be built while the engine is loaded, so every
//! rule of the translation lives here, on [`GdValue`], where plain `cargo test` can check it. The layer
//! in `variant.rs` only copies a `Variant` into a `GdValue` (and back) shape for shape, and calls the
//! serializers scripts registered for their own types.
//!
//! Godot → sealnet:
//!
//! | Godot                                  | sealnet                                                |
//! |----------------------------------------|--------------------------------------------------------|
//! | `null`                                 | `Null`                                                 |
//! | `bool`                                 | `Bool`                                                 |
//! | `int`                                  | `Int` when the value fits in 32 bits, else `Long`      |
//! | `float`                                | `Double`                                               |
//! | `String`, `StringName`                 | `String`                                               |
//! | `PackedByteArray`                      | `Bytes`                                                |
//! | `Array`                                | `Array`                                                |
//! | `Dictionary`, every key an int 0..=255 | `Map` (the top-level parameters must be one)           |
//! | any other `Dictionary`                 | `Table`; keys int, String or SealnetValue byte/short/long |
//! | `PackedInt32Array` / `PackedInt64Array`| `IntArray` / `LongArray` (¹)                           |
//! | `PackedFloat32Array` / `PackedFloat64Array` | `FloatArray` / `DoubleArray` (¹)                  |
//! | `PackedStringArray`                    | `StringArray` (¹)                                      |
//! | `Array[bool]` (a typed array)          | `BoolArray` (¹)                                        |
//! | `Vector2`, `Vector3`, `Quaternion`     | `Custom` 87 ('W'), 86 ('V'), 81 ('Q'): f32 components, little-endian |
//! | `SealnetValue`                         | the type it wraps: `Byte`, `Short`, `Long`, `Float`, `ShortArray`, `BoolArray`, `Table`, `Map`, `Custom` |
//! | an object of a registered type         | `Custom` with its code and the bytes its serializer returned |
//! | anything else                          | refused with [`ConvertError::UnsupportedType`]         |
//!
//! (¹) A protocol version-2 type, as are byte, short, tables and custom types (so `Vector2`, `Vector3`
//! and `Quaternion` too). The mapping does not depend on the connection: on a version-1 connection (an
//! older server, or `max_protocol_version = 1`) the session refuses a version-2 value with
//! `CodecError::TypeNeedsVersion` (`ERR_NEEDS_PROTOCOL_VERSION`, the message naming the value), and
//! nothing is converted to a version-1 type behind the script's back: one policy in every binding. A
//! script that must reach a version-1 peer sends an `Array` of the elements itself.
//!
//! GDScript has a single 64-bit `int`. It is sent as a 32-bit `Int` whenever it fits because that is the
//! type the server and other clients expect for codes, counts and actor numbers (the reference server
//! refuses a `Long` event code); only values outside the 32-bit range travel as `Long`.
//!
//! sealnet → Godot: `Byte`, `Short`, `Int` and `Long` become `int`; `Float` and `Double` `float`;
//! `Bytes` a `PackedByteArray`; `ShortArray` and `IntArray` a `PackedInt32Array`; `LongArray` a
//! `PackedInt64Array`; `FloatArray` / `DoubleArray` a `PackedFloat32Array` / `PackedFloat64Array`;
//! `StringArray` a `PackedStringArray`; `BoolArray` an `Array[bool]`; `Map` and `Table` a `Dictionary`
//! (a table's int, long, byte and short keys become `int` keys; when two of them are the same number the
//! later ones are keyed by a `SealnetValue` of their type, so no entry is lost); the built-in custom
//! codes a `Vector2`, `Vector3` or `Quaternion`; any other custom value a `SealnetValue` holding its code
//! and bytes (the engine layer hands it to a script's deserializer when one is registered for the code).

use std::collections::HashSet;
use std::fmt;

use sealnet::protocol::codec::{check_value, CodecError, Key, Limits, Params, Table, Value, DEFAULT_LIMITS};

/// Deepest container nesting accepted from Godot: the decoder's default bound. A container directly in
/// the top-level parameters is at depth 1. It also stops a self-containing Godot `Array` from recursing.
pub const MAX_DEPTH: usize = DEFAULT_LIMITS.max_depth;

/// The newest protocol version the extension speaks.
pub const LATEST_VERSION: u8 = sealnet::protocol::codec::LATEST_VERSION;

/// Custom type code of `Vector2`: Photon's code for Unity's `Vector2` ('W').
pub const CODE_VECTOR2: u8 = b'W';
/// Custom type code of `Vector3`: Photon's code for Unity's `Vector3` ('V').
pub const CODE_VECTOR3: u8 = b'V';
/// Custom type code of `Quaternion`: Photon's code for Unity's `Quaternion` ('Q').
pub const CODE_QUATERNION: u8 = b'Q';

/// The built-in custom types: code and Godot type name.
pub const BUILTIN_TYPES: [(u8, &str); 3] =
    [(CODE_VECTOR2, "Vector2"), (CODE_VECTOR3, "Vector3"), (CODE_QUATERNION, "Quaternion")];

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
    /// A typed `Array[bool]`: GDScript has no packed array of bools, so this is its bool array.
    BoolArray(Vec<bool>),
    /// `Vector2` as (x, y).
    Vector2([f32; 2]),
    /// `Vector3` as (x, y, z).
    Vector3([f32; 3]),
    /// `Quaternion` as (x, y, z, w), Godot's order.
    Quaternion([f32; 4]),
    /// A `SealnetValue` object: an explicitly typed value.
    Sealnet(Typed),
    /// A value the engine layer could not copy (an invalid `SealnetValue`, a serializer that failed),
    /// with the reason; refused when sent, with that reason.
    Refused {
        /// What the value is, as error messages name it.
        found: String,
        /// Why it cannot be sent.
        reason: String,
    },
    /// A Godot type with no sealnet counterpart (Callable, an unregistered Object, ...), by its Godot name.
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
            GdValue::BoolArray(_) => "Array[bool]",
            GdValue::Vector2(_) => "Vector2",
            GdValue::Vector3(_) => "Vector3",
            GdValue::Quaternion(_) => "Quaternion",
            GdValue::Sealnet(typed) => typed.kind().label(),
            GdValue::Refused { found, .. } => found,
            GdValue::Unsupported(name) => name,
        }
    }
}

/// What a `SealnetValue` holds; the numbers are its `KIND_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum Kind {
    /// A constructor refused its argument; the value cannot be sent.
    Invalid = 0,
    /// `SealnetValue.byte`.
    Byte = 1,
    /// `SealnetValue.short`.
    Short = 2,
    /// `SealnetValue.long`.
    Long = 3,
    /// `SealnetValue.float32`.
    Float32 = 4,
    /// `SealnetValue.short_array`.
    ShortArray = 5,
    /// `SealnetValue.bool_array`.
    BoolArray = 6,
    /// `SealnetValue.table`.
    Table = 7,
    /// `SealnetValue.map`.
    Map = 8,
    /// `SealnetValue.custom`, or a received custom value nothing is registered for.
    Custom = 9,
}

impl Kind {
    /// Every kind, in number order.
    pub const ALL: [Kind; 10] = [
        Kind::Invalid,
        Kind::Byte,
        Kind::Short,
        Kind::Long,
        Kind::Float32,
        Kind::ShortArray,
        Kind::BoolArray,
        Kind::Table,
        Kind::Map,
        Kind::Custom,
    ];

    /// The number GDScript sees (`SealnetValue.KIND_*`).
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The name of the constructor that makes this kind (`byte`, `short_array`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Invalid => "invalid",
            Kind::Byte => "byte",
            Kind::Short => "short",
            Kind::Long => "long",
            Kind::Float32 => "float32",
            Kind::ShortArray => "short_array",
            Kind::BoolArray => "bool_array",
            Kind::Table => "table",
            Kind::Map => "map",
            Kind::Custom => "custom",
        }
    }

    /// How error messages name a value of this kind: `SealnetValue.byte`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Invalid => "SealnetValue (invalid)",
            Kind::Byte => "SealnetValue.byte",
            Kind::Short => "SealnetValue.short",
            Kind::Long => "SealnetValue.long",
            Kind::Float32 => "SealnetValue.float32",
            Kind::ShortArray => "SealnetValue.short_array",
            Kind::BoolArray => "SealnetValue.bool_array",
            Kind::Table => "SealnetValue.table",
            Kind::Map => "SealnetValue.map",
            Kind::Custom => "SealnetValue.custom",
        }
    }
}

/// The value a `SealnetValue` wraps: a type GDScript cannot express with its own values.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// A `Byte`.
    Byte(u8),
    /// A `Short`.
    Short(i16),
    /// A 64-bit `Long` even when the number would fit in 32 bits.
    Long(i64),
    /// A 32-bit `Float` scalar.
    Float32(f32),
    /// A `ShortArray`.
    ShortArray(Vec<i16>),
    /// A `BoolArray`.
    BoolArray(Vec<bool>),
    /// A `Table` even when every key is an int from 0 to 255.
    Table(Vec<(GdValue, GdValue)>),
    /// A byte-keyed `Map`, said explicitly.
    Map(Vec<(GdValue, GdValue)>),
    /// A custom type's code and bytes, as they travel; what arrives for a code nothing is registered for.
    Custom {
        /// The type code.
        code: u8,
        /// The serialized value.
        data: Vec<u8>,
    },
}

/// Why a `SealnetValue` constructor refused its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapError {
    /// The constructor that refused.
    pub kind: Kind,
    /// Why, without the constructor's name (`Display` adds it).
    pub message: String,
}

impl WrapError {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        WrapError { kind, message: message.into() }
    }

    /// A limit of the protocol refused the value: the message names the limit.
    fn limit(kind: Kind, error: CodecError) -> Self {
        WrapError::new(kind, describe_codec_error(&error))
    }
}

impl fmt::Display for WrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.label(), self.message)
    }
}

impl std::error::Error for WrapError {}

/// Checks a value built by a constructor against the default limits, as if it sat directly in the
/// parameters, so a value that could never be sent is refused when it is made.
fn check_wrapped(kind: Kind, value: &Value) -> Result<(), WrapError> {
    check_value(value, 1, &DEFAULT_LIMITS).map_err(|error| WrapError::limit(kind, error))
}

impl Typed {
    /// `SealnetValue.byte(v)`: 0 to 255.
    pub fn byte(value: i64) -> Result<Typed, WrapError> {
        u8::try_from(value)
            .map(Typed::Byte)
            .map_err(|_| WrapError::new(Kind::Byte, format!("{value} is out of range; a byte is from 0 to 255")))
    }

    /// `SealnetValue.short(v)`: -32768 to 32767.
    pub fn short(value: i64) -> Result<Typed, WrapError> {
        i16::try_from(value).map(Typed::Short).map_err(|_| {
            WrapError::new(Kind::Short, format!("{value} is out of range; a short is from -32768 to 32767"))
        })
    }

    /// `SealnetValue.long(v)`: any int.
    pub fn long(value: i64) -> Typed {
        Typed::Long(value)
    }

    /// `SealnetValue.float32(v)`: rounded to the nearest 32-bit float; a finite value beyond the 32-bit
    /// range is refused rather than turned into an infinity. NaN and the infinities are kept.
    pub fn float32(value: f64) -> Result<Typed, WrapError> {
        let narrow = value as f32;
        if value.is_finite() && !narrow.is_finite() {
            return Err(WrapError::new(
                Kind::Float32,
                format!("{value} is out of range of a 32-bit float (largest magnitude {:e})", f32::MAX),
            ));
        }
        Ok(Typed::Float32(narrow))
    }

    /// `SealnetValue.short_array(values)`: an `Array` of ints or a packed int array, each element from
    /// -32768 to 32767.
    pub fn short_array(values: &GdValue) -> Result<Typed, WrapError> {
        let kind = Kind::ShortArray;
        let numbers: Vec<i64> = match values {
            GdValue::PackedInt32Array(items) => items.iter().map(|&item| i64::from(item)).collect(),
            GdValue::PackedInt64Array(items) => items.clone(),
            GdValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    GdValue::Int(number) => Ok(*number),
                    other => {
                        Err(WrapError::new(kind, format!("element {index} is a {}, not an int", other.type_name())))
                    }
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(WrapError::new(
                    kind,
                    format!("takes an Array of ints or a packed int array, not a {}", other.type_name()),
                ))
            }
        };
        let shorts = numbers
            .iter()
            .enumerate()
            .map(|(index, &number)| {
                i16::try_from(number).map_err(|_| {
                    WrapError::new(
                        kind,
                        format!("element {index} is {number}, out of range; a short is from -32768 to 32767"),
                    )
                })
            })
            .collect::<Result<Vec<i16>, _>>()?;
        let value = Value::ShortArray(shorts);
        check_wrapped(kind, &value)?;
        let Value::ShortArray(shorts) = value else { unreachable!() };
        Ok(Typed::ShortArray(shorts))
    }

    /// `SealnetValue.bool_array(values)`: an `Array` of bools (typed or not).
    pub fn bool_array(values: &GdValue) -> Result<Typed, WrapError> {
        let kind = Kind::BoolArray;
        let flags: Vec<bool> = match values {
            GdValue::BoolArray(items) => items.clone(),
            GdValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    GdValue::Bool(flag) => Ok(*flag),
                    other => {
                        Err(WrapError::new(kind, format!("element {index} is a {}, not a bool", other.type_name())))
                    }
                })
                .collect::<Result<_, _>>()?,
            other => return Err(WrapError::new(kind, format!("takes an Array of bools, not a {}", other.type_name()))),
        };
        let value = Value::BoolArray(flags);
        check_wrapped(kind, &value)?;
        let Value::BoolArray(flags) = value else { unreachable!() };
        Ok(Typed::BoolArray(flags))
    }

    /// `SealnetValue.table(dictionary)`: keys must be int, String or a byte, short or long
    /// `SealnetValue`, each at most once. Values are checked when the table is sent.
    pub fn table(entries: Vec<(GdValue, GdValue)>) -> Result<Typed, WrapError> {
        let kind = Kind::Table;
        check_entry_count(kind, entries.len())?;
        let mut seen = HashSet::new();
        for (key, _) in &entries {
            let key = table_key(key).map_err(|error| WrapError::new(kind, error.to_string()))?;
            if let Key::String(text) = &key {
                check_wrapped(kind, &Value::String(text.clone()))?;
            }
            if !seen.insert(key.clone()) {
                return Err(WrapError::new(kind, format!("has key {} twice", key_text(&key))));
            }
        }
        Ok(Typed::Table(entries))
    }

    /// `SealnetValue.map(dictionary)`: keys must be ints from 0 to 255. Values are checked when the map is
    /// sent.
    pub fn map(entries: Vec<(GdValue, GdValue)>) -> Result<Typed, WrapError> {
        let kind = Kind::Map;
        check_entry_count(kind, entries.len())?;
        let mut seen = HashSet::new();
        for (key, _) in &entries {
            let key = key_from_gd(key).map_err(|error| WrapError::new(kind, error.to_string()))?;
            if !seen.insert(key) {
                return Err(WrapError::new(kind, format!("has key {key} twice")));
            }
        }
        Ok(Typed::Map(entries))
    }

    /// `SealnetValue.custom(code, bytes)`: a custom type's code (0 to 255) and its serialized bytes.
    pub fn custom(code: i64, data: Vec<u8>) -> Result<Typed, WrapError> {
        let kind = Kind::Custom;
        let code = u8::try_from(code)
            .map_err(|_| WrapError::new(kind, format!("code {code} is out of range; codes are from 0 to 255")))?;
        let value = Value::Custom { code, data };
        check_wrapped(kind, &value)?;
        let Value::Custom { code, data } = value else { unreachable!() };
        Ok(Typed::Custom { code, data })
    }

    /// Which constructor made this value.
    pub fn kind(&self) -> Kind {
        match self {
            Typed::Byte(_) => Kind::Byte,
            Typed::Short(_) => Kind::Short,
            Typed::Long(_) => Kind::Long,
            Typed::Float32(_) => Kind::Float32,
            Typed::ShortArray(_) => Kind::ShortArray,
            Typed::BoolArray(_) => Kind::BoolArray,
            Typed::Table(_) => Kind::Table,
            Typed::Map(_) => Kind::Map,
            Typed::Custom { .. } => Kind::Custom,
        }
    }
}

fn check_entry_count(kind: Kind, count: usize) -> Result<(), WrapError> {
    let max = DEFAULT_LIMITS.max_entries;
    if count > max {
        return Err(WrapError::limit(kind, CodecError::TooManyEntries { count: count as u64, max }));
    }
    Ok(())
}

/// Checks the code of `register_type`: 0 to 255, and not one of the built-in types' codes.
pub fn check_custom_code(code: i64) -> Result<u8, String> {
    let code = u8::try_from(code).map_err(|_| format!("code {code} is out of range; codes are from 0 to 255"))?;
    if let Some((_, name)) = BUILTIN_TYPES.iter().find(|(builtin, _)| *builtin == code) {
        return Err(format!("code {code} is the built-in {name}; choose another code for a type of your own"));
    }
    Ok(code)
}

/// One step from the top-level parameters down to a value, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// A key of the parameters or of a map.
    Key(u8),
    /// An index of an array.
    Index(usize),
    /// A key of a table.
    TableKey(Key),
}

/// Why a Godot value cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// A key of the parameters or of a map is not an `int`.
    KeyNotInt { path: Vec<PathStep>, found: String },
    /// A key of the parameters or of a map is an `int` outside 0..=255.
    KeyOutOfRange { path: Vec<PathStep>, key: i64 },
    /// The same key appears twice in the parameters or in a map.
    DuplicateKey { path: Vec<PathStep>, key: u8 },
    /// A key of a table (a dictionary that is not a map) is of a type tables cannot have.
    TableKeyType { path: Vec<PathStep>, found: String },
    /// Two keys of a table are the same table key (a String and a StringName with one text, an int and
    /// a `SealnetValue.long` of one number beyond 32 bits).
    DuplicateTableKey { path: Vec<PathStep>, key: Key },
    /// A value of a type sealnet cannot carry.
    UnsupportedType { path: Vec<PathStep>, found: String },
    /// A value the engine layer refused to copy (an invalid `SealnetValue`, a failing serializer).
    Refused { path: Vec<PathStep>, found: String, reason: String },
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
            | ConvertError::TableKeyType { path, .. }
            | ConvertError::DuplicateTableKey { path, .. }
            | ConvertError::UnsupportedType { path, .. }
            | ConvertError::Refused { path, .. }
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
            | ConvertError::TableKeyType { path, .. }
            | ConvertError::DuplicateTableKey { path, .. }
            | ConvertError::UnsupportedType { path, .. }
            | ConvertError::Refused { path, .. }
            | ConvertError::TooDeep { path, .. } => path.insert(0, step),
            ConvertError::NotADictionary { .. } => {}
        }
        self
    }
}

/// How a table key is written in a path: `[7]`, `["name"]`, `[byte(5)]`.
fn key_text(key: &Key) -> String {
    match key {
        Key::Int(number) => number.to_string(),
        // A long outside the 32-bit range is what a plain int becomes, so it needs no marking.
        Key::Long(number) if i32::try_from(*number).is_err() => number.to_string(),
        Key::Long(number) => format!("long({number})"),
        Key::String(text) => format!("{text:?}"),
        Key::Byte(number) => format!("byte({number})"),
        Key::Short(number) => format!("short({number})"),
    }
}

/// Formats a path as GDScript would index it: `params[245][0]["name"]`.
pub fn format_path(path: &[PathStep]) -> String {
    format_path_under("params", path)
}

/// Formats a path from `root`, the name of the value the path starts at: `changes["score"][2]`.
pub fn format_path_under(root: &str, path: &[PathStep]) -> String {
    let mut text = String::from(root);
    for step in path {
        match step {
            PathStep::Key(key) => text.push_str(&format!("[{key}]")),
            PathStep::Index(index) => text.push_str(&format!("[{index}]")),
            PathStep::TableKey(key) => text.push_str(&format!("[{}]", key_text(key))),
        }
    }
    text
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Described { error: self, root: "params" }.fmt(f)
    }
}

impl ConvertError {
    /// The error's text with its path starting at `root`, the name of the value that was converted
    /// (`params` for parameters; `changes` for properties, ...).
    pub fn describe_in(&self, root: &str) -> String {
        Described { error: self, root }.to_string()
    }
}

/// A conversion error written with its path starting at `root`.
struct Described<'a> {
    error: &'a ConvertError,
    root: &'a str,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format_path = |path: &[PathStep]| format_path_under(self.root, path);
        match self.error {
            ConvertError::KeyNotInt { path, found } => {
                write!(f, "a key in {} is a {found}; keys must be int from 0 to 255", format_path(path))
            }
            ConvertError::KeyOutOfRange { path, key } => {
                write!(f, "a key in {} is {key}; keys must be int from 0 to 255", format_path(path))
            }
            ConvertError::DuplicateKey { path, key } => write!(f, "{} has key {key} twice", format_path(path)),
            ConvertError::TableKeyType { path, found } => write!(
                f,
                "a dictionary key in {} is a {found}; keys must be int or String (or a SealnetValue byte, \
                 short or long)",
                format_path(path)
            ),
            ConvertError::DuplicateTableKey { path, key } => {
                write!(f, "the dictionary {} has key {} twice", format_path(path), key_text(key))
            }
            ConvertError::UnsupportedType { path, found } => write!(
                f,
                "{} is a {found}, which sealnet cannot send (use null, bool, int, float, String, a packed \
                 array, Array, Dictionary, Vector2, Vector3, Quaternion, a SealnetValue, or an object of a \
                 type registered with register_type)",
                format_path(path)
            ),
            ConvertError::Refused { path, found, reason } => {
                write!(f, "{} is a {found} that cannot be sent: {reason}", format_path(path))
            }
            ConvertError::TooDeep { path, max } => write!(
                f,
                "{} nests containers deeper than {max} levels (or an array contains itself)",
                format_path(path)
            ),
            ConvertError::NotADictionary { found } => {
                write!(f, "parameters must be a Dictionary with int keys from 0 to 255, not a {found}")
            }
        }
    }
}

impl std::error::Error for ConvertError {}

/// Checks a key of the parameters or of a map: an `int` from 0 to 255.
pub fn key_from_gd(key: &GdValue) -> Result<u8, ConvertError> {
    match key {
        GdValue::Int(value) => {
            u8::try_from(*value).map_err(|_| ConvertError::KeyOutOfRange { path: Vec::new(), key: *value })
        }
        other => Err(ConvertError::KeyNotInt { path: Vec::new(), found: other.type_name().to_owned() }),
    }
}

/// The table key for a dictionary key: an `int` as `Int` or `Long` by range (as values are), a
/// `String` or `StringName` as `String`, a byte, short or long `SealnetValue` as that type.
pub fn table_key(key: &GdValue) -> Result<Key, ConvertError> {
    Ok(match key {
        GdValue::Int(number) => match i32::try_from(*number) {
            Ok(small) => Key::Int(small),
            Err(_) => Key::Long(*number),
        },
        GdValue::String(text) | GdValue::StringName(text) => Key::String(text.clone()),
        GdValue::Sealnet(Typed::Byte(number)) => Key::Byte(*number),
        GdValue::Sealnet(Typed::Short(number)) => Key::Short(*number),
        GdValue::Sealnet(Typed::Long(number)) => Key::Long(*number),
        other => return Err(ConvertError::TableKeyType { path: Vec::new(), found: other.type_name().to_owned() }),
    })
}

/// Whether a dictionary is sent as a map: every key an `int` from 0 to 255 (an empty one too).
pub fn is_map(entries: &[(GdValue, GdValue)]) -> bool {
    entries.iter().all(|(key, _)| matches!(key, GdValue::Int(0..=255)))
}

/// The sealnet value for a Godot `int`: `Int` when it fits in 32 bits, else `Long`.
pub fn int_value(value: i64) -> Value {
    match i32::try_from(value) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::Long(value),
    }
}

/// Converts top-level parameters (the entries of a Godot dictionary). The result does not depend on the
/// connection: a version-1 connection refuses the version-2 types in it when it is sent.
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

/// Converts one Godot value found directly inside parameters.
pub fn value_from_gd(value: &GdValue) -> Result<Value, ConvertError> {
    convert(value, 0)
}

/// Converts the entries of a Dictionary of properties (room or player properties, the expected values
/// of a compare-and-set, a room's first custom properties) into the table sent as one parameter.
/// Always a table, even when every key is an int from 0 to 255: keys are as a table's (int, String,
/// StringName, or a `SealnetValue` byte, short or long); a `null` value is `Null`.
pub fn table_from_gd_entries(entries: &[(GdValue, GdValue)]) -> Result<Table, ConvertError> {
    // The table sits directly in the parameters, as any container value there does.
    check_container_depth(1)?;
    table_from_gd(entries, 1)
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

/// The little-endian bytes of f32 components, as the built-in custom types travel.
pub fn floats_to_le(components: &[f32]) -> Vec<u8> {
    components.iter().flat_map(|component| component.to_le_bytes()).collect()
}

/// The components of a built-in custom type, when `data` has exactly their size.
pub fn floats_from_le<const N: usize>(data: &[u8]) -> Option<[f32; N]> {
    if data.len() != N * 4 {
        return None;
    }
    let mut components = [0f32; N];
    for (component, chunk) in components.iter_mut().zip(data.chunks_exact(4)) {
        *component = f32::from_le_bytes(chunk.try_into().expect("chunks of 4"));
    }
    Some(components)
}

/// A map's entries (or the parameters'), each key an int 0..=255 once; `depth` is the map's own.
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

/// A table's entries, each table key once; `depth` is the table's own.
fn table_from_gd(entries: &[(GdValue, GdValue)], depth: usize) -> Result<Table, ConvertError> {
    let mut table = Table::new();
    for (key, value) in entries {
        let key = table_key(key)?;
        if table.get(&key).is_some() {
            return Err(ConvertError::DuplicateTableKey { path: Vec::new(), key });
        }
        let value = convert(value, depth).map_err(|error| error.within(PathStep::TableKey(key.clone())))?;
        table.insert(key, value);
    }
    Ok(table)
}

/// `depth` is that of the container holding `value`: 0 for a value directly in the parameters.
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
            if is_map(entries) {
                Value::Map(map_from_gd(entries, depth + 1)?)
            } else {
                Value::Table(table_from_gd(entries, depth + 1)?)
            }
        }
        // The version-2 packed types on every connection. A version-1 connection refuses them (naming
        // the value), as every binding does, rather than being sent something the script did not send.
        GdValue::PackedInt32Array(items) => Value::IntArray(items.clone()),
        GdValue::PackedInt64Array(items) => Value::LongArray(items.clone()),
        GdValue::PackedFloat32Array(items) => Value::FloatArray(items.clone()),
        GdValue::PackedFloat64Array(items) => Value::DoubleArray(items.clone()),
        GdValue::PackedStringArray(items) => Value::StringArray(items.clone()),
        GdValue::BoolArray(items) => Value::BoolArray(items.clone()),
        GdValue::Vector2(components) => Value::Custom { code: CODE_VECTOR2, data: floats_to_le(components) },
        GdValue::Vector3(components) => Value::Custom { code: CODE_VECTOR3, data: floats_to_le(components) },
        GdValue::Quaternion(components) => Value::Custom { code: CODE_QUATERNION, data: floats_to_le(components) },
        GdValue::Sealnet(typed) => typed_from_gd(typed, depth)?,
        GdValue::Refused { found, reason } => {
            return Err(ConvertError::Refused { path: Vec::new(), found: found.clone(), reason: reason.clone() });
        }
        GdValue::Unsupported(name) => {
            return Err(ConvertError::UnsupportedType { path: Vec::new(), found: name.clone() });
        }
    })
}

/// An explicitly typed value is sent as its type, as every value is: a version-1 connection refuses
/// the version-2 ones when they are sent, naming the type.
fn typed_from_gd(typed: &Typed, depth: usize) -> Result<Value, ConvertError> {
    Ok(match typed {
        Typed::Byte(number) => Value::Byte(*number),
        Typed::Short(number) => Value::Short(*number),
        Typed::Long(number) => Value::Long(*number),
        Typed::Float32(number) => Value::Float(*number),
        Typed::ShortArray(items) => Value::ShortArray(items.clone()),
        Typed::BoolArray(items) => Value::BoolArray(items.clone()),
        Typed::Table(entries) => {
            check_container_depth(depth + 1)?;
            Value::Table(table_from_gd(entries, depth + 1)?)
        }
        Typed::Map(entries) => {
            check_container_depth(depth + 1)?;
            Value::Map(map_from_gd(entries, depth + 1)?)
        }
        Typed::Custom { code, data } => Value::Custom { code: *code, data: data.clone() },
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
        Value::Byte(number) => GdValue::Int(i64::from(*number)),
        Value::Short(number) => GdValue::Int(i64::from(*number)),
        Value::Int(number) => GdValue::Int(i64::from(*number)),
        Value::Long(number) => GdValue::Int(*number),
        Value::Float(number) => GdValue::Float(f64::from(*number)),
        Value::Double(number) => GdValue::Float(*number),
        Value::String(text) => GdValue::String(text.clone()),
        Value::Bytes(bytes) => GdValue::PackedByteArray(bytes.clone()),
        Value::Array(items) => GdValue::Array(items.iter().map(value_to_gd).collect()),
        Value::Map(params) => GdValue::Dictionary(params_to_gd(params)),
        // Godot has no packed array of 16-bit ints; the 32-bit one holds every short.
        Value::ShortArray(items) => GdValue::PackedInt32Array(items.iter().map(|&item| i32::from(item)).collect()),
        Value::IntArray(items) => GdValue::PackedInt32Array(items.clone()),
        Value::LongArray(items) => GdValue::PackedInt64Array(items.clone()),
        Value::FloatArray(items) => GdValue::PackedFloat32Array(items.clone()),
        Value::DoubleArray(items) => GdValue::PackedFloat64Array(items.clone()),
        Value::BoolArray(items) => GdValue::BoolArray(items.clone()),
        Value::StringArray(items) => GdValue::PackedStringArray(items.clone()),
        Value::Table(table) => GdValue::Dictionary(table_to_gd(table)),
        Value::Custom { code, data } => custom_to_gd(*code, data),
    }
}

/// A received table's entries in table order. Int, long, byte and short keys all become Godot `int`s;
/// a number already used as a key (int keys come first in table order) is keyed by a `SealnetValue` of
/// its type instead, so two entries never land on one dictionary key.
pub fn table_to_gd(table: &Table) -> Vec<(GdValue, GdValue)> {
    let mut plain = HashSet::new();
    let mut number_key = |number: i64, typed: Typed| {
        if plain.insert(number) {
            GdValue::Int(number)
        } else {
            GdValue::Sealnet(typed)
        }
    };
    table
        .iter()
        .map(|(key, value)| {
            let key = match key {
                Key::Int(number) => number_key(i64::from(*number), Typed::Long(i64::from(*number))),
                Key::Long(number) => number_key(*number, Typed::Long(*number)),
                Key::Byte(number) => number_key(i64::from(*number), Typed::Byte(*number)),
                Key::Short(number) => number_key(i64::from(*number), Typed::Short(*number)),
                Key::String(text) => GdValue::String(text.clone()),
            };
            (key, value_to_gd(value))
        })
        .collect()
}

/// A received custom value: a built-in type when its code is one and its size is right, else the code
/// and bytes as they came (a script's deserializer, if one is registered for the code, gets those).
pub fn custom_to_gd(code: u8, data: &[u8]) -> GdValue {
    let builtin = match code {
        CODE_VECTOR2 => floats_from_le::<2>(data).map(GdValue::Vector2),
        CODE_VECTOR3 => floats_from_le::<3>(data).map(GdValue::Vector3),
        CODE_QUATERNION => floats_from_le::<4>(data).map(GdValue::Quaternion),
        _ => None,
    };
    builtin.unwrap_or_else(|| GdValue::Sealnet(Typed::Custom { code, data: data.to_vec() }))
}

/// The name of the [`Limits`] field behind a codec error, when one is.
pub fn limit_name(error: &CodecError) -> Option<&'static str> {
    Some(match error {
        CodecError::StringTooLong { .. } => "max_string",
        CodecError::BytesTooLong { .. } | CodecError::ArrayTooLong { .. } => "max_bytes",
        CodecError::TooManyEntries { .. } => "max_entries",
        CodecError::DepthExceeded { .. } => "max_depth",
        CodecError::TooManyValues { .. } => "max_total_values",
        CodecError::DecodedTooLarge { .. } => "max_decoded_bytes",
        _ => return None,
    })
}

/// A codec error followed by the limit it hit: `string of 9 bytes exceeds the limit of 8 (limit
/// max_string)`, or, for a type the connection's version lacks, where that version comes from.
pub fn describe_codec_error(error: &CodecError) -> String {
    if let CodecError::TypeNeedsVersion { .. } = error {
        return format!(
            "{error} (a connection speaks the highest version both max_protocol_version and the server allow)"
        );
    }
    match limit_name(error) {
        Some(limit) => format!("{error} (limit {limit})"),
        None => error.to_string(),
    }
}

/// Finds the value the session refused parameters for: the deepest value that `check_value` refuses
/// with the same error. `None` when no single value is to blame (too many values in all).
pub fn locate(params: &Params, error: &CodecError, limits: &Limits) -> Option<Vec<PathStep>> {
    let refused = |value: &Value, depth: usize| check_value(value, depth, limits).err() == Some(*error);
    let (key, mut value) = params.iter().find(|(_, value)| refused(value, 1))?;
    let mut path = vec![PathStep::Key(key)];
    let mut depth = 1;
    loop {
        let children: Vec<(PathStep, &Value)> = match value {
            Value::Array(items) => {
                items.iter().enumerate().map(|(index, item)| (PathStep::Index(index), item)).collect()
            }
            Value::Map(params) => params.iter().map(|(key, item)| (PathStep::Key(key), item)).collect(),
            Value::Table(table) => table.iter().map(|(key, item)| (PathStep::TableKey(key.clone()), item)).collect(),
            _ => return Some(path),
        };
        let Some((step, child)) = children.into_iter().find(|(_, child)| refused(child, depth + 1)) else {
            return Some(path);
        };
        path.push(step);
        value = child;
        depth += 1;
    }
}

#[cfg(test)]
mod tests;
