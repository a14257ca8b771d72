using System;
using System.Collections.Generic;

namespace Sealnet
{
    /// <summary>
    /// Turns a value of a registered custom type into bytes (Photon's SerializeMethod). Called on the thread
    /// that converts the parameters (the one calling <see cref="SealnetPeer.SendOperation(byte, ParameterDictionary, SendOptions)"/>),
    /// with an object of exactly the registered type. Must return a byte array (an empty one is fine), never null.
    /// </summary>
    public delegate byte[] SerializeMethod(object customObject);

    /// <summary>
    /// Builds a value of a registered custom type from the bytes its <see cref="SerializeMethod"/> made
    /// (Photon's DeserializeMethod). Called on the thread that runs <see cref="SealnetPeer.Service"/> or
    /// <see cref="SealnetPeer.TryPollEvent"/>. The array is a fresh copy the method may keep.
    /// </summary>
    public delegate object DeserializeMethod(byte[] serializedCustomObject);

    /// <summary>
    /// A custom-type value whose type code has no registered type on this side: the code and the serialized
    /// bytes, unchanged. Stored in parameters, it is sent again as that same custom value (the code and bytes
    /// as they are), so data of types only some clients know can be passed on.
    /// </summary>
    public sealed class CustomData : IEquatable<CustomData>
    {
        /// <summary>The application's type code (the one given to <see cref="SealnetPeer.RegisterType"/> on the side that sent it).</summary>
        public byte Code { get; private set; }

        /// <summary>The serialized bytes. Not copied: the array given to the constructor, or a fresh copy
        /// of the received bytes.</summary>
        public byte[] Data { get; private set; }

        /// <summary>Wraps <paramref name="data"/> (kept, not copied) as a custom value of type <paramref name="code"/>.</summary>
        public CustomData(byte code, byte[] data)
        {
            if (data == null)
            {
                throw new ArgumentNullException("data");
            }
            Code = code;
            Data = data;
        }

        /// <summary>Same code and same bytes.</summary>
        public bool Equals(CustomData other)
        {
            if (other == null || other.Code != Code || other.Data.Length != Data.Length)
            {
                return false;
            }
            for (int i = 0; i < Data.Length; i++)
            {
                if (Data[i] != other.Data[i])
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>Same code and same bytes.</summary>
        public override bool Equals(object obj)
        {
            return Equals(obj as CustomData);
        }

        /// <summary>A hash of the code and the bytes.</summary>
        public override int GetHashCode()
        {
            int hash = Code;
            foreach (byte b in Data)
            {
                hash = hash * 31 + b;
            }
            return hash;
        }

        /// <summary>For logs: the code and the length.</summary>
        public override string ToString()
        {
            return "CustomData(code " + Code + ", " + Data.Length + " bytes)";
        }
    }

    /// <summary>The process-wide table of custom types (see <see cref="SealnetPeer.RegisterType"/>).
    /// Every member is thread-safe.</summary>
    internal static class CustomTypes
    {
        internal sealed class Entry
        {
            public Type Type;
            public byte Code;
            public SerializeMethod Serialize;
            public DeserializeMethod Deserialize;
        }

        private static readonly object Sync = new object();
        private static readonly Dictionary<Type, Entry> ByType = new Dictionary<Type, Entry>();
        private static readonly Entry[] ByCode = new Entry[256];

        internal static void Register(Type type, byte code, SerializeMethod serialize, DeserializeMethod deserialize)
        {
            if (type == null)
            {
                throw new ArgumentNullException("type");
            }
            if (serialize == null)
            {
                throw new ArgumentNullException("serialize");
            }
            if (deserialize == null)
            {
                throw new ArgumentNullException("deserialize");
            }
            // Values are matched by their exact runtime type, which is never an interface or abstract.
            if (type.IsInterface || type.IsAbstract)
            {
                throw new ArgumentException("cannot register " + type.FullName + ": values are matched by their exact "
                    + "type, so register the concrete type", "type");
            }
            // A type the data model already carries would be ambiguous: which way would it be sent?
            string builtIn = ValueWriter.BuiltInKindName(type);
            if (builtIn != null)
            {
                throw new ArgumentException("cannot register " + type.FullName + " as a custom type: it is sent as "
                    + builtIn + " already", "type");
            }
            lock (Sync)
            {
                Entry existing;
                if (ByType.TryGetValue(type, out existing))
                {
                    throw new ArgumentException("type " + type.FullName + " is registered already (under code "
                        + existing.Code + "); register each type once", "type");
                }
                if (ByCode[code] != null)
                {
                    throw new ArgumentException("custom type code " + code + " is registered already (for "
                        + ByCode[code].Type.FullName + "); each code names one type", "code");
                }
                var entry = new Entry { Type = type, Code = code, Serialize = serialize, Deserialize = deserialize };
                ByType.Add(type, entry);
                ByCode[code] = entry;
            }
        }

        /// <summary>The registration of exactly <paramref name="type"/>, or null.</summary>
        internal static Entry Find(Type type)
        {
            lock (Sync)
            {
                Entry entry;
                return ByType.TryGetValue(type, out entry) ? entry : null;
            }
        }

        /// <summary>The registration of <paramref name="code"/>, or null.</summary>
        internal static Entry Find(byte code)
        {
            lock (Sync)
            {
                return ByCode[code];
            }
        }
    }
}
