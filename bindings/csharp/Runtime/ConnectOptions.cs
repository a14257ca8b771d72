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
        /// <summary>Plain WebSocket. Not offered (a WebSocket connection runs no key exchange, so only TLS
        /// protects it): Connect returns <see cref="PeerResult.InvalidArgument"/>.</summary>
        WebSocket = 4,
        /// <summary>WebSocket over TLS (protocol version 4); <see cref="ConnectOptions.Address"/> is a
        /// <c>wss://host:port/path</c> URL. TLS protects every frame, so no key exchange runs: the listener
        /// hears <see cref="StatusCode.Connect"/>, then at once <see cref="StatusCode.EncryptionEstablished"/>;
        /// the state is <see cref="PeerState.Encrypted"/>, sends with Encrypt succeed (TLS satisfies them) and
        /// EstablishEncryption does nothing. The certificate is checked as <see cref="ConnectOptions.CaFile"/>
        /// and <see cref="ConnectOptions.CertificateFingerprint"/> say (the system's trust store by default);
        /// one the check refuses gives <see cref="StatusCode.SecurityExceptionOnConnect"/>, then
        /// <see cref="StatusCode.Disconnect"/>.</summary>
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
        private byte[] certificateFingerprint;

        /// <summary>"host:port", resolved on a native thread; for <see cref="ConnectionProtocol.WebSocketSecure"/>
        /// a <c>wss://host[:port][/path]</c> URL (Connect returns <see cref="PeerResult.InvalidAddress"/> otherwise,
        /// the native message saying why). Required.</summary>
        public string Address { get; set; }

        /// <summary>The application id, 1 to 64 bytes of UTF-8. Required.</summary>
        public string AppId { get; set; }

        /// <summary>The game's version (Photon's AppVersion), at most 32 bytes of UTF-8, sent to the server
        /// when connecting; null (default) sends the native library's version string.</summary>
        public string AppVersion { get; set; }

        /// <summary>The transport; default <see cref="ConnectionProtocol.Tcp"/>, or <see cref="ConnectionProtocol.Udp"/>,
        /// or <see cref="ConnectionProtocol.WebSocketSecure"/>.</summary>
        public ConnectionProtocol Transport { get; set; }

        /// <summary>Which key to pin; default <see cref="ServerKeyPin.AsConfigured"/>. With a pin the key
        /// exchange fails (<see cref="StatusCode.EncryptionFailedToEstablish"/>) unless the server proves it
        /// holds the pinned key. Over WSS no key exchange runs, so a pin (given or configured) is refused
        /// there: use <see cref="ServerKeyPin.None"/> and <see cref="CertificateFingerprint"/>.</summary>
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

        /// <summary>WSS: the SHA-256 of the server certificate's DER encoding (32 bytes; sealnet-server prints it
        /// at start-up): exactly that certificate is accepted (its issuer, names and validity are not checked;
        /// the server must still prove it holds its key). Null (default): check the chain. Copied in and out;
        /// other transports ignore it.</summary>
        public byte[] CertificateFingerprint
        {
            get { return certificateFingerprint == null ? null : (byte[])certificateFingerprint.Clone(); }
            set
            {
                if (value != null && value.Length != NativeMethods.KeyLength)
                {
                    throw new ArgumentException("a certificate fingerprint has " + NativeMethods.KeyLength + " bytes", "value");
                }
                certificateFingerprint = value == null ? null : (byte[])value.Clone();
            }
        }

        /// <summary>WSS: a PEM file of the CA certificates to trust instead of the system's trust store, read
        /// during Connect (an unreadable file gives <see cref="PeerResult.InvalidArgument"/>). Not together with
        /// <see cref="CertificateFingerprint"/>. Null (default): the system's trust store.</summary>
        public string CaFile { get; set; }

        /// <summary>UDP or TCP: present the AuthOnceWss credentials the peer holds (from an authentication over
        /// WSS with <see cref="AuthenticationValues.ExpectedProtocol"/> set; see <see cref="SealnetPeer.HasAuthOnce"/>)
        /// in the key exchange, which then authenticates the connection: no Authenticate is sent and
        /// <see cref="AuthValues"/> must be null. Connect returns <see cref="PeerResult.InvalidArgument"/> when
        /// the peer holds none, over WSS, or with AuthValues.</summary>
        public bool AuthOnce { get; set; }

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

        /// <summary>Pins the WSS certificate given as 64 hexadecimal digits (as sealnet-server prints its
        /// fingerprint); null or empty pins none.</summary>
        public ConnectOptions PinCertificateHex(string hex)
        {
            CertificateFingerprint = string.IsNullOrEmpty(hex) ? null : SealnetPeerConfig.ParseHex(hex.Trim());
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
            if (Address.IndexOf('\0') >= 0 || AppId.IndexOf('\0') >= 0 || (AppVersion != null && AppVersion.IndexOf('\0') >= 0)
                || (CaFile != null && CaFile.IndexOf('\0') >= 0))
            {
                throw new ArgumentException("ConnectOptions.Address, AppId, AppVersion and CaFile must not contain NUL characters", "options");
            }
            if (Pin == ServerKeyPin.Key && serverPublicKey == null)
            {
                throw new ArgumentException("ConnectOptions.Pin is Key but ServerPublicKey is not set", "options");
            }
        }

        internal byte[] FingerprintBytes()
        {
            var fingerprint = new byte[NativeMethods.KeyLength];
            if (certificateFingerprint != null)
            {
                Buffer.BlockCopy(certificateFingerprint, 0, fingerprint, 0, fingerprint.Length);
            }
            return fingerprint;
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
