// The C# binding's all_types program (tests/cross/README.md): one event holding every value type, sent
// by one binding and checked, value for value and type for type, by another.
//
//   mono AllTypes.exe --role receive --room ROOM     joins ROOM, prints "joined", checks event 42
//   mono AllTypes.exe --role send --room ROOM        joins ROOM, raises event 42, leaves
//
// The server's address comes from SEALNET_SERVER_ADDR (app id "demo", automatic key exchange, no pin).
// Exit status: 0 success, 1 failure (every mismatch is printed to standard error), 2 bad arguments.
// Uses only the binding's public API; waits with SealnetPeer.Wait, never by sleeping.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using Sealnet;

/// <summary>The 3-vector of key 19: three floats, sent as custom type 86 in 12 little-endian bytes.</summary>
internal struct Vector3
{
    public float x;
    public float y;
    public float z;

    public Vector3(float x, float y, float z)
    {
        this.x = x;
        this.y = y;
        this.z = z;
    }

    public override string ToString()
    {
        return string.Format(CultureInfo.InvariantCulture, "Vector3({0}, {1}, {2})", x, y, z);
    }

    public static byte[] Serialize(object value)
    {
        var vector = (Vector3)value;
        var bytes = new byte[12];
        WriteFloat(bytes, 0, vector.x);
        WriteFloat(bytes, 4, vector.y);
        WriteFloat(bytes, 8, vector.z);
        return bytes;
    }

    public static object Deserialize(byte[] bytes)
    {
        if (bytes.Length != 12)
        {
            throw new FormatException("a Vector3 has 12 bytes, not " + bytes.Length);
        }
        return new Vector3(ReadFloat(bytes, 0), ReadFloat(bytes, 4), ReadFloat(bytes, 8));
    }

    // BitConverter uses the machine's byte order; the wire form is little-endian on every machine.
    private static void WriteFloat(byte[] into, int offset, float value)
    {
        byte[] bytes = BitConverter.GetBytes(value);
        if (!BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }
        Buffer.BlockCopy(bytes, 0, into, offset, 4);
    }

    private static float ReadFloat(byte[] from, int offset)
    {
        var bytes = new byte[4];
        Buffer.BlockCopy(from, offset, bytes, 0, 4);
        if (!BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }
        return BitConverter.ToSingle(bytes, 0);
    }
}

/// <summary>Thrown to end the program with a failure; the message says why.</summary>
internal sealed class Failure : Exception
{
    public Failure(string message) : base(message) { }
}

/// <summary>Collects the peer's callbacks and fails on anything that ends the connection early.</summary>
internal sealed class Client : ISealnetListener
{
    public readonly SealnetPeer Peer;
    public readonly Queue<OperationResponse> Responses = new Queue<OperationResponse>();
    public readonly Queue<EventData> Events = new Queue<EventData>();
    public bool Established;
    public bool Disconnected;

    public Client()
    {
        Peer = new SealnetPeer(this);
    }

    public void OnStatusChanged(StatusCode statusCode)
    {
        switch (statusCode)
        {
            case StatusCode.Connect:
                break;
            case StatusCode.EncryptionEstablished:
                Established = true;
                break;
            case StatusCode.Disconnect:
                Disconnected = true;
                break;
            default:
                throw new Failure("status " + statusCode + " (" + (int)statusCode + "): " + Peer.LastStatusReason
                    + " " + Peer.LastStatusMessage);
        }
    }

    public void OnOperationResponse(OperationResponse response)
    {
        Responses.Enqueue(response);
    }

    public void OnEvent(EventData eventData)
    {
        Events.Enqueue(eventData);
    }

    /// <summary>Services the peer until <paramref name="done"/> holds; fails on a disconnect or at the deadline.</summary>
    public void Until(string what, Func<bool> done, Stopwatch clock, TimeSpan limit)
    {
        while (true)
        {
            Peer.Service();
            if (done())
            {
                return;
            }
            if (Disconnected)
            {
                throw new Failure("disconnected while waiting for " + what + ": " + Peer.LastStatusReason + " "
                    + Peer.LastStatusMessage);
            }
            var left = limit - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new Failure("no " + what + " within " + limit.TotalSeconds + " s");
            }
            if (Peer.Wait((int)Math.Ceiling(left.TotalMilliseconds)) == PeerResult.NotConnected)
            {
                // Nothing queued and no connection: nothing more can arrive (the Disconnect status, the
                // last of every connection, was handled above).
                throw new Failure("not connected while waiting for " + what);
            }
        }
    }

    public OperationResponse Expect(byte opCode, Stopwatch clock, TimeSpan limit)
    {
        OperationResponse found = null;
        Until("response to operation " + opCode, () =>
        {
            while (found == null && Responses.Count > 0)
            {
                var response = Responses.Dequeue();
                if (response.OperationCode == AllTypes.OpRaiseEvent)
                {
                    // The server answers RaiseEvent only when it skipped a recipient.
                    throw new Failure("RaiseEvent response " + response.ReturnCode + ": " + response.DebugMessage);
                }
                if (response.OperationCode != opCode)
                {
                    throw new Failure("unexpected response to operation " + response.OperationCode);
                }
                found = response;
            }
            return found != null;
        }, clock, limit);
        if (found.ReturnCode != 0)
        {
            throw new Failure("operation " + opCode + " refused: " + found.ReturnCode + " " + found.DebugMessage);
        }
        return found;
    }
}

internal static class AllTypes
{
    internal const byte OpJoinRoom = 226;
    internal const byte OpLeaveRoom = 254;
    internal const byte OpRaiseEvent = 253;
    private const byte EventCode = 42;
    private const byte EvJoin = 255;
    private const byte EvLeave = 254;
    private const byte KeyRoom = 255;
    private const byte KeyCode = 244;
    private const byte KeyData = 245;
    private const byte KeyGroup = 246;
    private const int GroupOthers = 0;
    private const byte VectorCode = 86;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static int Main(string[] args)
    {
        string role = null;
        string room = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--role")
            {
                role = args[i + 1];
            }
            else if (args[i] == "--room")
            {
                room = args[i + 1];
            }
            else
            {
                role = null;
                break;
            }
        }
        if ((role != "send" && role != "receive") || string.IsNullOrEmpty(room) || args.Length != 4)
        {
            Console.Error.WriteLine("usage: AllTypes.exe --role send|receive --room ROOM (SEALNET_SERVER_ADDR set)");
            return 2;
        }
        string address = Environment.GetEnvironmentVariable("SEALNET_SERVER_ADDR");
        if (string.IsNullOrEmpty(address))
        {
            Console.Error.WriteLine("all_types: SEALNET_SERVER_ADDR is not set");
            return 2;
        }
        SealnetPeer.RegisterType(typeof(Vector3), VectorCode, Vector3.Serialize, Vector3.Deserialize);
        Client client = null;
        try
        {
            client = new Client();
            var clock = Stopwatch.StartNew();
            if (client.Peer.Connect(address, "demo") != PeerResult.Ok)
            {
                throw new Failure("Connect: " + client.Peer.LastResultMessage);
            }
            client.Until("EncryptionEstablished", () => client.Established, clock, Limit);
            Send(client, OpJoinRoom, new ParameterDictionary { { KeyRoom, room } });
            client.Expect(OpJoinRoom, clock, Limit);
            return role == "send" ? RunSender(client, clock) : RunReceiver(client);
        }
        catch (Failure failure)
        {
            Console.Error.WriteLine("all_types " + role + ": " + failure.Message);
            return 1;
        }
        catch (Exception error)
        {
            Console.Error.WriteLine("all_types " + role + ": " + error);
            return 1;
        }
        finally
        {
            if (client != null)
            {
                client.Peer.Dispose();
            }
        }
    }

    private static void Send(Client client, byte opCode, ParameterDictionary parameters)
    {
        var result = client.Peer.SendOperation(opCode, parameters, SendOptions.SendReliableEncrypted);
        if (result != PeerResult.Ok)
        {
            throw new Failure("sending operation " + opCode + ": " + result + " " + client.Peer.LastResultMessage);
        }
    }

    /// <summary>The 21 values of the README's table.</summary>
    private static ParameterDictionary Data()
    {
        return new ParameterDictionary
        {
            { 1, (byte)200 },
            { 2, (short)-12345 },
            { 3, -100000 },
            { 4, 1099511627776L },
            { 5, 1.5f },
            { 6, -2.25 },
            { 7, true },
            { 8, "h\u00e9llo w\u00f6rld" },
            { 9, new byte[] { 0, 1, 254, 255 } },
            { 10, new short[] { -1, 2, 300 } },
            { 11, new int[] { 7, -8, 9000000 } },
            { 12, new long[] { -1, 4294967296L } },
            { 13, new float[] { 0.5f, -1.25f } },
            { 14, new double[] { 3.5, -0.125 } },
            { 15, new bool[] { true, false, true } },
            { 16, new string[] { "a", "\u03b2", "" } },
            { 17, new object[] { 1, "two", null, false } },
            { 18, new Hashtable { { "name", "Ann" }, { "score", 10 }, { 7, 0.25 } } },
            { 19, new Vector3(1, 2, 3) },
            { 20, new ParameterDictionary { { 1, 5 } } },
            { 21, null },
        };
    }

    private static int RunSender(Client client, Stopwatch clock)
    {
        Send(client, OpRaiseEvent, new ParameterDictionary
        {
            { KeyCode, (int)EventCode },
            { KeyData, Data() },
            { KeyGroup, GroupOthers },
        });
        // Responses come in order: once LeaveRoom is answered, the event has reached the server.
        Send(client, OpLeaveRoom, new ParameterDictionary());
        client.Expect(OpLeaveRoom, clock, Limit);
        client.Peer.Disconnect();
        client.Until("Disconnect", () => client.Disconnected, clock, Limit + Limit);
        Console.WriteLine("sent: event " + EventCode + " with 21 values");
        return 0;
    }

    private static int RunReceiver(Client client)
    {
        Console.WriteLine("joined");
        Console.Out.Flush();
        var clock = Stopwatch.StartNew();
        EventData received = null;
        client.Until("event " + EventCode, () =>
        {
            while (received == null && client.Events.Count > 0)
            {
                var ev = client.Events.Dequeue();
                if (ev.Code == EventCode)
                {
                    received = ev;
                }
                else if (ev.Code != EvJoin && ev.Code != EvLeave)
                {
                    throw new Failure("unexpected event " + ev.Code + " from actor " + ev.Sender);
                }
            }
            return received != null;
        }, clock, Limit);

        var mismatches = new List<string>();
        var data = received.CustomData as ParameterDictionary;
        if (data == null)
        {
            mismatches.Add("parameter 245: expected a ParameterDictionary, got " + Show(received.CustomData));
        }
        else
        {
            var expected = Data();
            foreach (var entry in expected)
            {
                object actual;
                if (!data.TryGetValue(entry.Key, out actual))
                {
                    mismatches.Add("key " + entry.Key + ": missing (expected " + Show(entry.Value) + ")");
                }
                else if (!Same(entry.Value, actual))
                {
                    mismatches.Add("key " + entry.Key + ": expected " + Show(entry.Value) + ", got " + Show(actual));
                }
            }
            foreach (var entry in data)
            {
                if (!expected.ContainsKey(entry.Key))
                {
                    mismatches.Add("key " + entry.Key + ": not expected, got " + Show(entry.Value));
                }
            }
        }
        if (mismatches.Count > 0)
        {
            foreach (var mismatch in mismatches)
            {
                Console.Error.WriteLine("all_types receive: " + mismatch);
            }
            return 1;
        }
        Console.WriteLine("ok: 21 values from actor " + received.Sender);
        return 0;
    }

    /// <summary>Same type and same value, recursively; a table compares as a Hashtable with typed keys.</summary>
    private static bool Same(object expected, object actual)
    {
        if (expected == null || actual == null)
        {
            return expected == null && actual == null;
        }
        if (expected.GetType() != actual.GetType())
        {
            return false;
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
                if (!Same(a.GetValue(i), b.GetValue(i)))
                {
                    return false;
                }
            }
            return true;
        }
        if (expected is Hashtable)
        {
            var a = (Hashtable)expected;
            var b = (Hashtable)actual;
            if (a.Count != b.Count)
            {
                return false;
            }
            foreach (DictionaryEntry entry in a)
            {
                // Boxed keys compare with their type: int 7 is not long 7.
                if (!b.ContainsKey(entry.Key) || !Same(entry.Value, b[entry.Key]))
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
                if (!b.TryGetValue(entry.Key, out other) || !Same(entry.Value, other))
                {
                    return false;
                }
            }
            return true;
        }
        return expected.Equals(actual);
    }

    private static string Show(object value)
    {
        if (value == null)
        {
            return "null";
        }
        var items = new List<string>();
        if (value is Array)
        {
            foreach (var item in (Array)value)
            {
                items.Add(Show(item));
            }
            return value.GetType().Name + " {" + string.Join(", ", items.ToArray()) + "}";
        }
        if (value is Hashtable)
        {
            foreach (DictionaryEntry entry in (Hashtable)value)
            {
                items.Add(Show(entry.Key) + " => " + Show(entry.Value));
            }
            return "Hashtable {" + string.Join(", ", items.ToArray()) + "}";
        }
        if (value is ParameterDictionary)
        {
            foreach (var entry in (ParameterDictionary)value)
            {
                items.Add(entry.Key + " => " + Show(entry.Value));
            }
            return "ParameterDictionary {" + string.Join(", ", items.ToArray()) + "}";
        }
        return value.GetType().Name + " " + Convert.ToString(value, CultureInfo.InvariantCulture);
    }
}
