// Chat: a console room chat over sealnet, using only the public C# API.
//
//   mono Chat.exe [--server HOST:PORT] [--app-id ID] [--room ROOM] [--name NAME] [--pin HEX]
//
// --server and --pin default to SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY. Each line typed is sent
// encrypted; "/plain TEXT" sends it in the clear (still authenticated once keys exist); "/quit" leaves.
// Messages use the same layout as the C example (event 1, data {1: name, 2: text}), so both can talk.
using System;
using System.Collections.Concurrent;
using System.Threading;
using Sealnet;

internal sealed class Chat : ISealnetListener
{
    private const byte OpJoinRoom = 226;
    private const byte OpLeaveRoom = 254;
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

    private readonly string room;
    private readonly string name;
    private SealnetPeer peer;
    private bool encrypted;
    private bool joinSent;
    private bool disconnected;

    private Chat(string room, string name)
    {
        this.room = room;
        this.name = name;
    }

    private static int Main(string[] args)
    {
        string server = Environment.GetEnvironmentVariable("SEALNET_SERVER_ADDR");
        string pin = Environment.GetEnvironmentVariable("SEALNET_SERVER_KEY");
        string appId = "demo";
        string room = "lobby";
        string name = Environment.UserName;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--server": server = args[i + 1]; break;
                case "--app-id": appId = args[i + 1]; break;
                case "--room": room = args[i + 1]; break;
                case "--name": name = args[i + 1]; break;
                case "--pin": pin = args[i + 1]; break;
                default:
                    Console.Error.WriteLine("unknown option " + args[i]);
                    return 2;
            }
        }
        if (string.IsNullOrEmpty(server))
        {
            Console.Error.WriteLine("usage: Chat.exe --server HOST:PORT [--app-id ID] [--room ROOM] [--name NAME] [--pin HEX]");
            return 2;
        }
        return new Chat(room, name).Run(server, appId, pin);
    }

    private int Run(string server, string appId, string pin)
    {
        var config = new SealnetPeerConfig().PinServerKeyHex(pin);
        using (peer = new SealnetPeer(this, config))
        {
            var result = peer.Connect(server, appId);
            if (result != PeerResult.Ok)
            {
                Console.Error.WriteLine("connect failed: " + peer.LastResultMessage);
                return 1;
            }

            // Standard input is read on its own thread; the game-loop thread below does all sealnet calls.
            var lines = new ConcurrentQueue<string>();
            var reader = new Thread(() =>
            {
                string line;
                while ((line = Console.ReadLine()) != null)
                {
                    lines.Enqueue(line);
                }
                lines.Enqueue("/quit");
            });
            reader.IsBackground = true;
            reader.Start();

            bool quitting = false;
            while (!disconnected)
            {
                peer.Service();
                if (encrypted && !joinSent)
                {
                    joinSent = true;
                    peer.SendOperation(OpJoinRoom, new ParameterDictionary { { KeyRoom, room } },
                        SendOptions.SendReliableEncrypted);
                }
                string input;
                while (!quitting && lines.TryDequeue(out input))
                {
                    if (input == "/quit")
                    {
                        quitting = true;
                        peer.SendOperation(OpLeaveRoom, null, SendOptions.SendReliable);
                        peer.Disconnect();
                    }
                    else if (input.StartsWith("/plain ", StringComparison.Ordinal))
                    {
                        Send(input.Substring("/plain ".Length), false);
                    }
                    else if (input.Length > 0)
                    {
                        Send(input, true);
                    }
                }
                Thread.Sleep(20); // about 50 frames a second
            }
        }
        return 0;
    }

    private void Send(string text, bool encrypt)
    {
        var message = new ParameterDictionary { { KeyName, name }, { KeyText, text } };
        var parameters = new ParameterDictionary { { KeyCode, (int)EvChat }, { KeyData, message } };
        var options = encrypt ? SendOptions.SendReliableEncrypted : SendOptions.SendReliable;
        if (peer.SendOperation(OpRaiseEvent, parameters, options) != PeerResult.Ok)
        {
            Console.WriteLine("! not sent: " + peer.LastResultMessage);
        }
    }

    public void OnStatusChanged(StatusCode statusCode)
    {
        string detail = peer.LastStatusMessage != null ? " (" + peer.LastStatusMessage + ")" : "";
        Console.WriteLine("* " + SealnetPeer.StatusName(statusCode) + " [" + (int)statusCode + "]" + detail);
        if (statusCode == StatusCode.EncryptionEstablished)
        {
            encrypted = true;
        }
        else if (statusCode == StatusCode.Disconnect)
        {
            disconnected = true;
        }
    }

    public void OnOperationResponse(OperationResponse response)
    {
        if (response.ReturnCode != ReturnCode.Ok)
        {
            Console.WriteLine("! operation " + response.OperationCode + " failed: " + response.DebugMessage);
        }
        else if (response.OperationCode == OpJoinRoom)
        {
            var actors = response[KeyActors] as int[];
            Console.WriteLine("* joined room \"" + room + "\" as actor " + response[KeyActor]
                + (actors != null ? " with " + actors.Length + " player(s)" : ""));
        }
    }

    public void OnEvent(EventData eventData)
    {
        string mark = eventData.WasEncrypted ? "[encrypted]" : "[plain]    ";
        if (eventData.Code == EvJoin || eventData.Code == EvLeave)
        {
            Console.WriteLine(mark + " * actor " + eventData.Sender + (eventData.Code == EvJoin ? " joined" : " left"));
            return;
        }
        var message = eventData.CustomData as ParameterDictionary;
        if (eventData.Code != EvChat || message == null)
        {
            return;
        }
        Console.WriteLine(mark + " " + (message.Get<string>(KeyName) ?? "actor " + eventData.Sender) + ": "
            + message.Get<string>(KeyText));
    }
}
