// Tests of sealnet::RealtimeClient (the realtime client, peer_client_*) against a live sealnet-server
// of role "all" (scripts/with-server.sh), where the client joins rooms without switching servers:
// an anonymous login and one with AuthValues, room requests and their return codes, an operation of
// its own (send_operation) and its response, two players in one room exchanging an encrypted event
// with data, the room getters (actor_number, room_name; also when ClientStateChanged reports Joined),
// leaving back to the master, the calls refused in the wrong state, bad arguments, and empty,
// moved-from and moved-over clients. Then a room session of three players with the room features:
// a room created with custom properties, a listed property, a PlayerTtl and an EmptyRoomTtl; the
// lobby's room list and its update; compare-and-set of room properties (success, conflict) seen by
// the other player; player properties and nicknames; the master client handed over and passed on
// when it leaves; events to target actors, to an interest group (joined, then every group left), to
// the master client; cached events reaching a late joiner before live ones, and their removal; and
// the argument errors of the new calls (also through the raw C calls).
//
// With scripts/with-server.sh --backend the session's second player authenticates with the guest's
// connection token (SEALNET_TEST_CONNECTION_TOKEN) and the others see its nickname
// (SEALNET_TEST_NICKNAME); without, it plays anonymously and has no nickname.
//
// The server address comes from SEALNET_SERVER_ADDR ("host:port") and its public key (hex) from
// SEALNET_SERVER_KEY; the app id is "demo". Every wait blocks in RealtimeClient::wait() with a
// deadline, never in a fixed sleep. The last line printed is "N passed, N failed"; the exit status is
// non-zero on any failure.

#include "sealnet.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

namespace sn = sealnet;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kAppId[] = "demo";
constexpr uint8_t kParamData = 245;
constexpr uint8_t kEventCode = 9;
constexpr uint8_t kPlainEventCode = 10;
constexpr uint8_t kOpJoinRoom = 226;
constexpr uint8_t kOpCreateRoom = 227;
constexpr uint8_t kOpJoinRandomRoom = 225;
constexpr uint8_t kOpUnknown = 1;  // an operation code the server does not know
constexpr auto kDeadline = 10s;

// The room session's event codes. An event that must not reach a player is followed by a marker
// from the same sender to that player: the server relays one sender's events in order, so once the
// marker is in, the other event would have been too.
constexpr uint8_t kCachedCode = 20;
constexpr uint8_t kLiveCode = 21;
constexpr uint8_t kTargetedCode = 30;
constexpr uint8_t kGroupCode = 40;
constexpr uint8_t kToMasterCode = 50;
constexpr uint8_t kMarkerCode = 60;
constexpr uint8_t kGroup = 5;

// ---------------------------------------------------------------------------------------------
// A tiny test runner, as in peer_test.cpp: a case fails when any CHECK in it fails or it throws.
// ---------------------------------------------------------------------------------------------

bool g_case_failed = false;
int g_passed = 0;
int g_failed = 0;

bool check(bool ok, const char* what, int line) {
  if (!ok) {
    g_case_failed = true;
    std::fprintf(stderr, "    check failed (line %d): %s\n", line, what);
  }
  return ok;
}
#define CHECK(cond) check(static_cast<bool>(cond), #cond, __LINE__)
#define CHECK_OK(expr)                                                                       \
  do {                                                                                       \
    const auto& check_result_ = (expr);                                                      \
    if (!check(check_result_.ok(), #expr, __LINE__)) {                                       \
      std::fprintf(stderr, "    -> %s (%s)\n", check_result_.message(), sn::last_error()); \
    }                                                                                        \
  } while (0)
#define CHECK_CODE(expr, expected)                                                                       \
  do {                                                                                                   \
    const auto check_code_ = (expr).code();                                                              \
    if (!check(check_code_ == (expected), #expr " gives " #expected, __LINE__)) {                        \
      std::fprintf(stderr, "    -> got %u (%s)\n", static_cast<unsigned>(check_code_), sn::last_error()); \
    }                                                                                                    \
  } while (0)

void run_case(const char* name, const std::function<void()>& body) {
  g_case_failed = false;
  try {
    body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "    unexpected exception: %s\n", error.what());
    g_case_failed = true;
  } catch (...) {
    std::fprintf(stderr, "    unexpected exception of unknown type\n");
    g_case_failed = true;
  }
  if (g_case_failed) {
    ++g_failed;
    std::printf("FAIL %s\n", name);
  } else {
    ++g_passed;
    std::printf("ok   %s\n", name);
  }
  std::fflush(stdout);
}

struct World {
  std::string address;
  sn::PublicKey server_key{};
  std::string prefix;  // room names unique to this run
};

sn::ClientConfig client_config(const World& w) {
  sn::ClientConfig config;
  config.masters = {w.address};
  config.pinned_master_key = w.server_key;
  config.app_id = kAppId;
  config.app_version = "cpp client_test";
  return config;
}

// ---------------------------------------------------------------------------------------------
// A player: a client and what it has polled so far (everything copied by poll()).
// ---------------------------------------------------------------------------------------------

struct Player {
  sn::RealtimeClient client;
  std::vector<sn::ClientState> states;  // from ClientStateChanged, in order
  std::vector<sn::ClientStatus> statuses;
  std::vector<sn::ClientJoined> joins;
  std::vector<sn::ClientFailed> failures;
  std::vector<sn::OwnedEvent> events;
  std::vector<sn::OwnedResponse> responses;
  // actor_number() and room_name() as read when the latest ClientStateChanged to Joined was polled.
  std::optional<int32_t> actor_at_joined;
  std::optional<std::string> room_at_joined;

  std::optional<sn::ClientState> last_state() const {
    if (states.empty()) return std::nullopt;
    return states.back();
  }
  bool at(sn::ClientState state) const { return last_state() == state; }
  bool has_status(uint32_t code) const {
    for (const auto& status : statuses) {
      if (status.status == code) return true;
    }
    return false;
  }
  const sn::OwnedEvent* find_event(uint8_t code) const {
    for (const auto& event : events) {
      if (event.code == code) return &event;
    }
    return nullptr;
  }
  size_t count_responses(uint8_t op_code) const {
    size_t count = 0;
    for (const auto& response : responses) {
      if (response.op_code == op_code) ++count;
    }
    return count;
  }
  const sn::OwnedResponse* last_response(uint8_t op_code) const {
    const sn::OwnedResponse* found = nullptr;
    for (const auto& response : responses) {
      if (response.op_code == op_code) found = &response;
    }
    return found;
  }
  // Events of `code` from index `from` on (and, with `data`, holding that Int under key 245).
  size_t count_events(uint8_t code, size_t from = 0, std::optional<int32_t> data = std::nullopt) const {
    size_t count = 0;
    for (size_t i = from; i < events.size(); ++i) {
      if (events[i].code != code) continue;
      if (data && events[i].params.get<int32_t>(kParamData) != data) continue;
      ++count;
    }
    return count;
  }
  bool has_event(uint8_t code, int32_t data, size_t from = 0) const { return count_events(code, from, data) > 0; }
  // The index of the first event of `code` holding `data`, or events.size().
  size_t index_of(uint8_t code, int32_t data) const {
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].code == code && events[i].params.get<int32_t>(kParamData) == std::optional<int32_t>(data)) return i;
    }
    return events.size();
  }

  // Takes every queued client event.
  void drain() {
    while (auto polled = client.poll()) {
      std::visit(
          [this](auto&& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, sn::ClientStateChanged>) {
              states.push_back(e.state);
              if (e.state == sn::ClientState::Joined) {
                const auto actor = client.actor_number();
                actor_at_joined = actor.ok() ? std::optional<int32_t>(*actor) : std::nullopt;
                const auto room = client.room_name();
                room_at_joined = room.ok() ? std::optional<std::string>(*room) : std::nullopt;
              }
            } else if constexpr (std::is_same_v<E, sn::ClientStatus>) {
              statuses.push_back(std::move(e));
            } else if constexpr (std::is_same_v<E, sn::ClientJoined>) {
              joins.push_back(std::move(e));
            } else if constexpr (std::is_same_v<E, sn::ClientFailed>) {
              failures.push_back(std::move(e));
            } else if constexpr (std::is_same_v<E, sn::OwnedEvent>) {
              events.push_back(std::move(e));
            } else {
              responses.push_back(std::move(e));
            }
          },
          std::move(*polled));
    }
  }

  // Polls until `done` holds, blocking in wait() in between, for at most kDeadline.
  bool until(const std::function<bool(const Player&)>& done) {
    const auto deadline = Clock::now() + kDeadline;
    for (;;) {
      drain();
      if (done(*this)) return true;
      const auto now = Clock::now();
      if (now >= deadline) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      const auto waited = client.wait(left < 200ms ? left : 200ms);
      // Nothing can arrive any more: one last look, then give up.
      if (waited.code() == sn::ErrorCode::NotConnected || waited.code() == sn::ErrorCode::InvalidPeer) {
        drain();
        return done(*this);
      }
    }
  }

  bool until_state(sn::ClientState state) {
    return until([state](const Player& p) { return p.at(state); });
  }

  // The next failure after the `before` seen so far, with the client at the master again.
  std::optional<sn::ClientFailed> next_failure() {
    const size_t before = failures.size();
    const bool ok = until([before](const Player& p) {
      return p.failures.size() > before && p.at(sn::ClientState::ConnectedToMasterServer);
    });
    if (!ok) return std::nullopt;
    return failures[before];
  }
};

std::optional<Player> make_player(const World& w) {
  auto created = sn::RealtimeClient::create(client_config(w));
  CHECK_OK(created);
  if (!created.ok()) return std::nullopt;
  Player player;
  player.client = std::move(created).value();
  return player;
}

void expect_empty(sn::RealtimeClient& client) {
  CHECK(!client.valid());
  CHECK(!client);
  CHECK(client.native_handle() == nullptr);
  CHECK_CODE(client.connect(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.join_or_create_room("x"), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.create_room(std::nullopt), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.join_room("x"), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.join_random_room(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.leave_room(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.raise_event(kEventCode, 1), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.wait(10ms), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.state(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.server_public_key(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.send_operation(kOpUnknown), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.actor_number(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.room_name(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.disconnect(), sn::ErrorCode::InvalidPeer);
  sn::Table changes;
  CHECK_OK(changes.put("k", 1));
  CHECK_CODE(client.raise_event(kEventCode, 1, sn::RaiseEventOptions()), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.set_room_properties(changes), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.set_player_properties(1, changes), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.set_master_client(1), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.change_groups(std::nullopt, std::nullopt), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.join_lobby(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.leave_lobby(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.master_client(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.room_properties(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.players(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.player_properties(1), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.player(1), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.room_list(), sn::ErrorCode::InvalidPeer);
  CHECK_CODE(client.is_rejoining(), sn::ErrorCode::InvalidPeer);
  CHECK(!client.poll().has_value());
  client.reset();  // safe on an empty client
  CHECK(!client.valid());
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

void test_bad_config(const World& w) {
  sn::ClientConfig none = client_config(w);
  none.masters.clear();
  auto created = sn::RealtimeClient::create(none);
  CHECK_CODE(created, sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "master_count") != nullptr);

  sn::ClientConfig too_many = client_config(w);
  too_many.masters.assign(65, w.address);
  CHECK_CODE(sn::RealtimeClient::create(too_many), sn::ErrorCode::InvalidArgument);

  sn::ClientConfig nul = client_config(w);
  nul.app_id = std::string("de\0mo", 5);
  CHECK_CODE(sn::RealtimeClient::create(nul), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "app id") != nullptr);

  sn::ClientConfig bad_timeout = client_config(w);
  bad_timeout.ping_interval = 0ms;
  CHECK_CODE(sn::RealtimeClient::create(bad_timeout), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "ping_interval") != nullptr);
}

void test_empty_and_moved_clients(const World& w) {
  sn::RealtimeClient empty;
  expect_empty(empty);

  auto created = sn::RealtimeClient::create(client_config(w));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::RealtimeClient first = std::move(created).value();
  CHECK(first.valid());
  sn::RealtimeClient second(std::move(first));
  expect_empty(first);  // NOLINT(bugprone-use-after-move): a moved-from client is empty and safe
  CHECK(second.valid());
  const auto state = second.state();
  CHECK(state.ok() && *state == sn::ClientState::PeerCreated);

  // Move-assigning over a live client destroys it first; self-assignment keeps it.
  auto other = sn::RealtimeClient::create(client_config(w));
  CHECK_OK(other);
  if (!other.ok()) return;
  sn::RealtimeClient third = std::move(other).value();
  peer_client_t* const kept = second.native_handle();
  third = std::move(second);
  CHECK(third.native_handle() == kept);
  expect_empty(second);  // NOLINT(bugprone-use-after-move)
  sn::RealtimeClient& alias = third;
  third = std::move(alias);
  CHECK(third.native_handle() == kept);
  third.reset();
  expect_empty(third);
}

void test_wrong_state_before_login(const World& w) {
  auto player = make_player(w);
  if (!player) return;
  sn::RealtimeClient& c = player->client;
  CHECK_CODE(c.join_room("early"), sn::ErrorCode::WrongState);
  CHECK(std::strlen(sn::last_error()) > 0);
  CHECK_CODE(c.join_or_create_room("early"), sn::ErrorCode::WrongState);
  CHECK_CODE(c.create_room("early"), sn::ErrorCode::WrongState);
  CHECK_CODE(c.join_random_room(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.leave_room(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.raise_event(kEventCode, 1), sn::ErrorCode::WrongState);
  CHECK_CODE(c.server_public_key(), sn::ErrorCode::EncryptionNotEstablished);  // no key exchange yet
  CHECK_CODE(c.actor_number(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.room_name(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.send_operation(kOpUnknown), sn::ErrorCode::NotConnected);
  CHECK_CODE(c.wait(10ms), sn::ErrorCode::NotConnected);  // at once: nothing can arrive
  CHECK(!c.poll().has_value());
  CHECK_CODE(c.join_room(std::string("a\0b", 3)), sn::ErrorCode::InvalidArgument);
  // The room and lobby operations and readers.
  sn::Table changes;
  CHECK_OK(changes.put("k", 1));
  CHECK_CODE(c.join_lobby(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.leave_lobby(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.set_room_properties(changes), sn::ErrorCode::WrongState);
  CHECK_CODE(c.set_master_client(1), sn::ErrorCode::WrongState);
  CHECK_CODE(c.change_groups(std::nullopt, std::vector<uint8_t>{1}), sn::ErrorCode::WrongState);
  CHECK_CODE(c.raise_event(kEventCode, 1, sn::RaiseEventOptions()), sn::ErrorCode::WrongState);
  CHECK_CODE(c.master_client(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.room_properties(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.players(), sn::ErrorCode::WrongState);
  CHECK_CODE(c.player(1), sn::ErrorCode::WrongState);
  const auto rejoining = c.is_rejoining();
  CHECK(rejoining.ok() && !*rejoining);
  const auto rooms = c.room_list();
  CHECK(rooms.ok() && rooms->empty());
}

// The main session: two players, room requests and their return codes, an event, leaving.
void test_two_players(const World& w) {
  auto alice_made = make_player(w);
  auto bob_made = make_player(w);
  if (!alice_made || !bob_made) return;
  Player& alice = *alice_made;
  Player& bob = *bob_made;

  // Logins: alice anonymously (no values), bob with values of AuthType::None.
  CHECK_OK(alice.client.connect());
  auto values = sn::AuthValues::create(sn::AuthType::None);
  CHECK_OK(values);
  if (!values.ok()) return;
  CHECK_OK(bob.client.connect(&*values));
  CHECK_CODE(alice.client.connect(), sn::ErrorCode::WrongState);  // already logging in
  CHECK(alice.until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK(bob.until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK((alice.states == std::vector<sn::ClientState>{sn::ClientState::ConnectingToMasterServer,
                                                       sn::ClientState::Authenticating,
                                                       sn::ClientState::ConnectedToMasterServer}));
  CHECK(alice.has_status(sn::status::Connect));
  CHECK(alice.has_status(sn::status::EncryptionEstablished));
  const auto state = alice.client.state();
  CHECK(state.ok() && *state == sn::ClientState::ConnectedToMasterServer);
  const auto key = alice.client.server_public_key();
  CHECK_OK(key);
  CHECK(key.ok() && *key == w.server_key);
  CHECK_CODE(alice.client.actor_number(), sn::ErrorCode::WrongState);  // at the master, in no room
  CHECK_CODE(alice.client.room_name(), sn::ErrorCode::WrongState);

  // An operation of its own: the server does not know op code 1 and answers InvalidOperation, which
  // arrives as an OwnedResponse (not as a ClientFailed); the client stays at the master.
  sn::Params unknown;
  CHECK_OK(unknown.put(1, "not an operation the server knows"));
  CHECK_OK(alice.client.send_operation(kOpUnknown, unknown, sn::SendOptions::encrypted()));
  CHECK(alice.until([](const Player& p) { return p.count_responses(kOpUnknown) == 1; }));
  if (const sn::OwnedResponse* response = alice.last_response(kOpUnknown)) {
    CHECK(response->return_code == sn::return_code::InvalidOperation);
    CHECK(response->encrypted);
  }
  CHECK_OK(alice.client.send_operation(kOpUnknown));  // no parameters, reliable, in clear
  CHECK(alice.until([](const Player& p) { return p.count_responses(kOpUnknown) == 2; }));
  if (const sn::OwnedResponse* response = alice.last_response(kOpUnknown)) {
    CHECK(response->return_code == sn::return_code::InvalidOperation);
  }
  CHECK(alice.failures.empty());
  CHECK(alice.at(sn::ClientState::ConnectedToMasterServer));

  // Room requests the master refuses leave the client at the master.
  CHECK_OK(alice.client.join_room(w.prefix + "-nowhere"));
  auto failure = alice.next_failure();
  CHECK(failure.has_value());
  if (failure) {
    CHECK(failure->return_code == sn::return_code::GameDoesNotExist);
    CHECK(failure->op_code == kOpJoinRoom);
  }
  CHECK_OK(alice.client.join_random_room());
  failure = alice.next_failure();
  CHECK(failure.has_value());
  if (failure) {
    CHECK(failure->return_code == sn::return_code::NoRandomMatchFound);
    CHECK(failure->op_code == kOpJoinRandomRoom);
  }

  // alice creates the room, bob's CreateRoom of the same name is refused, his JoinOrCreate joins it.
  const std::string room = w.prefix + "-room";
  sn::RoomOptions options;
  options.max_players = 2;
  CHECK_OK(alice.client.create_room(room, options));
  CHECK(alice.until_state(sn::ClientState::Joined));
  CHECK(alice.joins.size() == 1);
  if (alice.joins.empty()) return;
  const sn::ClientJoined alice_joined = alice.joins.back();
  CHECK(alice_joined.room == room);
  // Role "all": the client joins at the master itself, without switching servers.
  CHECK((std::vector<sn::ClientState>(alice.states.end() - 2, alice.states.end()) ==
         std::vector<sn::ClientState>{sn::ClientState::Joining, sn::ClientState::Joined}));
  CHECK((alice_joined.actors == std::vector<int32_t>{alice_joined.actor}));
  // The getters read the C library: right already when ClientStateChanged reported Joined.
  CHECK(alice.actor_at_joined == std::optional<int32_t>(alice_joined.actor));
  CHECK(alice.room_at_joined == std::optional<std::string>(room));
  const auto alice_actor = alice.client.actor_number();
  CHECK_OK(alice_actor);
  CHECK(alice_actor.ok() && *alice_actor == alice_joined.actor);
  const auto alice_room = alice.client.room_name();
  CHECK_OK(alice_room);
  CHECK(alice_room.ok() && *alice_room == room);

  CHECK_OK(bob.client.create_room(room));
  failure = bob.next_failure();
  CHECK(failure.has_value());
  if (failure) {
    CHECK(failure->return_code == sn::return_code::GameIdAlreadyExists);
    CHECK(failure->op_code == kOpCreateRoom);
  }
  CHECK_OK(bob.client.join_or_create_room(room));
  CHECK(bob.until_state(sn::ClientState::Joined));
  CHECK(bob.joins.size() == 1);
  if (bob.joins.empty()) return;
  const sn::ClientJoined& bob_joined = bob.joins.back();
  CHECK(bob_joined.room == room);
  CHECK(bob_joined.actors.size() == 2);
  CHECK(bob_joined.actor != alice_joined.actor);
  CHECK(bob.actor_at_joined == std::optional<int32_t>(bob_joined.actor));
  CHECK(bob.room_at_joined == std::optional<std::string>(room));

  // An encrypted event with data reaches bob with its data, its sender and its encryption.
  sn::Params data;
  CHECK_OK(data.put(1, "hello from the C++ client"));
  CHECK_OK(data.put(2, 42));
  CHECK_OK(data.put(3, std::vector<float>{0.5f, -1.25f}));
  CHECK_OK(alice.client.raise_event(kEventCode, data, sn::SendOptions::encrypted()));
  CHECK(bob.until([](const Player& p) { return p.find_event(kEventCode) != nullptr; }));
  if (const sn::OwnedEvent* got = bob.find_event(kEventCode)) {
    CHECK(got->encrypted);
    CHECK(got->sender == alice_joined.actor);
    const auto received = got->params.get<sn::ParamsView>(kParamData);
    CHECK(received.has_value());
    if (received) {
      CHECK(received->get<std::string>(1) == std::optional<std::string>("hello from the C++ client"));
      CHECK(received->get<int32_t>(2) == std::optional<int32_t>(42));
      CHECK((received->get<std::vector<float>>(3) == std::optional<std::vector<float>>({0.5f, -1.25f})));
    }
    // The borrowed view of the owned copy reads the same.
    const sn::Event view = got->view();
    CHECK(view.code == kEventCode && view.params.contains(kParamData));
  }
  // A plain event with a single value, and a code the server keeps for itself.
  CHECK_OK(bob.client.raise_event(kPlainEventCode, int64_t{7}));
  CHECK(alice.until([](const Player& p) { return p.find_event(kPlainEventCode) != nullptr; }));
  if (const sn::OwnedEvent* got = alice.find_event(kPlainEventCode)) {
    CHECK(!got->encrypted);
    CHECK(got->params.get<int64_t>(kParamData) == std::optional<int64_t>(7));
  }
  CHECK_CODE(alice.client.raise_event(200), sn::ErrorCode::InvalidArgument);
  CHECK_CODE(alice.client.join_room(room), sn::ErrorCode::WrongState);  // already in a room

  // Leaving goes back to the master; then raise_event and leave_room are refused.
  CHECK_OK(alice.client.leave_room());
  CHECK(alice.until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK_CODE(alice.client.leave_room(), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.raise_event(kEventCode, 1), sn::ErrorCode::WrongState);
  CHECK(std::strlen(sn::last_error()) > 0);
  CHECK_CODE(alice.client.actor_number(), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.room_name(), sn::ErrorCode::WrongState);

  // CreateRoom without a name: the master names the room.
  const size_t joins_before = alice.joins.size();
  CHECK_OK(alice.client.create_room(std::nullopt));
  CHECK(alice.until_state(sn::ClientState::Joined));
  CHECK(alice.joins.size() == joins_before + 1);
  if (alice.joins.size() > joins_before) {
    const std::string& named = alice.joins.back().room;
    CHECK(!named.empty() && named != room);
    CHECK(alice.room_at_joined == std::optional<std::string>(named));
    const auto read = alice.client.room_name();
    CHECK(read.ok() && *read == named);
  }

  // A client moved while in a room keeps working; the moved-from one is empty.
  sn::RealtimeClient moved = std::move(bob.client);
  expect_empty(bob.client);  // NOLINT(bugprone-use-after-move)
  bob.client = std::move(moved);
  const auto bob_state = bob.client.state();
  CHECK(bob_state.ok() && *bob_state == sn::ClientState::Joined);
  CHECK_OK(bob.client.leave_room());
  CHECK(bob.until_state(sn::ClientState::ConnectedToMasterServer));

  // Disconnecting ends in Disconnected; wait() then says nothing can arrive.
  CHECK_OK(bob.client.disconnect());
  CHECK(bob.until_state(sn::ClientState::Disconnected));
  CHECK_CODE(bob.client.wait(10ms), sn::ErrorCode::NotConnected);
  CHECK_CODE(bob.client.join_room(room), sn::ErrorCode::WrongState);
  // alice is destroyed while in a room (her destructor, at the end of this case).
}

void test_reconnect_after_disconnect(const World& w) {
  auto player = make_player(w);
  if (!player) return;
  CHECK_OK(player->client.connect());
  CHECK(player->until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK_OK(player->client.disconnect());
  CHECK(player->until_state(sn::ClientState::Disconnected));
  CHECK_OK(player->client.connect());
  CHECK(player->until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK_OK(player->client.join_or_create_room(w.prefix + "-again"));
  CHECK(player->until_state(sn::ClientState::Joined));
}

void test_wrong_master_key(const World& w) {
  sn::ClientConfig config = client_config(w);
  sn::PublicKey wrong = w.server_key;
  wrong[0] ^= 0xFF;
  config.pinned_master_key = wrong;
  auto created = sn::RealtimeClient::create(config);
  CHECK_OK(created);
  if (!created.ok()) return;
  Player player;
  player.client = std::move(created).value();
  CHECK_OK(player.client.connect());
  // The key exchange fails; the client never reaches the master and ends disconnected.
  CHECK(player.until_state(sn::ClientState::Disconnected));
  CHECK(player.has_status(sn::status::EncryptionFailedToEstablish));
  for (sn::ClientState s : player.states) CHECK(s != sn::ClientState::ConnectedToMasterServer);
}


// ---------------------------------------------------------------------------------------------
// The room session
// ---------------------------------------------------------------------------------------------

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex digits into bytes; empty for an odd length or a character that is not a hex digit.
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_digit(hex[i]);
    const int low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(high * 16 + low));
  }
  return bytes;
}

// A room property of `client`'s room as T, read through room_properties(); empty when absent.
template <class T, class K>
std::optional<T> room_property(const sn::RealtimeClient& client, const K& key) {
  const auto properties = client.room_properties();
  if (!properties.ok()) return std::nullopt;
  return properties->get<T>(key);
}

// A custom property of player `actor` as T, read through player(); empty when absent.
template <class T>
std::optional<T> player_property(const sn::RealtimeClient& client, int32_t actor, const std::string& key) {
  const auto player = client.player(actor);
  if (!player.ok()) return std::nullopt;
  return player->properties.get<T>(key);
}

// The lobby's entry for `room` in `client`'s room list, copied out; empty when not listed.
struct Listed {
  int32_t player_count = 0;
  int32_t max_players = 0;
  bool is_open = false;
  std::optional<std::string> map;
  bool lists_secret = false;
};
std::optional<Listed> listed_room(const sn::RealtimeClient& client, const std::string& room) {
  const auto rooms = client.room_list();
  if (!rooms.ok()) return std::nullopt;
  for (const sn::RoomInfo& info : *rooms) {
    if (info.name != room) continue;
    return Listed{info.player_count, info.max_players, info.is_open, info.properties.get<std::string>("map"),
                  info.properties.contains("secret")};
  }
  return std::nullopt;
}

bool log_in(Player& player, const sn::AuthValues* auth = nullptr) {
  CHECK_OK(player.client.connect(auth));
  return CHECK(player.until_state(sn::ClientState::ConnectedToMasterServer));
}

// Raises `code` holding the Int `data` with `raise`, checking that the call succeeds.
void send_event(Player& from, uint8_t code, int32_t data, const sn::RaiseEventOptions& raise = sn::RaiseEventOptions()) {
  CHECK_OK(from.client.raise_event(code, data, raise, sn::SendOptions::encrypted()));
}

sn::RaiseEventOptions to(sn::Receivers receivers) {
  sn::RaiseEventOptions options;
  options.receivers = receivers;
  return options;
}

// Waits for the next response to SetProperties after the `before` seen so far; empty on timeout.
std::optional<int16_t> next_set_properties_answer(Player& player, size_t before) {
  if (!player.until([before](const Player& p) { return p.count_responses(sn::op_code::SetProperties) > before; })) {
    return std::nullopt;
  }
  for (const auto& response : player.responses) {
    if (response.op_code == sn::op_code::SetProperties && before-- == 0) return response.return_code;
  }
  return std::nullopt;
}

void test_room_session(const World& w) {
  auto alice_made = make_player(w);
  auto bob_made = make_player(w);
  auto carol_made = make_player(w);
  if (!alice_made || !bob_made || !carol_made) return;
  Player& alice = *alice_made;
  Player& bob = *bob_made;
  Player& carol = *carol_made;

  // bob authenticates through the backend where there is one: the others then see its nickname.
  const char* token_hex = std::getenv("SEALNET_TEST_CONNECTION_TOKEN");
  const char* nickname_env = std::getenv("SEALNET_TEST_NICKNAME");
  std::optional<std::string> bob_nickname;
  std::optional<sn::AuthValues> bob_auth;
  if (token_hex != nullptr && nickname_env != nullptr) {
    const auto token = from_hex(token_hex);
    auto values = sn::AuthValues::create(sn::AuthType::Custom);
    CHECK_OK(values);
    if (!CHECK(token.has_value()) || !values.ok()) return;
    CHECK_OK(values->set_connection_token(*token));
    bob_auth = std::move(values).value();
    bob_nickname = nickname_env;
  } else {
    std::printf("     (no backend: bob plays anonymously, without a nickname)\n");
  }
  if (!log_in(alice) || !log_in(bob, bob_auth ? &*bob_auth : nullptr) || !log_in(carol)) return;

  // At the master: no room to read, nor to change.
  sn::Table one;
  CHECK_OK(one.put("round", 1));
  CHECK_CODE(alice.client.master_client(), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.room_properties(), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.players(), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.player_properties(1), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.set_room_properties(one), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.set_player_properties(1, one), sn::ErrorCode::WrongState);
  CHECK_CODE(alice.client.change_groups(sn::ByteView(), std::nullopt), sn::ErrorCode::WrongState);
  const auto no_list = alice.client.room_list();
  CHECK(no_list.ok() && no_list->empty());  // not in the lobby

  // RoomOptions the wrapper refuses, naming the field; nothing is sent and the client stays.
  const std::string room = w.prefix + "-session";
  sn::RoomOptions bad;
  bad.player_ttl = -1ms;
  CHECK_CODE(alice.client.create_room(room, bad), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "player_ttl") != nullptr);
  bad = sn::RoomOptions();
  bad.empty_room_ttl = std::chrono::milliseconds(int64_t{1} << 33);
  CHECK_CODE(alice.client.join_or_create_room(room, bad), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "empty_room_ttl") != nullptr);
  bad = sn::RoomOptions();
  bad.listed_in_lobby = {"map", std::string("se\0cret", 7)};
  CHECK_CODE(alice.client.create_room(room, bad), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "listed_in_lobby") != nullptr);
  const auto still = alice.client.state();
  CHECK(still.ok() && *still == sn::ClientState::ConnectedToMasterServer);

  // alice creates the room with first custom properties, "map" listed in the lobby, a PlayerTtl and
  // an EmptyRoomTtl. The table is gone right after the call: the call copied it.
  sn::Table first;
  CHECK_OK(first.put("map", "dust"));
  CHECK_OK(first.put("secret", 7));
  CHECK_OK(first.put("round", 0));
  sn::RoomOptions options;
  options.max_players = 3;
  options.player_ttl = 30s;
  options.empty_room_ttl = 2s;
  options.custom_properties = first;
  options.listed_in_lobby = {"map"};
  CHECK_OK(alice.client.create_room(room, options));
  first = sn::Table();
  CHECK(alice.until_state(sn::ClientState::Joined));
  if (!CHECK(alice.joins.size() == 1)) return;
  const int32_t alice_actor = alice.joins.back().actor;
  CHECK(!alice.joins.back().rejoined);
  const auto rejoining = alice.client.is_rejoining();
  CHECK(rejoining.ok() && !*rejoining);
  CHECK(room_property<std::string>(alice.client, "map") == std::optional<std::string>("dust"));
  CHECK(room_property<int32_t>(alice.client, "secret") == std::optional<int32_t>(7));
  CHECK(room_property<int32_t>(alice.client, sn::room_property::PlayerTtl) == std::optional<int32_t>(30000));
  CHECK(room_property<int32_t>(alice.client, sn::room_property::EmptyRoomTtl) == std::optional<int32_t>(2000));
  CHECK(room_property<int32_t>(alice.client, sn::room_property::MaxPlayers) == std::optional<int32_t>(3));
  CHECK(room_property<bool>(alice.client, sn::room_property::IsOpen) == std::optional<bool>(true));
  const auto master = alice.client.master_client();
  CHECK(master.ok() && *master == alice_actor);
  const auto alone = alice.client.players();
  CHECK(alone.ok() && *alone == std::vector<int32_t>{alice_actor});
  const auto alice_self = alice.client.player(alice_actor);
  CHECK_OK(alice_self);
  if (alice_self.ok()) {
    CHECK(alice_self->actor == alice_actor);
    CHECK(!alice_self->nickname.has_value());  // anonymous
    CHECK(!alice_self->inactive);
  }
  CHECK_CODE(alice.client.join_lobby(), sn::ErrorCode::WrongState);  // in a room

  // carol, at the master, joins the lobby: the room is listed with its listed property only.
  CHECK_OK(carol.client.join_lobby());
  CHECK(carol.until([&room](const Player& p) { return listed_room(p.client, room).has_value(); }));
  CHECK(carol.find_event(sn::event_code::GameList) != nullptr);
  if (const auto listed = listed_room(carol.client, room)) {
    CHECK(listed->player_count == 1);
    CHECK(listed->max_players == 3);
    CHECK(listed->is_open);
    CHECK(listed->map == std::optional<std::string>("dust"));
    CHECK(!listed->lists_secret);  // not named in listed_in_lobby
  }

  // bob joins; both see each other, alice sees bob's nickname (the server publishes no user ids).
  CHECK_OK(bob.client.join_room(room));
  CHECK(bob.until_state(sn::ClientState::Joined));
  if (!CHECK(bob.joins.size() == 1)) return;
  const int32_t bob_actor = bob.joins.back().actor;
  CHECK(!bob.joins.back().rejoined);
  CHECK(bob.joins.back().actors.size() == 2);
  CHECK(room_property<std::string>(bob.client, "map") == std::optional<std::string>("dust"));  // from the join answer
  const auto bob_sees_master = bob.client.master_client();
  CHECK(bob_sees_master.ok() && *bob_sees_master == alice_actor);
  const std::vector<int32_t> both = alice_actor < bob_actor ? std::vector<int32_t>{alice_actor, bob_actor}
                                                            : std::vector<int32_t>{bob_actor, alice_actor};
  CHECK(alice.until([&both](const Player& p) {
    const auto actors = p.client.players();
    return actors.ok() && *actors == both;
  }));
  CHECK(alice.find_event(sn::event_code::Join) != nullptr);
  const auto bob_seen = alice.client.player(bob_actor);
  CHECK_OK(bob_seen);
  if (bob_seen.ok()) {
    CHECK(bob_seen->nickname == bob_nickname);
    CHECK(!bob_seen->user_id.has_value());
    CHECK(!bob_seen->inactive);
  }
  const auto alice_seen = bob.client.player(alice_actor);
  CHECK(alice_seen.ok() && !alice_seen->nickname.has_value());
  CHECK_CODE(alice.client.player_properties(9999), sn::ErrorCode::NotFound);

  // The lobby's update (at most about a second later) counts bob; leaving the lobby empties it.
  CHECK(carol.until([&room](const Player& p) {
    const auto listed = listed_room(p.client, room);
    return listed && listed->player_count == 2;
  }));
  CHECK(carol.find_event(sn::event_code::GameListUpdate) != nullptr);
  CHECK_OK(carol.client.leave_lobby());
  const auto left_list = carol.client.room_list();
  CHECK(left_list.ok() && left_list->empty());

  // Compare-and-set: alice's expected value matches, so the change applies and both see it.
  sn::Table zero;
  CHECK_OK(zero.put("round", 0));
  CHECK_OK(alice.client.set_room_properties(one, &zero));
  CHECK(next_set_properties_answer(alice, 0) == std::optional<int16_t>(sn::return_code::Ok));
  CHECK(alice.until([](const Player& p) {
    return room_property<int32_t>(p.client, "round") == std::optional<int32_t>(1);
  }));
  CHECK(bob.until([](const Player& p) {
    return p.find_event(sn::event_code::PropertiesChanged) != nullptr &&
           room_property<int32_t>(p.client, "round") == std::optional<int32_t>(1);
  }));
  // bob's expected value is stale: PropertiesConflict, and nothing changes.
  sn::Table two;
  CHECK_OK(two.put("round", 2));
  CHECK_OK(bob.client.set_room_properties(two, &zero));
  CHECK(next_set_properties_answer(bob, 0) == std::optional<int16_t>(sn::return_code::PropertiesConflict));
  if (const sn::OwnedResponse* conflict = bob.last_response(sn::op_code::SetProperties)) {
    CHECK(!conflict->debug_message.empty());
  }
  CHECK(room_property<int32_t>(bob.client, "round") == std::optional<int32_t>(1));
  // With the right expected value bob's change applies, and a Null removes a key.
  CHECK_OK(two.put("secret", nullptr));
  CHECK_OK(bob.client.set_room_properties(two, &one));
  CHECK(next_set_properties_answer(bob, 1) == std::optional<int16_t>(sn::return_code::Ok));
  CHECK(alice.until([](const Player& p) {
    const auto properties = p.client.room_properties();
    return properties.ok() && properties->get<int32_t>("round") == std::optional<int32_t>(2) &&
           !properties->contains("secret");
  }));
  // Bad arguments: no table to set (also through the C call); an unknown key type is the server's.
  CHECK_CODE(bob.client.set_room_properties(sn::TableView()), sn::ErrorCode::NullParameter);
  CHECK_CODE(bob.client.set_room_properties(sn::Table(), &one), sn::ErrorCode::NullParameter);
  CHECK(peer_client_set_room_properties(bob.client.native_handle(), nullptr, nullptr) == PEER_RESULT_NULL_PARAMETER);
  CHECK(peer_client_set_player_properties(bob.client.native_handle(), bob_actor, nullptr, one.native_handle()) ==
        PEER_RESULT_NULL_PARAMETER);

  // Player properties: bob sets his own team; alice sees it. The server's keys are read-only.
  sn::Table team;
  CHECK_OK(team.put("team", "red"));
  CHECK_OK(bob.client.set_player_properties(bob_actor, team));
  CHECK(next_set_properties_answer(bob, 2) == std::optional<int16_t>(sn::return_code::Ok));
  CHECK(alice.until([bob_actor](const Player& p) {
    return player_property<std::string>(p.client, bob_actor, "team") == std::optional<std::string>("red");
  }));
  CHECK(bob.until([bob_actor](const Player& p) {  // the setter's own view follows the event too
    return player_property<std::string>(p.client, bob_actor, "team") == std::optional<std::string>("red");
  }));
  sn::Table rename;
  CHECK_OK(rename.put(sn::player_property::Nickname, "mallory"));
  CHECK_OK(bob.client.set_player_properties(bob_actor, rename));
  CHECK(next_set_properties_answer(bob, 3) == std::optional<int16_t>(sn::return_code::InvalidOperation));
  const auto unchanged = bob.client.player(bob_actor);
  CHECK(unchanged.ok() && unchanged->nickname == bob_nickname);

  // The master client handed over to bob, seen by both.
  CHECK_OK(alice.client.set_master_client(bob_actor));
  CHECK(alice.until([bob_actor](const Player& p) {
    const auto now = p.client.master_client();
    return now.ok() && *now == bob_actor;
  }));
  CHECK(bob.until([bob_actor](const Player& p) {
    const auto now = p.client.master_client();
    return now.ok() && *now == bob_actor;
  }));
  CHECK(room_property<int32_t>(bob.client, sn::room_property::MasterClientId) == std::optional<int32_t>(bob_actor));

  // Cached events: alice caches two, which bob gets live; carol, joining later, gets them in order
  // before a live one.
  sn::RaiseEventOptions cached;
  cached.cache = sn::EventCache::Add;
  send_event(alice, kCachedCode, 1, cached);
  send_event(alice, kCachedCode, 2, cached);
  CHECK(bob.until([](const Player& p) { return p.count_events(kCachedCode) == 2; }));
  CHECK_OK(carol.client.join_room(room));
  CHECK(carol.until_state(sn::ClientState::Joined));
  if (!CHECK(carol.joins.size() == 1)) return;
  const int32_t carol_actor = carol.joins.back().actor;
  CHECK(!carol.joins.back().rejoined);
  CHECK(carol.joins.back().actors.size() == 3);
  send_event(alice, kLiveCode, 3);
  CHECK(carol.until([](const Player& p) { return p.count_events(kLiveCode) == 1; }));
  CHECK(carol.count_events(kCachedCode) == 2);
  CHECK(carol.index_of(kCachedCode, 1) < carol.index_of(kCachedCode, 2));
  CHECK(carol.index_of(kCachedCode, 2) < carol.index_of(kLiveCode, 3));
  if (const sn::OwnedEvent* got = carol.find_event(kCachedCode)) CHECK(got->sender == alice_actor);
  CHECK(alice.until([](const Player& p) {
    const auto actors = p.client.players();
    return actors.ok() && actors->size() == 3;
  }));

  // An event to one target actor reaches carol only (alice's marker, to everyone, reaches bob after).
  sn::RaiseEventOptions to_carol;
  to_carol.target_actors = {carol_actor};
  send_event(alice, kTargetedCode, 4, to_carol);
  send_event(alice, kMarkerCode, 4, to(sn::Receivers::All));
  CHECK(carol.until([](const Player& p) { return p.has_event(kTargetedCode, 4) && p.has_event(kMarkerCode, 4); }));
  CHECK(bob.until([](const Player& p) { return p.has_event(kMarkerCode, 4); }));
  CHECK(bob.count_events(kTargetedCode) == 0);
  CHECK(alice.until([](const Player& p) { return p.has_event(kMarkerCode, 4); }));  // All: the sender too
  CHECK(alice.count_events(kTargetedCode) == 0);

  // An interest group: bob subscribes to it; alice's group event reaches him, not carol.
  CHECK_OK(bob.client.change_groups(std::nullopt, std::vector<uint8_t>{kGroup}));
  CHECK(bob.until([](const Player& p) { return p.count_responses(sn::op_code::ChangeGroups) == 1; }));
  if (const sn::OwnedResponse* changed = bob.last_response(sn::op_code::ChangeGroups)) {
    CHECK(changed->return_code == sn::return_code::Ok);
  }
  sn::RaiseEventOptions to_group;
  to_group.interest_group = kGroup;
  send_event(alice, kGroupCode, 5, to_group);
  send_event(alice, kMarkerCode, 5);
  CHECK(bob.until([](const Player& p) { return p.has_event(kGroupCode, 5); }));
  CHECK(carol.until([](const Player& p) { return p.has_event(kMarkerCode, 5); }));
  CHECK(carol.count_events(kGroupCode) == 0);
  // An engaged empty list leaves every group: the next group event reaches nobody.
  CHECK_OK(bob.client.change_groups(sn::ByteView(), std::nullopt));
  CHECK(bob.until([](const Player& p) { return p.count_responses(sn::op_code::ChangeGroups) == 2; }));
  send_event(alice, kGroupCode, 6, to_group);
  send_event(alice, kMarkerCode, 6);
  CHECK(bob.until([](const Player& p) { return p.has_event(kMarkerCode, 6); }));
  CHECK(bob.count_events(kGroupCode) == 1);

  // To the master client (bob now): carol's event reaches bob, not alice.
  send_event(carol, kToMasterCode, 7, to(sn::Receivers::MasterClient));
  send_event(carol, kMarkerCode, 7);
  CHECK(bob.until([](const Player& p) { return p.has_event(kToMasterCode, 7); }));
  CHECK(alice.until([](const Player& p) { return p.has_event(kMarkerCode, 7); }));
  CHECK(alice.count_events(kToMasterCode) == 0);

  // Bad raise options: refused before anything is sent, through the C++ call and the raw C call.
  CHECK_CODE(alice.client.raise_event(kEventCode, 1, to(static_cast<sn::Receivers>(9))), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "receivers") != nullptr);
  sn::RaiseEventOptions bad_cache;
  bad_cache.cache = static_cast<sn::EventCache>(3);
  CHECK_CODE(alice.client.raise_event(kEventCode, 1, bad_cache), sn::ErrorCode::InvalidArgument);
  CHECK(std::strstr(sn::last_error(), "cache") != nullptr);
  CHECK_CODE(alice.client.raise_event(200, nullptr, cached), sn::ErrorCode::InvalidArgument);
  peer_raise_event_options_t raw;
  CHECK(peer_raise_event_options_default(&raw, sizeof raw) == PEER_RESULT_OK);
  raw.receivers = 9;
  CHECK(peer_client_raise_event_with(alice.client.native_handle(), kEventCode, nullptr, &raw, nullptr) ==
        PEER_RESULT_INVALID_ARGUMENT);
  CHECK(peer_raise_event_options_default(&raw, sizeof raw) == PEER_RESULT_OK);
  raw.target_actor_count = 2;  // and no actors
  CHECK(peer_client_raise_event_with(alice.client.native_handle(), kEventCode, nullptr, &raw, nullptr) ==
        PEER_RESULT_NULL_PARAMETER);
  CHECK(peer_client_change_groups(alice.client.native_handle(), nullptr, 1, nullptr, 0) == PEER_RESULT_NULL_PARAMETER);

  // Removing alice's cached events: carol, leaving and joining again, gets none of them.
  sn::RaiseEventOptions uncache;
  uncache.cache = sn::EventCache::Remove;
  CHECK_OK(alice.client.raise_event(kCachedCode, nullptr, uncache));
  send_event(alice, kMarkerCode, 9);  // once bob has it, the server has done the removal before it
  CHECK(bob.until([](const Player& p) { return p.has_event(kMarkerCode, 9); }));
  CHECK_OK(carol.client.leave_room());
  CHECK(carol.until_state(sn::ClientState::ConnectedToMasterServer));
  const size_t carol_before = carol.events.size();
  CHECK_OK(carol.client.join_room(room));
  CHECK(carol.until_state(sn::ClientState::Joined));
  send_event(alice, kMarkerCode, 8);
  CHECK(carol.until([](const Player& p) { return p.has_event(kMarkerCode, 8); }));
  CHECK(carol.count_events(kCachedCode, carol_before) == 0);

  // The master client leaves: the others see it gone and the role passed on.
  CHECK_OK(bob.client.leave_room());
  CHECK(bob.until_state(sn::ClientState::ConnectedToMasterServer));
  CHECK_CODE(bob.client.master_client(), sn::ErrorCode::WrongState);
  CHECK(alice.until([bob_actor](const Player& p) {
    const auto actors = p.client.players();
    const auto now = p.client.master_client();
    return actors.ok() && actors->size() == 2 && now.ok() && *now != bob_actor;
  }));
  CHECK(alice.find_event(sn::event_code::Leave) != nullptr);
  const auto new_master = alice.client.master_client();
  const auto remaining = alice.client.players();
  if (new_master.ok() && remaining.ok()) {
    CHECK(std::find(remaining->begin(), remaining->end(), *new_master) != remaining->end());
  }
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  World w;
  const char* address = std::getenv("SEALNET_SERVER_ADDR");
  const char* key_hex = std::getenv("SEALNET_SERVER_KEY");
  const auto key = key_hex != nullptr ? sn::parse_public_key(key_hex) : std::nullopt;
  if (address == nullptr || !key) {
    std::fprintf(stderr, "SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY (64 hex digits) must be set; "
                         "run through scripts/with-server.sh\n");
    return 2;
  }
  w.address = address;
  w.server_key = *key;
  w.prefix = "cpp-client-" + std::to_string(static_cast<long>(getpid()));

  run_case("client: bad configs are refused and named", [&] { test_bad_config(w); });
  run_case("client: empty, moved-from and moved-over clients are safe", [&] { test_empty_and_moved_clients(w); });
  run_case("client: WrongState before the login", [&] { test_wrong_state_before_login(w); });
  run_case("client: two players, room requests, encrypted event, leave, disconnect", [&] { test_two_players(w); });
  run_case("client: log in again after disconnect", [&] { test_reconnect_after_disconnect(w); });
  run_case("client: a wrong master key fails the login", [&] { test_wrong_master_key(w); });
  run_case("client: a room session with properties, CAS, groups, targets, cache, master client, lobby",
           [&] { test_room_session(w); });

  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
