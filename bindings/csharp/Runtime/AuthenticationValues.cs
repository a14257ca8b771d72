using System;
using System.Collections.Generic;

namespace Sealnet
{
    /// <summary>
    /// What a connection authenticates with (Photon's AuthenticationValues; peer_auth_values_t), for
    /// <see cref="ConnectOptions.AuthValues"/>. With them the peer sends Authenticate (230), or
    /// AuthenticateOnce (231) for <see cref="CustomAuthenticationType.Token"/>, by itself right after the key
    /// exchange, before the listener hears <see cref="StatusCode.EncryptionEstablished"/>; the server's answer
    /// arrives as the operation response to <see cref="OperationCode.Authenticate"/> or
    /// <see cref="OperationCode.AuthenticateOnce"/>, and <see cref="SealnetPeer.AuthState"/> follows it.
    /// <para>
    /// Every setter has the native library check its limit at once and throws <see cref="SealnetException"/>
    /// (result <see cref="PeerResult.InvalidArgument"/>, <see cref="SealnetException.NativeMessage"/> giving the
    /// size and the limit) for a value the server would refuse; the earlier value then stays. A connection
    /// token is never truncated. Read during Connect only, so one instance may be reused and changed.
    /// </para>
    /// </summary>
    public sealed class AuthenticationValues
    {
        private byte[] connectionToken;
        private string userId;
        private List<KeyValuePair<string, string>> parameters = new List<KeyValuePair<string, string>>();
        private byte[] authPostData;
        private byte[] token;
        private ConnectionProtocol? expectedProtocol;

        /// <summary>Anonymous values (<see cref="CustomAuthenticationType.None"/>).</summary>
        public AuthenticationValues()
        {
            AuthType = CustomAuthenticationType.None;
        }

        /// <summary>Values of <paramref name="authType"/>.</summary>
        public AuthenticationValues(CustomAuthenticationType authType)
        {
            AuthType = authType;
        }

        /// <summary>How to authenticate; default <see cref="CustomAuthenticationType.None"/>.</summary>
        public CustomAuthenticationType AuthType { get; set; }

        /// <summary>AuthOnceWss: the transport (<see cref="ConnectionProtocol.Udp"/> or <see cref="ConnectionProtocol.Tcp"/>)
        /// the player switches to after authenticating over <see cref="ConnectionProtocol.WebSocketSecure"/>. The
        /// server then answers with a per-client secret, which the peer keeps to itself (the response's parameters
        /// do not hold it) for a later connect with <see cref="ConnectOptions.AuthOnce"/>. Null (default): none.
        /// Another transport throws <see cref="SealnetException"/> (<see cref="PeerResult.InvalidArgument"/>).</summary>
        public ConnectionProtocol? ExpectedProtocol
        {
            get { return expectedProtocol; }
            set
            {
                ConnectionProtocol? candidate = value;
                if (candidate.HasValue)
                {
                    Probe(values => SetExpectedProtocol(values, candidate.Value));
                }
                expectedProtocol = candidate;
            }
        }

        /// <summary>The connection token the game built from its backend session (copied in and out): at most
        /// 128 bytes, a longer one throws <see cref="SealnetException"/>. Null (default) sends none.</summary>
        public byte[] ConnectionToken
        {
            get { return Copy(connectionToken); }
            set
            {
                byte[] candidate = Copy(value);
                Probe(values => SetConnectionToken(values, candidate));
                connectionToken = candidate;
            }
        }

        /// <summary>The user id the player asks for (at most 128 bytes of UTF-8); the backend decides the real
        /// one. Null or empty (default) sends none.</summary>
        public string UserId
        {
            get { return userId; }
            set
            {
                Probe(values => SetUserId(values, value));
                userId = string.IsNullOrEmpty(value) ? null : value;
            }
        }

        /// <summary>Data bytes passed to the backend (at most 1,024; copied in and out). Null (default) sends none.</summary>
        public byte[] AuthPostData
        {
            get { return Copy(authPostData); }
            set
            {
                byte[] candidate = Copy(value);
                Probe(values => SetData(values, candidate));
                authPostData = candidate;
            }
        }

        /// <summary>The server token to present with <see cref="CustomAuthenticationType.Token"/>, for example one
        /// saved from <see cref="SealnetPeer.ServerToken"/> before the game restarted (at most 2,048 bytes; copied
        /// in and out). Null (default): the peer presents the latest token it holds.</summary>
        public byte[] Token
        {
            get { return Copy(token); }
            set
            {
                byte[] candidate = Copy(value);
                Probe(values => SetToken(values, candidate));
                token = candidate;
            }
        }

        /// <summary>The parameters added with <see cref="AddAuthParameter"/>, in order (a copy).</summary>
        public KeyValuePair<string, string>[] AuthParameters
        {
            get { return parameters.ToArray(); }
        }

        /// <summary>
        /// Adds (or replaces) a parameter passed to the backend: at most 32, keys 1 to 256 bytes and values up
        /// to 256 bytes of UTF-8. Throws <see cref="SealnetException"/> beyond those limits.
        /// </summary>
        /// <returns>This object, to chain calls.</returns>
        public AuthenticationValues AddAuthParameter(string key, string value)
        {
            if (key == null)
            {
                throw new ArgumentNullException("key");
            }
            if (value == null)
            {
                throw new ArgumentNullException("value");
            }
            var candidate = new List<KeyValuePair<string, string>>(parameters);
            int index = candidate.FindIndex(entry => entry.Key == key);
            if (index >= 0)
            {
                candidate[index] = new KeyValuePair<string, string>(key, value);
            }
            else
            {
                candidate.Add(new KeyValuePair<string, string>(key, value));
            }
            // All of them, so that the native library also counts them.
            Probe(values => AddParameters(values, candidate));
            parameters = candidate;
            return this;
        }

        /// <summary>Native values holding all of these; the caller frees them with peer_auth_values_free.</summary>
        /// <exception cref="SealnetException">An <see cref="AuthType"/> the native library does not know.</exception>
        internal IntPtr ToNative()
        {
            IntPtr values = New(AuthType);
            try
            {
                SetConnectionToken(values, connectionToken);
                SetUserId(values, userId);
                AddParameters(values, parameters);
                // Null sends no data; an empty array sends empty data.
                if (authPostData != null)
                {
                    SetData(values, authPostData);
                }
                SetToken(values, token);
                if (expectedProtocol.HasValue)
                {
                    SetExpectedProtocol(values, expectedProtocol.Value);
                }
                return values;
            }
            catch
            {
                NativeMethods.peer_auth_values_free(values);
                throw;
            }
        }

        /// <summary>A readable summary without the credentials themselves (only their sizes).</summary>
        public override string ToString()
        {
            return "AuthenticationValues(" + AuthType + ", connection token " + Size(connectionToken) + " B, user id "
                + (userId ?? "none") + ", " + parameters.Count + " parameters, data " + Size(authPostData)
                + " B, token " + Size(token) + " B"
                + (expectedProtocol.HasValue ? ", expected protocol " + expectedProtocol.Value : "") + ")";
        }

        // The native library checks each value on throwaway values, so a refused one never replaces the
        // value this object holds.
        private static void Probe(Action<IntPtr> apply)
        {
            IntPtr values = New(CustomAuthenticationType.None);
            try
            {
                apply(values);
            }
            finally
            {
                NativeMethods.peer_auth_values_free(values);
            }
        }

        private static IntPtr New(CustomAuthenticationType authType)
        {
            IntPtr values;
            Throw(NativeMethods.peer_auth_values_new((uint)authType, out values), "peer_auth_values_new");
            return values;
        }

        private static void SetConnectionToken(IntPtr values, byte[] bytes)
        {
            byte[] given = bytes ?? new byte[0];
            Throw(NativeMethods.peer_auth_values_set_connection_token(values, given, (UIntPtr)given.Length),
                "peer_auth_values_set_connection_token");
        }

        private static void SetData(IntPtr values, byte[] bytes)
        {
            byte[] given = bytes ?? new byte[0];
            Throw(NativeMethods.peer_auth_values_set_data(values, given, (UIntPtr)given.Length), "peer_auth_values_set_data");
        }

        private static void SetToken(IntPtr values, byte[] bytes)
        {
            byte[] given = bytes ?? new byte[0];
            Throw(NativeMethods.peer_auth_values_set_token(values, given, (UIntPtr)given.Length), "peer_auth_values_set_token");
        }

        private static void SetExpectedProtocol(IntPtr values, ConnectionProtocol protocol)
        {
            Throw(NativeMethods.peer_auth_values_set_expected_protocol(values, (uint)protocol),
                "peer_auth_values_set_expected_protocol");
        }

        private static void SetUserId(IntPtr values, string id)
        {
            string given = id ?? string.Empty;
            if (given.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("UserId must not contain NUL characters", "value");
            }
            Throw(NativeMethods.peer_auth_values_set_user_id(values, NativeMethods.NulTerminatedUtf8(given)),
                "peer_auth_values_set_user_id");
        }

        private static void AddParameters(IntPtr values, List<KeyValuePair<string, string>> entries)
        {
            foreach (var entry in entries)
            {
                if (entry.Key.IndexOf('\0') >= 0 || entry.Value.IndexOf('\0') >= 0)
                {
                    throw new ArgumentException("authentication parameters must not contain NUL characters", "key");
                }
                Throw(NativeMethods.peer_auth_values_add_param(values, NativeMethods.NulTerminatedUtf8(entry.Key),
                    NativeMethods.NulTerminatedUtf8(entry.Value)), "peer_auth_values_add_param");
            }
        }

        private static void Throw(uint raw, string function)
        {
            var result = (PeerResult)raw;
            if (result != PeerResult.Ok)
            {
                throw new SealnetException(result, function, NativeMethods.LastError());
            }
        }

        private static byte[] Copy(byte[] bytes)
        {
            return bytes == null ? null : (byte[])bytes.Clone();
        }

        private static int Size(byte[] bytes)
        {
            return bytes == null ? 0 : bytes.Length;
        }
    }
}
