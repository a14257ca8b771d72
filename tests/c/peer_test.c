/*
 * C-side test of the sealnet API over loopback, run under AddressSanitizer and UndefinedBehaviorSanitizer
 * (and Valgrind without them). Needs SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY (scripts/with-server.sh).
 * Prints "N passed, N failed" last and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

int main(void) {
    const char *address = getenv("SEALNET_SERVER_ADDR");
    uint8_t key[32];
    if (!address || !server_key(key)) {
        fprintf(stderr, "run through scripts/with-server.sh\n");
        return 2;
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

    return report();
}
