using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Sealnet
{
    /// <summary>
    /// Who an event raised with <see cref="RealtimeClient.OpRaiseEvent(byte, object, RaiseEventOptions, SendOptions)"/>
    /// reaches, and what it does to the room's event cache (Photon's RaiseEventOptions;
    /// peer_raise_event_options_t). A new instance holds the defaults: to the others, no interest group, not
    /// cached. Read during the call it is given to only (the target actors are copied), so one instance may be
    /// reused and changed between calls.
    /// </summary>
    public sealed class RaiseEventOptions
    {
        /// <summary>Who receives the event (default <see cref="ReceiverGroup.Others"/>); ignored when
        /// <see cref="TargetActors"/> is set.</summary>
        public ReceiverGroup Receivers { get; set; }

        /// <summary>
        /// The actor numbers the event reaches instead of <see cref="Receivers"/> (the sender too if listed;
        /// actors not in the room are passed over), or null or empty (default) for the receivers. With
        /// <see cref="EventCaching.RemoveFromRoomCache"/>: the senders whose cached events leave the cache.
        /// </summary>
        public int[] TargetActors { get; set; }

        /// <summary>Only the players subscribed to this interest group (1 to 255; see
        /// <see cref="RealtimeClient.OpChangeGroups"/>) within the receivers; 0 (default): no group, everyone.</summary>
        public byte InterestGroup { get; set; }

        /// <summary>What the event does to the room's cache (default <see cref="EventCaching.DoNotCache"/>).</summary>
        public EventCaching CachingOption { get; set; }

        /// <summary>The native form; the target actors are pinned in <paramref name="arguments"/> for the call.</summary>
        internal NativeRaiseEventOptions ToNative(NativeArguments arguments)
        {
            var native = new NativeRaiseEventOptions
            {
                struct_size = NativeMethods.RaiseEventOptionsSize,
                receivers = (byte)Receivers,
                interest_group = InterestGroup,
                cache = (byte)CachingOption,
            };
            int[] targets = TargetActors;
            if (targets != null && targets.Length > 0)
            {
                native.target_actors = arguments.Pin(targets);
                native.target_actor_count = (UIntPtr)(uint)targets.Length;
            }
            return native;
        }
    }

    /// <summary>
    /// A player of the room, as <see cref="RealtimeClient.CurrentRoom"/> read it (Photon's Player): a copy,
    /// which does not change when the room does.
    /// </summary>
    public sealed class Player
    {
        internal Player(int actorNumber, Hashtable properties, bool isLocal, bool isMasterClient)
        {
            ActorNumber = actorNumber;
            NickName = properties[ActorProperties.PlayerName] as string ?? string.Empty;
            UserId = properties[ActorProperties.UserId] as string;
            IsInactive = properties[ActorProperties.IsInactive] is bool && (bool)properties[ActorProperties.IsInactive];
            CustomProperties = RoomProperties.CustomOnly(properties);
            IsLocal = isLocal;
            IsMasterClient = isMasterClient;
        }

        /// <summary>The player's actor number in the room (from 1; never reused while the room exists).</summary>
        public int ActorNumber { get; private set; }

        /// <summary>The nickname authentication gave the player (the backend's display name); empty when it
        /// has none, as anonymous players do.</summary>
        public string NickName { get; private set; }

        /// <summary>The user id from authentication, where the server publishes user ids (its
        /// <c>publish_user_id</c> setting); null otherwise.</summary>
        public string UserId { get; private set; }

        /// <summary>True while the player's connection is lost and the room keeps its place (its PlayerTtl):
        /// it may come back with the same actor number.</summary>
        public bool IsInactive { get; private set; }

        /// <summary>True for this client's own player.</summary>
        public bool IsLocal { get; private set; }

        /// <summary>True for the room's master client.</summary>
        public bool IsMasterClient { get; private set; }

        /// <summary>The player's custom properties (string or number keys; the server's byte keys are the
        /// members above). A copy the caller owns: changing it changes nothing in the room (use
        /// <see cref="RealtimeClient.OpSetCustomPropertiesOfActor"/>).</summary>
        public Hashtable CustomProperties { get; private set; }

        /// <summary>A short description for logs.</summary>
        public override string ToString()
        {
            return "Player " + ActorNumber + (NickName.Length > 0 ? " '" + NickName + "'" : "")
                + (IsLocal ? " (local)" : "") + (IsMasterClient ? " (master)" : "") + (IsInactive ? " (inactive)" : "")
                + ", " + CustomProperties.Count + " custom propert" + (CustomProperties.Count == 1 ? "y" : "ies");
        }
    }

    /// <summary>
    /// The room the client is in, as <see cref="RealtimeClient.CurrentRoom"/> read it (Photon's Room): a
    /// copy, which does not change when the room does. Read <see cref="RealtimeClient.CurrentRoom"/> again
    /// for the news, for example after <see cref="EventCode.PropertiesChanged"/>, <see cref="EventCode.Join"/>
    /// or <see cref="EventCode.Leave"/>.
    /// </summary>
    public sealed class Room
    {
        internal Room(string name, int masterClientId, Hashtable properties, Dictionary<int, Player> players)
        {
            Name = name;
            MasterClientId = masterClientId;
            MaxPlayers = RoomProperties.Int(properties, GamePropertyKey.MaxPlayers, 0);
            IsOpen = RoomProperties.Bool(properties, GamePropertyKey.IsOpen, true);
            IsVisible = RoomProperties.Bool(properties, GamePropertyKey.IsVisible, true);
            PlayerTtl = RoomProperties.Int(properties, GamePropertyKey.PlayerTtl, 0);
            EmptyRoomTtl = RoomProperties.Int(properties, GamePropertyKey.EmptyRoomTtl, 0);
            CustomProperties = RoomProperties.CustomOnly(properties);
            Players = players;
        }

        /// <summary>The room's name.</summary>
        public string Name { get; private set; }

        /// <summary>The actor number of the master client: the room's creator until the role is handed over
        /// (<see cref="RealtimeClient.SetMasterClient"/>) or it leaves (then the lowest actor number left).</summary>
        public int MasterClientId { get; private set; }

        /// <summary>The most players the room takes; 0: as many as the server allows.</summary>
        public int MaxPlayers { get; private set; }

        /// <summary>Whether others may join.</summary>
        public bool IsOpen { get; private set; }

        /// <summary>Whether JoinRandomRoom may pick the room and the lobby lists it.</summary>
        public bool IsVisible { get; private set; }

        /// <summary>Milliseconds a player whose connection is lost keeps its place (0: none).</summary>
        public int PlayerTtl { get; private set; }

        /// <summary>Milliseconds the room outlives its last player (0: none).</summary>
        public int EmptyRoomTtl { get; private set; }

        /// <summary>The room's custom properties (string or number keys; the server's byte keys are the members
        /// above). A copy the caller owns: changing it changes nothing in the room (use
        /// <see cref="RealtimeClient.OpSetCustomPropertiesOfRoom"/>).</summary>
        public Hashtable CustomProperties { get; private set; }

        /// <summary>The players by actor number, inactive ones too. A copy the caller owns.</summary>
        public Dictionary<int, Player> Players { get; private set; }

        /// <summary>The number of players, inactive ones too.</summary>
        public int PlayerCount
        {
            get { return Players.Count; }
        }

        /// <summary>The master client's player, or null if it is not in <see cref="Players"/>.</summary>
        public Player MasterClient
        {
            get { return GetPlayer(MasterClientId); }
        }

        /// <summary>The player with actor number <paramref name="actorNumber"/>, or null.</summary>
        public Player GetPlayer(int actorNumber)
        {
            Player player;
            return Players.TryGetValue(actorNumber, out player) ? player : null;
        }

        /// <summary>A short description for logs.</summary>
        public override string ToString()
        {
            return "Room '" + Name + "': " + PlayerCount + (MaxPlayers > 0 ? "/" + MaxPlayers : "") + " players, master "
                + MasterClientId + (IsOpen ? "" : ", closed") + (IsVisible ? "" : ", invisible") + ", "
                + CustomProperties.Count + " custom propert" + (CustomProperties.Count == 1 ? "y" : "ies");
        }
    }

    /// <summary>
    /// A room of the lobby's list, as <see cref="RealtimeClient.RoomList"/> read it (Photon's RoomInfo): a
    /// copy, which does not change when the list does.
    /// </summary>
    public sealed class RoomInfo
    {
        internal RoomInfo(string name, Hashtable listed)
        {
            Name = name;
            PlayerCount = RoomProperties.Int(listed, GamePropertyKey.PlayerCount, 0);
            MaxPlayers = RoomProperties.Int(listed, GamePropertyKey.MaxPlayers, 0);
            IsOpen = RoomProperties.Bool(listed, GamePropertyKey.IsOpen, true);
            CustomProperties = RoomProperties.CustomOnly(listed);
        }

        /// <summary>The room's name (what <see cref="RealtimeClient.OpJoinRoom"/> takes).</summary>
        public string Name { get; private set; }

        /// <summary>The number of players in the room.</summary>
        public int PlayerCount { get; private set; }

        /// <summary>The most players the room takes; 0: as many as the server allows.</summary>
        public int MaxPlayers { get; private set; }

        /// <summary>Whether others may join.</summary>
        public bool IsOpen { get; private set; }

        /// <summary>The custom properties the room lists in the lobby (its
        /// <see cref="RoomOptions.CustomRoomPropertiesForLobby"/>), with their values. A copy the caller owns.</summary>
        public Hashtable CustomProperties { get; private set; }

        /// <summary>A short description for logs.</summary>
        public override string ToString()
        {
            return "RoomInfo '" + Name + "': " + PlayerCount + (MaxPlayers > 0 ? "/" + MaxPlayers : "") + " players"
                + (IsOpen ? "" : ", closed") + ", " + CustomProperties.Count + " listed propert"
                + (CustomProperties.Count == 1 ? "y" : "ies");
        }
    }

    /// <summary>Reading the property tables of the native room view.</summary>
    internal static class RoomProperties
    {
        /// <summary>The entries of <paramref name="properties"/> whose keys are not bytes (the server's).</summary>
        internal static Hashtable CustomOnly(Hashtable properties)
        {
            var custom = new Hashtable();
            foreach (DictionaryEntry entry in properties)
            {
                if (!(entry.Key is byte))
                {
                    custom[entry.Key] = entry.Value;
                }
            }
            return custom;
        }

        internal static int Int(Hashtable properties, byte key, int absent)
        {
            object value = properties[key];
            return value is int ? (int)value : absent;
        }

        internal static bool Bool(Hashtable properties, byte key, bool absent)
        {
            object value = properties[key];
            return value is bool ? (bool)value : absent;
        }
    }

    /// <summary>
    /// What the arguments of one native call point at: pinned managed arrays and native tables the binding
    /// built. Everything is released by Dispose, once the call (which copies what it keeps) has returned.
    /// Not thread-safe; one instance per call.
    /// </summary>
    internal sealed class NativeArguments : IDisposable
    {
        private readonly List<GCHandle> pins = new List<GCHandle>();
        private readonly List<IntPtr> tables = new List<IntPtr>();

        /// <summary>Pins a blittable array until Dispose; the address of its first element.</summary>
        internal IntPtr Pin(Array blittable)
        {
            var pin = GCHandle.Alloc(blittable, GCHandleType.Pinned);
            pins.Add(pin);
            return pin.AddrOfPinnedObject();
        }

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>, pinned until Dispose.</summary>
        /// <exception cref="ArgumentException"><paramref name="text"/> is null or holds a NUL character (the
        /// message names <paramref name="what"/>).</exception>
        internal IntPtr Utf8(string text, string what)
        {
            if (text == null)
            {
                throw new ArgumentException(what + " is null", what);
            }
            if (text.IndexOf('\0') >= 0)
            {
                throw new ArgumentException(what + " must not contain NUL characters", what);
            }
            return Pin(NativeMethods.NulTerminatedUtf8(text));
        }

        /// <summary>A native table holding <paramref name="table"/>, freed on Dispose; IntPtr.Zero for null.
        /// Throws as the value conversion does, naming <paramref name="what"/>.</summary>
        internal IntPtr Table(IDictionary table, string what)
        {
            if (table == null)
            {
                return IntPtr.Zero;
            }
            IntPtr native = ValueWriter.TableToNative(table, what);
            tables.Add(native);
            return native;
        }

        /// <summary>
        /// A pointer to <paramref name="bytes"/>, pinned until Dispose, for a list whose NULL and empty forms
        /// mean different things: IntPtr.Zero for null, and a valid pointer (to a spare byte) for an empty array.
        /// </summary>
        internal IntPtr ByteList(byte[] bytes)
        {
            if (bytes == null)
            {
                return IntPtr.Zero;
            }
            return Pin(bytes.Length > 0 ? bytes : new byte[1]);
        }

        public void Dispose()
        {
            foreach (var pin in pins)
            {
                pin.Free();
            }
            pins.Clear();
            foreach (var table in tables)
            {
                NativeMethods.peer_table_free(table);
            }
            tables.Clear();
        }
    }
}
