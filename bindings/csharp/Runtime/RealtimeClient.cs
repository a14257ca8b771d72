using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Sealnet
{
    /// <summary>
    /// Options of a room a <see cref="RealtimeClient"/> creates (Photon's RoomOptions;
    /// peer_room_options_t). Read during the call that is given them only, so one instance may be reused.
    /// </summary>
    public sealed class RoomOptions
    {
        /// <summary>Options holding the native defaults: no limit of the room's own, open, visible.</summary>
        public RoomOptions()
        {
            NativeRoomOptions defaults = NativeDefaults();
            MaxPlayers = (int)Math.Min(defaults.max_players, int.MaxValue);
            IsOpen = defaults.is_open != 0;
            IsVisible = defaults.is_visible != 0;
        }

        /// <summary>The most players the room takes; 0 (default): as many as the server allows.</summary>
        public int MaxPlayers { get; set; }

        /// <summary>Whether others may join (default true).</summary>
        public bool IsOpen { get; set; }

        /// <summary>Whether <see cref="RealtimeClient.OpJoinRandomRoom"/> may pick the room (default true).</summary>
        public bool IsVisible { get; set; }

        internal NativeRoomOptions ToNative()
        {
            if (MaxPlayers < 0)
            {
                throw new ArgumentOutOfRangeException("options", "MaxPlayers must be 0 (no limit) or more");
            }
            return new NativeRoomOptions
            {
                struct_size = NativeMethods.RoomOptionsSize,
                max_players = (uint)MaxPlayers,
                is_open = IsOpen ? (byte)1 : (byte)0,
                is_visible = IsVisible ? (byte)1 : (byte)0,
                reserved = new byte[NativeMethods.RoomOptionsReservedLength], // must be zero
            };
        }

        internal static NativeRoomOptions NativeDefaults()
        {
            NativeRoomOptions defaults;
            var result = (PeerResult)NativeMethods.peer_room_options_default(out defaults, NativeMethods.RoomOptionsSize);
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, "peer_room_options_default", NativeMethods.LastError());
            }
            defaults.reserved = new byte[NativeMethods.RoomOptionsReservedLength];
            return defaults;
        }
    }

    /// <summary>
    /// What a <see cref="RealtimeClient"/> connects to and as which application (peer_client_config_t,
    /// Photon's AppSettings). Copied when the client is created.
    /// </summary>
    public sealed class RealtimeClientConfig
    {
        private readonly List<string> masterAddresses = new List<string>();
        private byte[] masterPublicKeyPin;

        /// <summary>A configuration for <paramref name="appId"/> and the masters at <paramref name="masterAddresses"/>.</summary>
        /// <param name="appId">The application id (1 to 64 bytes of UTF-8).</param>
        /// <param name="masterAddresses">"host:port" of each master, tried in this order at login until one answers.</param>
        public RealtimeClientConfig(string appId, params string[] masterAddresses)
        {
            AppId = appId;
            if (masterAddresses != null)
            {
                this.masterAddresses.AddRange(masterAddresses);
            }
        }

        /// <summary>"host:port" of each master (1 to 64), tried in order at login until one answers.</summary>
        public IList<string> MasterAddresses
        {
            get { return masterAddresses; }
        }

        /// <summary>The application id (1 to 64 bytes of UTF-8).</summary>
        public string AppId { get; set; }

        /// <summary>The game's version (at most 32 bytes of UTF-8), or null (default) for the library's.</summary>
        public string AppVersion { get; set; }

        /// <summary>
        /// The 32-byte static public key every master must present, or null (default) for none (the masters
        /// are then not authenticated). Recommended: the key of each game server then comes from the master,
        /// encrypted, so every server is as sure as the master. This is the client's only pin: it pins each
        /// server itself, so <see cref="PeerConfig"/> must not pin one. Copied in and out.
        /// </summary>
        public byte[] MasterPublicKeyPin
        {
            get { return masterPublicKeyPin == null ? null : (byte[])masterPublicKeyPin.Clone(); }
            set
            {
                if (value != null && value.Length != NativeMethods.KeyLength)
                {
                    throw new ArgumentException("a public key has " + NativeMethods.KeyLength + " bytes", "value");
                }
                masterPublicKeyPin = value == null ? null : (byte[])value.Clone();
            }
        }

        /// <summary>Sets <see cref="MasterPublicKeyPin"/> from 64 hexadecimal digits (null or empty: no pin).</summary>
        public RealtimeClientConfig PinMasterKeyHex(string hex)
        {
            MasterPublicKeyPin = string.IsNullOrEmpty(hex) ? null : SealnetPeerConfig.ParseHex(hex.Trim());
            return this;
        }

        /// <summary>
        /// Settings of the connection underneath (timeouts, queue limits, protocol version), or null
        /// (default) for the native defaults. The client is polled: nothing of it calls back. It must keep
        /// <see cref="SealnetPeerConfig.AutoKeyExchange"/> on and set no
        /// <see cref="SealnetPeerConfig.ServerPublicKeyPin"/> (the client runs the key exchange and pins each
        /// server itself; pin the masters with <see cref="MasterPublicKeyPin"/>): the
        /// <see cref="RealtimeClient"/> constructor refuses anything else with <see cref="SealnetException"/>
        /// (<see cref="PeerResult.InvalidArgument"/>).
        /// </summary>
        public SealnetPeerConfig PeerConfig { get; set; }

        internal void Validate()
        {
            if (AppId == null)
            {
                throw new ArgumentNullException("AppId");
            }
            foreach (var address in masterAddresses)
            {
                if (address == null)
                {
                    throw new ArgumentException("a master address is null", "MasterAddresses");
                }
                if (address.IndexOf('\0') >= 0)
                {
                    throw new ArgumentException("a master address contains a NUL character", "MasterAddresses");
                }
            }
            if (AppId.IndexOf('\0') >= 0 || (AppVersion != null && AppVersion.IndexOf('\0') >= 0))
            {
                throw new ArgumentException("AppId and AppVersion must not contain NUL characters");
            }
        }

        internal byte[] KeyBytes()
        {
            var key = new byte[NativeMethods.KeyLength];
            if (masterPublicKeyPin != null)
            {
                Buffer.BlockCopy(masterPublicKeyPin, 0, key, 0, NativeMethods.KeyLength);
            }
            return key;
        }
    }

    /// <summary>
    /// The realtime client, shaped like Photon's LoadBalancingClient: it logs in at a master, asks it for
    /// rooms, follows the master's answer to the game server that holds the room by itself, and goes back
    /// to the master when it leaves. Built on peer_client_* of the native library.
    /// <para>
    /// Typical use: create it with a <see cref="RealtimeClientConfig"/>, subscribe to its events, call
    /// <see cref="Connect"/>, wait for <see cref="StateChanged"/> with
    /// <see cref="ClientState.ConnectedToMasterServer"/>, then ask for a room
    /// (<see cref="OpJoinOrCreateRoom"/>, <see cref="OpCreateRoom"/>, <see cref="OpJoinRoom"/>,
    /// <see cref="OpJoinRandomRoom"/>): <see cref="Joined"/> or <see cref="Failed"/> follows. Call
    /// <see cref="Service"/> every frame; a host that is not a frame loop blocks in <see cref="Wait"/>
    /// between calls.
    /// </para>
    /// <para>
    /// Polled only: no callback is registered with native code. <see cref="Service"/> takes every queued
    /// event from the native client, copies it out, and raises the C# event for it on the calling thread,
    /// after the native call has returned; an exception of a handler therefore propagates out of Service
    /// (the events not yet taken stay queued for the next Service).
    /// </para>
    /// <para>
    /// Results: the calls that start something return a <see cref="PeerResult"/>; anything but
    /// <see cref="PeerResult.Ok"/> means nothing was done, for example <see cref="PeerResult.WrongState"/>
    /// for a room request before the login completed; <see cref="LastResultMessage"/> gives the native
    /// text. Programming errors (null arguments, unsupported data types, use after Dispose) throw.
    /// </para>
    /// <para>
    /// Dispose disconnects and destroys the native client; every call afterwards throws
    /// <see cref="ObjectDisposedException"/>. It may be called from a handler of one of the events (the
    /// running Service then returns without raising more) or from another thread (a native call of the
    /// client running there finishes first; a <see cref="Wait"/> there ends). A client that is never
    /// disposed is destroyed by its finalizer once unreachable.
    /// </para>
    /// </summary>
    public sealed class RealtimeClient : IDisposable
    {
        // Held while a polled event is copied out and while the native client is destroyed: the data of
        // the polled event lives only until the next peer_client_poll or peer_client_destroy.
        private readonly object sync = new object();
        private IntPtr nativeClient;
        private volatile bool disposed;

        /// <summary>Creates a client. Nothing is sent and no thread starts until <see cref="Connect"/>.</summary>
        /// <param name="config">The masters, the application and the connection settings (copied).</param>
        /// <exception cref="ArgumentNullException"><paramref name="config"/> or its app id is null.</exception>
        /// <exception cref="SealnetException">The native library refused the configuration (no master or more
        /// than 64, an app id that is empty or over 64 bytes, an app version over 32 bytes, ...);
        /// <see cref="SealnetException.NativeMessage"/> says which.</exception>
        public RealtimeClient(RealtimeClientConfig config)
        {
            if (config == null)
            {
                throw new ArgumentNullException("config");
            }
            config.Validate();
            try
            {
                nativeClient = Create(config);
            }
            catch
            {
                disposed = true;
                GC.SuppressFinalize(this);
                throw;
            }
        }

        /// <summary>Destroys the native client if Dispose was never called.</summary>
        ~RealtimeClient()
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

        /// <summary>The client's state changed; the argument is the new state. Raised by <see cref="Service"/>,
        /// in order.</summary>
        public event Action<ClientState> StateChanged;

        /// <summary>
        /// The client is in a room: its name (the master's name for a room created without one), this
        /// player's actor number, and the actor numbers in the room, ascending. <see cref="Room"/> and
        /// <see cref="ActorNumber"/> give them already in the <see cref="StateChanged"/> handler for
        /// <see cref="ClientState.Joined"/>, which comes first.
        /// </summary>
        public event Action<string, int, int[]> Joined;

        /// <summary>
        /// A request failed: the operation code, the server's return code (<see cref="ReturnCode"/>, for
        /// example <see cref="ReturnCode.GameDoesNotExist"/>, or <see cref="ReturnCode.InternalServerError"/>
        /// with operation code 0 when the client could not start a connection to the next server) and its
        /// message. After a refused room request the client is at the master again
        /// (<see cref="ClientState.ConnectedToMasterServer"/>); after
        /// <see cref="ReturnCode.AuthenticationTicketExpired"/> on the way back to the master it is
        /// disconnected and must log in again with <see cref="Connect"/>.
        /// </summary>
        public event Action<byte, short, string> Failed;

        /// <summary>An event raised in the room (by another player, or by the server, such as a join).</summary>
        public event Action<EventData> EventReceived;

        /// <summary>A status of the connection underneath, to the master or a game server (a switch between
        /// them shows as Disconnect, then Connect and EncryptionEstablished). <see cref="LastStatusReason"/>
        /// and <see cref="LastStatusMessage"/> are set just before.</summary>
        public event Action<StatusCode> StatusChanged;

        /// <summary>A response to an operation the client did not send as one of its own requests, such as one
        /// sent with <see cref="SendOperation(byte, ParameterDictionary, SendOptions)"/>.</summary>
        public event Action<OperationResponse> ResponseReceived;

        /// <summary>Where the client stands now (peer_client_state). Room requests change it at once, the
        /// connection when <see cref="Service"/> runs; <see cref="StateChanged"/> reports each change in
        /// order, so during a handler this may be ahead of the state the handler was given.</summary>
        public ClientState State
        {
            get
            {
                uint state;
                var result = Check(NativeMethods.peer_client_state(Handle, out state));
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_client_state", NativeMethods.LastError());
                }
                GC.KeepAlive(this);
                return (ClientState)state;
            }
        }

        /// <summary>The name of the room the client is in now (peer_client_room_name), or null outside a room.
        /// Read from the native client, like <see cref="State"/>: already right in the <see cref="StateChanged"/>
        /// handler for <see cref="ClientState.Joined"/>, and ahead of the events not yet raised. Any thread.</summary>
        public string Room
        {
            get
            {
                IntPtr client = Handle;
                byte[] buffer = null;
                while (true)
                {
                    UIntPtr length;
                    int capacity = buffer != null ? buffer.Length : 0;
                    var result = Check(NativeMethods.peer_client_room_name(client, buffer, (UIntPtr)(uint)capacity, out length));
                    if (result == PeerResult.WrongState)
                    {
                        GC.KeepAlive(this);
                        return null;
                    }
                    if (result == PeerResult.Ok)
                    {
                        GC.KeepAlive(this);
                        return System.Text.Encoding.UTF8.GetString(buffer, 0, checked((int)(ulong)length));
                    }
                    if (result != PeerResult.BufferTooSmall)
                    {
                        throw new SealnetException(result, "peer_client_room_name", NativeMethods.LastError());
                    }
                    // Room for the name and its NUL; asked again, since the client may have moved to
                    // another room (with a longer name) meanwhile.
                    buffer = new byte[checked((int)(ulong)length + 1)];
                }
            }
        }

        /// <summary>This player's actor number in <see cref="Room"/> (peer_client_actor_number), or 0 outside a
        /// room. Read from the native client, as <see cref="Room"/> is. Any thread.</summary>
        public int ActorNumber
        {
            get
            {
                int actor;
                var result = Check(NativeMethods.peer_client_actor_number(Handle, out actor));
                if (result == PeerResult.WrongState)
                {
                    actor = 0;
                }
                else if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_client_actor_number", NativeMethods.LastError());
                }
                GC.KeepAlive(this);
                return actor;
            }
        }

        /// <summary>The 32-byte static public key of the server the client is connected to (the master, or
        /// the game server it switched to), or null before a key exchange.</summary>
        public byte[] ServerPublicKey
        {
            get
            {
                var key = new byte[NativeMethods.KeyLength];
                var result = Check(NativeMethods.peer_client_server_public_key(Handle, key));
                if (result == PeerResult.EncryptionNotEstablished)
                {
                    return null;
                }
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_client_server_public_key", NativeMethods.LastError());
                }
                GC.KeepAlive(this);
                return key;
            }
        }

        /// <summary>The disconnect reason of the latest status (None when there was none). Set just before
        /// <see cref="StatusChanged"/> is raised.</summary>
        public DisconnectReason LastStatusReason { get; private set; }

        /// <summary>Readable detail of the latest status, or null. Set just before <see cref="StatusChanged"/> is raised.</summary>
        public string LastStatusMessage { get; private set; }

        /// <summary>The result of the latest Connect, Op* or Disconnect call.</summary>
        public PeerResult LastResult { get; private set; }

        /// <summary>The native description of <see cref="LastResult"/> when it is not Ok (naming the state for
        /// <see cref="PeerResult.WrongState"/>), else null.</summary>
        public string LastResultMessage { get; private set; }

        /// <summary>True once <see cref="Dispose()"/> was called.</summary>
        public bool IsDisposed
        {
            get { return disposed; }
        }

        /// <summary>
        /// Logs in: connects to the first master that answers and authenticates with
        /// <paramref name="values"/> (read during the call only), or anonymously (where the server admits
        /// anonymous players) when null. <see cref="ClientState.ConnectedToMasterServer"/> follows through
        /// <see cref="Service"/>, or <see cref="Failed"/> with the server's refusal.
        /// </summary>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless the client is new or disconnected.</returns>
        /// <exception cref="SealnetException">An <see cref="AuthenticationValues.AuthType"/> the native library does not know.</exception>
        public PeerResult Connect(AuthenticationValues values = null)
        {
            IntPtr client = Handle;
            IntPtr auth = values != null ? values.ToNative() : IntPtr.Zero;
            try
            {
                return Record(NativeMethods.peer_client_connect(client, auth));
            }
            finally
            {
                NativeMethods.peer_auth_values_free(auth); // copied by peer_client_connect
            }
        }

        /// <summary>
        /// JoinOrCreateRoom: joins the room <paramref name="name"/>, creating it with
        /// <paramref name="options"/> where the master places it if it does not exist. The client switches to
        /// that game server by itself; <see cref="Joined"/> or <see cref="Failed"/> follows.
        /// </summary>
        /// <param name="name">The room's name.</param>
        /// <param name="options">Options of the room if it is created; null for the defaults.</param>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        public PeerResult OpJoinOrCreateRoom(string name, RoomOptions options = null)
        {
            if (name == null)
            {
                throw new ArgumentNullException("name");
            }
            byte[] utf8 = RoomName(name);
            NativeRoomOptions native = options != null ? options.ToNative() : RoomOptions.NativeDefaults();
            return Record(NativeMethods.peer_client_join_or_create_room(Handle, utf8, ref native));
        }

        /// <summary>
        /// CreateRoom: as <see cref="OpJoinOrCreateRoom"/>, but fails (<see cref="Failed"/> with
        /// <see cref="ReturnCode.GameIdAlreadyExists"/>) if the room exists.
        /// </summary>
        /// <param name="name">The room's name, or null to have the master name it (<see cref="Joined"/> gives the name).</param>
        /// <param name="options">Options of the room; null for the defaults.</param>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        public PeerResult OpCreateRoom(string name, RoomOptions options = null)
        {
            byte[] utf8 = name != null ? RoomName(name) : null;
            NativeRoomOptions native = options != null ? options.ToNative() : RoomOptions.NativeDefaults();
            return Record(NativeMethods.peer_client_create_room(Handle, utf8, ref native));
        }

        /// <summary>JoinRoom: joins the room <paramref name="name"/>; fails (<see cref="Failed"/> with
        /// <see cref="ReturnCode.GameDoesNotExist"/>) if it does not exist.</summary>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        public PeerResult OpJoinRoom(string name)
        {
            if (name == null)
            {
                throw new ArgumentNullException("name");
            }
            return Record(NativeMethods.peer_client_join_room(Handle, RoomName(name)));
        }

        /// <summary>JoinRandomRoom: joins an open, visible room with space; fails (<see cref="Failed"/> with
        /// <see cref="ReturnCode.NoRandomMatchFound"/>) if there is none.</summary>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        public PeerResult OpJoinRandomRoom()
        {
            return Record(NativeMethods.peer_client_join_random_room(Handle));
        }

        /// <summary>Leaves the room; the client goes back to the master by itself
        /// (<see cref="ClientState.ConnectedToMasterServer"/> follows).</summary>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless in a room.</returns>
        public PeerResult OpLeaveRoom()
        {
            return Record(NativeMethods.peer_client_leave_room(Handle));
        }

        /// <summary>
        /// Raises event <paramref name="code"/> in the room with <paramref name="data"/> (any value a
        /// <see cref="ParameterDictionary"/> takes, or null), which the others receive as
        /// <see cref="EventData.CustomData"/>. The data is copied, so the caller may change it afterwards.
        /// </summary>
        /// <param name="code">The event code, 0 to 199 (200 and up are the server's).</param>
        /// <param name="data">The event's data, or null.</param>
        /// <param name="options">Delivery, encryption and channel.</param>
        /// <returns>Ok when queued for sending; <see cref="PeerResult.WrongState"/> unless in a room;
        /// <see cref="PeerResult.InvalidArgument"/> for a code over 199; otherwise as
        /// <see cref="SealnetPeer.SendOperation(byte, ParameterDictionary, SendOptions)"/>.</returns>
        /// <exception cref="ArgumentException">Data of an unsupported type (the message names the type).</exception>
        /// <exception cref="SealnetException">Data beyond the native limits; <see cref="SealnetException.NativeMessage"/> names the limit.</exception>
        public PeerResult OpRaiseEvent(byte code, object data, SendOptions options)
        {
            IntPtr client = Handle;
            NativeSendOptions send = options.ToNative();
            uint raw = ValueWriter.WithNativeValue(EventData.CustomDataKey, data,
                (ref NativeValue value) => NativeMethods.peer_client_raise_event(client, code, ref value, ref send));
            return Record(raw);
        }

        /// <summary>Sends an operation reliably and in the clear (still authenticated once keys exist); see
        /// <see cref="SendOperation(byte, ParameterDictionary, SendOptions)"/>.</summary>
        public PeerResult SendOperation(byte opCode, ParameterDictionary parameters)
        {
            return SendOperation(opCode, parameters, SendOptions.SendReliable);
        }

        /// <summary>
        /// Sends any other operation (Photon's OpCustom) on the current connection, to the master or the game
        /// server the client is on; its response arrives as <see cref="ResponseReceived"/>. The parameters
        /// are copied, as by <see cref="SealnetPeer.SendOperation(byte, ParameterDictionary, SendOptions)"/>.
        /// </summary>
        /// <param name="opCode">The operation code.</param>
        /// <param name="parameters">The parameters; null for none.</param>
        /// <param name="sendOptions">Delivery, encryption and channel.</param>
        /// <returns>Ok when queued for sending; otherwise as
        /// <see cref="SealnetPeer.SendOperation(byte, ParameterDictionary, SendOptions)"/> (for example
        /// <see cref="PeerResult.NotConnected"/> while no connection runs).</returns>
        /// <exception cref="ArgumentException">A value of an unsupported type (the message names the key).</exception>
        /// <exception cref="SealnetException">A value beyond the native limits; <see cref="SealnetException.NativeMessage"/> names the limit.</exception>
        public PeerResult SendOperation(byte opCode, ParameterDictionary parameters, SendOptions sendOptions)
        {
            IntPtr client = Handle;
            IntPtr nativeParams = parameters != null ? parameters.ToNative() : IntPtr.Zero;
            try
            {
                NativeSendOptions options = sendOptions.ToNative();
                return Record(NativeMethods.peer_client_send_operation(client, opCode, nativeParams, ref options));
            }
            finally
            {
                NativeMethods.peer_params_free(nativeParams);
            }
        }

        /// <summary>Disconnects and stays disconnected (<see cref="ClientState.Disconnected"/> follows);
        /// <see cref="Connect"/> may log in again.</summary>
        public PeerResult Disconnect()
        {
            return Record(NativeMethods.peer_client_disconnect(Handle));
        }

        /// <summary>
        /// Moves the client on and raises an event for each thing that happened since the last call, on
        /// the calling thread, until nothing is queued. Call it every frame from one thread. A handler may
        /// call the client, Dispose included (Service then stops).
        /// </summary>
        public void Service()
        {
            ThrowIfDisposed();
            while (true)
            {
                Polled polled;
                lock (sync)
                {
                    if (disposed)
                    {
                        return; // disposed by a handler, or by another thread
                    }
                    NativeClientEvent native;
                    var result = (PeerResult)NativeMethods.peer_client_poll(nativeClient, out native);
                    if (result == PeerResult.NoEvent)
                    {
                        return;
                    }
                    if (result != PeerResult.Ok)
                    {
                        throw new SealnetException(result, "peer_client_poll", NativeMethods.LastError());
                    }
                    // Everything is copied out before the lock is released: the native data lives until the
                    // next poll or destroy only, and either may run as soon as the lock is free.
                    polled = Polled.FromNative(ref native);
                }
                Raise(polled);
            }
        }

        /// <summary>
        /// Blocks until the client may have something for <see cref="Service"/>, or until
        /// <paramref name="timeoutMilliseconds"/> pass. For hosts that are not a frame loop (bots, tests,
        /// headless servers). Raises no event itself. Other threads may read the client meanwhile, and a
        /// <see cref="Dispose()"/> on another thread ends the wait.
        /// </summary>
        /// <returns><see cref="PeerResult.Ok"/> or <see cref="PeerResult.TimedOut"/> (call Service either way),
        /// or <see cref="PeerResult.NotConnected"/> at once when nothing can arrive.</returns>
        public PeerResult Wait(int timeoutMilliseconds)
        {
            if (timeoutMilliseconds < 0)
            {
                throw new ArgumentOutOfRangeException("timeoutMilliseconds", "must be 0 or more");
            }
            var result = Check(NativeMethods.peer_client_wait(Handle, (uint)timeoutMilliseconds));
            GC.KeepAlive(this);
            return result;
        }

        /// <summary>Disconnects, stops the native client's thread and frees it. Safe to call twice, from a
        /// handler of the client's events, and from another thread.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        private void Dispose(bool disposing)
        {
            lock (sync)
            {
                if (disposed)
                {
                    return;
                }
                disposed = true;
                IntPtr client = nativeClient;
                nativeClient = IntPtr.Zero;
                if (client != IntPtr.Zero)
                {
                    // Frees the data of the last polled event too: the lock keeps Service from reading it.
                    NativeMethods.peer_client_destroy(client);
                }
            }
        }

        private static IntPtr Create(RealtimeClientConfig config)
        {
            NativeClientConfig native;
            var defaults = (PeerResult)NativeMethods.peer_client_config_default(out native, NativeMethods.ClientConfigSize);
            if (defaults != PeerResult.Ok)
            {
                throw new SealnetException(defaults, "peer_client_config_default", NativeMethods.LastError());
            }
            // Every pointer is borrowed by peer_client_create only (it copies): pinned for that call.
            var pins = new List<GCHandle>();
            IntPtr peerConfig = IntPtr.Zero;
            try
            {
                var addresses = new IntPtr[config.MasterAddresses.Count];
                for (int i = 0; i < addresses.Length; i++)
                {
                    addresses[i] = Pin(pins, NativeMethods.NulTerminatedUtf8(config.MasterAddresses[i]));
                }
                native.masters = addresses.Length > 0 ? Pin(pins, addresses) : IntPtr.Zero;
                native.master_count = (UIntPtr)(uint)addresses.Length;
                native.app_id = Pin(pins, NativeMethods.NulTerminatedUtf8(config.AppId));
                native.app_version = config.AppVersion != null
                    ? Pin(pins, NativeMethods.NulTerminatedUtf8(config.AppVersion))
                    : IntPtr.Zero;
                native.pin_master_key = config.MasterPublicKeyPin != null ? (byte)1 : (byte)0;
                native.master_public_key = config.KeyBytes();
                native.reserved = new byte[NativeMethods.ClientConfigReservedLength]; // must be zero
                if (config.PeerConfig != null)
                {
                    // Not blittable (its key and reserved arrays): marshalled into native memory.
                    NativeConfig peer = config.PeerConfig.ToNative(IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);
                    peerConfig = Marshal.AllocHGlobal(Marshal.SizeOf(typeof(NativeConfig)));
                    Marshal.StructureToPtr(peer, peerConfig, false);
                    native.peer = peerConfig;
                }
                IntPtr client;
                var result = (PeerResult)NativeMethods.peer_client_create(ref native, out client);
                if (result != PeerResult.Ok)
                {
                    throw new SealnetException(result, "peer_client_create", NativeMethods.LastError());
                }
                return client;
            }
            finally
            {
                if (peerConfig != IntPtr.Zero)
                {
                    Marshal.FreeHGlobal(peerConfig);
                }
                foreach (var pin in pins)
                {
                    pin.Free();
                }
            }
        }

        private static IntPtr Pin(List<GCHandle> pins, object blittableArray)
        {
            var pin = GCHandle.Alloc(blittableArray, GCHandleType.Pinned);
            pins.Add(pin);
            return pin.AddrOfPinnedObject();
        }

        private static byte[] RoomName(string name)
        {
            if (name.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("a room name must not contain NUL characters", "name");
            }
            return NativeMethods.NulTerminatedUtf8(name);
        }

        private void Raise(Polled polled)
        {
            switch (polled.Kind)
            {
                case NativeMethods.ClientEventStateChanged:
                    var stateChanged = StateChanged;
                    if (stateChanged != null)
                    {
                        stateChanged(polled.State);
                    }
                    break;
                case NativeMethods.ClientEventStatus:
                    LastStatusReason = polled.Reason;
                    LastStatusMessage = polled.Message;
                    var statusChanged = StatusChanged;
                    if (statusChanged != null)
                    {
                        statusChanged(polled.Status);
                    }
                    break;
                case NativeMethods.ClientEventJoined:
                    var joined = Joined;
                    if (joined != null)
                    {
                        joined(polled.Room, polled.Actor, polled.Actors);
                    }
                    break;
                case NativeMethods.ClientEventFailed:
                    var failed = Failed;
                    if (failed != null)
                    {
                        failed(polled.OpCode, polled.ReturnCode, polled.Message);
                    }
                    break;
                case NativeMethods.ClientEventEvent:
                    var eventReceived = EventReceived;
                    if (eventReceived != null)
                    {
                        eventReceived(polled.Event);
                    }
                    break;
                case NativeMethods.ClientEventResponse:
                    var responseReceived = ResponseReceived;
                    if (responseReceived != null)
                    {
                        responseReceived(polled.Response);
                    }
                    break;
                // A kind of a newer library: nothing to raise.
            }
        }

        private IntPtr Handle
        {
            get
            {
                ThrowIfDisposed();
                return nativeClient;
            }
        }

        private void ThrowIfDisposed()
        {
            if (disposed)
            {
                throw new ObjectDisposedException("RealtimeClient");
            }
        }

        private PeerResult Check(uint raw)
        {
            var result = (PeerResult)raw;
            if (disposed && (result == PeerResult.InvalidPeer || result == PeerResult.NullParameter))
            {
                throw new ObjectDisposedException("RealtimeClient"); // disposed on another thread meanwhile
            }
            return result;
        }

        private PeerResult Record(uint raw)
        {
            var result = Check(raw);
            LastResult = result;
            // Read at once: the next failing native call on this thread replaces it.
            LastResultMessage = result == PeerResult.Ok ? null : NativeMethods.LastError() ?? result.Describe();
            GC.KeepAlive(this);
            return result;
        }

        /// <summary>One polled client event, copied out of the native structure (nothing borrowed survives).</summary>
        private sealed class Polled
        {
            public uint Kind;
            public ClientState State;
            public StatusCode Status;
            public DisconnectReason Reason;
            public string Message;
            public string Room;
            public int Actor;
            public int[] Actors;
            public byte OpCode;
            public short ReturnCode;
            public EventData Event;
            public OperationResponse Response;

            public static Polled FromNative(ref NativeClientEvent native)
            {
                var polled = new Polled { Kind = native.kind };
                switch (native.kind)
                {
                    case NativeMethods.ClientEventStateChanged:
                        polled.State = (ClientState)native.state;
                        break;
                    case NativeMethods.ClientEventStatus:
                        polled.Status = (StatusCode)native.status;
                        polled.Reason = (DisconnectReason)native.status_info.reason;
                        polled.Message = NativeMethods.Utf8FromNulTerminated(native.status_info.message);
                        break;
                    case NativeMethods.ClientEventJoined:
                        polled.Room = NativeMethods.Utf8FromNulTerminated(native.room) ?? string.Empty;
                        polled.Actor = native.actor;
                        polled.Actors = new int[checked((int)(ulong)native.actor_count)];
                        if (polled.Actors.Length > 0)
                        {
                            Marshal.Copy(native.actors, polled.Actors, 0, polled.Actors.Length);
                        }
                        break;
                    case NativeMethods.ClientEventFailed:
                        polled.OpCode = native.op_code;
                        polled.ReturnCode = native.return_code;
                        polled.Message = NativeMethods.Utf8FromNulTerminated(native.message) ?? string.Empty;
                        break;
                    case NativeMethods.ClientEventEvent:
                        polled.Event = EventData.FromNative(ref native.@event);
                        break;
                    case NativeMethods.ClientEventResponse:
                        polled.Response = OperationResponse.FromNative(ref native.response);
                        break;
                }
                return polled;
            }
        }
    }
}
