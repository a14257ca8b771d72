// Console test of the C# binding against the native library and a live sealnet server.
//
// Compiled together with the Runtime sources (so it can check the internal native structures) and run
// by bindings/csharp/test.sh through scripts/with-server.sh, which exports SEALNET_SERVER_ADDR and
// SEALNET_SERVER_KEY. Optional: SEALNET_C_LAYOUT ("name=value;...") holds sizeof/offsetof values
// measured by the C compiler on include/sealnet.h, to compare the C# structure layouts with.
//
// Prints one line per test and, as the last line, "N passed, N failed"; exits 1 on any failure.
// Every wait services the peers in a loop until a condition holds or a deadline passes, like a game loop.
using System;
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
        Run("config defaults come from the native library", ConfigDefaults);
        Run("ParameterDictionary round trip of every supported type through peer_params_*", ParameterRoundTrip);
        Run("unsupported parameter types are refused", UnsupportedTypes);
        Run("connect: Connect then EncryptionEstablished, pinned server key", ConnectInOrder);
        Run("two peers join the same room", JoinRoom);
        Run("encrypted event round trip (WasEncrypted == true)", EncryptedEvent);
        Run("plain event arrives with WasEncrypted == false", PlainEvent);
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
        if (value is byte[])
        {
            return "byte[" + ((byte[])value).Length + "]";
        }
        if (value is int[])
        {
            return "int[] {" + string.Join(",", Array.ConvertAll((int[])value, v => v.ToString())) + "}";
        }
        return value.GetType().Name + " " + value;
    }

    /// <summary>Exact equality: same type, same value (floats bit for bit), recursively for dictionaries.</summary>
    private static bool SameValue(object expected, object actual)
    {
        if (expected == null || actual == null)
        {
            return expected == null && actual == null;
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
        if (expected is byte[])
        {
            var a = (byte[])expected;
            var b = (byte[])actual;
            if (a.Length != b.Length)
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
        if (expected is int[])
        {
            var a = (int[])expected;
            var b = (int[])actual;
            if (a.Length != b.Length)
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
            { "peer_config_t.user_data", Offset<NativeConfig>("user_data") },
            { "peer_config_t.disconnect_timeout_ms", Offset<NativeConfig>("disconnect_timeout_ms") },
            { "peer_config_t.ping_interval_ms", Offset<NativeConfig>("ping_interval_ms") },
            { "peer_config_t.auto_key_exchange", Offset<NativeConfig>("auto_key_exchange") },
            { "peer_config_t.pin_server_key", Offset<NativeConfig>("pin_server_key") },
            { "peer_config_t.server_public_key", Offset<NativeConfig>("server_public_key") },
            { "peer_config_t.max_queued_events", Offset<NativeConfig>("max_queued_events") },
            { "peer_send_options_t", Marshal.SizeOf(typeof(NativeSendOptions)) },
            { "peer_send_options_t.encrypt", Offset<NativeSendOptions>("encrypt") },
            { "peer_send_options_t.channel", Offset<NativeSendOptions>("channel") },
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
        };
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
        }
        else
        {
            // Values of the C header on this platform's pointer size, worked out by hand.
            bool wide = IntPtr.Size == 8;
            expected["peer_config_t"] = wide ? 80 : 64;
            expected["peer_config_t.user_data"] = wide ? 24 : 12;
            expected["peer_config_t.disconnect_timeout_ms"] = wide ? 32 : 16;
            expected["peer_config_t.ping_interval_ms"] = wide ? 36 : 20;
            expected["peer_config_t.auto_key_exchange"] = wide ? 40 : 24;
            expected["peer_config_t.pin_server_key"] = wide ? 41 : 25;
            expected["peer_config_t.server_public_key"] = wide ? 42 : 26;
            expected["peer_config_t.max_queued_events"] = wide ? 76 : 60;
            expected["peer_send_options_t"] = 3;
            expected["peer_send_options_t.encrypt"] = 1;
            expected["peer_send_options_t.channel"] = 2;
            expected["peer_status_info_t"] = wide ? 16 : 8;
            expected["peer_status_info_t.message"] = wide ? 8 : 4;
            expected["peer_operation_response_t"] = wide ? 24 : 12;
            expected["peer_operation_response_t.encrypted"] = 1;
            expected["peer_operation_response_t.return_code"] = 2;
            expected["peer_operation_response_t.debug_message"] = 4 + (wide ? 4 : 0);
            expected["peer_operation_response_t.params"] = wide ? 16 : 8;
            expected["peer_event_t"] = wide ? 16 : 12;
            expected["peer_event_t.encrypted"] = 1;
            expected["peer_event_t.sender"] = 4;
            expected["peer_event_t.params"] = 8;
            expected["peer_polled_event_t"] = wide ? 64 : 40;
            expected["peer_polled_event_t.status"] = 4;
            expected["peer_polled_event_t.status_info"] = 8;
            expected["peer_polled_event_t.response"] = wide ? 24 : 16;
            expected["peer_polled_event_t.event"] = wide ? 48 : 28;
        }
        foreach (var entry in actual)
        {
            long want;
            Check(expected.TryGetValue(entry.Key, out want), "no expected value for " + entry.Key);
            Equal(want, entry.Value, entry.Key);
        }
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
        Check(config.ServerPublicKeyPin == null, "no pin by default");
        Throws<ArgumentException>("a 31-byte pin", () => config.ServerPublicKeyPin = new byte[31]);
        config.DisconnectTimeout = 0;
        Throws<ArgumentOutOfRangeException>("a zero timeout", () => new SealnetPeer(null, config));
    }

    private static void ParameterRoundTrip()
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
        var original = new ParameterDictionary
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
            { 255, "last key" },
        };
        var expectedTypes = new Dictionary<byte, uint>
        {
            { 0, NativeMethods.ValueNull }, { 1, NativeMethods.ValueBool }, { 3, NativeMethods.ValueInt },
            { 6, NativeMethods.ValueLong }, { 9, NativeMethods.ValueFloat }, { 13, NativeMethods.ValueDouble },
            { 16, NativeMethods.ValueString }, { 19, NativeMethods.ValueBytes }, { 21, NativeMethods.ValueArray },
            { 23, NativeMethods.ValueMap },
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
        }
        finally
        {
            NativeMethods.peer_params_free(native);
        }
        var empty = ParameterDictionary.FromNative(IntPtr.Zero);
        Equal(0, empty.Count, "NULL params read as an empty dictionary");
    }

    private static void UnsupportedTypes()
    {
        var parameters = new ParameterDictionary();
        Throws<ArgumentException>("short", () => parameters.Add(1, (short)1));
        Throws<ArgumentException>("byte", () => parameters.Add(1, (byte)1));
        Throws<ArgumentException>("uint[]", () => parameters[1] = new uint[] { 1 });
        Throws<ArgumentException>("sbyte[]", () => parameters[1] = new sbyte[] { 1 });
        Throws<ArgumentException>("List<int>", () => parameters[1] = new List<int>());
        Throws<ArgumentException>("string[]", () => parameters.Add(new KeyValuePair<byte, object>(1, new string[0])));
        Equal(0, parameters.Count, "nothing was stored");

        var loop = new ParameterDictionary();
        loop[1] = loop;
        Throws<ArgumentException>("a dictionary containing itself", () => loop.ToNative());
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
        var actors = recB.FindResponse(OpJoinRoom)[KeyActors] as int[];
        Check(actors != null, "JoinRoom response has an int[] actor list");
        Check(Array.IndexOf(actors, actorA) >= 0 && Array.IndexOf(actors, actorB) >= 0,
            "actor list " + Describe(actors) + " holds " + actorA + " and " + actorB);
        WaitFor("A sees B join", () => recA.FindEvent(EvJoin, e => e.Sender == actorB) != null, peerA, peerB);
        var join = recA.FindEvent(EvJoin, e => e.Sender == actorB);
        Equal(actorB, join[KeyActor], "join event actor parameter");
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

        recA.Statuses.Clear();
        Equal(PeerResult.Ok, peerA.Connect(serverAddress, AppId), "Connect again");
        WaitFor("A EncryptionEstablished again", () => recA.Statuses.Contains(StatusCode.EncryptionEstablished)
            || recA.Statuses.Contains(StatusCode.Disconnect), peerA);
        Equal("[Connect(1024), EncryptionEstablished(1048)]", recA.StatusList(), "status order after reconnecting");
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
