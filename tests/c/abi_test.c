/*
 * The growable C ABI over loopback: hosts compiled against an older (smaller) or newer (larger)
 * structure layout (peer_config_t; peer_connect_options_t before `auth` and before the WSS fields),
 * per-connection options (UDP and WSS connects among them), WSS certificate checks and AuthOnceWss
 * (authenticate over WSS, then UDP authenticated by the key exchange), connection stats, every value
 * type through the server, limits refused when a value is built, a version-1 peer, and peer_destroy
 * from inside a callback.
 * Run under AddressSanitizer and UndefinedBehaviorSanitizer through scripts/with-server.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>

#include "all_types_data.h"
#include "test_support.h"

/* peer_config_t's first layout, without the fields added after it (max_queued_bytes): what a game
 * compiled against that header passes. */
typedef struct {
    uint32_t struct_size;
    uint32_t disconnect_timeout_ms;
    peer_status_callback on_status;
    peer_operation_response_callback on_operation_response;
    peer_event_callback on_event;
    void *user_data;
    uint32_t ping_interval_ms;
    uint32_t max_queued_events;
    uint8_t auto_key_exchange;
    uint8_t pin_server_key;
    uint8_t server_public_key[32];
    uint8_t max_protocol_version;
    uint8_t reserved[5];
} config_layout_1;

/* A host compiled against a later header: fields this library does not know follow. */
typedef struct {
    peer_config_t known;
    uint64_t later_field;
} config_from_the_future;

/* peer_connect_options_t as 0.2 laid it out, before `auth` (0.3): what a game compiled against that
 * header passes to peer_connect_with. */
typedef struct {
    uint32_t struct_size;
    uint32_t transport;
    const char *address;
    const char *app_id;
    const char *app_version;
    uint8_t pin;
    uint8_t server_public_key[32];
    uint8_t reserved[7];
} connect_options_layout_1;

/* peer_connect_options_t as 0.3 laid it out, before the WSS fields (ca_file and after). */
typedef struct {
    connect_options_layout_1 first;
    const peer_auth_values_t *auth;
} connect_options_layout_2;

static const char *address;
static uint8_t key[32];

static int contains(const char *text, const char *part) {
    return text != NULL && strstr(text, part) != NULL;
}

static void older_and_newer_layouts(void) {
    /* Defaults write only the bytes the host has: the guard after the old structure stays intact. */
    struct {
        config_layout_1 config;
        uint8_t guard[32];
    } old;
    memset(&old, 0xAB, sizeof old);
    CHECK(peer_config_default((peer_config_t *)&old.config, sizeof old.config) == PEER_RESULT_OK, "old defaults");
    CHECK(old.config.struct_size == sizeof old.config, "struct_size is the host's");
    CHECK(old.config.disconnect_timeout_ms == 10000 && old.config.max_queued_events == 65536, "old fields filled");
    int guard_intact = 1;
    for (size_t i = 0; i < sizeof old.guard; i++) guard_intact &= old.guard[i] == 0xAB;
    CHECK(guard_intact, "nothing written past the old layout");

    host h = {0};
    old.config.on_status = on_status;
    old.config.on_operation_response = on_response;
    old.config.on_event = on_event;
    old.config.user_data = &h;
    old.config.pin_server_key = 1;
    memcpy(old.config.server_public_key, key, 32);
    peer_t *peer = NULL;
    CHECK(peer_create((const peer_config_t *)&old.config, &peer) == PEER_RESULT_OK, "created from the old layout");
    CHECK(peer_connect(peer, address, "demo") == PEER_RESULT_OK, "old-layout host connects");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "old-layout host: pinned key exchange");
    join(peer, &h, "layout-room");
    peer_stats_t stats;
    CHECK(peer_get_stats(peer, &stats, sizeof stats) == PEER_RESULT_OK && stats.protocol_version == 2,
          "missing max_protocol_version means the latest");
    peer_destroy(peer);

    /* A newer host's extra fields at zero mean "as before" and are accepted... */
    config_from_the_future newer;
    CHECK(peer_config_default(&newer.known, sizeof newer) == PEER_RESULT_OK, "defaults for a larger struct");
    CHECK(newer.known.struct_size == sizeof newer && newer.later_field == 0, "unknown fields zeroed");
    CHECK(peer_create(&newer.known, &peer) == PEER_RESULT_OK, "newer host, unknown fields zero");
    peer_destroy(peer);
    /* ...but one that asks for something this library cannot do is refused, not ignored. */
    newer.later_field = 1;
    peer = NULL;
    CHECK(peer_create(&newer.known, &peer) == PEER_RESULT_INVALID_ARGUMENT && peer == NULL, "unknown field set");
    CHECK(contains(peer_last_error(), "needs a newer sealnet library"), "the error says why");

    /* A size below the first layout is a host bug (an unfilled struct). */
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.struct_size = 8;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_INVALID_ARGUMENT, "struct_size too small");
    CHECK(contains(peer_last_error(), "peer_config_t.struct_size is 8"), "the error names the field");
    CHECK(peer_config_default(&config, 4) == PEER_RESULT_INVALID_ARGUMENT, "default into too little room");

    /* Send options: a literal with the size, and a larger (newer) one with zeroed extra bytes. */
    struct {
        peer_send_options_t known;
        uint32_t later;
    } options;
    CHECK(peer_send_options_default(&options.known, sizeof options) == PEER_RESULT_OK && options.later == 0,
          "send options defaults");
    CHECK(options.known.delivery_mode == PEER_DELIVERY_MODE_RELIABLE && options.known.encrypt == 0, "reliable, plain");

    /* Stats into a larger struct: the unknown tail is zeroed. */
    struct {
        peer_stats_t known;
        uint8_t later[16];
    } bigger;
    memset(&bigger, 0xCD, sizeof bigger);
    peer = NULL;
    CHECK(peer_create(&(peer_config_t){0}, &peer) == PEER_RESULT_INVALID_ARGUMENT && peer == NULL,
          "a zeroed config (struct_size 0) is refused");
    peer_config_default(&config, sizeof config);
    config.reserved[2] = 1;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_INVALID_ARGUMENT, "reserved bytes must be zero");
    CHECK(contains(peer_last_error(), "peer_config_t.reserved must be zero"), "the error names them");
    peer_config_default(&config, sizeof config);
    CHECK(peer_create(&config, &peer) == PEER_RESULT_OK, "fresh peer");
    CHECK(peer_get_stats(peer, &bigger.known, sizeof bigger) == PEER_RESULT_OK, "stats into a larger struct");
    int zeroed = 1;
    for (size_t i = 0; i < sizeof bigger.later; i++) zeroed &= bigger.later[i] == 0;
    CHECK(zeroed && bigger.known.struct_size == sizeof bigger, "the unknown tail of the stats is zeroed");
    CHECK(bigger.known.rtt_known == 0 && bigger.known.bytes_sent == 0, "nothing measured before connecting");
    peer_destroy(peer);
}

static void older_and_newer_connect_options(void) {
    CHECK(sizeof(connect_options_layout_1) == offsetof(peer_connect_options_t, auth),
          "the 0.2 layout ends where auth begins");
    struct {
        connect_options_layout_1 options;
        uint8_t guard[16];
    } old;
    memset(&old, 0xAB, sizeof old);
    CHECK(peer_connect_options_default((peer_connect_options_t *)&old.options, sizeof old.options) == PEER_RESULT_OK,
          "connect options defaults into the 0.2 layout");
    CHECK(old.options.struct_size == sizeof old.options && old.options.pin == PEER_PIN_AS_CONFIGURED,
          "the old fields filled");
    int guard_intact = 1;
    for (size_t i = 0; i < sizeof old.guard; i++) guard_intact &= old.guard[i] == 0xAB;
    CHECK(guard_intact, "nothing written past the 0.2 layout");

    /* Filled by hand as an older host would: without defaults from this library. */
    host h = {0};
    peer_t *peer = make_peer(&h, 1, NULL);
    connect_options_layout_1 literal = {sizeof literal, PEER_TRANSPORT_TCP, address, "demo", NULL, PEER_PIN_KEY, {0}, {0}};
    memcpy(literal.server_public_key, key, 32);
    uint32_t connected = peer_connect_with(peer, (const peer_connect_options_t *)&literal);
    CHECK(connected == PEER_RESULT_OK, "a host with the 0.2 connect options connects");
    if (connected != PEER_RESULT_OK) {
        fprintf(stderr, "    peer_connect_with: %s\n", peer_last_error());
    } else {
        CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "and its pin applies");
        uint32_t state = 0;
        int16_t code = -1;
        CHECK(peer_get_auth_state(peer, &state, &code) == PEER_RESULT_OK && state == PEER_AUTH_STATE_NONE &&
                  code == 0,
              "no auth field: no authentication");
    }
    peer_destroy(peer);

    /* A newer host: zero extra bytes are accepted, others refused. */
    struct {
        peer_connect_options_t known;
        uint64_t later_field;
    } newer;
    CHECK(peer_connect_options_default(&newer.known, sizeof newer) == PEER_RESULT_OK && newer.later_field == 0,
          "connect options defaults for a larger struct");
    h = (host){0};
    peer = make_peer(&h, 1, key);
    newer.known.address = address;
    newer.known.app_id = "demo";
    newer.later_field = 1;
    CHECK(peer_connect_with(peer, &newer.known) == PEER_RESULT_INVALID_ARGUMENT, "an unknown connect option set");
    CHECK(contains(peer_last_error(), "needs a newer sealnet library"), "the error says why");
    newer.later_field = 0;
    CHECK(peer_connect_with(peer, &newer.known) == PEER_RESULT_OK, "unknown connect options zero");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "connected");
    peer_destroy(peer);

    /* A 0.3 host (auth, no WSS fields) gets the defaults for them: it connects as before. */
    CHECK(sizeof(connect_options_layout_2) == offsetof(peer_connect_options_t, ca_file),
          "the 0.3 layout ends where ca_file begins");
    connect_options_layout_2 layout_2 = {
        {sizeof layout_2, PEER_TRANSPORT_TCP, address, "demo", NULL, PEER_PIN_KEY, {0}, {0}}, NULL};
    memcpy(layout_2.first.server_public_key, key, 32);
    h = (host){0};
    peer = make_peer(&h, 1, NULL);
    CHECK(peer_connect_with(peer, (const peer_connect_options_t *)&layout_2) == PEER_RESULT_OK,
          "a host with the 0.3 connect options connects");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "over TCP, pinned");
    peer_destroy(peer);
}

/* ---- WSS and AuthOnceWss ---- */

/* 64 hex digits as 32 bytes; 0 when `hex` is not that. */
static int parse_hex32(const char *hex, uint8_t out[32]) {
    if (!hex || strlen(hex) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return 0;
        out[i] = (uint8_t)byte;
    }
    return 1;
}

/* Connect options for the server's WSS URL with its certificate pinned. */
static peer_connect_options_t wss_options(const char *url, const uint8_t fingerprint[32]) {
    peer_connect_options_t options;
    peer_connect_options_default(&options, sizeof options);
    options.transport = PEER_TRANSPORT_WSS;
    options.address = url;
    options.app_id = "demo";
    options.pin = PEER_PIN_NONE;
    options.pin_certificate = 1;
    memcpy(options.certificate_fingerprint, fingerprint, 32);
    return options;
}

static void wss_arguments_refused(const char *url, const uint8_t fingerprint[32]) {
    host h = {0};
    peer_t *peer = make_peer(&h, 1, NULL);
    peer_connect_options_t options = wss_options(url, fingerprint);

    options.address = address; /* host:port, not a URL */
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ADDRESS, "WSS wants a URL");
    CHECK(contains(peer_last_error(), "wss://"), "the error shows the form");
    options.address = "ws://127.0.0.1:9/";
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ADDRESS, "plain ws:// refused");
    CHECK(contains(peer_last_error(), "plain WebSocket"), "the error says why");
    options.address = "wss://user:pw@127.0.0.1:9/";
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ADDRESS, "credentials in the URL refused");
    options.address = url;

    options.pin_certificate = 2;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "pin_certificate 2");
    CHECK(contains(peer_last_error(), "pin_certificate is 2"), "named");
    options.pin_certificate = 1;
    options.ca_file = "/nonexistent/ca.pem";
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "a CA file and a pin at once");
    CHECK(contains(peer_last_error(), "both set"), "the error says so");
    options.pin_certificate = 0;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "an unreadable CA file");
    CHECK(contains(peer_last_error(), "cannot read the CA file /nonexistent/ca.pem"), "named with its path");
    options.ca_file = "";
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "an empty CA path");
    options.ca_file = NULL;
    options.pin_certificate = 1;

    options.pin = PEER_PIN_KEY;
    memcpy(options.server_public_key, key, 32);
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "a Noise pin over WSS");
    CHECK(contains(peer_last_error(), "cannot be checked over WSS"), "the error says why");
    options.pin = PEER_PIN_AS_CONFIGURED; /* this peer's config has no pin: allowed */

    options.reserved_2[3] = 1;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "reserved_2 must be zero");
    options.reserved_2[3] = 0;
    options.auth_once = 2;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "auth_once 2");
    options.auth_once = 1;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "auth_once over WSS");
    CHECK(contains(peer_last_error(), "auth_once is for UDP and TCP"), "the error says why");
    options.transport = PEER_TRANSPORT_TCP;
    options.address = address;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "auth_once without credentials");
    CHECK(contains(peer_last_error(), "holds none"), "the error says why");

    uint8_t ready = 7;
    CHECK(peer_has_auth_once(peer, NULL) == PEER_RESULT_NULL_PARAMETER, "peer_has_auth_once: NULL out");
    CHECK(peer_has_auth_once(NULL, &ready) != PEER_RESULT_OK && ready == 7, "peer_has_auth_once: NULL peer");
    CHECK(peer_has_auth_once(peer, &ready) == PEER_RESULT_OK && ready == 0, "no credentials yet");
    peer_auth_values_t *values = NULL;
    CHECK(peer_auth_values_new(PEER_AUTH_NONE, &values) == PEER_RESULT_OK, "values");
    CHECK(peer_auth_values_set_expected_protocol(NULL, PEER_TRANSPORT_UDP) == PEER_RESULT_NULL_PARAMETER,
          "expected protocol: NULL values");
    CHECK(peer_auth_values_set_expected_protocol(values, PEER_TRANSPORT_WSS) == PEER_RESULT_INVALID_ARGUMENT,
          "expected protocol: only UDP or TCP");
    CHECK(contains(peer_last_error(), "PEER_TRANSPORT_UDP (0) or PEER_TRANSPORT_TCP (1)"), "the error says which");
    peer_auth_values_free(values);
    CHECK(h.status_count == 0, "nothing refused at the call started a connection");
    peer_destroy(peer);
}

/* Over WSS with the pinned certificate, a room and an encrypted event; a wrong pin gives 1022; then
 * AuthOnceWss: anonymous authentication over WSS naming UDP, and a UDP connection that the key
 * exchange authenticates. */
static void over_wss(void) {
    const char *url = getenv("SEALNET_SERVER_WSS_URL");
    uint8_t fingerprint[32];
    if (!url || !url[0] || !parse_hex32(getenv("SEALNET_SERVER_WSS_FINGERPRINT"), fingerprint)) {
        fprintf(stderr, "FAIL: SEALNET_SERVER_WSS_URL and SEALNET_SERVER_WSS_FINGERPRINT are not set\n");
        failed++;
        return;
    }
    wss_arguments_refused(url, fingerprint);

    host h = {0};
    peer_t *peer = make_peer(&h, 1, NULL);
    peer_connect_options_t options = wss_options(url, fingerprint);
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "a WSS connect starts");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "1048 over WSS");
    CHECK(h.status_count == 2 && h.statuses[0] == PEER_STATUS_CONNECT, "Connect, then EncryptionEstablished");
    uint32_t state = 0;
    CHECK(peer_state(peer, &state) == PEER_RESULT_OK && state == PEER_STATE_ENCRYPTED, "the state is Encrypted");
    peer_stats_t stats;
    CHECK(peer_get_stats(peer, &stats, sizeof stats) == PEER_RESULT_OK && stats.protocol_version == 4,
          "version 4 over WSS");
    CHECK(peer_establish_encryption(peer) == PEER_RESULT_OK, "establishing encryption is a no-op");
    uint8_t server_key_out[32];
    CHECK(peer_server_public_key(peer, server_key_out) == PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED,
          "no Noise key over WSS");
    join(peer, &h, "c-wss-room");
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_i32(params, 244, 5);
    peer_params_put_string(params, 245, "to myself over WSS", strlen("to myself over WSS"));
    peer_params_put_i32(params, 246, 1); /* ReceiverGroup.All: the sender gets it back */
    peer_send_options_t encrypted = {sizeof(peer_send_options_t), PEER_DELIVERY_MODE_RELIABLE, 1, 0, 0};
    CHECK(peer_send_operation(peer, 253, params, &encrypted) == PEER_RESULT_OK, "an encrypted send over WSS");
    peer_params_free(params);
    CHECK(service_until_count(peer, &h.events, 1), "the event comes back");
    CHECK(h.encrypted_events == 1 && strcmp(h.last_text, "to myself over WSS") == 0, "encrypted, intact");
    peer_disconnect(peer);
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "a clean disconnect");

    /* A wrong fingerprint: SecurityExceptionOnConnect, then Disconnect. */
    h.status_count = 0;
    options.certificate_fingerprint[31] ^= 0x80;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "connect with a wrong fingerprint");
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "it ends");
    CHECK(h.statuses[0] == PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT, "with 1022 first");
    /* The system's trust store does not know the development certificate either. */
    h.status_count = 0;
    options.pin_certificate = 0;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "connect checking the system's trust store");
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "it ends");
    CHECK(h.statuses[0] == PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT, "with 1022 first");

    /* AuthOnceWss: authenticate over WSS asking for a secret for UDP. */
    const char *udp_address = getenv("SEALNET_SERVER_UDP_ADDR");
    peer_auth_values_t *values = NULL;
    CHECK(peer_auth_values_new(PEER_AUTH_NONE, &values) == PEER_RESULT_OK, "anonymous values");
    CHECK(peer_auth_values_set_expected_protocol(values, PEER_TRANSPORT_UDP) == PEER_RESULT_OK, "for UDP");
    options = wss_options(url, fingerprint);
    options.auth = values;
    h.status_count = 0;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "WSS with authentication");
    peer_auth_values_free(values); /* copied by the connect */
    int16_t code = -1;
    state = PEER_AUTH_STATE_NONE;
    for (int i = 0; i < 300 && state != PEER_AUTH_STATE_AUTHENTICATED; i++) {
        peer_service(peer, NULL);
        peer_get_auth_state(peer, &state, &code);
        if (state == PEER_AUTH_STATE_FAILED) break;
        peer_wait(peer, 20);
    }
    CHECK(state == PEER_AUTH_STATE_AUTHENTICATED, "authenticated over WSS");
    uint8_t ready = 0;
    CHECK(peer_has_auth_once(peer, &ready) == PEER_RESULT_OK && ready == 1, "the peer holds the credentials");
    peer_disconnect(peer);
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "WSS ends");

    peer_connect_options_t udp;
    peer_connect_options_default(&udp, sizeof udp);
    udp.transport = PEER_TRANSPORT_UDP;
    udp.address = udp_address;
    udp.app_id = "demo";
    udp.pin = PEER_PIN_KEY;
    memcpy(udp.server_public_key, key, 32);
    udp.auth_once = 1;
    h.status_count = 0;
    CHECK(udp_address && udp_address[0] && peer_connect_with(peer, &udp) == PEER_RESULT_OK, "UDP with auth_once");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "the psk key exchange completes");
    CHECK(peer_get_auth_state(peer, &state, &code) == PEER_RESULT_OK && state == PEER_AUTH_STATE_AUTHENTICATED,
          "authenticated by the key exchange alone");
    peer_disconnect(peer);
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "UDP ends");
    peer_destroy(peer);
}

/* A UDP connection to the server's UDP address (version 3), when it has one; else only the attempt,
 * which a disconnect ends. The peer is disconnected and its statuses cleared afterwards. */
static void over_udp(peer_t *peer, host *h, peer_connect_options_t *options) {
    const char *udp_address = getenv("SEALNET_SERVER_UDP_ADDR");
    const int server_has_udp = udp_address != NULL && udp_address[0] != '\0';
    peer_connect_options_t udp = *options;
    udp.transport = PEER_TRANSPORT_UDP;
    udp.pin = PEER_PIN_KEY;
    memcpy(udp.server_public_key, key, 32);
    if (server_has_udp) udp.address = udp_address;
    CHECK(peer_connect_with(peer, &udp) == PEER_RESULT_OK, "a UDP connect starts");
    if (server_has_udp) {
        CHECK(service_until_status(peer, h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "encrypted over UDP");
        peer_stats_t stats;
        CHECK(peer_get_stats(peer, &stats, sizeof stats) == PEER_RESULT_OK && stats.protocol_version == 3,
              "version 3 over UDP");
    } else {
        fprintf(stderr, "    (the server has no UDP address: only the UDP attempt is checked)\n");
    }
    peer_disconnect(peer);
    CHECK(service_until_status(peer, h, PEER_STATUS_DISCONNECT), "the UDP connection ends on disconnect");
    h->status_count = 0;
}

static void connection_options_and_stats(void) {
    host h = {0};
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_event;
    config.user_data = &h;
    config.ping_interval_ms = 20;
    config.pin_server_key = 1; /* a pin the options below override */
    memset(config.server_public_key, 0x11, 32);
    peer_t *peer = NULL;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_OK, "peer for options");

    peer_connect_options_t options;
    CHECK(peer_connect_options_default(&options, sizeof options) == PEER_RESULT_OK, "connect options defaults");
    CHECK(options.transport == PEER_TRANSPORT_TCP && options.pin == PEER_PIN_AS_CONFIGURED, "defaults: TCP, pin");
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_NULL_PARAMETER, "address and app id are required");
    options.address = address;
    options.app_id = "demo";
    options.transport = 4; /* plain WebSocket in Photon's numbering: not offered */
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "unavailable transport refused");
    CHECK(contains(peer_last_error(), "transport 4 is not available"), "the error names the transport");
    over_udp(peer, &h, &options);
    options.transport = PEER_TRANSPORT_TCP;
    options.app_version = "a-game-version-string-of-33-bytes";
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_INVALID_ARGUMENT, "app version over 32 bytes");

    /* The configured pin is wrong; this connection pins the real key instead. */
    options.app_version = "my-game 1.4.2";
    options.pin = PEER_PIN_KEY;
    memcpy(options.server_public_key, key, 32);
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "connect with options");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_ESTABLISHED), "per-connection pin accepted");

    /* Round-trip time, counters and the server clock, from the 20 ms pings. */
    peer_stats_t first, later;
    int known = 0;
    for (int i = 0; i < 250 && !known; i++) {
        peer_wait(peer, 20);
        peer_service(peer, NULL);
        known = peer_get_stats(peer, &first, sizeof first) == PEER_RESULT_OK && first.rtt_known &&
                first.server_time_known;
    }
    CHECK(known, "round-trip time and server time become known");
    CHECK(first.protocol_version == 2, "version 2 negotiated");
    CHECK(first.rtt_ms < 1000 && first.rtt_variance_ms < 1000, "loopback round trip is short");
    CHECK(first.bytes_sent > 0 && first.bytes_received > 0 && first.frames_sent > 1 && first.frames_received > 1,
          "traffic counted");
    int advanced = 0;
    for (int i = 0; i < 250 && !advanced; i++) {
        peer_wait(peer, 20);
        peer_service(peer, NULL);
        peer_get_stats(peer, &later, sizeof later);
        advanced = later.frames_received > first.frames_received && later.server_time_ms > first.server_time_ms;
    }
    CHECK(advanced, "counters and the server clock advance");
    CHECK(later.bytes_received > first.bytes_received, "bytes received grow");
    peer_disconnect(peer);
    CHECK(service_until_status(peer, &h, PEER_STATUS_DISCONNECT), "disconnected");

    /* Reconnect with a wrong per-connection pin: the key exchange fails with 1049. */
    h.status_count = 0;
    options.server_public_key[0] ^= 1;
    CHECK(peer_connect_with(peer, &options) == PEER_RESULT_OK, "reconnect with a wrong pin");
    CHECK(service_until_status(peer, &h, PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH), "wrong pin: 1049");
    peer_destroy(peer);
}

/* ---- every value type through the server ---- */

typedef struct {
    host base;
    int received;
    int mismatches;
} typed_host;

static void on_typed_event(void *user_data, const peer_event_t *event) {
    typed_host *h = user_data;
    if (event->code == 5) h->base.events++;
    if (event->code != 42) return;
    peer_value_t data;
    if (peer_params_get(event->params, 245, &data) == PEER_RESULT_OK && data.type == PEER_VALUE_TYPE_MAP) {
        h->mismatches += check_all_types(data.map, stderr);
    } else {
        h->mismatches++;
    }
    h->received++;
}

static peer_t *typed_peer(typed_host *h, uint8_t max_version) {
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_typed_event;
    config.user_data = h;
    config.max_protocol_version = max_version;
    peer_t *peer = NULL;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_OK, "typed peer");
    CHECK(peer_connect(peer, address, "demo") == PEER_RESULT_OK, "typed peer connects");
    CHECK(service_until_status(peer, &h->base, PEER_STATUS_ENCRYPTION_ESTABLISHED), "typed peer encrypted");
    return peer;
}

static uint32_t raise_all_types(peer_t *peer, int to_all) {
    peer_params_t *params = NULL, *data = NULL;
    peer_params_new(&params);
    peer_params_new(&data);
    uint32_t result = put_all_types(data);
    CHECK(result == PEER_RESULT_OK, "all types built");
    peer_value_t map = {0};
    map.type = PEER_VALUE_TYPE_MAP;
    map.map = data;
    peer_params_put_i32(params, 244, 42);
    if (to_all) peer_params_put_i32(params, 246, 1);
    CHECK(peer_params_put(params, 245, &map) == PEER_RESULT_OK, "data stored");
    peer_send_options_t options;
    peer_send_options_default(&options, sizeof options);
    options.encrypt = 1;
    result = peer_send_operation(peer, 253, params, &options);
    peer_params_free(data);
    peer_params_free(params);
    return result;
}

static void every_type_through_the_server(void) {
    typed_host h = {0};
    peer_t *peer = typed_peer(&h, 0);
    join(peer, &h.base, "types-room");
    CHECK(raise_all_types(peer, 1) == PEER_RESULT_OK, "raised to everyone, itself included");
    CHECK(service_until_count(peer, &h.received, 1), "the event came back");
    CHECK(h.mismatches == 0, "every value read back with its type");

    /* A version-1 peer: no version-2 types, named in the error, and no server clock. */
    typed_host old = {0};
    peer_t *v1 = typed_peer(&old, 1);
    peer_stats_t stats;
    CHECK(peer_get_stats(v1, &stats, sizeof stats) == PEER_RESULT_OK && stats.protocol_version == 1, "version 1");
    join(v1, &old.base, "types-room");
    CHECK(raise_all_types(v1, 0) == PEER_RESULT_NEEDS_PROTOCOL_VERSION, "version-2 types refused on version 1");
    CHECK(contains(peer_last_error(), "needs protocol version 2; this connection speaks version 1"), "named");
    /* Sent by the version-2 peer, the event skips the version-1 member rather than break it. */
    CHECK(raise_all_types(peer, 0) == PEER_RESULT_OK, "raised to others");
    /* Events reach a member in order: once a later version-1 event is in, the first was skipped. */
    CHECK(raise_text(peer, "after", 1) == PEER_RESULT_OK, "a version-1 event after it");
    CHECK(service_until_count(v1, &old.base.events, 1), "the version-1 member gets the later event");
    CHECK(old.received == 0, "but not the one it cannot read");
    CHECK(peer_get_stats(v1, &stats, sizeof stats) == PEER_RESULT_OK && !stats.server_time_known,
          "no server clock on version 1");
    uint8_t too_new = 3;
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.max_protocol_version = too_new;
    peer_t *refused = NULL;
    CHECK(peer_create(&config, &refused) == PEER_RESULT_INVALID_ARGUMENT, "a version this library lacks");
    CHECK(contains(peer_last_error(), "this library speaks 1 to 2"), "the error gives the range");
    peer_destroy(v1);
    peer_destroy(peer);
}

static void limits_refused_when_built(void) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    size_t long_len = 65537;
    char *long_text = malloc(long_len);
    memset(long_text, 'x', long_len);
    peer_value_t value = {0};
    value.type = PEER_VALUE_TYPE_STRING;
    value.data = long_text;
    value.len = long_len;
    CHECK(peer_params_put(params, 1, &value) == PEER_RESULT_PARAMS_TOO_LARGE, "string over the limit");
    CHECK(contains(peer_last_error(), "65536"), "the error names the limit");
    value.len = 65536;
    CHECK(peer_params_put(params, 1, &value) == PEER_RESULT_OK, "string at the limit");
    free(long_text);

    peer_value_t byte = {0};
    byte.type = PEER_VALUE_TYPE_BYTE;
    byte.integer = 256;
    CHECK(peer_params_put(params, 2, &byte) == PEER_RESULT_INVALID_ARGUMENT, "byte out of range");
    CHECK(contains(peer_last_error(), "does not fit a byte"), "range named");
    peer_value_t unknown = {0};
    unknown.type = 99;
    CHECK(peer_params_put(params, 2, &unknown) == PEER_RESULT_INVALID_ARGUMENT, "unknown type");
    peer_value_t dangling = {0};
    dangling.type = PEER_VALUE_TYPE_INT_ARRAY;
    dangling.len = 3;
    CHECK(peer_params_put(params, 2, &dangling) == PEER_RESULT_NULL_PARAMETER, "elements without data");

    peer_array_t *strings = NULL;
    CHECK(peer_array_new(PEER_VALUE_TYPE_INT, &strings) == PEER_RESULT_INVALID_ARGUMENT, "no int array object");
    CHECK(peer_array_new(PEER_VALUE_TYPE_STRING_ARRAY, &strings) == PEER_RESULT_OK, "string array");
    peer_value_t number = {0};
    number.type = PEER_VALUE_TYPE_INT;
    CHECK(peer_array_push(strings, &number) == PEER_RESULT_TYPE_MISMATCH, "a string array takes strings only");
    peer_array_free(strings);

    peer_table_t *table = NULL;
    peer_table_new(&table);
    peer_value_t real_key = {0};
    real_key.type = PEER_VALUE_TYPE_DOUBLE;
    CHECK(peer_table_put(table, &real_key, &number) == PEER_RESULT_TYPE_MISMATCH, "a double is no table key");

    /* Nesting deeper than the decoder allows is refused at the level that breaks it. */
    peer_params_t *inner = NULL;
    peer_params_new(&inner);
    uint32_t result = PEER_RESULT_OK;
    int depth = 1;
    for (; depth < 64 && result == PEER_RESULT_OK; depth++) {
        peer_params_t *outer = NULL;
        peer_params_new(&outer);
        peer_value_t nested = {0};
        nested.type = PEER_VALUE_TYPE_MAP;
        nested.map = inner;
        result = peer_params_put(outer, 1, &nested);
        peer_params_free(inner);
        inner = outer;
    }
    CHECK(result == PEER_RESULT_PARAMS_TOO_LARGE && depth < 64, "too deep refused while building");
    CHECK(contains(peer_last_error(), "maximum depth of 8"), "depth named");
    peer_params_free(inner);

    /* A dictionary put into itself holds a copy of what it held before the call. */
    peer_params_t *self_ref = NULL;
    peer_params_new(&self_ref);
    peer_params_put_i32(self_ref, 1, 7);
    peer_value_t itself = {0};
    itself.type = PEER_VALUE_TYPE_MAP;
    itself.map = self_ref;
    CHECK(peer_params_put(self_ref, 2, &itself) == PEER_RESULT_OK, "a dictionary put into itself");
    peer_value_t copy;
    size_t copied = 0;
    CHECK(peer_params_get(self_ref, 2, &copy) == PEER_RESULT_OK && peer_params_count(copy.map, &copied) == 0 &&
              copied == 1,
          "the copy holds the entries from before the call");
    peer_params_free(self_ref);

    /* Host arrays need not be aligned; a wrong length is refused before anything is read. */
    uint8_t unaligned[1 + 3 * sizeof(int32_t)];
    const int32_t three[3] = {-1, 2, 70000};
    memcpy(unaligned + 1, three, sizeof three);
    peer_value_t odd = {0};
    odd.type = PEER_VALUE_TYPE_INT_ARRAY;
    odd.data = unaligned + 1;
    odd.len = 3;
    CHECK(peer_params_put(params, 4, &odd) == PEER_RESULT_OK, "an unaligned int array is copied");
    peer_value_t back;
    CHECK(peer_params_get(params, 4, &back) == PEER_RESULT_OK && back.len == 3 &&
              memcmp(back.data, three, sizeof three) == 0,
          "and reads back equal");
    peer_value_t wild = {0};
    wild.type = PEER_VALUE_TYPE_DOUBLE_ARRAY;
    wild.data = three; /* far fewer bytes than claimed: never read */
    wild.len = (size_t)1 << 40;
    CHECK(peer_params_put(params, 5, &wild) == PEER_RESULT_PARAMS_TOO_LARGE, "a wild length is refused");
    CHECK(contains(peer_last_error(), "exceeds the limit of 262144"), "naming the limit");
    wild.type = PEER_VALUE_TYPE_STRING;
    CHECK(peer_params_put(params, 5, &wild) == PEER_RESULT_PARAMS_TOO_LARGE, "for strings too");

    /* The older typed reader still reads a packed int array. */
    const int32_t ints[] = {4, 5, 6};
    peer_value_t packed = {0};
    packed.type = PEER_VALUE_TYPE_INT_ARRAY;
    packed.data = ints;
    packed.len = 3;
    int32_t out[3] = {0};
    size_t count = 0;
    CHECK(peer_params_put(params, 3, &packed) == PEER_RESULT_OK, "packed ints");
    CHECK(peer_params_get_i32_array(params, 3, out, 3, &count) == PEER_RESULT_OK && count == 3 && out[2] == 6,
          "read with peer_params_get_i32_array");
    peer_table_free(table);
    peer_params_free(params);
}

/* ---- destroying a peer from inside its own callback ---- */

typedef struct {
    peer_t *self;
    int statuses, responses, events;
    uint32_t destroy_result;
} self_destroyer;

static void destroy_on_response(void *user_data, const peer_operation_response_t *response) {
    self_destroyer *d = user_data;
    (void)response;
    if (d->responses++ == 0) d->destroy_result = peer_destroy(d->self);
}

static void count_event(void *user_data, const peer_event_t *event) {
    ((self_destroyer *)user_data)->events++;
    (void)event;
}

static void count_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    ((self_destroyer *)user_data)->statuses++;
    (void)status;
    (void)info;
}

static void destroy_from_inside_a_callback(void) {
    self_destroyer d = {0};
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = count_status;
    config.on_operation_response = destroy_on_response;
    config.on_event = count_event;
    config.user_data = &d;
    CHECK(peer_create(&config, &d.self) == PEER_RESULT_OK, "self-destroying peer");
    CHECK(peer_connect(d.self, address, "demo") == PEER_RESULT_OK, "connects");
    for (int i = 0; i < 500 && d.statuses < 2; i++) { /* Connect, EncryptionEstablished */
        peer_wait(d.self, 20);
        peer_service(d.self, NULL);
    }
    /* Seven results (the JoinRoom response, the Join event, five more responses) are all queued
     * before the one peer_service that runs them: the first callback destroys the peer. */
    peer_stats_t stats;
    peer_get_stats(d.self, &stats, sizeof stats);
    uint64_t target = stats.frames_received + 7;
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_string(params, 255, "destroy-room", 12);
    peer_send_operation(d.self, 226, params, NULL);
    for (int i = 0; i < 5; i++) peer_send_operation(d.self, 1, NULL, NULL);
    peer_params_free(params);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        peer_wait(d.self, 20); /* returns at once while results wait: waits for the frames themselves */
        peer_get_stats(d.self, &stats, sizeof stats);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (stats.frames_received < target && now.tv_sec - start.tv_sec < 10);
    CHECK(stats.frames_received >= target, "all seven results arrived before servicing");
    int statuses = d.statuses;
    uint32_t dispatched = 0;
    CHECK(peer_service(d.self, &dispatched) == PEER_RESULT_OK, "the peer_service that ran the callback returns normally");
    CHECK(d.responses == 1 && d.destroy_result == PEER_RESULT_OK, "peer_destroy from its callback succeeds");
    CHECK(dispatched == 1 && d.events == 0 && d.statuses == statuses, "no callback after it, of any kind");
    CHECK(peer_service(d.self, NULL) == PEER_RESULT_INVALID_PEER, "the handle is gone");
    CHECK(peer_destroy(d.self) == PEER_RESULT_INVALID_PEER, "destroying twice is refused");
}

int main(void) {
    address = getenv("SEALNET_SERVER_ADDR");
    if (!address || !server_key(key)) {
        fprintf(stderr, "run through scripts/with-server.sh\n");
        return 2;
    }
    older_and_newer_layouts();
    older_and_newer_connect_options();
    connection_options_and_stats();
    over_wss();
    every_type_through_the_server();
    limits_refused_when_built();
    destroy_from_inside_a_callback();
    return report();
}
