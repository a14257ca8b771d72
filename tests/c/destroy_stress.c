/*
 * Teardown stress test: one thread services the current peer in a tight loop while the main thread
 * creates, connects and destroys peers against a live server. No callback may run after peer_destroy
 * has returned for its peer. Each peer's host context is freed soon after its destroy returns, as the
 * C# and C++ bindings free theirs, so a late callback is also a use-after-free that AddressSanitizer
 * reports.
 *
 *   destroy_stress [CYCLES]      (default 20000; needs SEALNET_SERVER_ADDR, see scripts/with-server.sh)
 *
 * Prints the number of cycles, of callbacks seen and of late callbacks; exits 1 if any was late.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealnet.h"

/* Contexts stay allocated for this many later cycles, so a late callback is counted before ASan
 * could see the memory freed. */
#define KEEP_ALIVE 64

typedef struct {
    atomic_int destroyed;
} host_context;

static _Atomic(peer_t *) current_peer;
static atomic_int stop_servicing;
static atomic_long callbacks_seen;
static atomic_long late_callbacks;
static atomic_long service_calls;

static void note_callback(void *user_data) {
    host_context *context = user_data;
    atomic_fetch_add(&callbacks_seen, 1);
    if (atomic_load(&context->destroyed)) atomic_fetch_add(&late_callbacks, 1);
}

static void on_status(void *user_data, uint32_t status, const peer_status_info_t *info) {
    (void)status;
    (void)info;
    note_callback(user_data);
}

static void on_response(void *user_data, const peer_operation_response_t *response) {
    (void)response;
    note_callback(user_data);
}

static void on_event(void *user_data, const peer_event_t *event) {
    (void)event;
    note_callback(user_data);
}

static void *service_loop(void *unused) {
    (void)unused;
    while (!atomic_load(&stop_servicing)) {
        peer_t *peer = atomic_load(&current_peer);
        if (peer) {
            peer_service(peer, NULL);
            atomic_fetch_add(&service_calls, 1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *address = getenv("SEALNET_SERVER_ADDR");
    if (!address) {
        fprintf(stderr, "SEALNET_SERVER_ADDR is not set (run through scripts/with-server.sh)\n");
        return 2;
    }
    long cycles = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (cycles <= 0) {
        fprintf(stderr, "usage: %s [CYCLES]\n", argv[0]);
        return 2;
    }

    pthread_t servicer;
    if (pthread_create(&servicer, NULL, service_loop, NULL) != 0) {
        fprintf(stderr, "cannot start the servicing thread\n");
        return 2;
    }

    host_context *kept[KEEP_ALIVE] = {0};
    long failures = 0;
    for (long cycle = 0; cycle < cycles; cycle++) {
        host_context *context = calloc(1, sizeof *context);
        if (!context) return 2;
        peer_config_t config;
        peer_config_default(&config, sizeof config);
        config.on_status = on_status;
        config.on_operation_response = on_response;
        config.on_event = on_event;
        config.user_data = context;
        peer_t *peer = NULL;
        if (peer_create(&config, &peer) != PEER_RESULT_OK) {
            failures++;
            free(context);
            continue;
        }
        atomic_store(&current_peer, peer);
        if (peer_connect(peer, address, "demo") != PEER_RESULT_OK) failures++;
        /* Vary how far the connection gets before it is torn down. */
        for (long spin = 0; spin < (cycle % 8) * 25; spin++) peer_service(peer, NULL);
        if (peer_destroy(peer) != PEER_RESULT_OK) failures++;
        atomic_store(&context->destroyed, 1);
        atomic_store(&current_peer, NULL);

        host_context **slot = &kept[cycle % KEEP_ALIVE];
        free(*slot);
        *slot = context;
    }
    atomic_store(&stop_servicing, 1);
    pthread_join(servicer, NULL);
    for (int i = 0; i < KEEP_ALIVE; i++) free(kept[i]);

    long late = atomic_load(&late_callbacks);
    printf("destroy_stress: %ld cycles, %ld service calls, %ld callbacks, %ld after destroy returned, "
           "%ld failed calls\n",
           cycles, atomic_load(&service_calls), atomic_load(&callbacks_seen), late, failures);
    return late == 0 && failures == 0 ? 0 : 1;
}
