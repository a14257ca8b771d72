using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Sealnet
{
    // Mirrors of the C header's structures. Field order, types and therefore padding follow
    // include/sealnet.h exactly; LayoutKind.Sequential applies the same natural alignment as the C
    // compiler. Pointers are IntPtr; uint8_t flags stay byte (bool is not blittable). The structures
    // with a struct_size have no padding: their reserved arrays must be zero when the binding passes
    // one in (the library refuses other values).

    /// <summary>peer_status_info_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeStatusInfo
    {
        public ushort reason;
        public IntPtr message;          // const char *, NUL-terminated UTF-8, may be NULL
    }

    /// <summary>peer_operation_response_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeOperationResponse
    {
        public byte op_code;
        public byte encrypted;
        public short return_code;
        public IntPtr debug_message;    // const char *, may be NULL
        public IntPtr @params;          // const peer_params_t *, borrowed
    }

    /// <summary>peer_event_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeEvent
    {
        public byte code;
        public byte encrypted;
        public int sender;
        public IntPtr @params;          // const peer_params_t *, borrowed
    }

    /// <summary>peer_config_t. <c>struct_size</c> first: the library reads only the fields this
    /// binding was compiled with (see the header's "Growth" note). The layout has no padding: the
    /// <c>reserved</c> bytes stand where the compiler would put it, and must be zero.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeConfig
    {
        public uint struct_size;
        public uint disconnect_timeout_ms;
        public IntPtr on_status;                // peer_status_callback
        public IntPtr on_operation_response;    // peer_operation_response_callback
        public IntPtr on_event;                 // peer_event_callback
        public IntPtr user_data;
        public uint ping_interval_ms;
        public uint max_queued_events;
        public byte auto_key_exchange;
        public byte pin_server_key;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.KeyLength)]
        public byte[] server_public_key;        // uint8_t[32]
        public byte max_protocol_version;       // 0 = latest
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.ConfigReservedLength)]
        public byte[] reserved;                 // uint8_t[5], zero
        public ulong max_queued_bytes;          // 0 = 32 MiB
    }

    /// <summary>peer_send_options_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeSendOptions
    {
        public uint struct_size;
        public byte delivery_mode;
        public byte encrypt;
        public byte channel;
        public byte reserved;                   // zero
    }

    /// <summary>peer_connect_options_t. The strings are pointers to NUL-terminated UTF-8 that the
    /// caller keeps pinned for the duration of peer_connect_with only; <c>auth</c> is a
    /// peer_auth_values_t the caller frees after that call.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeConnectOptions
    {
        public uint struct_size;
        public uint transport;                  // PEER_TRANSPORT_*
        public IntPtr address;                  // const char *
        public IntPtr app_id;                   // const char *
        public IntPtr app_version;              // const char *, NULL for the library's version
        public byte pin;                        // PEER_PIN_*
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.KeyLength)]
        public byte[] server_public_key;        // uint8_t[32]
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.ConnectOptionsReservedLength)]
        public byte[] reserved;                 // uint8_t[7], zero
        public IntPtr auth;                     // const peer_auth_values_t *, NULL for none (0.3)
        public IntPtr ca_file;                  // const char *, NULL for the system's trust store (WSS)
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.KeyLength)]
        public byte[] certificate_fingerprint;  // uint8_t[32]
        public byte pin_certificate;            // 1: pin certificate_fingerprint
        public byte auth_once;                  // 1: AuthOnceWss credentials in the key exchange
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.ConnectOptionsReserved2Length)]
        public byte[] reserved_2;               // uint8_t[6], zero
    }

    /// <summary>peer_stats_t, written by peer_get_stats.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeStats
    {
        public uint struct_size;
        public uint protocol_version;           // 0 until a connection is accepted
        public uint rtt_ms;
        public uint rtt_variance_ms;
        public byte rtt_known;
        public byte server_time_known;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.StatsReservedLength)]
        public byte[] reserved;                 // uint8_t[6], zero
        public ulong bytes_sent;
        public ulong bytes_received;
        public ulong frames_sent;
        public ulong frames_received;
        public ulong server_time_ms;
    }

    /// <summary>
    /// peer_value_t: one value of any type. Blittable, so it is passed by reference without a copy.
    /// Which fields mean something depends on <c>type</c> (see the header). Read views borrow from the
    /// container read from; written values are copied by the library during the call, so whatever the
    /// pointers reference needs to stay pinned for that call only.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeValue
    {
        public uint type;               // PEER_VALUE_TYPE_*
        public byte custom_code;
        public long integer;
        public float float32;
        public double float64;
        public IntPtr data;             // const void *
        public UIntPtr len;             // size_t
        public IntPtr map;              // const peer_params_t *
        public IntPtr array;            // const peer_array_t *
        public IntPtr table;            // const peer_table_t *
    }

    /// <summary>peer_polled_event_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativePolledEvent
    {
        public uint kind;               // PEER_EVENT_KIND_*
        public uint status;
        public NativeStatusInfo status_info;
        public NativeOperationResponse response;
        public NativeEvent @event;
    }

    /// <summary>peer_room_options_t (Photon's RoomOptions), passed in by value for the call only. Its
    /// pointers (the custom properties' table, the listed names and the array of them) are borrowed by that
    /// call only: the binding builds and pins them for it and frees them afterwards.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeRoomOptions
    {
        public uint struct_size;                // sizeof(peer_room_options_t) as laid out here
        public uint max_players;                // 0 = as many as the server allows
        public byte is_open;                    // 0 or 1
        public byte is_visible;                 // 0 or 1
        public byte keep_cache_on_leave;        // 0 (default): a leaver's cached events go with it; 1: they stay
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.RoomOptionsReservedLength)]
        public byte[] reserved;                 // uint8_t[5], zero
        public uint player_ttl_ms;              // 0 = none
        public uint empty_room_ttl_ms;          // 0 = none
        public IntPtr custom_properties;        // const peer_table_t *, NULL for none
        public IntPtr listed_in_lobby;          // const char *const *, listed_in_lobby_count entries, or NULL
        public UIntPtr listed_in_lobby_count;   // size_t
    }

    /// <summary>peer_raise_event_options_t (Photon's RaiseEventOptions), passed in for the call only; the
    /// target actors are pinned for that call. Blittable.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeRaiseEventOptions
    {
        public uint struct_size;                // sizeof(peer_raise_event_options_t) as laid out here
        public byte receivers;                  // PEER_RECEIVERS_*
        public byte interest_group;             // 0 = none
        public byte cache;                      // PEER_EVENT_CACHE_*
        public byte reserved;                   // zero
        public IntPtr target_actors;            // const int32_t *, target_actor_count of them, or NULL
        public UIntPtr target_actor_count;      // size_t
    }

    /// <summary>peer_client_config_t. Every pointer is borrowed by peer_client_create only (the library
    /// copies the strings and the peer settings), so the binding pins them for that call.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeClientConfig
    {
        public uint struct_size;
        public byte pin_master_key;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.ClientConfigReservedLength)]
        public byte[] reserved;                 // uint8_t[3], zero
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = NativeMethods.KeyLength)]
        public byte[] master_public_key;        // uint8_t[32]
        public IntPtr peer;                     // const peer_config_t *, NULL for the defaults
        public IntPtr masters;                  // const char *const *, master_count entries
        public UIntPtr master_count;            // size_t
        public IntPtr app_id;                   // const char *
        public IntPtr app_version;              // const char *, NULL for the library's version
    }

    /// <summary>peer_client_event_t, written by peer_client_poll. Blittable. Every pointer in it
    /// (strings, the actor list, the event's and the response's parameters) is valid only until the next
    /// peer_client_poll or peer_client_destroy of the same client: the binding copies everything out
    /// before either can run.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeClientEvent
    {
        public uint kind;                       // PEER_CLIENT_EVENT_*
        public uint state;                      // PEER_CLIENT_STATE_*
        public uint status;                     // PEER_STATUS_*
        public NativeStatusInfo status_info;
        public IntPtr room;                     // const char *
        public int actor;
        public byte rejoined;                   // 1: came back by itself within the room's PlayerTtl
        public IntPtr actors;                   // const int32_t *, actor_count of them
        public UIntPtr actor_count;             // size_t
        public byte op_code;
        public short return_code;
        public IntPtr message;                  // const char *
        public NativeEvent @event;
        public NativeOperationResponse response;
    }

    /// <summary>peer_status_callback.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void NativeStatusCallback(IntPtr userData, uint status, IntPtr info);

    /// <summary>peer_operation_response_callback.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void NativeOperationResponseCallback(IntPtr userData, IntPtr response);

    /// <summary>peer_event_callback.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void NativeEventCallback(IntPtr userData, IntPtr eventData);

    /// <summary>The C ABI of the sealnet native library (include/sealnet.h), one import per function.</summary>
    internal static class NativeMethods
    {
#if UNITY_IOS && !UNITY_EDITOR
        internal const string Lib = "__Internal";
#else
        internal const string Lib = "sealnet";
#endif

        internal const int KeyLength = 32;

        // Lengths of the reserved (zero) arrays that stand where padding would be.
        internal const int ConfigReservedLength = 5;
        internal const int ConnectOptionsReservedLength = 7;
        internal const int ConnectOptionsReserved2Length = 6;
        internal const int StatsReservedLength = 6;
        internal const int RoomOptionsReservedLength = 5;
        internal const int ClientConfigReservedLength = 3;

        internal const uint ValueNull = 0;
        internal const uint ValueBool = 1;
        internal const uint ValueInt = 2;
        internal const uint ValueLong = 3;
        internal const uint ValueFloat = 4;
        internal const uint ValueDouble = 5;
        internal const uint ValueString = 6;
        internal const uint ValueBytes = 7;
        internal const uint ValueArray = 8;
        internal const uint ValueMap = 9;
        internal const uint ValueByte = 10;
        internal const uint ValueShort = 11;
        internal const uint ValueShortArray = 12;
        internal const uint ValueIntArray = 13;
        internal const uint ValueLongArray = 14;
        internal const uint ValueFloatArray = 15;
        internal const uint ValueDoubleArray = 16;
        internal const uint ValueBoolArray = 17;
        internal const uint ValueStringArray = 18;
        internal const uint ValueTable = 19;
        internal const uint ValueCustom = 20;

        // PEER_TRANSPORT_* (ConnectionProtocol holds the same numbers).
        internal const uint TransportUdp = 0;
        internal const uint TransportTcp = 1;
        internal const uint TransportWss = 5;

        // PEER_AUTH_STATE_*.
        internal const uint AuthStateNone = 0;
        internal const uint AuthStatePending = 1;
        internal const uint AuthStateAuthenticated = 2;
        internal const uint AuthStateFailed = 3;
        internal const byte PinAsConfigured = 0;
        internal const byte PinKey = 1;
        internal const byte PinNone = 2;

        /// <summary>PEER_PROTOCOL_VERSION_LATEST of the header this binding mirrors.</summary>
        internal const int ProtocolVersionLatest = 2;

        // sizeof() of the size-prefixed structures as this binding lays them out: what their
        // struct_size field and the *_default / peer_get_stats size arguments carry.
        internal static readonly uint ConfigSize = (uint)Marshal.SizeOf(typeof(NativeConfig));
        internal static readonly uint SendOptionsSize = (uint)Marshal.SizeOf(typeof(NativeSendOptions));
        internal static readonly uint ConnectOptionsSize = (uint)Marshal.SizeOf(typeof(NativeConnectOptions));
        internal static readonly uint StatsSize = (uint)Marshal.SizeOf(typeof(NativeStats));
        internal static readonly uint ClientConfigSize = (uint)Marshal.SizeOf(typeof(NativeClientConfig));
        internal static readonly uint RoomOptionsSize = (uint)Marshal.SizeOf(typeof(NativeRoomOptions));
        internal static readonly uint RaiseEventOptionsSize = (uint)Marshal.SizeOf(typeof(NativeRaiseEventOptions));

        internal const uint EventKindStatus = 1;
        internal const uint EventKindOperationResponse = 2;
        internal const uint EventKindEvent = 3;

        // PEER_CLIENT_EVENT_*.
        internal const uint ClientEventStateChanged = 1;
        internal const uint ClientEventStatus = 2;
        internal const uint ClientEventJoined = 3;
        internal const uint ClientEventFailed = 4;
        internal const uint ClientEventEvent = 5;
        internal const uint ClientEventResponse = 6;

        // --- parameter dictionaries ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_new(out IntPtr outParams);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void peer_params_free(IntPtr parameters);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_clone(IntPtr parameters, out IntPtr outParams);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_remove(IntPtr parameters, byte key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_clear(IntPtr parameters);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_null(IntPtr parameters, byte key);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_bool(IntPtr parameters, byte key, byte value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_i32(IntPtr parameters, byte key, int value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_i64(IntPtr parameters, byte key, long value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_f32(IntPtr parameters, byte key, float value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_f64(IntPtr parameters, byte key, double value);

        // Blittable arrays are pinned for the call, not copied; the native side copies what it keeps.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_string(IntPtr parameters, byte key, [In] byte[] utf8, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_bytes(IntPtr parameters, byte key, [In] byte[] data, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_i32_array(IntPtr parameters, byte key, [In] int[] values, UIntPtr count);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put_params(IntPtr parameters, byte key, IntPtr nested);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_count(IntPtr parameters, out UIntPtr outCount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_key_at(IntPtr parameters, UIntPtr index, out byte outKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_type(IntPtr parameters, byte key, out uint outType);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_bool(IntPtr parameters, byte key, out byte outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_i32(IntPtr parameters, byte key, out int outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_i64(IntPtr parameters, byte key, out long outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_f32(IntPtr parameters, byte key, out float outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_f64(IntPtr parameters, byte key, out double outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_string(IntPtr parameters, byte key, out IntPtr outUtf8, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_bytes(IntPtr parameters, byte key, out IntPtr outData, out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_i32_array(IntPtr parameters, byte key, [Out] int[] buffer, UIntPtr capacity, out UIntPtr outCount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get_params(IntPtr parameters, byte key, out IntPtr outParams);

        // --- values of every type (peer_value_t), arrays and tables ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_put(IntPtr parameters, byte key, [In] ref NativeValue value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_params_get(IntPtr parameters, byte key, out NativeValue outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_array_new(uint elementType, out IntPtr outArray);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void peer_array_free(IntPtr array);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_array_push(IntPtr array, [In] ref NativeValue value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_array_count(IntPtr array, out UIntPtr outCount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_array_get(IntPtr array, UIntPtr index, out NativeValue outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_table_new(out IntPtr outTable);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void peer_table_free(IntPtr table);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_table_put(IntPtr table, [In] ref NativeValue key, [In] ref NativeValue value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_table_count(IntPtr table, out UIntPtr outCount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_table_get(IntPtr table, [In] ref NativeValue key, out NativeValue outValue);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_table_entry_at(IntPtr table, UIntPtr index, out NativeValue outKey, out NativeValue outValue);

        // --- peers ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_config_default(out NativeConfig outConfig, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_send_options_default(out NativeSendOptions outOptions, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_connect_options_default(out NativeConnectOptions outOptions, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_create([In] ref NativeConfig config, out IntPtr outPeer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_connect(IntPtr peer, [In] byte[] address, [In] byte[] appId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_connect_with(IntPtr peer, [In] ref NativeConnectOptions options);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_get_stats(IntPtr peer, out NativeStats outStats, uint structSize);

        // --- authentication ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_new(uint authType, out IntPtr outValues);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void peer_auth_values_free(IntPtr values);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_set_connection_token(IntPtr values, [In] byte[] token, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_set_user_id(IntPtr values, [In] byte[] userId);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_add_param(IntPtr values, [In] byte[] key, [In] byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_set_data(IntPtr values, [In] byte[] data, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_set_token(IntPtr values, [In] byte[] token, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_auth_values_set_expected_protocol(IntPtr values, uint protocol);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_has_auth_once(IntPtr peer, out byte outReady);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_get_auth_state(IntPtr peer, out uint outState, out short outReturnCode);

        // A null buffer with capacity 0 asks for the length and expiry only.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_get_server_token(IntPtr peer, [Out] byte[] buffer, UIntPtr capacity,
            out UIntPtr outLen, out long outExpiresMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_establish_encryption(IntPtr peer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_send_operation(IntPtr peer, byte opCode, IntPtr parameters, [In] ref NativeSendOptions options);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_service(IntPtr peer, out uint outDispatched);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_poll_event(IntPtr peer, out NativePolledEvent outEvent);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_wait(IntPtr peer, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr peer_last_error();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_disconnect(IntPtr peer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_destroy(IntPtr peer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_state(IntPtr peer, out uint outState);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_server_public_key(IntPtr peer, [Out] byte[] outKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr peer_result_str(uint result);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr peer_status_str(uint status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr peer_version();

        // --- realtime clients (peer_client_*) ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_config_default(out NativeClientConfig outConfig, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_room_options_default(out NativeRoomOptions outOptions, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_create([In] ref NativeClientConfig config, out IntPtr outClient);

        // values: a peer_auth_values_t (copied by the call), or NULL for an anonymous player.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_connect(IntPtr client, IntPtr values);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_join_or_create_room(IntPtr client, [In] byte[] name, [In] ref NativeRoomOptions options);

        // A null name is passed as NULL: the master names the room.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_create_room(IntPtr client, [In] byte[] name, [In] ref NativeRoomOptions options);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_join_room(IntPtr client, [In] byte[] name);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_join_random_room(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_leave_room(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_raise_event(IntPtr client, byte code, [In] ref NativeValue data,
            [In] ref NativeSendOptions options);

        // --- the room the client is in, and the lobby (peer_client_* of src/ffi/room.rs) ---

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_raise_event_options_default(out NativeRaiseEventOptions outOptions, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_raise_event_with(IntPtr client, byte code, [In] ref NativeValue data,
            [In] ref NativeRaiseEventOptions raise, [In] ref NativeSendOptions options);

        // changes: a peer_table_t (borrowed for the call); expected: one, or NULL for no compare-and-set.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_set_room_properties(IntPtr client, IntPtr changes, IntPtr expected);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_set_player_properties(IntPtr client, int actor, IntPtr changes, IntPtr expected);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_set_master_client(IntPtr client, int actor);

        // A NULL list leaves that step out; a non-NULL one with a count of 0 means every group. The lists
        // are pinned by the caller (a zero-length array must still be passed as a non-NULL pointer).
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_change_groups(IntPtr client, IntPtr remove, UIntPtr removeCount,
            IntPtr add, UIntPtr addCount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_join_lobby(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_leave_lobby(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_master_client(IntPtr client, out int outActor);

        // The table written is the caller's: freed with peer_table_free.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_room_properties(IntPtr client, out IntPtr outTable);

        // buffer: capacity entries, or NULL with capacity 0 to ask for the count.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_players(IntPtr client, [Out] int[] buffer, UIntPtr capacity, out UIntPtr outCount);

        // The table written is the caller's: freed with peer_table_free.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_player_properties(IntPtr client, int actor, out IntPtr outTable);

        // The table written is the caller's: freed with peer_table_free.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_room_list(IntPtr client, out IntPtr outTable);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_is_rejoining(IntPtr client, out byte outRejoining);

        // parameters: a peer_params_t (borrowed for the call), or NULL for none.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_send_operation(IntPtr client, byte opCode, IntPtr parameters,
            [In] ref NativeSendOptions options);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_actor_number(IntPtr client, out int outActor);

        // buffer: capacity bytes, or NULL with capacity 0 to ask for the length.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_room_name(IntPtr client, [Out] byte[] buffer, UIntPtr capacity,
            out UIntPtr outLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_poll(IntPtr client, out NativeClientEvent outEvent);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_wait(IntPtr client, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_state(IntPtr client, out uint outState);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_server_public_key(IntPtr client, [Out] byte[] outKey);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_disconnect(IntPtr client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint peer_client_destroy(IntPtr client);

        // --- helpers ---

        /// <summary>peer_last_error() of the calling thread as a managed string (copied at once, since
        /// the next failing call on this thread replaces it); null when it is empty.</summary>
        internal static string LastError()
        {
            string text = Utf8FromNulTerminated(peer_last_error());
            return string.IsNullOrEmpty(text) ? null : text;
        }

        /// <summary>peer_result_str as a managed string.</summary>
        internal static string ResultText(PeerResult result)
        {
            return Utf8FromNulTerminated(peer_result_str((uint)result)) ?? "unknown result code";
        }

        /// <summary>A NUL-terminated UTF-8 string as UTF-16 (null for NULL). Copies it.</summary>
        internal static string Utf8FromNulTerminated(IntPtr text)
        {
            if (text == IntPtr.Zero)
            {
                return null;
            }
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
            {
                length++;
            }
            return Utf8FromPointer(text, length);
        }

        /// <summary>
        /// <paramref name="length"/> bytes of UTF-8 at <paramref name="text"/> as a managed string. Copies them.
        /// </summary>
        internal static string Utf8FromPointer(IntPtr text, int length)
        {
            if (length == 0)
            {
                return string.Empty;
            }
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>, for const char * arguments.</summary>
        internal static byte[] NulTerminatedUtf8(string text)
        {
            int length = Encoding.UTF8.GetByteCount(text);
            var bytes = new byte[length + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }
    }
}
