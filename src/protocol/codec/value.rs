//! The in-memory values: [`Value`], the byte-keyed [`Params`] and the scalar-keyed [`Table`].

/// One typed parameter value.
///
/// Version 1 of the protocol has the types up to [`Value::Map`]; version 2 adds the rest: byte and
/// short, packed arrays of fixed-size numbers, arrays of booleans and of strings, tables keyed by
/// scalars (Photon's Hashtable), and custom types (a type code and bytes, as Photon's
/// `RegisterType`).
///
/// Floats keep their exact bit pattern across the wire (NaN payloads included), which is why equality
/// on values holding NaN is not reflexive: compare `to_bits()` when that matters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    String(String),
    /// Photon's `byte[]`.
    Bytes(Vec<u8>),
    /// Values of any types (Photon's `object[]`).
    Array(Vec<Value>),
    /// Byte-keyed, as the top level (Photon's `Dictionary<byte, object>`).
    Map(Params),
    /// Version 2.
    Byte(u8),
    /// Version 2.
    Short(i16),
    /// Version 2: `short[]`.
    ShortArray(Vec<i16>),
    /// Version 2: `int[]`.
    IntArray(Vec<i32>),
    /// Version 2: `long[]`.
    LongArray(Vec<i64>),
    /// Version 2: `float[]`.
    FloatArray(Vec<f32>),
    /// Version 2: `double[]`.
    DoubleArray(Vec<f64>),
    /// Version 2: `bool[]`.
    BoolArray(Vec<bool>),
    /// Version 2: `string[]`.
    StringArray(Vec<String>),
    /// Version 2: keyed by scalars (Photon's `Hashtable`, custom properties).
    Table(Table),
    /// Version 2: an application type, serialized by the application (Photon's `RegisterType`).
    Custom {
        code: u8,
        data: Vec<u8>,
    },
}

impl Value {
    /// The name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Long(_) => "long",
            Value::Float(_) => "float",
            Value::Double(_) => "double",
            Value::String(_) => "string",
            Value::Bytes(_) => "byte array",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Byte(_) => "byte",
            Value::Short(_) => "short",
            Value::ShortArray(_) => "short array",
            Value::IntArray(_) => "int array",
            Value::LongArray(_) => "long array",
            Value::FloatArray(_) => "float array",
            Value::DoubleArray(_) => "double array",
            Value::BoolArray(_) => "bool array",
            Value::StringArray(_) => "string array",
            Value::Table(_) => "table",
            Value::Custom { .. } => "custom type",
        }
    }

    /// The first protocol version that can carry this type.
    pub fn min_version(&self) -> u8 {
        match self {
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Long(_)
            | Value::Float(_)
            | Value::Double(_)
            | Value::String(_)
            | Value::Bytes(_)
            | Value::Array(_)
            | Value::Map(_) => 1,
            _ => 2,
        }
    }

    /// The first protocol version that can carry this value with everything inside it: a version-1
    /// array holding a short needs version 2.
    pub fn required_version(&self) -> u8 {
        let inner = match self {
            Value::Array(items) => items.iter().map(Value::required_version).max(),
            Value::Map(params) => Some(params.required_version()),
            Value::Table(table) => table.iter().map(|(_, value)| value.required_version()).max(),
            _ => None,
        };
        inner.map_or(self.min_version(), |inner| inner.max(self.min_version()))
    }
}

macro_rules! value_from {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Value {
            fn from(value: $source) -> Self {
                Value::$variant(value)
            }
        }
    )*};
}

value_from!(
    bool => Bool,
    u8 => Byte,
    i16 => Short,
    i32 => Int,
    i64 => Long,
    f32 => Float,
    f64 => Double,
    String => String,
    Vec<u8> => Bytes,
    Vec<i16> => ShortArray,
    Vec<i32> => IntArray,
    Vec<i64> => LongArray,
    Vec<f32> => FloatArray,
    Vec<f64> => DoubleArray,
    Vec<bool> => BoolArray,
    Vec<String> => StringArray,
    Vec<Value> => Array,
    Params => Map,
    Table => Table,
);

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Bytes(value.to_vec())
    }
}

/// A sorted vector of entries: messages hold a handful of keys, and a vector's memory is exactly
/// what the decoder charges for it (see [`super::Limits::max_decoded_bytes`]).
#[derive(Clone, Debug, PartialEq)]
struct SortedEntries<K>(Vec<(K, Value)>);

impl<K> Default for SortedEntries<K> {
    fn default() -> Self {
        SortedEntries(Vec::new())
    }
}

impl<K: Ord> SortedEntries<K> {
    fn with_capacity(capacity: usize) -> Self {
        SortedEntries(Vec::with_capacity(capacity))
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    fn insert(&mut self, key: K, value: Value) -> Option<Value> {
        match self.position(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    /// Inserts a key that is not there yet; false (and nothing inserted) if it is.
    fn insert_new(&mut self, key: K, value: Value) -> bool {
        match self.position(&key) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, (key, value));
                true
            }
        }
    }

    fn get(&self, key: &K) -> Option<&Value> {
        self.position(key).ok().map(|at| &self.0[at].1)
    }

    fn remove(&mut self, key: &K) -> Option<Value> {
        self.position(key).ok().map(|at| self.0.remove(at).1)
    }
}

/// The parameters of one operation, response or event, keyed by a byte.
///
/// Kept ordered so that equal parameters always encode to identical bytes.
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Params(SortedEntries<u8>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn with_capacity(capacity: usize) -> Self {
        Params(SortedEntries::with_capacity(capacity))
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: u8, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(key, value.into())
    }

    pub(super) fn insert_new(&mut self, key: u8, value: Value) -> bool {
        self.0.insert_new(key, value)
    }

    pub(super) fn contains_key(&self, key: u8) -> bool {
        self.0.position(&key).is_ok()
    }

    pub fn get(&self, key: u8) -> Option<&Value> {
        self.0.get(&key)
    }

    pub fn remove(&mut self, key: u8) -> Option<Value> {
        self.0.remove(&key)
    }

    /// Keeps only the entries for which `keep` is true, in place (a relay reuses a request's
    /// parameters for the event it sends on, without allocating new ones).
    pub fn retain(&mut self, mut keep: impl FnMut(u8, &Value) -> bool) {
        self.0 .0.retain(|(key, value)| keep(*key, value));
    }

    pub fn len(&self) -> usize {
        self.0 .0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0 .0.is_empty()
    }

    /// Entries in ascending key order, the order they are encoded in.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &Value)> + '_ {
        self.0 .0.iter().map(|(key, value)| (*key, value))
    }

    /// The values in key order, to edit in place (keys stay as they are, so the order holds).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> + '_ {
        self.0 .0.iter_mut().map(|(_, value)| value)
    }

    /// The entry at `index` in key order, in constant time (hosts iterate by index).
    pub fn entry_at(&self, index: usize) -> Option<(u8, &Value)> {
        self.0 .0.get(index).map(|(key, value)| (*key, value))
    }

    /// The first protocol version that can carry every value here (1 for none).
    pub fn required_version(&self) -> u8 {
        self.iter().map(|(_, value)| value.required_version()).max().unwrap_or(1)
    }
}

impl FromIterator<(u8, Value)> for Params {
    /// A key that appears more than once keeps its last value.
    fn from_iter<I: IntoIterator<Item = (u8, Value)>>(entries: I) -> Self {
        let mut params = Params::new();
        for (key, value) in entries {
            params.insert(key, value);
        }
        params
    }
}

/// A key of a [`Table`]: the scalar types Photon's Hashtable keys use. The order (int, long,
/// string, byte, short: the order of their wire tags, then by value) is the order tables are
/// encoded in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i32),
    Long(i64),
    String(String),
    Byte(u8),
    Short(i16),
}

impl Key {
    /// The key as a value, e.g. to describe it.
    pub fn to_value(&self) -> Value {
        match self {
            Key::Int(v) => Value::Int(*v),
            Key::Long(v) => Value::Long(*v),
            Key::String(v) => Value::String(v.clone()),
            Key::Byte(v) => Value::Byte(*v),
            Key::Short(v) => Value::Short(*v),
        }
    }

    /// The value as a key, when it is of a key type.
    pub fn from_value(value: &Value) -> Option<Key> {
        Some(match value {
            Value::Int(v) => Key::Int(*v),
            Value::Long(v) => Key::Long(*v),
            Value::String(v) => Key::String(v.clone()),
            Value::Byte(v) => Key::Byte(*v),
            Value::Short(v) => Key::Short(*v),
            _ => return None,
        })
    }
}

impl From<&str> for Key {
    fn from(key: &str) -> Self {
        Key::String(key.to_owned())
    }
}

impl From<String> for Key {
    fn from(key: String) -> Self {
        Key::String(key)
    }
}

impl From<u8> for Key {
    fn from(key: u8) -> Self {
        Key::Byte(key)
    }
}

impl From<i16> for Key {
    fn from(key: i16) -> Self {
        Key::Short(key)
    }
}

impl From<i32> for Key {
    fn from(key: i32) -> Self {
        Key::Int(key)
    }
}

impl From<i64> for Key {
    fn from(key: i64) -> Self {
        Key::Long(key)
    }
}

/// Values keyed by scalars of mixed types (Photon's `Hashtable`), kept ordered by [`Key`].
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Table(SortedEntries<Key>);

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn with_capacity(capacity: usize) -> Self {
        Table(SortedEntries::with_capacity(capacity))
    }

    /// Sets `key`, returning the value it replaced.
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(key.into(), value.into())
    }

    pub(super) fn insert_new(&mut self, key: Key, value: Value) -> bool {
        self.0.insert_new(key, value)
    }

    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        self.0.remove(key)
    }

    /// The entry at `index` in key order, in constant time (hosts iterate by index).
    pub fn entry_at(&self, index: usize) -> Option<(&Key, &Value)> {
        self.0 .0.get(index).map(|(key, value)| (key, value))
    }

    pub fn len(&self) -> usize {
        self.0 .0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0 .0.is_empty()
    }

    /// Entries in key order, the order they are encoded in.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> + '_ {
        self.0 .0.iter().map(|(key, value)| (key, value))
    }

    /// The values in key order, to edit in place (keys stay as they are, so the order holds).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> + '_ {
        self.0 .0.iter_mut().map(|(_, value)| value)
    }
}

impl FromIterator<(Key, Value)> for Table {
    /// A key that appears more than once keeps its last value.
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(entries: I) -> Self {
        let mut table = Table::new();
        for (key, value) in entries {
            table.insert(key, value);
        }
        table
    }
}
