using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Sealnet
{
    /// <summary>
    /// Options of a room a <see cref="RealtimeClient"/> creates (Photon's RoomOptions;
    /// peer_room_options_t). They apply only when the request creates the room: joining an existing room
    /// ignores them. Read during the call that is given them only (the properties and names are copied), so
    /// one instance may be reused.
    /// </summary>
    public sealed class RoomOptions
    {
        /// <summary>Options holding the native defaults: no limit of the room's own, open, visible, no
        /// PlayerTtl or EmptyRoomTtl, no custom properties, cached events cleaned up when their sender leaves.</summary>
        public RoomOptions()
        {
            NativeRoomOptions defaults = NativeDefaults();
            MaxPlayers = (int)Math.Min(defaults.max_players, int.MaxValue);
            IsOpen = defaults.is_open != 0;
            IsVisible = defaults.is_visible != 0;
            CleanupCacheOnLeave = defaults.keep_cache_on_leave == 0;
            PlayerTtl = (int)Math.Min(defaults.player_ttl_ms, int.MaxValue);
            EmptyRoomTtl = (int)Math.Min(defaults.empty_room_ttl_ms, int.MaxValue);
        }

        /// <summary>The most players the room takes; 0 (default): as many as the server allows.</summary>
        public int MaxPlayers { get; set; }

        /// <summary>Whether others may join (default true).</summary>
        public bool IsOpen { get; set; }

        /// <summary>Whether <see cref="RealtimeClient.OpJoinRandomRoom"/> may pick the room and the lobby lists it
        /// (default true).</summary>
        public bool IsVisible { get; set; }

        /// <summary>
        /// Milliseconds a player whose connection is lost keeps its place and actor number in the room
        /// (inactive, <see cref="Player.IsInactive"/>); the client comes back by itself within it
        /// (<see cref="RealtimeClient.IsRejoining"/>, then <see cref="RealtimeClient.Joined"/> with rejoined
        /// true). 0 (default): none, a lost connection leaves the room. The server caps it (its
        /// <c>max_player_ttl_ms</c>, 10 minutes by default) and refuses more; Photon's -1 (forever) is not
        /// offered.
        /// </summary>
        public int PlayerTtl { get; set; }

        /// <summary>Milliseconds the room outlives its last player; 0 (default): it closes at once. Capped by the
        /// server as <see cref="PlayerTtl"/> is (<c>max_empty_room_ttl_ms</c>).</summary>
        public int EmptyRoomTtl { get; set; }

        /// <summary>
        /// The room's first custom properties, or null (default) for none: any <see cref="IDictionary"/> (a
        /// <see cref="Hashtable"/>, Photon's Hashtable, a <c>Dictionary&lt;string, object&gt;</c>) with string
        /// or number keys (byte keys are the server's: <see cref="GamePropertyKey"/>) and values of the types
        /// a <see cref="ParameterDictionary"/> takes. Copied by the call.
        /// </summary>
        public IDictionary CustomRoomProperties { get; set; }

        /// <summary>The names of the custom properties the lobby lists with the room (Photon's
        /// CustomRoomPropertiesForLobby; <see cref="RoomInfo.CustomProperties"/>), or null (default) for none.</summary>
        public string[] CustomRoomPropertiesForLobby { get; set; }

        /// <summary>Whether the events a player added to the room's cache
        /// (<see cref="EventCaching.AddToRoomCache"/>) leave it when the player leaves (default true), as in
        /// Photon.</summary>
        public bool CleanupCacheOnLeave { get; set; }

        /// <summary>The native form. The custom properties' table and the listed names are built and pinned in
        /// <paramref name="arguments"/>, which the caller disposes after the native call.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A negative MaxPlayers, PlayerTtl or EmptyRoomTtl.</exception>
        /// <exception cref="ArgumentException">A listed name that is null or holds NUL, or a custom property of an
        /// unsupported type or key (the message names it).</exception>
        internal NativeRoomOptions ToNative(NativeArguments arguments)
        {
            if (MaxPlayers < 0)
            {
                throw new ArgumentOutOfRangeException("options", "MaxPlayers must be 0 (no limit) or more");
            }
            if (PlayerTtl < 0 || EmptyRoomTtl < 0)
            {
                throw new ArgumentOutOfRangeException("options", "PlayerTtl and EmptyRoomTtl must be 0 (none) or more milliseconds");
            }
            var native = new NativeRoomOptions
            {
                struct_size = NativeMethods.RoomOptionsSize,
                max_players = (uint)MaxPlayers,
                is_open = IsOpen ? (byte)1 : (byte)0,
                is_visible = IsVisible ? (byte)1 : (byte)0,
                keep_cache_on_leave = CleanupCacheOnLeave ? (byte)0 : (byte)1,
                reserved = new byte[NativeMethods.RoomOptionsReservedLength], // must be zero
                player_ttl_ms = (uint)PlayerTtl,
                empty_room_ttl_ms = (uint)EmptyRoomTtl,
                custom_properties = arguments.Table(CustomRoomProperties, "CustomRoomProperties"),
            };
            string[] listed = CustomRoomPropertiesForLobby;
            if (listed != null && listed.Length > 0)
            {
                var names = new IntPtr[listed.Length];
                for (int i = 0; i < listed.Length; i++)
                {
                    names[i] = arguments.Utf8(listed[i], "CustomRoomPropertiesForLobby[" + i + "]");
                }
                native.listed_in_lobby = arguments.Pin(names);
                native.listed_in_lobby_count = (UIntPtr)(uint)names.Length;
            }
            return native;
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
    /// In a room the client keeps the room's view: <see cref="CurrentRoom"/> (properties, players, master
    /// client), changed with <see cref="OpSetCustomPropertiesOfRoom"/>, <see cref="OpSetCustomPropertiesOfActor"/>
    /// (compare-and-set with expected values) and <see cref="SetMasterClient"/>; events go to chosen receivers,
    /// actors or interest groups, or into the room's cache, with
    /// <see cref="OpRaiseEvent(byte, object, RaiseEventOptions, SendOptions)"/> and <see cref="OpChangeGroups"/>.
    /// At a master, <see cref="OpJoinLobby"/> fills <see cref="RoomList"/>.
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
        /// player's actor number, the actor numbers in the room, ascending, and whether this was a rejoin:
        /// true when the client came back by itself after losing the connection, with the same actor number,
        /// within the room's PlayerTtl (<see cref="IsRejoining"/> was true until now; <see cref="CurrentRoom"/>
        /// holds what it missed of the properties). <see cref="Room"/>, <see cref="ActorNumber"/> and
        /// <see cref="CurrentRoom"/> give them already in the <see cref="StateChanged"/> handler for
        /// <see cref="ClientState.Joined"/>, which comes first.
        /// </summary>
        public event Action<string, int, int[], bool> Joined;

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

        /// <summary>An event raised in the room (by another player, or by the server, such as a join:
        /// <see cref="EventCode"/>), or the lobby's room list (<see cref="EventCode.GameList"/> and
        /// <see cref="EventCode.GameListUpdate"/>, already in <see cref="RoomList"/>). The events of a room's
        /// cache come first after a join, in the order they were cached.</summary>
        public event Action<EventData> EventReceived;

        /// <summary>A status of the connection underneath, to the master or a game server (a switch between
        /// them shows as Disconnect, then Connect and EncryptionEstablished). <see cref="LastStatusReason"/>
        /// and <see cref="LastStatusMessage"/> are set just before.</summary>
        public event Action<StatusCode> StatusChanged;

        /// <summary>A response to an operation the client did not send as one of its own requests: one sent
        /// with <see cref="SendOperation(byte, ParameterDictionary, SendOptions)"/>, or one of the room calls
        /// (<see cref="OperationCode.SetProperties"/>, with <see cref="ReturnCode.PropertiesConflict"/> for a
        /// compare-and-set that did not match; <see cref="OperationCode.ChangeGroups"/>,
        /// <see cref="OperationCode.JoinLobby"/>, <see cref="OperationCode.LeaveLobby"/>; and a refused
        /// raise).</summary>
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

        /// <summary>
        /// The room the client is in, as its native client knows it (Photon's CurrentRoom), or null outside a
        /// room: the name, the server's properties as typed members, the custom properties, the master client
        /// and the players with theirs. The client keeps that view from the join's answer and the room's
        /// events (<see cref="EventCode.Join"/>, <see cref="EventCode.Leave"/>,
        /// <see cref="EventCode.PropertiesChanged"/>), so it shows a change once the event that brings it has
        /// been raised by <see cref="Service"/>; already in the <see cref="StateChanged"/> handler for
        /// <see cref="ClientState.Joined"/>.
        /// <para>
        /// Each read builds a new copy the caller owns (several native calls, copied into managed objects, the
        /// native copies freed at once): read it once where you need it, not once per member. Any thread; read
        /// on the thread that calls <see cref="Service"/> it is consistent, since the view changes only inside
        /// Service, while from another thread its parts may straddle a change.
        /// </para>
        /// </summary>
        /// <exception cref="SealnetException">A native call failed other than for being outside a room (a binding
        /// or library bug).</exception>
        public Room CurrentRoom
        {
            get
            {
                IntPtr client = Handle;
                string name = Room;
                if (name == null)
                {
                    return null;
                }
                int master;
                var result = Check(NativeMethods.peer_client_master_client(client, out master));
                if (result == PeerResult.WrongState)
                {
                    return null;
                }
                ThrowUnlessOk(result, "peer_client_master_client");
                IntPtr table;
                result = Check(NativeMethods.peer_client_room_properties(client, out table));
                Hashtable properties = TakeTable(result, table, "peer_client_room_properties");
                int[] actors = properties != null ? PlayerActors(client) : null;
                if (actors == null)
                {
                    return null;
                }
                int own = ActorNumber;
                var players = new Dictionary<int, Player>(actors.Length);
                foreach (int actor in actors)
                {
                    result = Check(NativeMethods.peer_client_player_properties(client, actor, out table));
                    if (result == PeerResult.NotFound)
                    {
                        continue; // left between the two calls (only when read off the Service thread)
                    }
                    Hashtable playerProperties = TakeTable(result, table, "peer_client_player_properties");
                    if (playerProperties == null)
                    {
                        return null;
                    }
                    players[actor] = new Player(actor, playerProperties, actor == own, actor == master);
                }
                GC.KeepAlive(this);
                return new Room(name, master, properties, players);
            }
        }

        /// <summary>
        /// The lobby's room list after <see cref="OpJoinLobby"/>: each visible room by name, with its player
        /// count, its most players, whether it is open, and the custom properties it lists
        /// (<see cref="RoomOptions.CustomRoomPropertiesForLobby"/>). Empty outside the lobby. It fills when the
        /// lobby's first <see cref="EventCode.GameList"/> has been raised by <see cref="Service"/> and follows
        /// each update. Each read builds a new copy the caller owns; any thread, as <see cref="CurrentRoom"/>.
        /// </summary>
        /// <exception cref="SealnetException">The native call failed (a binding or library bug).</exception>
        public Dictionary<string, RoomInfo> RoomList
        {
            get
            {
                IntPtr table;
                var result = Check(NativeMethods.peer_client_room_list(Handle, out table));
                ThrowUnlessOk(result, "peer_client_room_list");
                Hashtable list;
                try
                {
                    list = ValueReader.TableFromNative(table);
                }
                finally
                {
                    NativeMethods.peer_table_free(table);
                }
                var rooms = new Dictionary<string, RoomInfo>(list.Count);
                foreach (DictionaryEntry entry in list)
                {
                    var name = entry.Key as string;
                    var listed = entry.Value as Hashtable;
                    if (name == null || listed == null)
                    {
                        throw new InvalidOperationException("peer_client_room_list gave an entry of "
                            + (entry.Key == null ? "null" : entry.Key.GetType().Name) + " to "
                            + (entry.Value == null ? "null" : entry.Value.GetType().Name)
                            + ", not a room name to a table: the binding does not match the native library");
                    }
                    rooms[name] = new RoomInfo(name, listed);
                }
                GC.KeepAlive(this);
                return rooms;
            }
        }

        /// <summary>True while the client is coming back to its room by itself after losing the connection
        /// within the room's PlayerTtl (peer_client_is_rejoining): <see cref="Joined"/> with rejoined true ends
        /// it, or <see cref="Failed"/> with <see cref="ReturnCode.JoinFailedWithRejoinerNotFound"/> when the place
        /// is gone. Any thread.</summary>
        public bool IsRejoining
        {
            get
            {
                byte rejoining;
                var result = Check(NativeMethods.peer_client_is_rejoining(Handle, out rejoining));
                ThrowUnlessOk(result, "peer_client_is_rejoining");
                GC.KeepAlive(this);
                return rejoining != 0;
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

        /// <summary>The result of the latest Connect, Op*, SetMasterClient or Disconnect call.</summary>
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
        /// <exception cref="ArgumentOutOfRangeException">Negative numbers in <paramref name="options"/>.</exception>
        /// <exception cref="ArgumentException">A custom room property of an unsupported type or key, or a listed
        /// name that is null or holds NUL (the message names it).</exception>
        /// <exception cref="SealnetException">Custom room properties beyond the native limits.</exception>
        public PeerResult OpJoinOrCreateRoom(string name, RoomOptions options = null)
        {
            if (name == null)
            {
                throw new ArgumentNullException("name");
            }
            byte[] utf8 = RoomName(name);
            IntPtr client = Handle;
            using (var arguments = new NativeArguments())
            {
                NativeRoomOptions native = options != null ? options.ToNative(arguments) : RoomOptions.NativeDefaults();
                return Record(NativeMethods.peer_client_join_or_create_room(client, utf8, ref native));
            }
        }

        /// <summary>
        /// CreateRoom: as <see cref="OpJoinOrCreateRoom"/>, but fails (<see cref="Failed"/> with
        /// <see cref="ReturnCode.GameIdAlreadyExists"/>) if the room exists.
        /// </summary>
        /// <param name="name">The room's name, or null to have the master name it (<see cref="Joined"/> gives the name).</param>
        /// <param name="options">Options of the room; null for the defaults.</param>
        /// <returns>Ok, or <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        /// <exception cref="ArgumentOutOfRangeException">Negative numbers in <paramref name="options"/>.</exception>
        /// <exception cref="ArgumentException">A custom room property of an unsupported type or key, or a listed
        /// name that is null or holds NUL (the message names it).</exception>
        /// <exception cref="SealnetException">Custom room properties beyond the native limits.</exception>
        public PeerResult OpCreateRoom(string name, RoomOptions options = null)
        {
            byte[] utf8 = name != null ? RoomName(name) : null;
            IntPtr client = Handle;
            using (var arguments = new NativeArguments())
            {
                NativeRoomOptions native = options != null ? options.ToNative(arguments) : RoomOptions.NativeDefaults();
                return Record(NativeMethods.peer_client_create_room(client, utf8, ref native));
            }
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

        /// <summary>
        /// Raises event <paramref name="code"/> as <see cref="OpRaiseEvent(byte, object, SendOptions)"/> does, to
        /// the receivers, target actors or interest group <paramref name="raiseEventOptions"/> names, or adding it
        /// to the room's event cache, or removing cached events (Photon's OpRaiseEvent). A raise the server
        /// refuses (a full cache, say) is answered as <see cref="ResponseReceived"/> with the raise's operation
        /// code 253 and the reason.
        /// </summary>
        /// <param name="code">The event code, 0 to 199 (with <see cref="EventCaching.RemoveFromRoomCache"/>: the
        /// code of the cached events to remove, 0 for every code).</param>
        /// <param name="data">The event's data, or null.</param>
        /// <param name="raiseEventOptions">Receivers, target actors, interest group and caching; null for the
        /// defaults (to the others, not cached). Read during the call only.</param>
        /// <param name="sendOptions">Delivery, encryption and channel.</param>
        /// <returns>As <see cref="OpRaiseEvent(byte, object, SendOptions)"/>; also
        /// <see cref="PeerResult.InvalidArgument"/> for a <see cref="ReceiverGroup"/> or <see cref="EventCaching"/>
        /// value that is none of the named ones.</returns>
        /// <exception cref="ArgumentException">Data of an unsupported type (the message names the type).</exception>
        /// <exception cref="SealnetException">Data beyond the native limits; <see cref="SealnetException.NativeMessage"/> names the limit.</exception>
        public PeerResult OpRaiseEvent(byte code, object data, RaiseEventOptions raiseEventOptions, SendOptions sendOptions)
        {
            IntPtr client = Handle;
            NativeSendOptions send = sendOptions.ToNative();
            using (var arguments = new NativeArguments())
            {
                NativeRaiseEventOptions raise = (raiseEventOptions ?? new RaiseEventOptions()).ToNative(arguments);
                uint raw = ValueWriter.WithNativeValue(EventData.CustomDataKey, data,
                    (ref NativeValue value) => NativeMethods.peer_client_raise_event_with(client, code, ref value, ref raise, ref send));
                return Record(raw);
            }
        }

        /// <summary>
        /// Sets custom properties of the room (Photon's OpSetCustomPropertiesOfRoom): each key of
        /// <paramref name="propertiesToSet"/> takes its value, and a null value removes the key. With
        /// <paramref name="expectedProperties"/>, only if those keys have those values now (a null value: the
        /// key must be absent), compared and set at once by the server, so that of two players changing the
        /// same property from the same value only one wins. The answer comes as <see cref="ResponseReceived"/>
        /// with <see cref="OperationCode.SetProperties"/>: <see cref="ReturnCode.Ok"/>, or
        /// <see cref="ReturnCode.PropertiesConflict"/> when an expected value did not match (nothing changed),
        /// or <see cref="ReturnCode.InvalidOperation"/> with the reason for a change the server refuses (too
        /// large, a byte key it does not let players set). A change reaches every player, this one too, as
        /// <see cref="EventCode.PropertiesChanged"/>, and <see cref="CurrentRoom"/> shows it from then on.
        /// </summary>
        /// <param name="propertiesToSet">The changes: any <see cref="IDictionary"/> with string or number keys
        /// and values of the types a <see cref="ParameterDictionary"/> takes; of the byte keys
        /// (<see cref="GamePropertyKey"/>) IsOpen, IsVisible, MaxPlayers and MasterClientId may be set. Copied.</param>
        /// <param name="expectedProperties">The values to compare with, or null (default) to set unconditionally. Copied.</param>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless in a room.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="propertiesToSet"/> is null.</exception>
        /// <exception cref="ArgumentException">A key or value of an unsupported type (the message names it).</exception>
        /// <exception cref="SealnetException">Values beyond the native limits.</exception>
        public PeerResult OpSetCustomPropertiesOfRoom(IDictionary propertiesToSet, IDictionary expectedProperties = null)
        {
            return SetProperties(0, propertiesToSet, expectedProperties);
        }

        /// <summary>
        /// Sets custom properties of the player <paramref name="actorNumber"/> (this client's own, or another
        /// player's; Photon's OpSetCustomPropertiesOfActor), as <see cref="OpSetCustomPropertiesOfRoom"/> does for
        /// the room: the same compare-and-set, answer and <see cref="EventCode.PropertiesChanged"/>, and
        /// <see cref="Player.CustomProperties"/> in <see cref="CurrentRoom"/> follows. The server's player
        /// properties (<see cref="ActorProperties"/>) are read-only.
        /// </summary>
        /// <param name="actorNumber">The player's actor number (1 or more).</param>
        /// <param name="propertiesToSet">The changes, as for <see cref="OpSetCustomPropertiesOfRoom"/>. Copied.</param>
        /// <param name="expectedProperties">The values to compare with, or null (default). Copied.</param>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless in a room. A player who is not in
        /// the room is answered with <see cref="ReturnCode.InvalidOperation"/>.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="actorNumber"/> is 0 or less.</exception>
        /// <exception cref="ArgumentNullException"><paramref name="propertiesToSet"/> is null.</exception>
        /// <exception cref="ArgumentException">A key or value of an unsupported type (the message names it).</exception>
        /// <exception cref="SealnetException">Values beyond the native limits.</exception>
        public PeerResult OpSetCustomPropertiesOfActor(int actorNumber, IDictionary propertiesToSet,
            IDictionary expectedProperties = null)
        {
            if (actorNumber <= 0)
            {
                // 0 would name the room in the C API: refused rather than silently setting the room's.
                throw new ArgumentOutOfRangeException("actorNumber", "an actor number is 1 or more");
            }
            return SetProperties(actorNumber, propertiesToSet, expectedProperties);
        }

        /// <summary>
        /// Hands the master client role to the player <paramref name="actorNumber"/> (Photon's
        /// Room.SetMasterClient), compared and set against the master this client knows, so that two players
        /// handing it over at once cannot both win (the loser's answer is
        /// <see cref="ReturnCode.PropertiesConflict"/>, as for <see cref="OpSetCustomPropertiesOfRoom"/>). Every
        /// player sees the change as <see cref="EventCode.PropertiesChanged"/>, and
        /// <see cref="Room.MasterClientId"/> of <see cref="CurrentRoom"/> follows.
        /// </summary>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless in a room.</returns>
        public PeerResult SetMasterClient(int actorNumber)
        {
            return Record(NativeMethods.peer_client_set_master_client(Handle, actorNumber));
        }

        /// <summary>
        /// Changes this client's interest groups (Photon's OpChangeGroups): leaves the groups of
        /// <paramref name="groupsToRemove"/>, then joins those of <paramref name="groupsToAdd"/> (group numbers 1
        /// to 255). A null list leaves that step out; an empty one means every group (leave all, or join all).
        /// Events raised with <see cref="RaiseEventOptions.InterestGroup"/> reach only the subscribers of their
        /// group. The answer comes as <see cref="ResponseReceived"/> with <see cref="OperationCode.ChangeGroups"/>;
        /// the subscriptions last until the client leaves the room. Both lists are copied.
        /// </summary>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless in a room.</returns>
        public PeerResult OpChangeGroups(byte[] groupsToRemove, byte[] groupsToAdd)
        {
            IntPtr client = Handle;
            using (var arguments = new NativeArguments())
            {
                IntPtr remove = arguments.ByteList(groupsToRemove);
                IntPtr add = arguments.ByteList(groupsToAdd);
                return Record(NativeMethods.peer_client_change_groups(client,
                    remove, (UIntPtr)(uint)(groupsToRemove != null ? groupsToRemove.Length : 0),
                    add, (UIntPtr)(uint)(groupsToAdd != null ? groupsToAdd.Length : 0)));
            }
        }

        /// <summary>
        /// Joins the lobby at the master (Photon's OpJoinLobby, of the default lobby): <see cref="RoomList"/>
        /// fills with the visible rooms and follows the server's updates, at most about once a second (each
        /// comes as <see cref="EventReceived"/> too: <see cref="EventCode.GameList"/>, then
        /// <see cref="EventCode.GameListUpdate"/>). The answer comes as <see cref="ResponseReceived"/> with
        /// <see cref="OperationCode.JoinLobby"/>. A room request leaves the lobby.
        /// </summary>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless connected to a master
        /// (<see cref="ClientState.ConnectedToMasterServer"/>).</returns>
        public PeerResult OpJoinLobby()
        {
            return Record(NativeMethods.peer_client_join_lobby(Handle));
        }

        /// <summary>Leaves the lobby (Photon's OpLeaveLobby); <see cref="RoomList"/> empties at once. The answer
        /// comes as <see cref="ResponseReceived"/> with <see cref="OperationCode.LeaveLobby"/>.</summary>
        /// <returns>Ok when sent; <see cref="PeerResult.WrongState"/> unless connected to a master.</returns>
        public PeerResult OpLeaveLobby()
        {
            return Record(NativeMethods.peer_client_leave_lobby(Handle));
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
                        joined(polled.Room, polled.Actor, polled.Actors, polled.Rejoined);
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

        private PeerResult SetProperties(int actorNumber, IDictionary propertiesToSet, IDictionary expectedProperties)
        {
            if (propertiesToSet == null)
            {
                throw new ArgumentNullException("propertiesToSet");
            }
            IntPtr client = Handle;
            using (var arguments = new NativeArguments())
            {
                IntPtr changes = arguments.Table(propertiesToSet, "propertiesToSet");
                IntPtr expected = arguments.Table(expectedProperties, "expectedProperties");
                uint raw = actorNumber == 0
                    ? NativeMethods.peer_client_set_room_properties(client, changes, expected)
                    : NativeMethods.peer_client_set_player_properties(client, actorNumber, changes, expected);
                return Record(raw);
            }
        }

        /// <summary>The actor numbers of the room's players (peer_client_players), or null outside a room.</summary>
        private int[] PlayerActors(IntPtr client)
        {
            var buffer = new int[16];
            while (true)
            {
                UIntPtr count;
                var result = Check(NativeMethods.peer_client_players(client, buffer, (UIntPtr)(uint)buffer.Length, out count));
                if (result == PeerResult.WrongState)
                {
                    return null;
                }
                int length = checked((int)(ulong)count);
                if (result == PeerResult.Ok)
                {
                    var actors = new int[length];
                    Array.Copy(buffer, actors, length);
                    return actors;
                }
                if (result != PeerResult.BufferTooSmall)
                {
                    throw new SealnetException(result, "peer_client_players", NativeMethods.LastError());
                }
                // Asked again: players may have joined meanwhile.
                buffer = new int[length];
            }
        }

        /// <summary>Copies the owned table a room reader wrote into a Hashtable and frees it; null when the
        /// reader found the client outside a room.</summary>
        private static Hashtable TakeTable(PeerResult result, IntPtr table, string what)
        {
            if (result == PeerResult.WrongState)
            {
                return null;
            }
            ThrowUnlessOk(result, what);
            try
            {
                return ValueReader.TableFromNative(table);
            }
            finally
            {
                NativeMethods.peer_table_free(table);
            }
        }

        private static void ThrowUnlessOk(PeerResult result, string what)
        {
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, what, NativeMethods.LastError());
            }
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
            public bool Rejoined;
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
                        polled.Rejoined = native.rejoined != 0;
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
