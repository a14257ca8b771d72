namespace Sealnet
{
    /// <summary>
    /// Connection status codes passed to <see cref="ISealnetListener.OnStatusChanged"/>. The numbers are
    /// Photon's StatusCode numbers and equal the PEER_STATUS_* values of the C header.
    /// </summary>
    public enum StatusCode
    {
        /// <summary>Security exception while connecting.</summary>
        SecurityExceptionOnConnect = 1022,
        /// <summary>The connection could not be established (refused, unreachable).</summary>
        ExceptionOnConnect = 1023,
        /// <summary>Connected; operations may be sent (plain until <see cref="EncryptionEstablished"/>).</summary>
        Connect = 1024,
        /// <summary>Disconnected; always the last status of a connection.</summary>
        Disconnect = 1025,
        /// <summary>An internal exception (for example the game stopped calling Service and the queue filled).</summary>
        Exception = 1026,
        /// <summary>Sending failed.</summary>
        SendError = 1030,
        /// <summary>The server sent something invalid or reading failed.</summary>
        ExceptionOnReceive = 1039,
        /// <summary>Nothing received within the disconnect timeout.</summary>
        TimeoutDisconnect = 1040,
        /// <summary>The server timed this client out.</summary>
        DisconnectByServerTimeout = 1041,
        /// <summary>The server is full.</summary>
        DisconnectByServerUserLimit = 1042,
        /// <summary>The server disconnected this client; <see cref="SealnetPeer.LastStatusReason"/> says why.</summary>
        DisconnectByServerLogic = 1043,
        /// <summary>The server closed the connection without a reason.</summary>
        DisconnectByServerReasonUnknown = 1044,
        /// <summary>The key exchange succeeded; every frame is now authenticated and encryption is available.</summary>
        EncryptionEstablished = 1048,
        /// <summary>The key exchange failed (for example a pin mismatch); the connection closes.</summary>
        EncryptionFailedToEstablish = 1049,
        /// <summary>The server address is invalid.</summary>
        ServerAddressInvalid = 1050,
        /// <summary>The server's host name could not be resolved.</summary>
        DnsExceptionOnConnect = 1051,
    }

    /// <summary>How an operation is delivered (Photon's numbering; PEER_DELIVERY_MODE_*).</summary>
    public enum DeliveryMode : byte
    {
        /// <summary>May be lost; sequenced.</summary>
        Unreliable = 0,
        /// <summary>Delivered and sequenced. The native default.</summary>
        Reliable = 1,
        /// <summary>May be lost; not sequenced.</summary>
        UnreliableUnsequenced = 2,
        /// <summary>Delivered; not sequenced.</summary>
        ReliableUnsequenced = 3,
    }

    /// <summary>
    /// The peer's connection state (PEER_STATE_*). 0, 1, 3 and 4 are Photon's PeerStateValue numbers;
    /// 5 and 6 split Photon's "Connected" by key-exchange progress.
    /// </summary>
    public enum PeerState
    {
        /// <summary>Not connected.</summary>
        Disconnected = 0,
        /// <summary>Connecting.</summary>
        Connecting = 1,
        /// <summary>Connected, no keys yet.</summary>
        Connected = 3,
        /// <summary>Disconnecting.</summary>
        Disconnecting = 4,
        /// <summary>Connected, key exchange running.</summary>
        EstablishingEncryption = 5,
        /// <summary>Connected with keys: encrypted operations can be sent.</summary>
        Encrypted = 6,
    }

    /// <summary>
    /// Result of a native call (PEER_RESULT_*, same numbers). <see cref="PeerResultExtensions.Describe"/>
    /// gives the native library's description.
    /// </summary>
    public enum PeerResult : uint
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>A required pointer argument was NULL (a binding bug if you ever see it).</summary>
        NullParameter = 1,
        /// <summary>The native peer is unknown or was destroyed.</summary>
        InvalidPeer = 2,
        /// <summary>An internal error was caught at the native boundary; the call had no effect.</summary>
        Panic = 3,
        /// <summary>An argument is out of range or not valid UTF-8.</summary>
        InvalidArgument = 4,
        /// <summary>Encryption was requested before the key exchange completed: call EstablishEncryption and wait for EncryptionEstablished.</summary>
        EncryptionNotEstablished = 5,
        /// <summary>The operation is always encrypted and no keys exist yet.</summary>
        MustEncrypt = 6,
        /// <summary>The peer is not connected.</summary>
        NotConnected = 7,
        /// <summary>The peer is already connected or connecting.</summary>
        AlreadyConnected = 8,
        /// <summary>The key exchange is running or done already.</summary>
        KeyExchangeAlreadyStarted = 9,
        /// <summary>The parameters exceed the codec limits (size, count or depth).</summary>
        ParamsTooLarge = 10,
        /// <summary>The encoded message exceeds the frame size limit.</summary>
        MessageTooLarge = 11,
        /// <summary>The send buffer is full: the connection is not draining.</summary>
        SendBufferFull = 12,
        /// <summary>The send counter is exhausted; the connection is closing.</summary>
        CounterExhausted = 13,
        /// <summary>Polling: nothing is queued.</summary>
        NoEvent = 14,
        /// <summary>The parameter key is not present.</summary>
        NotFound = 15,
        /// <summary>The parameter has a different type.</summary>
        TypeMismatch = 16,
        /// <summary>The output buffer is too small.</summary>
        BufferTooSmall = 17,
        /// <summary>The call is not allowed from inside a callback of the same peer.</summary>
        CalledFromCallback = 18,
        /// <summary>The address is not "host:port".</summary>
        InvalidAddress = 19,
        /// <summary>The operating system refused a resource (for example a thread).</summary>
        Io = 20,
        /// <summary><see cref="SealnetPeer.Wait"/>: nothing arrived within the timeout.</summary>
        TimedOut = 21,
        /// <summary>A value's type needs a newer protocol version than the connection speaks (the server, or
        /// <see cref="SealnetPeerConfig.MaxProtocolVersion"/>, is older); the message names the type and both versions.</summary>
        NeedsProtocolVersion = 22,
        /// <summary>The <see cref="RealtimeClient"/> is not in a state that allows the call (for example
        /// <see cref="RealtimeClient.OpRaiseEvent(byte, object, SendOptions)"/> outside a room); <see cref="RealtimeClient.LastResultMessage"/>
        /// names the state.</summary>
        WrongState = 23,
    }

    /// <summary>Why a connection ended (PEER_DISCONNECT_REASON_*); see <see cref="SealnetPeer.LastStatusReason"/>.</summary>
    public enum DisconnectReason : ushort
    {
        /// <summary>No reason given.</summary>
        None = 0,
        /// <summary>The client asked to disconnect.</summary>
        ClientRequest = 1,
        /// <summary>The server is shutting down.</summary>
        ServerShutdown = 2,
        /// <summary>Timeout.</summary>
        Timeout = 3,
        /// <summary>Malformed or unexpected frame.</summary>
        ProtocolViolation = 4,
        /// <summary>A frame failed authentication.</summary>
        AuthenticationFailed = 5,
        /// <summary>A frame was replayed.</summary>
        Replay = 6,
        /// <summary>The server does not know the app id.</summary>
        UnknownAppId = 7,
        /// <summary>Unsupported protocol version.</summary>
        VersionMismatch = 8,
        /// <summary>The key exchange failed.</summary>
        KeyExchangeFailed = 9,
        /// <summary>A send counter was exhausted.</summary>
        CounterExhausted = 10,
        /// <summary>This end did not keep up with its traffic.</summary>
        SlowConsumer = 11,
        /// <summary>Server logic (for example a plugin) disconnected the client.</summary>
        ServerLogic = 12,
        /// <summary>The server is full.</summary>
        ServerFull = 13,
        /// <summary>Sent more than the server allows (operations, bytes or key exchanges per second).</summary>
        RateLimited = 14,
        /// <summary>The server refused the AuthOnceWss token of the key exchange (invalid or expired); the peer
        /// forgets those credentials: authenticate over WSS again.</summary>
        TokenRefused = 15,
    }

    /// <summary>Operation return codes with a fixed meaning (PEER_RETURN_CODE_*).</summary>
    public static class ReturnCode
    {
        /// <summary>Success.</summary>
        public const short Ok = 0;
        /// <summary>The server failed (the message says what). A <see cref="RealtimeClient"/> also reports
        /// through <see cref="RealtimeClient.Failed"/> with it, and operation code 0, a connection to the next
        /// server it could not start.</summary>
        public const short InternalServerError = -1;
        /// <summary>The operation must be sent encrypted.</summary>
        public const short MustEncrypt = -10;
        /// <summary>A server plugin refused the operation.</summary>
        public const short PluginRejected = -11;
        /// <summary>The server cannot take the request now (its output budget is used up); try again.</summary>
        public const short ServerBusy = -12;
        /// <summary>The room is full (Photon's GameFull).</summary>
        public const short GameFull = 32765;

        // Answers to the room requests of a RealtimeClient (Photon's ErrorCode numbers), which reach the
        // game through RealtimeClient.Failed.

        /// <summary>Matchmaking cannot answer: the room directory is unreachable; try again.</summary>
        public const short DirectoryUnavailable = -13;
        /// <summary>CreateRoom of a room that exists (Photon's GameIdAlreadyExists).</summary>
        public const short GameIdAlreadyExists = 32766;
        /// <summary>The room takes no new players (Photon's GameClosed).</summary>
        public const short GameClosed = 32764;
        /// <summary>No game server can take a new room (Photon's ServerFull).</summary>
        public const short ServerFull = 32762;
        /// <summary>JoinRandomRoom found no open, visible room with space (Photon's NoRandomMatchFound).</summary>
        public const short NoRandomMatchFound = 32760;
        /// <summary>JoinRoom of a room that does not exist (Photon's GameDoesNotExist).</summary>
        public const short GameDoesNotExist = 32758;

        // Answers to Authenticate (230) and AuthenticateOnce (231), docs/auth.md section 4.2, and to
        // malformed or unknown operations.

        /// <summary>An operation other than 230/231 before authenticating, where the server does not allow
        /// anonymous players ("authenticate first").</summary>
        public const short OperationNotAllowedInCurrentState = -3;
        /// <summary>A malformed request (for example a connection token over 128 bytes), or an operation
        /// code the server does not know.</summary>
        public const short InvalidOperation = -2;
        /// <summary>Anonymous where the server does not allow it, or custom authentication on a server with
        /// no backend configured.</summary>
        public const short InvalidAuthentication = 32767;
        /// <summary>The backend rejected the player (the debug message may say why).</summary>
        public const short CustomAuthenticationFailed = 32755;
        /// <summary>The server token is not valid here or has expired: authenticate again.</summary>
        public const short AuthenticationTicketExpired = 32753;
        /// <summary>Too many authentication attempts; try again later.</summary>
        public const short HttpLimitReached = 32745;
        /// <summary>The backend is unavailable or answered wrongly; try again.</summary>
        public const short ExternalHttpCallFailed = 32744;

        // Answers about a room's state: the response to SetProperties (OperationCode.SetProperties, through
        // RealtimeClient.ResponseReceived) and the joins of a player whose place the room keeps.

        /// <summary>A compare-and-set of properties (<see cref="RealtimeClient.OpSetCustomPropertiesOfRoom"/> or
        /// <see cref="RealtimeClient.OpSetCustomPropertiesOfActor"/> with expected values) found other values
        /// than expected; nothing changed. Arrives as the <see cref="OperationResponse.ReturnCode"/> of a
        /// <see cref="RealtimeClient.ResponseReceived"/> with <see cref="OperationCode.SetProperties"/>.</summary>
        public const short PropertiesConflict = -14;
        /// <summary>A join by a player whose place in the room is kept as inactive (its connection was lost
        /// within the room's PlayerTtl); it must rejoin instead, which the <see cref="RealtimeClient"/> does by
        /// itself (Photon's JoinFailedFoundInactiveJoiner).</summary>
        public const short JoinFailedFoundInactiveJoiner = 32749;
        /// <summary>A rejoin found no place kept for the player, or came after the room's PlayerTtl: the
        /// <see cref="RealtimeClient"/>'s own rejoin after a lost connection ends with
        /// <see cref="RealtimeClient.Failed"/> and this code (Photon's JoinFailedWithRejoinerNotFound).</summary>
        public const short JoinFailedWithRejoinerNotFound = 32748;
    }

    /// <summary>Operation codes (Photon's numbers) whose responses reach the game: those of authentication
    /// (docs/auth.md), which the peer sends by itself when <see cref="ConnectOptions.AuthValues"/> are set and
    /// whose responses its listener gets, and those of the room calls of a <see cref="RealtimeClient"/>,
    /// whose responses arrive as <see cref="RealtimeClient.ResponseReceived"/>.</summary>
    public static class OperationCode
    {
        /// <summary>Authenticate, sent for <see cref="CustomAuthenticationType.Custom"/> and
        /// <see cref="CustomAuthenticationType.None"/>.</summary>
        public const byte Authenticate = 230;
        /// <summary>AuthenticateOnce, sent for <see cref="CustomAuthenticationType.Token"/>.</summary>
        public const byte AuthenticateOnce = 231;
        /// <summary>SetProperties, sent by <see cref="RealtimeClient.OpSetCustomPropertiesOfRoom"/>,
        /// <see cref="RealtimeClient.OpSetCustomPropertiesOfActor"/> and <see cref="RealtimeClient.SetMasterClient"/>:
        /// answered with <see cref="ReturnCode.Ok"/> or <see cref="ReturnCode.PropertiesConflict"/> (or
        /// <see cref="ReturnCode.InvalidOperation"/> for a value the server refuses).</summary>
        public const byte SetProperties = 252;
        /// <summary>ChangeGroups, sent by <see cref="RealtimeClient.OpChangeGroups"/>.</summary>
        public const byte ChangeGroups = 248;
        /// <summary>JoinLobby, sent by <see cref="RealtimeClient.OpJoinLobby"/>.</summary>
        public const byte JoinLobby = 229;
        /// <summary>LeaveLobby, sent by <see cref="RealtimeClient.OpLeaveLobby"/>.</summary>
        public const byte LeaveLobby = 228;
    }

    /// <summary>Codes of the events the server sends in a room and in the lobby (Photon's EventCode numbers;
    /// the first three are PEER_EVENT_CODE_* of the C header). A <see cref="RealtimeClient"/> reads them itself
    /// into <see cref="RealtimeClient.CurrentRoom"/> and <see cref="RealtimeClient.RoomList"/>, and passes
    /// them on as <see cref="RealtimeClient.EventReceived"/> too.</summary>
    public static class EventCode
    {
        /// <summary>A player joined; <see cref="EventData.Sender"/> is its actor number.</summary>
        public const byte Join = 255;
        /// <summary>A player left, or went inactive (its place kept for the room's PlayerTtl).</summary>
        public const byte Leave = 254;
        /// <summary>Properties of the room or of a player changed; every player, the setter too, gets it, and
        /// <see cref="RealtimeClient.CurrentRoom"/> shows the change from then on.</summary>
        public const byte PropertiesChanged = 253;
        /// <summary>The lobby's whole room list, right after <see cref="RealtimeClient.OpJoinLobby"/>.</summary>
        public const byte GameList = 230;
        /// <summary>Rooms of the lobby's list that changed, at most about once a second.</summary>
        public const byte GameListUpdate = 229;
    }

    /// <summary>Who an event raised with <see cref="RaiseEventOptions"/> reaches (Photon's ReceiverGroup;
    /// PEER_RECEIVERS_*).</summary>
    public enum ReceiverGroup : byte
    {
        /// <summary>Everyone in the room but the sender (the default).</summary>
        Others = 0,
        /// <summary>Everyone in the room, the sender too.</summary>
        All = 1,
        /// <summary>The master client only.</summary>
        MasterClient = 2,
    }

    /// <summary>What an event raised with <see cref="RaiseEventOptions"/> does to the room's event cache
    /// (Photon's EventCaching numbers; PEER_EVENT_CACHE_*).</summary>
    public enum EventCaching : byte
    {
        /// <summary>Nothing (the default).</summary>
        DoNotCache = 0,
        /// <summary>The event is delivered and kept: a player who joins later receives the cached events, in
        /// order, before any live one. The server bounds the cache per room (a full cache refuses the event:
        /// <see cref="ReturnCode.InvalidOperation"/> in a <see cref="RealtimeClient.ResponseReceived"/>).</summary>
        AddToRoomCache = 4,
        /// <summary>Nothing is delivered; the cached events of this event code (0: every code) leave the cache:
        /// those sent by the <see cref="RaiseEventOptions.TargetActors"/>, or by anyone without them.</summary>
        RemoveFromRoomCache = 6,
        /// <summary>Nothing is delivered; the cached events of players who left leave the cache.</summary>
        RemoveFromRoomCacheForActorsLeft = 7,
    }

    /// <summary>Keys of the room properties the server keeps (Photon's GamePropertyKey; PEER_ROOM_PROP_*). They
    /// are byte keys, apart from the custom properties (which have string or number keys), and
    /// <see cref="Room"/> shows them as typed members. <see cref="IsOpen"/>, <see cref="IsVisible"/>,
    /// <see cref="MaxPlayers"/> and <see cref="MasterClientId"/> may be set with
    /// <see cref="RealtimeClient.OpSetCustomPropertiesOfRoom"/>; the others are read-only.</summary>
    public static class GamePropertyKey
    {
        /// <summary>The most players (int; 0: as many as the server allows).</summary>
        public const byte MaxPlayers = 255;
        /// <summary>Listed for JoinRandomRoom and the lobby (bool).</summary>
        public const byte IsVisible = 254;
        /// <summary>Open to new players (bool).</summary>
        public const byte IsOpen = 253;
        /// <summary>The number of players (int; in the lobby's room list).</summary>
        public const byte PlayerCount = 252;
        /// <summary>The master client's actor number (int); setting it hands the role over.</summary>
        public const byte MasterClientId = 248;
        /// <summary>The room's PlayerTtl in milliseconds (int).</summary>
        public const byte PlayerTtl = 246;
        /// <summary>The room's EmptyRoomTtl in milliseconds (int).</summary>
        public const byte EmptyRoomTtl = 245;
    }

    /// <summary>Keys of the player properties the server keeps (Photon's ActorProperties; PEER_PLAYER_PROP_*),
    /// all read-only; <see cref="Player"/> shows them as typed members.</summary>
    public static class ActorProperties
    {
        /// <summary>The nickname from authentication (string).</summary>
        public const byte PlayerName = 255;
        /// <summary>The player lost its connection and its place is kept (bool true; absent while active).</summary>
        public const byte IsInactive = 254;
        /// <summary>The user id from authentication, where the server publishes it (string).</summary>
        public const byte UserId = 253;
    }

    /// <summary>Parameters of a successful response to <see cref="OperationCode.Authenticate"/> or
    /// <see cref="OperationCode.AuthenticateOnce"/>.</summary>
    public static class ParameterCode
    {
        /// <summary>The user id the backend gave (string).</summary>
        public const byte UserId = 225;
        /// <summary>The nickname (string, may be empty).</summary>
        public const byte Nickname = 202;
        /// <summary>The server token (byte[]); JoinRoom responses carry a fresh one too. The peer keeps the
        /// latest: <see cref="SealnetPeer.ServerToken"/>.</summary>
        public const byte Token = 221;
        /// <summary>When <see cref="Token"/> expires (long, milliseconds since the Unix epoch).</summary>
        public const byte TokenExpires = 198;
    }

    /// <summary>How a connection authenticates (PEER_AUTH_*; Photon's CustomAuthenticationType numbers
    /// where Photon has them).</summary>
    public enum CustomAuthenticationType : byte
    {
        /// <summary>The server asks the studio's backend (its webhook) about the connection token.</summary>
        Custom = 0,
        /// <summary>Present a server token (AuthenticateOnce): <see cref="AuthenticationValues.Token"/>, else the
        /// latest one the peer holds (<see cref="SealnetPeer.ServerToken"/>).</summary>
        Token = 254,
        /// <summary>Anonymous, where the server allows it (default).</summary>
        None = 255,
    }

    /// <summary>Where a connection's authentication stands (PEER_AUTH_STATE_*).</summary>
    public enum AuthState
    {
        /// <summary>The connection has no authentication values, or the key exchange is not done.</summary>
        None = 0,
        /// <summary>Sent right after the key exchange; the answer is awaited.</summary>
        Pending = 1,
        /// <summary>The server admitted the player.</summary>
        Authenticated = 2,
        /// <summary>Refused: <see cref="SealnetPeer.AuthReturnCode"/> says why.</summary>
        Failed = 3,
    }

    /// <summary>
    /// Where a <see cref="RealtimeClient"/> stands (PEER_CLIENT_STATE_*; Photon's ClientState numbers, so
    /// 2 and 3 are unused). A login goes PeerCreated, ConnectingToMasterServer, Authenticating,
    /// ConnectedToMasterServer; a room request then Joining, and either Joined or (on a refusal) back to
    /// ConnectedToMasterServer. Where the master places the room on another game server the client
    /// passes DisconnectingFromMasterServer, ConnectingToGameServer, Authenticating, ConnectedToGameServer
    /// and Joining on the way, and after leaving DisconnectingFromGameServer and ConnectingToMasterServer.
    /// </summary>
    public enum ClientState
    {
        /// <summary>Created, not connected yet.</summary>
        PeerCreated = 0,
        /// <summary>Authenticating at a master or game server, after the key exchange.</summary>
        Authenticating = 1,
        /// <summary>Leaving the master for the game server the master named.</summary>
        DisconnectingFromMasterServer = 4,
        /// <summary>Connecting to that game server, requiring the key the master gave.</summary>
        ConnectingToGameServer = 5,
        /// <summary>Authenticated at the game server with the token; the join follows.</summary>
        ConnectedToGameServer = 6,
        /// <summary>A room request is on its way (at the master, or at the game server).</summary>
        Joining = 7,
        /// <summary>In a room: events may be raised.</summary>
        Joined = 8,
        /// <summary>Leaving the room.</summary>
        Leaving = 9,
        /// <summary>Leaving the game server, back to the master.</summary>
        DisconnectingFromGameServer = 10,
        /// <summary>Connecting to a master (at login, or back from a game server with the token).</summary>
        ConnectingToMasterServer = 11,
        /// <summary><see cref="RealtimeClient.Disconnect"/> was called (or an authentication failed).</summary>
        Disconnecting = 12,
        /// <summary>Not connected; <see cref="RealtimeClient.Connect"/> may log in (again).</summary>
        Disconnected = 13,
        /// <summary>Authenticated at a master: room requests may be sent.</summary>
        ConnectedToMasterServer = 14,
    }

    /// <summary>Describes <see cref="PeerResult"/> values with the native library's text.</summary>
    public static class PeerResultExtensions
    {
        /// <summary>
        /// The native description of <paramref name="result"/> (peer_result_str), for example
        /// "can't use encryption yet: establish encryption first (key exchange not completed)".
        /// </summary>
        public static string Describe(this PeerResult result)
        {
            return NativeMethods.ResultText(result);
        }
    }
}
