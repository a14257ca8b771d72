/*
 * Authentication through the C ABI against a live server (docs/auth.md): values refused before anything
 * is sent, anonymous authentication right after the key exchange, the server token the peer keeps (and
 * refreshes on JoinRoom), a reconnect with that token, a saved token on a new peer, an altered token,
 * custom authentication with a session nobody logged in (refused for want of a backend, or by the
 * backend), and custom authentication through the real backend. Needs SEALNET_SERVER_ADDR and
 * SEALNET_SERVER_KEY (scripts/with-server.sh, whose server allows anonymous players and issues tokens).
 * Under `scripts/with-server.sh --backend --allow-anonymous` the server also has sealnet-backend's
 * webhook, and SEALNET_TEST_CONNECTION_TOKEN and SEALNET_TEST_NICKNAME describe a guest logged in
 * there; without them the backend case prints that it was skipped. Run under AddressSanitizer and
 * UndefinedBehaviorSanitizer; prints "N passed, N failed" last and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stddef.h>

#include "test_support.h"

/* The server's side of the contract (docs/auth.md §4). */
#define OP_AUTHENTICATE 230
#define OP_AUTHENTICATE_ONCE 231
#define OP_JOIN_ROOM 226
#define PARAM_ROOM_NAME 255
#define PARAM_USER_ID 225
#define PARAM_NICKNAME 202
#define PARAM_DATA 245
#define PARAM_TOKEN 221
#define PARAM_TOKEN_EXPIRES 198
#define RETURN_TICKET_EXPIRED 32753
#define RETURN_INVALID_AUTHENTICATION 32767
#define RETURN_CUSTOM_AUTHENTICATION_FAILED 32755
#define MAX_SERVER_TOKEN 2048

/* The header should define PEER_MAX_CONNECTION_TOKEN (src/ffi/auth.rs declares it); without it the
 * documented 128 is used and one check fails, so the gap cannot go unnoticed. */
#ifdef PEER_MAX_CONNECTION_TOKEN
#define CONNECTION_TOKEN_LIMIT PEER_MAX_CONNECTION_TOKEN
#define LIMIT_IN_HEADER 1
#else
#define CONNECTION_TOKEN_LIMIT 128
#define LIMIT_IN_HEADER 0
#endif

/* What one peer saw: the statuses (through `base`), its auth state when 1048 arrived, and the latest
 * answers to an authentication and to JoinRoom. */
typedef struct {
    host base; /* first, so the shared status callback sees a host */
    peer_t *self;
    int auth_state_checked;
    uint32_t auth_state_at_encryption;
    int auth_responses;
    uint8_t auth_op;
    int16_t auth_return_code;
    char user_id[129];
    char nickname[65];
    int data_is_table;             /* 245 a Table */
    int data_has_level_and_region; /* with the keys "level" and "region", as sealnet-backend sends */
    char debug_message[256];
    int token_type_ok; /* 221 a ByteArray and 198 a Long */
    uint8_t token[MAX_SERVER_TOKEN];
    size_t token_len;
    int64_t expires_ms;
    int join_responses;
    int16_t join_return_code;
    uint8_t join_token[MAX_SERVER_TOKEN];
    size_t join_token_len;
} auth_host;

static const char *address;
static uint8_t key[32];

static int contains(const char *text, const char *part) {
    return text != NULL && strstr(text, part) != NULL;
}

static void copy_text(char *out, size_t room, const char *text, size_t len) {
    if (text == NULL) len = 0;
    if (len >= room) len = room - 1;
    if (len > 0) memcpy(out, text, len);
    out[len] = '\0';
}

/* Whether `table` has the string key `name`. */
static int table_has(const peer_table_t *table, const char *name) {
    peer_value_t key = {0}, value;
    key.type = PEER_VALUE_TYPE_STRING;
    key.data = name;
    key.len = strlen(name);
    return peer_table_get(table, &key, &value) == PEER_RESULT_OK;
}

/* The token and expiry a response carries; 0 when it carries none of the right types. */
static int read_token(const peer_params_t *params, uint8_t *out, size_t *out_len, int64_t *out_expires) {
    uint32_t token_type = 0, expires_type = 0;
    const uint8_t *bytes;
    size_t len;
    if (peer_params_type(params, PARAM_TOKEN, &token_type) != PEER_RESULT_OK || token_type != PEER_VALUE_TYPE_BYTES)
        return 0;
    if (peer_params_type(params, PARAM_TOKEN_EXPIRES, &expires_type) != PEER_RESULT_OK ||
        expires_type != PEER_VALUE_TYPE_LONG)
        return 0;
    if (peer_params_get_bytes(params, PARAM_TOKEN, &bytes, &len) != PEER_RESULT_OK || len > MAX_SERVER_TOKEN) return 0;
    memcpy(out, bytes, len);
    *out_len = len;
    return peer_params_get_i64(params, PARAM_TOKEN_EXPIRES, out_expires) == PEER_RESULT_OK;
}

static void on_auth_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    auth_host *h = user_data;
    on_status(&h->base, status, info);
    /* The peer sends Authenticate before the host hears that encryption is up. */
    if (status == PEER_STATUS_ENCRYPTION_ESTABLISHED) {
        int16_t code;
        h->auth_state_checked = peer_get_auth_state(h->self, &h->auth_state_at_encryption, &code) == PEER_RESULT_OK;
    }
}

static void on_auth_response(void *user_data, const peer_operation_response_t *response) {
    auth_host *h = user_data;
    h->base.callbacks++;
    if (response->op_code == OP_AUTHENTICATE || response->op_code == OP_AUTHENTICATE_ONCE) {
        const char *text;
        size_t len;
        h->auth_op = response->op_code;
        h->auth_return_code = response->return_code;
        copy_text(h->debug_message, sizeof h->debug_message, response->debug_message,
                  response->debug_message ? strlen(response->debug_message) : 0);
        peer_value_t data;
        h->user_id[0] = '\0';
        if (peer_params_get_string(response->params, PARAM_USER_ID, &text, &len) == PEER_RESULT_OK)
            copy_text(h->user_id, sizeof h->user_id, text, len);
        h->nickname[0] = '\0';
        if (peer_params_get_string(response->params, PARAM_NICKNAME, &text, &len) == PEER_RESULT_OK)
            copy_text(h->nickname, sizeof h->nickname, text, len);
        h->data_is_table = peer_params_get(response->params, PARAM_DATA, &data) == PEER_RESULT_OK &&
                           data.type == PEER_VALUE_TYPE_TABLE;
        h->data_has_level_and_region =
            h->data_is_table && table_has(data.table, "level") && table_has(data.table, "region");
        h->token_len = 0;
        h->token_type_ok = read_token(response->params, h->token, &h->token_len, &h->expires_ms);
        h->auth_responses++;
    } else if (response->op_code == OP_JOIN_ROOM) {
        int64_t expires;
        h->join_return_code = response->return_code;
        h->join_token_len = 0;
        read_token(response->params, h->join_token, &h->join_token_len, &expires);
        h->join_responses++;
    }
}

static peer_t *auth_peer(auth_host *h, int auto_exchange) {
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_auth_status;
    config.on_operation_response = on_auth_response;
    config.on_event = on_event;
    config.user_data = h;
    config.auto_key_exchange = (uint8_t)auto_exchange;
    config.pin_server_key = 1;
    memcpy(config.server_public_key, key, 32);
    peer_t *peer = NULL;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_OK, "peer_create");
    h->self = peer;
    return peer;
}

static peer_auth_values_t *values_of_type(uint32_t auth_type) {
    peer_auth_values_t *values = NULL;
    CHECK(peer_auth_values_new(auth_type, &values) == PEER_RESULT_OK && values != NULL, "peer_auth_values_new");
    return values;
}

/* Connects with `values` (NULL: none), freeing them right away: the peer keeps its own copy. */
static uint32_t connect_with_values(peer_t *peer, auth_host *h, peer_auth_values_t *values) {
    peer_connect_options_t options;
    peer_connect_options_default(&options, sizeof options);
    options.address = address;
    options.app_id = "demo";
    options.auth = values;
    h->base.status_count = 0;
    h->auth_state_checked = 0;
    uint32_t result = peer_connect_with(peer, &options);
    peer_auth_values_free(values);
    return result;
}

static uint32_t auth_state(peer_t *peer, int16_t *code) {
    uint32_t state = 99;
    *code = -1;
    CHECK(peer_get_auth_state(peer, &state, code) == PEER_RESULT_OK, "peer_get_auth_state");
    return state;
}

/* Waits for the next answer to an authentication. */
static int authenticated(peer_t *peer, auth_host *h) {
    int target = h->auth_responses + 1;
    return service_until_status(peer, &h->base, PEER_STATUS_ENCRYPTION_ESTABLISHED) &&
           service_until_count(peer, &h->auth_responses, target);
}

static void join_room(peer_t *peer, auth_host *h, const char *room) {
    int target = h->join_responses + 1;
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_string(params, PARAM_ROOM_NAME, room, strlen(room));
    peer_send_options_t options;
    peer_send_options_default(&options, sizeof options);
    options.encrypt = 1;
    CHECK(peer_send_operation(peer, OP_JOIN_ROOM, params, &options) == PEER_RESULT_OK, "JoinRoom sent");
    peer_params_free(params);
    CHECK(service_until_count(peer, &h->join_responses, target), "JoinRoom answered");
    CHECK(h->join_return_code == 0, "JoinRoom succeeded");
}

static void disconnect_and_wait(peer_t *peer, auth_host *h) {
    h->base.status_count = 0;
    CHECK(peer_disconnect(peer) == PEER_RESULT_OK, "disconnect");
    CHECK(service_until_status(peer, &h->base, PEER_STATUS_DISCONNECT), "Disconnect status");
}

/* ---- values refused before anything is sent ---- */

static void refused_locally(void) {
    peer_auth_values_t *values = NULL;
    CHECK(peer_auth_values_new(7, &values) == PEER_RESULT_INVALID_ARGUMENT && values == NULL, "unknown auth type");
    CHECK(contains(peer_last_error(), "auth_type is 7"), "the error names the type");
    CHECK(peer_auth_values_new(PEER_AUTH_CUSTOM, NULL) == PEER_RESULT_NULL_PARAMETER, "NULL out-pointer");
    peer_auth_values_free(NULL); /* ignored */

    values = values_of_type(PEER_AUTH_CUSTOM);
    uint8_t token[CONNECTION_TOKEN_LIMIT + 1];
    memset(token, 'k', sizeof token);
    CHECK(peer_auth_values_set_connection_token(values, token, sizeof token) == PEER_RESULT_INVALID_ARGUMENT,
          "a 129-byte connection token is refused");
    CHECK(contains(peer_last_error(), "129") && contains(peer_last_error(), "128"),
          "the error gives the size and the limit");
    CHECK(peer_auth_values_set_connection_token(values, token, CONNECTION_TOKEN_LIMIT) == PEER_RESULT_OK,
          "128 bytes are accepted");
    CHECK(peer_auth_values_set_connection_token(values, NULL, 0) == PEER_RESULT_OK, "an empty token, NULL");
    CHECK(peer_auth_values_set_connection_token(values, NULL, 5) == PEER_RESULT_NULL_PARAMETER, "NULL with a length");
    CHECK(peer_auth_values_set_connection_token(NULL, token, 4) == PEER_RESULT_NULL_PARAMETER, "NULL values");

    char long_id[130];
    memset(long_id, 'u', 129);
    long_id[129] = '\0';
    CHECK(peer_auth_values_set_user_id(values, long_id) == PEER_RESULT_INVALID_ARGUMENT, "user id over 128 bytes");
    CHECK(contains(peer_last_error(), "129"), "the user id error gives the size");
    long_id[128] = '\0';
    CHECK(peer_auth_values_set_user_id(values, long_id) == PEER_RESULT_OK, "user id of 128 bytes");
    CHECK(peer_auth_values_set_user_id(values, "") == PEER_RESULT_OK, "an empty user id clears it");

    CHECK(peer_auth_values_add_param(values, "", "x") == PEER_RESULT_INVALID_ARGUMENT, "empty parameter key");
    int added = 1;
    for (int i = 0; i < 32; i++) {
        char name[16];
        snprintf(name, sizeof name, "key%d", i);
        added &= peer_auth_values_add_param(values, name, "value") == PEER_RESULT_OK;
    }
    CHECK(added, "32 parameters");
    CHECK(peer_auth_values_add_param(values, "key0", "replaced") == PEER_RESULT_OK, "replacing one is no addition");
    CHECK(peer_auth_values_add_param(values, "key32", "value") == PEER_RESULT_INVALID_ARGUMENT, "a 33rd parameter");
    CHECK(contains(peer_last_error(), "32"), "the error gives the limit");

    uint8_t data[1025] = {0};
    CHECK(peer_auth_values_set_data(values, data, sizeof data) == PEER_RESULT_INVALID_ARGUMENT, "data over 1024 bytes");
    CHECK(peer_auth_values_set_data(values, data, 1024) == PEER_RESULT_OK, "1024 bytes of data");
    static uint8_t big_token[MAX_SERVER_TOKEN + 1];
    CHECK(peer_auth_values_set_token(values, big_token, sizeof big_token) == PEER_RESULT_INVALID_ARGUMENT,
          "a server token over 2048 bytes");
    CHECK(contains(peer_last_error(), "2049"), "the token error gives the size");
    peer_auth_values_free(values);

    CHECK(LIMIT_IN_HEADER && CONNECTION_TOKEN_LIMIT == 128, "the header defines PEER_MAX_CONNECTION_TOKEN as 128");
}

/* ---- anonymous, the kept token, its refresh on JoinRoom, and a reconnect with it ---- */

static void anonymous_then_token(uint8_t *saved, size_t *saved_len, char *saved_user) {
    auth_host h = {0};
    peer_t *peer = auth_peer(&h, 1);
    int16_t code;
    uint8_t buffer[MAX_SERVER_TOKEN];
    size_t len = 0;
    int64_t expires = 0;
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_NONE && code == 0, "a fresh peer: state NONE");
    CHECK(peer_get_server_token(peer, buffer, sizeof buffer, &len, &expires) == PEER_RESULT_NOT_FOUND,
          "a fresh peer holds no token");
    CHECK(peer_get_server_token(peer, NULL, 0, NULL, NULL) == PEER_RESULT_NULL_PARAMETER, "NULL length slot");

    /* Step 1: anonymous; the peer authenticates by itself after the key exchange. */
    CHECK(connect_with_values(peer, &h, values_of_type(PEER_AUTH_NONE)) == PEER_RESULT_OK, "connect anonymously");
    CHECK(authenticated(peer, &h), "the Authenticate response arrives");
    CHECK(h.base.statuses[0] == PEER_STATUS_CONNECT && h.base.statuses[1] == PEER_STATUS_ENCRYPTION_ESTABLISHED,
          "Connect then EncryptionEstablished");
    CHECK(h.auth_state_checked &&
              (h.auth_state_at_encryption == PEER_AUTH_STATE_PENDING ||
               h.auth_state_at_encryption == PEER_AUTH_STATE_AUTHENTICATED),
          "Authenticate was on its way when the host heard 1048");
    CHECK(h.auth_op == OP_AUTHENTICATE && h.auth_return_code == 0, "op 230 answered with 0");
    CHECK(strncmp(h.user_id, "anonymous-", 10) == 0, "an anonymous user id (225)");
    CHECK(h.token_type_ok && h.token_len > 0, "a token (221, ByteArray) and its expiry (198, Long)");
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_AUTHENTICATED && code == 0, "state AUTHENTICATED");

    CHECK(peer_get_server_token(peer, NULL, 0, &len, &expires) == PEER_RESULT_OK, "size query, capacity 0");
    CHECK(len == h.token_len && expires == h.expires_ms, "length and expiry of the response's token");
    memset(buffer, 0xEE, sizeof buffer);
    size_t untouched_len = 12345;
    int64_t untouched_expires = -7;
    CHECK(peer_get_server_token(peer, buffer, h.token_len - 1, &untouched_len, &untouched_expires) ==
              PEER_RESULT_BUFFER_TOO_SMALL,
          "one byte short: BUFFER_TOO_SMALL");
    int clean = untouched_len == h.token_len && untouched_expires == -7;
    for (size_t i = 0; i < sizeof buffer; i++) clean &= buffer[i] == 0xEE;
    CHECK(clean, "only the needed length is written when the buffer is too small");
    CHECK(peer_get_server_token(peer, buffer, sizeof buffer, &len, NULL) == PEER_RESULT_OK, "the token, no expiry");
    CHECK(len == h.token_len && memcmp(buffer, h.token, len) == 0, "the bytes the response carried");
    memcpy(saved, buffer, len);
    *saved_len = len;
    strcpy(saved_user, h.user_id);

    /* Step 2: JoinRoom brings a fresh token, which the peer keeps. */
    join_room(peer, &h, "auth-c-room");
    CHECK(h.join_token_len > 0, "the JoinRoom response carries a token");
    CHECK(peer_get_server_token(peer, buffer, sizeof buffer, &len, &expires) == PEER_RESULT_OK, "token after join");
    CHECK(len == h.join_token_len && memcmp(buffer, h.join_token, len) == 0, "the peer keeps the join's token");
    CHECK(len != *saved_len || memcmp(buffer, saved, len) != 0, "a different token than before");

    /* Step 3: reconnect with PEER_AUTH_TOKEN and no token of its own: the kept one is presented. */
    disconnect_and_wait(peer, &h);
    CHECK(peer_get_server_token(peer, NULL, 0, &len, NULL) == PEER_RESULT_OK && len == h.join_token_len,
          "the token outlives the connection");
    CHECK(connect_with_values(peer, &h, values_of_type(PEER_AUTH_TOKEN)) == PEER_RESULT_OK, "reconnect with TOKEN");
    CHECK(authenticated(peer, &h), "the AuthenticateOnce response arrives");
    CHECK(h.auth_op == OP_AUTHENTICATE_ONCE && h.auth_return_code == 0, "op 231 answered with 0");
    CHECK(strcmp(h.user_id, saved_user) == 0, "the same user id");
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_AUTHENTICATED, "state AUTHENTICATED again");

    /* A connection without values is not authenticated, and the token stays. */
    disconnect_and_wait(peer, &h);
    int responses = h.auth_responses;
    CHECK(connect_with_values(peer, &h, NULL) == PEER_RESULT_OK, "reconnect without values");
    CHECK(service_until_status(peer, &h.base, PEER_STATUS_ENCRYPTION_ESTABLISHED), "encrypted");
    join_room(peer, &h, "auth-c-room");
    CHECK(h.auth_responses == responses, "no authentication was sent");
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_NONE && code == 0, "state NONE");
    peer_destroy(peer);
}

/* ---- step 4: a saved token on a new peer, and an altered one ---- */

static void saved_and_altered_tokens(const uint8_t *saved, size_t saved_len, const char *saved_user) {
    auth_host h = {0};
    peer_t *peer = auth_peer(&h, 1);
    peer_auth_values_t *values = values_of_type(PEER_AUTH_TOKEN);
    CHECK(peer_auth_values_set_token(values, saved, saved_len) == PEER_RESULT_OK, "set the saved token");
    CHECK(connect_with_values(peer, &h, values) == PEER_RESULT_OK, "connect with it");
    CHECK(authenticated(peer, &h), "answered");
    CHECK(h.auth_op == OP_AUTHENTICATE_ONCE && h.auth_return_code == 0, "a saved token admits the player");
    CHECK(strcmp(h.user_id, saved_user) == 0, "as the same user");
    int16_t code;
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_AUTHENTICATED, "AUTHENTICATED");
    peer_destroy(peer);

    auth_host bad = {0};
    peer = auth_peer(&bad, 1);
    uint8_t altered[MAX_SERVER_TOKEN];
    memcpy(altered, saved, saved_len);
    altered[saved_len / 2] ^= 0x01; /* inside the ciphertext: the tag no longer matches */
    values = values_of_type(PEER_AUTH_TOKEN);
    CHECK(peer_auth_values_set_token(values, altered, saved_len) == PEER_RESULT_OK, "set the altered token");
    CHECK(connect_with_values(peer, &bad, values) == PEER_RESULT_OK, "connect with it");
    CHECK(authenticated(peer, &bad), "answered");
    CHECK(bad.auth_return_code == RETURN_TICKET_EXPIRED, "an altered token gets 32753");
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_FAILED && code == RETURN_TICKET_EXPIRED,
          "state FAILED with 32753");
    size_t len;
    CHECK(peer_get_server_token(peer, NULL, 0, &len, NULL) == PEER_RESULT_NOT_FOUND, "a refused token is not kept");

    /* A token authentication with no token at all is refused at the call. */
    disconnect_and_wait(peer, &bad);
    CHECK(connect_with_values(peer, &bad, values_of_type(PEER_AUTH_TOKEN)) == PEER_RESULT_INVALID_ARGUMENT,
          "TOKEN without any token");
    CHECK(contains(peer_last_error(), "needs a server token"), "the error says what is missing");
    peer_destroy(peer);
}

/* ---- step 5: custom authentication with a session nobody logged in ---- */

/* Without a backend the server refuses custom authentication itself (32767); with sealnet-backend's
 * webhook (scripts/with-server.sh --backend, which sets SEALNET_BACKEND_ADDR) the backend finds no such
 * session and rejects the player with its message (32755). */
static void custom_with_an_unknown_session(void) {
    const int backend = getenv("SEALNET_BACKEND_ADDR") != NULL;
    const int16_t expected = backend ? RETURN_CUSTOM_AUTHENTICATION_FAILED : RETURN_INVALID_AUTHENTICATION;
    auth_host h = {0};
    peer_t *peer = auth_peer(&h, 1);
    peer_auth_values_t *values = values_of_type(PEER_AUTH_CUSTOM);
    const uint8_t session[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const uint8_t data[3] = {0xCA, 0xFE, 0x00};
    CHECK(peer_auth_values_set_connection_token(values, session, sizeof session) == PEER_RESULT_OK, "token");
    CHECK(peer_auth_values_set_user_id(values, "player-7") == PEER_RESULT_OK, "user id");
    CHECK(peer_auth_values_add_param(values, "lobby", "eu") == PEER_RESULT_OK, "parameter");
    CHECK(peer_auth_values_set_data(values, data, sizeof data) == PEER_RESULT_OK, "data");
    CHECK(connect_with_values(peer, &h, values) == PEER_RESULT_OK, "connect with custom values");
    CHECK(authenticated(peer, &h), "answered");
    CHECK(h.auth_op == OP_AUTHENTICATE && h.auth_return_code == expected,
          backend ? "an unknown session, through the backend: 32755" : "no backend: 32767");
    CHECK(contains(h.debug_message, backend ? "Session expired" : "no authentication backend"), "the message says why");
    int16_t code;
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_FAILED && code == expected, "state FAILED with that code");
    size_t len;
    CHECK(peer_get_server_token(peer, NULL, 0, &len, NULL) == PEER_RESULT_NOT_FOUND, "no token");
    peer_destroy(peer);
}

/* ---- step 6: custom authentication through the real backend ---- */

/* Hex digits into bytes; the count, or -1 for an odd length, a bad digit or more than `cap` bytes. */
static long hex_bytes(const char *hex, uint8_t *out, size_t cap) {
    size_t len = strlen(hex);
    if (len % 2 || len / 2 > cap) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        out[i] = (uint8_t)byte;
    }
    return (long)(len / 2);
}

static void custom_through_the_backend(void) {
    const char *token_hex = getenv("SEALNET_TEST_CONNECTION_TOKEN");
    const char *nickname = getenv("SEALNET_TEST_NICKNAME");
    if (!token_hex) {
        printf("skipped: custom authentication through the backend (SEALNET_TEST_CONNECTION_TOKEN is not set; "
               "run under scripts/with-server.sh --backend --allow-anonymous)\n");
        return;
    }
    CHECK(nickname != NULL, "SEALNET_TEST_NICKNAME is set with the token");
    uint8_t token[CONNECTION_TOKEN_LIMIT];
    long token_len = hex_bytes(token_hex, token, sizeof token);
    CHECK(token_len >= 16, "SEALNET_TEST_CONNECTION_TOKEN: hex of a session's 16 bytes and flags");
    if (token_len < 16 || !nickname) return;

    auth_host h = {0};
    peer_t *peer = auth_peer(&h, 1);
    peer_auth_values_t *values = values_of_type(PEER_AUTH_CUSTOM);
    CHECK(peer_auth_values_set_connection_token(values, token, (size_t)token_len) == PEER_RESULT_OK, "token");
    CHECK(connect_with_values(peer, &h, values) == PEER_RESULT_OK, "connect with the session's token");
    CHECK(authenticated(peer, &h), "the Authenticate response arrives");
    CHECK(h.auth_op == OP_AUTHENTICATE && h.auth_return_code == 0, "op 230 answered with 0");
    if (h.auth_return_code != 0) fprintf(stderr, "  the server said: %s\n", h.debug_message);
    CHECK(strcmp(h.nickname, nickname) == 0, "the nickname (202) is the guest's display name");
    CHECK(h.user_id[0] != '\0' && strncmp(h.user_id, "anonymous-", 10) != 0, "the backend's user id (225)");
    CHECK(h.data_is_table, "the backend's data (245) is a table");
    CHECK(h.data_has_level_and_region, "with the keys \"level\" and \"region\"");
    CHECK(h.token_type_ok && h.token_len > 0, "a token (221) and its expiry (198)");
    int16_t code;
    CHECK(auth_state(peer, &code) == PEER_AUTH_STATE_AUTHENTICATED && code == 0, "state AUTHENTICATED");
    size_t len = 0;
    CHECK(peer_get_server_token(peer, NULL, 0, &len, NULL) == PEER_RESULT_OK && len == h.token_len,
          "the peer holds the server token");
    peer_destroy(peer);
}

/* ---- values need the automatic key exchange ---- */

static void values_need_the_automatic_key_exchange(void) {
    auth_host h = {0};
    peer_t *peer = auth_peer(&h, 0);
    uint32_t result = connect_with_values(peer, &h, values_of_type(PEER_AUTH_NONE));
    CHECK(result != PEER_RESULT_OK, "refused with auto_key_exchange off");
    CHECK(contains(peer_last_error(), "automatic key exchange"), "the error says why");
    uint32_t state = 0;
    CHECK(peer_state(peer, &state) == PEER_RESULT_OK && state == PEER_STATE_DISCONNECTED, "nothing started");
    peer_destroy(peer);
}

int main(void) {
    address = getenv("SEALNET_SERVER_ADDR");
    if (!address || !server_key(key)) {
        fprintf(stderr, "run through scripts/with-server.sh\n");
        return 2;
    }
    uint8_t saved[MAX_SERVER_TOKEN];
    size_t saved_len = 0;
    char saved_user[129] = "";
    refused_locally();
    anonymous_then_token(saved, &saved_len, saved_user);
    if (saved_len > 0) saved_and_altered_tokens(saved, saved_len, saved_user);
    custom_with_an_unknown_session();
    custom_through_the_backend();
    values_need_the_automatic_key_exchange();
    return report();
}
