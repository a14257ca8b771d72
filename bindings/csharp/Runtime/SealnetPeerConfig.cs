using System;
using System.Globalization;

namespace Sealnet
{
    /// <summary>
    /// Settings for a <see cref="SealnetPeer"/>. A new instance holds the native library's defaults
    /// (peer_config_default): 10 s disconnect timeout, 1 s ping interval, automatic key exchange, no pin,
    /// 65536 queued results of at most 32 MiB, the latest protocol version. The peer copies the settings
    /// when it is created; invalid values are refused then, by <see cref="SealnetPeer"/>'s constructor.
    /// </summary>
    public sealed class SealnetPeerConfig
    {
        private byte[] serverPublicKeyPin;

        /// <summary>Milliseconds without anything received before the connection is lost
        /// (<see cref="StatusCode.TimeoutDisconnect"/>). Must be positive.</summary>
        public int DisconnectTimeout { get; set; }

        /// <summary>Milliseconds between pings of the native I/O thread (which keeps the connection alive
        /// even while the game does not call Service). Must be positive.</summary>
        public int PingInterval { get; set; }

        /// <summary>True (default): run the key exchange right after connecting, so
        /// <see cref="StatusCode.EncryptionEstablished"/> follows <see cref="StatusCode.Connect"/>.
        /// False: call <see cref="SealnetPeer.EstablishEncryption"/> yourself, for example from
        /// OnStatusChanged(Connect), as with Photon.</summary>
        public bool AutoKeyExchange { get; set; }

        /// <summary>Results held for the game before the peer disconnects with an error
        /// (<see cref="StatusCode.Exception"/>) because Service is not called. Must be positive.</summary>
        public int MaxQueuedEvents { get; set; }

        /// <summary>Decoded bytes of results held for the game before the peer disconnects with an error
        /// (<see cref="StatusCode.Exception"/>) because Service is not called. Default 33554432 (32 MiB).
        /// Must be positive.</summary>
        public long MaxQueuedBytes { get; set; }

        /// <summary>
        /// The highest protocol version to offer the server. Default 0: the latest the native library speaks
        /// (<see cref="SealnetPeer.LatestProtocolVersion"/>, whatever that is when the native library is
        /// updated). 1 makes the peer a version-1 client: no byte, short, packed arrays (<c>int[]</c>
        /// included), string arrays, tables or custom types (sending one fails with
        /// <see cref="PeerResult.NeedsProtocolVersion"/> and a message naming the type) and no server time.
        /// The version a connection speaks is <see cref="SealnetPeer.ProtocolVersion"/>.
        /// </summary>
        public byte MaxProtocolVersion { get; set; }

        /// <summary>
        /// The server's 32-byte static public key, or null (default) for no pinning. With a pin, the
        /// key exchange fails (<see cref="StatusCode.EncryptionFailedToEstablish"/>) unless the server
        /// proves it holds that key. The key is printed by the server at start-up; see <see cref="PinServerKeyHex"/>.
        /// </summary>
        public byte[] ServerPublicKeyPin
        {
            get { return serverPublicKeyPin == null ? null : (byte[])serverPublicKeyPin.Clone(); }
            set
            {
                if (value != null && value.Length != NativeMethods.KeyLength)
                {
                    throw new ArgumentException("a server public key has " + NativeMethods.KeyLength + " bytes", "value");
                }
                serverPublicKeyPin = value == null ? null : (byte[])value.Clone();
            }
        }

        /// <summary>Creates a configuration holding the native defaults.</summary>
        public SealnetPeerConfig()
        {
            NativeConfig defaults = NativeDefaults();
            DisconnectTimeout = (int)Math.Min(defaults.disconnect_timeout_ms, int.MaxValue);
            PingInterval = (int)Math.Min(defaults.ping_interval_ms, int.MaxValue);
            AutoKeyExchange = defaults.auto_key_exchange != 0;
            MaxQueuedEvents = (int)Math.Min(defaults.max_queued_events, int.MaxValue);
            MaxQueuedBytes = (long)Math.Min(defaults.max_queued_bytes, long.MaxValue);
            MaxProtocolVersion = defaults.max_protocol_version;
            if (defaults.pin_server_key != 0)
            {
                ServerPublicKeyPin = defaults.server_public_key;
            }
        }

        /// <summary>Sets <see cref="ServerPublicKeyPin"/> from 64 hexadecimal digits (null or empty: no pin).</summary>
        public SealnetPeerConfig PinServerKeyHex(string hex)
        {
            ServerPublicKeyPin = string.IsNullOrEmpty(hex) ? null : ParseHex(hex.Trim());
            return this;
        }

        /// <summary>Decodes hexadecimal digits (an even count, either case) to bytes.</summary>
        public static byte[] ParseHex(string hex)
        {
            if (hex == null)
            {
                throw new ArgumentNullException("hex");
            }
            if (hex.Length % 2 != 0)
            {
                throw new FormatException("an even number of hexadecimal digits is needed");
            }
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = byte.Parse(hex.Substring(2 * i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            }
            return bytes;
        }

        internal NativeConfig ToNative(IntPtr onStatus, IntPtr onResponse, IntPtr onEvent, IntPtr userData)
        {
            if (DisconnectTimeout <= 0 || PingInterval <= 0 || MaxQueuedEvents <= 0 || MaxQueuedBytes <= 0)
            {
                throw new ArgumentOutOfRangeException("config",
                    "DisconnectTimeout, PingInterval, MaxQueuedEvents and MaxQueuedBytes must be positive");
            }
            NativeConfig native = NativeDefaults();
            native.on_status = onStatus;
            native.on_operation_response = onResponse;
            native.on_event = onEvent;
            native.user_data = userData;
            native.disconnect_timeout_ms = (uint)DisconnectTimeout;
            native.ping_interval_ms = (uint)PingInterval;
            native.auto_key_exchange = AutoKeyExchange ? (byte)1 : (byte)0;
            native.max_queued_events = (uint)MaxQueuedEvents;
            native.max_queued_bytes = (ulong)MaxQueuedBytes;
            native.max_protocol_version = MaxProtocolVersion;
            native.pin_server_key = serverPublicKeyPin != null ? (byte)1 : (byte)0;
            native.server_public_key = new byte[NativeMethods.KeyLength];
            if (serverPublicKeyPin != null)
            {
                Buffer.BlockCopy(serverPublicKeyPin, 0, native.server_public_key, 0, NativeMethods.KeyLength);
            }
            native.reserved = new byte[NativeMethods.ConfigReservedLength]; // must be zero
            return native;
        }

        private static NativeConfig NativeDefaults()
        {
            NativeConfig defaults;
            var result = (PeerResult)NativeMethods.peer_config_default(out defaults, NativeMethods.ConfigSize);
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, "peer_config_default", NativeMethods.LastError());
            }
            return defaults;
        }
    }
}
