// Tests of sealnet::RealtimeClient (the realtime client, peer_client_*) against a live sealnet-server
// of role "all" (scripts/with-server.sh), where the client joins rooms without switching servers:
// an anonymous login and one with AuthValues, room requests and their return codes, an operation of
// its own (send_operation) and its response, two players in one room exchanging an encrypted event
// with data, the room getters (actor_number, room_name; also when ClientStateChanged reports Joined),
// leaving back to the master, the calls refused in the wrong state, bad arguments, and empty,
// moved-from and moved-over clients.
//
// The server address comes from SEALNET_SERVER_ADDR ("host:port") and its public key (hex) from
// SEALNET_SERVER_KEY; the app id is "demo". Every wait blocks in RealtimeClient::wait() with a
// deadline, never in a fixed sleep. The last line printed is "N passed, N failed"; the exit status is
// non-zero on any failure.

#include "sealnet.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <string>
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

  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
