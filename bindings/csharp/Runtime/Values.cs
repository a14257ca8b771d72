using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Sealnet
{
    // Conversion between managed values and the native value model (peer_value_t, peer_array_t,
    // peer_table_t, peer_params_t). The native library does every encoding and every limit check; this
    // file only chooses which native type a managed type maps to and moves the data across: packed arrays,
    // strings and byte arrays as single pinned blocks, containers element by element through
    // peer_array_push / peer_table_put / peer_params_put (the C API has no bulk form for them).

    /// <summary>The managed types the data model maps, found by exact type (so sbyte[] is not byte[]).</summary>
    internal enum ValueKind
    {
        Unsupported,
        Null,
        Bool,
        Byte,
        Short,
        Int,
        Long,
        Float,
        Double,
        String,
        Bytes,
        ShortArray,
        IntArray,
        LongArray,
        FloatArray,
        DoubleArray,
        BoolArray,
        StringArray,
        ObjectArray,
        Map,
        Table,
        CustomData,
        Registered,
    }

    /// <summary>Where in a value tree a conversion is, for error messages ("parameter 245, element 3").
    /// Parts are kept as numbers and key objects, so tracking costs no allocation per element.</summary>
    internal sealed class ValuePath
    {
        private const byte Parameter = 0;
        private const byte MapKey = 1;
        private const byte Element = 2;
        private const byte TableKey = 3;

        private struct Part
        {
            public byte Kind;
            public long Index;
            public object Key;
        }

        private readonly List<Part> parts = new List<Part>();

        /// <summary>What the value tree is (for example "CustomRoomProperties"), named first; null for a
        /// parameter dictionary.</summary>
        internal string Root;

        internal void PushParameter(byte key)
        {
            parts.Add(new Part { Kind = parts.Count == 0 ? Parameter : MapKey, Index = key });
        }

        internal void PushElement(long index)
        {
            parts.Add(new Part { Kind = Element, Index = index });
        }

        internal void PushTableKey(object key)
        {
            parts.Add(new Part { Kind = TableKey, Key = key });
        }

        internal void Pop()
        {
            parts.RemoveAt(parts.Count - 1);
        }

        public override string ToString()
        {
            if (parts.Count == 0)
            {
                return Root ?? "parameters";
            }
            var text = new StringBuilder(Root ?? string.Empty);
            foreach (var part in parts)
            {
                if (text.Length > 0)
                {
                    text.Append(", ");
                }
                switch (part.Kind)
                {
                    case Parameter: text.Append("parameter ").Append(part.Index); break;
                    case MapKey: text.Append("key ").Append(part.Index); break;
                    case Element: text.Append("element ").Append(part.Index); break;
                    default:
                        text.Append("table key ");
                        if (part.Key is string)
                        {
                            text.Append('"').Append((string)part.Key).Append('"');
                        }
                        else
                        {
                            text.Append(part.Key).Append(" (").Append(part.Key.GetType().Name).Append(')');
                        }
                        break;
                }
            }
            return text.ToString();
        }
    }

    /// <summary>
    /// Builds native values from managed ones. One instance per conversion (it tracks the path for
    /// messages); not thread-safe. Each managed type maps to one native type whatever the connection's
    /// protocol version: the native library refuses a version-2 type when it is sent on a version-1
    /// connection (PEER_RESULT_NEEDS_PROTOCOL_VERSION), so this class never needs to know the version.
    /// </summary>
    internal sealed class ValueWriter
    {
        /// <summary>Managed nesting limit, a guard against a container that contains itself (the
        /// conversion would recurse forever before the native depth limit could refuse it). The native
        /// codec allows less; its limit surfaces as <see cref="PeerResult.ParamsTooLarge"/>.</summary>
        internal const int MaxManagedDepth = 64;

        internal const string SupportedList = "null, bool, byte, short, int, long, float, double, string, byte[], "
            + "short[], int[], long[], float[], double[], bool[], string[], object[], ParameterDictionary, "
            + "an IDictionary with int, long, string, byte or short keys (a table), CustomData, or a type "
            + "registered with SealnetPeer.RegisterType";

        // Strict: a string holding an unpaired surrogate is refused rather than silently changed.
        private static readonly UTF8Encoding StrictUtf8 = new UTF8Encoding(false, true);

        private static readonly Dictionary<Type, ValueKind> ExactKinds = new Dictionary<Type, ValueKind>
        {
            { typeof(bool), ValueKind.Bool },
            { typeof(byte), ValueKind.Byte },
            { typeof(short), ValueKind.Short },
            { typeof(int), ValueKind.Int },
            { typeof(long), ValueKind.Long },
            { typeof(float), ValueKind.Float },
            { typeof(double), ValueKind.Double },
            { typeof(string), ValueKind.String },
            { typeof(byte[]), ValueKind.Bytes },
            { typeof(short[]), ValueKind.ShortArray },
            { typeof(int[]), ValueKind.IntArray },
            { typeof(long[]), ValueKind.LongArray },
            { typeof(float[]), ValueKind.FloatArray },
            { typeof(double[]), ValueKind.DoubleArray },
            { typeof(bool[]), ValueKind.BoolArray },
            { typeof(string[]), ValueKind.StringArray },
            { typeof(object[]), ValueKind.ObjectArray },
            { typeof(ParameterDictionary), ValueKind.Map },
            { typeof(CustomData), ValueKind.CustomData },
        };

        private readonly ValuePath path = new ValuePath();

        private ValueWriter()
        {
        }

        /// <summary>The kind of a built-in type, without registrations (Unsupported when none).</summary>
        internal static ValueKind KindOfType(Type type)
        {
            ValueKind kind;
            if (ExactKinds.TryGetValue(type, out kind))
            {
                return kind;
            }
            return typeof(IDictionary).IsAssignableFrom(type) ? ValueKind.Table : ValueKind.Unsupported;
        }

        /// <summary>The kind of <paramref name="value"/>, registered custom types included.</summary>
        internal static ValueKind KindOf(object value)
        {
            if (value == null)
            {
                return ValueKind.Null;
            }
            var type = value.GetType();
            var kind = KindOfType(type);
            if (kind == ValueKind.Unsupported && CustomTypes.Find(type) != null)
            {
                return ValueKind.Registered;
            }
            return kind;
        }

        /// <summary>How a built-in type is sent ("int", "a table"), or null when it is not built in.</summary>
        internal static string BuiltInKindName(Type type)
        {
            var kind = KindOfType(type);
            switch (kind)
            {
                case ValueKind.Unsupported: return null;
                case ValueKind.Table: return "a table (it is an IDictionary)";
                case ValueKind.Map: return "a byte-keyed dictionary";
                case ValueKind.CustomData: return "the custom value it holds";
                default: return "a " + type.Name + " value";
            }
        }

        private static bool IsTableKey(ValueKind kind)
        {
            return kind == ValueKind.Int || kind == ValueKind.Long || kind == ValueKind.String
                || kind == ValueKind.Byte || kind == ValueKind.Short;
        }

        // ------------------------------------------------------------------------------------------
        // Checking, without native calls: done when a value is stored in a ParameterDictionary so that a
        // wrong type fails where the bug is. Conversion checks again (containers may change afterwards).

        /// <summary>Throws <see cref="ArgumentException"/> naming the key (path) and the type when
        /// <paramref name="value"/> holds anything the data model cannot carry.</summary>
        internal static void CheckStorable(byte key, object value)
        {
            var path = new ValuePath();
            path.PushParameter(key);
            CheckValue(value, path, 0);
        }

        private static void CheckValue(object value, ValuePath path, int depth)
        {
            switch (KindOf(value))
            {
                case ValueKind.Unsupported:
                    throw Unsupported(path, value);
                case ValueKind.StringArray:
                    var strings = (string[])value;
                    for (int i = 0; i < strings.Length; i++)
                    {
                        if (strings[i] == null)
                        {
                            path.PushElement(i);
                            throw NullString(path);
                        }
                    }
                    break;
                case ValueKind.ObjectArray:
                    CheckDepth(path, depth);
                    var items = (object[])value;
                    for (int i = 0; i < items.Length; i++)
                    {
                        path.PushElement(i);
                        CheckValue(items[i], path, depth + 1);
                        path.Pop();
                    }
                    break;
                case ValueKind.Table:
                    CheckDepth(path, depth);
                    var entries = ((IDictionary)value).GetEnumerator();
                    while (entries.MoveNext())
                    {
                        path.PushTableKey(entries.Key);
                        if (!IsTableKey(KindOf(entries.Key)))
                        {
                            throw BadTableKey(path, entries.Key);
                        }
                        CheckValue(entries.Value, path, depth + 1);
                        path.Pop();
                    }
                    break;
                // A nested ParameterDictionary checked its own values when they were stored.
            }
        }

        private static void CheckDepth(ValuePath path, int depth)
        {
            if (depth >= MaxManagedDepth)
            {
                throw new ArgumentException(path + ": values nest deeper than " + MaxManagedDepth
                    + " levels (does a container contain itself?)");
            }
        }

        private static ArgumentException Unsupported(ValuePath path, object value)
        {
            return new ArgumentException(path + ": values of type " + value.GetType().FullName
                + " are not supported (use " + SupportedList + ")", "value");
        }

        private static ArgumentException NullString(ValuePath path)
        {
            return new ArgumentException(path + ": a string[] cannot hold null (the wire's string arrays have "
                + "no null; use an object[] for strings and nulls)", "value");
        }

        private static ArgumentException BadTableKey(ValuePath path, object key)
        {
            return new ArgumentException(path + ": a table key must be an int, long, string, byte or short, not "
                + (key == null ? "null" : key.GetType().FullName), "value");
        }

        // ------------------------------------------------------------------------------------------
        // Building native values.

        /// <summary>
        /// Builds a native peer_params_t holding <paramref name="dictionary"/>. The caller owns the result and
        /// frees it with peer_params_free. Throws <see cref="ArgumentException"/> for unsupported values and
        /// <see cref="SealnetException"/> (with peer_last_error's text) for values beyond the native limits.
        /// </summary>
        internal static IntPtr ToNative(ParameterDictionary dictionary)
        {
            return new ValueWriter().BuildParams(dictionary, 0);
        }

        /// <summary>
        /// Builds a native peer_table_t holding <paramref name="table"/> (its keys int, long, string, byte or
        /// short). The caller owns the result and frees it with peer_table_free. Throws as
        /// <see cref="ToNative"/>, the message starting with <paramref name="what"/>.
        /// </summary>
        internal static IntPtr TableToNative(IDictionary table, string what)
        {
            var writer = new ValueWriter();
            writer.path.Root = what;
            // The table's pointer is taken over from the built value: not released here.
            return writer.BuildTable(table, 0).Table;
        }

        /// <summary>A native call that takes one built value (which it copies).</summary>
        internal delegate uint NativeValueCall(ref NativeValue value);

        /// <summary>
        /// Builds the native form of the single value <paramref name="value"/> (checked first, as a
        /// parameter <paramref name="key"/> would be, so messages name that key) and passes it to
        /// <paramref name="call"/>, returning its result; what the value points at (pinned arrays, native
        /// containers) lives for that call only. Throws as <see cref="ToNative"/>.
        /// </summary>
        internal static uint WithNativeValue(byte key, object value, NativeValueCall call)
        {
            CheckStorable(key, value);
            var writer = new ValueWriter();
            writer.path.PushParameter(key);
            var built = writer.Build(value, 1);
            try
            {
                return call(ref built.Value);
            }
            finally
            {
                built.Release();
            }
        }

        /// <summary>What the native side keeps alive while a built value is put somewhere: a pinned array
        /// or a native container. Released once the put/push returned (those calls copy).</summary>
        private struct Built
        {
            public NativeValue Value;
            public GCHandle Pin;
            public IntPtr Params;
            public IntPtr Array;
            public IntPtr Table;

            public void Release()
            {
                if (Pin.IsAllocated)
                {
                    Pin.Free();
                }
                if (Params != IntPtr.Zero)
                {
                    NativeMethods.peer_params_free(Params);
                    Params = IntPtr.Zero;
                }
                if (Array != IntPtr.Zero)
                {
                    NativeMethods.peer_array_free(Array);
                    Array = IntPtr.Zero;
                }
                if (Table != IntPtr.Zero)
                {
                    NativeMethods.peer_table_free(Table);
                    Table = IntPtr.Zero;
                }
            }
        }

        private IntPtr BuildParams(ParameterDictionary dictionary, int depth)
        {
            CheckDepth(path, depth);
            IntPtr native;
            Check(NativeMethods.peer_params_new(out native), "peer_params_new");
            try
            {
                foreach (var entry in dictionary)
                {
                    path.PushParameter(entry.Key);
                    var built = Build(entry.Value, depth + 1);
                    try
                    {
                        Check(NativeMethods.peer_params_put(native, entry.Key, ref built.Value), "storing the value");
                    }
                    finally
                    {
                        built.Release();
                    }
                    path.Pop();
                }
                return native;
            }
            catch
            {
                NativeMethods.peer_params_free(native);
                throw;
            }
        }

        private static Built Scalar(uint type, long integer)
        {
            return new Built { Value = new NativeValue { type = type, integer = integer } };
        }

        /// <summary>A value whose data is <paramref name="array"/>, pinned until Release.</summary>
        private static Built Block(uint type, Array array, int length)
        {
            var built = new Built { Pin = GCHandle.Alloc(array, GCHandleType.Pinned) };
            built.Value = new NativeValue
            {
                type = type,
                data = built.Pin.AddrOfPinnedObject(),
                len = (UIntPtr)(uint)length,
            };
            return built;
        }

        private Built Build(object value, int depth)
        {
            switch (KindOf(value))
            {
                case ValueKind.Null: return Scalar(NativeMethods.ValueNull, 0);
                case ValueKind.Bool: return Scalar(NativeMethods.ValueBool, (bool)value ? 1 : 0);
                case ValueKind.Byte: return Scalar(NativeMethods.ValueByte, (byte)value);
                case ValueKind.Short: return Scalar(NativeMethods.ValueShort, (short)value);
                case ValueKind.Int: return Scalar(NativeMethods.ValueInt, (int)value);
                case ValueKind.Long: return Scalar(NativeMethods.ValueLong, (long)value);
                case ValueKind.Float:
                    return new Built { Value = new NativeValue { type = NativeMethods.ValueFloat, float32 = (float)value } };
                case ValueKind.Double:
                    return new Built { Value = new NativeValue { type = NativeMethods.ValueDouble, float64 = (double)value } };
                case ValueKind.String:
                {
                    byte[] utf8 = Utf8(path, (string)value);
                    return Block(NativeMethods.ValueString, utf8, utf8.Length);
                }
                case ValueKind.Bytes: return Block(NativeMethods.ValueBytes, (byte[])value, ((byte[])value).Length);
                case ValueKind.ShortArray: return Block(NativeMethods.ValueShortArray, (short[])value, ((short[])value).Length);
                case ValueKind.IntArray: return Block(NativeMethods.ValueIntArray, (int[])value, ((int[])value).Length);
                case ValueKind.LongArray: return Block(NativeMethods.ValueLongArray, (long[])value, ((long[])value).Length);
                case ValueKind.FloatArray: return Block(NativeMethods.ValueFloatArray, (float[])value, ((float[])value).Length);
                case ValueKind.DoubleArray: return Block(NativeMethods.ValueDoubleArray, (double[])value, ((double[])value).Length);
                case ValueKind.BoolArray:
                {
                    // bool is not blittable; the wire's form is one byte of 0 or 1 per element.
                    var flags = (bool[])value;
                    var bytes = new byte[flags.Length];
                    for (int i = 0; i < flags.Length; i++)
                    {
                        bytes[i] = flags[i] ? (byte)1 : (byte)0;
                    }
                    return Block(NativeMethods.ValueBoolArray, bytes, bytes.Length);
                }
                case ValueKind.StringArray: return BuildStringArray((string[])value);
                case ValueKind.ObjectArray: return BuildObjectArray((object[])value, depth);
                case ValueKind.Map:
                {
                    var built = new Built { Params = BuildParams((ParameterDictionary)value, depth) };
                    built.Value = new NativeValue { type = NativeMethods.ValueMap, map = built.Params };
                    return built;
                }
                case ValueKind.Table: return BuildTable((IDictionary)value, depth);
                case ValueKind.CustomData:
                {
                    var custom = (CustomData)value;
                    var built = Block(NativeMethods.ValueCustom, custom.Data, custom.Data.Length);
                    built.Value.custom_code = custom.Code;
                    return built;
                }
                case ValueKind.Registered: return BuildRegistered(value);
                default: throw Unsupported(path, value);
            }
        }

        private Built BuildStringArray(string[] values)
        {
            var built = new Built();
            Check(NativeMethods.peer_array_new(NativeMethods.ValueStringArray, out built.Array), "peer_array_new");
            try
            {
                for (int i = 0; i < values.Length; i++)
                {
                    path.PushElement(i);
                    if (values[i] == null)
                    {
                        throw NullString(path);
                    }
                    byte[] utf8 = Utf8(path, values[i]);
                    var element = Block(NativeMethods.ValueString, utf8, utf8.Length);
                    try
                    {
                        Check(NativeMethods.peer_array_push(built.Array, ref element.Value), "adding the string");
                    }
                    finally
                    {
                        element.Release();
                    }
                    path.Pop();
                }
                built.Value = new NativeValue
                {
                    type = NativeMethods.ValueStringArray,
                    array = built.Array,
                    len = (UIntPtr)(uint)values.Length,
                };
                return built;
            }
            catch
            {
                built.Release();
                throw;
            }
        }

        private Built BuildObjectArray(object[] values, int depth)
        {
            CheckDepth(path, depth);
            var built = new Built();
            Check(NativeMethods.peer_array_new(NativeMethods.ValueArray, out built.Array), "peer_array_new");
            try
            {
                for (int i = 0; i < values.Length; i++)
                {
                    path.PushElement(i);
                    var element = Build(values[i], depth + 1);
                    try
                    {
                        Check(NativeMethods.peer_array_push(built.Array, ref element.Value), "adding the element");
                    }
                    finally
                    {
                        element.Release();
                    }
                    path.Pop();
                }
                built.Value = new NativeValue
                {
                    type = NativeMethods.ValueArray,
                    array = built.Array,
                    len = (UIntPtr)(uint)values.Length,
                };
                return built;
            }
            catch
            {
                built.Release();
                throw;
            }
        }

        private Built BuildTable(IDictionary table, int depth)
        {
            CheckDepth(path, depth);
            var built = new Built();
            Check(NativeMethods.peer_table_new(out built.Table), "peer_table_new");
            try
            {
                var entries = table.GetEnumerator();
                while (entries.MoveNext())
                {
                    object key = entries.Key;
                    path.PushTableKey(key);
                    if (!IsTableKey(KindOf(key)))
                    {
                        throw BadTableKey(path, key);
                    }
                    var nativeKey = Build(key, depth + 1);
                    try
                    {
                        var element = Build(entries.Value, depth + 1);
                        try
                        {
                            Check(NativeMethods.peer_table_put(built.Table, ref nativeKey.Value, ref element.Value),
                                "adding the entry");
                        }
                        finally
                        {
                            element.Release();
                        }
                    }
                    finally
                    {
                        nativeKey.Release();
                    }
                    path.Pop();
                }
                built.Value = new NativeValue { type = NativeMethods.ValueTable, table = built.Table };
                return built;
            }
            catch
            {
                built.Release();
                throw;
            }
        }

        private Built BuildRegistered(object value)
        {
            var entry = CustomTypes.Find(value.GetType());
            byte[] bytes;
            try
            {
                bytes = entry.Serialize(value);
            }
            catch (Exception error)
            {
                throw new InvalidOperationException(path + ": the SerializeMethod of custom type "
                    + entry.Type.FullName + " (code " + entry.Code + ") threw: " + error.Message, error);
            }
            if (bytes == null)
            {
                throw new InvalidOperationException(path + ": the SerializeMethod of custom type "
                    + entry.Type.FullName + " (code " + entry.Code + ") returned null; return a byte array");
            }
            var built = Block(NativeMethods.ValueCustom, bytes, bytes.Length);
            built.Value.custom_code = entry.Code;
            return built;
        }

        private static byte[] Utf8(ValuePath path, string text)
        {
            try
            {
                return StrictUtf8.GetBytes(text);
            }
            catch (EncoderFallbackException error)
            {
                throw new ArgumentException(path + ": the string is not valid UTF-16 (an unpaired surrogate at index "
                    + error.Index + "), so it has no UTF-8 form", "value", error);
            }
        }

        private void Check(uint result, string what)
        {
            if (result != (uint)PeerResult.Ok)
            {
                // Read at once: the next failing native call on this thread replaces the text.
                string detail = NativeMethods.LastError();
                throw new SealnetException((PeerResult)result, path + ": " + what, detail);
            }
        }
    }

    /// <summary>Reads native values into managed ones (copies; nothing borrowed survives). One instance
    /// per conversion; not thread-safe.</summary>
    internal sealed class ValueReader
    {
        private readonly ValuePath path = new ValuePath();

        private ValueReader()
        {
        }

        /// <summary>Copies a native peer_table_t (owned or borrowed; not freed) into a new Hashtable, nested
        /// tables included.</summary>
        internal static Hashtable TableFromNative(IntPtr table)
        {
            return new ValueReader().ReadTable(table);
        }

        /// <summary>Copies a native peer_params_t (owned or borrowed; not freed) into a new dictionary.
        /// <see cref="IntPtr.Zero"/> gives an empty one.</summary>
        internal static ParameterDictionary FromNative(IntPtr native)
        {
            return new ValueReader().ReadParams(native);
        }

        private ParameterDictionary ReadParams(IntPtr native)
        {
            var dictionary = new ParameterDictionary();
            if (native == IntPtr.Zero)
            {
                return dictionary;
            }
            UIntPtr count;
            Check(NativeMethods.peer_params_count(native, out count), "peer_params_count");
            ulong total = (ulong)count;
            for (ulong index = 0; index < total; index++)
            {
                byte key;
                Check(NativeMethods.peer_params_key_at(native, (UIntPtr)index, out key), "peer_params_key_at");
                path.PushParameter(key);
                NativeValue value;
                Check(NativeMethods.peer_params_get(native, key, out value), "peer_params_get");
                dictionary.SetUnchecked(key, Read(ref value));
                path.Pop();
            }
            return dictionary;
        }

        private static int Length(UIntPtr len)
        {
            return checked((int)(ulong)len);
        }

        private object Read(ref NativeValue value)
        {
            int length;
            switch (value.type)
            {
                case NativeMethods.ValueNull: return null;
                case NativeMethods.ValueBool: return value.integer != 0;
                case NativeMethods.ValueByte: return (byte)value.integer;
                case NativeMethods.ValueShort: return (short)value.integer;
                case NativeMethods.ValueInt: return (int)value.integer;
                case NativeMethods.ValueLong: return value.integer;
                case NativeMethods.ValueFloat: return value.float32;
                case NativeMethods.ValueDouble: return value.float64;
                case NativeMethods.ValueString: return NativeMethods.Utf8FromPointer(value.data, Length(value.len));
                case NativeMethods.ValueBytes: return CopyBytes(ref value);
                case NativeMethods.ValueShortArray:
                {
                    var items = new short[Length(value.len)];
                    if (items.Length > 0)
                    {
                        Marshal.Copy(value.data, items, 0, items.Length);
                    }
                    return items;
                }
                case NativeMethods.ValueIntArray:
                {
                    var items = new int[Length(value.len)];
                    if (items.Length > 0)
                    {
                        Marshal.Copy(value.data, items, 0, items.Length);
                    }
                    return items;
                }
                case NativeMethods.ValueLongArray:
                {
                    var items = new long[Length(value.len)];
                    if (items.Length > 0)
                    {
                        Marshal.Copy(value.data, items, 0, items.Length);
                    }
                    return items;
                }
                case NativeMethods.ValueFloatArray:
                {
                    var items = new float[Length(value.len)];
                    if (items.Length > 0)
                    {
                        Marshal.Copy(value.data, items, 0, items.Length);
                    }
                    return items;
                }
                case NativeMethods.ValueDoubleArray:
                {
                    var items = new double[Length(value.len)];
                    if (items.Length > 0)
                    {
                        Marshal.Copy(value.data, items, 0, items.Length);
                    }
                    return items;
                }
                case NativeMethods.ValueBoolArray:
                {
                    byte[] bytes = CopyBytes(ref value);
                    var items = new bool[bytes.Length];
                    for (int i = 0; i < bytes.Length; i++)
                    {
                        items[i] = bytes[i] != 0;
                    }
                    return items;
                }
                case NativeMethods.ValueStringArray:
                {
                    length = Length(value.len);
                    var items = new string[length];
                    for (int i = 0; i < length; i++)
                    {
                        path.PushElement(i);
                        NativeValue element;
                        Check(NativeMethods.peer_array_get(value.array, (UIntPtr)(uint)i, out element), "peer_array_get");
                        items[i] = NativeMethods.Utf8FromPointer(element.data, Length(element.len));
                        path.Pop();
                    }
                    return items;
                }
                case NativeMethods.ValueArray:
                {
                    length = Length(value.len);
                    var items = new object[length];
                    for (int i = 0; i < length; i++)
                    {
                        path.PushElement(i);
                        NativeValue element;
                        Check(NativeMethods.peer_array_get(value.array, (UIntPtr)(uint)i, out element), "peer_array_get");
                        items[i] = Read(ref element);
                        path.Pop();
                    }
                    return items;
                }
                case NativeMethods.ValueMap: return ReadParams(value.map);
                case NativeMethods.ValueTable: return ReadTable(value.table);
                case NativeMethods.ValueCustom: return ReadCustom(ref value);
                default:
                    throw new NotSupportedException(path + ": value type " + value.type + " is newer than this binding ("
                        + SealnetPeer.BindingVersion + "; native library " + SealnetPeer.NativeVersion
                        + "): update the C# binding to match the native library");
            }
        }

        private static byte[] CopyBytes(ref NativeValue value)
        {
            var bytes = new byte[Length(value.len)];
            if (bytes.Length > 0)
            {
                Marshal.Copy(value.data, bytes, 0, bytes.Length);
            }
            return bytes;
        }

        private Hashtable ReadTable(IntPtr table)
        {
            UIntPtr count;
            Check(NativeMethods.peer_table_count(table, out count), "peer_table_count");
            int total = Length(count);
            var result = new Hashtable(total);
            for (int i = 0; i < total; i++)
            {
                NativeValue key;
                NativeValue value;
                Check(NativeMethods.peer_table_entry_at(table, (UIntPtr)(uint)i, out key, out value), "peer_table_entry_at");
                object managedKey = Read(ref key);
                path.PushTableKey(managedKey);
                result[managedKey] = Read(ref value);
                path.Pop();
            }
            return result;
        }

        private object ReadCustom(ref NativeValue value)
        {
            byte[] bytes = CopyBytes(ref value);
            var entry = CustomTypes.Find(value.custom_code);
            if (entry == null)
            {
                return new CustomData(value.custom_code, bytes);
            }
            try
            {
                return entry.Deserialize(bytes);
            }
            catch (Exception error)
            {
                throw new InvalidOperationException(path + ": the DeserializeMethod of custom type "
                    + entry.Type.FullName + " (code " + entry.Code + ") threw on " + bytes.Length + " bytes: "
                    + error.Message, error);
            }
        }

        private void Check(uint result, string what)
        {
            if (result != (uint)PeerResult.Ok)
            {
                string detail = NativeMethods.LastError();
                throw new SealnetException((PeerResult)result, path + ": " + what, detail);
            }
        }
    }
}
