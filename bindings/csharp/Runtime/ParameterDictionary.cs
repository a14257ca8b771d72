using System;
using System.Collections;
using System.Collections.Generic;

namespace Sealnet
{
    /// <summary>
    /// Operation and event parameters: a dictionary keyed by a byte, as in Photon.
    /// <para>
    /// Supported values: <c>null</c>, <c>bool</c>, <c>int</c>, <c>long</c>, <c>float</c>, <c>double</c>,
    /// <c>string</c>, <c>byte[]</c>, <c>int[]</c> and a nested <see cref="ParameterDictionary"/>. Other types
    /// (for example <c>byte</c>, <c>short</c> or <c>List&lt;int&gt;</c>) are refused with an
    /// <see cref="ArgumentException"/> when stored, so a value always comes back with the type it was sent
    /// with. The wire encoding is done by the native library (peer_params_* functions), never in C#.
    /// </para>
    /// <para>
    /// Received arrays whose elements are not all 32-bit integers cannot be read through the C API yet and
    /// appear as <c>null</c>.
    /// </para>
    /// </summary>
    public sealed class ParameterDictionary : IDictionary<byte, object>
    {
        /// <summary>Managed nesting limit, a guard against a dictionary that contains itself. The
        /// native codec allows less (its limit surfaces as <see cref="PeerResult.ParamsTooLarge"/>).</summary>
        private const int MaxManagedDepth = 64;

        private readonly Dictionary<byte, object> entries;

        /// <summary>Creates an empty dictionary.</summary>
        public ParameterDictionary()
        {
            entries = new Dictionary<byte, object>();
        }

        /// <summary>Creates an empty dictionary with room for <paramref name="capacity"/> entries.</summary>
        public ParameterDictionary(int capacity)
        {
            entries = new Dictionary<byte, object>(capacity);
        }

        /// <summary>Gets or sets the value of <paramref name="key"/>; getting a missing key throws
        /// <see cref="KeyNotFoundException"/> (use <see cref="TryGetValue"/> or <see cref="Get{T}"/>).</summary>
        public object this[byte key]
        {
            get { return entries[key]; }
            set
            {
                CheckValue(key, value);
                entries[key] = value;
            }
        }

        /// <summary>Number of entries.</summary>
        public int Count
        {
            get { return entries.Count; }
        }

        /// <summary>Always false.</summary>
        public bool IsReadOnly
        {
            get { return false; }
        }

        /// <summary>The keys.</summary>
        public ICollection<byte> Keys
        {
            get { return entries.Keys; }
        }

        /// <summary>The values.</summary>
        public ICollection<object> Values
        {
            get { return entries.Values; }
        }

        /// <summary>Adds an entry; throws when <paramref name="key"/> exists or the value's type is not supported.</summary>
        public void Add(byte key, object value)
        {
            CheckValue(key, value);
            entries.Add(key, value);
        }

        /// <summary>Adds an entry (collection-initializer form).</summary>
        public void Add(KeyValuePair<byte, object> item)
        {
            Add(item.Key, item.Value);
        }

        /// <summary>Removes every entry.</summary>
        public void Clear()
        {
            entries.Clear();
        }

        /// <summary>True when the key exists and holds an equal value.</summary>
        public bool Contains(KeyValuePair<byte, object> item)
        {
            object value;
            return entries.TryGetValue(item.Key, out value) && Equals(value, item.Value);
        }

        /// <summary>True when <paramref name="key"/> exists.</summary>
        public bool ContainsKey(byte key)
        {
            return entries.ContainsKey(key);
        }

        /// <summary>Copies the entries into <paramref name="array"/>.</summary>
        public void CopyTo(KeyValuePair<byte, object>[] array, int arrayIndex)
        {
            ((ICollection<KeyValuePair<byte, object>>)entries).CopyTo(array, arrayIndex);
        }

        /// <summary>Removes <paramref name="key"/>; false when it was absent.</summary>
        public bool Remove(byte key)
        {
            return entries.Remove(key);
        }

        /// <summary>Removes the entry when key and value match.</summary>
        public bool Remove(KeyValuePair<byte, object> item)
        {
            return Contains(item) && entries.Remove(item.Key);
        }

        /// <summary>Gets the value of <paramref name="key"/> if present.</summary>
        public bool TryGetValue(byte key, out object value)
        {
            return entries.TryGetValue(key, out value);
        }

        /// <summary>
        /// The value of <paramref name="key"/> as <typeparamref name="T"/>, or <c>default(T)</c> when the key
        /// is missing or holds another type.
        /// </summary>
        public T Get<T>(byte key)
        {
            object value;
            if (entries.TryGetValue(key, out value) && value is T)
            {
                return (T)value;
            }
            return default(T);
        }

        /// <summary>The value of <paramref name="key"/> as <typeparamref name="T"/>, if present with that type.</summary>
        public bool TryGet<T>(byte key, out T value)
        {
            object raw;
            if (entries.TryGetValue(key, out raw) && raw is T)
            {
                value = (T)raw;
                return true;
            }
            value = default(T);
            return false;
        }

        /// <summary>Enumerates the entries.</summary>
        public IEnumerator<KeyValuePair<byte, object>> GetEnumerator()
        {
            return entries.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator()
        {
            return entries.GetEnumerator();
        }

        /// <summary>True for the value types this dictionary can carry.</summary>
        public static bool IsSupportedValue(object value)
        {
            return value == null || value is bool || value is int || value is long || value is float
                || value is double || value is string || IsByteArray(value) || IsIntArray(value)
                || value is ParameterDictionary;
        }

        // Exact type checks: the runtime also treats sbyte[] as byte[] and uint[] as int[].
        private static bool IsByteArray(object value)
        {
            return value != null && value.GetType() == typeof(byte[]);
        }

        private static bool IsIntArray(object value)
        {
            return value != null && value.GetType() == typeof(int[]);
        }

        private static void CheckValue(byte key, object value)
        {
            if (!IsSupportedValue(value))
            {
                throw new ArgumentException(
                    "parameter " + key + ": values of type " + value.GetType().FullName + " are not supported "
                    + "(use null, bool, int, long, float, double, string, byte[], int[] or ParameterDictionary)",
                    "value");
            }
        }

        // ------------------------------------------------------------------------------------------
        // Conversion through the native peer_params_* functions.

        /// <summary>
        /// Builds a native peer_params_t with the same entries. The caller owns the result and frees it
        /// with peer_params_free.
        /// </summary>
        internal IntPtr ToNative()
        {
            return ToNative(0);
        }

        private IntPtr ToNative(int depth)
        {
            if (depth > MaxManagedDepth)
            {
                throw new ArgumentException("parameters nest deeper than " + MaxManagedDepth
                    + " levels (does a dictionary contain itself?)");
            }
            IntPtr native;
            Check(NativeMethods.peer_params_new(out native), "peer_params_new");
            try
            {
                foreach (var entry in entries)
                {
                    Put(native, entry.Key, entry.Value, depth);
                }
                return native;
            }
            catch
            {
                NativeMethods.peer_params_free(native);
                throw;
            }
        }

        private static void Put(IntPtr native, byte key, object value, int depth)
        {
            uint result;
            if (value == null)
            {
                result = NativeMethods.peer_params_put_null(native, key);
            }
            else if (value is bool)
            {
                result = NativeMethods.peer_params_put_bool(native, key, (bool)value ? (byte)1 : (byte)0);
            }
            else if (value is int)
            {
                result = NativeMethods.peer_params_put_i32(native, key, (int)value);
            }
            else if (value is long)
            {
                result = NativeMethods.peer_params_put_i64(native, key, (long)value);
            }
            else if (value is float)
            {
                result = NativeMethods.peer_params_put_f32(native, key, (float)value);
            }
            else if (value is double)
            {
                result = NativeMethods.peer_params_put_f64(native, key, (double)value);
            }
            else if (value is string)
            {
                // UTF-16 to UTF-8 text conversion only; the native side encodes the parameter itself.
                byte[] utf8 = System.Text.Encoding.UTF8.GetBytes((string)value);
                result = NativeMethods.peer_params_put_string(native, key, utf8, (UIntPtr)(uint)utf8.Length);
            }
            else if (IsByteArray(value))
            {
                var bytes = (byte[])value;
                result = NativeMethods.peer_params_put_bytes(native, key, bytes, (UIntPtr)(uint)bytes.Length);
            }
            else if (IsIntArray(value))
            {
                var values = (int[])value;
                result = NativeMethods.peer_params_put_i32_array(native, key, values, (UIntPtr)(uint)values.Length);
            }
            else if (value is ParameterDictionary)
            {
                IntPtr nested = ((ParameterDictionary)value).ToNative(depth + 1);
                try
                {
                    result = NativeMethods.peer_params_put_params(native, key, nested);
                }
                finally
                {
                    NativeMethods.peer_params_free(nested);
                }
            }
            else
            {
                // Only reachable when the dictionary was changed through a path that skips CheckValue.
                CheckValue(key, value);
                return;
            }
            Check(result, "storing parameter " + key);
        }

        /// <summary>
        /// Copies a native peer_params_t (owned or borrowed; it is not freed) into a new managed dictionary.
        /// <see cref="IntPtr.Zero"/> gives an empty dictionary.
        /// </summary>
        internal static ParameterDictionary FromNative(IntPtr native)
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
                uint type;
                Check(NativeMethods.peer_params_type(native, key, out type), "peer_params_type");
                dictionary.entries[key] = Read(native, key, type);
            }
            return dictionary;
        }

        private static object Read(IntPtr native, byte key, uint type)
        {
            switch (type)
            {
                case NativeMethods.ValueNull:
                    return null;
                case NativeMethods.ValueBool:
                {
                    byte value;
                    Check(NativeMethods.peer_params_get_bool(native, key, out value), "peer_params_get_bool");
                    return value != 0;
                }
                case NativeMethods.ValueInt:
                {
                    int value;
                    Check(NativeMethods.peer_params_get_i32(native, key, out value), "peer_params_get_i32");
                    return value;
                }
                case NativeMethods.ValueLong:
                {
                    long value;
                    Check(NativeMethods.peer_params_get_i64(native, key, out value), "peer_params_get_i64");
                    return value;
                }
                case NativeMethods.ValueFloat:
                {
                    float value;
                    Check(NativeMethods.peer_params_get_f32(native, key, out value), "peer_params_get_f32");
                    return value;
                }
                case NativeMethods.ValueDouble:
                {
                    double value;
                    Check(NativeMethods.peer_params_get_f64(native, key, out value), "peer_params_get_f64");
                    return value;
                }
                case NativeMethods.ValueString:
                {
                    IntPtr text;
                    UIntPtr length;
                    Check(NativeMethods.peer_params_get_string(native, key, out text, out length), "peer_params_get_string");
                    return NativeMethods.Utf8FromPointer(text, checked((int)(ulong)length));
                }
                case NativeMethods.ValueBytes:
                {
                    IntPtr data;
                    UIntPtr length;
                    Check(NativeMethods.peer_params_get_bytes(native, key, out data, out length), "peer_params_get_bytes");
                    var bytes = new byte[checked((int)(ulong)length)];
                    if (bytes.Length > 0)
                    {
                        System.Runtime.InteropServices.Marshal.Copy(data, bytes, 0, bytes.Length);
                    }
                    return bytes;
                }
                case NativeMethods.ValueArray:
                    return ReadIntArray(native, key);
                case NativeMethods.ValueMap:
                {
                    IntPtr nested;
                    Check(NativeMethods.peer_params_get_params(native, key, out nested), "peer_params_get_params");
                    try
                    {
                        return FromNative(nested);
                    }
                    finally
                    {
                        NativeMethods.peer_params_free(nested);
                    }
                }
                default:
                    // A value type newer than this binding.
                    return null;
            }
        }

        private static int[] ReadIntArray(IntPtr native, byte key)
        {
            // First ask for the length (an empty array succeeds at once), then copy.
            UIntPtr needed;
            var result = (PeerResult)NativeMethods.peer_params_get_i32_array(native, key, null, UIntPtr.Zero, out needed);
            if (result == PeerResult.Ok)
            {
                return new int[0];
            }
            if (result == PeerResult.TypeMismatch)
            {
                return null; // elements other than 32-bit integers: not readable through the C API
            }
            if (result != PeerResult.BufferTooSmall)
            {
                throw new SealnetException(result, "peer_params_get_i32_array");
            }
            var values = new int[checked((int)(ulong)needed)];
            UIntPtr copied;
            Check(NativeMethods.peer_params_get_i32_array(native, key, values, needed, out copied), "peer_params_get_i32_array");
            return values;
        }

        private static void Check(uint result, string what)
        {
            if (result != (uint)PeerResult.Ok)
            {
                throw new SealnetException((PeerResult)result, what);
            }
        }
    }
}
