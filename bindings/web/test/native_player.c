/*
 * native_player: the native side of bindings/web/test/browser.test.mjs. A C player (include/sealnet.h
 * only) that shares a room with a browser player and exchanges events with it both ways.
 *
 *   native_player --room ROOM [--transport udp|tcp]
 *
 * The server comes from SEALNET_SERVER_UDP_ADDR (udp, the default when it is set) or
 * SEALNET_SERVER_ADDR (tcp); app id "demo", automatic key exchange. It prints one line per step on
 * standard output (flushed), which the browser test waits for:
 *
 *   joined ACTOR                  the JoinRoom response said yes
 *   peer ACTOR                    another player (the browser) joined; then it raises, encrypted:
 *                                 event 42 with the 21 values of tests/cross/README.md, and
 *                                 event 1 {1: "native", 2: "hello from C"} (a chat line)
 *   ok: 21 values from actor N    the browser's event 42 held the same 21 values (checked by type),
 *                                 and arrived with the encrypted flag the browser asked for
 *   echoed N                      the browser's event 44 went back as event 45, its data unchanged
 *   chat ACTOR (plain): TEXT      the browser's chat line (event 1), which it sent without encryption
 *   left                          event 46 (the browser is done) arrived; it left and disconnected
 *
 * Every wait is bounded (TIMEOUT_SECONDS in all); any mismatch, refusal or disconnect exits 1 with the
 * reason on standard error.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "all_types_data.h"
#include "sealnet.h"

enum {
    OP_JOIN_ROOM = 226,
    OP_LEAVE_ROOM = 254,
    OP_RAISE_EVENT = 253,
    EV_JOIN = 255,
    EV_LEAVE = 254,
    EV_CHAT = 1,
    EV_ALL_TYPES = 42,
    EV_ECHO_REQUEST = 44,
    EV_ECHO = 45,
    EV_DONE = 46,
    KEY_ROOM = 255,
    KEY_ACTOR = 254,
    KEY_CODE = 244,
    KEY_DATA = 245,
    KEY_NAME = 1,
    KEY_TEXT = 2,
    TIMEOUT_SECONDS = 60,
};

typedef struct {
    peer_t *peer;
    int encrypted;
    int joined;
    int actor;
    int peer_actor;   /* the browser's actor number, once it joined */
    int checked;      /* its event 42 matched */
    int echoed;
    int chatted;
    int done;
    int left;
    int disconnected;
    int failed;
} player;

static void fail(player *p, const char *what) {
    fprintf(stderr, "native_player: %s\n", what);
    p->failed = 1;
}

static void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    player *p = user_data;
    if (status == PEER_STATUS_ENCRYPTION_ESTABLISHED) {
        p->encrypted = 1;
    } else if (status == PEER_STATUS_DISCONNECT) {
        p->disconnected = 1;
        if (!p->left) fail(p, info->message ? info->message : "disconnected");
    } else if (status != PEER_STATUS_CONNECT) {
        fprintf(stderr, "native_player: status %u (%s): %s\n", status, peer_status_str(status), info->message ? info->message : "");
        p->failed = 1;
    }
}

static void on_response(void *user_data, const peer_operation_response_t *response) {
    player *p = user_data;
    if (response->return_code != 0 || response->op_code == OP_RAISE_EVENT) {
        /* The server answers RaiseEvent only when it skipped a recipient. */
        fprintf(stderr, "native_player: operation %u answered %d: %s\n", response->op_code, response->return_code,
                response->debug_message ? response->debug_message : "");
        p->failed = 1;
        return;
    }
    if (response->op_code == OP_JOIN_ROOM) {
        int32_t actor = 0;
        peer_params_get_i32(response->params, KEY_ACTOR, &actor);
        p->actor = actor;
        p->joined = 1;
        printf("joined %d\n", actor);
        fflush(stdout);
    } else if (response->op_code == OP_LEAVE_ROOM) {
        p->left = 1;
    }
}

static int send_event(player *p, int code, const peer_value_t *data) {
    peer_params_t *params = NULL;
    if (peer_params_new(&params) != PEER_RESULT_OK) return 0;
    uint32_t result = peer_params_put_i32(params, KEY_CODE, code);
    if (result == PEER_RESULT_OK && data) result = peer_params_put(params, KEY_DATA, data);
    peer_send_options_t options;
    peer_send_options_default(&options, sizeof options);
    options.encrypt = 1;
    if (result == PEER_RESULT_OK) result = peer_send_operation(p->peer, OP_RAISE_EVENT, params, &options);
    peer_params_free(params);
    if (result != PEER_RESULT_OK) {
        fprintf(stderr, "native_player: raising event %d: %s\n", code, peer_last_error());
        p->failed = 1;
    }
    return result == PEER_RESULT_OK;
}

/* The browser is in the room: send it the 21 values, and a chat line. */
static void greet(player *p) {
    peer_params_t *data = NULL, *chat = NULL;
    peer_value_t map;
    memset(&map, 0, sizeof map);
    map.type = PEER_VALUE_TYPE_MAP;
    if (peer_params_new(&data) != PEER_RESULT_OK || put_all_types(data) != PEER_RESULT_OK) {
        fail(p, "building the 21 values");
    } else {
        map.map = data;
        send_event(p, EV_ALL_TYPES, &map);
    }
    peer_params_free(data);
    if (peer_params_new(&chat) == PEER_RESULT_OK) {
        peer_params_put_string(chat, KEY_NAME, "native", 6);
        peer_params_put_string(chat, KEY_TEXT, "hello from C", 12);
        map.map = chat;
        send_event(p, EV_CHAT, &map);
    }
    peer_params_free(chat);
}

static void on_event(void *user_data, const peer_event_t *event) {
    player *p = user_data;
    peer_value_t data;
    int has_data = peer_params_get(event->params, KEY_DATA, &data) == PEER_RESULT_OK;
    switch (event->code) {
    case EV_JOIN:
        if (event->sender != p->actor && p->peer_actor == 0) {
            p->peer_actor = event->sender;
            printf("peer %d\n", event->sender);
            fflush(stdout);
            greet(p);
        }
        break;
    case EV_LEAVE:
        break;
    case EV_ALL_TYPES:
        if (!has_data || data.type != PEER_VALUE_TYPE_MAP) {
            fail(p, "event 42 without a dictionary in parameter 245");
        } else if (check_all_types(data.map, stderr) > 0) {
            fail(p, "event 42 from the browser does not hold the 21 values");
        } else if (!event->encrypted) {
            fail(p, "event 42 arrived without the encrypted flag the browser sent it with");
        } else {
            p->checked = 1;
            printf("ok: %d values from actor %d\n", ALL_TYPES_COUNT, event->sender);
            fflush(stdout);
        }
        break;
    case EV_ECHO_REQUEST:
        /* The value goes back as it was read: whatever the C library keeps of it is all the browser
         * gets to compare. */
        if (!has_data) {
            fail(p, "event 44 without data");
        } else if (send_event(p, EV_ECHO, &data)) {
            p->echoed++;
            printf("echoed %d\n", p->echoed);
            fflush(stdout);
        }
        break;
    case EV_CHAT: {
        peer_params_t *chat = NULL;
        const char *text = NULL;
        size_t len = 0;
        if (has_data && peer_params_get_params(event->params, KEY_DATA, &chat) == PEER_RESULT_OK &&
            peer_params_get_string(chat, KEY_TEXT, &text, &len) == PEER_RESULT_OK) {
            printf("chat %d (%s): %.*s\n", event->sender, event->encrypted ? "encrypted" : "plain", (int)len, text);
            fflush(stdout);
            p->chatted = 1;
        } else {
            fail(p, "a chat event without {2: text}");
        }
        peer_params_free(chat);
        break;
    }
    case EV_DONE:
        p->done = 1;
        break;
    default:
        fprintf(stderr, "native_player: unexpected event %u from actor %d\n", event->code, event->sender);
        p->failed = 1;
    }
}

/* Services the peer until *flag is set; 0 on failure or when the overall deadline passes. */
static int until(player *p, const int *flag, time_t deadline, const char *what) {
    while (!*flag) {
        if (p->failed) return 0;
        if (time(NULL) > deadline) {
            fprintf(stderr, "native_player: no %s within %d s\n", what, TIMEOUT_SECONDS);
            return 0;
        }
        peer_wait(p->peer, 100);
        peer_service(p->peer, NULL);
    }
    return !p->failed;
}

int main(int argc, char **argv) {
    const char *room = NULL, *transport = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--room") == 0) room = argv[i + 1];
        else if (strcmp(argv[i], "--transport") == 0) transport = argv[i + 1];
    }
    const char *udp = getenv("SEALNET_SERVER_UDP_ADDR"), *tcp = getenv("SEALNET_SERVER_ADDR");
    if (!transport) transport = udp && *udp ? "udp" : "tcp";
    int over_udp = strcmp(transport, "udp") == 0;
    const char *address = over_udp ? udp : tcp;
    if (!room || !address || !*address || (!over_udp && strcmp(transport, "tcp") != 0)) {
        fprintf(stderr, "usage: SEALNET_SERVER_ADDR=HOST:PORT [SEALNET_SERVER_UDP_ADDR=HOST:PORT] native_player --room ROOM [--transport udp|tcp]\n");
        return 2;
    }
    time_t deadline = time(NULL) + TIMEOUT_SECONDS;
    player p;
    memset(&p, 0, sizeof p);
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_event;
    config.user_data = &p;
    if (peer_create(&config, &p.peer) != PEER_RESULT_OK) {
        fprintf(stderr, "native_player: peer_create: %s\n", peer_last_error());
        return 1;
    }
    peer_connect_options_t options;
    peer_connect_options_default(&options, sizeof options);
    options.address = address;
    options.app_id = "demo";
    options.transport = over_udp ? PEER_TRANSPORT_UDP : PEER_TRANSPORT_TCP;
    int ok = peer_connect_with(p.peer, &options) == PEER_RESULT_OK;
    if (!ok) fprintf(stderr, "native_player: peer_connect_with: %s\n", peer_last_error());
    ok = ok && until(&p, &p.encrypted, deadline, "key exchange");
    if (ok) {
        peer_params_t *params = NULL;
        peer_params_new(&params);
        peer_params_put_string(params, KEY_ROOM, room, strlen(room));
        peer_send_options_t send;
        peer_send_options_default(&send, sizeof send);
        send.encrypt = 1;
        ok = peer_send_operation(p.peer, OP_JOIN_ROOM, params, &send) == PEER_RESULT_OK;
        peer_params_free(params);
    }
    ok = ok && until(&p, &p.joined, deadline, "JoinRoom response");
    ok = ok && until(&p, &p.peer_actor, deadline, "second player in the room");
    ok = ok && until(&p, &p.checked, deadline, "event 42 from the browser");
    ok = ok && until(&p, &p.echoed, deadline, "event 44 from the browser");
    ok = ok && until(&p, &p.chatted, deadline, "chat line from the browser");
    ok = ok && until(&p, &p.done, deadline, "event 46 (done) from the browser");
    if (ok) {
        /* Responses come in order: once LeaveRoom is answered, every event raised before it was relayed. */
        ok = peer_send_operation(p.peer, OP_LEAVE_ROOM, NULL, NULL) == PEER_RESULT_OK && until(&p, &p.left, deadline, "LeaveRoom response");
    }
    if (ok) {
        printf("left\n");
        fflush(stdout);
    }
    peer_disconnect(p.peer);
    until(&p, &p.disconnected, time(NULL) + 3, "Disconnect status");
    peer_destroy(p.peer);
    return ok ? 0 : 1;
}
