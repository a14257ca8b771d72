using System;

namespace Sealnet
{
    /// <summary>The transport of a connection; Photon's ConnectionProtocol numbers (PEER_TRANSPORT_*).</summary>
    public enum ConnectionProtocol : uint
    {
        /// <summary>UDP (protocol version 3): each operation's <see cref="DeliveryMode"/> and channel apply,
        /// and the key exchange always runs at once, whatever <see cref="SealnetPeerConfig.AutoKeyExchange"/>
        /// says. A server that does not answer is found out by the connect timeout
        /// (<see cref="StatusCode.TimeoutDisconnect"/>).</summary>
        Udp = 0,
        /// <summary>TCP, the default: everything is reliable and ordered.</summary>
        Tcp = 1,
        /// <summary>WebSocket. Reserved, not in this native build yet: Connect returns
        /// <see cref="PeerResult.InvalidArgument"/>.</summary>
        WebSocket = 4,
        /// <summary>Secure WebSocket. Reserved, not in this native build yet.</summary>
        WebSocketSecure = 5,
    }

    /// <summary>Which server key a connection pins (PEER_PIN_*).</summary>
    public enum ServerKeyPin : byte
    {
        /// <summary>The pin of the peer's <see cref="SealnetPeerConfig.ServerPublicKeyPin"/> (default).</summary>
        AsConfigured = 0,
        /// <summary>Pin <see cref="ConnectOptions.ServerPublicKey"/> for this connection.</summary>
        Key = 1,
        /// <summary>No pin for this connection, whatever the config says.</summary>
        None = 2,
    }

    /// <summary>
    /// What one connection uses, for <see cref="SealnetPeer.Connect(ConnectOptions)"/>: the address and
    /// application id (both required), the game's version, the transport, the server key pin and the
    /// authentication values. Read during the Connect call only, so one instance may be reused and changed
    /// afterwards.
    /// </summary>
    public sealed class ConnectOptions
    {
        private byte[] serverPublicKey;

        /// <summary>"host:port", resolved on a native thread. Required.</summary>
        public string Address { get; set; }

        /// <summary>The application id, 1 to 64 bytes of UTF-8. Required.</summary>
        public string AppId { get; set; }

        /// <summary>The game's version (Photon's AppVersion), at most 32 bytes of UTF-8, sent to the server
        /// when connecting; null (default) sends the native library's version string.</summary>
        public string AppVersion { get; set; }

        /// <summary>The transport; default <see cref="ConnectionProtocol.Tcp"/>, or <see cref="ConnectionProtocol.Udp"/>.</summary>
        public ConnectionProtocol Transport { get; set; }

        /// <summary>Which key to pin; default <see cref="ServerKeyPin.AsConfigured"/>. With a pin the key
        /// exchange fails (<see cref="StatusCode.EncryptionFailedToEstablish"/>) unless the server proves it
        /// holds the pinned key.</summary>
        public ServerKeyPin Pin { get; set; }

        /// <summary>The server's 32-byte static public key, for <see cref="ServerKeyPin.Key"/> (copied in
        /// and out). Setting it does not change <see cref="Pin"/>; <see cref="PinServerKeyHex"/> does both.</summary>
        public byte[] ServerPublicKey
        {
            get { return serverPublicKey == null ? null : (byte[])serverPublicKey.Clone(); }
            set
            {
                if (value != null && value.Length != NativeMethods.KeyLength)
                {
                    throw new ArgumentException("a server public key has " + NativeMethods.KeyLength + " bytes", "value");
                }
                serverPublicKey = value == null ? null : (byte[])value.Clone();
            }
        }

        /// <summary>Authenticate this connection with these values (Photon's AuthValues): the peer sends them by
        /// itself right after the key exchange, which must be automatic (<see cref="SealnetPeerConfig.AutoKeyExchange"/>).
        /// Null (default): no authentication.</summary>
        public AuthenticationValues AuthValues { get; set; }

        /// <summary>Options with the defaults: TCP, the library's version string, the pin as configured.</summary>
        public ConnectOptions()
        {
            Transport = ConnectionProtocol.Tcp;
            Pin = ServerKeyPin.AsConfigured;
        }

        /// <summary>Options for <paramref name="address"/> and <paramref name="appId"/>, otherwise the defaults.</summary>
        public ConnectOptions(string address, string appId)
            : this()
        {
            Address = address;
            AppId = appId;
        }

        /// <summary>Pins the key given as 64 hexadecimal digits for this connection (sets <see cref="Pin"/> to
        /// <see cref="ServerKeyPin.Key"/>); null or empty connects without a pin (<see cref="ServerKeyPin.None"/>).</summary>
        public ConnectOptions PinServerKeyHex(string hex)
        {
            if (string.IsNullOrEmpty(hex))
            {
                ServerPublicKey = null;
                Pin = ServerKeyPin.None;
            }
            else
            {
                ServerPublicKey = SealnetPeerConfig.ParseHex(hex.Trim());
                Pin = ServerKeyPin.Key;
            }
            return this;
        }

        /// <summary>Checks what the native side cannot check for us (managed nulls, NUL characters, a missing key).</summary>
        internal void Validate()
        {
            if (Address == null)
            {
                throw new ArgumentException("ConnectOptions.Address is required", "options");
            }
            if (AppId == null)
            {
                throw new ArgumentException("ConnectOptions.AppId is required", "options");
            }
            if (Address.IndexOf('\0') >= 0 || AppId.IndexOf('\0') >= 0 || (AppVersion != null && AppVersion.IndexOf('\0') >= 0))
            {
                throw new ArgumentException("ConnectOptions.Address, AppId and AppVersion must not contain NUL characters", "options");
            }
            if (Pin == ServerKeyPin.Key && serverPublicKey == null)
            {
                throw new ArgumentException("ConnectOptions.Pin is Key but ServerPublicKey is not set", "options");
            }
        }

        internal byte[] KeyBytes()
        {
            var key = new byte[NativeMethods.KeyLength];
            if (Pin == ServerKeyPin.Key && serverPublicKey != null)
            {
                Buffer.BlockCopy(serverPublicKey, 0, key, 0, key.Length);
            }
            return key;
        }
    }

    /// <summary>
    /// A snapshot of a connection's statistics (peer_get_stats): the protocol version, the round-trip
    /// time, traffic counters and the server's clock. Counters are those of the current, or else the
    /// last, connection; a new Connect starts them again from zero. See <see cref="SealnetPeer.GetStats"/>.
    /// </summary>
    public struct PeerStats
    {
        /// <summary>The protocol version the connection speaks; 0 until a connection is accepted (and
        /// again from the next Connect until that one is accepted).</summary>
        public int ProtocolVersion;

        /// <summary>True once a pong arrived, so <see cref="RoundTripTime"/> means something.</summary>
        public bool IsRoundTripTimeKnown;

        /// <summary>Smoothed round-trip time in milliseconds (0 while unknown).</summary>
        public int RoundTripTime;

        /// <summary>How much the round-trip time varies (mean deviation), in milliseconds.</summary>
        public int RoundTripTimeVariance;

        /// <summary>Bytes sent on the socket (frame headers and encryption included).</summary>
        public long BytesOut;

        /// <summary>Bytes received on the socket.</summary>
        public long BytesIn;

        /// <summary>Frames sent.</summary>
        public long FramesOut;

        /// <summary>Frames received.</summary>
        public long FramesIn;

        /// <summary>True once the server's clock is known (protocol version 2, after the first pong).</summary>
        public bool IsServerTimeKnown;

        /// <summary>The server's clock in milliseconds at the time of the snapshot, the same for every
        /// client of the server (0 while unknown).</summary>
        public ulong ServerTimeInMilliSeconds64;

        internal static PeerStats FromNative(ref NativeStats native)
        {
            return new PeerStats
            {
                ProtocolVersion = (int)native.protocol_version,
                IsRoundTripTimeKnown = native.rtt_known != 0,
                RoundTripTime = (int)Math.Min(native.rtt_ms, int.MaxValue),
                RoundTripTimeVariance = (int)Math.Min(native.rtt_variance_ms, int.MaxValue),
                BytesOut = (long)Math.Min(native.bytes_sent, long.MaxValue),
                BytesIn = (long)Math.Min(native.bytes_received, long.MaxValue),
                FramesOut = (long)Math.Min(native.frames_sent, long.MaxValue),
                FramesIn = (long)Math.Min(native.frames_received, long.MaxValue),
                IsServerTimeKnown = native.server_time_known != 0,
                ServerTimeInMilliSeconds64 = native.server_time_known != 0 ? native.server_time_ms : 0,
            };
        }
    }
}
