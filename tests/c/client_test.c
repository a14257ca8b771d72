/*
 * The realtime client through the C ABI (peer_client_*), against a live server of role "all"
 * (scripts/with-server.sh): a login, room requests and their error codes, two players in one room
 * exchanging an event, the room's properties (compare-and-set), players, master client and targeted
 * events, leaving back to the master, the lobby's room list, the calls refused in the wrong state,
 * bad arguments, and a destroyed handle. The switch between a master and game servers is the same code
 * (server/tests/cluster.rs runs it over separate processes). Needs SEALNET_SERVER_ADDR and
 * SEALNET_SERVER_KEY; run under AddressSanitizer and UndefinedBehaviorSanitizer; prints
 * "N passed, N failed" last and exits non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "test_support.h"

/* What one player saw. */
typedef struct {
    peer_client_t *client;
    uint32_t state;
    int joined;
    char room[64];
    int32_t actor;
    size_t actors;
    int failures;
    int16_t last_failure;
    int events;
    int64_t last_data;
    int encrypted;
    int rejoined;
    int targeted; /* events of code 10 */
    int set_answers; /* responses to SetProperties */
    int16_t last_set_code;
} player;

static const char *address;
static uint8_t key[32];

/* peer_room_options_t as a host compiled against 0.3 has it: 16 bytes, before PlayerTtl and the rest. */
typedef struct {
    uint32_t struct_size;
    uint32_t max_players;
    uint8_t is_open;
    uint8_t is_visible;
    uint8_t reserved[6];
} room_options_layout_1;

static int hex_key(const char *hex, uint8_t out[32]) {
    if (hex == NULL || strlen(hex) != 64) return 0;
    for (int i = 0; i < 32; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return 0;
        out[i] = (uint8_t)byte;
    }
    return 1;
}

/* Takes every queued client event into `p`. */
static void drain(player *p) {
    peer_client_event_t event;
    while (peer_client_poll(p->client, &event) == PEER_RESULT_OK) {
        switch (event.kind) {
        case PEER_CLIENT_EVENT_STATE_CHANGED: p->state = event.state; break;
        case PEER_CLIENT_EVENT_JOINED:
            p->joined++;
            snprintf(p->room, sizeof p->room, "%s", event.room);
            p->actor = event.actor;
            p->actors = event.actor_count;
            p->rejoined = event.rejoined;
            break;
        case PEER_CLIENT_EVENT_FAILED:
            p->failures++;
            p->last_failure = event.return_code;
            break;
        case PEER_CLIENT_EVENT_EVENT:
            if (event.event.code == 9) {
                p->events++;
                p->encrypted = event.event.encrypted;
                peer_value_t value;
                if (peer_params_get(event.event.params, 245, &value) == PEER_RESULT_OK) p->last_data = value.integer;
            }
            if (event.event.code == 10) p->targeted++;
            break;
        case PEER_CLIENT_EVENT_RESPONSE:
            if (event.response.op_code == PEER_OP_CODE_SET_PROPERTIES) {
                p->set_answers++;
                p->last_set_code = event.response.return_code;
            }
            break;
        default: break;
        }
    }
}

/* Polls (waiting in peer_client_wait, never a fixed sleep) until `done` holds, for at most 6 s. */
static int until(player *p, int (*done)(const player *)) {
    for (int i = 0; i < 300; i++) {
        drain(p);
        if (done(p)) return 1;
        peer_client_wait(p->client, 20);
    }
    return 0;
}

static int at_master(const player *p) { return p->state == PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER; }
static int in_room(const player *p) { return p->state == PEER_CLIENT_STATE_JOINED; }
static int failed_once_more(const player *p) { return p->failures > 0 && at_master(p); }
static int got_event(const player *p) { return p->events > 0; }

static int set_answered(const player *p) { return p->set_answers > 0; }
static int got_targeted(const player *p) { return p->targeted > 0; }

/* The Int under string key `name` in a table, or -1. */
static int64_t int_of(const peer_table_t *table, const char *name) {
    peer_value_t key = {0}, value;
    key.type = PEER_VALUE_TYPE_STRING;
    key.data = name;
    key.len = strlen(name);
    if (peer_table_get(table, &key, &value) != PEER_RESULT_OK || value.type != PEER_VALUE_TYPE_INT) return -1;
    return value.integer;
}

/* The room property `name` as `p` sees it, or -1. */
static int64_t room_property(const player *p, const char *name) {
    peer_table_t *properties = NULL;
    if (peer_client_room_properties(p->client, &properties) != PEER_RESULT_OK) return -1;
    int64_t found = int_of(properties, name);
    peer_table_free(properties);
    return found;
}

/* A table of one Int under string key `name`. */
static peer_table_t *one_int(const char *name, int32_t number) {
    peer_table_t *table = NULL;
    peer_value_t key = {0}, value = {0};
    key.type = PEER_VALUE_TYPE_STRING;
    key.data = name;
    key.len = strlen(name);
    value.type = PEER_VALUE_TYPE_INT;
    value.integer = number;
    CHECK(peer_table_new(&table) == PEER_RESULT_OK && peer_table_put(table, &key, &value) == PEER_RESULT_OK,
          "a table of one entry");
    return table;
}

/* Polls `p` until its view of the room property `name` is `want`, for at most 6 s. */
static int until_property(player *p, const char *name, int64_t want) {
    for (int i = 0; i < 300; i++) {
        drain(p);
        if (room_property(p, name) == want) return 1;
        peer_client_wait(p->client, 20);
    }
    return 0;
}

static int32_t master_of(const player *p) {
    int32_t master = 0;
    return peer_client_master_client(p->client, &master) == PEER_RESULT_OK ? master : 0;
}

/*
 * Room features through the C calls, alice and bob in c-room (alice created it with "map" 1, listed
 * in the lobby): properties with compare-and-set, the players and their properties, the master
 * client handed over, an event to one target actor, and the refusals of bad arguments.
 */
static void room_features(player *alice, player *bob) {
    CHECK(room_property(bob, "map") == 1, "bob sees the room's first properties");
    peer_table_t *changes = one_int("map", 3);
    CHECK(peer_client_set_room_properties(alice->client, changes, NULL) == PEER_RESULT_OK, "alice sets map 3");
    CHECK(until_property(bob, "map", 3), "bob's view follows");
    peer_table_free(changes);

    changes = one_int("map", 4);
    peer_table_t *expected = one_int("map", 1);
    CHECK(peer_client_set_room_properties(bob->client, changes, expected) == PEER_RESULT_OK, "bob sets if map is 1");
    CHECK(until(bob, set_answered), "bob's compare-and-set is answered");
    CHECK(bob->last_set_code == PEER_RETURN_CODE_PROPERTIES_CONFLICT, "as a conflict (-14)");
    CHECK(room_property(bob, "map") == 3, "and nothing changed");
    peer_table_free(expected);
    expected = one_int("map", 3);
    bob->set_answers = 0;
    CHECK(peer_client_set_room_properties(bob->client, changes, expected) == PEER_RESULT_OK, "bob sets if map is 3");
    CHECK(until(bob, set_answered) && bob->last_set_code == PEER_RETURN_CODE_OK, "which succeeds");
    CHECK(until_property(alice, "map", 4), "alice's view follows");
    peer_table_free(expected);
    peer_table_free(changes);

    int32_t actors[2] = {0, 0};
    size_t count = 0;
    CHECK(peer_client_players(bob->client, actors, 1, &count) == PEER_RESULT_BUFFER_TOO_SMALL && count == 2,
          "one slot is too small for two players, and the count is given");
    CHECK(peer_client_players(bob->client, actors, 2, &count) == PEER_RESULT_OK, "the players");
    CHECK(actors[0] == alice->actor && actors[1] == bob->actor, "alice and bob, ascending");
    changes = one_int("score", 7);
    CHECK(peer_client_set_player_properties(bob->client, bob->actor, changes, NULL) == PEER_RESULT_OK, "bob's score");
    peer_table_free(changes);
    int score = 0;
    for (int i = 0; i < 300 && score != 7; i++) {
        drain(alice);
        peer_table_t *properties = NULL;
        if (peer_client_player_properties(alice->client, bob->actor, &properties) == PEER_RESULT_OK) {
            score = (int)int_of(properties, "score");
            peer_table_free(properties);
        }
        if (score != 7) peer_client_wait(alice->client, 20);
    }
    CHECK(score == 7, "alice sees bob's score");
    peer_table_t *none = NULL;
    CHECK(peer_client_player_properties(alice->client, 99, &none) == PEER_RESULT_NOT_FOUND && none == NULL,
          "no player 99, and nothing written");

    CHECK(master_of(alice) == alice->actor && master_of(bob) == alice->actor, "alice, who created it, is master");
    CHECK(peer_client_set_master_client(alice->client, bob->actor) == PEER_RESULT_OK, "alice hands it to bob");
    for (int i = 0; i < 300 && master_of(bob) != bob->actor; i++) {
        drain(bob);
        peer_client_wait(bob->client, 20);
    }
    CHECK(master_of(bob) == bob->actor, "bob is master");

    peer_raise_event_options_t raise;
    CHECK(peer_raise_event_options_default(&raise, sizeof raise) == PEER_RESULT_OK, "raise options");
    CHECK(raise.receivers == PEER_RECEIVERS_OTHERS && raise.cache == PEER_EVENT_CACHE_NONE, "to the others, uncached");
    const int32_t target = alice->actor;
    raise.receivers = PEER_RECEIVERS_ALL;
    raise.target_actors = &target;
    raise.target_actor_count = 1;
    CHECK(peer_client_raise_event_with(bob->client, 10, NULL, &raise, NULL) == PEER_RESULT_OK, "bob raises to alice");
    /* Then one to everyone: when bob has it, the targeted one, sent before, would have come too. */
    raise.target_actors = NULL;
    raise.target_actor_count = 0;
    peer_value_t data = {0};
    data.type = PEER_VALUE_TYPE_INT;
    data.integer = 5;
    bob->events = 0;
    CHECK(peer_client_raise_event_with(bob->client, 9, &data, &raise, NULL) == PEER_RESULT_OK, "bob raises to all");
    CHECK(until(alice, got_targeted), "alice gets the targeted event");
    CHECK(until(bob, got_event) && bob->last_data == 5, "bob gets his own event to all");
    CHECK(bob->targeted == 0, "but not the one to alice");

    raise.receivers = 9;
    CHECK(peer_client_raise_event_with(bob->client, 10, NULL, &raise, NULL) == PEER_RESULT_INVALID_ARGUMENT,
          "an unknown receivers value is refused");
    raise.receivers = PEER_RECEIVERS_OTHERS;
    raise.target_actor_count = 1;
    CHECK(peer_client_raise_event_with(bob->client, 10, NULL, &raise, NULL) == PEER_RESULT_NULL_PARAMETER,
          "target actors counted but NULL");
    CHECK(peer_client_set_room_properties(bob->client, NULL, NULL) == PEER_RESULT_NULL_PARAMETER, "NULL changes");
    changes = one_int("score", 1);
    CHECK(peer_client_set_player_properties(bob->client, 0, changes, NULL) == PEER_RESULT_INVALID_ARGUMENT,
          "actor 0 is no player");
    peer_table_free(changes);
    const uint8_t groups[] = {1, 2};
    CHECK(peer_client_change_groups(bob->client, NULL, 2, groups, 2) == PEER_RESULT_NULL_PARAMETER,
          "groups counted but NULL");
    CHECK(peer_client_change_groups(bob->client, NULL, 0, groups, 2) == PEER_RESULT_OK, "bob joins groups 1 and 2");
    uint8_t rejoining = 9;
    CHECK(peer_client_is_rejoining(bob->client, &rejoining) == PEER_RESULT_OK && rejoining == 0, "not rejoining");
    CHECK(bob->rejoined == 0 && alice->rejoined == 0, "both joined, neither rejoined");
    CHECK(peer_client_join_lobby(bob->client) == PEER_RESULT_WRONG_STATE, "no lobby inside a room");
}

/* At the master, alice in the lobby finds c-room listed with its listed property. */
static void lobby(player *alice) {
    CHECK(peer_client_join_lobby(alice->client) == PEER_RESULT_OK, "alice joins the lobby");
    int64_t map = -1;
    for (int i = 0; i < 300 && map != 4; i++) {
        drain(alice);
        peer_table_t *list = NULL;
        if (peer_client_room_list(alice->client, &list) == PEER_RESULT_OK) {
            peer_value_t name = {0}, entry;
            name.type = PEER_VALUE_TYPE_STRING;
            name.data = "c-room";
            name.len = 6;
            if (peer_table_get(list, &name, &entry) == PEER_RESULT_OK && entry.type == PEER_VALUE_TYPE_TABLE) {
                map = int_of(entry.table, "map");
            }
            peer_table_free(list);
        }
        if (map != 4) peer_client_wait(alice->client, 20);
    }
    CHECK(map == 4, "the lobby lists c-room with its map");
    CHECK(peer_client_leave_lobby(alice->client) == PEER_RESULT_OK, "alice leaves the lobby");
    peer_table_t *list = NULL;
    size_t rooms = 1;
    CHECK(peer_client_room_list(alice->client, &list) == PEER_RESULT_OK, "the list is still readable");
    CHECK(peer_table_count(list, &rooms) == PEER_RESULT_OK && rooms == 0, "and empty");
    peer_table_free(list);
}

static void create(player *p) {
    memset(p, 0, sizeof *p);
    peer_client_config_t config;
    CHECK(peer_client_config_default(&config, sizeof config) == PEER_RESULT_OK, "client config defaults");
    const char *masters[] = {address};
    config.masters = masters;
    config.master_count = 1;
    config.pin_master_key = 1;
    memcpy(config.master_public_key, key, 32);
    config.app_id = "demo";
    CHECK(peer_client_create(&config, &p->client) == PEER_RESULT_OK, "client created");
    CHECK(peer_client_state(p->client, &p->state) == PEER_RESULT_OK, "state readable");
    CHECK(p->state == PEER_CLIENT_STATE_PEER_CREATED, "a new client is PeerCreated");
}

static void expect_failure(player *p, int16_t code, const char *what) {
    p->failures = 0;
    CHECK(until(p, failed_once_more), what);
    CHECK(p->last_failure == code, what);
}

int main(void) {
    address = getenv("SEALNET_SERVER_ADDR");
    if (address == NULL || !hex_key(getenv("SEALNET_SERVER_KEY"), key)) {
        fprintf(stderr, "client_test: SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY are needed (scripts/with-server.sh)\n");
        return 2;
    }
    player alice, bob;
    create(&alice);
    create(&bob);

    CHECK(peer_client_join_room(alice.client, "early") == PEER_RESULT_WRONG_STATE, "no room request before login");
    CHECK(peer_client_raise_event(alice.client, 9, NULL, NULL) == PEER_RESULT_WRONG_STATE, "no event before a room");
    CHECK(peer_client_connect(alice.client, NULL) == PEER_RESULT_OK, "alice logs in anonymously");
    peer_auth_values_t *values = NULL;
    CHECK(peer_auth_values_new(PEER_AUTH_NONE, &values) == PEER_RESULT_OK, "auth values");
    CHECK(peer_client_connect(bob.client, values) == PEER_RESULT_OK, "bob logs in with values");
    peer_auth_values_free(values);
    CHECK(until(&alice, at_master) && until(&bob, at_master), "both at the master");
    uint8_t seen_key[32];
    CHECK(peer_client_server_public_key(alice.client, seen_key) == PEER_RESULT_OK, "the server's key");
    CHECK(memcmp(seen_key, key, 32) == 0, "it is the pinned key");

    CHECK(peer_client_join_room(alice.client, "c-nowhere") == PEER_RESULT_OK, "join a missing room");
    expect_failure(&alice, PEER_RETURN_CODE_GAME_DOES_NOT_EXIST, "GameDoesNotExist");
    CHECK(peer_client_join_random_room(alice.client) == PEER_RESULT_OK, "join at random");
    expect_failure(&alice, PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND, "NoRandomMatchFound with no room");

    peer_room_options_t options;
    CHECK(peer_room_options_default(&options, sizeof options) == PEER_RESULT_OK, "room options defaults");
    CHECK(options.is_open == 1 && options.is_visible == 1 && options.max_players == 0, "open, visible, no limit");
    options.max_players = 2;
    options.custom_properties = one_int("map", 1);
    const char *listed[] = {"map"};
    options.listed_in_lobby = listed;
    options.listed_in_lobby_count = 1;
    CHECK(peer_client_create_room(alice.client, "c-room", &options) == PEER_RESULT_OK, "alice creates");
    peer_table_free((peer_table_t *)options.custom_properties);
    options.custom_properties = NULL;
    options.listed_in_lobby = NULL;
    options.listed_in_lobby_count = 0;
    CHECK(until(&alice, in_room), "alice is in");
    CHECK(strcmp(alice.room, "c-room") == 0 && alice.actors == 1, "alone in c-room");
    CHECK(peer_client_create_room(bob.client, "c-room", NULL) == PEER_RESULT_OK, "bob creates the same room");
    expect_failure(&bob, PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS, "GameIdAlreadyExists");
    CHECK(peer_client_join_or_create_room(bob.client, "c-room", NULL) == PEER_RESULT_OK, "bob joins it");
    CHECK(until(&bob, in_room), "bob is in");
    CHECK(bob.actors == 2 && bob.actor != alice.actor, "two players, two actor numbers");
    int32_t actor = 0;
    CHECK(peer_client_actor_number(bob.client, &actor) == PEER_RESULT_OK && actor == bob.actor, "bob's actor number");
    char name[16];
    size_t name_len = 0;
    CHECK(peer_client_room_name(bob.client, name, sizeof name, &name_len) == PEER_RESULT_OK, "bob's room");
    CHECK(strcmp(name, "c-room") == 0 && name_len == 6, "is c-room");
    CHECK(peer_client_room_name(bob.client, name, 6, &name_len) == PEER_RESULT_BUFFER_TOO_SMALL && name_len == 6,
          "a buffer without room for the NUL is too small, and the length is given");
    /* Any other operation goes on the current connection; its response comes back as such. */
    CHECK(peer_client_send_operation(bob.client, 1, NULL, NULL) == PEER_RESULT_OK, "an operation of bob's own");
    peer_client_event_t response;
    int answered = 0;
    for (int i = 0; i < 300 && !answered; i++) {
        while (peer_client_poll(bob.client, &response) == PEER_RESULT_OK) {
            if (response.kind == PEER_CLIENT_EVENT_RESPONSE && response.response.op_code == 1) {
                answered = response.response.return_code == PEER_RETURN_CODE_INVALID_OPERATION;
            }
        }
        if (!answered) peer_client_wait(bob.client, 20);
    }
    CHECK(answered, "answered as an unknown operation (-2)");

    peer_value_t data = {0};
    data.type = PEER_VALUE_TYPE_INT;
    data.integer = 42;
    peer_send_options_t send;
    CHECK(peer_send_options_default(&send, sizeof send) == PEER_RESULT_OK, "send options");
    send.encrypt = 1;
    CHECK(peer_client_raise_event(alice.client, 9, &data, &send) == PEER_RESULT_OK, "alice raises");
    CHECK(until(&bob, got_event), "bob gets it");
    CHECK(bob.last_data == 42 && bob.encrypted == 1, "with its data, encrypted");
    CHECK(peer_client_raise_event(alice.client, 200, NULL, NULL) == PEER_RESULT_INVALID_ARGUMENT, "codes above 199 are the server's");
    room_features(&alice, &bob);

    CHECK(peer_client_leave_room(alice.client) == PEER_RESULT_OK, "alice leaves");
    CHECK(until(&alice, at_master), "back at the master");
    CHECK(peer_client_leave_room(alice.client) == PEER_RESULT_WRONG_STATE, "no leave outside a room");
    CHECK(peer_client_actor_number(alice.client, &actor) == PEER_RESULT_WRONG_STATE, "no actor outside a room");
    CHECK(peer_client_master_client(alice.client, &actor) == PEER_RESULT_WRONG_STATE, "no master outside a room");
    lobby(&alice);
    room_options_layout_1 old = {sizeof old, 3, 1, 1, {0}};
    CHECK(peer_client_create_room(alice.client, "c-old", (const peer_room_options_t *)&old) == PEER_RESULT_OK,
          "a host with the 0.3 room options creates a room");
    CHECK(until(&alice, in_room), "and is in it");
    CHECK(peer_client_leave_room(alice.client) == PEER_RESULT_OK && until(&alice, at_master), "and leaves");

    options.reserved[0] = 1;
    CHECK(peer_client_create_room(alice.client, "x", &options) == PEER_RESULT_INVALID_ARGUMENT, "reserved must be zero");
    CHECK(peer_client_create(NULL, &alice.client) == PEER_RESULT_NULL_PARAMETER, "NULL config");
    peer_client_config_t empty;
    peer_client_t *none = NULL;
    CHECK(peer_client_config_default(&empty, sizeof empty) == PEER_RESULT_OK, "defaults");
    CHECK(peer_client_create(&empty, &none) == PEER_RESULT_INVALID_ARGUMENT && none == NULL, "no master, no client");
    peer_config_t manual;
    CHECK(peer_config_default(&manual, sizeof manual) == PEER_RESULT_OK, "peer defaults");
    manual.auto_key_exchange = 0;
    const char *one[] = {address};
    empty.masters = one;
    empty.master_count = 1;
    empty.app_id = "demo";
    empty.peer = &manual;
    CHECK(peer_client_create(&empty, &none) == PEER_RESULT_INVALID_ARGUMENT && none == NULL,
          "the client needs the automatic key exchange");

    CHECK(peer_client_destroy(alice.client) == PEER_RESULT_OK, "alice destroyed");
    CHECK(peer_client_destroy(alice.client) == PEER_RESULT_INVALID_PEER, "twice is refused");
    peer_client_event_t event;
    CHECK(peer_client_poll(alice.client, &event) == PEER_RESULT_INVALID_PEER, "a destroyed client gives nothing");
    peer_client_disconnect(bob.client);
    bob.state = 0;
    for (int i = 0; i < 300 && bob.state != PEER_CLIENT_STATE_DISCONNECTED; i++) {
        drain(&bob);
        peer_client_wait(bob.client, 20);
    }
    CHECK(bob.state == PEER_CLIENT_STATE_DISCONNECTED, "bob disconnected");
    CHECK(peer_client_destroy(bob.client) == PEER_RESULT_OK, "bob destroyed");

    printf("client_test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
