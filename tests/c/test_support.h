/*
 * What the C tests share: a CHECK macro that counts, a host that records callbacks, and waits that
 * block in peer_wait until results arrive (never a fixed sleep).
 */
#ifndef SEALNET_TEST_SUPPORT_H
#define SEALNET_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealnet.h"

static int passed, failed;

#define CHECK(cond, what)                                                                    \
    do {                                                                                     \
        if (cond) {                                                                          \
            passed++;                                                                        \
        } else {                                                                             \
            failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond);     \
        }                                                                                    \
    } while (0)

typedef struct {
    uint32_t statuses[32];
    int status_count;
    int actor;
    int events;
    int encrypted_events;
    char last_text[128];
    int callbacks;
} host;

static inline void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    host *h = user_data;
    h->callbacks++;
    if (h->status_count < 32) h->statuses[h->status_count++] = status;
    (void)info;
}

static inline void on_response(void *user_data, const peer_operation_response_t *response) {
    host *h = user_data;
    h->callbacks++;
    if (response->op_code == 226) peer_params_get_i32(response->params, 254, &h->actor);
}

static inline void on_event(void *user_data, const peer_event_t *event) {
    host *h = user_data;
    h->callbacks++;
    if (event->code != 5) return;
    const char *text;
    size_t len;
    h->events++;
    h->encrypted_events += event->encrypted;
    if (peer_params_get_string(event->params, 245, &text, &len) == PEER_RESULT_OK && len < sizeof h->last_text) {
        memcpy(h->last_text, text, len);
        h->last_text[len] = '\0';
    }
}

static inline void pause_ms(long ms) {
    struct timespec delay = {0, ms * 1000000L};
    nanosleep(&delay, NULL);
}

static inline int has_status(const host *h, uint32_t status) {
    for (int i = 0; i < h->status_count; i++)
        if (h->statuses[i] == status) return 1;
    return 0;
}

/* The waits block in peer_wait rather than sleeping: each returns as soon as results arrive. */
static inline int service_until_status(peer_t *peer, host *h, uint32_t status) {
    for (int i = 0; i < 300; i++) {
        peer_service(peer, NULL);
        if (has_status(h, status)) return 1;
        peer_wait(peer, 20);
    }
    return 0;
}

static inline int service_until_count(peer_t *peer, const int *counter, int target) {
    for (int i = 0; i < 300; i++) {
        peer_service(peer, NULL);
        if (*counter >= target) return 1;
        peer_wait(peer, 20);
    }
    return 0;
}

static inline peer_t *make_peer(host *h, int auto_exchange, const uint8_t *pin) {
    peer_config_t config;
    peer_config_default(&config, sizeof config);
    config.on_status = on_status;
    config.on_operation_response = on_response;
    config.on_event = on_event;
    config.user_data = h;
    config.auto_key_exchange = (uint8_t)auto_exchange;
    if (pin) {
        config.pin_server_key = 1;
        memcpy(config.server_public_key, pin, 32);
    }
    peer_t *peer = NULL;
    CHECK(peer_create(&config, &peer) == PEER_RESULT_OK, "peer_create");
    return peer;
}

static inline void join(peer_t *peer, host *h, const char *room) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_string(params, 255, room, strlen(room));
    CHECK(peer_send_operation(peer, 226, params, NULL) == PEER_RESULT_OK, "join sent");
    peer_params_free(params);
    CHECK(service_until_count(peer, &h->actor, 1), "join answered");
}

static inline uint32_t raise_text(peer_t *peer, const char *text, int encrypt) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_i32(params, 244, 5);
    peer_params_put_string(params, 245, text, strlen(text));
    peer_send_options_t options = {sizeof(peer_send_options_t), PEER_DELIVERY_MODE_RELIABLE, (uint8_t)encrypt, 0, 0};
    uint32_t result = peer_send_operation(peer, 253, params, &options);
    peer_params_free(params);
    return result;
}

/* SEALNET_SERVER_KEY (hex) as 32 bytes; 0 when it is not set (not run through scripts/with-server.sh). */
static inline int server_key(uint8_t key[32]) {
    const char *hex = getenv("SEALNET_SERVER_KEY");
    if (!hex || strlen(hex) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return 0;
        key[i] = (uint8_t)byte;
    }
    return 1;
}

/* "N passed, N failed" and the exit status. */
static inline int report(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
