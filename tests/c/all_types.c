/*
 * all_types: the C program of tests/cross/README.md. Sends the 21 values of every type to a room, or
 * receives them there and checks each one.
 *
 *   all_types --role send|receive --room ROOM      (server address from SEALNET_SERVER_ADDR)
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
    KEY_ROOM = 255,
    KEY_CODE = 244,
    KEY_DATA = 245,
    EVENT_CODE = 42,
    TIMEOUT_SECONDS = 30,
};

typedef struct {
    int encrypted;
    int joined;
    int left;
    int failed;
    int received; /* the checked event arrived */
} state;

static void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    state *s = user_data;
    if (status == PEER_STATUS_ENCRYPTION_ESTABLISHED) {
        s->encrypted = 1;
    } else if (status != PEER_STATUS_CONNECT) {
        fprintf(stderr, "all_types: status %u (%s): %s\n", status, peer_status_str(status),
                info->message ? info->message : "");
        s->failed = 1;
    }
}

static void on_response(void *user_data, const peer_operation_response_t *response) {
    state *s = user_data;
    if (response->return_code != 0 || response->op_code == OP_RAISE_EVENT) {
        /* The server answers RaiseEvent only when it skipped a recipient. */
        fprintf(stderr, "all_types: operation %u answered %d: %s\n", response->op_code, response->return_code,
                response->debug_message ? response->debug_message : "");
        s->failed = 1;
    } else if (response->op_code == OP_JOIN_ROOM) {
        s->joined = 1;
    } else if (response->op_code == OP_LEAVE_ROOM) {
        s->left = 1;
    }
}

static void on_event(void *user_data, const peer_event_t *event) {
    state *s = user_data;
    if (event->code != EVENT_CODE) return; /* Join and Leave */
    peer_value_t data;
    if (peer_params_get(event->params, KEY_DATA, &data) != PEER_RESULT_OK || data.type != PEER_VALUE_TYPE_MAP) {
        fprintf(stderr, "all_types: event %d without a dictionary in parameter %d\n", EVENT_CODE, KEY_DATA);
        s->failed = 1;
        return;
    }
    int mismatches = check_all_types(data.map, stderr);
    if (mismatches > 0) {
        s->failed = 1;
        return;
    }
    printf("ok: %d values from actor %d\n", ALL_TYPES_COUNT, event->sender);
    s->received = 1;
}

/* Services the peer until *flag is set; 0 on failure or timeout. */
static int until(peer_t *peer, state *s, const int *flag, const char *what) {
    time_t deadline = time(NULL) + TIMEOUT_SECONDS;
    while (!*flag) {
        if (s->failed) return 0;
        if (time(NULL) > deadline) {
            fprintf(stderr, "all_types: no %s within %d s\n", what, TIMEOUT_SECONDS);
            return 0;
        }
        peer_wait(peer, 100);
        peer_service(peer, NULL);
    }
    return !s->failed;
}

static int send_operation(peer_t *peer, uint8_t op, peer_params_t *params) {
    peer_send_options_t options;
    peer_send_options_default(&options, sizeof options);
    options.encrypt = 1;
    uint32_t result = peer_send_operation(peer, op, params, &options);
    if (result != PEER_RESULT_OK) fprintf(stderr, "all_types: operation %u: %s\n", op, peer_last_error());
    return result == PEER_RESULT_OK;
}

static int run(peer_t *peer, state *s, int sending, const char *room) {
    peer_params_t *params = NULL;
    int ok = 0;
    if (!until(peer, s, &s->encrypted, "key exchange")) return 0;
    if (peer_params_new(&params) != PEER_RESULT_OK) return 0;
    peer_params_put_string(params, KEY_ROOM, room, strlen(room));
    if (!send_operation(peer, OP_JOIN_ROOM, params) || !until(peer, s, &s->joined, "JoinRoom response")) goto done;
    if (!sending) {
        printf("joined\n");
        fflush(stdout);
        ok = until(peer, s, &s->received, "event 42");
        goto done;
    }
    peer_params_t *data = NULL;
    if (peer_params_new(&data) != PEER_RESULT_OK) goto done;
    uint32_t built = put_all_types(data);
    if (built != PEER_RESULT_OK) {
        fprintf(stderr, "all_types: building the data: %s\n", peer_last_error());
        peer_params_free(data);
        goto done;
    }
    peer_value_t map;
    memset(&map, 0, sizeof map);
    map.type = PEER_VALUE_TYPE_MAP;
    map.map = data;
    peer_params_clear(params);
    peer_params_put_i32(params, KEY_CODE, EVENT_CODE);
    built = peer_params_put(params, KEY_DATA, &map);
    peer_params_free(data);
    if (built != PEER_RESULT_OK || !send_operation(peer, OP_RAISE_EVENT, params)) goto done;
    peer_params_clear(params);
    /* Responses come in order: once LeaveRoom is answered, the event has been relayed. */
    ok = send_operation(peer, OP_LEAVE_ROOM, params) && until(peer, s, &s->left, "LeaveRoom response");
    if (ok) printf("sent %d values\n", ALL_TYPES_COUNT);
done:
    peer_params_free(params);
    return ok;
}

int main(int argc, char **argv) {
    const char *role = NULL, *room = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--role") == 0) role = argv[i + 1];
        else if (strcmp(argv[i], "--room") == 0) room = argv[i + 1];
    }
    const char *address = getenv("SEALNET_SERVER_ADDR");
    if (!role || !room || !address || (strcmp(role, "send") != 0 && strcmp(role, "receive") != 0)) {
        fprintf(stderr, "usage: SEALNET_SERVER_ADDR=HOST:PORT all_types --role send|receive --room ROOM\n");
        return 2;
    }
    state s = {0};
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_event;
    config.user_data = &s;
    peer_t *peer = NULL;
    if (peer_create(&config, &peer) != PEER_RESULT_OK || peer_connect(peer, address, "demo") != PEER_RESULT_OK) {
        fprintf(stderr, "all_types: %s\n", peer_last_error());
        return 1;
    }
    int ok = run(peer, &s, strcmp(role, "send") == 0, room);
    peer_destroy(peer);
    return ok ? 0 : 1;
}
