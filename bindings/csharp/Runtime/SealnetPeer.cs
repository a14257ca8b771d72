using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Sealnet
{
    /// <summary>
    /// A connection to a sealnet server, shaped like Photon's PhotonPeer.
    /// <para>
    /// Typical use: create it with an <see cref="ISealnetListener"/>, call <see cref="Connect(string, string)"/> (or <see cref="Connect(ConnectOptions)"/>), then call
    /// <see cref="Service"/> every frame. Callbacks run only inside <see cref="Service"/>, on the thread that
    /// calls it (Unity's main thread from <c>Update()</c>). The native I/O thread keeps the connection alive
    /// (pings) even while Service is not called, for example during a loading screen.
    /// </para>
    /// <para>
    /// Results: <see cref="Connect(string, string)"/>, <see cref="Connect(ConnectOptions)"/>, <see cref="EstablishEncryption"/>, <see cref="SendOperation(byte, ParameterDictionary, SendOptions)"/>
    /// and <see cref="Disconnect"/> return a <see cref="PeerResult"/>; anything but <see cref="PeerResult.Ok"/>
    /// means nothing was done. <see cref="LastResultMessage"/> (or <see cref="PeerResultExtensions.Describe"/>)
    /// gives the native text, for example "can't use encryption yet: establish encryption first".
    /// Programming errors (null arguments, unsupported parameter types, use after Dispose) throw.
    /// </para>
    /// <para>
    /// Listener exceptions never reach native code: they are caught, and once the native dispatch has
    /// returned, <see cref="Service"/> rethrows them (one as itself, several as an AggregateException), or
    /// hands them to <see cref="ListenerExceptionHandler"/> when one is set.
    /// </para>
    /// <para>
    /// Dispose destroys the native peer (closing the connection) and guarantees that no callback runs
    /// afterwards. It may be called from inside one of this peer's callbacks: the native library then
    /// defers the destruction (no further callback runs, and the Service call that ran the callback
    /// completes the destruction before it returns). Every other call after Dispose throws
    /// <see cref="ObjectDisposedException"/>. A peer that is never disposed is destroyed by its finalizer
    /// once unreachable.
    /// </para>
    /// </summary>
    public sealed class SealnetPeer : IDisposable
    {
        /// <summary>The version of this binding; compare with <see cref="NativeVersion"/>.</summary>
        public const string BindingVersion = "0.3.0";

        /// <summary>The newest protocol version this binding maps every value type of (PEER_PROTOCOL_VERSION_LATEST).</summary>
        public const int LatestProtocolVersion = NativeMethods.ProtocolVersionLatest;

        // IL2CPP-safe callbacks: static trampolines marked MonoPInvokeCallback, delegate instances held in
        // static fields for the lifetime of the program, function pointers computed once.
        private static readonly NativeStatusCallback StatusTrampoline = OnStatusNative;
        private static readonly NativeOperationResponseCallback ResponseTrampoline = OnOperationResponseNative;
        private static readonly NativeEventCallback EventTrampoline = OnEventNative;
        private static readonly IntPtr StatusTrampolinePointer = Marshal.GetFunctionPointerForDelegate(StatusTrampoline);
        private static readonly IntPtr ResponseTrampolinePointer = Marshal.GetFunctionPointerForDelegate(ResponseTrampoline);
        private static readonly IntPtr EventTrampolinePointer = Marshal.GetFunctionPointerForDelegate(EventTrampoline);

        private readonly object sync = new object();
        private readonly ISealnetListener listener;

        // user_data for native callbacks. A weak handle: it lets an undisposed, unreachable peer be
        // finalized (a strong handle would keep it alive, and its connection open, forever). It is freed
        // only after peer_destroy has returned, so no callback can see a freed handle.
        private GCHandle selfHandle;
        private IntPtr nativePeer;
        private volatile bool disposed;
        // Set as soon as peer_destroy has returned, before the handle is freed.
        private volatile bool nativeDestroyed;
        // Dispose ran inside one of this peer's callbacks: the native dispatch that is running still hands
        // selfHandle to the trampoline of that callback, so Service frees it once peer_service returned.
        private bool freeHandleAfterService;
        private int serviceThreadId;
        private List<Exception> listenerExceptions;

        /// <summary>Creates a peer with default settings.</summary>
        /// <param name="listener">Receives the callbacks; may be null when you only use <see cref="TryPollEvent"/>.</param>
        public SealnetPeer(ISealnetListener listener)
            : this(listener, null)
        {
        }

        /// <summary>Creates a peer. No thread starts and nothing is sent until <see cref="Connect(string, string)"/>.</summary>
        /// <param name="listener">Receives the callbacks; may be null when you only use <see cref="TryPollEvent"/>.</param>
        /// <param name="config">Settings (copied); null for the defaults.</param>
        public SealnetPeer(ISealnetListener listener, SealnetPeerConfig config)
        {
            this.listener = listener;
            var settings = config ?? new SealnetPeerConfig();
            selfHandle = GCHandle.Alloc(this, GCHandleType.Weak);
            try
            {
                NativeConfig native = settings.ToNative(StatusTrampolinePointer, ResponseTrampolinePointer,
                    EventTrampolinePointer, GCHandle.ToIntPtr(selfHandle));
                var result = (PeerResult)NativeMethods.peer_create(ref native, out nativePeer);
                if (result != PeerResult.Ok)
                {
                    nativePeer = IntPtr.Zero;
                    throw new SealnetException(result, "peer_create", NativeMethods.LastError());
                }
            }
            catch
            {
                selfHandle.Free();
                disposed = true;
                GC.SuppressFinalize(this);
                throw;
            }
        }

        /// <summary>Destroys the native peer if Dispose was never called.</summary>
        ~SealnetPeer()
        {
            try
            {
                Dispose(false);
            }
            catch
            {
                // A finalizer must not throw; there is nobody left to tell.
            }
        }

        /// <summary>The listener given at construction (may be null).</summary>
        public ISealnetListener Listener
        {
            get { return listener; }
        }

        /// <summary>
        /// Receives exceptions thrown by the listener. When null (default), <see cref="Service"/> rethrows them
        /// after the native dispatch returned.
        /// </summary>
        public Action<Exception> ListenerExceptionHandler { get; set; }

        /// <summary>The disconnect reason that came with the latest status (None when there was none).
        /// Set just before <see cref="ISealnetListener.OnStatusChanged"/> runs.</summary>
        public DisconnectReason LastStatusReason { get; private set; }

        /// <summary>Readable detail of the latest status (never key material), or null. Set just before
        /// <see cref="ISealnetListener.OnStatusChanged"/> runs.</summary>
        public string LastStatusMessage { get; private set; }

        /// <summary>The result of the latest Connect, EstablishEncryption, SendOperation or Disconnect.</summary>
        public PeerResult LastResult { get; private set; }

        /// <summary>The native description of <see cref="LastResult"/> when it is not Ok, else null.</summary>
        public string LastResultMessage { get; private set; }

        /// <summary>True once <see cref="Dispose()"/> was called.</summary>
        public bool IsDisposed
        {
            get { return disposed; }
        }

        /// <summary>The connection state.</summary>
        public PeerState State
        {
            get
            {
                uint state;
                var result = Check(NativeMethods.peer_state(Handle, out state));
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_state");
                }
                return (PeerState)state;
            }
        }

        /// <summary>The server's 32-byte static public key once the key exchange succeeded; null before.
        /// Compare it with the key the server printed (or pin it with <see cref="SealnetPeerConfig.ServerPublicKeyPin"/>).</summary>
        public byte[] ServerPublicKey
        {
            get
            {
                var key = new byte[NativeMethods.KeyLength];
                var result = Check(NativeMethods.peer_server_public_key(Handle, key));
                if (result == PeerResult.EncryptionNotEstablished)
                {
                    return null;
                }
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_server_public_key");
                }
                return key;
            }
        }

        /// <summary>
        /// A snapshot of the connection's statistics (one native call; the properties below take one each).
        /// Counters are those of the current, or else the last, connection (a new Connect resets them). Any thread.
        /// </summary>
        public PeerStats GetStats()
        {
            NativeStats native;
            var result = Check(NativeMethods.peer_get_stats(Handle, out native, NativeMethods.StatsSize));
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, "peer_get_stats", NativeMethods.LastError());
            }
            GC.KeepAlive(this);
            return PeerStats.FromNative(ref native);
        }

        /// <summary>The protocol version the connection speaks: 2 (<see cref="LatestProtocolVersion"/>)
        /// unless the server or <see cref="SealnetPeerConfig.MaxProtocolVersion"/> limits it; 0 until a
        /// connection is accepted (and again from the next Connect until that one is accepted).</summary>
        public int ProtocolVersion
        {
            get { return GetStats().ProtocolVersion; }
        }

        /// <summary>Smoothed round-trip time in milliseconds, measured by the native I/O thread's pings
        /// (Photon's RoundTripTime); 0 until the first pong (<see cref="IsRoundTripTimeKnown"/>).</summary>
        public int RoundTripTime
        {
            get { return GetStats().RoundTripTime; }
        }

        /// <summary>How much the round-trip time varies (mean deviation), in milliseconds (Photon's RoundTripTimeVariance).</summary>
        public int RoundTripTimeVariance
        {
            get { return GetStats().RoundTripTimeVariance; }
        }

        /// <summary>True once a pong arrived.</summary>
        public bool IsRoundTripTimeKnown
        {
            get { return GetStats().IsRoundTripTimeKnown; }
        }

        /// <summary>
        /// The server's clock in milliseconds, the same for every client of the server, as an int that wraps
        /// around like Photon's ServerTimeInMilliSeconds (compare times by subtraction, which survives the wrap).
        /// 0 until known (<see cref="IsServerTimeKnown"/>; needs protocol version 2).
        /// </summary>
        public int ServerTimeInMilliSeconds
        {
            get { return unchecked((int)GetStats().ServerTimeInMilliSeconds64); }
        }

        /// <summary>The server's clock in milliseconds without the wrap of <see cref="ServerTimeInMilliSeconds"/>;
        /// 0 until known.</summary>
        public ulong ServerTimeInMilliSeconds64
        {
            get { return GetStats().ServerTimeInMilliSeconds64; }
        }

        /// <summary>True once the server's clock is known (protocol version 2, after the first pong).</summary>
        public bool IsServerTimeKnown
        {
            get { return GetStats().IsServerTimeKnown; }
        }

        /// <summary>Bytes received on the socket (Photon's BytesIn).</summary>
        public long BytesIn
        {
            get { return GetStats().BytesIn; }
        }

        /// <summary>Bytes sent on the socket (Photon's BytesOut).</summary>
        public long BytesOut
        {
            get { return GetStats().BytesOut; }
        }

        /// <summary>Frames received.</summary>
        public long FramesIn
        {
            get { return GetStats().FramesIn; }
        }

        /// <summary>Frames sent.</summary>
        public long FramesOut
        {
            get { return GetStats().FramesOut; }
        }

        /// <summary>
        /// Registers a custom type (Photon's PhotonPeer.RegisterType): values of exactly
        /// <paramref name="type"/> may then be stored in parameters and are sent as custom values with
        /// <paramref name="code"/> and the bytes <paramref name="serialize"/> makes; received custom values
        /// with that code are turned back by <paramref name="deserialize"/>. Custom values of codes not
        /// registered here arrive as <see cref="CustomData"/>.
        /// <para>
        /// Process-wide and thread-safe; register before connecting (e.g. at start-up), the same code for the
        /// same type on every client. Throws <see cref="ArgumentException"/> when the type or the code is
        /// registered already (each is registered once per process, so with Unity's domain reload turned
        /// off, guard the call), when the type is one the data model carries already (int, string,
        /// an IDictionary, ...), or is an interface or abstract.
        /// </para>
        /// </summary>
        public static void RegisterType(Type type, byte code, SerializeMethod serialize, DeserializeMethod deserialize)
        {
            CustomTypes.Register(type, code, serialize, deserialize);
        }

        /// <summary>The native library's version ("MAJOR.MINOR.PATCH").</summary>
        public static string NativeVersion
        {
            get { return NativeMethods.Utf8FromNulTerminated(NativeMethods.peer_version()); }
        }

        /// <summary>The native name of a status code ("Connect", "EncryptionEstablished", ...).</summary>
        public static string StatusName(StatusCode statusCode)
        {
            return NativeMethods.Utf8FromNulTerminated(NativeMethods.peer_status_str((uint)statusCode));
        }

        /// <summary>
        /// Starts connecting. Returns at once; progress arrives through <see cref="Service"/> as
        /// <see cref="StatusCode.Connect"/>, then <see cref="StatusCode.EncryptionEstablished"/> with automatic
        /// key exchange, or a failure status (1023, 1040, 1050, 1051).
        /// </summary>
        /// <param name="address">"host:port", resolved on the native I/O thread.</param>
        /// <param name="appId">The application id (1 to 64 bytes of UTF-8).</param>
        /// <returns>Ok, or for example <see cref="PeerResult.InvalidAddress"/> or <see cref="PeerResult.AlreadyConnected"/>.</returns>
        public PeerResult Connect(string address, string appId)
        {
            if (address == null)
            {
                throw new ArgumentNullException("address");
            }
            if (appId == null)
            {
                throw new ArgumentNullException("appId");
            }
            if (address.IndexOf('\0') >= 0 || appId.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("address and appId must not contain NUL characters");
            }
            return Record(NativeMethods.peer_connect(Handle, NativeMethods.NulTerminatedUtf8(address),
                NativeMethods.NulTerminatedUtf8(appId)));
        }

        /// <summary>
        /// Starts connecting with per-connection options: the address and app id, the game's version
        /// (<see cref="ConnectOptions.AppVersion"/>), the transport, the server key pin and the authentication
        /// values (<see cref="ConnectOptions.AuthValues"/>). Otherwise as <see cref="Connect(string, string)"/>.
        /// The options are read during the call only.
        /// </summary>
        /// <returns>Ok, or for example <see cref="PeerResult.InvalidArgument"/> (an app version over 32 bytes,
        /// a transport this build lacks (WebSocket), <see cref="CustomAuthenticationType.Token"/> without any token;
        /// <see cref="LastResultMessage"/> says which), <see cref="PeerResult.InvalidAddress"/>
        /// or <see cref="PeerResult.AlreadyConnected"/>.</returns>
        /// <exception cref="SealnetException">An <see cref="AuthenticationValues.AuthType"/> the native library does not know.</exception>
        public PeerResult Connect(ConnectOptions options)
        {
            if (options == null)
            {
                throw new ArgumentNullException("options");
            }
            options.Validate();
            IntPtr peer = Handle;
            NativeConnectOptions native;
            var defaults = (PeerResult)NativeMethods.peer_connect_options_default(out native, NativeMethods.ConnectOptionsSize);
            if (defaults != PeerResult.Ok)
            {
                throw new SealnetException(defaults, "peer_connect_options_default", NativeMethods.LastError());
            }
            // The strings are borrowed by the native call only: pinned for its duration.
            var address = GCHandle.Alloc(NativeMethods.NulTerminatedUtf8(options.Address), GCHandleType.Pinned);
            var appId = GCHandle.Alloc(NativeMethods.NulTerminatedUtf8(options.AppId), GCHandleType.Pinned);
            var appVersion = options.AppVersion == null
                ? default(GCHandle)
                : GCHandle.Alloc(NativeMethods.NulTerminatedUtf8(options.AppVersion), GCHandleType.Pinned);
            var caFile = options.CaFile == null
                ? default(GCHandle)
                : GCHandle.Alloc(NativeMethods.NulTerminatedUtf8(options.CaFile), GCHandleType.Pinned);
            IntPtr auth = IntPtr.Zero;
            try
            {
                // Copied by peer_connect_with, so freed right after it.
                auth = options.AuthValues != null ? options.AuthValues.ToNative() : IntPtr.Zero;
                native.auth = auth;
                native.address = address.AddrOfPinnedObject();
                native.app_id = appId.AddrOfPinnedObject();
                native.app_version = appVersion.IsAllocated ? appVersion.AddrOfPinnedObject() : IntPtr.Zero;
                native.transport = (uint)options.Transport;
                native.pin = (byte)options.Pin;
                native.server_public_key = options.KeyBytes();
                native.reserved = new byte[NativeMethods.ConnectOptionsReservedLength]; // must be zero
                native.ca_file = caFile.IsAllocated ? caFile.AddrOfPinnedObject() : IntPtr.Zero;
                native.pin_certificate = options.CertificateFingerprint != null ? (byte)1 : (byte)0;
                native.certificate_fingerprint = options.FingerprintBytes();
                native.auth_once = options.AuthOnce ? (byte)1 : (byte)0;
                native.reserved_2 = new byte[NativeMethods.ConnectOptionsReserved2Length]; // must be zero
                return Record(NativeMethods.peer_connect_with(peer, ref native));
            }
            finally
            {
                NativeMethods.peer_auth_values_free(auth);
                address.Free();
                appId.Free();
                if (appVersion.IsAllocated)
                {
                    appVersion.Free();
                }
                if (caFile.IsAllocated)
                {
                    caFile.Free();
                }
            }
        }

        /// <summary>Whether the peer holds AuthOnceWss credentials (from an authentication over WSS with
        /// <see cref="AuthenticationValues.ExpectedProtocol"/> set), so a UDP or TCP connect with
        /// <see cref="ConnectOptions.AuthOnce"/> can use them. They stay until a newer authentication replaces
        /// them or a server refuses their token; the secret itself never leaves the native library. Any thread.</summary>
        public bool HasAuthOnce
        {
            get
            {
                byte ready;
                uint result = NativeMethods.peer_has_auth_once(Handle, out ready);
                if (result != (uint)PeerResult.Ok)
                {
                    throw new SealnetException((PeerResult)result, "peer_has_auth_once", NativeMethods.LastError());
                }
                return ready != 0;
            }
        }

        /// <summary>Where this connection's authentication stands (<see cref="Sealnet.AuthState.None"/> for a
        /// connection without <see cref="ConnectOptions.AuthValues"/>). Any thread.</summary>
        public AuthState AuthState
        {
            get
            {
                short code;
                return GetAuthState(out code);
            }
        }

        /// <summary>With <see cref="Sealnet.AuthState.Failed"/>, the server's return code
        /// (<see cref="ReturnCode.AuthenticationTicketExpired"/>, <see cref="ReturnCode.CustomAuthenticationFailed"/>,
        /// ...); otherwise 0. The message came with the operation response. Any thread.</summary>
        public short AuthReturnCode
        {
            get
            {
                short code;
                GetAuthState(out code);
                return code;
            }
        }

        /// <summary>The latest server token the peer holds (from an authentication, a JoinRoom response or an
        /// AuthEvent; kept across connections of this peer), or null. A copy; save it to authenticate with
        /// <see cref="AuthenticationValues.Token"/> after a restart. Any thread.</summary>
        public byte[] ServerToken
        {
            get
            {
                byte[] token;
                long expires;
                return TryGetServerToken(out token, out expires) ? token : null;
            }
        }

        /// <summary>When <see cref="ServerToken"/> expires, in milliseconds since the Unix epoch; 0 without a token.</summary>
        public long ServerTokenExpiresMs
        {
            get
            {
                byte[] token;
                long expires;
                return TryGetServerToken(out token, out expires) ? expires : 0;
            }
        }

        /// <summary>The server token and its expiry from one snapshot (the properties read one each). Any thread.</summary>
        /// <returns>False when the peer holds no token.</returns>
        public bool TryGetServerToken(out byte[] token, out long expiresMs)
        {
            IntPtr peer = Handle;
            while (true)
            {
                UIntPtr length;
                var result = Check(NativeMethods.peer_get_server_token(peer, null, UIntPtr.Zero, out length, out expiresMs));
                if (result == PeerResult.NotFound)
                {
                    token = null;
                    expiresMs = 0;
                    return false;
                }
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_get_server_token", NativeMethods.LastError());
                }
                token = new byte[(int)length];
                if (token.Length == 0)
                {
                    return true;
                }
                result = Check(NativeMethods.peer_get_server_token(peer, token, length, out length, out expiresMs));
                // The native I/O thread kept a longer token in between: ask again.
                if (result == PeerResult.BufferTooSmall)
                {
                    continue;
                }
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_get_server_token", NativeMethods.LastError());
                }
                if ((int)length != token.Length)
                {
                    Array.Resize(ref token, (int)length);
                }
                GC.KeepAlive(this);
                return true;
            }
        }

        private AuthState GetAuthState(out short code)
        {
            uint state;
            var result = Check(NativeMethods.peer_get_auth_state(Handle, out state, out code));
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, "peer_get_auth_state", NativeMethods.LastError());
            }
            GC.KeepAlive(this);
            return (AuthState)state;
        }

        /// <summary>
        /// Starts the key exchange (only needed with <see cref="SealnetPeerConfig.AutoKeyExchange"/> off). The
        /// outcome arrives as <see cref="StatusCode.EncryptionEstablished"/> or <see cref="StatusCode.EncryptionFailedToEstablish"/>.
        /// </summary>
        /// <returns>Ok, or for example <see cref="PeerResult.NotConnected"/> or <see cref="PeerResult.KeyExchangeAlreadyStarted"/>.</returns>
        public PeerResult EstablishEncryption()
        {
            return Record(NativeMethods.peer_establish_encryption(Handle));
        }

        /// <summary>Sends an operation reliably and in the clear (still authenticated once keys exist).</summary>
        public PeerResult SendOperation(byte opCode, ParameterDictionary parameters)
        {
            return SendOperation(opCode, parameters, SendOptions.SendReliable);
        }

        /// <summary>
        /// Sends an operation. The parameters are copied into a native dictionary by the peer_* value
        /// functions, so the caller may change them afterwards. Every value goes as the one wire type its
        /// C# type maps to, whatever the connection's protocol version (an <c>int[]</c> always as a packed
        /// int array); the native library refuses a version-2 type on a version-1 connection.
        /// </summary>
        /// <param name="opCode">The operation code.</param>
        /// <param name="parameters">The parameters; null for none.</param>
        /// <param name="sendOptions">Delivery, encryption and channel.</param>
        /// <returns>
        /// Ok when queued for sending. <see cref="PeerResult.EncryptionNotEstablished"/> when
        /// <c>Encrypt</c> is set before <see cref="StatusCode.EncryptionEstablished"/> (nothing is sent);
        /// <see cref="LastResultMessage"/> then reads "can't use encryption yet: establish encryption first ...".
        /// <see cref="PeerResult.NeedsProtocolVersion"/>, with a message naming the type, when a version-2 type
        /// (byte, short, a packed array such as <c>int[]</c>, ...) is sent on a version-1 connection. Other
        /// failures: NotConnected, MustEncrypt, ParamsTooLarge (the message as a whole), MessageTooLarge,
        /// SendBufferFull, ...
        /// </returns>
        /// <exception cref="ArgumentException">A value of an unsupported type (the message names the key).</exception>
        /// <exception cref="SealnetException">A value beyond the native limits (a string over 64 KiB, more than
        /// 4096 elements, ...): <see cref="SealnetException.NativeMessage"/> names the limit, the message the key.</exception>
        public PeerResult SendOperation(byte opCode, ParameterDictionary parameters, SendOptions sendOptions)
        {
            IntPtr peer = Handle;
            IntPtr nativeParams = parameters != null ? parameters.ToNative() : IntPtr.Zero;
            try
            {
                NativeSendOptions options = sendOptions.ToNative();
                return Record(NativeMethods.peer_send_operation(peer, opCode, nativeParams, ref options));
            }
            finally
            {
                NativeMethods.peer_params_free(nativeParams);
            }
        }

        /// <summary>Asks to end the connection; <see cref="StatusCode.Disconnect"/> follows through <see cref="Service"/>.</summary>
        public PeerResult Disconnect()
        {
            return Record(NativeMethods.peer_disconnect(Handle));
        }

        /// <summary>
        /// Runs the queued callbacks (statuses, operation responses, events) on the calling thread and returns.
        /// Call it every frame from one thread. Calling it from inside one of this peer's callbacks throws
        /// <see cref="InvalidOperationException"/>. Rethrows listener exceptions (see the class remarks).
        /// </summary>
        public void Service()
        {
            int thread = Thread.CurrentThread.ManagedThreadId;
            IntPtr peer;
            lock (sync)
            {
                ThrowIfDisposed();
                if (serviceThreadId == thread)
                {
                    throw new InvalidOperationException(
                        "Service was called from inside a callback of the same peer: " + PeerResult.CalledFromCallback.Describe());
                }
                if (serviceThreadId != 0)
                {
                    throw new InvalidOperationException("Service is running on another thread; call it from one thread only");
                }
                serviceThreadId = thread;
                peer = nativePeer;
            }
            PeerResult result;
            try
            {
                uint dispatched;
                result = (PeerResult)NativeMethods.peer_service(peer, out dispatched);
            }
            finally
            {
                bool freeHandle;
                lock (sync)
                {
                    serviceThreadId = 0;
                    freeHandle = freeHandleAfterService;
                    freeHandleAfterService = false;
                }
                // Disposed inside a callback: peer_service has now finished the destruction.
                if (freeHandle)
                {
                    FreeSelfHandle();
                }
            }
            RaiseListenerExceptions();
            if (result != PeerResult.Ok && !(disposed && result == PeerResult.InvalidPeer))
            {
                throw new SealnetException(result, "peer_service");
            }
            GC.KeepAlive(this);
        }

        /// <summary>
        /// Blocks until results are queued for <see cref="Service"/> or <see cref="TryPollEvent"/>, or until
        /// <paramref name="timeoutMilliseconds"/> pass. For hosts that are not a frame loop (bots, tests,
        /// headless servers), which would otherwise sleep and poll. Runs no callback itself.
        /// </summary>
        /// <returns><see cref="PeerResult.Ok"/> when results are queued, <see cref="PeerResult.TimedOut"/>
        /// when none arrived in time, <see cref="PeerResult.NotConnected"/> at once when nothing can
        /// arrive (no connection is running).</returns>
        public PeerResult Wait(int timeoutMilliseconds)
        {
            if (timeoutMilliseconds < 0)
            {
                throw new ArgumentOutOfRangeException("timeoutMilliseconds", "must be 0 or more");
            }
            var result = Check(NativeMethods.peer_wait(Handle, (uint)timeoutMilliseconds));
            GC.KeepAlive(this);
            return result;
        }

        /// <summary>
        /// The callback-free alternative to <see cref="Service"/>: takes the next queued result, if any. The
        /// listener is not called for polled results. Use one style per peer.
        /// </summary>
        /// <returns>True when <paramref name="polled"/> holds a result; false when nothing is queued.</returns>
        public bool TryPollEvent(out PolledEvent polled)
        {
            NativePolledEvent native;
            var result = Check(NativeMethods.peer_poll_event(Handle, out native));
            if (result == PeerResult.NoEvent)
            {
                polled = null;
                return false;
            }
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, "peer_poll_event");
            }
            polled = PolledEvent.FromNative(ref native);
            if (polled.Kind == PolledEventKind.Status)
            {
                LastStatusReason = polled.Reason;
                LastStatusMessage = polled.Message;
            }
            return true;
        }

        /// <summary>
        /// Closes the connection and destroys the native peer; no callback runs afterwards. Safe to call
        /// twice and from inside this peer's callbacks (destruction then completes when Service returns).
        /// </summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        private void Dispose(bool disposing)
        {
            IntPtr peer;
            bool insideOwnCallback;
            lock (sync)
            {
                if (disposed)
                {
                    return;
                }
                disposed = true;
                peer = nativePeer;
                nativePeer = IntPtr.Zero;
                // Service of this peer running on this thread means we are inside one of its callbacks
                // (the only managed code that runs during peer_service).
                insideOwnCallback = disposing && serviceThreadId == Thread.CurrentThread.ManagedThreadId;
            }
            if (peer != IntPtr.Zero)
            {
                // From inside a callback the native library defers the destruction to the end of the
                // running peer_service; from another thread it waits for a running peer_service. Either
                // way no callback of this peer starts after it returns.
                NativeMethods.peer_destroy(peer);
            }
            nativeDestroyed = true;
            bool freeNow;
            lock (sync)
            {
                freeNow = !insideOwnCallback;
                freeHandleAfterService = insideOwnCallback;
            }
            if (freeNow)
            {
                FreeSelfHandle();
            }
        }

        private void FreeSelfHandle()
        {
            lock (sync)
            {
                if (selfHandle.IsAllocated)
                {
                    selfHandle.Free();
                }
            }
        }

        private IntPtr Handle
        {
            get
            {
                ThrowIfDisposed();
                return nativePeer;
            }
        }

        private void ThrowIfDisposed()
        {
            if (disposed)
            {
                throw new ObjectDisposedException("SealnetPeer");
            }
        }

        private PeerResult Check(uint raw)
        {
            var result = (PeerResult)raw;
            if (disposed && (result == PeerResult.InvalidPeer || result == PeerResult.NullParameter))
            {
                throw new ObjectDisposedException("SealnetPeer"); // disposed on another thread meanwhile
            }
            return result;
        }

        private PeerResult Record(uint raw)
        {
            var result = Check(raw);
            LastResult = result;
            // The native detail names the parameter and the limit where there is one.
            LastResultMessage = result == PeerResult.Ok ? null : NativeMethods.Utf8FromNulTerminated(NativeMethods.peer_last_error());
            return result;
        }

        private void RaiseListenerExceptions()
        {
            var caught = listenerExceptions;
            if (caught == null)
            {
                return;
            }
            listenerExceptions = null;
            var handler = ListenerExceptionHandler;
            if (handler != null)
            {
                foreach (var exception in caught)
                {
                    handler(exception);
                }
                return;
            }
            if (caught.Count == 1)
            {
                ExceptionDispatchInfo.Capture(caught[0]).Throw();
            }
            throw new AggregateException("the listener threw " + caught.Count + " exceptions during Service", caught);
        }

        // ------------------------------------------------------------------------------------------
        // Native -> managed. Each trampoline resolves the peer from user_data, skips it once disposed, and
        // catches everything: no exception may unwind into native code.

        // Native callbacks that arrived after peer_destroy returned, or with a handle that no longer
        // resolves to a peer. The native library guarantees none (the handle is freed right after
        // peer_destroy returns, or, when Dispose ran inside a callback, right after the peer_service that
        // finished the deferred destruction returns); the tests check that this stays 0.
        internal static int StaleCallbacks;

        private static SealnetPeer FromUserData(IntPtr userData)
        {
            if (userData == IntPtr.Zero)
            {
                return null;
            }
            SealnetPeer peer;
            try
            {
                peer = GCHandle.FromIntPtr(userData).Target as SealnetPeer;
            }
            catch (InvalidOperationException)
            {
                peer = null;
            }
            if (peer == null || peer.nativeDestroyed)
            {
                Interlocked.Increment(ref StaleCallbacks);
                return null;
            }
            return peer.disposed ? null : peer;
        }

        private void KeepListenerException(Exception exception)
        {
            if (listenerExceptions == null)
            {
                listenerExceptions = new List<Exception>();
            }
            listenerExceptions.Add(exception);
        }

        private static void Keep(SealnetPeer peer, Exception exception)
        {
            try
            {
                if (peer != null)
                {
                    peer.KeepListenerException(exception);
                }
            }
            catch
            {
                // Out of memory while recording an exception: drop it rather than unwind into native code.
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeStatusCallback))]
        private static void OnStatusNative(IntPtr userData, uint status, IntPtr info)
        {
            SealnetPeer peer = null;
            try
            {
                peer = FromUserData(userData);
                if (peer == null)
                {
                    return;
                }
                if (info != IntPtr.Zero)
                {
                    var detail = (NativeStatusInfo)Marshal.PtrToStructure(info, typeof(NativeStatusInfo));
                    peer.LastStatusReason = (DisconnectReason)detail.reason;
                    peer.LastStatusMessage = NativeMethods.Utf8FromNulTerminated(detail.message);
                }
                else
                {
                    peer.LastStatusReason = DisconnectReason.None;
                    peer.LastStatusMessage = null;
                }
                if (peer.listener != null)
                {
                    peer.listener.OnStatusChanged((StatusCode)status);
                }
            }
            catch (Exception exception)
            {
                Keep(peer, exception);
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeOperationResponseCallback))]
        private static void OnOperationResponseNative(IntPtr userData, IntPtr response)
        {
            SealnetPeer peer = null;
            try
            {
                peer = FromUserData(userData);
                if (peer == null || response == IntPtr.Zero || peer.listener == null)
                {
                    return;
                }
                var native = (NativeOperationResponse)Marshal.PtrToStructure(response, typeof(NativeOperationResponse));
                peer.listener.OnOperationResponse(OperationResponse.FromNative(ref native));
            }
            catch (Exception exception)
            {
                Keep(peer, exception);
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeEventCallback))]
        private static void OnEventNative(IntPtr userData, IntPtr eventData)
        {
            SealnetPeer peer = null;
            try
            {
                peer = FromUserData(userData);
                if (peer == null || eventData == IntPtr.Zero || peer.listener == null)
                {
                    return;
                }
                var native = (NativeEvent)Marshal.PtrToStructure(eventData, typeof(NativeEvent));
                peer.listener.OnEvent(EventData.FromNative(ref native));
            }
            catch (Exception exception)
            {
                Keep(peer, exception);
            }
        }
    }
}
