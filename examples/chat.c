/*
 * chat: a room chat over sealnet, using only include/sealnet.h.
 *
 *   chat [--server HOST:PORT|URL] [--transport udp|tcp|wss] [--pin KEY] [--certificate SHA256]
 *        [--ca-file FILE] [--app-id ID] [--room ROOM] [--name NAME] [--connection-token HEX]
 *        [--no-encryption] [--script FILE]
 *
 * The same command line as the C++ and C# chats (bindings/cpp/examples/chat.cpp,
 * bindings/csharp/Examples/Chat.cs); `chat --help` lists the options and their defaults. --server
 * defaults to $SEALNET_SERVER_ADDR when set, else 127.0.0.1:4530 (where sealnet-server listens by
 * default); it connects over UDP unless --transport tcp, as Photon's SDKs do (the server listens for
 * both on the same port number). Without --pin the server is not authenticated. --transport wss
 * connects over WebSocket and TLS to a wss:// URL ($SEALNET_SERVER_WSS_URL by default), checking the
 * certificate against the system's trust store, --ca-file, or the --certificate fingerprint. With --connection-token (the bytes the game
 * built from its backend session, in hex) the peer authenticates by itself right after the key
 * exchange, and the chat joins its room only once the server said yes (docs/auth.md).
 *
 * It joins its room first and only then reads lines (from standard input, or --script FILE): a line
 * is sent encrypted, "/plain TEXT" is sent in the clear (still authenticated once keys exist), "/auth
 * TOKEN" sends the always-encrypted Authenticate operation, "/quit" or the end of input leaves. A
 * script adds "expect N" (wait until N messages arrived), "responses N" (until N operation responses
 * arrived, the join included) and "peers N" (until the room has N players), so scripted clients can
 * hold a conversation. Messages are event 1 with data {1: name, 2: text}, as in the other chats.
 * Leaving waits for the server's answer to LeaveRoom before disconnecting, so every line sent before
 * has reached the server.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealnet.h"

enum {
    OP_JOIN_ROOM = 226,
    OP_LEAVE_ROOM = 254,
    OP_AUTHENTICATE = 230,
    OP_RAISE_EVENT = 253,
    EV_JOIN = 255,
    EV_LEAVE = 254,
    EV_CHAT = 1,
    KEY_ROOM = 255,
    KEY_ACTOR = 254,
    KEY_ACTORS = 252,
    KEY_CODE = 244,
    KEY_DATA = 245,
    KEY_NAME = 1,
    KEY_TEXT = 2,
    KEY_TOKEN = 3,
    KEY_USER_ID = 225,
    KEY_NICKNAME = 202,
};

typedef struct {
    const char *name;
    int actor;
    int peers_in_room;
    int messages;
    int responses;
    int encrypted;
    int authenticated; /* 1 once the Authenticate response said yes */
    int auth_refused;  /* the Authenticate response said no */
    int authenticating; /* Authenticate was sent by the peer and is not answered yet */
    int joined;       /* 1 once the JoinRoom response said yes */
    int join_refused; /* the JoinRoom response said no */
    int left;         /* the LeaveRoom response arrived */
    int disconnected;
    int failed;
    int over_wss;
} chat_state;

static const char USAGE[] =
    "usage: chat [OPTIONS]\n"
    "A room chat over sealnet. Options:\n"
    "  --server HOST:PORT  server to connect to (default: $SEALNET_SERVER_ADDR if set, else\n"
    "                      127.0.0.1:4530, where sealnet-server listens by default); for wss a\n"
    "                      wss://host:port/path URL (default: $SEALNET_SERVER_WSS_URL)\n"
    "  --transport udp|tcp|wss  the transport (default: udp; the server takes udp and tcp on one\n"
    "                      port number; wss is WebSocket over TLS, where TLS replaces the key exchange)\n"
    "  --certificate SHA256  wss: accept only the server certificate with this fingerprint (64 hex\n"
    "                      digits, printed by sealnet-server at start-up)\n"
    "  --ca-file FILE      wss: trust the CA certificates of this PEM file instead of the system's\n"
    "  --pin KEY           the server's public key (64 hex digits, printed by sealnet-server at\n"
    "                      start-up); a server presenting another key is refused (default: none,\n"
    "                      the server is not authenticated)\n"
    "  --app-id ID         application id (default: demo)\n"
    "  --room ROOM         room to join (default: lobby)\n"
    "  --name NAME         name sent with your messages (default: player)\n"
    "  --connection-token HEX  authenticate with this connection token (hex, at most 128 bytes)\n"
    "  --no-encryption     skip the key exchange: nothing is authenticated, only /plain lines go out\n"
    "  --script FILE       read the lines from FILE instead of standard input\n"
    "  --help              print this help\n"
    "Lines, read once the room is joined: TEXT is sent encrypted, \"/plain TEXT\" in the clear (still\n"
    "authenticated once keys exist), \"/auth TOKEN\" sends Authenticate (always encrypted); \"/quit\"\n"
    "or the end of input leaves. \"expect N\", \"responses N\" and \"peers N\" wait until N messages,\n"
    "N operation responses (the join included) or N players in the room; \"#\" starts a comment.\n";

static void say(const chat_state *chat, const char *format, ...) {
    va_list args;
    printf("[%-6s] ", chat->name);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
}

static void copy_string(const peer_params_t *params, uint8_t key, char *out, size_t cap) {
    const char *text = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (peer_params_get_string(params, key, &text, &len) == PEER_RESULT_OK) {
        if (len >= cap) len = cap - 1;
        memcpy(out, text, len);
        out[len] = '\0';
    }
}

static void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    chat_state *chat = user_data;
    switch (status) {
    case PEER_STATUS_CONNECT:
        say(chat, "connected (status %u %s)", status, peer_status_str(status));
        break;
    case PEER_STATUS_ENCRYPTION_ESTABLISHED:
        chat->encrypted = 1;
        /* Over WSS no key exchange runs: TLS protects the connection, as the library's message says. */
        say(chat, "encryption established (status %u): %s", status,
            chat->over_wss ? info->message : "every frame is now authenticated");
        break;
    case PEER_STATUS_DISCONNECT:
        chat->disconnected = 1;
        say(chat, "disconnected (status %u): %s", status, info->message);
        break;
    default:
        say(chat, "status %u %s: %s (reason %u)", status, peer_status_str(status), info->message, info->reason);
        if (status == PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH) chat->failed = 1;
    }
}

static void on_response(void *user_data, const peer_operation_response_t *response) {
    chat_state *chat = user_data;
    chat->responses++;
    if (response->op_code == OP_AUTHENTICATE && chat->authenticating) {
        chat->authenticating = 0;
        if (response->return_code == 0) {
            char nickname[80], user_id[140];
            copy_string(response->params, KEY_NICKNAME, nickname, sizeof nickname);
            copy_string(response->params, KEY_USER_ID, user_id, sizeof user_id);
            chat->authenticated = 1;
            say(chat, "authenticated as \"%s\" (user id %s); the peer keeps the server token", nickname, user_id);
        } else {
            chat->auth_refused = 1;
            say(chat, "authentication refused: return code %d, \"%s\"", response->return_code,
                response->debug_message ? response->debug_message : "");
        }
        return;
    }
    if (response->op_code == OP_JOIN_ROOM && response->return_code == 0) {
        int32_t actors[64];
        size_t count = 0;
        peer_params_get_i32(response->params, KEY_ACTOR, &chat->actor);
        if (peer_params_get_i32_array(response->params, KEY_ACTORS, actors, 64, &count) == PEER_RESULT_OK)
            chat->peers_in_room = (int)count;
        chat->joined = 1;
        say(chat, "joined the room as actor %d (%d player(s) present)", chat->actor, chat->peers_in_room);
        return;
    }
    if (response->op_code == OP_JOIN_ROOM) chat->join_refused = 1;
    if (response->op_code == OP_LEAVE_ROOM) {
        chat->left = 1;
        if (response->return_code == 0) {
            say(chat, "left the room");
            return;
        }
    }
    say(chat, "server answered operation %u: return code %d%s%s (%s)", response->op_code, response->return_code,
        response->debug_message ? ", " : "", response->debug_message ? response->debug_message : "",
        response->encrypted ? "encrypted" : "plain");
}

static void on_event(void *user_data, const peer_event_t *event) {
    chat_state *chat = user_data;
    int32_t actors[64];
    size_t count = 0;
    if (event->code == EV_JOIN || event->code == EV_LEAVE) {
        if (peer_params_get_i32_array(event->params, KEY_ACTORS, actors, 64, &count) == PEER_RESULT_OK)
            chat->peers_in_room = (int)count;
        return;
    }
    if (event->code != EV_CHAT) return;
    peer_params_t *message = NULL;
    char name[64], text[512];
    if (peer_params_get_params(event->params, KEY_DATA, &message) != PEER_RESULT_OK) return;
    copy_string(message, KEY_NAME, name, sizeof name);
    copy_string(message, KEY_TEXT, text, sizeof text);
    peer_params_free(message);
    chat->messages++;
    say(chat, "<- %s (actor %d) [%s]: %s", name, event->sender, event->encrypted ? "encrypted" : "plain", text);
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Waits for results and services them (this program has no frame loop, so it blocks in peer_wait
 * instead of sleeping), until *flag reaches target or time runs out. */
static int service_until(peer_t *peer, chat_state *chat, const int *flag, int target, int seconds) {
    double deadline = seconds_now() + seconds;
    while (seconds_now() < deadline) {
        if (peer_service(peer, NULL) != PEER_RESULT_OK) return 0;
        if (*flag >= target) return 1;
        if (chat->disconnected || chat->failed || chat->join_refused || chat->auth_refused) return 0;
        if (peer_wait(peer, 100) == PEER_RESULT_NOT_CONNECTED) return peer_service(peer, NULL), *flag >= target;
    }
    return 0;
}

static int wait_connected(peer_t *peer, chat_state *chat) {
    uint32_t state = PEER_STATE_CONNECTING;
    double deadline = seconds_now() + 10;
    while (state != PEER_STATE_CONNECTED && !chat->disconnected && seconds_now() < deadline) {
        peer_wait(peer, 100);
        peer_service(peer, NULL);
        peer_state(peer, &state);
    }
    return state == PEER_STATE_CONNECTED;
}

static int send_chat(peer_t *peer, chat_state *chat, const char *text, int encrypt) {
    peer_params_t *params = NULL, *message = NULL;
    peer_params_new(&params);
    peer_params_new(&message);
    peer_params_put_string(message, KEY_NAME, chat->name, strlen(chat->name));
    peer_params_put_string(message, KEY_TEXT, text, strlen(text));
    peer_params_put_i32(params, KEY_CODE, EV_CHAT);
    peer_params_put_params(params, KEY_DATA, message);
    peer_send_options_t options = {sizeof(peer_send_options_t), PEER_DELIVERY_MODE_RELIABLE, (uint8_t)encrypt, 0, 0};
    uint32_t result = peer_send_operation(peer, OP_RAISE_EVENT, params, &options);
    peer_params_free(message);
    peer_params_free(params);
    if (result == PEER_RESULT_OK)
        say(chat, "-> [%s] %s", encrypt ? "encrypted" : "plain", text);
    else
        say(chat, "could not send: %s", peer_result_str(result));
    return result == PEER_RESULT_OK;
}

static int send_auth(peer_t *peer, chat_state *chat, const char *token) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_string(params, KEY_TOKEN, token, strlen(token));
    /* Authenticate is a must-encrypt operation: sealnet encrypts it even without the flag, and refuses
     * it outright when no keys exist. */
    uint32_t result = peer_send_operation(peer, OP_AUTHENTICATE, params, NULL);
    peer_params_free(params);
    if (result == PEER_RESULT_OK)
        say(chat, "-> Authenticate (operation %d), sent encrypted automatically", OP_AUTHENTICATE);
    else
        say(chat, "Authenticate refused locally (result %u): %s", result, peer_result_str(result));
    return 1;
}

/* Leaves the room and waits for the server's answer. Operations reach the server in order, so the
 * answer means every line sent before has arrived; disconnecting at once could drop lines still
 * queued for sending. */
static void leave_room(peer_t *peer, chat_state *chat) {
    if (peer_send_operation(peer, OP_LEAVE_ROOM, NULL, NULL) == PEER_RESULT_OK)
        service_until(peer, chat, &chat->left, 1, 3);
}

static int parse_hex_key(const char *hex, uint8_t out[32]) {
    if (strlen(hex) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned value;
        if (sscanf(hex + 2 * i, "%2x", &value) != 1) return 0;
        out[i] = (uint8_t)value;
    }
    return 1;
}

/* Hex digits into bytes; returns the count, or -1 for an odd length, a bad digit or too many. */
static long parse_hex(const char *hex, uint8_t *out, size_t cap) {
    size_t len = strlen(hex);
    if (len % 2 || len / 2 > cap) return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned value;
        if (sscanf(hex + 2 * i, "%2x", &value) != 1) return -1;
        out[i] = (uint8_t)value;
    }
    return (long)(len / 2);
}

static void strip_newline(char *line) {
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
}

/* Runs one command line; returns 1 to go on, 0 to leave (/quit), -1 when a wait gave up. */
static int run_command(peer_t *peer, chat_state *chat, char *line) {
    if (strncmp(line, "expect ", 7) == 0) {
        int target = atoi(line + 7);
        if (!service_until(peer, chat, &chat->messages, target, 15)) {
            say(chat, "gave up waiting for %d message(s)", target);
            return -1;
        }
        return 1;
    }
    if (strncmp(line, "peers ", 6) == 0) {
        int target = atoi(line + 6);
        if (!service_until(peer, chat, &chat->peers_in_room, target, 15)) {
            say(chat, "gave up waiting for %d player(s)", target);
            return -1;
        }
        return 1;
    }
    if (strncmp(line, "responses ", 10) == 0) {
        int target = atoi(line + 10);
        if (!service_until(peer, chat, &chat->responses, target, 15)) {
            say(chat, "gave up waiting for %d response(s)", target);
            return -1;
        }
        return 1;
    }
    if (strncmp(line, "/plain ", 7) == 0) return send_chat(peer, chat, line + 7, 0) || 1;
    if (strncmp(line, "/auth ", 6) == 0) return send_auth(peer, chat, line + 6);
    if (strcmp(line, "/quit") == 0) return 0;
    if (line[0] == '\0' || line[0] == '#') return 1;
    return send_chat(peer, chat, line, 1) || 1;
}

int main(int argc, char **argv) {
    const char *server = getenv("SEALNET_SERVER_ADDR"), *app_id = "demo", *room = "lobby", *pin = NULL;
    const char *script = NULL, *connection_token = NULL, *transport = "udp", *certificate = NULL, *ca_file = NULL;
    int server_given = 0;
    chat_state chat = {.name = "player"};
    int auto_exchange = 1;
    if (!server || !*server) server = "127.0.0.1:4530";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) { fputs(USAGE, stdout); return 0; }
        if (strcmp(arg, "--no-encryption") == 0) { auto_exchange = 0; continue; }
        const char **target = NULL;
        if (strcmp(arg, "--server") == 0) { target = &server; server_given = 1; }
        else if (strcmp(arg, "--certificate") == 0) target = &certificate;
        else if (strcmp(arg, "--ca-file") == 0) target = &ca_file;
        else if (strcmp(arg, "--pin") == 0) target = &pin;
        else if (strcmp(arg, "--app-id") == 0) target = &app_id;
        else if (strcmp(arg, "--room") == 0) target = &room;
        else if (strcmp(arg, "--name") == 0) target = &chat.name;
        else if (strcmp(arg, "--script") == 0) target = &script;
        else if (strcmp(arg, "--connection-token") == 0) target = &connection_token;
        else if (strcmp(arg, "--transport") == 0) target = &transport;
        else { fprintf(stderr, "chat: unknown argument %s (chat --help lists the options)\n", arg); return 2; }
        if (!value) { fprintf(stderr, "chat: %s needs a value (chat --help lists the options)\n", arg); return 2; }
        *target = value;
        i++;
    }
    uint32_t transport_number;
    if (strcmp(transport, "udp") == 0) transport_number = PEER_TRANSPORT_UDP;
    else if (strcmp(transport, "tcp") == 0) transport_number = PEER_TRANSPORT_TCP;
    else if (strcmp(transport, "wss") == 0) transport_number = PEER_TRANSPORT_WSS;
    else { fprintf(stderr, "chat: --transport is udp, tcp or wss, not %s\n", transport); return 2; }
    chat.over_wss = transport_number == PEER_TRANSPORT_WSS;
    if (chat.over_wss) {
        const char *url = getenv("SEALNET_SERVER_WSS_URL");
        if (!server_given) server = url && *url ? url : "wss://127.0.0.1:19090/";
        if (pin) { fprintf(stderr, "chat: --pin is a Noise key for udp and tcp; over wss use --certificate\n"); return 2; }
    } else if (certificate || ca_file) {
        fprintf(stderr, "chat: --certificate and --ca-file are for --transport wss\n");
        return 2;
    }
    if (strcmp(peer_version(), SEALNET_VERSION_STRING) != 0) {
        fprintf(stderr, "chat: header %s does not match library %s\n", SEALNET_VERSION_STRING, peer_version());
        return 1;
    }

    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_event;
    config.user_data = &chat;
    config.auto_key_exchange = (uint8_t)auto_exchange;
    if (pin) {
        if (!parse_hex_key(pin, config.server_public_key)) { fprintf(stderr, "chat: --pin needs 64 hex digits\n"); return 2; }
        config.pin_server_key = 1;
    }
    peer_t *peer = NULL;
    uint32_t result = peer_create(&config, &peer);
    if (result != PEER_RESULT_OK) { fprintf(stderr, "chat: peer_create: %s\n", peer_result_str(result)); return 1; }
    peer_auth_values_t *auth = NULL;
    if (connection_token) {
        /* Room for more than the limit, so an oversized token reaches the library and is refused
         * there, with its size and the limit, rather than cut here. */
        uint8_t token[1024];
        long len = parse_hex(connection_token, token, sizeof token);
        if (len < 0) { fprintf(stderr, "chat: --connection-token needs hex digits (at most 1024 bytes)\n"); peer_destroy(peer); return 2; }
        peer_auth_values_new(PEER_AUTH_CUSTOM, &auth);
        result = peer_auth_values_set_connection_token(auth, token, (size_t)len);
        if (result != PEER_RESULT_OK) {
            say(&chat, "connection token refused before connecting: %s", peer_last_error());
            peer_auth_values_free(auth);
            peer_destroy(peer);
            return 3;
        }
    }
    const char *transport_name = transport_number == PEER_TRANSPORT_UDP ? "UDP" : transport_number == PEER_TRANSPORT_TCP ? "TCP" : "WSS";
    say(&chat, "connecting to %s over %s as app \"%s\"%s%s", server, transport_name,
        app_id, pin ? ", pinning the server key" : certificate ? ", pinning the certificate" : "",
        auth ? ", authenticating after the key exchange" : "");
    peer_connect_options_t connect_options;
    peer_connect_options_default(&connect_options, sizeof connect_options);
    connect_options.address = server;
    connect_options.app_id = app_id;
    connect_options.auth = auth;
    connect_options.transport = transport_number;
    connect_options.ca_file = ca_file;
    if (certificate) {
        if (!parse_hex_key(certificate, connect_options.certificate_fingerprint)) {
            fprintf(stderr, "chat: --certificate needs 64 hex digits\n");
            peer_auth_values_free(auth);
            peer_destroy(peer);
            return 2;
        }
        connect_options.pin_certificate = 1;
    }
    result = peer_connect_with(peer, &connect_options);
    peer_auth_values_free(auth); /* the peer keeps its own copy */
    if (result != PEER_RESULT_OK) { fprintf(stderr, "chat: peer_connect_with: %s\n", peer_last_error()); peer_destroy(peer); return 1; }
    chat.authenticating = auth != NULL;

    /* With automatic key exchange, wait for EncryptionEstablished; otherwise for the Connect status. */
    int ok = auto_exchange ? service_until(peer, &chat, &chat.encrypted, 1, 10) : wait_connected(peer, &chat);
    if (ok && connection_token) ok = service_until(peer, &chat, &chat.authenticated, 1, 10);
    if (ok) {
        uint8_t key[32];
        if (peer_server_public_key(peer, key) == PEER_RESULT_OK)
            say(&chat, "server key %02x%02x%02x%02x... (%s)", key[0], key[1], key[2], key[3], pin ? "matches the pin" : "not pinned");
        peer_params_t *params = NULL;
        peer_params_new(&params);
        peer_params_put_string(params, KEY_ROOM, room, strlen(room));
        peer_send_options_t join_options = {sizeof(peer_send_options_t), PEER_DELIVERY_MODE_RELIABLE, (uint8_t)chat.encrypted, 0, 0};
        peer_send_operation(peer, OP_JOIN_ROOM, params, &join_options); /* encrypted when keys exist */
        peer_params_free(params);
        /* Input is read only once the join is answered; lines typed meanwhile wait in stdin. */
        ok = service_until(peer, &chat, &chat.joined, 1, 10);
    }
    if (ok) {
        FILE *input = script ? fopen(script, "r") : stdin;
        if (!input) { fprintf(stderr, "chat: cannot open %s\n", script); ok = 0; }
        char line[512];
        int step = 1;
        while (step == 1 && input && fgets(line, sizeof line, input)) {
            strip_newline(line);
            step = run_command(peer, &chat, line);
            peer_service(peer, NULL);
        }
        if (step < 0) ok = 0;
        if (input && input != stdin) fclose(input);
    }
    if (chat.joined && !chat.disconnected) leave_room(peer, &chat);
    peer_disconnect(peer);
    service_until(peer, &chat, &chat.disconnected, 1, 3);
    peer_destroy(peer);
    if (chat.auth_refused) return 4;
    return ok && !chat.failed ? 0 : 1;
}
