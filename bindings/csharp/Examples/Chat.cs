// Chat: a console room chat over sealnet, using only the public C# API.
//
//   mono Chat.exe [--server HOST:PORT] [--pin KEY] [--app-id ID] [--room ROOM] [--name NAME]
//                 [--connection-token HEX] [--no-encryption] [--script FILE]
//
// The same command line as the C and C++ chats (examples/chat.c, bindings/cpp/examples/chat.cpp);
// `mono Chat.exe --help` lists the options and their defaults. --server defaults to
// SEALNET_SERVER_ADDR when set, else 127.0.0.1:4530 (where sealnet-server listens by default);
// without --pin the server is not authenticated. With --connection-token (the bytes the game built
// from its backend session, in hex) the peer authenticates by itself right after the key exchange, and
// the chat joins its room only once the server said yes (docs/auth.md). Exit status: 0, 1 on a
// failure, 2 for a bad command line, 3 when the library refuses the connection token before
// connecting, 4 when the server refuses the authentication.
//
// It joins its room first and only then reads input lines (from standard input, or --script FILE):
// a line is sent encrypted, "/plain TEXT" is sent in the clear (still authenticated once keys exist),
// "/auth TOKEN" sends the always-encrypted Authenticate operation, "/quit" or the end of input leaves.
// "expect N", "responses N" and "peers N" wait until N messages, N operation responses (the join
// included) or N players in the room. Messages are event 1 with data {1: name, 2: text}, as in the
// other chats. Leaving waits for the server's answer to LeaveRoom before disconnecting, so every line
// sent before has reached the server.
//
// This is a console, not a frame loop: it blocks in SealnetPeer.Wait until results arrive instead of
// sleeping. All sealnet calls are made on the main thread; a reader thread only queues input lines.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Sealnet;

internal sealed class Chat : ISealnetListener
{
    private const byte OpJoinRoom = 226;
    private const byte OpLeaveRoom = 254;
    private const byte OpAuthenticate = 230;
    private const byte OpRaiseEvent = 253;
    private const byte EvJoin = 255;
    private const byte EvLeave = 254;
    private const byte EvChat = 1;
    private const byte KeyRoom = 255;
    private const byte KeyActor = 254;
    private const byte KeyActors = 252;
    private const byte KeyCode = 244;
    private const byte KeyData = 245;
    private const byte KeyName = 1;
    private const byte KeyText = 2;
    private const byte KeyToken = 3;
    // Room for more than the limit, so an oversized connection token reaches the library and is refused
    // there, with its size and the limit, rather than cut here.
    private const int MaxTokenArgument = 1024;

    // How long a script wait ("expect N", ...) may take, and the connection steps (milliseconds).
    private const int WaitLimit = 15000;
    private const int ConnectLimit = 10000;
    private const int LeaveLimit = 3000;
    // While idle with input open, how soon a typed line is noticed; results end a wait at once.
    private const int InputCheck = 50;

    private const string Usage =
        "usage: mono Chat.exe [OPTIONS]\n" +
        "A room chat over sealnet. Options:\n" +
        "  --server HOST:PORT  server to connect to (default: $SEALNET_SERVER_ADDR if set, else\n" +
        "                      127.0.0.1:4530, where sealnet-server listens by default)\n" +
        "  --pin KEY           the server's public key (64 hex digits, printed by sealnet-server at\n" +
        "                      start-up); a server presenting another key is refused (default: none,\n" +
        "                      the server is not authenticated)\n" +
        "  --app-id ID         application id (default: demo)\n" +
        "  --room ROOM         room to join (default: lobby)\n" +
        "  --name NAME         name sent with your messages (default: player)\n" +
        "  --connection-token HEX  authenticate with this connection token (hex, at most 128 bytes)\n" +
        "  --no-encryption     skip the key exchange: nothing is authenticated, only /plain lines go out\n" +
        "  --script FILE       read the lines from FILE instead of standard input\n" +
        "  --help              print this help\n" +
        "Lines, read once the room is joined: TEXT is sent encrypted, \"/plain TEXT\" in the clear (still\n" +
        "authenticated once keys exist), \"/auth TOKEN\" sends Authenticate (always encrypted); \"/quit\"\n" +
        "or the end of input leaves. \"expect N\", \"responses N\" and \"peers N\" wait until N messages,\n" +
        "N operation responses (the join included) or N players in the room; \"#\" starts a comment.\n";

    private enum Step { Idle, Waiting, Quit, GaveUp }

    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    private readonly string room;
    private readonly string name;
    private SealnetPeer peer;
    // Written only by the listener methods, which run inside peer.Service() on the main thread.
    private bool connected;
    private bool encrypted;
    private bool authenticating; // the peer sent Authenticate and it is not answered yet
    private bool authenticated;
    private bool authRefused;
    private bool joined;
    private bool joinRefused;
    private bool left;
    private bool disconnected;
    private bool failed;
    private int actor;
    private int peersInRoom;
    private int messages;
    private int responses;

    private Chat(string room, string name)
    {
        this.room = room;
        this.name = name;
    }

    private static int Main(string[] args)
    {
        string server = Environment.GetEnvironmentVariable("SEALNET_SERVER_ADDR");
        if (string.IsNullOrEmpty(server))
        {
            server = "127.0.0.1:4530";
        }
        string pin = null;
        string appId = "demo";
        string room = "lobby";
        string name = "player";
        string script = null;
        string connectionToken = null;
        bool autoKeyExchange = true;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg == "--help" || arg == "-h")
            {
                Console.Write(Usage);
                return 0;
            }
            if (arg == "--no-encryption")
            {
                autoKeyExchange = false;
                continue;
            }
            if (arg != "--server" && arg != "--pin" && arg != "--app-id" && arg != "--room" && arg != "--name"
                && arg != "--script" && arg != "--connection-token")
            {
                Console.Error.WriteLine("chat: unknown argument " + arg + " (mono Chat.exe --help lists the options)");
                return 2;
            }
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine("chat: " + arg + " needs a value (mono Chat.exe --help lists the options)");
                return 2;
            }
            string value = args[++i];
            switch (arg)
            {
                case "--server": server = value; break;
                case "--pin": pin = value; break;
                case "--app-id": appId = value; break;
                case "--room": room = value; break;
                case "--name": name = value; break;
                case "--connection-token": connectionToken = value; break;
                default: script = value; break;
            }
        }

        var config = new SealnetPeerConfig { AutoKeyExchange = autoKeyExchange };
        try
        {
            config.PinServerKeyHex(pin);
        }
        catch (Exception e) when (e is FormatException || e is ArgumentException)
        {
            Console.Error.WriteLine("chat: --pin needs 64 hex digits");
            return 2;
        }
        AuthenticationValues auth = null;
        if (connectionToken != null)
        {
            byte[] token;
            try
            {
                token = SealnetPeerConfig.ParseHex(connectionToken);
            }
            catch (FormatException)
            {
                token = null;
            }
            if (token == null || token.Length > MaxTokenArgument)
            {
                Console.Error.WriteLine("chat: --connection-token needs hex digits (at most " + MaxTokenArgument + " bytes)");
                return 2;
            }
            try
            {
                auth = new AuthenticationValues(CustomAuthenticationType.Custom) { ConnectionToken = token };
            }
            catch (SealnetException e)
            {
                Console.WriteLine("* connection token refused before connecting: " + e.NativeMessage);
                return 3;
            }
        }
        TextReader input;
        try
        {
            input = script != null ? File.OpenText(script) : Console.In;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            Console.Error.WriteLine("chat: cannot open " + script + ": " + e.Message);
            return 1;
        }
        return new Chat(room, name).Run(server, appId, !string.IsNullOrEmpty(pin), config, auth, input);
    }

    private int Run(string server, string appId, bool pinned, SealnetPeerConfig config, AuthenticationValues auth,
        TextReader input)
    {
        bool ok;
        using (peer = new SealnetPeer(this, config))
        {
            Console.WriteLine("* connecting to " + server + " (app \"" + appId + "\")"
                + (pinned ? ", pinning the server key" : "")
                + (auth != null ? ", authenticating after the key exchange" : ""));
            if (peer.Connect(new ConnectOptions(server, appId) { AuthValues = auth }) != PeerResult.Ok)
            {
                Console.Error.WriteLine("chat: connect failed: " + peer.LastResultMessage);
                return 1;
            }
            authenticating = auth != null;

            // With automatic key exchange, wait for EncryptionEstablished; otherwise for Connect. With a
            // connection token, wait for the answer to the authentication too. Then join, and read input
            // only once the join is answered: lines typed meanwhile wait in stdin.
            ok = ServiceUntil(() => config.AutoKeyExchange ? encrypted : connected, ConnectLimit);
            if (ok && auth != null)
            {
                ok = ServiceUntil(() => authenticated, ConnectLimit);
            }
            if (ok)
            {
                byte[] key = peer.ServerPublicKey;
                if (key != null)
                {
                    Console.WriteLine("* server key " + BitConverter.ToString(key, 0, 4).Replace("-", "").ToLowerInvariant()
                        + "... (" + (pinned ? "matches the pin" : "not pinned") + ")");
                }
                var join = new ParameterDictionary { { KeyRoom, room } };
                ok = peer.SendOperation(OpJoinRoom, join,
                        encrypted ? SendOptions.SendReliableEncrypted : SendOptions.SendReliable) == PeerResult.Ok
                    && ServiceUntil(() => joined, ConnectLimit);
            }
            if (ok)
            {
                ok = Converse(StartReader(input));
            }

            // The LeaveRoom answer means the server has every line sent before it (operations arrive in
            // order); disconnecting at once could drop lines still queued for sending.
            if (joined && !disconnected && peer.SendOperation(OpLeaveRoom, null, SendOptions.SendReliable) == PeerResult.Ok)
            {
                ServiceUntil(() => left, LeaveLimit);
            }
            peer.Disconnect();
            ServiceUntil(() => disconnected, LeaveLimit);
        }
        Console.WriteLine("* bye");
        if (authRefused)
        {
            return 4;
        }
        return ok && !failed ? 0 : 1;
    }

    // Reads input on its own thread (reading blocks) and queues the lines, then null at the end.
    private static ConcurrentQueue<string> StartReader(TextReader input)
    {
        var lines = new ConcurrentQueue<string>();
        var reader = new Thread(() =>
        {
            string line;
            while ((line = input.ReadLine()) != null)
            {
                lines.Enqueue(line);
            }
            lines.Enqueue(null);
        });
        reader.IsBackground = true;
        reader.Start();
        return lines;
    }

    // Runs the input lines as they come; false when a script wait gave up or the connection broke.
    private bool Converse(ConcurrentQueue<string> lines)
    {
        var pending = new Queue<string>();
        long waitDeadline = -1;
        bool inputOpen = true;
        for (;;)
        {
            string line;
            while (inputOpen && lines.TryDequeue(out line))
            {
                if (line == null)
                {
                    inputOpen = false;
                }
                else
                {
                    pending.Enqueue(line);
                }
            }
            Step step = RunLines(pending, ref waitDeadline);
            if (step == Step.GaveUp)
            {
                return false;
            }
            if (step == Step.Quit || (step == Step.Idle && !inputOpen))
            {
                return true;
            }
            // Block until results arrive: up to the pending wait's deadline, or, while lines may still
            // be typed, briefly, so that they go out promptly.
            int timeout = step == Step.Waiting ? (int)Math.Max(0, waitDeadline - Clock.ElapsedMilliseconds) + 1 : InputCheck;
            bool running = peer.Wait(timeout) != PeerResult.NotConnected;
            peer.Service();
            if (disconnected || !running)
            {
                return false;
            }
        }
    }

    // Runs the pending lines in order, until they are used up (Idle), one waits for results that have
    // not arrived yet (Waiting, with waitDeadline set), "/quit" (Quit) or a wait timed out (GaveUp).
    private Step RunLines(Queue<string> pending, ref long waitDeadline)
    {
        while (pending.Count > 0)
        {
            string line = pending.Peek();
            string what;
            int have;
            int target;
            if (ParseWait(line, out what, out have, out target))
            {
                if (have < target)
                {
                    if (waitDeadline < 0)
                    {
                        waitDeadline = Clock.ElapsedMilliseconds + WaitLimit;
                    }
                    if (Clock.ElapsedMilliseconds < waitDeadline)
                    {
                        return Step.Waiting;
                    }
                    Console.WriteLine("* gave up waiting for " + target + " " + what);
                    return Step.GaveUp;
                }
                waitDeadline = -1;
            }
            else if (line == "/quit")
            {
                pending.Dequeue();
                return Step.Quit;
            }
            else if (line.StartsWith("/plain ", StringComparison.Ordinal))
            {
                Send(line.Substring("/plain ".Length), false);
            }
            else if (line.StartsWith("/auth ", StringComparison.Ordinal))
            {
                Authenticate(line.Substring("/auth ".Length));
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                Send(line, true);
            }
            pending.Dequeue();
        }
        return Step.Idle;
    }

    // "expect N", "responses N", "peers N": what the line waits for, how many there are and the target.
    private bool ParseWait(string line, out string what, out int have, out int target)
    {
        string number;
        if (line.StartsWith("expect ", StringComparison.Ordinal))
        {
            what = "message(s)";
            have = messages;
            number = line.Substring("expect ".Length);
        }
        else if (line.StartsWith("responses ", StringComparison.Ordinal))
        {
            what = "response(s)";
            have = responses;
            number = line.Substring("responses ".Length);
        }
        else if (line.StartsWith("peers ", StringComparison.Ordinal))
        {
            what = "player(s)";
            have = peersInRoom;
            number = line.Substring("peers ".Length);
        }
        else
        {
            what = null;
            have = target = 0;
            return false;
        }
        int.TryParse(number.Trim(), out target);
        return true;
    }

    // Services results as they arrive until done() holds (true), or the time runs out, the connection
    // ends, or the authentication or the join is refused (false).
    private bool ServiceUntil(Func<bool> done, int limitMilliseconds)
    {
        long deadline = Clock.ElapsedMilliseconds + limitMilliseconds;
        for (;;)
        {
            peer.Service();
            if (done())
            {
                return true;
            }
            long now = Clock.ElapsedMilliseconds;
            if (disconnected || failed || authRefused || joinRefused || now >= deadline)
            {
                return false;
            }
            if (peer.Wait((int)(deadline - now) + 1) == PeerResult.NotConnected)
            {
                peer.Service();
                return done();
            }
        }
    }

    private void Send(string text, bool encrypt)
    {
        var message = new ParameterDictionary { { KeyName, name }, { KeyText, text } };
        var parameters = new ParameterDictionary { { KeyCode, (int)EvChat }, { KeyData, message } };
        var options = encrypt ? SendOptions.SendReliableEncrypted : SendOptions.SendReliable;
        if (peer.SendOperation(OpRaiseEvent, parameters, options) == PeerResult.Ok)
        {
            Console.WriteLine("-> " + (encrypt ? "[encrypted] " : "[plain] ") + text);
        }
        else
        {
            Console.WriteLine("! not sent: " + peer.LastResultMessage);
        }
    }

    private void Authenticate(string token)
    {
        // Authenticate is a must-encrypt operation: sealnet encrypts it even without the flag, and
        // refuses it outright when no keys exist.
        var parameters = new ParameterDictionary { { KeyToken, token } };
        if (peer.SendOperation(OpAuthenticate, parameters, SendOptions.SendReliable) == PeerResult.Ok)
        {
            Console.WriteLine("-> Authenticate (operation " + OpAuthenticate + "), sent encrypted automatically");
        }
        else
        {
            Console.WriteLine("! Authenticate refused locally: " + peer.LastResultMessage);
        }
    }

    public void OnStatusChanged(StatusCode statusCode)
    {
        string detail = peer.LastStatusMessage != null ? " (" + peer.LastStatusMessage + ")" : "";
        Console.WriteLine("* " + SealnetPeer.StatusName(statusCode) + " [" + (int)statusCode + "]" + detail);
        switch (statusCode)
        {
            case StatusCode.Connect: connected = true; break;
            case StatusCode.EncryptionEstablished: encrypted = true; break;
            case StatusCode.Disconnect: disconnected = true; break;
            default: failed = true; break;
        }
    }

    public void OnOperationResponse(OperationResponse response)
    {
        responses++;
        bool ok = response.ReturnCode == ReturnCode.Ok;
        if (response.OperationCode == OpAuthenticate && authenticating)
        {
            authenticating = false;
            if (ok)
            {
                authenticated = true;
                Console.WriteLine("* authenticated as \"" + (response[ParameterCode.Nickname] as string) + "\" (user id "
                    + (response[ParameterCode.UserId] as string) + "); the peer keeps the server token");
            }
            else
            {
                authRefused = true;
                Console.WriteLine("! authentication refused: return code " + (int)response.ReturnCode + ", \""
                    + response.DebugMessage + "\"");
            }
            return;
        }
        if (response.OperationCode == OpJoinRoom && ok)
        {
            // The actor list is an int[] on a version-2 connection and a generic array of ints (object[])
            // on a version-1 one: AsIntArray reads both.
            var actors = ParameterDictionary.AsIntArray(response[KeyActors]);
            actor = response[KeyActor] is int ? (int)response[KeyActor] : 0;
            peersInRoom = actors != null ? actors.Length : 0;
            joined = true;
            Console.WriteLine("* joined room \"" + room + "\" as actor " + actor + " with " + peersInRoom + " player(s)");
            return;
        }
        if (response.OperationCode == OpJoinRoom)
        {
            joinRefused = true;
        }
        if (response.OperationCode == OpLeaveRoom)
        {
            left = true;
            if (ok)
            {
                Console.WriteLine("* left room \"" + room + "\"");
                return;
            }
        }
        Console.WriteLine((ok ? "* " : "! ") + "operation " + response.OperationCode + ": return code "
            + (int)response.ReturnCode + (response.DebugMessage != null ? ", " + response.DebugMessage : "")
            + (response.WasEncrypted ? " [encrypted]" : " [plain]"));
    }

    public void OnEvent(EventData eventData)
    {
        string mark = eventData.WasEncrypted ? "[encrypted]" : "[plain]    ";
        if (eventData.Code == EvJoin || eventData.Code == EvLeave)
        {
            var actors = ParameterDictionary.AsIntArray(eventData[KeyActors]);
            if (actors != null)
            {
                peersInRoom = actors.Length;
            }
            if (eventData.Sender != actor)
            {
                Console.WriteLine(mark + " * actor " + eventData.Sender + (eventData.Code == EvJoin ? " joined" : " left"));
            }
            return;
        }
        if (eventData.Code != EvChat)
        {
            return;
        }
        messages++;
        var message = eventData.CustomData as ParameterDictionary;
        string text = message != null ? message.Get<string>(KeyText) : eventData.CustomData as string;
        string sender = (message != null ? message.Get<string>(KeyName) : null) ?? "actor " + eventData.Sender;
        Console.WriteLine(mark + " " + sender + ": " + text);
    }
}
