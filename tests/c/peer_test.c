/*
 * C-side test of the sealnet API over loopback, run under AddressSanitizer and UndefinedBehaviorSanitizer
 * (and Valgrind without them). Needs SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY (scripts/with-server.sh).
 * Prints "N passed, N failed" last and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

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

static void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    host *h = user_data;
    h->callbacks++;
    if (h->status_count < 32) h->statuses[h->status_count++] = status;
    (void)info;
}

static void on_response(void *user_data, const peer_operation_response_t *response) {
    host *h = user_data;
    h->callbacks++;
    if (response->op_code == 226) peer_params_get_i32(response->params, 254, &h->actor);
}

static void on_event(void *user_data, const peer_event_t *event) {
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

static void pause_ms(long ms) {
    struct timespec delay = {0, ms * 1000000L};
    nanosleep(&delay, NULL);
}

static int has_status(const host *h, uint32_t status) {
    for (int i = 0; i < h->status_count; i++)
        if (h->statuses[i] == status) return 1;
    return 0;
}

/* The waits block in peer_wait rather than sleeping: each returns as soon as results arrive. */
static int service_until_status(peer_t *peer, host *h, uint32_t status) {
    for (int i = 0; i < 300; i++) {
        peer_service(peer, NULL);
        if (has_status(h, status)) return 1;
        peer_wait(peer, 20);
    }
    return 0;
}

static int service_until_count(peer_t *peer, const int *counter, int target) {
    for (int i = 0; i < 300; i++) {
        peer_service(peer, NULL);
        if (*counter >= target) return 1;
        peer_wait(peer, 20);
    }
    return 0;
}

static peer_t *make_peer(host *h, int auto_exchange, const uint8_t *pin) {
    peer_config_t config;
    peer_config_default(&config);
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

static void join(peer_t *peer, host *h, const char *room) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_string(params, 255, room, strlen(room));
    CHECK(peer_send_operation(peer, 226, params, NULL) == PEER_RESULT_OK, "join sent");
    peer_params_free(params);
    CHECK(service_until_count(peer, &h->actor, 1), "join answered");
}

static uint32_t raise_text(peer_t *peer, const char *text, int encrypt) {
    peer_params_t *params = NULL;
    peer_params_new(&params);
    peer_params_put_i32(params, 244, 5);
    peer_params_put_string(params, 245, text, strlen(text));
    peer_send_options_t options = {PEER_DELIVERY_MODE_RELIABLE, (uint8_t)encrypt, 0};
    uint32_t result = peer_send_operation(peer, 253, params, &options);
    peer_params_free(params);
    return result;
}

int main(void) {
    const char *address = getenv("SEALNET_SERVER_ADDR");
    const char *key_hex = getenv("SEALNET_SERVER_KEY");
    if (!address || !key_hex || strlen(key_hex) != 64) {
        fprintf(stderr, "run through scripts/with-server.sh\n");
        return 2;
    }
    uint8_t key[32];
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        sscanf(key_hex + 2 * i, "%2x", &byte);
        key[i] = (uint8_t)byte;
    }

    /* Arguments are checked before anything else happens. */
    CHECK(peer_create(NULL, NULL) == PEER_RESULT_NULL_PARAMETER, "NULL config");
    CHECK(peer_service(NULL, NULL) == PEER_RESULT_NULL_PARAMETER, "NULL peer");
    CHECK(strcmp(peer_version(), SEALNET_VERSION_STRING) == 0, "header and library versions agree");

    host alice = {0}, bob = {0}, carol = {0};
    peer_t *a = make_peer(&alice, 1, key);
    peer_t *b = make_peer(&bob, 1, NULL);
    CHECK(peer_wait(a, 5000) == PEER_RESULT_NOT_CONNECTED, "wait before connect returns at once");
    {
        char long_id[66];
        memset(long_id, 'x', 65);
        long_id[65] = '\0';
        CHECK(peer_connect(a, address, long_id) == PEER_RESULT_INVALID_ARGUMENT, "app id of 65 bytes refused");
        CHECK(strstr(peer_last_error(), "the app id is 65 bytes; the limit is 64") != NULL,
              "the error names the parameter and the limit");
    }
    CHECK(peer_connect(a, address, "demo") == PEER_RESULT_OK, "connect a");
    CHECK(peer_connect(b, address, "demo") == PEER_RESULT_OK, "connect b");
    CHECK(service_until_status(a, &alice, PEER_STATUS_ENCRYPTION_ESTABLISHED), "a encrypted with pin");
    CHECK(service_until_status(b, &bob, PEER_STATUS_ENCRYPTION_ESTABLISHED), "b encrypted");
    CHECK(alice.statuses[0] == PEER_STATUS_CONNECT && alice.statuses[1] == PEER_STATUS_ENCRYPTION_ESTABLISHED,
          "Connect then EncryptionEstablished");
    CHECK(peer_wait(a, 20) == PEER_RESULT_TIMED_OUT, "wait with nothing to come times out");
    uint8_t seen_key[32];
    CHECK(peer_server_public_key(a, seen_key) == PEER_RESULT_OK && memcmp(seen_key, key, 32) == 0, "server key");

    join(a, &alice, "c-room");
    join(b, &bob, "c-room");
    CHECK(raise_text(a, "attack at dawn", 1) == PEER_RESULT_OK, "encrypted raise");
    CHECK(service_until_count(b, &bob.events, 1), "encrypted event arrives");
    CHECK(bob.encrypted_events == 1 && strcmp(bob.last_text, "attack at dawn") == 0, "decrypted correctly");
    CHECK(raise_text(a, "hello", 0) == PEER_RESULT_OK, "plain raise");
    CHECK(service_until_count(b, &bob.events, 2), "plain event arrives");
    CHECK(bob.encrypted_events == 1 && strcmp(bob.last_text, "hello") == 0, "plain stays plain");

    /* Encryption requested before any key exchange is refused with its own code. */
    peer_t *c = make_peer(&carol, 0, NULL);
    CHECK(peer_connect(c, address, "demo") == PEER_RESULT_OK, "connect c");
    CHECK(service_until_status(c, &carol, PEER_STATUS_CONNECT), "c connected");
    join(c, &carol, "c-room");
    uint32_t early = raise_text(c, "too early", 1);
    CHECK(early == PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED, "encrypt before exchange");
    CHECK(strstr(peer_result_str(early), "establish encryption first") != NULL, "error text");

    /* Destroy b while a floods it; afterwards no callback of b may run. */
    for (int i = 0; i < 200; i++) raise_text(a, "flood", i % 2);
    service_until_count(b, &bob.events, 10);
    CHECK(peer_destroy(b) == PEER_RESULT_OK, "destroy mid-traffic");
    int callbacks_at_destroy = bob.callbacks;
    for (int i = 0; i < 200; i++) raise_text(a, "more", 1);
    for (int i = 0; i < 50; i++) {
        peer_service(a, NULL);
        pause_ms(2);
    }
    CHECK(bob.callbacks == callbacks_at_destroy, "no callback after destroy");
    CHECK(peer_service(b, NULL) == PEER_RESULT_INVALID_PEER, "destroyed handle is refused");

    CHECK(peer_disconnect(a) == PEER_RESULT_OK, "disconnect");
    CHECK(service_until_status(a, &alice, PEER_STATUS_DISCONNECT), "Disconnect status");
    CHECK(peer_destroy(a) == PEER_RESULT_OK, "destroy a");
    CHECK(peer_destroy(c) == PEER_RESULT_OK, "destroy c");

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
