/*
 * The ENet reference of `make bench-relay`: a relay and a load driver of the same shape as the
 * sealnet server and the sealnet driver (server/benches/relay.rs), built on Debian's libenet.
 *
 *   enet_reference relay PORT
 *       Rooms given by the connect data; every packet received goes, reliably and as one shared
 *       packet, to every member of the sender's room (the sender too). A new member is told it is in
 *       its room with a one-byte packet (the join response of sealnet's driver: over a lossy link the
 *       relay may learn of a connection later than the client does). Runs until SIGTERM.
 *   enet_reference load [HOST:]PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS
 *       CLIENTS clients (one ENet host each, all on this thread) in rooms of ROOM_SIZE. RATE > 0:
 *       each sends RATE events per second; RATE = 0: each keeps WINDOW events in flight (sent and
 *       not yet back). 128-byte events carry the sender, a sequence number and the send time.
 *   enet_reference handshakes [HOST:]PORT CONCURRENCY SECONDS
 *       Connects and disconnects, CONCURRENCY at a time.
 *
 * The drivers connect to 127.0.0.1 unless a HOST is given (a lossy link's relay, for instance).
 *
 * The driver prints "start" when its measured window begins, then "end ..." with the window's
 * figures as soon as it ends (the caller reads the server's CPU time on both lines), then "check ..."
 * with loss, duplicates and reordering once everything sent has arrived (or 10 s have passed).
 */
#define _GNU_SOURCE
#include <enet/enet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_BYTES 128
#define MAX_ROOMS 4096
#define MAX_ROOM_SIZE 64
#define MAX_CLIENTS 1024
#define RELAY_PEERS 256
/* Connect data of a handshake: no room, as sealnet's handshake driver joins none. */
#define NO_ROOM 0xFFFFFFFFu
/* Latency histogram: 100 ns buckets up to 100 ms, then 100 us buckets up to 10 s (the last bucket
 * takes everything above), so that a lossy link's retransmissions are measured too. */
#define FINE_NS 100ull
#define FINE_BUCKETS 1000000ull
#define COARSE_NS 100000ull
#define BUCKETS (FINE_BUCKETS + 99000ull)
/* How long the driver waits, after its window, for everything sent to reach every room member. */
#define DRAIN_NS 10000000000ull

static volatile sig_atomic_t running = 1;

static void on_term(int sig) {
    (void)sig;
    running = 0;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- relay ---- */

struct room {
    ENetPeer *members[MAX_ROOM_SIZE];
    int count;
};

static struct room rooms[MAX_ROOMS];

static int relay(int port) {
    ENetAddress address = {.host = ENET_HOST_ANY, .port = (enet_uint16)port};
    /* Sized for the benchmark (ENet walks every peer slot when it sends), not for ENet's maximum. */
    ENetHost *host = enet_host_create(&address, RELAY_PEERS, 1, 0, 0);
    if (!host) {
        fprintf(stderr, "enet relay: cannot listen on %d\n", port);
        return 1;
    }
    signal(SIGTERM, on_term);
    printf("ready\n");
    fflush(stdout);
    ENetEvent event;
    while (running) {
        int got = enet_host_service(host, &event, 10);
        while (got > 0) {
            if (event.type == ENET_EVENT_TYPE_CONNECT && event.data == NO_ROOM) {
                event.peer->data = NULL;
            } else if (event.type == ENET_EVENT_TYPE_CONNECT) {
                uint32_t index = event.data % MAX_ROOMS;
                struct room *room = &rooms[index];
                if (room->count < MAX_ROOM_SIZE) {
                    room->members[room->count++] = event.peer;
                    event.peer->data = room;
                    ENetPacket *joined = enet_packet_create("J", 1, ENET_PACKET_FLAG_RELIABLE);
                    if (enet_peer_send(event.peer, 0, joined) < 0) enet_packet_destroy(joined);
                } else {
                    enet_peer_disconnect_now(event.peer, 0);
                }
            } else if (event.type == ENET_EVENT_TYPE_DISCONNECT) {
                struct room *room = event.peer->data;
                for (int i = 0; room && i < room->count; i++) {
                    if (room->members[i] == event.peer) {
                        room->members[i] = room->members[--room->count];
                        break;
                    }
                }
                event.peer->data = NULL;
            } else if (event.type == ENET_EVENT_TYPE_RECEIVE) {
                struct room *room = event.peer->data;
                for (int i = 0; room && i < room->count; i++) {
                    enet_peer_send(room->members[i], 0, event.packet);
                }
                if (event.packet->referenceCount == 0) {
                    enet_packet_destroy(event.packet);
                }
            }
            got = enet_host_service(host, &event, 0);
        }
    }
    enet_host_destroy(host);
    return 0;
}

/* ---- load ---- */

struct client {
    ENetHost *host;
    ENetPeer *peer;
    int connected;
    int joined; /* the relay put it in its room */
    int room;
    int slot; /* index within the room */
    uint64_t sent;
    uint64_t echoed; /* own events back */
    uint64_t next_send_ns;
    uint64_t expected[MAX_ROOM_SIZE]; /* next sequence number from each member */
    uint64_t received[MAX_ROOM_SIZE];
};

struct totals {
    int clients;
    uint64_t deliveries;
    uint64_t duplicates;
    uint64_t reordered;
    uint32_t *histogram;
    int measuring;
};

static uint64_t bucket_of(uint64_t latency_ns) {
    uint64_t fine_end = FINE_BUCKETS * FINE_NS;
    if (latency_ns < fine_end) return latency_ns / FINE_NS;
    uint64_t bucket = FINE_BUCKETS + (latency_ns - fine_end) / COARSE_NS;
    return bucket < BUCKETS ? bucket : BUCKETS - 1;
}

static uint64_t bucket_middle_ns(uint64_t bucket) {
    if (bucket < FINE_BUCKETS) return bucket * FINE_NS + FINE_NS / 2;
    return FINE_BUCKETS * FINE_NS + (bucket - FINE_BUCKETS) * COARSE_NS + COARSE_NS / 2;
}

static void put_u64(uint8_t *at, uint64_t value) { memcpy(at, &value, 8); }
static uint64_t get_u64(const uint8_t *at) {
    uint64_t value;
    memcpy(&value, at, 8);
    return value;
}

static void on_event(struct client *clients, struct client *c, const uint8_t *data, size_t length,
                     struct totals *totals) {
    if (length < 24) return;
    uint32_t sender;
    memcpy(&sender, data, 4);
    if (sender >= (uint32_t)totals->clients) return;
    uint64_t seq = get_u64(data + 8);
    uint64_t sent_ns = get_u64(data + 16);
    int slot = clients[sender].slot;
    if (seq < c->expected[slot]) {
        totals->duplicates++;
        return;
    }
    if (seq > c->expected[slot]) totals->reordered++;
    c->expected[slot] = seq + 1;
    c->received[slot]++;
    if (&clients[sender] == c) c->echoed++;
    if (totals->measuring) {
        totals->deliveries++;
        uint64_t now = now_ns();
        totals->histogram[bucket_of(now > sent_ns ? now - sent_ns : 0)]++;
    }
}

static void send_event(struct client *c, int index) {
    uint8_t data[EVENT_BYTES] = {0};
    uint32_t sender = (uint32_t)index;
    memcpy(data, &sender, 4);
    put_u64(data + 8, c->sent);
    put_u64(data + 16, now_ns());
    ENetPacket *packet = enet_packet_create(data, EVENT_BYTES, ENET_PACKET_FLAG_RELIABLE);
    if (enet_peer_send(c->peer, 0, packet) < 0) {
        enet_packet_destroy(packet);
        return;
    }
    c->sent++;
}

static int service_host(struct client *clients, struct client *c, struct totals *totals) {
    int events = 0;
    ENetEvent event;
    while (enet_host_service(c->host, &event, 0) > 0) {
        events++;
        if (event.type == ENET_EVENT_TYPE_CONNECT) {
            c->connected = 1;
        } else if (event.type == ENET_EVENT_TYPE_DISCONNECT) {
            if (c->connected) fprintf(stderr, "enet load: client %d was disconnected\n", (int)(c - clients));
            c->connected = 0;
        } else if (event.type == ENET_EVENT_TYPE_RECEIVE) {
            if (event.packet->dataLength == 1) {
                c->joined = 1;
            } else {
                on_event(clients, c, event.packet->data, event.packet->dataLength, totals);
            }
            enet_packet_destroy(event.packet);
        }
    }
    return events;
}

/* Waits up to `timeout_ns` for a readable socket, then services the hosts that have input, and every
 * host at least every 5 ms (ENet's retransmissions and pings run inside enet_host_service). Returns
 * how many events arrived. */
static int service(struct client *clients, int count, uint64_t timeout_ns, struct totals *totals) {
    static struct pollfd fds[MAX_CLIENTS];
    static uint64_t last_full;
    for (int i = 0; i < count; i++) {
        fds[i].fd = clients[i].host->socket;
        fds[i].events = POLLIN;
        fds[i].revents = 0;
    }
    struct timespec timeout = {.tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u)};
    ppoll(fds, (nfds_t)count, &timeout, NULL);
    uint64_t now = now_ns();
    int full = now - last_full >= 5000000ull;
    if (full) last_full = now;
    int events = 0;
    for (int i = 0; i < count; i++) {
        if (full || (fds[i].revents & POLLIN)) events += service_host(clients, &clients[i], totals);
    }
    return events;
}

static double percentile_us(const uint32_t *histogram, uint64_t total, double p) {
    uint64_t rank = (uint64_t)((double)(total ? total - 1 : 0) * p / 100.0), seen = 0;
    for (uint64_t i = 0; i < BUCKETS; i++) {
        seen += histogram[i];
        if (seen > rank) return (double)bucket_middle_ns(i) / 1000.0;
    }
    return 0;
}

/* Events sent and not (yet) delivered to a member of the sender's room, summed over members. */
static uint64_t missing(const struct client *clients, int count, int room_size) {
    uint64_t missing = 0;
    for (int i = 0; i < count; i++) {
        for (int j = clients[i].room * room_size; j < count && clients[j].room == clients[i].room; j++) {
            uint64_t got = clients[i].received[clients[j].slot];
            missing += clients[j].sent > got ? clients[j].sent - got : 0;
        }
    }
    return missing;
}

static int load(ENetAddress address, int count, int room_size, double rate, int window, double seconds) {
    if (count > MAX_CLIENTS || room_size > MAX_ROOM_SIZE || room_size < 1) return 2;
    struct client *clients = calloc((size_t)count, sizeof *clients);
    struct totals totals = {.clients = count, .histogram = calloc(BUCKETS, sizeof(uint32_t))};
    if (!clients || !totals.histogram) {
        fprintf(stderr, "enet load: out of memory\n");
        return 1;
    }
    for (int i = 0; i < count; i++) {
        clients[i].host = enet_host_create(NULL, 1, 1, 0, 0);
        clients[i].room = i / room_size;
        clients[i].slot = i % room_size;
        if (clients[i].host) {
            clients[i].peer = enet_host_connect(clients[i].host, &address, 1, (enet_uint32)clients[i].room);
        }
        if (!clients[i].host || !clients[i].peer) {
            fprintf(stderr, "enet load: cannot create client %d\n", i);
            return 1;
        }
    }
    uint64_t deadline = now_ns() + 10000000000ull;
    for (int joined = 0; joined < count;) {
        if (now_ns() > deadline) {
            fprintf(stderr, "enet load: %d of %d clients connected and in their rooms\n", joined, count);
            return 1;
        }
        service(clients, count, 1000000, &totals);
        joined = 0;
        for (int i = 0; i < count; i++) joined += clients[i].connected && clients[i].joined;
    }
    uint64_t period = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
    uint64_t started = now_ns();
    for (int i = 0; i < count; i++) clients[i].next_send_ns = started + period * (uint64_t)i / (uint64_t)count;
    uint64_t window_start = started + 1000000000ull; /* one second of warm-up */
    uint64_t window_end = window_start + (uint64_t)(seconds * 1e9);
    uint64_t sent_at_start = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (!totals.measuring && now >= window_start) {
            totals.measuring = 1;
            for (int i = 0; i < count; i++) sent_at_start += clients[i].sent;
            printf("start\n");
            fflush(stdout);
        }
        if (now >= window_end) break;
        uint64_t next = now + 1000000;
        for (int i = 0; i < count; i++) {
            struct client *c = &clients[i];
            int sent = 0;
            if (period == 0) {
                for (; c->sent - c->echoed < (uint64_t)window; sent++) send_event(c, i);
            } else {
                for (; c->next_send_ns <= now; sent++) {
                    send_event(c, i);
                    c->next_send_ns += period;
                }
                if (c->next_send_ns < next) next = c->next_send_ns;
            }
            if (sent) enet_host_flush(c->host);
        }
        uint64_t now2 = now_ns();
        service(clients, count, next > now2 ? next - now2 : 0, &totals);
    }
    totals.measuring = 0;
    uint64_t sent_in_window = 0;
    for (int i = 0; i < count; i++) sent_in_window += clients[i].sent;
    sent_in_window -= sent_at_start;
    uint64_t total = totals.deliveries;
    printf("end deliveries=%llu sent=%llu p50_us=%.1f p90_us=%.1f p99_us=%.1f\n", (unsigned long long)total,
           (unsigned long long)sent_in_window, percentile_us(totals.histogram, total, 50),
           percentile_us(totals.histogram, total, 90), percentile_us(totals.histogram, total, 99));
    fflush(stdout);
    /* Everything sent must arrive at every member of the sender's room. */
    deadline = now_ns() + DRAIN_NS;
    uint64_t lost = missing(clients, count, room_size);
    while (lost > 0 && now_ns() < deadline) {
        service(clients, count, 1000000, &totals);
        lost = missing(clients, count, room_size);
    }
    printf("check lost=%llu duplicates=%llu reordered=%llu\n", (unsigned long long)lost,
           (unsigned long long)totals.duplicates, (unsigned long long)totals.reordered);
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        enet_peer_disconnect_now(clients[i].peer, 0);
        enet_host_destroy(clients[i].host);
    }
    free(totals.histogram);
    free(clients);
    return 0;
}

/* ---- handshakes ---- */

static int handshakes(ENetAddress address, int concurrency, double seconds) {
    if (concurrency > MAX_CLIENTS) return 2;
    ENetHost **hosts = calloc((size_t)concurrency, sizeof *hosts);
    if (!hosts) return 1;
    for (int i = 0; i < concurrency; i++) {
        hosts[i] = enet_host_create(NULL, 1, 1, 0, 0);
        if (!hosts[i] || !enet_host_connect(hosts[i], &address, 1, NO_ROOM)) {
            fprintf(stderr, "enet handshakes: cannot create client %d\n", i);
            return 1;
        }
    }
    uint64_t started = now_ns(), window_start = started + 500000000ull;
    uint64_t window_end = window_start + (uint64_t)(seconds * 1e9);
    uint64_t done = 0, counted = 0;
    int measuring = 0;
    static struct pollfd fds[MAX_CLIENTS];
    ENetEvent event;
    for (uint64_t now = started; now < window_end; now = now_ns()) {
        if (!measuring && now >= window_start) {
            measuring = 1;
            counted = done;
            printf("start\n");
            fflush(stdout);
        }
        for (int i = 0; i < concurrency; i++) {
            while (enet_host_service(hosts[i], &event, 0) > 0) {
                if (event.type == ENET_EVENT_TYPE_CONNECT) {
                    done++;
                    enet_peer_disconnect_now(event.peer, 0);
                    enet_host_connect(hosts[i], &address, 1, NO_ROOM);
                }
            }
            fds[i].fd = hosts[i]->socket;
            fds[i].events = POLLIN;
        }
        poll(fds, (nfds_t)concurrency, 1);
    }
    printf("end handshakes=%llu\n", (unsigned long long)(done - counted));
    printf("check lost=0 duplicates=0 reordered=0\n");
    fflush(stdout);
    for (int i = 0; i < concurrency; i++) enet_host_destroy(hosts[i]);
    free(hosts);
    return 0;
}

int main(int argc, char **argv) {
    if (enet_initialize() != 0) {
        fprintf(stderr, "enet: cannot initialise\n");
        return 1;
    }
    atexit(enet_deinitialize);
    if (argc == 3 && strcmp(argv[1], "relay") == 0) return relay(atoi(argv[2]));
    /* [HOST:]PORT */
    ENetAddress address = {.port = 0};
    char host[256] = "127.0.0.1";
    const char *port = argc > 2 ? argv[2] : "0";
    const char *colon = strrchr(port, ':');
    if (colon) {
        size_t length = (size_t)(colon - port);
        if (length == 0 || length >= sizeof host) {
            fprintf(stderr, "enet: bad address %s\n", port);
            return 2;
        }
        memcpy(host, port, length);
        host[length] = 0;
        port = colon + 1;
    }
    address.port = (enet_uint16)atoi(port);
    if (enet_address_set_host(&address, host) != 0) {
        fprintf(stderr, "enet: cannot resolve %s\n", host);
        return 2;
    }
    if (argc == 8 && strcmp(argv[1], "load") == 0)
        return load(address, atoi(argv[3]), atoi(argv[4]), atof(argv[5]), atoi(argv[6]), atof(argv[7]));
    if (argc == 5 && strcmp(argv[1], "handshakes") == 0)
        return handshakes(address, atoi(argv[3]), atof(argv[4]));
    fprintf(stderr,
            "usage: enet_reference relay PORT\n"
            "       enet_reference load [HOST:]PORT CLIENTS ROOM_SIZE RATE WINDOW SECONDS\n"
            "       enet_reference handshakes [HOST:]PORT CONCURRENCY SECONDS\n");
    return 2;
}
