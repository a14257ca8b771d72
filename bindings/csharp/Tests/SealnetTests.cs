// Console test of the C# binding against the native library and a live sealnet server.
//
// Compiled together with the Runtime sources (so it can check the internal native structures) and run
// by bindings/csharp/test.sh through scripts/with-server.sh, which exports SEALNET_SERVER_ADDR and
// SEALNET_SERVER_KEY. Optional: SEALNET_C_LAYOUT ("name=value;...") holds sizeof/offsetof values
// measured by the C compiler on include/sealnet.h, to compare the C# structure layouts with, and
// SEALNET_C_RETURN_CODES ("NAME=value;...") the header's PEER_RETURN_CODE_* values. Under
// `scripts/with-server.sh --backend --allow-anonymous` the server also calls sealnet-backend's webhook,
// and SEALNET_TEST_CONNECTION_TOKEN (hex) and SEALNET_TEST_NICKNAME describe a guest logged in there;
// without them the test of custom authentication through the backend prints that it was skipped.
//
// Prints one line per test and, as the last line, "N passed, N failed"; exits 1 on any failure.
// Every wait services the peers in a loop until a condition holds or a deadline passes, like a game loop;
// the realtime client's waits block in RealtimeClient.Wait between rounds instead of sleeping.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Sealnet;

internal sealed class TestFailure : Exception
{
    public TestFailure(string message) : base(message) { }
}

/// <summary>Records every callback of one peer.</summary>
internal sealed class Recorder : ISealnetListener
{
    public readonly string Name;
    public SealnetPeer Peer;
    public readonly List<StatusCode> Statuses = new List<StatusCode>();
    public readonly List<DisconnectReason> Reasons = new List<DisconnectReason>();
    public readonly List<string> Messages = new List<string>();
    public readonly List<OperationResponse> Responses = new List<OperationResponse>();
    public readonly List<EventData> Events = new List<EventData>();
    public int Callbacks;
    public Action<EventData> EventHook;

    public Recorder(string name)
    {
        Name = name;
    }

    public void OnStatusChanged(StatusCode statusCode)
    {
        Callbacks++;
        Statuses.Add(statusCode);
        Reasons.Add(Peer != null ? Peer.LastStatusReason : DisconnectReason.None);
        Messages.Add(Peer != null ? Peer.LastStatusMessage : null);
    }

    public void OnOperationResponse(OperationResponse response)
    {
        Callbacks++;
        Responses.Add(response);
    }

    public void OnEvent(EventData eventData)
    {
        Callbacks++;
        Events.Add(eventData);
        if (EventHook != null)
        {
            EventHook(eventData);
        }
    }

    public string StatusList()
    {
        var names = new List<string>();
        foreach (var status in Statuses)
        {
            names.Add(status + "(" + (int)status + ")");
        }
        return "[" + string.Join(", ", names.ToArray()) + "]";
    }

    public EventData FindEvent(byte code, Func<EventData, bool> match)
    {
        foreach (var e in Events)
        {
            if (e.Code == code && (match == null || match(e)))
            {
                return e;
            }
        }
        return null;
    }

    public OperationResponse FindResponse(byte opCode)
    {
        foreach (var r in Responses)
        {
            if (r.OperationCode == opCode)
            {
                return r;
            }
        }
        return null;
    }
}

/// <summary>Records every event of one realtime client.</summary>
internal sealed class ClientRecorder
{
    public sealed class Failure
    {
        public byte Op;
        public short ReturnCode;
        public string Message;
    }

    public readonly string Name;
    public readonly RealtimeClient Client;
    public readonly List<ClientState> States = new List<ClientState>();
    public readonly List<StatusCode> Statuses = new List<StatusCode>();
    public readonly List<Failure> Failures = new List<Failure>();
    public readonly List<EventData> Events = new List<EventData>();
    public readonly List<OperationResponse> Responses = new List<OperationResponse>();
    public int Joins;
    public string JoinedRoom;
    public int JoinedActor;
    public int[] JoinedActors;
    public bool JoinedRejoined;
    // Room and ActorNumber as read inside the latest StateChanged(Joined) handler, before Joined is raised.
    public string RoomInJoinedState;
    public int ActorInJoinedState;

    public ClientRecorder(string name, RealtimeClient client)
    {
        Name = name;
        Client = client;
        client.StateChanged += state =>
        {
            States.Add(state);
            if (state == ClientState.Joined)
            {
                RoomInJoinedState = client.Room;
                ActorInJoinedState = client.ActorNumber;
            }
        };
        client.ResponseReceived += response => Responses.Add(response);
        client.StatusChanged += status => Statuses.Add(status);
        client.Failed += (op, code, message) => Failures.Add(new Failure { Op = op, ReturnCode = code, Message = message });
        client.EventReceived += e => Events.Add(e);
        client.Joined += (room, actor, actors, rejoined) =>
        {
            Joins++;
            JoinedRoom = room;
            JoinedActor = actor;
            JoinedActors = actors;
            JoinedRejoined = rejoined;
        };
    }

    /// <summary>The events of <paramref name="code"/> received so far, as "data" strings in order.</summary>
    public List<string> DataOf(byte code)
    {
        var data = new List<string>();
        foreach (var e in Events)
        {
            if (e.Code == code)
            {
                data.Add(e.CustomData == null ? "null" : e.CustomData.ToString());
            }
        }
        return data;
    }

    /// <summary>The state the events reported last (PeerCreated before any).</summary>
    public ClientState LastState
    {
        get { return States.Count == 0 ? ClientState.PeerCreated : States[States.Count - 1]; }
    }

    public string StateList()
    {
        var names = new List<string>();
        foreach (var state in States)
        {
            names.Add(state + "(" + (int)state + ")");
        }
        return "[" + string.Join(", ", names.ToArray()) + "]";
    }
}

/// <summary>
/// A TCP proxy to the server whose connections the test can cut, as a network failure would: Pause
/// closes every forwarded connection and holds new ones unforwarded (their bytes wait in the socket)
/// until Resume forwards them. Threads copy the bytes; nothing here sleeps.
/// </summary>
internal sealed class CuttableProxy : IDisposable
{
    private readonly System.Net.Sockets.TcpListener listener;
    private readonly string target;
    private readonly object sync = new object();
    private readonly List<System.Net.Sockets.TcpClient> open = new List<System.Net.Sockets.TcpClient>();
    private readonly List<System.Net.Sockets.TcpClient> held = new List<System.Net.Sockets.TcpClient>();
    private bool paused;
    private bool disposed;
    public int Accepted;

    public CuttableProxy(string target)
    {
        this.target = target;
        listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        new Thread(AcceptLoop) { IsBackground = true, Name = "proxy accept" }.Start();
    }

    public string Address
    {
        get { return "127.0.0.1:" + ((System.Net.IPEndPoint)listener.LocalEndpoint).Port; }
    }

    public void Pause()
    {
        lock (sync)
        {
            paused = true;
            foreach (var client in open)
            {
                client.Close();
            }
            open.Clear();
        }
    }

    public void Resume()
    {
        List<System.Net.Sockets.TcpClient> waiting;
        lock (sync)
        {
            paused = false;
            waiting = new List<System.Net.Sockets.TcpClient>(held);
            held.Clear();
        }
        foreach (var client in waiting)
        {
            Forward(client);
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            disposed = true;
            listener.Stop();
            foreach (var client in open)
            {
                client.Close();
            }
            foreach (var client in held)
            {
                client.Close();
            }
            open.Clear();
            held.Clear();
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            System.Net.Sockets.TcpClient client;
            try
            {
                client = listener.AcceptTcpClient();
            }
            catch (Exception)
            {
                return; // stopped
            }
            bool hold;
            lock (sync)
            {
                Accepted++;
                hold = paused;
                if (hold)
                {
                    held.Add(client);
                }
            }
            if (!hold)
            {
                Forward(client);
            }
        }
    }

    private void Forward(System.Net.Sockets.TcpClient client)
    {
        var server = new System.Net.Sockets.TcpClient();
        try
        {
            int colon = target.LastIndexOf(':');
            server.Connect(target.Substring(0, colon), int.Parse(target.Substring(colon + 1)));
        }
        catch (Exception)
        {
            client.Close();
            return;
        }
        lock (sync)
        {
            if (disposed)
            {
                client.Close();
                server.Close();
                return;
            }
            open.Add(client);
            open.Add(server);
        }
        Pump(client, server);
        Pump(server, client);
    }

    private static void Pump(System.Net.Sockets.TcpClient from, System.Net.Sockets.TcpClient to)
    {
        new Thread(() =>
        {
            var buffer = new byte[16384];
            try
            {
                var input = from.GetStream();
                var output = to.GetStream();
                int read;
                while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                {
                    output.Write(buffer, 0, read);
                }
            }
            catch (Exception)
            {
                // Cut, or the other side closed.
            }
            from.Close();
            to.Close();
        }) { IsBackground = true, Name = "proxy pump" }.Start();
    }
}

internal static class SealnetTests
{
    private const string AppId = "demo";
    private const byte OpJoinRoom = 226;
    private const byte OpRaiseEvent = 253;
    private const byte EvJoin = 255;
    private const byte EvLeave = 254;
    private const byte KeyRoom = 255;
    private const byte KeyActor = 254;
    private const byte KeyActors = 252;
    private const byte KeyCode = 244;
    private const byte KeyData = 245;
    private const byte KeyGroup = 246;
    private const int GroupOthers = 0;
    private const int GroupAll = 1;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static int passed;
    private static int failed;
    private static string serverAddress;
    private static string serverKeyHex;
    private static readonly string Room = "csharp-tests-" + Guid.NewGuid().ToString("N");
    private static readonly List<SealnetPeer> Cleanup = new List<SealnetPeer>();
    private static readonly List<RealtimeClient> ClientCleanup = new List<RealtimeClient>();

    // Shared between the realtime client tests.
    private static readonly string ClientRoom = "csharp-realtime-" + Guid.NewGuid().ToString("N");
    private static ClientRecorder alice;
    private static ClientRecorder bob;

    // Shared between the connected tests.
    private static Recorder recA;
    private static Recorder recB;
    private static SealnetPeer peerA;
    private static SealnetPeer peerB;
    private static int actorA;
    private static int actorB;

    private static int Main()
    {
        serverAddress = Environment.GetEnvironmentVariable("SEALNET_SERVER_ADDR");
        serverKeyHex = Environment.GetEnvironmentVariable("SEALNET_SERVER_KEY");
        if (string.IsNullOrEmpty(serverAddress) || string.IsNullOrEmpty(serverKeyHex))
        {
            Console.WriteLine("SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY must be set (run through scripts/with-server.sh)");
            Console.WriteLine("0 passed, 1 failed");
            return 1;
        }
        Console.WriteLine("sealnet native " + SafeVersion() + ", binding " + SealnetPeer.BindingVersion
            + ", server " + serverAddress + ", " + (IntPtr.Size * 8) + "-bit");

        Run("native version matches the binding", NativeVersion);
        Run("struct layouts match the C header", StructLayouts);
        Run("ReturnCode constants match the C header's PEER_RETURN_CODE_*", ReturnCodesMatchHeader);
        Run("room constants (ReceiverGroup, EventCaching, EventCode, GamePropertyKey, ActorProperties) match the C header", RoomConstantsMatchHeader);
        Run("RoomOptions and RaiseEventOptions: native defaults, conversion, refusals", RoomAndRaiseOptions);
        Run("config defaults come from the native library", ConfigDefaults);
        Run("ParameterDictionary round trip of every supported type through peer_params_*", ParameterRoundTrip);
        Run("unsupported parameter types are refused, naming the key and the type", UnsupportedTypes);
        Run("native limits are refused when parameters are built, naming the limit", LimitErrors);
        Run("custom types: registration, unknown codes as CustomData, duplicates refused", CustomTypeRegistration);
        // The realtime client first, while the server holds no room (JoinRandomRoom must find none).
        Run("realtime client: configuration errors are refused before anything is sent", ClientConfigErrors);
        Run("realtime client: requests before the login give WrongState", ClientWrongStateBeforeLogin);
        Run("realtime client: anonymous login reaches ConnectedToMasterServer with the pinned key", ClientLogin);
        Run("realtime client: SendOperation of an unknown operation is answered with InvalidOperation", ClientSendOperation);
        Run("realtime client: JoinRoom of a missing room fails with GameDoesNotExist", ClientJoinMissingRoom);
        Run("realtime client: JoinRandomRoom with nothing open fails with NoRandomMatchFound", ClientJoinRandomNone);
        Run("realtime client: CreateRoom, a second CreateRoom fails with GameIdAlreadyExists, JoinOrCreate joins; Room and ActorNumber in the Joined state handler", ClientCreateAndJoin);
        Run("realtime client: an encrypted event with data reaches the other player", ClientRaiseEvent);
        Run("realtime client: leaving returns to ConnectedToMasterServer; WrongState outside a room", ClientLeave);
        Run("realtime client: CreateRoom without a name is named by the master", ClientCreateUnnamed);
        Run("realtime client: a wrong master key pin fails the login", ClientPinMismatch);
        Run("realtime client: Disconnect, Dispose inside a handler, calls after Dispose", ClientDisconnectAndDispose);
        Run("room session: created with custom properties, lobby-listed keys and a PlayerTtl; CurrentRoom, Players, NickName; the lobby lists it", RoomSessionCreate);
        Run("room session: compare-and-set succeeds, then conflicts (PropertiesConflict); the other player's view follows; null removes", RoomSessionCompareAndSet);
        Run("room session: player properties seen by the other player; the master client handed over, seen by both", RoomSessionPlayersAndMaster);
        Run("room session: a late joiner gets the cached events in order before live ones", RoomSessionCachedEvents);
        Run("room session: TargetActors, MasterClient and interest-group events reach only their receivers", RoomSessionTargetedAndGroups);
        Run("room session: a player cut off mid-game rejoins by itself with its actor number (IsRejoining, Joined rejoined, IsInactive)", RoomSessionRejoin);
        Run("room session: leaving clears CurrentRoom; calls after Dispose throw", RoomSessionLeave);
        Run("connect: Connect then EncryptionEstablished, pinned server key", ConnectInOrder);
        Run("two peers join the same room", JoinRoom);
        Run("encrypted event round trip (WasEncrypted == true)", EncryptedEvent);
        Run("plain event arrives with WasEncrypted == false", PlainEvent);
        Run("every type round-trips through the server with its type", EveryTypeThroughServer);
        Run("stats: round-trip time, traffic counters, server time", Stats);
        Run("Connect(ConnectOptions): app version, per-connection pin, refusals", ConnectWithOptions);
        Run("AuthenticationValues: the native library checks each limit when it is set", AuthValuesLimits);
        Run("anonymous authentication: token kept, refreshed by JoinRoom, presented on reconnect", AnonymousAuthentication);
        Run("WSS: pinned certificate, statuses, refusals; AuthOnceWss from WSS to UDP", WssAndAuthOnce);
        Run("a saved token on a new peer, an altered token (32753), custom with an unknown session", SavedAlteredAndCustom);
        if (Environment.GetEnvironmentVariable("SEALNET_TEST_CONNECTION_TOKEN") != null)
        {
            Run("custom authentication through the backend: nickname, user id, data, token", CustomThroughTheBackend);
        }
        else
        {
            Console.WriteLine("skip custom authentication through the backend (SEALNET_TEST_CONNECTION_TOKEN is not set;"
                + " run under scripts/with-server.sh --backend --allow-anonymous)");
        }
        Run("a version-1 peer: ProtocolVersion 1, version-2 types (int[] too) refused, generic int arrays read", VersionOnePeer);
        Run("Encrypt before the key exchange gives EncryptionNotEstablished", EncryptBeforeKeyExchange);
        Run("a wrong server key pin fails the key exchange", PinMismatch);
        Run("unknown app id: disconnect with reason and message", UnknownAppId);
        Run("connection refused gives ExceptionOnConnect", ConnectionRefused);
        Run("invalid address is refused", InvalidAddress);
        Run("argument errors name the parameter and the limit", ArgumentErrorsNameTheLimit);
        Run("listener exceptions surface from Service, never into native code", ListenerExceptions);
        Run("polling (TryPollEvent) without a listener", Polling);
        Run("Wait blocks until results arrive, times out, or reports no connection", Waiting);
        Run("Dispose inside a callback stops further callbacks", DisposeInsideCallback);
        Run("Dispose while connected: no callback afterwards, others see the leave", DisposeWhileConnected);
        Run("calls after Dispose throw ObjectDisposedException; double Dispose is fine", CallsAfterDispose);
        Run("an undisposed, unreachable peer is finalized and disconnected", FinalizerDestroysPeer);
        Run("Disconnect gives the Disconnect status; reconnecting works", DisconnectAndReconnect);
        Run("Dispose on one thread while another services: no callback after Dispose returns", DisposeWhileServicedElsewhere);

        foreach (var peer in Cleanup)
        {
            peer.Dispose();
        }
        foreach (var client in ClientCleanup)
        {
            client.Dispose();
        }
        Console.WriteLine(passed + " passed, " + failed + " failed");
        Console.Out.Flush();
        return failed == 0 ? 0 : 1;
    }

    private static string SafeVersion()
    {
        try
        {
            return SealnetPeer.NativeVersion;
        }
        catch (Exception e)
        {
            return "(not loadable: " + e.GetType().Name + ": " + e.Message + ")";
        }
    }

    private static void Run(string name, Action test)
    {
        try
        {
            test();
            passed++;
            Console.WriteLine("ok   " + name);
        }
        catch (TestFailure e)
        {
            failed++;
            Console.WriteLine("FAIL " + name + ": " + e.Message);
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine("FAIL " + name + ": unexpected " + e);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Helpers

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new TestFailure(message);
        }
    }

    private static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new TestFailure(what + ": expected " + expected + ", got " + actual);
        }
    }

    private static void Throws<TException>(string what, Action action) where TException : Exception
    {
        try
        {
            action();
        }
        catch (TException)
        {
            return;
        }
        catch (Exception e)
        {
            throw new TestFailure(what + ": expected " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message);
        }
        throw new TestFailure(what + ": expected " + typeof(TException).Name + ", nothing was thrown");
    }

    /// <summary>Services the peers (skipping disposed ones) until the condition holds; fails at the deadline.</summary>
    private static void WaitFor(string what, Func<bool> condition, params SealnetPeer[] peers)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var peer in peers)
            {
                if (!peer.IsDisposed)
                {
                    peer.Service();
                }
            }
            if (condition())
            {
                return;
            }
            if (clock.Elapsed > Deadline)
            {
                throw new TestFailure("timed out after " + Deadline.TotalSeconds + " s waiting for " + what);
            }
            Thread.Sleep(2); // frame pacing, not synchronisation
        }
    }

    /// <summary>Keeps servicing the peers for a while (an observation window, not a wait for something).</summary>
    private static void ServiceFor(TimeSpan duration, params SealnetPeer[] peers)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            foreach (var peer in peers)
            {
                peer.Service();
            }
            Thread.Sleep(2);
        }
    }

    private static SealnetPeerConfig PinnedConfig()
    {
        return new SealnetPeerConfig().PinServerKeyHex(serverKeyHex);
    }

    private static SealnetPeer NewPeer(Recorder recorder, SealnetPeerConfig config)
    {
        var peer = new SealnetPeer(recorder, config);
        recorder.Peer = peer;
        Cleanup.Add(peer);
        return peer;
    }

    private static SealnetPeer ConnectEncrypted(Recorder recorder)
    {
        var peer = NewPeer(recorder, PinnedConfig());
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        WaitFor(recorder.Name + " EncryptionEstablished",
            () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished) || recorder.Statuses.Contains(StatusCode.Disconnect),
            peer);
        Check(recorder.Statuses.Contains(StatusCode.EncryptionEstablished), recorder.Name + " statuses " + recorder.StatusList());
        return peer;
    }

    private static int Join(SealnetPeer peer, Recorder recorder, bool encrypt)
    {
        int before = recorder.Responses.Count;
        var parameters = new ParameterDictionary { { KeyRoom, Room } };
        var options = encrypt ? SendOptions.SendReliableEncrypted : SendOptions.SendReliable;
        Equal(PeerResult.Ok, peer.SendOperation(OpJoinRoom, parameters, options), recorder.Name + " JoinRoom");
        WaitFor(recorder.Name + " JoinRoom response", () => recorder.Responses.Count > before, peer);
        var response = recorder.Responses[before];
        Equal(OpJoinRoom, response.OperationCode, "response op code");
        Equal((short)0, response.ReturnCode, "JoinRoom return code (" + response.DebugMessage + ")");
        Equal(encrypt, response.WasEncrypted, "JoinRoom response encrypted");
        Check(response[KeyActor] is int, "JoinRoom response has an int actor number");
        return (int)response[KeyActor];
    }

    private static ParameterDictionary RaiseParams(int code, object data, int group)
    {
        return new ParameterDictionary { { KeyCode, code }, { KeyData, data }, { KeyGroup, group } };
    }

    private static string Describe(object value)
    {
        if (value == null)
        {
            return "null";
        }
        if (value is string)
        {
            return "string \"" + value + "\"";
        }
        if (value is byte[])
        {
            return "byte[" + ((byte[])value).Length + "]";
        }
        if (value is Array)
        {
            var items = new List<string>();
            foreach (var item in (Array)value)
            {
                items.Add(value is object[] ? Describe(item) : Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture));
                if (items.Count == 8)
                {
                    items.Add("...");
                    break;
                }
            }
            return value.GetType().Name + " {" + string.Join(", ", items.ToArray()) + "}";
        }
        if (value is System.Collections.IDictionary && !(value is ParameterDictionary))
        {
            var items = new List<string>();
            foreach (System.Collections.DictionaryEntry entry in (System.Collections.IDictionary)value)
            {
                items.Add(Describe(entry.Key) + " => " + Describe(entry.Value));
            }
            return value.GetType().Name + " {" + string.Join(", ", items.ToArray()) + "}";
        }
        if (value is ParameterDictionary)
        {
            var items = new List<string>();
            foreach (var entry in (ParameterDictionary)value)
            {
                items.Add(entry.Key + " => " + Describe(entry.Value));
            }
            return "ParameterDictionary {" + string.Join(", ", items.ToArray()) + "}";
        }
        return value.GetType().Name + " " + value;
    }

    /// <summary>
    /// Exact equality: same type, same value (floats bit for bit), recursively for arrays and dictionaries.
    /// A sent IDictionary is expected back as a Hashtable (the received form of every table).
    /// </summary>
    private static bool SameValue(object expected, object actual)
    {
        if (expected == null || actual == null)
        {
            return expected == null && actual == null;
        }
        bool table = expected is System.Collections.IDictionary && !(expected is ParameterDictionary);
        if (table)
        {
            if (actual.GetType() != typeof(System.Collections.Hashtable))
            {
                return false;
            }
            var a = (System.Collections.IDictionary)expected;
            var b = (System.Collections.Hashtable)actual;
            if (a.Count != b.Count)
            {
                return false;
            }
            foreach (System.Collections.DictionaryEntry entry in a)
            {
                // Hashtable lookups compare boxed keys with Equals, which includes the type (7 is not 7L).
                if (!b.ContainsKey(entry.Key) || !SameValue(entry.Value, b[entry.Key]))
                {
                    return false;
                }
            }
            foreach (System.Collections.DictionaryEntry entry in b)
            {
                bool found = false;
                foreach (var key in a.Keys)
                {
                    found |= key.GetType() == entry.Key.GetType() && key.Equals(entry.Key);
                }
                if (!found)
                {
                    return false;
                }
            }
            return true;
        }
        if (expected.GetType() != actual.GetType())
        {
            return false;
        }
        if (expected is float)
        {
            return BitConverter.ToInt32(BitConverter.GetBytes((float)expected), 0)
                == BitConverter.ToInt32(BitConverter.GetBytes((float)actual), 0);
        }
        if (expected is double)
        {
            return BitConverter.DoubleToInt64Bits((double)expected) == BitConverter.DoubleToInt64Bits((double)actual);
        }
        if (expected is Array)
        {
            var a = (Array)expected;
            var b = (Array)actual;
            if (a.Length != b.Length)
            {
                return false;
            }
            for (int i = 0; i < a.Length; i++)
            {
                if (!SameValue(a.GetValue(i), b.GetValue(i)))
                {
                    return false;
                }
            }
            return true;
        }
        if (expected is ParameterDictionary)
        {
            var a = (ParameterDictionary)expected;
            var b = (ParameterDictionary)actual;
            if (a.Count != b.Count)
            {
                return false;
            }
            foreach (var entry in a)
            {
                object other;
                if (!b.TryGetValue(entry.Key, out other) || !SameValue(entry.Value, other))
                {
                    return false;
                }
            }
            return true;
        }
        return expected.Equals(actual);
    }

    private static void SameDictionary(ParameterDictionary expected, ParameterDictionary actual, string what)
    {
        foreach (var entry in expected)
        {
            object other;
            Check(actual.TryGetValue(entry.Key, out other), what + ": key " + entry.Key + " missing");
            Check(SameValue(entry.Value, other), what + ": key " + entry.Key + ": expected " + Describe(entry.Value)
                + ", got " + Describe(other));
        }
        Equal(expected.Count, actual.Count, what + ": entry count");
    }

    // ----------------------------------------------------------------------------------------------
    // The realtime client (RealtimeClient, peer_client_*). The server is of role "all", so a client joins
    // where it logged in, without switching to a game server.

    private static RealtimeClientConfig ClientConfig()
    {
        return new RealtimeClientConfig(AppId, serverAddress).PinMasterKeyHex(serverKeyHex);
    }

    private static ClientRecorder NewClient(string name, RealtimeClientConfig config)
    {
        var client = new RealtimeClient(config);
        ClientCleanup.Add(client);
        return new ClientRecorder(name, client);
    }

    /// <summary>
    /// Services the clients until the condition holds, blocking in Wait between rounds (never a fixed
    /// sleep); fails at the deadline. With one client it waits for as long as it may; with several, briefly
    /// on each in turn.
    /// </summary>
    private static void WaitForClients(string what, Func<bool> condition, params ClientRecorder[] clients)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var recorder in clients)
            {
                if (!recorder.Client.IsDisposed)
                {
                    recorder.Client.Service();
                }
            }
            if (condition())
            {
                return;
            }
            if (clock.Elapsed > Deadline)
            {
                var states = new List<string>();
                foreach (var recorder in clients)
                {
                    states.Add(recorder.Name + " " + recorder.StateList());
                }
                throw new TestFailure("timed out after " + Deadline.TotalSeconds + " s waiting for " + what + "; states: "
                    + string.Join("; ", states.ToArray()));
            }
            int slice = clients.Length == 1 ? 200 : 10;
            foreach (var recorder in clients)
            {
                if (!recorder.Client.IsDisposed)
                {
                    recorder.Client.Wait(slice);
                }
            }
        }
    }

    /// <summary>The native handle of a client, to check the C results its properties map (null, 0) to.</summary>
    private static IntPtr NativeHandle(RealtimeClient client)
    {
        var field = typeof(RealtimeClient).GetField("nativeClient",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        return (IntPtr)field.GetValue(client);
    }

    /// <summary>Checks that the native room getters refuse with WrongState: the client is in no room.</summary>
    private static void NativeNotInRoom(RealtimeClient client, string what)
    {
        IntPtr handle = NativeHandle(client);
        int actor;
        Equal(PeerResult.WrongState, (PeerResult)NativeMethods.peer_client_actor_number(handle, out actor),
            what + ": peer_client_actor_number");
        UIntPtr length;
        var buffer = new byte[64];
        Equal(PeerResult.WrongState, (PeerResult)NativeMethods.peer_client_room_name(handle, buffer, (UIntPtr)(uint)buffer.Length,
            out length), what + ": peer_client_room_name");
        Check(client.Room == null && client.ActorNumber == 0, what + ": Room is null and ActorNumber 0");
        GC.KeepAlive(client);
    }

    /// <summary>Checks the native room name of a client in <paramref name="room"/>: too small a buffer gives
    /// BufferTooSmall with the length, and <see cref="RealtimeClient.Room"/> reads it.</summary>
    private static void NativeInRoom(RealtimeClient client, string room, string what)
    {
        IntPtr handle = NativeHandle(client);
        int utf8Length = Encoding.UTF8.GetByteCount(room);
        UIntPtr length;
        Equal(PeerResult.BufferTooSmall, (PeerResult)NativeMethods.peer_client_room_name(handle, null, UIntPtr.Zero, out length),
            what + ": no buffer");
        Equal((ulong)utf8Length, (ulong)length, what + ": the length without the NUL");
        var exact = new byte[utf8Length];
        Equal(PeerResult.BufferTooSmall, (PeerResult)NativeMethods.peer_client_room_name(handle, exact, (UIntPtr)(uint)exact.Length,
            out length), what + ": no space for the NUL");
        var buffer = new byte[utf8Length + 1];
        Equal(PeerResult.Ok, (PeerResult)NativeMethods.peer_client_room_name(handle, buffer, (UIntPtr)(uint)buffer.Length,
            out length), what + ": space for the name and its NUL");
        Equal((byte)0, buffer[utf8Length], what + ": NUL-terminated");
        Equal(room, client.Room, what + ": Room");
        GC.KeepAlive(client);
    }

    private static void WaitForState(ClientRecorder recorder, ClientState state)
    {
        WaitForClients(recorder.Name + " " + state, () => recorder.LastState == state, recorder);
        Equal(state, recorder.Client.State, recorder.Name + " State");
    }

    /// <summary>Waits for the next Failed of a room request and for the client to be back at the master.</summary>
    private static ClientRecorder.Failure WaitForFailure(ClientRecorder recorder, int failuresBefore, string what)
    {
        WaitForClients(recorder.Name + " " + what,
            () => recorder.Failures.Count > failuresBefore && recorder.LastState == ClientState.ConnectedToMasterServer, recorder);
        return recorder.Failures[failuresBefore];
    }

    private static void ClientConfigErrors()
    {
        Throws<ArgumentNullException>("a null config", () => new RealtimeClient(null));
        Throws<ArgumentNullException>("a null app id", () => new RealtimeClient(new RealtimeClientConfig(null, serverAddress)));
        Throws<ArgumentException>("a key of 31 bytes", () => new RealtimeClientConfig(AppId, serverAddress).MasterPublicKeyPin = new byte[31]);
        Throws<ArgumentException>("a NUL in an address", () => new RealtimeClient(new RealtimeClientConfig(AppId, "127.0.0.1:1\0")));
        try
        {
            new RealtimeClient(new RealtimeClientConfig(AppId)).Dispose();
            throw new TestFailure("a client without a master was created");
        }
        catch (SealnetException e)
        {
            Equal(PeerResult.InvalidArgument, e.Result, "no master");
            Check(e.NativeMessage != null && e.NativeMessage.Contains("master_count"), "the native message names master_count: " + e.NativeMessage);
        }
        var options = new RoomOptions();
        Equal(0, options.MaxPlayers, "default MaxPlayers");
        Check(options.IsOpen && options.IsVisible, "open and visible by default");
        // The peer settings pass through (they are marshalled into native memory for the create call).
        var config = ClientConfig();
        config.PeerConfig = new SealnetPeerConfig { DisconnectTimeout = 8000 };
        config.AppVersion = "1.2.3";
        var client = new RealtimeClient(config);
        Equal(ClientState.PeerCreated, client.State, "a new client");
        Equal(PeerResult.NotConnected, client.Wait(5000), "Wait before Connect returns at once");
        Check(client.ServerPublicKey == null, "no server key before a key exchange");
        Equal(PeerResult.EncryptionNotEstablished,
            (PeerResult)NativeMethods.peer_client_server_public_key(NativeHandle(client), new byte[NativeMethods.KeyLength]),
            "peer_client_server_public_key before a key exchange");
        client.Dispose();
        // The client runs the key exchange and pins each server itself: a peer config that turns the
        // exchange off or pins a key is refused.
        var manual = ClientConfig();
        manual.PeerConfig = new SealnetPeerConfig { AutoKeyExchange = false };
        var pinned = ClientConfig();
        pinned.PeerConfig = new SealnetPeerConfig().PinServerKeyHex(serverKeyHex);
        foreach (var refused in new[] { manual, pinned })
        {
            try
            {
                new RealtimeClient(refused).Dispose();
                throw new TestFailure("a client with a peer config it cannot use was created");
            }
            catch (SealnetException e)
            {
                Equal(PeerResult.InvalidArgument, e.Result, "peer config refused (" + e.NativeMessage + ")");
                Check(e.NativeMessage != null && e.NativeMessage.Contains("auto_key_exchange"),
                    "the native message names the fields: " + e.NativeMessage);
            }
        }
    }

    private static void ClientWrongStateBeforeLogin()
    {
        alice = NewClient("alice", ClientConfig());
        bob = NewClient("bob", ClientConfig());
        Equal(PeerResult.WrongState, alice.Client.OpJoinRoom("early"), "JoinRoom before the login");
        Check(alice.Client.LastResultMessage != null && alice.Client.LastResultMessage.Contains("PeerCreated"),
            "the message names the state: " + alice.Client.LastResultMessage);
        Equal(PeerResult.WrongState, alice.Client.LastResult, "LastResult");
        Equal(PeerResult.WrongState, alice.Client.OpRaiseEvent(9, 1, SendOptions.SendReliable), "RaiseEvent before a room");
        Equal(PeerResult.WrongState, alice.Client.OpJoinRandomRoom(), "JoinRandomRoom before the login");
        Equal(PeerResult.WrongState, alice.Client.OpLeaveRoom(), "LeaveRoom before a room");
        NativeNotInRoom(alice.Client, "before the login");
        Equal(PeerResult.NotConnected, alice.Client.SendOperation(1, null), "SendOperation before the login");
        Check(alice.States.Count == 0, "nothing happened: " + alice.StateList());
    }

    private static void ClientLogin()
    {
        Equal(PeerResult.Ok, alice.Client.Connect(), "alice logs in anonymously");
        Equal(PeerResult.Ok, bob.Client.Connect(new AuthenticationValues()), "bob logs in with anonymous values");
        Equal(PeerResult.WrongState, alice.Client.Connect(), "a second Connect");
        WaitForClients("both at the master", () => alice.LastState == ClientState.ConnectedToMasterServer
            && bob.LastState == ClientState.ConnectedToMasterServer, alice, bob);
        Equal(ClientState.ConnectedToMasterServer, alice.Client.State, "alice State");
        Check(alice.States.Contains(ClientState.ConnectingToMasterServer) && alice.States.Contains(ClientState.Authenticating),
            "the login went through ConnectingToMasterServer and Authenticating: " + alice.StateList());
        Check(alice.Statuses.Contains(StatusCode.Connect) && alice.Statuses.Contains(StatusCode.EncryptionEstablished),
            "the connection's statuses came through");
        Check(alice.Failures.Count == 0, "no failure");
        var key = alice.Client.ServerPublicKey;
        Check(key != null && BitConverter.ToString(key).Replace("-", "").ToLowerInvariant() == serverKeyHex.ToLowerInvariant(),
            "ServerPublicKey is the pinned key");
        Check(alice.Client.Room == null && alice.Client.ActorNumber == 0, "not in a room");
    }

    private static void ClientSendOperation()
    {
        int before = alice.Responses.Count;
        var parameters = new ParameterDictionary { { 1, "not an operation the server knows" } };
        Equal(PeerResult.Ok, alice.Client.SendOperation(1, parameters, SendOptions.SendReliableEncrypted), "SendOperation 1");
        WaitForClients("the response to operation 1", () => alice.Responses.Count > before, alice);
        var response = alice.Responses[before];
        Equal((byte)1, response.OperationCode, "operation code");
        Equal(ReturnCode.InvalidOperation, response.ReturnCode, "return code (" + response.DebugMessage + ")");
        Check(response.WasEncrypted, "answered encrypted");
        Equal(PeerResult.Ok, alice.Client.SendOperation(1, null), "SendOperation without parameters");
        WaitForClients("the second response", () => alice.Responses.Count > before + 1, alice);
        Equal(ReturnCode.InvalidOperation, alice.Responses[before + 1].ReturnCode, "return code without parameters");
        Equal(ClientState.ConnectedToMasterServer, alice.Client.State, "still at the master");
        Check(alice.Failures.Count == 0, "an answered operation is no failure of the client");
        Throws<ArgumentException>("a parameter of an unsupported type",
            () => alice.Client.SendOperation(1, new ParameterDictionary { { 1, new object() } }));
    }

    private static void ClientJoinMissingRoom()
    {
        int before = alice.Failures.Count;
        Equal(PeerResult.Ok, alice.Client.OpJoinRoom(ClientRoom + "-nowhere"), "JoinRoom");
        Equal(ClientState.Joining, alice.Client.State, "the request changes the state at once");
        var failure = WaitForFailure(alice, before, "GameDoesNotExist");
        Equal(ReturnCode.GameDoesNotExist, failure.ReturnCode, "return code (" + failure.Message + ")");
        Equal(OpJoinRoom, failure.Op, "op code");
        Equal(0, alice.Joins, "joins");
    }

    private static void ClientJoinRandomNone()
    {
        int before = alice.Failures.Count;
        Equal(PeerResult.Ok, alice.Client.OpJoinRandomRoom(), "JoinRandomRoom");
        var failure = WaitForFailure(alice, before, "NoRandomMatchFound");
        Equal(ReturnCode.NoRandomMatchFound, failure.ReturnCode, "return code (" + failure.Message + ")");
    }

    private static void ClientCreateAndJoin()
    {
        Equal(PeerResult.Ok, alice.Client.OpCreateRoom(ClientRoom, new RoomOptions { MaxPlayers = 2 }), "alice creates");
        WaitForState(alice, ClientState.Joined);
        WaitForClients("alice's Joined", () => alice.Joins == 1, alice);
        Equal(ClientRoom, alice.JoinedRoom, "the room alice joined");
        Equal(ClientRoom, alice.Client.Room, "alice Room");
        Check(alice.JoinedActor > 0, "an actor number");
        Equal(alice.JoinedActor, alice.Client.ActorNumber, "alice ActorNumber");
        Check(alice.JoinedActors.Length == 1 && alice.JoinedActors[0] == alice.JoinedActor, "alone in the room");
        Equal(ClientRoom, alice.RoomInJoinedState, "Room in the StateChanged(Joined) handler");
        Equal(alice.JoinedActor, alice.ActorInJoinedState, "ActorNumber in the StateChanged(Joined) handler");
        NativeInRoom(alice.Client, ClientRoom, "alice");

        int before = bob.Failures.Count;
        Equal(PeerResult.Ok, bob.Client.OpCreateRoom(ClientRoom), "bob creates the same room");
        var failure = WaitForFailure(bob, before, "GameIdAlreadyExists");
        Equal(ReturnCode.GameIdAlreadyExists, failure.ReturnCode, "return code (" + failure.Message + ")");

        Equal(PeerResult.Ok, bob.Client.OpJoinOrCreateRoom(ClientRoom), "bob joins or creates");
        WaitForClients("bob's Joined", () => bob.Joins == 1, bob);
        Equal(ClientState.Joined, bob.Client.State, "bob State");
        Equal(ClientRoom, bob.Client.Room, "bob Room");
        Equal(ClientRoom, bob.RoomInJoinedState, "bob's Room in the StateChanged(Joined) handler");
        Equal(bob.JoinedActor, bob.ActorInJoinedState, "bob's ActorNumber in the StateChanged(Joined) handler");
        Equal(bob.JoinedActor, bob.Client.ActorNumber, "bob ActorNumber");
        Check(bob.JoinedActor > 0 && bob.JoinedActor != alice.JoinedActor, "two actor numbers");
        Equal(2, bob.JoinedActors.Length, "two players in the room");
        Check(Array.IndexOf(bob.JoinedActors, alice.JoinedActor) >= 0 && Array.IndexOf(bob.JoinedActors, bob.JoinedActor) >= 0,
            "the actor list holds both");
    }

    private static void ClientRaiseEvent()
    {
        var data = new object[] { 42, "hello realtime", new int[] { 1, 2, 3 }, new ParameterDictionary { { 1, 2.5 } } };
        Throws<ArgumentException>("data of an unsupported type", () => alice.Client.OpRaiseEvent(9, new object(), SendOptions.SendReliable));
        Equal(PeerResult.InvalidArgument, alice.Client.OpRaiseEvent(200, null, SendOptions.SendReliable), "codes above 199 are the server's");
        Equal(PeerResult.Ok, alice.Client.OpRaiseEvent(9, data, SendOptions.SendReliableEncrypted), "alice raises");
        WaitForClients("bob's event 9", () => bob.Events.Exists(e => e.Code == 9), alice, bob);
        var received = bob.Events.Find(e => e.Code == 9);
        Check(received.WasEncrypted, "the event arrived encrypted");
        Equal(alice.JoinedActor, received.Sender, "sender");
        Check(SameValue(data, received.CustomData), "the data: expected " + Describe(data) + ", got " + Describe(received.CustomData));
        Check(!alice.Events.Exists(e => e.Code == 9), "the raiser does not get its own event");
    }

    private static void ClientLeave()
    {
        Equal(PeerResult.Ok, alice.Client.OpLeaveRoom(), "alice leaves");
        WaitForState(alice, ClientState.ConnectedToMasterServer);
        Check(alice.States.Contains(ClientState.Leaving), "alice went through Leaving: " + alice.StateList());
        Check(alice.Client.Room == null && alice.Client.ActorNumber == 0, "Room and ActorNumber are cleared");
        NativeNotInRoom(alice.Client, "after leaving");
        Equal(PeerResult.WrongState, alice.Client.OpRaiseEvent(9, 1, SendOptions.SendReliable), "RaiseEvent outside a room");
        Equal(PeerResult.WrongState, alice.Client.OpLeaveRoom(), "LeaveRoom outside a room");
        // Bob is alone now, and still in the room.
        Equal(ClientState.Joined, bob.Client.State, "bob stays");
    }

    private static void ClientCreateUnnamed()
    {
        int joins = alice.Joins;
        Equal(PeerResult.Ok, alice.Client.OpCreateRoom(null), "CreateRoom without a name");
        WaitForClients("alice's Joined", () => alice.Joins > joins, alice);
        Check(!string.IsNullOrEmpty(alice.JoinedRoom) && alice.JoinedRoom != ClientRoom, "a room the master named: " + alice.JoinedRoom);
        Equal(alice.JoinedRoom, alice.Client.Room, "Room");
        Equal(alice.JoinedRoom, alice.RoomInJoinedState, "the master's name in the StateChanged(Joined) handler");
        Equal(PeerResult.Ok, alice.Client.OpLeaveRoom(), "alice leaves again");
        WaitForState(alice, ClientState.ConnectedToMasterServer);
    }

    private static void ClientPinMismatch()
    {
        var key = SealnetPeerConfig.ParseHex(serverKeyHex);
        key[0] ^= 0xff;
        var config = new RealtimeClientConfig(AppId, serverAddress) { MasterPublicKeyPin = key };
        var carol = NewClient("carol", config);
        Equal(PeerResult.Ok, carol.Client.Connect(), "Connect");
        WaitForState(carol, ClientState.Disconnected);
        Check(carol.Statuses.Contains(StatusCode.EncryptionFailedToEstablish), "EncryptionFailedToEstablish");
        Check(!carol.States.Contains(ClientState.ConnectedToMasterServer), "never at the master: " + carol.StateList());
        carol.Client.Dispose();
    }

    private static void ClientDisconnectAndDispose()
    {
        // Disconnect, and a client disposed inside a handler: Service stops raising at once.
        Equal(PeerResult.Ok, bob.Client.Disconnect(), "bob disconnects");
        WaitForState(bob, ClientState.Disconnected);
        Check(bob.Client.Room == null, "no room after Disconnect");
        Equal(PeerResult.Ok, alice.Client.Disconnect(), "alice disconnects");
        var raisedAfterDispose = 0;
        alice.Client.StateChanged += state =>
        {
            if (alice.Client.IsDisposed)
            {
                raisedAfterDispose++;
            }
            if (state == ClientState.Disconnecting)
            {
                alice.Client.Dispose();
            }
        };
        var clock = Stopwatch.StartNew();
        while (!alice.Client.IsDisposed && clock.Elapsed < Deadline)
        {
            alice.Client.Service();
            if (!alice.Client.IsDisposed)
            {
                alice.Client.Wait(200);
            }
        }
        Check(alice.Client.IsDisposed, "alice's handler disposed it");
        Equal(0, raisedAfterDispose, "events raised after Dispose");

        var client = bob.Client;
        client.Dispose();
        client.Dispose();
        Check(client.IsDisposed, "IsDisposed");
        Throws<ObjectDisposedException>("Service", () => client.Service());
        Throws<ObjectDisposedException>("Wait", () => client.Wait(0));
        Throws<ObjectDisposedException>("Connect", () => client.Connect());
        Throws<ObjectDisposedException>("OpJoinRoom", () => client.OpJoinRoom("x"));
        Throws<ObjectDisposedException>("OpRaiseEvent", () => client.OpRaiseEvent(9, 1, SendOptions.SendReliable));
        Throws<ObjectDisposedException>("OpLeaveRoom", () => client.OpLeaveRoom());
        Throws<ObjectDisposedException>("Disconnect", () => client.Disconnect());
        Throws<ObjectDisposedException>("State", () => { var unused = client.State; });
        Throws<ObjectDisposedException>("ServerPublicKey", () => { var unused = client.ServerPublicKey; });
        Throws<ObjectDisposedException>("Room", () => { var unused = client.Room; });
        Throws<ObjectDisposedException>("ActorNumber", () => { var unused = client.ActorNumber; });
        Throws<ObjectDisposedException>("SendOperation", () => client.SendOperation(1, null));
    }

    // ----------------------------------------------------------------------------------------------
    // A room session with the room features (properties, players, master client, raise options, the
    // event cache, the lobby): ann creates the room, ben joins, cy watches the lobby and joins late.
    // Under scripts/with-server.sh --backend ann logs in as the backend's guest, so the others see her
    // nickname; ben and cy are anonymous (no nickname).

    private static readonly string SessionRoom = "csharp-session-" + Guid.NewGuid().ToString("N");
    private static ClientRecorder ann;
    private static ClientRecorder ben;
    private static ClientRecorder cy;
    private static ClientRecorder dan;
    private static CuttableProxy proxy;
    private static string annNickName;

    private static ClientRecorder[] Session()
    {
        var clients = new List<ClientRecorder>();
        foreach (var recorder in new[] { ann, ben, cy, dan })
        {
            if (recorder != null)
            {
                clients.Add(recorder);
            }
        }
        return clients.ToArray();
    }

    /// <summary>Waits for the first response to <paramref name="opCode"/> after the first
    /// <paramref name="before"/> responses of <paramref name="recorder"/>, servicing the whole session.</summary>
    private static OperationResponse WaitForResponse(ClientRecorder recorder, byte opCode, int before)
    {
        OperationResponse found = null;
        WaitForClients(recorder.Name + "'s response to operation " + opCode, () =>
        {
            for (int i = before; i < recorder.Responses.Count && found == null; i++)
            {
                if (recorder.Responses[i].OperationCode == opCode)
                {
                    found = recorder.Responses[i];
                }
            }
            return found != null;
        }, Session());
        return found;
    }

    private static int CountOf(ClientRecorder recorder, byte code)
    {
        return recorder.DataOf(code).Count;
    }

    private static void RoomSessionCreate()
    {
        cy = NewClient("cy", ClientConfig());
        Equal(PeerResult.WrongState, cy.Client.OpJoinLobby(), "JoinLobby before the login");
        Check(cy.Client.CurrentRoom == null, "no CurrentRoom before the login");
        Equal(0, cy.Client.RoomList.Count, "an empty RoomList outside the lobby");
        Check(!cy.Client.IsRejoining, "not rejoining");
        ann = NewClient("ann", ClientConfig());
        ben = NewClient("ben", ClientConfig());
        string token = Environment.GetEnvironmentVariable("SEALNET_TEST_CONNECTION_TOKEN");
        if (token != null)
        {
            annNickName = Environment.GetEnvironmentVariable("SEALNET_TEST_NICKNAME");
            Check(!string.IsNullOrEmpty(annNickName), "SEALNET_TEST_NICKNAME is set with the token");
            Equal(PeerResult.Ok, ann.Client.Connect(new AuthenticationValues(CustomAuthenticationType.Custom)
            {
                ConnectionToken = SealnetPeerConfig.ParseHex(token),
            }), "ann logs in as the backend's guest");
        }
        else
        {
            Console.WriteLine("     (no backend guest: ann logs in anonymously, so her NickName is empty too)");
            annNickName = string.Empty;
            Equal(PeerResult.Ok, ann.Client.Connect(), "ann logs in anonymously");
        }
        Equal(PeerResult.Ok, ben.Client.Connect(), "ben logs in");
        Equal(PeerResult.Ok, cy.Client.Connect(), "cy logs in");
        WaitForClients("all three at the master", () => ann.LastState == ClientState.ConnectedToMasterServer
            && ben.LastState == ClientState.ConnectedToMasterServer && cy.LastState == ClientState.ConnectedToMasterServer,
            Session());

        int before = cy.Responses.Count;
        Equal(PeerResult.Ok, cy.Client.OpJoinLobby(), "cy joins the lobby");
        Equal(ReturnCode.Ok, WaitForResponse(cy, OperationCode.JoinLobby, before).ReturnCode, "JoinLobby answered");
        Equal(PeerResult.WrongState, ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "x", 1 } }),
            "SetProperties outside a room");
        Check(ann.Client.LastResultMessage != null && ann.Client.LastResultMessage.Contains("ConnectedToMasterServer"),
            "the message names the state: " + ann.Client.LastResultMessage);
        Equal(PeerResult.WrongState, ann.Client.OpSetCustomPropertiesOfActor(1, new Hashtable { { "x", 1 } }),
            "player properties outside a room");
        Equal(PeerResult.WrongState, ann.Client.SetMasterClient(1), "SetMasterClient outside a room");
        Equal(PeerResult.WrongState, ann.Client.OpChangeGroups(null, new byte[] { 1 }), "ChangeGroups outside a room");
        Equal(PeerResult.WrongState, ann.Client.OpRaiseEvent(1, null, new RaiseEventOptions(), SendOptions.SendReliable),
            "RaiseEvent with options outside a room");

        var options = new RoomOptions
        {
            MaxPlayers = 4,
            PlayerTtl = 30000,
            EmptyRoomTtl = 2000,
            CustomRoomProperties = new Hashtable { { "map", "dust" }, { "round", 0 } },
            CustomRoomPropertiesForLobby = new[] { "map" },
        };
        Equal(PeerResult.Ok, ann.Client.OpCreateRoom(SessionRoom, options), "ann creates the room");
        WaitForClients("ann's Joined", () => ann.Joins == 1, Session());
        Check(!ann.JoinedRejoined, "a join, not a rejoin");
        Check(!ann.Client.IsRejoining, "ann is not rejoining");
        int annActor = ann.JoinedActor;
        var room = ann.Client.CurrentRoom;
        Check(room != null, "ann has a CurrentRoom");
        Equal(SessionRoom, room.Name, "Name");
        Equal(annActor, room.MasterClientId, "the creator is the master client");
        Equal(4, room.MaxPlayers, "MaxPlayers");
        Equal(30000, room.PlayerTtl, "PlayerTtl");
        Equal(2000, room.EmptyRoomTtl, "EmptyRoomTtl");
        Check(room.IsOpen && room.IsVisible, "open and visible");
        Equal<object>("dust", room.CustomProperties["map"], "custom property map");
        Equal<object>(0, room.CustomProperties["round"], "custom property round");
        Equal(2, room.CustomProperties.Count, "only the custom properties, not the server's byte keys");
        Equal(1, room.PlayerCount, "ann alone");
        var self = room.Players[annActor];
        Check(self.IsLocal && self.IsMasterClient && !self.IsInactive, "ann is local, master, active: " + self);
        Equal(annNickName, self.NickName, "ann's NickName");
        Check(ReferenceEquals(self, room.MasterClient), "MasterClient is ann's player");
        room.CustomProperties["map"] = "changed here";
        Equal<object>("dust", ann.Client.CurrentRoom.CustomProperties["map"], "CurrentRoom is a copy the caller owns");

        Equal(PeerResult.Ok, ben.Client.OpJoinRoom(SessionRoom), "ben joins");
        WaitForClients("ben's Joined", () => ben.Joins == 1, Session());
        Check(!ben.JoinedRejoined, "a join, not a rejoin");
        int benActor = ben.JoinedActor;
        var seen = ben.Client.CurrentRoom;
        Equal(2, seen.PlayerCount, "two players as ben sees it");
        Equal<object>("dust", seen.CustomProperties["map"], "ben sees the first properties");
        Equal(annActor, seen.MasterClientId, "ben sees ann as master");
        Equal(30000, seen.PlayerTtl, "ben sees the PlayerTtl");
        var annSeen = seen.GetPlayer(annActor);
        Check(annSeen != null && !annSeen.IsLocal && annSeen.IsMasterClient, "ann as ben sees her: " + annSeen);
        Equal(annNickName, annSeen.NickName, "ann's NickName as ben sees it");
        var benSelf = seen.GetPlayer(benActor);
        Check(benSelf != null && benSelf.IsLocal && !benSelf.IsMasterClient, "ben himself: " + benSelf);
        Equal(string.Empty, benSelf.NickName, "an anonymous player has no nickname");
        WaitForClients("ann sees ben join", () =>
        {
            var current = ann.Client.CurrentRoom;
            return current.PlayerCount == 2 && current.GetPlayer(benActor) != null;
        }, Session());
        Check(ann.Events.Exists(e => e.Code == EventCode.Join && e.Sender == benActor), "through ben's Join event");

        // The lobby lists the room with its listed property only; updates come at most once a second.
        RoomInfo listed = null;
        WaitForClients("the lobby lists the room with two players", () =>
            cy.Client.RoomList.TryGetValue(SessionRoom, out listed) && listed.PlayerCount == 2, Session());
        Equal(SessionRoom, listed.Name, "RoomInfo.Name");
        Equal(4, listed.MaxPlayers, "RoomInfo.MaxPlayers");
        Check(listed.IsOpen, "RoomInfo.IsOpen");
        Equal<object>("dust", listed.CustomProperties["map"], "the listed property");
        Check(!listed.CustomProperties.ContainsKey("round"), "an unlisted property stays out of the lobby");
        Equal(1, listed.CustomProperties.Count, "the listed properties only");
        Check(cy.Events.Exists(e => e.Code == EventCode.GameList), "the GameList came through EventReceived too");
        Check(cy.Client.CurrentRoom == null, "cy is in no room");
    }

    private static void RoomSessionCompareAndSet()
    {
        Check(ben != null && ben.Joins == 1, "needs ann and ben in the room");
        int before = ann.Responses.Count;
        Equal(PeerResult.Ok, ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "round", 1 } },
            new Hashtable { { "round", 0 } }), "ann sets round 1 if it is 0");
        var answer = WaitForResponse(ann, OperationCode.SetProperties, before);
        Equal(ReturnCode.Ok, answer.ReturnCode, "ann's compare-and-set (" + answer.DebugMessage + ")");
        WaitForClients("ben sees round 1", () => Equals(1, ben.Client.CurrentRoom.CustomProperties["round"]), Session());
        Check(ben.Events.Exists(e => e.Code == EventCode.PropertiesChanged && e.Sender == ann.JoinedActor),
            "through ann's PropertiesChanged");

        before = ben.Responses.Count;
        Equal(PeerResult.Ok, ben.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "round", 2 } },
            new Hashtable { { "round", 0 } }), "ben sets round 2 if it is 0");
        answer = WaitForResponse(ben, OperationCode.SetProperties, before);
        Equal(ReturnCode.PropertiesConflict, answer.ReturnCode, "ben's compare-and-set conflicts (" + answer.DebugMessage + ")");
        Equal<object>(1, ben.Client.CurrentRoom.CustomProperties["round"], "nothing changed for ben");

        // A null expected value: the key must be absent. Ann's change comes after ben's refused one in the
        // room's order, so when she has it, a change of ben's would have reached her before.
        before = ann.Responses.Count;
        Equal(PeerResult.Ok, ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "note", "hi" } },
            new Hashtable { { "note", null } }), "ann sets note if there is none");
        Equal(ReturnCode.Ok, WaitForResponse(ann, OperationCode.SetProperties, before).ReturnCode, "note set");
        WaitForClients("both see the note", () => Equals("hi", ann.Client.CurrentRoom.CustomProperties["note"])
            && Equals("hi", ben.Client.CurrentRoom.CustomProperties["note"]), Session());
        Equal<object>(1, ann.Client.CurrentRoom.CustomProperties["round"], "ben's refused change never reached ann");
        // A null value removes the key.
        Equal(PeerResult.Ok, ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "note", null } }), "ann removes note");
        WaitForClients("ben sees the note removed", () => !ben.Client.CurrentRoom.CustomProperties.ContainsKey("note"), Session());
        Equal<object>("dust", ben.Client.CurrentRoom.CustomProperties["map"], "the other properties stay");

        Throws<ArgumentNullException>("null changes", () => ann.Client.OpSetCustomPropertiesOfRoom(null));
        try
        {
            ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { "bad", new object() } });
            throw new TestFailure("a value of an unsupported type was sent");
        }
        catch (ArgumentException e)
        {
            Check(e.Message.Contains("propertiesToSet") && e.Message.Contains("\"bad\""),
                "the message names the argument and the key: " + e.Message);
        }
        Throws<ArgumentException>("a key of an unsupported type",
            () => ann.Client.OpSetCustomPropertiesOfRoom(new Hashtable { { 1.5, 1 } }));
        Throws<ArgumentOutOfRangeException>("actor 0 (the room's in the C API)",
            () => ann.Client.OpSetCustomPropertiesOfActor(0, new Hashtable { { "x", 1 } }));
    }

    private static void RoomSessionPlayersAndMaster()
    {
        Check(ben != null && ben.Joins == 1, "needs ann and ben in the room");
        int annActor = ann.JoinedActor;
        int benActor = ben.JoinedActor;
        Equal(PeerResult.Ok, ben.Client.OpSetCustomPropertiesOfActor(benActor, new Hashtable { { "team", "blue" } }),
            "ben sets his team");
        Equal(PeerResult.Ok, ann.Client.OpSetCustomPropertiesOfActor(benActor, new Hashtable { { "score", 5 } }),
            "ann sets ben's score");
        WaitForClients("ann sees ben's team and score", () =>
        {
            var player = ann.Client.CurrentRoom.GetPlayer(benActor);
            return Equals("blue", player.CustomProperties["team"]) && Equals(5, player.CustomProperties["score"]);
        }, Session());
        WaitForClients("ben sees his own team and score", () =>
        {
            var player = ben.Client.CurrentRoom.GetPlayer(benActor);
            return Equals("blue", player.CustomProperties["team"]) && Equals(5, player.CustomProperties["score"]);
        }, Session());
        Equal(2, ben.Client.CurrentRoom.GetPlayer(benActor).CustomProperties.Count, "the custom player properties only");
        Equal(0, ben.Client.CurrentRoom.GetPlayer(annActor).CustomProperties.Count, "ann has none");
        Equal(annNickName, ann.Client.CurrentRoom.GetPlayer(annActor).NickName, "ann's NickName is kept");

        Equal(PeerResult.Ok, ann.Client.SetMasterClient(benActor), "ann hands the master client to ben");
        WaitForClients("both see ben as master", () => ann.Client.CurrentRoom.MasterClientId == benActor
            && ben.Client.CurrentRoom.MasterClientId == benActor, Session());
        var room = ben.Client.CurrentRoom;
        Check(room.GetPlayer(benActor).IsMasterClient && !room.GetPlayer(annActor).IsMasterClient,
            "IsMasterClient follows: " + room.GetPlayer(benActor) + "; " + room.GetPlayer(annActor));
        Equal(benActor, ann.Client.CurrentRoom.MasterClient.ActorNumber, "ann's MasterClient");
    }

    private static void RoomSessionCachedEvents()
    {
        Check(ben != null && ben.Joins == 1, "needs ann and ben in the room");
        int annActor = ann.JoinedActor;
        var cached = new RaiseEventOptions { CachingOption = EventCaching.AddToRoomCache, Receivers = ReceiverGroup.All };
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(20, "first", cached, SendOptions.SendReliable), "ann caches first");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(20, "second", cached, SendOptions.SendReliableEncrypted), "ann caches second");
        // To everyone, ann too: when she has them, the room's cache holds them.
        WaitForClients("ann and ben get both cached events", () => CountOf(ann, 20) == 2 && CountOf(ben, 20) == 2, Session());

        int before = cy.Responses.Count;
        Equal(PeerResult.Ok, cy.Client.OpLeaveLobby(), "cy leaves the lobby");
        Equal(0, cy.Client.RoomList.Count, "the room list empties at once");
        Equal(ReturnCode.Ok, WaitForResponse(cy, OperationCode.LeaveLobby, before).ReturnCode, "LeaveLobby answered");
        Equal(PeerResult.Ok, cy.Client.OpJoinRoom(SessionRoom), "cy joins late");
        WaitForClients("cy's Joined", () => cy.Joins == 1, Session());
        int cyActor = cy.JoinedActor;
        WaitForClients("ann sees cy join", () => ann.Events.Exists(e => e.Code == EventCode.Join && e.Sender == cyActor),
            Session());
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(21, "live", null, SendOptions.SendReliable), "ann raises a live event");
        WaitForClients("cy gets the live event", () => CountOf(cy, 21) == 1, Session());
        var order = new List<string>();
        foreach (var e in cy.Events)
        {
            if (e.Code == 20 || e.Code == 21)
            {
                order.Add(e.Code + ":" + e.CustomData);
                Equal(annActor, e.Sender, "the sender of event " + e.Code);
            }
        }
        Equal("20:first, 20:second, 21:live", string.Join(", ", order.ToArray()), "cy's events in order");

        var room = cy.Client.CurrentRoom;
        Equal(3, room.PlayerCount, "three players as cy sees it");
        Equal(ben.JoinedActor, room.MasterClientId, "cy sees ben as master");
        Equal<object>(1, room.CustomProperties["round"], "cy sees the room's properties as they are now");
        Equal<object>("blue", room.GetPlayer(ben.JoinedActor).CustomProperties["team"], "and ben's");
        Equal(annNickName, room.GetPlayer(annActor).NickName, "and ann's NickName");
    }

    private static void RoomSessionTargetedAndGroups()
    {
        Check(cy != null && cy.Joins == 1, "needs ann, ben and cy in the room");
        int benActor = ben.JoinedActor;
        var toAll = new RaiseEventOptions { Receivers = ReceiverGroup.All };
        // Each targeted event is followed by one to everyone: a player who has the second would have had the
        // first before it (each sender's events arrive in order), so its absence then is final.
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(10, "to ben", new RaiseEventOptions { TargetActors = new[] { benActor } },
            SendOptions.SendReliable), "ann raises to ben only");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(11, "mark 1", toAll, SendOptions.SendReliable), "then to all");
        WaitForClients("everyone gets mark 1", () => CountOf(ann, 11) == 1 && CountOf(ben, 11) == 1 && CountOf(cy, 11) == 1,
            Session());
        Equal("to ben", string.Join(",", ben.DataOf(10).ToArray()), "ben got the targeted event");
        Equal(0, CountOf(cy, 10), "cy did not");
        Equal(0, CountOf(ann, 10), "nor the sender");

        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(14, "to the master", new RaiseEventOptions { Receivers = ReceiverGroup.MasterClient },
            SendOptions.SendReliable), "ann raises to the master client (ben)");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(11, "mark 2", toAll, SendOptions.SendReliable), "then to all");
        WaitForClients("everyone gets mark 2", () => CountOf(ann, 11) == 2 && CountOf(ben, 11) == 2 && CountOf(cy, 11) == 2,
            Session());
        Equal(1, CountOf(ben, 14), "the master client got it");
        Equal(0, CountOf(cy, 14) + CountOf(ann, 14), "nobody else");

        int before = ben.Responses.Count;
        Equal(PeerResult.Ok, ben.Client.OpChangeGroups(null, new byte[] { 1 }), "ben subscribes to group 1");
        Equal(ReturnCode.Ok, WaitForResponse(ben, OperationCode.ChangeGroups, before).ReturnCode, "ChangeGroups answered");
        var group1 = new RaiseEventOptions { InterestGroup = 1 };
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(12, "group 1", group1, SendOptions.SendReliable), "ann raises to group 1");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(11, "mark 3", toAll, SendOptions.SendReliable), "then to all");
        WaitForClients("ben and cy get mark 3", () => CountOf(ben, 11) == 3 && CountOf(cy, 11) == 3, Session());
        Equal("group 1", string.Join(",", ben.DataOf(12).ToArray()), "the subscriber got the group event");
        Equal(0, CountOf(cy, 12), "cy, not subscribed, did not");

        before = ben.Responses.Count;
        Equal(PeerResult.Ok, ben.Client.OpChangeGroups(new byte[0], null), "ben leaves every group (an empty list)");
        Equal(ReturnCode.Ok, WaitForResponse(ben, OperationCode.ChangeGroups, before).ReturnCode, "ChangeGroups answered");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(12, "group 1 again", group1, SendOptions.SendReliable), "ann raises to group 1");
        Equal(PeerResult.Ok, ann.Client.OpRaiseEvent(11, "mark 4", toAll, SendOptions.SendReliable), "then to all");
        WaitForClients("ben and cy get mark 4", () => CountOf(ben, 11) == 4 && CountOf(cy, 11) == 4, Session());
        Equal(1, CountOf(ben, 12), "ben no longer gets group 1");

        Equal(PeerResult.InvalidArgument, ann.Client.OpRaiseEvent(10, null, new RaiseEventOptions { Receivers = (ReceiverGroup)9 },
            SendOptions.SendReliable), "an unknown receiver group is refused");
        Check(ann.Client.LastResultMessage != null && ann.Client.LastResultMessage.Contains("receivers"),
            "the message names the field: " + ann.Client.LastResultMessage);
        Equal(PeerResult.InvalidArgument, ann.Client.OpRaiseEvent(10, null, new RaiseEventOptions { CachingOption = (EventCaching)3 },
            SendOptions.SendReliable), "an unknown caching option is refused");
    }

    private static void RoomSessionRejoin()
    {
        Check(ann != null && ann.Joins == 1, "needs ann in the room");
        proxy = new CuttableProxy(serverAddress);
        dan = NewClient("dan", new RealtimeClientConfig(AppId, proxy.Address).PinMasterKeyHex(serverKeyHex));
        bool rejoiningSeen = false;
        dan.Client.StateChanged += state => rejoiningSeen |= dan.Client.IsRejoining;
        Equal(PeerResult.Ok, dan.Client.Connect(), "dan logs in through the proxy");
        WaitForClients("dan at the master", () => dan.LastState == ClientState.ConnectedToMasterServer, Session());
        Equal(PeerResult.Ok, dan.Client.OpJoinRoom(SessionRoom), "dan joins");
        WaitForClients("dan's Joined", () => dan.Joins == 1, Session());
        Check(!dan.JoinedRejoined && !rejoiningSeen, "a first join is no rejoin");
        int danActor = dan.JoinedActor;
        WaitForClients("ann sees dan", () =>
        {
            var player = ann.Client.CurrentRoom.GetPlayer(danActor);
            return player != null && !player.IsInactive;
        }, Session());

        // The network fails: the room keeps dan's place for its PlayerTtl, and dan comes back by itself.
        proxy.Pause();
        int accepted = proxy.Accepted;
        WaitForClients("ann sees dan inactive while dan is rejoining", () =>
        {
            rejoiningSeen |= dan.Client.IsRejoining;
            var player = ann.Client.CurrentRoom.GetPlayer(danActor);
            return rejoiningSeen && player != null && player.IsInactive;
        }, Session());
        Equal(4, ann.Client.CurrentRoom.PlayerCount, "an inactive player still counts");
        Check(ann.Events.Exists(e => e.Code == EventCode.Leave && e.Sender == danActor && Equals(true, e[233])),
            "through a Leave event marked inactive");
        proxy.Resume();
        WaitForClients("dan rejoins", () => dan.Joins == 2, Session());
        Check(dan.JoinedRejoined, "Joined says rejoined");
        Equal(danActor, dan.JoinedActor, "with the same actor number");
        Check(proxy.Accepted > accepted, "over a new connection");
        Check(!dan.Client.IsRejoining, "no longer rejoining");
        Equal(ClientState.Joined, dan.Client.State, "dan State");
        Equal<object>(1, dan.Client.CurrentRoom.CustomProperties["round"], "dan's view is the room's");
        WaitForClients("ann sees dan active again", () => !ann.Client.CurrentRoom.GetPlayer(danActor).IsInactive, Session());

        // Leaving on purpose leaves for good, PlayerTtl or not.
        Equal(PeerResult.Ok, dan.Client.OpLeaveRoom(), "dan leaves");
        WaitForClients("ann sees dan gone", () => ann.Client.CurrentRoom.GetPlayer(danActor) == null, Session());
    }

    private static void RoomSessionLeave()
    {
        Check(cy != null && cy.Joins == 1, "needs cy in the room");
        Equal(PeerResult.Ok, cy.Client.OpLeaveRoom(), "cy leaves");
        WaitForClients("cy at the master", () => cy.LastState == ClientState.ConnectedToMasterServer, Session());
        Check(cy.Client.CurrentRoom == null, "no CurrentRoom at the master");
        Equal(0, cy.Client.RoomList.Count, "no room list outside the lobby");
        WaitForClients("ann sees cy leave", () => ann.Client.CurrentRoom.GetPlayer(cy.JoinedActor) == null, Session());
        Equal(2, ann.Client.CurrentRoom.PlayerCount, "two players left");
        foreach (var recorder in Session())
        {
            recorder.Client.Dispose();
        }
        if (proxy != null)
        {
            proxy.Dispose();
        }
        var client = cy.Client;
        Throws<ObjectDisposedException>("CurrentRoom", () => { var unused = client.CurrentRoom; });
        Throws<ObjectDisposedException>("RoomList", () => { var unused = client.RoomList; });
        Throws<ObjectDisposedException>("IsRejoining", () => { var unused = client.IsRejoining; });
        Throws<ObjectDisposedException>("OpJoinLobby", () => client.OpJoinLobby());
        Throws<ObjectDisposedException>("OpSetCustomPropertiesOfRoom", () => client.OpSetCustomPropertiesOfRoom(new Hashtable()));
        Throws<ObjectDisposedException>("OpChangeGroups", () => client.OpChangeGroups(null, null));
        Throws<ObjectDisposedException>("SetMasterClient", () => client.SetMasterClient(1));
    }

    // ----------------------------------------------------------------------------------------------
    // Tests without a connection

    private static void NativeVersion()
    {
        Equal(SealnetPeer.BindingVersion, SealnetPeer.NativeVersion, "peer_version()");
        Equal("Connect", SealnetPeer.StatusName(StatusCode.Connect), "peer_status_str(1024)");
        Equal("EncryptionEstablished", SealnetPeer.StatusName(StatusCode.EncryptionEstablished), "peer_status_str(1048)");
    }

    private static void StructLayouts()
    {
        var actual = new Dictionary<string, long>
        {
            { "peer_config_t", Marshal.SizeOf(typeof(NativeConfig)) },
            { "peer_config_t.struct_size", Offset<NativeConfig>("struct_size") },
            { "peer_config_t.disconnect_timeout_ms", Offset<NativeConfig>("disconnect_timeout_ms") },
            { "peer_config_t.on_status", Offset<NativeConfig>("on_status") },
            { "peer_config_t.on_operation_response", Offset<NativeConfig>("on_operation_response") },
            { "peer_config_t.on_event", Offset<NativeConfig>("on_event") },
            { "peer_config_t.user_data", Offset<NativeConfig>("user_data") },
            { "peer_config_t.ping_interval_ms", Offset<NativeConfig>("ping_interval_ms") },
            { "peer_config_t.max_queued_events", Offset<NativeConfig>("max_queued_events") },
            { "peer_config_t.auto_key_exchange", Offset<NativeConfig>("auto_key_exchange") },
            { "peer_config_t.pin_server_key", Offset<NativeConfig>("pin_server_key") },
            { "peer_config_t.server_public_key", Offset<NativeConfig>("server_public_key") },
            { "peer_config_t.max_protocol_version", Offset<NativeConfig>("max_protocol_version") },
            { "peer_config_t.reserved", Offset<NativeConfig>("reserved") },
            { "peer_config_t.max_queued_bytes", Offset<NativeConfig>("max_queued_bytes") },
            { "peer_send_options_t", Marshal.SizeOf(typeof(NativeSendOptions)) },
            { "peer_send_options_t.struct_size", Offset<NativeSendOptions>("struct_size") },
            { "peer_send_options_t.delivery_mode", Offset<NativeSendOptions>("delivery_mode") },
            { "peer_send_options_t.encrypt", Offset<NativeSendOptions>("encrypt") },
            { "peer_send_options_t.channel", Offset<NativeSendOptions>("channel") },
            { "peer_send_options_t.reserved", Offset<NativeSendOptions>("reserved") },
            { "peer_connect_options_t", Marshal.SizeOf(typeof(NativeConnectOptions)) },
            { "peer_connect_options_t.struct_size", Offset<NativeConnectOptions>("struct_size") },
            { "peer_connect_options_t.transport", Offset<NativeConnectOptions>("transport") },
            { "peer_connect_options_t.address", Offset<NativeConnectOptions>("address") },
            { "peer_connect_options_t.app_id", Offset<NativeConnectOptions>("app_id") },
            { "peer_connect_options_t.app_version", Offset<NativeConnectOptions>("app_version") },
            { "peer_connect_options_t.pin", Offset<NativeConnectOptions>("pin") },
            { "peer_connect_options_t.server_public_key", Offset<NativeConnectOptions>("server_public_key") },
            { "peer_connect_options_t.reserved", Offset<NativeConnectOptions>("reserved") },
            { "peer_connect_options_t.auth", Offset<NativeConnectOptions>("auth") },
            { "peer_connect_options_t.ca_file", Offset<NativeConnectOptions>("ca_file") },
            { "peer_connect_options_t.certificate_fingerprint", Offset<NativeConnectOptions>("certificate_fingerprint") },
            { "peer_connect_options_t.pin_certificate", Offset<NativeConnectOptions>("pin_certificate") },
            { "peer_connect_options_t.auth_once", Offset<NativeConnectOptions>("auth_once") },
            { "peer_connect_options_t.reserved_2", Offset<NativeConnectOptions>("reserved_2") },
            { "peer_stats_t", Marshal.SizeOf(typeof(NativeStats)) },
            { "peer_stats_t.struct_size", Offset<NativeStats>("struct_size") },
            { "peer_stats_t.protocol_version", Offset<NativeStats>("protocol_version") },
            { "peer_stats_t.rtt_ms", Offset<NativeStats>("rtt_ms") },
            { "peer_stats_t.rtt_variance_ms", Offset<NativeStats>("rtt_variance_ms") },
            { "peer_stats_t.rtt_known", Offset<NativeStats>("rtt_known") },
            { "peer_stats_t.server_time_known", Offset<NativeStats>("server_time_known") },
            { "peer_stats_t.reserved", Offset<NativeStats>("reserved") },
            { "peer_stats_t.bytes_sent", Offset<NativeStats>("bytes_sent") },
            { "peer_stats_t.bytes_received", Offset<NativeStats>("bytes_received") },
            { "peer_stats_t.frames_sent", Offset<NativeStats>("frames_sent") },
            { "peer_stats_t.frames_received", Offset<NativeStats>("frames_received") },
            { "peer_stats_t.server_time_ms", Offset<NativeStats>("server_time_ms") },
            { "peer_value_t", Marshal.SizeOf(typeof(NativeValue)) },
            { "peer_value_t.type", Offset<NativeValue>("type") },
            { "peer_value_t.custom_code", Offset<NativeValue>("custom_code") },
            { "peer_value_t.integer", Offset<NativeValue>("integer") },
            { "peer_value_t.float32", Offset<NativeValue>("float32") },
            { "peer_value_t.float64", Offset<NativeValue>("float64") },
            { "peer_value_t.data", Offset<NativeValue>("data") },
            { "peer_value_t.len", Offset<NativeValue>("len") },
            { "peer_value_t.map", Offset<NativeValue>("map") },
            { "peer_value_t.array", Offset<NativeValue>("array") },
            { "peer_value_t.table", Offset<NativeValue>("table") },
            { "peer_status_info_t", Marshal.SizeOf(typeof(NativeStatusInfo)) },
            { "peer_status_info_t.message", Offset<NativeStatusInfo>("message") },
            { "peer_operation_response_t", Marshal.SizeOf(typeof(NativeOperationResponse)) },
            { "peer_operation_response_t.encrypted", Offset<NativeOperationResponse>("encrypted") },
            { "peer_operation_response_t.return_code", Offset<NativeOperationResponse>("return_code") },
            { "peer_operation_response_t.debug_message", Offset<NativeOperationResponse>("debug_message") },
            { "peer_operation_response_t.params", Offset<NativeOperationResponse>("params") },
            { "peer_event_t", Marshal.SizeOf(typeof(NativeEvent)) },
            { "peer_event_t.encrypted", Offset<NativeEvent>("encrypted") },
            { "peer_event_t.sender", Offset<NativeEvent>("sender") },
            { "peer_event_t.params", Offset<NativeEvent>("params") },
            { "peer_polled_event_t", Marshal.SizeOf(typeof(NativePolledEvent)) },
            { "peer_polled_event_t.status", Offset<NativePolledEvent>("status") },
            { "peer_polled_event_t.status_info", Offset<NativePolledEvent>("status_info") },
            { "peer_polled_event_t.response", Offset<NativePolledEvent>("response") },
            { "peer_polled_event_t.event", Offset<NativePolledEvent>("event") },
            { "peer_room_options_t", Marshal.SizeOf(typeof(NativeRoomOptions)) },
            { "peer_room_options_t.struct_size", Offset<NativeRoomOptions>("struct_size") },
            { "peer_room_options_t.max_players", Offset<NativeRoomOptions>("max_players") },
            { "peer_room_options_t.is_open", Offset<NativeRoomOptions>("is_open") },
            { "peer_room_options_t.is_visible", Offset<NativeRoomOptions>("is_visible") },
            { "peer_room_options_t.keep_cache_on_leave", Offset<NativeRoomOptions>("keep_cache_on_leave") },
            { "peer_room_options_t.reserved", Offset<NativeRoomOptions>("reserved") },
            { "peer_room_options_t.player_ttl_ms", Offset<NativeRoomOptions>("player_ttl_ms") },
            { "peer_room_options_t.empty_room_ttl_ms", Offset<NativeRoomOptions>("empty_room_ttl_ms") },
            { "peer_room_options_t.custom_properties", Offset<NativeRoomOptions>("custom_properties") },
            { "peer_room_options_t.listed_in_lobby", Offset<NativeRoomOptions>("listed_in_lobby") },
            { "peer_room_options_t.listed_in_lobby_count", Offset<NativeRoomOptions>("listed_in_lobby_count") },
            { "peer_raise_event_options_t", Marshal.SizeOf(typeof(NativeRaiseEventOptions)) },
            { "peer_raise_event_options_t.struct_size", Offset<NativeRaiseEventOptions>("struct_size") },
            { "peer_raise_event_options_t.receivers", Offset<NativeRaiseEventOptions>("receivers") },
            { "peer_raise_event_options_t.interest_group", Offset<NativeRaiseEventOptions>("interest_group") },
            { "peer_raise_event_options_t.cache", Offset<NativeRaiseEventOptions>("cache") },
            { "peer_raise_event_options_t.reserved", Offset<NativeRaiseEventOptions>("reserved") },
            { "peer_raise_event_options_t.target_actors", Offset<NativeRaiseEventOptions>("target_actors") },
            { "peer_raise_event_options_t.target_actor_count", Offset<NativeRaiseEventOptions>("target_actor_count") },
            { "peer_client_config_t", Marshal.SizeOf(typeof(NativeClientConfig)) },
            { "peer_client_config_t.struct_size", Offset<NativeClientConfig>("struct_size") },
            { "peer_client_config_t.pin_master_key", Offset<NativeClientConfig>("pin_master_key") },
            { "peer_client_config_t.reserved", Offset<NativeClientConfig>("reserved") },
            { "peer_client_config_t.master_public_key", Offset<NativeClientConfig>("master_public_key") },
            { "peer_client_config_t.peer", Offset<NativeClientConfig>("peer") },
            { "peer_client_config_t.masters", Offset<NativeClientConfig>("masters") },
            { "peer_client_config_t.master_count", Offset<NativeClientConfig>("master_count") },
            { "peer_client_config_t.app_id", Offset<NativeClientConfig>("app_id") },
            { "peer_client_config_t.app_version", Offset<NativeClientConfig>("app_version") },
            { "peer_client_event_t", Marshal.SizeOf(typeof(NativeClientEvent)) },
            { "peer_client_event_t.kind", Offset<NativeClientEvent>("kind") },
            { "peer_client_event_t.state", Offset<NativeClientEvent>("state") },
            { "peer_client_event_t.status", Offset<NativeClientEvent>("status") },
            { "peer_client_event_t.status_info", Offset<NativeClientEvent>("status_info") },
            { "peer_client_event_t.room", Offset<NativeClientEvent>("room") },
            { "peer_client_event_t.actor", Offset<NativeClientEvent>("actor") },
            { "peer_client_event_t.rejoined", Offset<NativeClientEvent>("rejoined") },
            { "peer_client_event_t.actors", Offset<NativeClientEvent>("actors") },
            { "peer_client_event_t.actor_count", Offset<NativeClientEvent>("actor_count") },
            { "peer_client_event_t.op_code", Offset<NativeClientEvent>("op_code") },
            { "peer_client_event_t.return_code", Offset<NativeClientEvent>("return_code") },
            { "peer_client_event_t.message", Offset<NativeClientEvent>("message") },
            { "peer_client_event_t.event", Offset<NativeClientEvent>("event") },
            { "peer_client_event_t.response", Offset<NativeClientEvent>("response") },
        };
        // Values of the C header for a 64-bit platform (LP64), worked out by hand: what the test compares
        // with when there is no C compiler. 32-bit ABIs differ in how they align 64-bit fields (i386 by 4,
        // ARM by 8; peer_value_t.float64 moves), so there the C compiler must measure.
        var wide = new Dictionary<string, long>
        {
            { "peer_config_t", 96 }, { "peer_config_t.struct_size", 0 }, { "peer_config_t.disconnect_timeout_ms", 4 },
            { "peer_config_t.on_status", 8 }, { "peer_config_t.on_operation_response", 16 },
            { "peer_config_t.on_event", 24 }, { "peer_config_t.user_data", 32 },
            { "peer_config_t.ping_interval_ms", 40 }, { "peer_config_t.max_queued_events", 44 },
            { "peer_config_t.auto_key_exchange", 48 }, { "peer_config_t.pin_server_key", 49 },
            { "peer_config_t.server_public_key", 50 }, { "peer_config_t.max_protocol_version", 82 },
            { "peer_config_t.reserved", 83 }, { "peer_config_t.max_queued_bytes", 88 },
            { "peer_send_options_t", 8 }, { "peer_send_options_t.struct_size", 0 },
            { "peer_send_options_t.delivery_mode", 4 }, { "peer_send_options_t.encrypt", 5 },
            { "peer_send_options_t.channel", 6 }, { "peer_send_options_t.reserved", 7 },
            { "peer_connect_options_t", 128 }, { "peer_connect_options_t.struct_size", 0 },
            { "peer_connect_options_t.transport", 4 }, { "peer_connect_options_t.address", 8 },
            { "peer_connect_options_t.app_id", 16 }, { "peer_connect_options_t.app_version", 24 },
            { "peer_connect_options_t.pin", 32 }, { "peer_connect_options_t.server_public_key", 33 },
            { "peer_connect_options_t.reserved", 65 }, { "peer_connect_options_t.auth", 72 },
            { "peer_connect_options_t.ca_file", 80 }, { "peer_connect_options_t.certificate_fingerprint", 88 },
            { "peer_connect_options_t.pin_certificate", 120 }, { "peer_connect_options_t.auth_once", 121 },
            { "peer_connect_options_t.reserved_2", 122 },
            { "peer_stats_t", 64 }, { "peer_stats_t.struct_size", 0 }, { "peer_stats_t.protocol_version", 4 },
            { "peer_stats_t.rtt_ms", 8 }, { "peer_stats_t.rtt_variance_ms", 12 }, { "peer_stats_t.rtt_known", 16 },
            { "peer_stats_t.server_time_known", 17 }, { "peer_stats_t.reserved", 18 },
            { "peer_stats_t.bytes_sent", 24 }, { "peer_stats_t.bytes_received", 32 },
            { "peer_stats_t.frames_sent", 40 }, { "peer_stats_t.frames_received", 48 },
            { "peer_stats_t.server_time_ms", 56 },
            { "peer_value_t", 72 }, { "peer_value_t.type", 0 }, { "peer_value_t.custom_code", 4 },
            { "peer_value_t.integer", 8 }, { "peer_value_t.float32", 16 }, { "peer_value_t.float64", 24 },
            { "peer_value_t.data", 32 }, { "peer_value_t.len", 40 }, { "peer_value_t.map", 48 },
            { "peer_value_t.array", 56 }, { "peer_value_t.table", 64 },
            { "peer_status_info_t", 16 }, { "peer_status_info_t.message", 8 },
            { "peer_operation_response_t", 24 }, { "peer_operation_response_t.encrypted", 1 },
            { "peer_operation_response_t.return_code", 2 }, { "peer_operation_response_t.debug_message", 8 },
            { "peer_operation_response_t.params", 16 },
            { "peer_event_t", 16 }, { "peer_event_t.encrypted", 1 }, { "peer_event_t.sender", 4 },
            { "peer_event_t.params", 8 },
            { "peer_polled_event_t", 64 }, { "peer_polled_event_t.status", 4 },
            { "peer_polled_event_t.status_info", 8 }, { "peer_polled_event_t.response", 24 },
            { "peer_polled_event_t.event", 48 },
            { "peer_room_options_t", 48 }, { "peer_room_options_t.struct_size", 0 }, { "peer_room_options_t.max_players", 4 },
            { "peer_room_options_t.is_open", 8 }, { "peer_room_options_t.is_visible", 9 },
            { "peer_room_options_t.keep_cache_on_leave", 10 }, { "peer_room_options_t.reserved", 11 },
            { "peer_room_options_t.player_ttl_ms", 16 }, { "peer_room_options_t.empty_room_ttl_ms", 20 },
            { "peer_room_options_t.custom_properties", 24 }, { "peer_room_options_t.listed_in_lobby", 32 },
            { "peer_room_options_t.listed_in_lobby_count", 40 },
            { "peer_raise_event_options_t", 24 }, { "peer_raise_event_options_t.struct_size", 0 },
            { "peer_raise_event_options_t.receivers", 4 }, { "peer_raise_event_options_t.interest_group", 5 },
            { "peer_raise_event_options_t.cache", 6 }, { "peer_raise_event_options_t.reserved", 7 },
            { "peer_raise_event_options_t.target_actors", 8 }, { "peer_raise_event_options_t.target_actor_count", 16 },
            { "peer_client_config_t", 80 }, { "peer_client_config_t.struct_size", 0 }, { "peer_client_config_t.pin_master_key", 4 },
            { "peer_client_config_t.reserved", 5 }, { "peer_client_config_t.master_public_key", 8 },
            { "peer_client_config_t.peer", 40 }, { "peer_client_config_t.masters", 48 }, { "peer_client_config_t.master_count", 56 },
            { "peer_client_config_t.app_id", 64 }, { "peer_client_config_t.app_version", 72 },
            { "peer_client_event_t", 120 }, { "peer_client_event_t.kind", 0 }, { "peer_client_event_t.state", 4 },
            { "peer_client_event_t.status", 8 }, { "peer_client_event_t.status_info", 16 },
            { "peer_client_event_t.room", 32 }, { "peer_client_event_t.actor", 40 }, { "peer_client_event_t.rejoined", 44 },
            { "peer_client_event_t.actors", 48 }, { "peer_client_event_t.actor_count", 56 },
            { "peer_client_event_t.op_code", 64 }, { "peer_client_event_t.return_code", 66 },
            { "peer_client_event_t.message", 72 }, { "peer_client_event_t.event", 80 },
            { "peer_client_event_t.response", 96 },
        };
        Equal(actual.Count, wide.Count, "number of hand-worked layout values");
        var expected = new Dictionary<string, long>();
        string measured = Environment.GetEnvironmentVariable("SEALNET_C_LAYOUT");
        if (!string.IsNullOrEmpty(measured))
        {
            foreach (var item in measured.Split(';'))
            {
                int equals = item.IndexOf('=');
                if (equals > 0)
                {
                    expected[item.Substring(0, equals)] = long.Parse(item.Substring(equals + 1));
                }
            }
            Equal(actual.Count, expected.Count, "number of layout values measured by the C compiler");
            if (IntPtr.Size == 8)
            {
                // The fallback stays right: on 64-bit the hand-worked values are what the compiler measured.
                foreach (var entry in wide)
                {
                    long want;
                    Check(expected.TryGetValue(entry.Key, out want), "the C compiler did not measure " + entry.Key);
                    Equal(want, entry.Value, "hand-worked value of " + entry.Key);
                }
            }
        }
        else
        {
            Check(IntPtr.Size == 8, "no C compiler to measure the layouts, and hand-worked values exist for 64-bit only");
            expected = wide;
        }
        foreach (var entry in actual)
        {
            long want;
            Check(expected.TryGetValue(entry.Key, out want), "no expected value for " + entry.Key);
            Equal(want, entry.Value, entry.Key);
        }
        // No padding in the growable structures: each field, reserved ones included, ends where the next
        // begins, so the library sees every byte the binding passes (and refuses non-zero reserved ones).
        CheckNoPadding(actual, "peer_config_t", new[] { "struct_size", "disconnect_timeout_ms", "on_status",
            "on_operation_response", "on_event", "user_data", "ping_interval_ms", "max_queued_events",
            "auto_key_exchange", "pin_server_key", "server_public_key", "max_protocol_version", "reserved",
            "max_queued_bytes" }, new long[] { 4, 4, IntPtr.Size, IntPtr.Size, IntPtr.Size, IntPtr.Size, 4, 4, 1, 1,
            NativeMethods.KeyLength, 1, NativeMethods.ConfigReservedLength, 8 });
        CheckNoPadding(actual, "peer_send_options_t", new[] { "struct_size", "delivery_mode", "encrypt", "channel",
            "reserved" }, new long[] { 4, 1, 1, 1, 1 });
        CheckNoPadding(actual, "peer_connect_options_t", new[] { "struct_size", "transport", "address", "app_id",
            "app_version", "pin", "server_public_key", "reserved", "auth", "ca_file", "certificate_fingerprint",
            "pin_certificate", "auth_once", "reserved_2" }, new long[] { 4, 4, IntPtr.Size, IntPtr.Size, IntPtr.Size, 1,
            NativeMethods.KeyLength, NativeMethods.ConnectOptionsReservedLength, IntPtr.Size, IntPtr.Size,
            NativeMethods.KeyLength, 1, 1, NativeMethods.ConnectOptionsReserved2Length });
        CheckNoPadding(actual, "peer_stats_t", new[] { "struct_size", "protocol_version", "rtt_ms", "rtt_variance_ms",
            "rtt_known", "server_time_known", "reserved", "bytes_sent", "bytes_received", "frames_sent",
            "frames_received", "server_time_ms" }, new long[] { 4, 4, 4, 4, 1, 1, NativeMethods.StatsReservedLength,
            8, 8, 8, 8, 8 });
        CheckNoPadding(actual, "peer_room_options_t", new[] { "struct_size", "max_players", "is_open", "is_visible",
            "keep_cache_on_leave", "reserved", "player_ttl_ms", "empty_room_ttl_ms", "custom_properties", "listed_in_lobby",
            "listed_in_lobby_count" }, new long[] { 4, 4, 1, 1, 1, NativeMethods.RoomOptionsReservedLength, 4, 4,
            IntPtr.Size, IntPtr.Size, IntPtr.Size });
        CheckNoPadding(actual, "peer_raise_event_options_t", new[] { "struct_size", "receivers", "interest_group", "cache",
            "reserved", "target_actors", "target_actor_count" }, new long[] { 4, 1, 1, 1, 1, IntPtr.Size, IntPtr.Size });
        CheckNoPadding(actual, "peer_client_config_t", new[] { "struct_size", "pin_master_key", "reserved",
            "master_public_key", "peer", "masters", "master_count", "app_id", "app_version" }, new long[] { 4, 1,
            NativeMethods.ClientConfigReservedLength, NativeMethods.KeyLength, IntPtr.Size, IntPtr.Size, IntPtr.Size,
            IntPtr.Size, IntPtr.Size });
        // The sizes the binding passes as struct_size are what it lays out.
        Equal((uint)actual["peer_config_t"], NativeMethods.ConfigSize, "ConfigSize");
        Equal((uint)actual["peer_stats_t"], NativeMethods.StatsSize, "StatsSize");
        Equal((uint)actual["peer_send_options_t"], NativeMethods.SendOptionsSize, "SendOptionsSize");
        Equal((uint)actual["peer_connect_options_t"], NativeMethods.ConnectOptionsSize, "ConnectOptionsSize");
        Equal((uint)actual["peer_client_config_t"], NativeMethods.ClientConfigSize, "ClientConfigSize");
        Equal((uint)actual["peer_room_options_t"], NativeMethods.RoomOptionsSize, "RoomOptionsSize");
        Equal((uint)actual["peer_raise_event_options_t"], NativeMethods.RaiseEventOptionsSize, "RaiseEventOptionsSize");
        using (var arguments = new NativeArguments())
        {
            Equal(NativeMethods.RoomOptionsSize, new RoomOptions().ToNative(arguments).struct_size, "RoomOptions carry struct_size");
            Equal(NativeMethods.RaiseEventOptionsSize, new RaiseEventOptions().ToNative(arguments).struct_size,
                "RaiseEventOptions carry struct_size");
        }
        Equal(NativeMethods.RoomOptionsSize, RoomOptions.NativeDefaults().struct_size, "the native defaults set struct_size");
        Equal(NativeMethods.SendOptionsSize, SendOptions.SendReliable.ToNative().struct_size, "SendOptions carry struct_size");
    }

    private static void ReturnCodesMatchHeader()
    {
        // Every constant of ReturnCode, by its header name (GameIdAlreadyExists: GAME_ID_ALREADY_EXISTS).
        var mirrored = new Dictionary<string, short>();
        foreach (var field in typeof(ReturnCode).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
        {
            var name = new StringBuilder();
            foreach (char c in field.Name)
            {
                if (char.IsUpper(c) && name.Length > 0)
                {
                    name.Append('_');
                }
                name.Append(char.ToUpperInvariant(c));
            }
            mirrored[name.ToString()] = (short)field.GetValue(null);
        }
        // The codes with a header value of their own, worked out by hand: checked without a C compiler.
        Equal((short)-1, ReturnCode.InternalServerError, "InternalServerError");
        Equal((short)-2, ReturnCode.InvalidOperation, "InvalidOperation");
        string measured = Environment.GetEnvironmentVariable("SEALNET_C_RETURN_CODES");
        if (string.IsNullOrEmpty(measured))
        {
            Console.WriteLine("     (no C compiler: the header's values were not measured)");
            return;
        }
        int count = 0;
        foreach (var item in measured.Split(';'))
        {
            int equals = item.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }
            string name = item.Substring(0, equals);
            short want = short.Parse(item.Substring(equals + 1));
            short have;
            Check(mirrored.TryGetValue(name, out have), "ReturnCode has no constant for PEER_RETURN_CODE_" + name);
            Equal(want, have, "PEER_RETURN_CODE_" + name);
            count++;
        }
        Equal(mirrored.Count, count, "the header has a PEER_RETURN_CODE_* for each ReturnCode constant");
    }

    private static void RoomConstantsMatchHeader()
    {
        // The header's PEER_* names (without the prefix) of every room constant the binding mirrors.
        var mirrored = new Dictionary<string, int>
        {
            { "RECEIVERS_OTHERS", (int)ReceiverGroup.Others },
            { "RECEIVERS_ALL", (int)ReceiverGroup.All },
            { "RECEIVERS_MASTER_CLIENT", (int)ReceiverGroup.MasterClient },
            { "EVENT_CACHE_NONE", (int)EventCaching.DoNotCache },
            { "EVENT_CACHE_ADD", (int)EventCaching.AddToRoomCache },
            { "EVENT_CACHE_REMOVE", (int)EventCaching.RemoveFromRoomCache },
            { "EVENT_CACHE_REMOVE_OF_ACTORS_LEFT", (int)EventCaching.RemoveFromRoomCacheForActorsLeft },
            { "EVENT_CODE_JOIN", EventCode.Join },
            { "EVENT_CODE_LEAVE", EventCode.Leave },
            { "EVENT_CODE_PROPERTIES_CHANGED", EventCode.PropertiesChanged },
            { "ROOM_PROP_MAX_PLAYERS", GamePropertyKey.MaxPlayers },
            { "ROOM_PROP_IS_VISIBLE", GamePropertyKey.IsVisible },
            { "ROOM_PROP_IS_OPEN", GamePropertyKey.IsOpen },
            { "ROOM_PROP_PLAYER_COUNT", GamePropertyKey.PlayerCount },
            { "ROOM_PROP_MASTER_CLIENT_ID", GamePropertyKey.MasterClientId },
            { "ROOM_PROP_PLAYER_TTL", GamePropertyKey.PlayerTtl },
            { "ROOM_PROP_EMPTY_ROOM_TTL", GamePropertyKey.EmptyRoomTtl },
            { "PLAYER_PROP_NICKNAME", ActorProperties.PlayerName },
            { "PLAYER_PROP_IS_INACTIVE", ActorProperties.IsInactive },
            { "PLAYER_PROP_USER_ID", ActorProperties.UserId },
        };
        // Every member of the enums and key classes is in that list (EventCode's GameList and GameListUpdate
        // have no header constant: they are checked by hand below).
        var flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static;
        Equal(3, Enum.GetValues(typeof(ReceiverGroup)).Length, "ReceiverGroup members");
        Equal(4, Enum.GetValues(typeof(EventCaching)).Length, "EventCaching members");
        Equal(7, typeof(GamePropertyKey).GetFields(flags).Length, "GamePropertyKey constants");
        Equal(3, typeof(ActorProperties).GetFields(flags).Length, "ActorProperties constants");
        Equal(5, typeof(EventCode).GetFields(flags).Length, "EventCode constants");
        Equal((byte)230, EventCode.GameList, "GameList (server README)");
        Equal((byte)229, EventCode.GameListUpdate, "GameListUpdate (server README)");
        Equal((byte)252, OperationCode.SetProperties, "SetProperties");
        Equal((byte)248, OperationCode.ChangeGroups, "ChangeGroups");
        Equal((byte)229, OperationCode.JoinLobby, "JoinLobby");
        Equal((byte)228, OperationCode.LeaveLobby, "LeaveLobby");
        string measured = Environment.GetEnvironmentVariable("SEALNET_C_CONSTANTS");
        if (string.IsNullOrEmpty(measured))
        {
            Console.WriteLine("     (no C compiler: the header's values were not measured)");
            return;
        }
        int count = 0;
        foreach (var item in measured.Split(';'))
        {
            int equals = item.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }
            string name = item.Substring(0, equals);
            int have;
            Check(mirrored.TryGetValue(name, out have), "the binding mirrors no PEER_" + name);
            Equal(int.Parse(item.Substring(equals + 1)), have, "PEER_" + name);
            count++;
        }
        Equal(mirrored.Count, count, "the header has each constant the binding mirrors");
    }

    private static void RoomAndRaiseOptions()
    {
        var options = new RoomOptions();
        Equal(0, options.PlayerTtl, "default PlayerTtl");
        Equal(0, options.EmptyRoomTtl, "default EmptyRoomTtl");
        Check(options.CleanupCacheOnLeave, "CleanupCacheOnLeave by default");
        Check(options.CustomRoomProperties == null && options.CustomRoomPropertiesForLobby == null, "no custom properties");
        var defaults = RoomOptions.NativeDefaults();
        Equal((byte)0, defaults.keep_cache_on_leave, "native keep_cache_on_leave");
        Check(defaults.custom_properties == IntPtr.Zero && defaults.listed_in_lobby == IntPtr.Zero
            && (ulong)defaults.listed_in_lobby_count == 0, "no native properties or listed names");
        using (var arguments = new NativeArguments())
        {
            var plain = options.ToNative(arguments);
            Check(plain.custom_properties == IntPtr.Zero && plain.listed_in_lobby == IntPtr.Zero, "nothing built for no properties");
            Equal((byte)0, plain.keep_cache_on_leave, "cleanup on leave: keep_cache_on_leave 0");
            options = new RoomOptions
            {
                PlayerTtl = 1500,
                EmptyRoomTtl = 2500,
                CleanupCacheOnLeave = false,
                CustomRoomProperties = new Dictionary<string, object> { { "map", "dust" }, { "level", 3 } },
                CustomRoomPropertiesForLobby = new[] { "map", "level" },
            };
            var native = options.ToNative(arguments);
            Equal(1500u, native.player_ttl_ms, "player_ttl_ms");
            Equal(2500u, native.empty_room_ttl_ms, "empty_room_ttl_ms");
            Equal((byte)1, native.keep_cache_on_leave, "keep_cache_on_leave");
            Check(native.custom_properties != IntPtr.Zero, "a native table of the custom properties");
            var back = ValueReader.TableFromNative(native.custom_properties);
            Check(back.Count == 2 && Equals("dust", back["map"]) && Equals(3, back["level"]), "the table holds them");
            Equal(2UL, (ulong)native.listed_in_lobby_count, "listed_in_lobby_count");
            Equal("map", NativeMethods.Utf8FromNulTerminated(Marshal.ReadIntPtr(native.listed_in_lobby, 0)), "listed name 0");
            Equal("level", NativeMethods.Utf8FromNulTerminated(Marshal.ReadIntPtr(native.listed_in_lobby, IntPtr.Size)), "listed name 1");
        }
        using (var arguments = new NativeArguments())
        {
            Throws<ArgumentOutOfRangeException>("a negative PlayerTtl", () => new RoomOptions { PlayerTtl = -1 }.ToNative(arguments));
            Throws<ArgumentOutOfRangeException>("a negative EmptyRoomTtl", () => new RoomOptions { EmptyRoomTtl = -1 }.ToNative(arguments));
            Throws<ArgumentException>("a null listed name",
                () => new RoomOptions { CustomRoomPropertiesForLobby = new string[] { "map", null } }.ToNative(arguments));
            Throws<ArgumentException>("a NUL in a listed name",
                () => new RoomOptions { CustomRoomPropertiesForLobby = new[] { "m\0p" } }.ToNative(arguments));
            try
            {
                new RoomOptions { CustomRoomProperties = new Hashtable { { "map", new object() } } }.ToNative(arguments);
                throw new TestFailure("a custom property of an unsupported type was converted");
            }
            catch (ArgumentException e)
            {
                Check(e.Message.Contains("CustomRoomProperties") && e.Message.Contains("\"map\""),
                    "the message names the options field and the key: " + e.Message);
            }
        }

        NativeRaiseEventOptions nativeDefaults;
        Equal(PeerResult.Ok, (PeerResult)NativeMethods.peer_raise_event_options_default(out nativeDefaults,
            NativeMethods.RaiseEventOptionsSize), "peer_raise_event_options_default");
        using (var arguments = new NativeArguments())
        {
            var raise = new RaiseEventOptions().ToNative(arguments);
            Equal(nativeDefaults.struct_size, raise.struct_size, "struct_size");
            Equal(nativeDefaults.receivers, raise.receivers, "the native default receivers");
            Equal(nativeDefaults.interest_group, raise.interest_group, "the native default interest group");
            Equal(nativeDefaults.cache, raise.cache, "the native default cache");
            Check(raise.target_actors == IntPtr.Zero && (ulong)raise.target_actor_count == 0, "no target actors");
            Check(nativeDefaults.target_actors == IntPtr.Zero && (ulong)nativeDefaults.target_actor_count == 0,
                "no native target actors");
            raise = new RaiseEventOptions
            {
                Receivers = ReceiverGroup.MasterClient,
                InterestGroup = 7,
                CachingOption = EventCaching.RemoveFromRoomCache,
                TargetActors = new[] { 3, 5 },
            }.ToNative(arguments);
            Check(raise.receivers == 2 && raise.interest_group == 7 && raise.cache == 6, "receivers, group and cache");
            Equal(2UL, (ulong)raise.target_actor_count, "target_actor_count");
            Check(Marshal.ReadInt32(raise.target_actors, 0) == 3 && Marshal.ReadInt32(raise.target_actors, 4) == 5,
                "the target actors, pinned");
            raise = new RaiseEventOptions { TargetActors = new int[0] }.ToNative(arguments);
            Check(raise.target_actors == IntPtr.Zero && (ulong)raise.target_actor_count == 0, "no target actors for an empty list");
            Check(arguments.ByteList(null) == IntPtr.Zero && arguments.ByteList(new byte[0]) != IntPtr.Zero,
                "a null group list is NULL, an empty one is not");
        }
    }

    private static void CheckNoPadding(Dictionary<string, long> layout, string structure, string[] fields, long[] sizes)
    {
        long end = 0;
        for (int i = 0; i < fields.Length; i++)
        {
            Equal(end, layout[structure + "." + fields[i]], structure + "." + fields[i] + " follows the field before it");
            end += sizes[i];
        }
        Equal(end, layout[structure], structure + " ends with its last field");
    }

    private static long Offset<T>(string field)
    {
        return Marshal.OffsetOf(typeof(T), field).ToInt64();
    }

    private static void ConfigDefaults()
    {
        var config = new SealnetPeerConfig();
        Equal(10000, config.DisconnectTimeout, "DisconnectTimeout");
        Equal(1000, config.PingInterval, "PingInterval");
        Equal(true, config.AutoKeyExchange, "AutoKeyExchange");
        Equal(65536, config.MaxQueuedEvents, "MaxQueuedEvents");
        Equal(33554432L, config.MaxQueuedBytes, "MaxQueuedBytes");
        Equal((byte)0, config.MaxProtocolVersion, "MaxProtocolVersion (0, the latest)");
        Check(config.ServerPublicKeyPin == null, "no pin by default");
        Throws<ArgumentException>("a 31-byte pin", () => config.ServerPublicKeyPin = new byte[31]);
        config.DisconnectTimeout = 0;
        Throws<ArgumentOutOfRangeException>("a zero timeout", () => new SealnetPeer(null, config));
        config = new SealnetPeerConfig();
        config.MaxQueuedBytes = 0;
        Throws<ArgumentOutOfRangeException>("zero queued bytes", () => new SealnetPeer(null, config));
        config = new SealnetPeerConfig();
        config.MaxProtocolVersion = 9;
        try
        {
            new SealnetPeer(null, config).Dispose();
            throw new TestFailure("a protocol version of 9 was accepted");
        }
        catch (SealnetException e)
        {
            Equal(PeerResult.InvalidArgument, e.Result, "peer_create result");
            Check(e.Message.Contains("max_protocol_version is 9"), "message names the field: " + e.Message);
        }

        // Reserved bytes must be zero: the binding passes zeros, and the library refuses anything else.
        NativeConfig native = new SealnetPeerConfig().ToNative(IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);
        Equal(NativeMethods.ConfigSize, native.struct_size, "struct_size of the config the binding passes");
        Check(native.reserved != null && native.reserved.Length == NativeMethods.ConfigReservedLength
            && Array.TrueForAll(native.reserved, b => b == 0), "the config's reserved bytes are zero");
        native.reserved[NativeMethods.ConfigReservedLength - 1] = 1;
        IntPtr created;
        Equal((uint)PeerResult.InvalidArgument, NativeMethods.peer_create(ref native, out created),
            "peer_create with a reserved byte set");
        string detail = NativeMethods.LastError();
        Check(detail != null && detail.Contains("peer_config_t.reserved must be zero"), "peer_last_error: " + detail);
        Equal((byte)0, SendOptions.SendReliableEncrypted.ToNative().reserved, "send options: reserved byte");
    }

    private static void ParameterRoundTrip()
    {
        EnsureTestTypeRegistered();
        var original = EveryType();
        var expectedTypes = new Dictionary<byte, uint>
        {
            { 0, NativeMethods.ValueNull }, { 1, NativeMethods.ValueBool }, { 3, NativeMethods.ValueInt },
            { 6, NativeMethods.ValueLong }, { 9, NativeMethods.ValueFloat }, { 13, NativeMethods.ValueDouble },
            { 16, NativeMethods.ValueString }, { 19, NativeMethods.ValueBytes }, { 21, NativeMethods.ValueIntArray },
            { 23, NativeMethods.ValueMap }, { 30, NativeMethods.ValueByte }, { 32, NativeMethods.ValueShort },
            { 34, NativeMethods.ValueShortArray }, { 35, NativeMethods.ValueLongArray },
            { 36, NativeMethods.ValueFloatArray }, { 37, NativeMethods.ValueDoubleArray },
            { 38, NativeMethods.ValueBoolArray }, { 39, NativeMethods.ValueStringArray },
            { 40, NativeMethods.ValueArray }, { 42, NativeMethods.ValueTable }, { 43, NativeMethods.ValueTable },
            { 44, NativeMethods.ValueTable }, { 46, NativeMethods.ValueCustom }, { 47, NativeMethods.ValueCustom },
        };

        IntPtr native = original.ToNative();
        try
        {
            UIntPtr count;
            Equal(0u, NativeMethods.peer_params_count(native, out count), "peer_params_count");
            Equal((ulong)original.Count, (ulong)count, "native entry count");
            foreach (var entry in expectedTypes)
            {
                uint type;
                Equal(0u, NativeMethods.peer_params_type(native, entry.Key, out type), "peer_params_type " + entry.Key);
                Equal(entry.Value, type, "native type of key " + entry.Key);
            }
            int value;
            Equal(0u, NativeMethods.peer_params_get_i32(native, 4, out value), "peer_params_get_i32");
            Equal(int.MinValue, value, "native i32 value");

            var copy = ParameterDictionary.FromNative(native);
            SameDictionary(original, copy, "round trip");
            Check(!ReferenceEquals(original[19], copy[19]), "byte[] values are copies");
            Equal(3, copy.Get<ParameterDictionary>(23).Get<ParameterDictionary>(1).Get<ParameterDictionary>(7).Get<int[]>(1)[0],
                "nested access through Get<T>");
            var table = copy.Get<System.Collections.Hashtable>(42);
            Check(table != null && table[7] is double && table[7L] is string && table[(byte)7] is short
                && table[(short)7] is object[], "table keys keep their types: " + Describe(table));
        }
        finally
        {
            NativeMethods.peer_params_free(native);
        }
        var empty = ParameterDictionary.FromNative(IntPtr.Zero);
        Equal(0, empty.Count, "NULL params read as an empty dictionary");
    }

    /// <summary>One value of every type the binding maps, with edge values, nested containers and custom types.</summary>
    private static ParameterDictionary EveryType()
    {
        var allBytes = new byte[256];
        for (int i = 0; i < allBytes.Length; i++)
        {
            allBytes[i] = (byte)i;
        }
        var deep = new ParameterDictionary { { 0, "level 3" }, { 1, new int[] { 3 } } };
        var nested = new ParameterDictionary
        {
            { 0, "level 2" },
            { 1, new ParameterDictionary { { 7, deep }, { 8, true } } },
            { 200, (long)-1 },
        };
        var table = new System.Collections.Hashtable
        {
            { "name", "Ann" }, { "score", 10 }, { 7, 0.25 }, { 7L, "a long key" }, { (byte)7, (short)-7 },
            { (short)7, new object[] { 1, "x" } }, { "", null },
        };
        return new ParameterDictionary
        {
            { 0, null },
            { 1, true },
            { 2, false },
            { 3, 0 },
            { 4, int.MinValue },
            { 5, int.MaxValue },
            { 6, long.MinValue },
            { 7, long.MaxValue },
            { 8, (long)42 },
            { 9, 1.5f },
            { 10, float.NaN },
            { 11, float.NegativeInfinity },
            { 12, -0.0f },
            { 13, Math.PI },
            { 14, double.Epsilon },
            { 15, "" },
            { 16, "plain ascii" },
            { 17, "h\u00e9llo \u2713 \U0001F3AE \u4e16\u754c" },
            { 18, new byte[0] },
            { 19, allBytes },
            { 20, new int[0] },
            { 21, new int[] { int.MinValue, -1, 0, 1, int.MaxValue } },
            { 22, new ParameterDictionary() },
            { 23, nested },
            { 30, (byte)0 },
            { 31, byte.MaxValue },
            { 32, short.MinValue },
            { 33, short.MaxValue },
            { 34, new short[] { short.MinValue, -1, 0, 300, short.MaxValue } },
            { 35, new long[] { long.MinValue, -1, 4294967296L, long.MaxValue } },
            { 36, new float[] { 0.5f, -1.25f, float.NaN, float.PositiveInfinity } },
            { 37, new double[] { 3.5, -0.125, double.MaxValue, -0.0 } },
            { 38, new bool[] { true, false, true, true, false, false, false, true, true } },
            { 39, new string[] { "a", "\u03b2", "", "\U0001F3AE" } },
            { 40, new object[] { 1, "two", null, false, (byte)3, new int[] { 4 }, new object[] { "nested", 5L },
                new ParameterDictionary { { 1, 5 } }, new System.Collections.Hashtable { { 1, 2 } }, new TestPoint(8, 9) } },
            { 41, new object[0] },
            { 42, table },
            { 43, new Dictionary<string, object> { { "hp", 100 }, { "items", new string[] { "sword" } } } },
            { 44, new System.Collections.Hashtable() },
            { 45, new short[0] },
            { 46, new TestPoint(-3, 4) },
            { 47, new CustomData(UnknownCode, new byte[] { 1, 2, 3 }) },
            { 48, new string[0] },
            { 49, new bool[0] },
            { 255, "last key" },
        };
    }

    private static void UnsupportedTypes()
    {
        var parameters = new ParameterDictionary();
        Throws<ArgumentException>("uint", () => parameters.Add(1, 1u));
        Throws<ArgumentException>("sbyte", () => parameters.Add(1, (sbyte)1));
        Throws<ArgumentException>("decimal", () => parameters.Add(1, 1m));
        Throws<ArgumentException>("uint[]", () => parameters[1] = new uint[] { 1 });
        Throws<ArgumentException>("sbyte[]", () => parameters[1] = new sbyte[] { 1 });
        Throws<ArgumentException>("List<int>", () => parameters[1] = new List<int>());
        Throws<ArgumentException>("an unregistered class", () => parameters[1] = new Recorder("x"));
        Throws<ArgumentException>("Hashtable[]", () => parameters[1] = new System.Collections.Hashtable[0]);
        Equal(0, parameters.Count, "nothing was stored");

        // The message names the key, the place inside the value and the type.
        ExpectArgument("a uint inside an object[]", () => parameters.Add(245, new object[] { 1, "x", 3u }),
            "parameter 245, element 2", "System.UInt32");
        ExpectArgument("a double table key", () => parameters.Add(18, new System.Collections.Hashtable { { 1.5, "x" } }),
            "parameter 18, table key 1.5 (Double)", "System.Double");
        ExpectArgument("a null in a string[]", () => parameters.Add(16, new string[] { "a", null }),
            "parameter 16, element 1", "cannot hold null");
        ExpectArgument("a value inside a table", () => parameters.Add(18,
            new Dictionary<string, object> { { "ok", 1 }, { "bad", new List<string>() } }),
            "parameter 18, table key \"bad\"", "List");
        Equal(0, parameters.Count, "nothing was stored");

        var loop = new ParameterDictionary();
        loop[1] = loop;
        Throws<ArgumentException>("a dictionary containing itself", () => loop.ToNative());
        var selfArray = new object[1];
        selfArray[0] = selfArray;
        ExpectArgument("an object[] containing itself", () => parameters.Add(3, selfArray), "parameter 3", "deeper than");

        // Stored while valid, changed afterwards: the conversion refuses it just as well.
        var later = new object[] { 1 };
        parameters.Add(4, later);
        later[0] = 2u;
        ExpectArgument("a container changed after it was stored", () => parameters.ToNative(),
            "parameter 4, element 0", "System.UInt32");
        ExpectArgument("an unpaired surrogate", () => new ParameterDictionary { { 5, "bad \ud800 text" } }.ToNative(),
            "parameter 5", "unpaired surrogate");
    }

    private static string[] Filled(int count, string text)
    {
        var items = new string[count];
        for (int i = 0; i < count; i++)
        {
            items[i] = text;
        }
        return items;
    }

    private static void ExpectArgument(string what, Action action, string path, string detail)
    {
        try
        {
            action();
        }
        catch (ArgumentException e)
        {
            Check(e.Message.Contains(path), what + ": the message names \"" + path + "\": " + e.Message);
            Check(e.Message.Contains(detail), what + ": the message says \"" + detail + "\": " + e.Message);
            return;
        }
        throw new TestFailure(what + ": no ArgumentException");
    }

    private static void ExpectLimit(string what, ParameterDictionary parameters, string path, string limit)
    {
        try
        {
            NativeMethods.peer_params_free(parameters.ToNative());
        }
        catch (SealnetException e)
        {
            Equal(PeerResult.ParamsTooLarge, e.Result, what + ": result");
            Check(e.NativeMessage != null && e.NativeMessage.Contains(limit),
                what + ": the native message names the limit \"" + limit + "\": " + e.NativeMessage);
            Check(e.Message.Contains(path) && e.Message.Contains(e.NativeMessage),
                what + ": the message names \"" + path + "\" and carries the native text: " + e.Message);
            return;
        }
        throw new TestFailure(what + ": no SealnetException");
    }

    private static void LimitErrors()
    {
        ExpectLimit("a string of 65537 bytes", new ParameterDictionary { { 8, new string('x', 65537) } },
            "parameter 8", "string of 65537 bytes exceeds the limit of 65536");
        var big = new object[4097];
        ExpectLimit("an object[] of 4097 elements", new ParameterDictionary { { 17, big } },
            "parameter 17, element 4096", "4096");
        ExpectLimit("a string[] of 4097 elements", new ParameterDictionary { { 16, Filled(4097, "s") } },
            "parameter 16, element 4096", "4096");
        ExpectLimit("a long string deep inside", new ParameterDictionary
        {
            { 245, new ParameterDictionary { { 18, new System.Collections.Hashtable { { "k", new object[] { 1, new string('y', 70000) } } } } } },
        }, "parameter 245, key 18, table key \"k\", element 1", "exceeds the limit of 65536");
        var deep = new ParameterDictionary { { 1, 1 } };
        for (int i = 0; i < 10; i++)
        {
            deep = new ParameterDictionary { { 1, deep } };
        }
        ExpectLimit("nesting deeper than 8", deep, "parameter 1", "depth");
        // A string exactly at the limit is fine.
        NativeMethods.peer_params_free(new ParameterDictionary { { 8, new string('x', 65536) } }.ToNative());
    }

    private const byte TestPointCode = 77;
    private const byte UnknownCode = 201;
    private static bool testTypeRegistered;

    /// <summary>A custom type for the tests, registered under <see cref="TestPointCode"/>.</summary>
    private sealed class TestPoint : IEquatable<TestPoint>
    {
        public readonly int X;
        public readonly int Y;

        public TestPoint(int x, int y)
        {
            X = x;
            Y = y;
        }

        public bool Equals(TestPoint other) { return other != null && other.X == X && other.Y == Y; }
        public override bool Equals(object obj) { return Equals(obj as TestPoint); }
        public override int GetHashCode() { return X * 31 + Y; }
        public override string ToString() { return "(" + X + ", " + Y + ")"; }

        public static byte[] Serialize(object value)
        {
            var point = (TestPoint)value;
            var bytes = new byte[8];
            Buffer.BlockCopy(BitConverter.GetBytes(point.X), 0, bytes, 0, 4);
            Buffer.BlockCopy(BitConverter.GetBytes(point.Y), 0, bytes, 4, 4);
            return bytes;
        }

        public static object Deserialize(byte[] bytes)
        {
            if (bytes.Length != 8)
            {
                throw new FormatException("a TestPoint has 8 bytes, not " + bytes.Length);
            }
            return new TestPoint(BitConverter.ToInt32(bytes, 0), BitConverter.ToInt32(bytes, 4));
        }
    }

    private sealed class OtherType
    {
    }

    private static void EnsureTestTypeRegistered()
    {
        if (!testTypeRegistered)
        {
            SealnetPeer.RegisterType(typeof(TestPoint), TestPointCode, TestPoint.Serialize, TestPoint.Deserialize);
            testTypeRegistered = true;
        }
    }

    private static void CustomTypeRegistration()
    {
        EnsureTestTypeRegistered();
        // Refusals: the same code twice, the same type twice, built-in and abstract types, nulls.
        ExpectArgument("the same code twice", () => SealnetPeer.RegisterType(typeof(OtherType), TestPointCode,
            v => new byte[0], b => new OtherType()), "code " + TestPointCode, "registered already");
        ExpectArgument("the same type twice", () => SealnetPeer.RegisterType(typeof(TestPoint), 78,
            TestPoint.Serialize, TestPoint.Deserialize), typeof(TestPoint).FullName, "registered already");
        ExpectArgument("a built-in type", () => SealnetPeer.RegisterType(typeof(int), 79, v => new byte[0], b => 0),
            "System.Int32", "sent as");
        ExpectArgument("a table type", () => SealnetPeer.RegisterType(typeof(Dictionary<string, int>), 79,
            v => new byte[0], b => null), "Dictionary", "table");
        ExpectArgument("an interface", () => SealnetPeer.RegisterType(typeof(IDisposable), 79, v => new byte[0], b => null),
            "IDisposable", "concrete type");
        Throws<ArgumentNullException>("a null serializer", () => SealnetPeer.RegisterType(typeof(OtherType), 79, null, b => null));

        // Registered values convert to custom values and back; unknown codes stay CustomData, both ways;
        // a CustomData carrying a registered code reads back as the registered type.
        var parameters = new ParameterDictionary
        {
            { 1, new TestPoint(1, -2) },
            { 2, new CustomData(UnknownCode, new byte[] { 9, 8, 7 }) },
            { 3, new CustomData(TestPointCode, TestPoint.Serialize(new TestPoint(5, 6))) },
            { 4, new CustomData(UnknownCode, new byte[0]) },
        };
        IntPtr native = parameters.ToNative();
        try
        {
            NativeValue value;
            Equal(0u, NativeMethods.peer_params_get(native, 1, out value), "peer_params_get");
            Equal(NativeMethods.ValueCustom, value.type, "native type");
            Equal(TestPointCode, value.custom_code, "native custom code");
            Equal(8UL, (ulong)value.len, "serialized length");
            var copy = ParameterDictionary.FromNative(native);
            Check(new TestPoint(1, -2).Equals(copy[1]), "registered type back: " + Describe(copy[1]));
            Check(new CustomData(UnknownCode, new byte[] { 9, 8, 7 }).Equals(copy[2]), "unknown code as CustomData: " + Describe(copy[2]));
            Check(new TestPoint(5, 6).Equals(copy[3]), "CustomData of a registered code: " + Describe(copy[3]));
            Check(new CustomData(UnknownCode, new byte[0]).Equals(copy[4]), "empty CustomData: " + Describe(copy[4]));
        }
        finally
        {
            NativeMethods.peer_params_free(native);
        }

        // A failing deserializer surfaces with the code and the type; so does a serializer returning null.
        var broken = new ParameterDictionary { { 9, new CustomData(TestPointCode, new byte[3]) } };
        native = broken.ToNative();
        try
        {
            ParameterDictionary.FromNative(native);
            throw new TestFailure("a broken custom value was read");
        }
        catch (InvalidOperationException e)
        {
            Check(e.Message.Contains("parameter 9") && e.Message.Contains("code " + TestPointCode)
                && e.InnerException is FormatException, "message: " + e.Message);
        }
        finally
        {
            NativeMethods.peer_params_free(native);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Connected tests

    private static void ConnectInOrder()
    {
        recA = new Recorder("A");
        peerA = NewPeer(recA, PinnedConfig());
        Equal(PeerState.Disconnected, peerA.State, "state before Connect");
        Check(peerA.ServerPublicKey == null, "no server key before the exchange");
        Equal(PeerResult.Ok, peerA.Connect(serverAddress, AppId), "Connect");
        Check(peerA.LastResultMessage == null, "no result message after Ok");
        Equal(PeerResult.AlreadyConnected, peerA.Connect(serverAddress, AppId), "second Connect");
        WaitFor("A EncryptionEstablished", () => recA.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recA.Statuses.Contains(StatusCode.Disconnect), peerA);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recA.StatusList(), "status order");
        Equal(PeerState.Encrypted, peerA.State, "state");
        var key = peerA.ServerPublicKey;
        Check(key != null, "server key after the exchange");
        Equal(serverKeyHex.ToLowerInvariant(), BitConverter.ToString(key).Replace("-", "").ToLowerInvariant(), "server key");
    }

    private static void JoinRoom()
    {
        Check(peerA != null, "needs peer A");
        recB = new Recorder("B");
        peerB = ConnectEncrypted(recB);
        actorA = Join(peerA, recA, true);
        actorB = Join(peerB, recB, false);
        // The server sends the actor list to a version-2 client as a packed int array (int[], as Photon
        // code expects); TryGetIntArray reads it (and the generic array a version-1 client gets, below).
        Check(recB.FindResponse(OpJoinRoom)[KeyActors] is int[],
            "the actor list is an int[]: " + Describe(recB.FindResponse(OpJoinRoom)[KeyActors]));
        int[] actors;
        Check(recB.FindResponse(OpJoinRoom).Parameters.TryGetIntArray(KeyActors, out actors),
            "JoinRoom response has an actor list of ints: " + Describe(recB.FindResponse(OpJoinRoom)[KeyActors]));
        Check(Array.IndexOf(actors, actorA) >= 0 && Array.IndexOf(actors, actorB) >= 0,
            "actor list " + Describe(actors) + " holds " + actorA + " and " + actorB);
        WaitFor("A sees B join", () => recA.FindEvent(EvJoin, e => e.Sender == actorB) != null, peerA, peerB);
        var join = recA.FindEvent(EvJoin, e => e.Sender == actorB);
        Equal(actorB, join[KeyActor], "join event actor parameter");
        Check(join[KeyActors] is int[] && Array.IndexOf((int[])join[KeyActors], actorB) >= 0,
            "join event actor list is an int[] holding B: " + Describe(join[KeyActors]));
    }

    private static void EncryptedEvent()
    {
        Check(peerB != null, "needs peers A and B in a room");
        var data = new ParameterDictionary
        {
            { 1, "secret move" },
            { 2, new byte[] { 0xde, 0xad, 0xbe, 0xef } },
            { 3, new int[] { 10, 20, 30 } },
            { 4, 2.25 },
        };
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(7, data, GroupOthers),
            SendOptions.SendReliableEncrypted), "RaiseEvent encrypted");
        WaitFor("B receives event 7", () => recB.FindEvent(7, null) != null, peerA, peerB);
        var received = recB.FindEvent(7, null);
        Equal(true, received.WasEncrypted, "WasEncrypted");
        Equal(actorA, received.Sender, "Sender");
        Equal(actorA, received[KeyActor], "sender actor parameter");
        Check(SameValue(data, received.CustomData), "data: got " + Describe(received.CustomData));
        Check(recA.FindEvent(7, null) == null, "group Others does not echo to the sender");
    }

    private static void PlainEvent()
    {
        Check(peerB != null, "needs peers A and B in a room");
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(8, "hello in the clear", GroupOthers),
            SendOptions.SendReliable), "RaiseEvent plain");
        WaitFor("B receives event 8", () => recB.FindEvent(8, null) != null, peerA, peerB);
        var received = recB.FindEvent(8, null);
        Equal(false, received.WasEncrypted, "WasEncrypted");
        Equal("hello in the clear", received.CustomData as string, "data");
        Equal(actorA, received.Sender, "Sender");
    }

    private static void EveryTypeThroughServer()
    {
        Check(peerB != null, "needs peers A and B in a room");
        EnsureTestTypeRegistered();
        var data = EveryType();
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(14, data, GroupAll),
            SendOptions.SendReliableEncrypted), "RaiseEvent with every type");
        WaitFor("A and B receive event 14", () => recA.FindEvent(14, null) != null && recB.FindEvent(14, null) != null,
            peerA, peerB);
        foreach (var received in new[] { recA.FindEvent(14, null), recB.FindEvent(14, null) })
        {
            var copy = received.CustomData as ParameterDictionary;
            Check(copy != null, "the data is a ParameterDictionary: " + Describe(received.CustomData));
            SameDictionary(data, copy, "event 14 data");
        }
    }

    private static void Stats()
    {
        Check(peerA != null, "needs peer A");
        var recorder = new Recorder("S");
        var config = PinnedConfig();
        config.PingInterval = 20; // several pings, so several round-trip samples, in a short test
        var peer = NewPeer(recorder, config);
        var before = peer.GetStats();
        Equal(0, before.ProtocolVersion, "no protocol version before a connection is accepted");
        Equal(0, peer.ProtocolVersion, "ProtocolVersion property before Connect");
        Equal(0L, before.BytesOut, "no bytes sent before Connect");
        Equal(false, before.IsRoundTripTimeKnown, "round-trip time unknown before Connect");
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        WaitFor("S EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        WaitFor("round-trip time and server time known", () => peer.IsRoundTripTimeKnown && peer.IsServerTimeKnown, peer);
        var stats = peer.GetStats();
        Equal(SealnetPeer.LatestProtocolVersion, stats.ProtocolVersion, "ProtocolVersion");
        Equal(SealnetPeer.LatestProtocolVersion, peer.ProtocolVersion, "ProtocolVersion property");
        Check(stats.RoundTripTime >= 0 && stats.RoundTripTime < 5000, "RoundTripTime " + stats.RoundTripTime);
        Check(stats.RoundTripTimeVariance >= 0, "RoundTripTimeVariance " + stats.RoundTripTimeVariance);
        Check(stats.BytesOut > 0 && stats.BytesIn > 0 && stats.FramesOut > 0 && stats.FramesIn > 0,
            "traffic counted: out " + stats.BytesOut + " B / " + stats.FramesOut + " frames, in " + stats.BytesIn
            + " B / " + stats.FramesIn + " frames");

        // An operation and its response move the counters.
        Join(peer, recorder, true);
        var after = peer.GetStats();
        Check(after.BytesOut > stats.BytesOut && after.FramesOut > stats.FramesOut, "sending counted");
        Check(after.BytesIn > stats.BytesIn && after.FramesIn > stats.FramesIn, "receiving counted");
        Check(peer.BytesIn >= after.BytesIn && peer.BytesOut >= after.BytesOut
            && peer.FramesIn >= after.FramesIn && peer.FramesOut >= after.FramesOut, "the properties read the same counters");

        // The server's clock advances, and both peers of the server read (about) the same clock.
        ulong first = peer.ServerTimeInMilliSeconds64;
        Check(first > 0, "server time " + first);
        WaitFor("the server time advances by 50 ms", () => peer.ServerTimeInMilliSeconds64 >= first + 50, peer);
        int wrapped = unchecked((int)peer.ServerTimeInMilliSeconds64);
        int since = peer.ServerTimeInMilliSeconds - wrapped; // read later: the same clock, a little on
        Check(since >= 0 && since < 1000, "ServerTimeInMilliSeconds is the 64-bit time wrapped to an int (" + since + " ms apart)");
        WaitFor("A knows the server time", () => peerA.IsServerTimeKnown, peerA);
        long apart = Math.Abs((long)peerA.ServerTimeInMilliSeconds64 - (long)peer.ServerTimeInMilliSeconds64);
        Check(apart < 1000, "two clients of one server read the same clock (" + apart + " ms apart)");
        peer.Dispose();
        Throws<ObjectDisposedException>("stats after Dispose", () => peer.GetStats());
    }

    private static void ConnectWithOptions()
    {
        // An app version and this connection's own pin, on a peer configured without one.
        var recorder = new Recorder("K");
        var peer = NewPeer(recorder, null);
        var options = new ConnectOptions(serverAddress, AppId) { AppVersion = "csharp-tests 1.2.3" }.PinServerKeyHex(serverKeyHex);
        Equal(ServerKeyPin.Key, options.Pin, "PinServerKeyHex sets the pin");
        Equal(PeerResult.Ok, peer.Connect(options), "Connect(options)");
        WaitFor("K EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "statuses");
        Join(peer, recorder, true);
        Equal(PeerResult.AlreadyConnected, peer.Connect(options), "Connect(options) while connected");
        peer.Dispose();

        // A wrong key pinned for the connection: the key exchange fails.
        recorder = new Recorder("L");
        peer = NewPeer(recorder, null);
        options = new ConnectOptions(serverAddress, AppId) { Pin = ServerKeyPin.Key, ServerPublicKey = new byte[32] };
        Equal(PeerResult.Ok, peer.Connect(options), "Connect(options) with a wrong pin");
        WaitFor("L Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(recorder.Statuses.Contains(StatusCode.EncryptionFailedToEstablish)
            && !recorder.Statuses.Contains(StatusCode.EncryptionEstablished), "statuses " + recorder.StatusList());
        Equal(1049, (int)StatusCode.EncryptionFailedToEstablish, "status number");
        peer.Dispose();

        // ServerKeyPin.None overrides a (wrong) configured pin for one connection.
        recorder = new Recorder("M");
        var config = new SealnetPeerConfig { ServerPublicKeyPin = new byte[32] };
        peer = NewPeer(recorder, config);
        Equal(PeerResult.Ok, peer.Connect(new ConnectOptions(serverAddress, AppId) { Pin = ServerKeyPin.None }), "Connect without pin");
        WaitFor("M EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(recorder.Statuses.Contains(StatusCode.EncryptionEstablished), "statuses " + recorder.StatusList());

        // Refusals, native and managed.
        var idle = NewPeer(new Recorder("N"), null);
        Equal(PeerResult.InvalidArgument, idle.Connect(new ConnectOptions(serverAddress, AppId) { AppVersion = new string('v', 33) }),
            "a 33-byte app version");
        Check(idle.LastResultMessage != null && idle.LastResultMessage.Contains("33 bytes; the limit is 32"),
            "LastResultMessage: " + idle.LastResultMessage);
        Equal(PeerResult.InvalidArgument, idle.Connect(new ConnectOptions(serverAddress, AppId) { Transport = ConnectionProtocol.WebSocket }),
            "a WebSocket transport");
        Check(idle.LastResultMessage != null && idle.LastResultMessage.Contains("transport 4"),
            "LastResultMessage: " + idle.LastResultMessage);
        Equal(PeerResult.InvalidAddress, idle.Connect(new ConnectOptions("no port", AppId)), "a bad address");
        Throws<ArgumentNullException>("null options", () => idle.Connect((ConnectOptions)null));
        ExpectArgument("no address", () => idle.Connect(new ConnectOptions { AppId = AppId }), "Address", "required");
        ExpectArgument("a key pin without a key", () => idle.Connect(new ConnectOptions(serverAddress, AppId) { Pin = ServerKeyPin.Key }),
            "ServerPublicKey", "not set");
        Throws<ArgumentException>("a 31-byte key", () => new ConnectOptions().ServerPublicKey = new byte[31]);
        peer.Dispose();
        idle.Dispose();

        // Over UDP to the server's UDP address (scripts/with-server.sh exports it; empty when the server's UDP
        // is off): encrypted with version 3. Without one, only the attempt, which a disconnect ends.
        string udpAddress = Environment.GetEnvironmentVariable("SEALNET_SERVER_UDP_ADDR");
        bool serverHasUdp = !string.IsNullOrEmpty(udpAddress);
        recorder = new Recorder("U");
        peer = NewPeer(recorder, null);
        var udp = new ConnectOptions(serverHasUdp ? udpAddress : serverAddress, AppId) { Transport = ConnectionProtocol.Udp }
            .PinServerKeyHex(serverKeyHex);
        Equal(PeerResult.Ok, peer.Connect(udp), "a UDP connect starts");
        if (serverHasUdp)
        {
            WaitFor("U EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
                || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
            Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "UDP statuses");
            Equal(3, peer.GetStats().ProtocolVersion, "version 3 over UDP");
        }
        Equal(PeerResult.Ok, peer.Disconnect(), "Disconnect over UDP");
        WaitFor("U Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Equal(0u, NativeMethods.TransportUdp, "PEER_TRANSPORT_UDP");
        Equal((uint)ConnectionProtocol.Udp, NativeMethods.TransportUdp, "ConnectionProtocol.Udp");
        peer.Dispose();
    }

    // ----------------------------------------------------------------------------------------------
    // Authentication (docs/auth.md), against the server of scripts/with-server.sh: anonymous players
    // allowed, tokens issued, and with --backend sealnet-backend's webhook.

    private static byte[] savedToken;
    private static string savedUserId;

    private static void ExpectAuthLimit(string what, Action action, params string[] parts)
    {
        try
        {
            action();
        }
        catch (SealnetException e)
        {
            Equal(PeerResult.InvalidArgument, e.Result, what + ": result");
            foreach (var part in parts)
            {
                Check(e.NativeMessage != null && e.NativeMessage.Contains(part) && e.Message.Contains(part),
                    what + ": the message names " + part + ": " + e.Message);
            }
            return;
        }
        throw new TestFailure(what + ": expected a SealnetException");
    }

    private static void AuthValuesLimits()
    {
        var values = new AuthenticationValues(CustomAuthenticationType.Custom);
        values.ConnectionToken = new byte[128];
        ExpectAuthLimit("a 129-byte connection token", () => values.ConnectionToken = new byte[129], "129", "128");
        Equal(128, values.ConnectionToken.Length, "the earlier token stays");
        ExpectAuthLimit("a 129-byte user id", () => values.UserId = new string('u', 129), "129");
        values.UserId = "player-1";
        values.AddAuthParameter("lobby", "eu").AddAuthParameter("lobby", "us");
        Equal(1, values.AuthParameters.Length, "adding a key again replaces it");
        Equal("us", values.AuthParameters[0].Value, "the replaced value");
        for (int i = 1; i < 32; i++)
        {
            values.AddAuthParameter("key" + i, "value");
        }
        ExpectAuthLimit("a 33rd parameter", () => values.AddAuthParameter("one-more", "value"), "32");
        Equal(32, values.AuthParameters.Length, "still 32 parameters");
        ExpectAuthLimit("an empty parameter key", () => values.AddAuthParameter("", "x"));
        ExpectAuthLimit("1025 bytes of data", () => values.AuthPostData = new byte[1025], "1025");
        values.AuthPostData = new byte[1024];
        ExpectAuthLimit("a 2049-byte server token", () => values.Token = new byte[2049], "2049");
        Throws<ArgumentNullException>("a null parameter key", () => values.AddAuthParameter(null, "x"));
        Throws<ArgumentException>("a NUL in the user id", () => values.UserId = "a\0b");
        values.ConnectionToken = Encoding.UTF8.GetBytes("SECRET-SESSION");
        Check(!values.ToString().Contains("SECRET"), "ToString shows no credential: " + values);
        // The getters hand out copies.
        values.ConnectionToken[0] = (byte)'x';
        Equal((byte)'S', values.ConnectionToken[0], "ConnectionToken is copied out");

        var fresh = NewPeer(new Recorder("auth-fresh"), null);
        Equal(AuthState.None, fresh.AuthState, "a fresh peer: AuthState");
        Equal((short)0, fresh.AuthReturnCode, "a fresh peer: AuthReturnCode");
        Check(fresh.ServerToken == null, "a fresh peer holds no token");
        Equal(0L, fresh.ServerTokenExpiresMs, "no token, no expiry");
        // An unknown type is refused by the native library when connecting.
        var unknown = new ConnectOptions(serverAddress, AppId) { AuthValues = new AuthenticationValues((CustomAuthenticationType)7) };
        ExpectAuthLimit("an unknown auth type", () => fresh.Connect(unknown), "auth_type is 7");
        fresh.Dispose();
        Throws<ObjectDisposedException>("AuthState after Dispose", () => { var state = fresh.AuthState; });
        Throws<ObjectDisposedException>("ServerToken after Dispose", () => { var bytes = fresh.ServerToken; });
    }

    /// <summary>Connects with <paramref name="values"/> and waits for the answer to 230 or 231.</summary>
    private static OperationResponse ConnectAuthenticated(SealnetPeer peer, Recorder recorder, AuthenticationValues values)
    {
        recorder.Statuses.Clear();
        recorder.Responses.Clear();
        var options = new ConnectOptions(serverAddress, AppId) { AuthValues = values }.PinServerKeyHex(serverKeyHex);
        Equal(PeerResult.Ok, peer.Connect(options), "Connect with AuthValues: " + peer.LastResultMessage);
        OperationResponse answer = null;
        WaitFor("the answer to the authentication", () =>
        {
            answer = recorder.FindResponse(OperationCode.Authenticate) ?? recorder.FindResponse(OperationCode.AuthenticateOnce);
            return answer != null || recorder.Statuses.Contains(StatusCode.Disconnect);
        }, peer);
        Check(answer != null, "no answer; statuses " + recorder.StatusList());
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "statuses");
        return answer;
    }

    // Over WSS with the server's certificate pinned (scripts/with-server.sh exports its URL and
    // fingerprint): the statuses a WSS client sees, refusals, a wrong fingerprint (1022); then AuthOnceWss:
    // an anonymous authentication over WSS naming UDP, and a UDP connection authenticated by its key
    // exchange alone.
    private static void WssAndAuthOnce()
    {
        string url = Environment.GetEnvironmentVariable("SEALNET_SERVER_WSS_URL");
        string fingerprint = Environment.GetEnvironmentVariable("SEALNET_SERVER_WSS_FINGERPRINT");
        string udpAddress = Environment.GetEnvironmentVariable("SEALNET_SERVER_UDP_ADDR");
        Check(!string.IsNullOrEmpty(url) && !string.IsNullOrEmpty(fingerprint) && !string.IsNullOrEmpty(udpAddress),
            "SEALNET_SERVER_WSS_URL, SEALNET_SERVER_WSS_FINGERPRINT and SEALNET_SERVER_UDP_ADDR are set");
        Equal(5u, NativeMethods.TransportWss, "PEER_TRANSPORT_WSS");
        Equal((uint)ConnectionProtocol.WebSocketSecure, NativeMethods.TransportWss, "ConnectionProtocol.WebSocketSecure");
        var recorder = new Recorder("wss");
        var peer = NewPeer(recorder, null);
        Check(!peer.HasAuthOnce, "no AuthOnce credentials yet");

        var values = new AuthenticationValues();
        try
        {
            values.ExpectedProtocol = ConnectionProtocol.WebSocketSecure;
            Check(false, "an expected protocol other than UDP or TCP is refused");
        }
        catch (SealnetException e)
        {
            Equal(PeerResult.InvalidArgument, e.Result, "the refusal");
        }
        values.ExpectedProtocol = ConnectionProtocol.Udp;
        var options = new ConnectOptions(url, AppId)
        {
            Transport = ConnectionProtocol.WebSocketSecure,
            Pin = ServerKeyPin.None,
            AuthValues = values,
        }.PinCertificateHex(fingerprint);
        Equal(PeerResult.Ok, peer.Connect(options), "Connect over WSS: " + peer.LastResultMessage);
        OperationResponse answer = null;
        WaitFor("the answer to the authentication over WSS", () =>
        {
            answer = recorder.FindResponse(OperationCode.Authenticate);
            return answer != null || recorder.Statuses.Contains(StatusCode.Disconnect);
        }, peer);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "WSS statuses");
        Check(recorder.Messages[1] != null && recorder.Messages[1].Contains("TLS protects the connection"),
            "the 1048 message: " + recorder.Messages[1]);
        Equal(PeerState.Encrypted, peer.State, "the state over WSS");
        Equal(4, peer.GetStats().ProtocolVersion, "version 4 over WSS");
        Check(answer != null && answer.ReturnCode == ReturnCode.Ok, "authenticated over WSS");
        Check(answer[ParameterCode.Token] is byte[], "the token reaches the application");
        Check(!answer.Parameters.ContainsKey(192), "the AuthOnce secret does not");
        Check(peer.HasAuthOnce, "the peer holds the AuthOnce credentials");
        var join = new ParameterDictionary { { KeyRoom, Room + "-wss" } };
        Equal(PeerResult.Ok, peer.SendOperation(OpJoinRoom, join, SendOptions.SendReliableEncrypted), "an encrypted JoinRoom over WSS");
        WaitFor("the JoinRoom response over WSS", () => recorder.FindResponse(OpJoinRoom) != null, peer);
        Equal((short)0, recorder.FindResponse(OpJoinRoom).ReturnCode, "joined over WSS");
        recorder.Statuses.Clear();
        Equal(PeerResult.Ok, peer.Disconnect(), "Disconnect");
        WaitFor("Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);

        // Refusals: a Noise pin over WSS at the call, a wrong certificate by the handshake.
        options.AuthValues = null;
        options.PinServerKeyHex(serverKeyHex);
        Equal(PeerResult.InvalidArgument, peer.Connect(options), "a Noise pin over WSS");
        Check(peer.LastResultMessage.Contains("cannot be checked over WSS"), "LastResultMessage: " + peer.LastResultMessage);
        options.Pin = ServerKeyPin.None;
        Equal(PeerResult.InvalidAddress, peer.Connect(new ConnectOptions(serverAddress, AppId) { Transport = ConnectionProtocol.WebSocketSecure }),
            "WSS wants a wss:// URL");
        var wrong = options.CertificateFingerprint;
        wrong[3] ^= 0x20;
        options.CertificateFingerprint = wrong;
        recorder.Statuses.Clear();
        recorder.Messages.Clear();
        Equal(PeerResult.Ok, peer.Connect(options), "Connect with a wrong fingerprint");
        WaitFor("the refusal", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Equal("[SecurityExceptionOnConnect(1022), Disconnect(1025)]", recorder.StatusList(), "a wrong certificate");
        Check(recorder.Messages[0].Contains("does not match the pinned fingerprint: got " + fingerprint),
            "the 1022 message: " + recorder.Messages[0]);

        // AuthOnceWss: UDP, authenticated by the key exchange.
        var udp = new ConnectOptions(udpAddress, AppId) { Transport = ConnectionProtocol.Udp, AuthOnce = true }.PinServerKeyHex(serverKeyHex);
        recorder.Statuses.Clear();
        Equal(PeerResult.Ok, peer.Connect(udp), "UDP with AuthOnce: " + peer.LastResultMessage);
        WaitFor("UDP EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "UDP statuses");
        Equal(AuthState.Authenticated, peer.AuthState, "authenticated by the key exchange alone");
        recorder.Responses.Clear();
        join = new ParameterDictionary { { KeyRoom, Room + "-auth-once" } };
        Equal(PeerResult.Ok, peer.SendOperation(OpJoinRoom, join, SendOptions.SendReliableEncrypted), "JoinRoom over UDP");
        WaitFor("the JoinRoom response over UDP", () => recorder.FindResponse(OpJoinRoom) != null, peer);
        Equal((short)0, recorder.FindResponse(OpJoinRoom).ReturnCode, "joined without Authenticate");
        peer.Dispose();

        // Without credentials, AuthOnce is refused at the call.
        var fresh = NewPeer(new Recorder("no-auth-once"), null);
        Equal(PeerResult.InvalidArgument, fresh.Connect(udp), "AuthOnce without credentials");
        Check(fresh.LastResultMessage.Contains("holds none"), "LastResultMessage: " + fresh.LastResultMessage);
        fresh.Dispose();
    }

    private static void AnonymousAuthentication()
    {
        var recorder = new Recorder("auth-anonymous");
        var peer = NewPeer(recorder, null);
        var answer = ConnectAuthenticated(peer, recorder, new AuthenticationValues());
        Equal(OperationCode.Authenticate, answer.OperationCode, "answered operation");
        Equal(ReturnCode.Ok, answer.ReturnCode, "return code (" + answer.DebugMessage + ")");
        Check(answer.WasEncrypted, "the answer is encrypted");
        var userId = answer[ParameterCode.UserId] as string;
        Check(userId != null && userId.StartsWith("anonymous-"), "an anonymous user id: " + userId);
        var token = answer[ParameterCode.Token] as byte[];
        Check(token != null && token.Length > 0, "a token (byte[])");
        Check(answer[ParameterCode.TokenExpires] is long, "its expiry (long)");
        Equal(AuthState.Authenticated, peer.AuthState, "AuthState");
        Equal((short)0, peer.AuthReturnCode, "AuthReturnCode");
        byte[] held;
        long expires;
        Check(peer.TryGetServerToken(out held, out expires), "TryGetServerToken");
        Check(SameBytes(token, held) && SameBytes(token, peer.ServerToken), "the peer keeps the response's token");
        Equal((long)answer[ParameterCode.TokenExpires], expires, "and its expiry");
        Equal(expires, peer.ServerTokenExpiresMs, "ServerTokenExpiresMs");
        savedToken = held;
        savedUserId = userId;

        // JoinRoom (a room of its own, so the shared room's members see nothing) brings a fresh token,
        // which the peer keeps.
        var join = new ParameterDictionary { { KeyRoom, Room + "-auth" } };
        Equal(PeerResult.Ok, peer.SendOperation(OpJoinRoom, join, SendOptions.SendReliableEncrypted), "JoinRoom");
        WaitFor("the JoinRoom response", () => recorder.FindResponse(OpJoinRoom) != null, peer);
        var joined = recorder.FindResponse(OpJoinRoom);
        Equal((short)0, joined.ReturnCode, "JoinRoom return code (" + joined.DebugMessage + ")");
        var fresh = joined[ParameterCode.Token] as byte[];
        Check(fresh != null && !SameBytes(fresh, token), "the JoinRoom response carries a new token");
        Check(SameBytes(fresh, peer.ServerToken), "the peer keeps it");

        // Reconnected with Token and no token of its own, the peer presents the kept one.
        recorder.Statuses.Clear();
        Equal(PeerResult.Ok, peer.Disconnect(), "Disconnect");
        WaitFor("Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(SameBytes(fresh, peer.ServerToken), "the token outlives the connection");
        answer = ConnectAuthenticated(peer, recorder, new AuthenticationValues(CustomAuthenticationType.Token));
        Equal(OperationCode.AuthenticateOnce, answer.OperationCode, "answered operation");
        Equal(ReturnCode.Ok, answer.ReturnCode, "return code (" + answer.DebugMessage + ")");
        Equal(userId, answer[ParameterCode.UserId] as string, "the same user id");
        Equal(AuthState.Authenticated, peer.AuthState, "AuthState after the token");
        peer.Dispose();
    }

    private static void SavedAlteredAndCustom()
    {
        Check(savedToken != null, "needs the token of the anonymous authentication");
        var recorder = new Recorder("auth-saved");
        var peer = NewPeer(recorder, null);
        var answer = ConnectAuthenticated(peer, recorder,
            new AuthenticationValues(CustomAuthenticationType.Token) { Token = savedToken });
        Equal(ReturnCode.Ok, answer.ReturnCode, "a saved token admits a new peer (" + answer.DebugMessage + ")");
        Equal(savedUserId, answer[ParameterCode.UserId] as string, "as the same user");
        peer.Dispose();

        var altered = (byte[])savedToken.Clone();
        altered[altered.Length / 2] ^= 1;
        recorder = new Recorder("auth-altered");
        peer = NewPeer(recorder, null);
        answer = ConnectAuthenticated(peer, recorder, new AuthenticationValues(CustomAuthenticationType.Token) { Token = altered });
        Equal(ReturnCode.AuthenticationTicketExpired, answer.ReturnCode, "an altered token");
        Equal(AuthState.Failed, peer.AuthState, "AuthState");
        Equal(ReturnCode.AuthenticationTicketExpired, peer.AuthReturnCode, "AuthReturnCode");
        Check(peer.ServerToken == null, "a refused token is not kept");

        // Token authentication without any token is refused at the call.
        recorder.Statuses.Clear();
        peer.Disconnect();
        WaitFor("Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        var noToken = new ConnectOptions(serverAddress, AppId) { AuthValues = new AuthenticationValues(CustomAuthenticationType.Token) };
        Equal(PeerResult.InvalidArgument, peer.Connect(noToken), "Token without a token");
        Check(peer.LastResultMessage != null && peer.LastResultMessage.Contains("needs a server token"),
            "LastResultMessage: " + peer.LastResultMessage);
        peer.Dispose();

        // Custom authentication with a session nobody logged in: refused for want of a backend (32767),
        // or, where scripts/with-server.sh --backend set SEALNET_BACKEND_ADDR, by the backend, which finds
        // no session in a token shorter than a session id (32755, its message).
        bool backend = Environment.GetEnvironmentVariable("SEALNET_BACKEND_ADDR") != null;
        short expected = backend ? ReturnCode.CustomAuthenticationFailed : ReturnCode.InvalidAuthentication;
        recorder = new Recorder("auth-custom");
        peer = NewPeer(recorder, null);
        var custom = new AuthenticationValues(CustomAuthenticationType.Custom)
        {
            ConnectionToken = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 },
            UserId = "player-7",
            AuthPostData = new byte[] { 0xCA, 0xFE },
        }.AddAuthParameter("lobby", "eu");
        answer = ConnectAuthenticated(peer, recorder, custom);
        Equal(OperationCode.Authenticate, answer.OperationCode, "answered operation");
        Equal(expected, answer.ReturnCode, backend ? "an unknown session, through the backend" : "custom without a backend");
        string why = backend ? "Invalid connection token" : "no authentication backend";
        Check(answer.DebugMessage != null && answer.DebugMessage.Contains(why), "DebugMessage: " + answer.DebugMessage);
        Equal(AuthState.Failed, peer.AuthState, "AuthState");
        Equal(expected, peer.AuthReturnCode, "AuthReturnCode");
        Check(peer.ServerToken == null, "no token");
        peer.Dispose();

        // Values need the automatic key exchange.
        var manual = NewPeer(new Recorder("auth-manual"), new SealnetPeerConfig { AutoKeyExchange = false });
        var options = new ConnectOptions(serverAddress, AppId) { AuthValues = new AuthenticationValues() };
        Check(manual.Connect(options) != PeerResult.Ok, "refused with AutoKeyExchange off");
        Check(manual.LastResultMessage != null && manual.LastResultMessage.Contains("automatic key exchange"),
            "LastResultMessage: " + manual.LastResultMessage);
        manual.Dispose();
    }

    /// <summary>Custom authentication through the real backend, with the guest session that
    /// scripts/with-server.sh --backend logged in (SEALNET_TEST_CONNECTION_TOKEN, SEALNET_TEST_NICKNAME).</summary>
    private static void CustomThroughTheBackend()
    {
        string nickname = Environment.GetEnvironmentVariable("SEALNET_TEST_NICKNAME");
        Check(nickname != null, "SEALNET_TEST_NICKNAME is set with the token");
        byte[] token = SealnetPeerConfig.ParseHex(Environment.GetEnvironmentVariable("SEALNET_TEST_CONNECTION_TOKEN"));
        Check(token.Length >= 16, "SEALNET_TEST_CONNECTION_TOKEN: hex of a session's 16 bytes and flags");
        var recorder = new Recorder("auth-backend");
        var peer = NewPeer(recorder, null);
        var answer = ConnectAuthenticated(peer, recorder,
            new AuthenticationValues(CustomAuthenticationType.Custom) { ConnectionToken = token });
        Equal(OperationCode.Authenticate, answer.OperationCode, "answered operation");
        Equal(ReturnCode.Ok, answer.ReturnCode, "return code (" + answer.DebugMessage + ")");
        Equal(nickname, answer[ParameterCode.Nickname] as string, "the nickname is the guest's display name");
        var userId = answer[ParameterCode.UserId] as string;
        Check(!string.IsNullOrEmpty(userId) && !userId.StartsWith("anonymous-"), "the backend's user id: " + userId);
        var data = answer[KeyData] as Hashtable;
        Check(data != null, "the backend's data (245) is a table: " + answer[KeyData]);
        Check(data.ContainsKey("level") && data.ContainsKey("region"), "with the keys level and region");
        var issued = answer[ParameterCode.Token] as byte[];
        Check(issued != null && issued.Length > 0 && answer[ParameterCode.TokenExpires] is long, "a token and its expiry");
        Equal(AuthState.Authenticated, peer.AuthState, "AuthState");
        Equal((short)0, peer.AuthReturnCode, "AuthReturnCode");
        Check(SameBytes(issued, peer.ServerToken), "the peer holds the server token");
        peer.Dispose();
    }

    private static bool SameBytes(byte[] a, byte[] b)
    {
        if (a == null || b == null || a.Length != b.Length)
        {
            return false;
        }
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }
        return true;
    }

    private static void VersionOnePeer()
    {
        Check(peerA != null, "needs peer A in the room");
        var recorder = new Recorder("V");
        var config = PinnedConfig();
        config.MaxProtocolVersion = 1;
        config.PingInterval = 20;
        var peer = NewPeer(recorder, config);
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        WaitFor("V EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(recorder.Statuses.Contains(StatusCode.EncryptionEstablished), "statuses " + recorder.StatusList());
        Equal(1, peer.ProtocolVersion, "ProtocolVersion");
        int actor = Join(peer, recorder, true);
        WaitFor("V's round-trip time is known", () => peer.IsRoundTripTimeKnown, peer);
        Equal(false, peer.IsServerTimeKnown, "no server time on version 1");
        Equal(0, peer.ServerTimeInMilliSeconds, "server time while unknown");

        // A version-2 type: refused by the native library when sent, with the reason.
        var result = peer.SendOperation(OpRaiseEvent, RaiseParams(15, (short)5, GroupAll), SendOptions.SendReliableEncrypted);
        Equal(PeerResult.NeedsProtocolVersion, result, "sending a short on version 1");
        Check(peer.LastResultMessage != null && peer.LastResultMessage.Contains("short")
            && peer.LastResultMessage.Contains("version 2"), "LastResultMessage: " + peer.LastResultMessage);

        // int[] is a packed int array, a version-2 type, whatever the connection: refused the same way, with
        // a clear message. The binding never converts it; an object[] of ints is what a version-1 peer sends.
        result = peer.SendOperation(OpRaiseEvent, RaiseParams(16, new int[] { 7, -8, 9000000 }, GroupAll),
            SendOptions.SendReliableEncrypted);
        Equal(PeerResult.NeedsProtocolVersion, result, "sending an int[] on version 1");
        Check(peer.LastResultMessage != null && peer.LastResultMessage.Contains("int array")
            && peer.LastResultMessage.Contains("version 2") && peer.LastResultMessage.Contains("version 1"),
            "LastResultMessage: " + peer.LastResultMessage);
        Equal(PeerResult.NeedsProtocolVersion, peer.SendOperation(OpRaiseEvent,
            RaiseParams(16, new ParameterDictionary { { 1, new object[] { new int[0] } } }, GroupAll),
            SendOptions.SendReliable), "an int[] nested in a version-1 container");

        // The server's actor list reaches a version-1 client as a generic array of ints (object[]), which
        // TryGetIntArray and AsIntArray read as they read the int[] of a version-2 client.
        var joined = recorder.FindResponse(OpJoinRoom);
        Check(joined[KeyActors] is object[], "a version-1 actor list is an object[]: " + Describe(joined[KeyActors]));
        int[] actors;
        Check(joined.Parameters.TryGetIntArray(KeyActors, out actors) && Array.IndexOf(actors, actor) >= 0
            && Array.IndexOf(actors, actorA) >= 0, "TryGetIntArray reads it: " + Describe(actors));
        Check(SameValue(actors, ParameterDictionary.AsIntArray(joined[KeyActors])), "AsIntArray reads it the same");

        // Generic arrays of ints from a version-1 sender arrive as object[] everywhere; TryGetIntArray reads them.
        var data = new ParameterDictionary { { 1, new object[] { 7, -8, 9000000 } }, { 2, new object[0] }, { 3, "v1" },
            { 4, new object[] { 1, "two" } } };
        Equal(PeerResult.Ok, peer.SendOperation(OpRaiseEvent, RaiseParams(16, data, GroupAll), SendOptions.SendReliableEncrypted),
            "sending an object[] of ints on version 1");
        WaitFor("V and A receive event 16", () => recorder.FindEvent(16, null) != null && recA.FindEvent(16, null) != null,
            peer, peerA);
        foreach (var received in new[] { recorder.FindEvent(16, null), recA.FindEvent(16, null) })
        {
            var copy = (ParameterDictionary)received.CustomData;
            Check(copy[1] is object[], "a generic array of ints arrives as object[]: " + Describe(copy[1]));
            int[] values;
            Check(copy.TryGetIntArray(1, out values) && SameValue(new int[] { 7, -8, 9000000 }, values),
                "TryGetIntArray reads it: " + Describe(values));
            Check(copy.TryGetIntArray(2, out values) && values.Length == 0, "an empty one too");
            Check(!copy.TryGetIntArray(3, out values), "TryGetIntArray refuses a string");
            Check(!copy.TryGetIntArray(4, out values), "TryGetIntArray refuses an array that is not all ints");
        }

        // The server relays an event holding version-2 types only to version-2 members: V gets the second
        // event of A (version-1 types only) and never the first, which A itself gets.
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(17, (byte)1, GroupAll), SendOptions.SendReliableEncrypted),
            "A raises a version-2 event");
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(18, 1, GroupAll), SendOptions.SendReliableEncrypted),
            "A raises a version-1 event");
        WaitFor("V receives event 18 and A both", () => recorder.FindEvent(18, null) != null
            && recA.FindEvent(17, null) != null && recA.FindEvent(18, null) != null, peer, peerA);
        Check(recorder.FindEvent(17, null) == null, "V did not receive the version-2 event");
        peer.Dispose();
        WaitFor("A sees V leave", () => recA.FindEvent(EvLeave, e => e.Sender == actor) != null, peerA);
    }

    private static void EncryptBeforeKeyExchange()
    {
        var recorder = new Recorder("C");
        var config = PinnedConfig();
        config.AutoKeyExchange = false;
        var peer = NewPeer(recorder, config);
        Equal(PeerResult.NotConnected, peer.EstablishEncryption(), "EstablishEncryption before Connect");
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        WaitFor("C Connect", () => recorder.Statuses.Count > 0, peer);
        Equal("[Connect(1024)]", recorder.StatusList(), "statuses");
        Equal(PeerState.Connected, peer.State, "state without automatic key exchange");

        var parameters = new ParameterDictionary { { KeyRoom, Room } };
        var result = peer.SendOperation(OpJoinRoom, parameters, SendOptions.SendReliableEncrypted);
        Equal(PeerResult.EncryptionNotEstablished, result, "SendOperation with Encrypt");
        Equal(PeerResult.EncryptionNotEstablished, peer.LastResult, "LastResult");
        Check(peer.LastResultMessage != null && peer.LastResultMessage.Contains("establish encryption first"),
            "LastResultMessage: " + peer.LastResultMessage);
        Check(result.Describe().Contains("establish encryption first"), "Describe(): " + result.Describe());
        Check(peer.ServerPublicKey == null, "no server key yet");

        Equal(PeerResult.Ok, peer.EstablishEncryption(), "EstablishEncryption");
        WaitFor("C EncryptionEstablished", () => recorder.Statuses.Count > 1, peer);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recorder.StatusList(), "statuses");
        Equal(PeerResult.KeyExchangeAlreadyStarted, peer.EstablishEncryption(), "second EstablishEncryption");
        Join(peer, recorder, true);
        peer.Dispose();
    }

    private static void PinMismatch()
    {
        var recorder = new Recorder("D");
        var config = new SealnetPeerConfig();
        config.ServerPublicKeyPin = new byte[32]; // all zero: not the server's key
        var peer = NewPeer(recorder, config);
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        WaitFor("D Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(recorder.Statuses.Contains(StatusCode.EncryptionFailedToEstablish), "statuses " + recorder.StatusList());
        Check(!recorder.Statuses.Contains(StatusCode.EncryptionEstablished), "statuses " + recorder.StatusList());
        Equal(StatusCode.Disconnect, recorder.Statuses[recorder.Statuses.Count - 1], "last status");
        Check(peer.ServerPublicKey == null, "no server key");
        Equal(PeerResult.NotConnected, peer.SendOperation(OpJoinRoom, null, SendOptions.SendReliable), "send after failure");
        peer.Dispose();
    }

    private static void UnknownAppId()
    {
        var recorder = new Recorder("E");
        var peer = NewPeer(recorder, PinnedConfig());
        Equal(PeerResult.Ok, peer.Connect(serverAddress, "no-such-app"), "Connect");
        WaitFor("E Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        int index = recorder.Reasons.IndexOf(DisconnectReason.UnknownAppId);
        Check(index >= 0, "a status carries reason UnknownAppId; statuses " + recorder.StatusList()
            + ", reasons " + string.Join(",", recorder.Reasons.ConvertAll(r => r.ToString()).ToArray()));
        Check(!string.IsNullOrEmpty(recorder.Messages[index]), "the status has a message");
        Equal(StatusCode.Disconnect, recorder.Statuses[recorder.Statuses.Count - 1], "last status");
        peer.Dispose();
    }

    private static void ConnectionRefused()
    {
        // A port that was just free: bind, note the port, close.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var recorder = new Recorder("F");
        var peer = NewPeer(recorder, null);
        Equal(PeerResult.Ok, peer.Connect("127.0.0.1:" + port, AppId), "Connect");
        WaitFor("F Disconnect", () => recorder.Statuses.Contains(StatusCode.Disconnect), peer);
        Check(recorder.Statuses.Contains(StatusCode.ExceptionOnConnect), "statuses " + recorder.StatusList());
        Check(!recorder.Statuses.Contains(StatusCode.Connect), "statuses " + recorder.StatusList());
        Equal(PeerState.Disconnected, peer.State, "state");
        peer.Dispose();
    }

    private static void InvalidAddress()
    {
        var recorder = new Recorder("G");
        var peer = NewPeer(recorder, null);
        var result = peer.Connect("no port here", AppId);
        Equal(PeerResult.InvalidAddress, result, "Connect result (" + peer.LastResultMessage + ")");
        Check(peer.LastResultMessage.Contains("host:port"), "LastResultMessage: " + peer.LastResultMessage);
        Throws<ArgumentNullException>("null address", () => peer.Connect(null, AppId));
        Throws<ArgumentException>("NUL in the app id", () => peer.Connect(serverAddress, "de\0mo"));
        peer.Dispose();
    }

    private static void ListenerExceptions()
    {
        Check(peerB != null, "needs peers A and B in a room");
        recB.EventHook = e =>
        {
            if (e.Code == 9)
            {
                throw new InvalidTimeZoneException("listener failure on purpose");
            }
        };
        try
        {
            Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(9, 1, GroupOthers)), "RaiseEvent 9");
            Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(10, 2, GroupOthers)), "RaiseEvent 10");
            Exception thrown = null;
            WaitFor("B's Service throws the listener exception", () =>
            {
                try
                {
                    peerB.Service();
                }
                catch (InvalidTimeZoneException e)
                {
                    thrown = e;
                }
                return thrown != null;
            }, peerA);
            Check(thrown.Message == "listener failure on purpose", "message: " + thrown.Message);
            WaitFor("B still receives event 10", () => recB.FindEvent(10, null) != null, peerA, peerB);

            var handled = new List<Exception>();
            peerB.ListenerExceptionHandler = handled.Add;
            Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(9, 3, GroupOthers)), "RaiseEvent 9 again");
            WaitFor("the handler receives the exception", () => handled.Count == 1, peerA, peerB);
            Check(handled[0] is InvalidTimeZoneException, "handled " + handled[0].GetType().Name);
        }
        finally
        {
            recB.EventHook = null;
            peerB.ListenerExceptionHandler = null;
        }
    }

    private static void Polling()
    {
        var peer = new SealnetPeer(null, PinnedConfig());
        Cleanup.Add(peer);
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        var statuses = new List<StatusCode>();
        var clock = Stopwatch.StartNew();
        while (!statuses.Contains(StatusCode.EncryptionEstablished) && !statuses.Contains(StatusCode.Disconnect))
        {
            PolledEvent polled;
            while (peer.TryPollEvent(out polled))
            {
                Equal(PolledEventKind.Status, polled.Kind, "kind");
                statuses.Add(polled.StatusCode);
            }
            Check(clock.Elapsed < Deadline, "timed out polling for EncryptionEstablished");
            Thread.Sleep(2);
        }
        Equal(2, statuses.Count, "two statuses");
        Equal(StatusCode.Connect, statuses[0], "first status");
        Equal(StatusCode.EncryptionEstablished, statuses[1], "second status");

        Equal(PeerResult.Ok, peer.SendOperation(OpJoinRoom, new ParameterDictionary { { KeyRoom, Room } },
            SendOptions.SendReliableEncrypted), "JoinRoom");
        OperationResponse response = null;
        clock = Stopwatch.StartNew();
        while (response == null)
        {
            PolledEvent polled;
            while (response == null && peer.TryPollEvent(out polled))
            {
                if (polled.Kind == PolledEventKind.OperationResponse)
                {
                    response = polled.Response;
                }
            }
            Check(clock.Elapsed < Deadline, "timed out polling for the JoinRoom response");
            Thread.Sleep(2);
        }
        Equal(OpJoinRoom, response.OperationCode, "op code");
        Equal((short)0, response.ReturnCode, "return code");
        Equal(true, response.WasEncrypted, "encrypted");
        Check(response[KeyActor] is int, "actor number");
        peer.Service(); // no listener: dispatching to nobody is fine
        peer.Dispose();
    }

    private static void DisposeInsideCallback()
    {
        Check(peerA != null, "needs peer A in the room");
        var recorder = new Recorder("H");
        var peer = ConnectEncrypted(recorder);
        Join(peer, recorder, true);
        int callbacksAtDispose = -1;
        Exception insideError = null;
        recorder.EventHook = e =>
        {
            if (e.Code != 13)
            {
                return;
            }
            peer.Dispose();
            if (callbacksAtDispose < 0)
            {
                callbacksAtDispose = recorder.Callbacks;
            }
            try
            {
                peer.SendOperation(OpJoinRoom, null);
            }
            catch (Exception error)
            {
                insideError = error;
            }
        };
        // Three events for H; once A has its own copies back, H's copies are normally queued too, so the
        // first Service call below dispatches several callbacks and Dispose happens in the middle.
        for (int i = 0; i < 3; i++)
        {
            Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(13, i, GroupAll),
                SendOptions.SendReliableEncrypted), "RaiseEvent 13");
        }
        WaitFor("A receives its own events", () => recA.Events.FindAll(e => e.Code == 13).Count == 3, peerA);
        WaitFor("H disposes itself in a callback", () => peer.IsDisposed, peer);
        Equal(callbacksAtDispose, recorder.Callbacks, "callbacks after Dispose (the rest of that Service call is skipped)");
        Equal(1, recorder.Events.FindAll(e => e.Code == 13).Count, "events 13 delivered to H");
        Check(insideError is ObjectDisposedException, "a call inside the callback after Dispose throws ObjectDisposedException, got "
            + (insideError == null ? "nothing" : insideError.GetType().Name));
        Throws<ObjectDisposedException>("Service after Dispose", () => peer.Service());
        WaitFor("A sees H leave", () => recA.FindEvent(EvLeave, e => e.Sender == recorder.FindResponse(OpJoinRoom).Parameters.Get<int>(KeyActor)) != null, peerA);
    }

    private static void DisposeWhileConnected()
    {
        Check(peerB != null, "needs peers A and B in a room");
        // Queue traffic for B, then dispose it while that traffic is in flight.
        Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(11, "to everybody", GroupAll),
            SendOptions.SendReliableEncrypted), "RaiseEvent 11");
        int callbacks = recB.Callbacks;
        peerB.Dispose();
        Check(peerB.IsDisposed, "IsDisposed");
        for (int i = 0; i < 5; i++)
        {
            Equal(PeerResult.Ok, peerA.SendOperation(OpRaiseEvent, RaiseParams(12, i, GroupAll),
                SendOptions.SendReliableEncrypted), "RaiseEvent 12");
        }
        WaitFor("A sees B leave", () => recA.FindEvent(EvLeave, e => e.Sender == actorB) != null, peerA);
        WaitFor("A's own events come back", () => recA.Events.FindAll(e => e.Code == 12).Count == 5, peerA);
        ServiceFor(TimeSpan.FromMilliseconds(300), peerA);
        Equal(callbacks, recB.Callbacks, "B's callback count after Dispose");
    }

    private static void CallsAfterDispose()
    {
        Check(peerB != null && peerB.IsDisposed, "needs the disposed peer B");
        var peer = peerB;
        peer.Dispose();
        peer.Dispose();
        Throws<ObjectDisposedException>("Service", () => peer.Service());
        Throws<ObjectDisposedException>("SendOperation", () => peer.SendOperation(OpRaiseEvent, null, SendOptions.SendReliable));
        Throws<ObjectDisposedException>("Connect", () => peer.Connect(serverAddress, AppId));
        Throws<ObjectDisposedException>("EstablishEncryption", () => peer.EstablishEncryption());
        Throws<ObjectDisposedException>("Disconnect", () => peer.Disconnect());
        Throws<ObjectDisposedException>("State", () => { var unused = peer.State; });
        Throws<ObjectDisposedException>("ServerPublicKey", () => { var unused = peer.ServerPublicKey; });
        Throws<ObjectDisposedException>("TryPollEvent", () => { PolledEvent unused; peer.TryPollEvent(out unused); });
    }

    private static void FinalizerDestroysPeer()
    {
        Check(peerA != null, "needs peer A in the room");
        WeakReference weak = null;
        int actor = 0;
        Exception error = null;
        // Build, connect and join on a thread that then ends, so no stack slot keeps the peer alive.
        var thread = new Thread(() =>
        {
            try
            {
                var recorder = new Recorder("I");
                var peer = new SealnetPeer(recorder, PinnedConfig());
                recorder.Peer = peer;
                Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
                WaitFor("I EncryptionEstablished", () => recorder.Statuses.Contains(StatusCode.EncryptionEstablished), peer);
                actor = Join(peer, recorder, true);
                weak = new WeakReference(peer);
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error != null)
        {
            throw error;
        }
        WaitFor("A sees I join", () => recA.FindEvent(EvJoin, e => e.Sender == actor) != null, peerA);
        var clock = Stopwatch.StartNew();
        while (weak.IsAlive && clock.Elapsed < Deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            peerA.Service();
        }
        Check(!weak.IsAlive, "the unreachable peer was collected");
        WaitFor("A sees I leave (the finalizer destroyed the native peer)",
            () => recA.FindEvent(EvLeave, e => e.Sender == actor) != null, peerA);
    }

    private static void DisconnectAndReconnect()
    {
        Check(peerA != null, "needs peer A");
        recA.Statuses.Clear();
        Equal(PeerResult.Ok, peerA.Disconnect(), "Disconnect");
        WaitFor("A Disconnect", () => recA.Statuses.Contains(StatusCode.Disconnect), peerA);
        Equal(StatusCode.Disconnect, recA.Statuses[recA.Statuses.Count - 1], "last status");
        Equal(PeerState.Disconnected, peerA.State, "state");
        Equal(PeerResult.NotConnected, peerA.SendOperation(OpJoinRoom, null), "send while disconnected");
        // The counters of the last connection stay readable until the next Connect.
        var last = peerA.GetStats();
        Check(last.FramesOut > 10 && last.BytesOut > 0, "the last connection's counters: " + last.FramesOut + " frames, "
            + last.BytesOut + " B out");

        recA.Statuses.Clear();
        Equal(PeerResult.Ok, peerA.Connect(serverAddress, AppId), "Connect again");
        WaitFor("A EncryptionEstablished again", () => recA.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recA.Statuses.Contains(StatusCode.Disconnect), peerA);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recA.StatusList(), "status order after reconnecting");
        // A new connection starts its statistics again.
        var fresh = peerA.GetStats();
        Equal(SealnetPeer.LatestProtocolVersion, fresh.ProtocolVersion, "ProtocolVersion after reconnecting");
        Check(fresh.FramesOut < last.FramesOut && fresh.BytesOut < last.BytesOut, "counters start again: "
            + fresh.FramesOut + " frames / " + fresh.BytesOut + " B out now, " + last.FramesOut + " / " + last.BytesOut + " before");
        peerA.Dispose();
    }

    /// <summary>Counts callbacks that arrive after its peer's Dispose returned.</summary>
    private sealed class LateCallbackCounter : ISealnetListener
    {
        public volatile bool Disposed;
        public volatile int Statuses;
        public static int Late;

        public void OnStatusChanged(StatusCode statusCode)
        {
            Statuses++;
            Note();
        }

        public void OnOperationResponse(OperationResponse response) { Note(); }
        public void OnEvent(EventData eventData) { Note(); }

        private void Note()
        {
            if (Disposed)
            {
                Interlocked.Increment(ref Late);
            }
        }
    }

    private static void DisposeWhileServicedElsewhere()
    {
        // Each peer is disposed once the other thread has dispatched its first status, so Dispose races
        // with a Service that is running or about to run; Dispose queues the final Disconnect status.
        // SEALNET_STRESS_CYCLES raises the count for `make stress`.
        int cycles;
        if (!int.TryParse(Environment.GetEnvironmentVariable("SEALNET_STRESS_CYCLES"), out cycles) || cycles <= 0)
        {
            cycles = 1000;
        }
        SealnetPeer current = null;
        bool stop = false;
        Exception servicingError = null;
        int serviceCalls = 0;
        var servicer = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                var peer = Volatile.Read(ref current);
                if (peer == null)
                {
                    continue;
                }
                try
                {
                    peer.Service();
                    serviceCalls++;
                }
                catch (ObjectDisposedException)
                {
                    // Disposed between the read above and the call: the documented outcome.
                }
                catch (Exception e)
                {
                    servicingError = e;
                    return;
                }
            }
        });
        servicer.Start();
        for (int cycle = 0; cycle < cycles && servicingError == null; cycle++)
        {
            var counter = new LateCallbackCounter();
            var peer = new SealnetPeer(counter);
            Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
            Volatile.Write(ref current, peer);
            var clock = Stopwatch.StartNew();
            while (counter.Statuses == 0 && clock.Elapsed < Deadline)
            {
                Thread.SpinWait(50);
            }
            Thread.SpinWait((cycle % 8) * 500);
            peer.Dispose();
            counter.Disposed = true;
            Volatile.Write(ref current, null);
        }
        Volatile.Write(ref stop, true);
        servicer.Join();
        if (servicingError != null)
        {
            throw new TestFailure("Service on the other thread threw " + servicingError);
        }
        Check(serviceCalls > 0, "the other thread serviced the peers");
        Equal(0, SealnetPeer.StaleCallbacks, "native callbacks after peer_destroy returned");
        Equal(0, LateCallbackCounter.Late, "listener callbacks after Dispose returned");
    }

    private static void Waiting()
    {
        var peer = new SealnetPeer(null);
        Cleanup.Add(peer);
        Equal(PeerResult.NotConnected, peer.Wait(5000), "Wait before Connect");
        Equal(PeerResult.Ok, peer.Connect(serverAddress, AppId), "Connect");
        var clock = Stopwatch.StartNew();
        bool established = false;
        while (!established && clock.Elapsed < Deadline)
        {
            Equal(PeerResult.Ok, peer.Wait(10000), "Wait while connecting");
            PolledEvent polled;
            while (peer.TryPollEvent(out polled))
            {
                established |= polled.Kind == PolledEventKind.Status && polled.StatusCode == StatusCode.EncryptionEstablished;
            }
        }
        Check(established, "EncryptionEstablished arrived through Wait");
        clock.Restart();
        Equal(PeerResult.TimedOut, peer.Wait(30), "Wait with nothing to come");
        Check(clock.ElapsedMilliseconds >= 25, "the wait lasted its timeout");
        peer.Dispose();
        Throws<ObjectDisposedException>("Wait after Dispose", () => peer.Wait(0));
    }

    private static void ArgumentErrorsNameTheLimit()
    {
        var peer = new SealnetPeer(null);
        Cleanup.Add(peer);
        Equal(PeerResult.InvalidArgument, peer.Connect(serverAddress, new string('x', 65)), "a 65-byte app id");
        Check(peer.LastResultMessage != null && peer.LastResultMessage.Contains("the app id is 65 bytes; the limit is 64"),
            "LastResultMessage: " + peer.LastResultMessage);
    }
}
