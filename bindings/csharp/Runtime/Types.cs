using System;

namespace Sealnet
{
    /// <summary>Receives a peer's callbacks. They run only inside <see cref="SealnetPeer.Service"/>, on its thread.</summary>
    public interface ISealnetListener
    {
        /// <summary>
        /// The connection changed. Detail (the disconnect reason and a readable message) is on
        /// <see cref="SealnetPeer.LastStatusReason"/> and <see cref="SealnetPeer.LastStatusMessage"/>, set
        /// just before this call.
        /// </summary>
        void OnStatusChanged(StatusCode statusCode);

        /// <summary>The server answered an operation.</summary>
        void OnOperationResponse(OperationResponse response);

        /// <summary>The server relayed an event.</summary>
        void OnEvent(EventData eventData);
    }

    /// <summary>How an operation is sent. Note that <c>default(SendOptions)</c> is unreliable and plain,
    /// as in Photon; start from <see cref="SendReliable"/> or <see cref="SendReliableEncrypted"/>.</summary>
    public struct SendOptions
    {
        /// <summary>Reliable, plain, channel 0.</summary>
        public static readonly SendOptions SendReliable = new SendOptions { DeliveryMode = DeliveryMode.Reliable };

        /// <summary>Unreliable, plain, channel 0.</summary>
        public static readonly SendOptions SendUnreliable = new SendOptions { DeliveryMode = DeliveryMode.Unreliable };

        /// <summary>Reliable and encrypted (needs <see cref="StatusCode.EncryptionEstablished"/> first), channel 0.</summary>
        public static readonly SendOptions SendReliableEncrypted =
            new SendOptions { DeliveryMode = DeliveryMode.Reliable, Encrypt = true };

        /// <summary>Delivery mode. Over TCP everything is delivered reliably.</summary>
        public DeliveryMode DeliveryMode;

        /// <summary>Encrypt the operation with the session key (AES-256-GCM). Needs a completed key exchange.</summary>
        public bool Encrypt;

        /// <summary>Channel number (carried for the datagram transport).</summary>
        public byte Channel;

        internal NativeSendOptions ToNative()
        {
            return new NativeSendOptions
            {
                struct_size = NativeMethods.SendOptionsSize,
                delivery_mode = (byte)DeliveryMode,
                encrypt = Encrypt ? (byte)1 : (byte)0,
                channel = Channel,
            };
        }
    }

    /// <summary>The server's answer to an operation.</summary>
    public sealed class OperationResponse
    {
        /// <summary>The operation code this answers.</summary>
        public byte OperationCode { get; private set; }

        /// <summary>0 on success; negative values are errors (see <see cref="Sealnet.ReturnCode"/>).</summary>
        public short ReturnCode { get; private set; }

        /// <summary>The server's message, or null.</summary>
        public string DebugMessage { get; private set; }

        /// <summary>The response parameters (never null).</summary>
        public ParameterDictionary Parameters { get; private set; }

        /// <summary>True when the response arrived encrypted.</summary>
        public bool WasEncrypted { get; private set; }

        /// <summary>The parameter <paramref name="key"/>, or null when absent.</summary>
        public object this[byte key]
        {
            get
            {
                object value;
                return Parameters.TryGetValue(key, out value) ? value : null;
            }
        }

        /// <summary>Creates a response (for tests and tools; the peer builds them from native data).</summary>
        public OperationResponse(byte operationCode, short returnCode, string debugMessage,
            ParameterDictionary parameters, bool wasEncrypted)
        {
            OperationCode = operationCode;
            ReturnCode = returnCode;
            DebugMessage = debugMessage;
            Parameters = parameters ?? new ParameterDictionary();
            WasEncrypted = wasEncrypted;
        }

        internal static OperationResponse FromNative(ref NativeOperationResponse native)
        {
            return new OperationResponse(native.op_code, native.return_code,
                NativeMethods.Utf8FromNulTerminated(native.debug_message),
                ParameterDictionary.FromNative(native.@params), native.encrypted != 0);
        }

        /// <summary>A short description for logs.</summary>
        public override string ToString()
        {
            return "OperationResponse " + OperationCode + ": ReturnCode " + ReturnCode
                + (DebugMessage != null ? " (" + DebugMessage + ")" : "")
                + (WasEncrypted ? ", encrypted" : ", plain") + ", " + Parameters.Count + " parameter(s)";
        }
    }

    /// <summary>An event relayed by the server.</summary>
    public sealed class EventData
    {
        /// <summary>Parameter key of the custom data (Photon's ParameterCode.CustomEventContent).</summary>
        public const byte CustomDataKey = 245;

        /// <summary>The event code.</summary>
        public byte Code { get; private set; }

        /// <summary>The actor number of the player that raised it (0 for the server).</summary>
        public int Sender { get; private set; }

        /// <summary>The event parameters (never null).</summary>
        public ParameterDictionary Parameters { get; private set; }

        /// <summary>True when the event arrived encrypted; false when it was plain (still authenticated once keys exist).</summary>
        public bool WasEncrypted { get; private set; }

        /// <summary>The raised event's data (parameter 245), or null.</summary>
        public object CustomData
        {
            get { return this[CustomDataKey]; }
        }

        /// <summary>The parameter <paramref name="key"/>, or null when absent.</summary>
        public object this[byte key]
        {
            get
            {
                object value;
                return Parameters.TryGetValue(key, out value) ? value : null;
            }
        }

        /// <summary>Creates an event (for tests and tools; the peer builds them from native data).</summary>
        public EventData(byte code, int sender, ParameterDictionary parameters, bool wasEncrypted)
        {
            Code = code;
            Sender = sender;
            Parameters = parameters ?? new ParameterDictionary();
            WasEncrypted = wasEncrypted;
        }

        internal static EventData FromNative(ref NativeEvent native)
        {
            return new EventData(native.code, native.sender, ParameterDictionary.FromNative(native.@params),
                native.encrypted != 0);
        }

        /// <summary>A short description for logs.</summary>
        public override string ToString()
        {
            return "EventData " + Code + " from actor " + Sender + (WasEncrypted ? ", encrypted" : ", plain")
                + ", " + Parameters.Count + " parameter(s)";
        }
    }

    /// <summary>What a <see cref="PolledEvent"/> holds.</summary>
    public enum PolledEventKind
    {
        /// <summary>A status change: <see cref="PolledEvent.StatusCode"/>, <see cref="PolledEvent.Reason"/>, <see cref="PolledEvent.Message"/>.</summary>
        Status = 1,
        /// <summary>An operation response: <see cref="PolledEvent.Response"/>.</summary>
        OperationResponse = 2,
        /// <summary>An event: <see cref="PolledEvent.Event"/>.</summary>
        Event = 3,
    }

    /// <summary>One result taken with <see cref="SealnetPeer.TryPollEvent"/> (the callback-free alternative to Service).</summary>
    public sealed class PolledEvent
    {
        /// <summary>Which of the other members is meaningful.</summary>
        public PolledEventKind Kind { get; private set; }

        /// <summary>For <see cref="PolledEventKind.Status"/>: the status.</summary>
        public StatusCode StatusCode { get; private set; }

        /// <summary>For <see cref="PolledEventKind.Status"/>: the disconnect reason, or None.</summary>
        public DisconnectReason Reason { get; private set; }

        /// <summary>For <see cref="PolledEventKind.Status"/>: readable detail, or null.</summary>
        public string Message { get; private set; }

        /// <summary>For <see cref="PolledEventKind.OperationResponse"/>: the response; null otherwise.</summary>
        public OperationResponse Response { get; private set; }

        /// <summary>For <see cref="PolledEventKind.Event"/>: the event; null otherwise.</summary>
        public EventData Event { get; private set; }

        internal static PolledEvent FromNative(ref NativePolledEvent native)
        {
            var polled = new PolledEvent { Kind = (PolledEventKind)native.kind };
            switch (native.kind)
            {
                case NativeMethods.EventKindStatus:
                    polled.StatusCode = (StatusCode)native.status;
                    polled.Reason = (DisconnectReason)native.status_info.reason;
                    polled.Message = NativeMethods.Utf8FromNulTerminated(native.status_info.message);
                    break;
                case NativeMethods.EventKindOperationResponse:
                    polled.Response = OperationResponse.FromNative(ref native.response);
                    break;
                case NativeMethods.EventKindEvent:
                    polled.Event = EventData.FromNative(ref native.@event);
                    break;
            }
            return polled;
        }
    }

    /// <summary>A native call failed in a way that is not an ordinary result of the API (for example
    /// a failure to create a peer, or parameters beyond the native limits when they are converted).</summary>
    public sealed class SealnetException : Exception
    {
        /// <summary>The native result code.</summary>
        public PeerResult Result { get; private set; }

        /// <summary>The native library's detail (peer_last_error), naming the parameter and the limit where
        /// there is one, e.g. "string of 70000 bytes exceeds the limit of 65536"; null when it gave none.</summary>
        public string NativeMessage { get; private set; }

        /// <summary>Creates the exception; the message includes the native description of <paramref name="result"/>.</summary>
        public SealnetException(PeerResult result, string context)
            : this(result, context, null)
        {
        }

        /// <summary>Creates the exception with the native detail <paramref name="nativeMessage"/> (may be null),
        /// which the message then gives instead of the generic description of <paramref name="result"/>.</summary>
        public SealnetException(PeerResult result, string context, string nativeMessage)
            : base(context + " failed: " + (string.IsNullOrEmpty(nativeMessage) ? result.Describe() : nativeMessage)
                + " (" + result + ")")
        {
            Result = result;
            NativeMessage = string.IsNullOrEmpty(nativeMessage) ? null : nativeMessage;
        }
    }
}
