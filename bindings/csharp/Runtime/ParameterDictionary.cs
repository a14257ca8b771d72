using System;
using System.Collections;
using System.Collections.Generic;

namespace Sealnet
{
    /// <summary>
    /// Operation and event parameters: a dictionary keyed by a byte, as in Photon.
    /// <para>
    /// Values (Photon's data model; the README has the table of wire types): <c>null</c>, <c>bool</c>,
    /// <c>byte</c>, <c>short</c>, <c>int</c>, <c>long</c>, <c>float</c>, <c>double</c>, <c>string</c>,
    /// <c>byte[]</c>, <c>short[]</c>, <c>int[]</c>, <c>long[]</c>, <c>float[]</c>, <c>double[]</c>,
    /// <c>bool[]</c>, <c>string[]</c>, <c>object[]</c> (of any of these), a nested
    /// <see cref="ParameterDictionary"/>, a table (any <see cref="IDictionary"/> whose keys are int, long,
    /// string, byte or short, e.g. <see cref="Hashtable"/> or <c>Dictionary&lt;string, object&gt;</c>),
    /// <see cref="Sealnet.CustomData"/>, and types registered with <see cref="SealnetPeer.RegisterType"/>.
    /// Types are matched exactly (<c>sbyte[]</c> is not <c>byte[]</c>, <c>List&lt;int&gt;</c> is not
    /// <c>int[]</c>); anything else is refused with an <see cref="ArgumentException"/> naming the key and
    /// the type when stored (containers are searched too) and again when converted, in case a container
    /// changed since.
    /// </para>
    /// <para>
    /// Received values keep their wire type: a table arrives as a <see cref="Hashtable"/> whose keys are
    /// boxed as their wire types (int, long, string, byte, short), a generic array as <c>object[]</c>, a
    /// custom value as its registered type or, for an unknown code, as <see cref="Sealnet.CustomData"/>.
    /// </para>
    /// <para>
    /// The native library does all encoding. Its limits (a string over 64 KiB, more than 4096 entries in a
    /// container, nesting deeper than 8, ...) are checked when the dictionary is converted for sending:
    /// <see cref="SealnetPeer.SendOperation(byte, ParameterDictionary, SendOptions)"/> then throws a
    /// <see cref="SealnetException"/> whose message is the native one (peer_last_error) and names the key.
    /// </para>
    /// <para>Not thread-safe: build and read a dictionary on one thread at a time.</para>
    /// </summary>
    public sealed class ParameterDictionary : IDictionary<byte, object>
    {
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

        /// <summary>
        /// The value of <paramref name="key"/> as an <c>int[]</c>: an <c>int[]</c> as it is, or a copy of an
        /// <c>object[]</c> whose elements are all ints. The first is a packed int array (what a version-2
        /// connection carries, the server's actor lists included); the second is how a generic array of
        /// ints arrives: on a version-1 connection (which has no packed int array, so the server sends
        /// its actor lists that way), or from version-1 senders and older servers. False when the key is
        /// missing or holds anything else.
        /// </summary>
        public bool TryGetIntArray(byte key, out int[] values)
        {
            object raw;
            values = null;
            if (!entries.TryGetValue(key, out raw))
            {
                return false;
            }
            values = AsIntArray(raw);
            return values != null;
        }

        /// <summary>
        /// <paramref name="value"/> as an <c>int[]</c> (see <see cref="TryGetIntArray"/>), or null when it is
        /// neither an <c>int[]</c> nor an <c>object[]</c> of ints only.
        /// </summary>
        public static int[] AsIntArray(object value)
        {
            if (value != null && value.GetType() == typeof(int[]))
            {
                return (int[])value;
            }
            var items = value as object[];
            if (items == null || value.GetType() != typeof(object[]))
            {
                return null;
            }
            var result = new int[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                if (!(items[i] is int))
                {
                    return null;
                }
                result[i] = (int)items[i];
            }
            return result;
        }

        /// <summary>True when <paramref name="value"/>'s type is one this dictionary can carry (for
        /// containers, only the container's own type is looked at).</summary>
        public static bool IsSupportedValue(object value)
        {
            return ValueWriter.KindOf(value) != ValueKind.Unsupported;
        }

        private static void CheckValue(byte key, object value)
        {
            ValueWriter.CheckStorable(key, value);
        }

        /// <summary>Stores a value read from native data, which is of a supported type by construction.</summary>
        internal void SetUnchecked(byte key, object value)
        {
            entries[key] = value;
        }

        /// <summary>
        /// Builds a native peer_params_t with the same entries (each value as the one native type its C#
        /// type maps to; a connection's protocol version is checked by the send). The caller owns the
        /// result and frees it with peer_params_free.
        /// </summary>
        internal IntPtr ToNative()
        {
            return ValueWriter.ToNative(this);
        }

        /// <summary>
        /// Copies a native peer_params_t (owned or borrowed; it is not freed) into a new managed dictionary.
        /// <see cref="IntPtr.Zero"/> gives an empty dictionary.
        /// </summary>
        internal static ParameterDictionary FromNative(IntPtr native)
        {
            return ValueReader.FromNative(native);
        }
    }
}
