// Tests of the C++ wrapper against a live sealnet-server.
//
// The server address comes from SEALNET_SERVER_ADDR ("host:port") and its public key (hex) from
// SEALNET_SERVER_KEY; scripts/with-server.sh sets both and registers the app id "demo". Under
// `scripts/with-server.sh --backend --allow-anonymous` the server also calls sealnet-backend's webhook,
// and SEALNET_TEST_CONNECTION_TOKEN (hex) and SEALNET_TEST_NICKNAME describe a guest logged in there;
// without them the case of custom authentication through the backend prints that it was skipped.
// The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.

#include "sealnet.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

namespace sn = sealnet;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The server's application protocol.
constexpr uint8_t kOpJoinRoom = 226;
constexpr uint8_t kOpRaiseEvent = 253;
constexpr uint8_t kEventJoin = 255;
constexpr uint8_t kEventLeave = 254;
constexpr uint8_t kParamRoom = 255;
constexpr uint8_t kParamActor = 254;
constexpr uint8_t kParamActors = 252;
constexpr uint8_t kParamCode = 244;
constexpr uint8_t kParamData = 245;
constexpr char kAppId[] = "demo";
// Authentication (docs/auth.md section 4).
constexpr uint8_t kOpAuthenticate = 230;
constexpr uint8_t kOpAuthenticateOnce = 231;
constexpr uint8_t kParamUserId = 225;
constexpr uint8_t kParamNickname = 202;
constexpr uint8_t kParamToken = 221;
constexpr uint8_t kParamTokenExpires = 198;

// ---------------------------------------------------------------------------------------------
// A tiny test runner: a case fails when any CHECK in it fails or it throws.
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
#define CHECK_OK(expr)                                                                          \
  do {                                                                                          \
    const auto& check_result_ = (expr);                                                         \
    if (!check(check_result_.ok(), #expr, __LINE__)) {                                          \
      std::fprintf(stderr, "    -> %s\n", check_result_.message());                            \
    }                                                                                           \
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

// ---------------------------------------------------------------------------------------------
// Recording callbacks
// ---------------------------------------------------------------------------------------------

std::thread::id g_main_thread;

struct ReceivedEvent {
  uint8_t code = 0;
  bool encrypted = false;
  int32_t sender = 0;
  std::optional<int32_t> actor;             // param 254
  std::optional<std::string> text;          // param 245 as a string
  std::optional<std::vector<uint8_t>> bytes;  // param 245 as bytes
  std::optional<sn::Params> nested;         // param 245 as a dictionary (copied)
};

struct ReceivedResponse {
  uint8_t op_code = 0;
  bool encrypted = false;
  int16_t return_code = 0;
  std::string debug_message;
  std::optional<int32_t> actor;
  std::optional<std::vector<int32_t>> actors;
  std::optional<std::string> user_id;          // param 225
  std::optional<std::string> nickname;         // param 202
  std::optional<sn::Table> data_table;         // param 245 as a table (copied)
  std::optional<std::vector<uint8_t>> token;   // param 221, a ByteArray
  std::optional<int64_t> token_expires;        // param 198, a Long (read exactly, not widened)
  bool auth_once_secret = false;                // param 192 present: it never should be
};

struct Recorder {
  std::vector<uint32_t> statuses;
  std::vector<uint16_t> reasons;
  std::vector<std::string> status_messages;
  std::vector<ReceivedEvent> events;
  std::vector<ReceivedResponse> responses;
  int wrong_thread = 0;
  // Optional behaviour hooks.
  std::function<void(const sn::Event&)> on_event_hook;
  std::function<void(uint32_t)> on_status_hook;

  bool has_status(uint32_t code) const {
    for (uint32_t s : statuses) {
      if (s == code) return true;
    }
    return false;
  }
  const ReceivedEvent* find_event(uint8_t code, size_t from = 0) const {
    for (size_t i = from; i < events.size(); ++i) {
      if (events[i].code == code) return &events[i];
    }
    return nullptr;
  }
  const ReceivedResponse* find_response(uint8_t op, size_t from = 0) const {
    for (size_t i = from; i < responses.size(); ++i) {
      if (responses[i].op_code == op) return &responses[i];
    }
    return nullptr;
  }
};

sn::Config recording_config(const std::shared_ptr<Recorder>& recorder) {
  sn::Config config;
  config.on_status = [recorder](uint32_t code, uint16_t reason, std::string_view message) {
    if (std::this_thread::get_id() != g_main_thread) ++recorder->wrong_thread;
    recorder->statuses.push_back(code);
    recorder->reasons.push_back(reason);
    recorder->status_messages.emplace_back(message);
    if (recorder->on_status_hook) recorder->on_status_hook(code);
  };
  config.on_event = [recorder](const sn::Event& event) {
    if (std::this_thread::get_id() != g_main_thread) ++recorder->wrong_thread;
    ReceivedEvent copy;
    copy.code = event.code;
    copy.encrypted = event.encrypted;
    copy.sender = event.sender;
    copy.actor = event.params.get_i32(kParamActor);
    if (auto text = event.params.get_string(kParamData)) copy.text = std::string(*text);
    if (auto bytes = event.params.get_bytes(kParamData)) copy.bytes = bytes->to_vector();
    if (auto nested = event.params.get_params(kParamData)) copy.nested = std::move(*nested);
    recorder->events.push_back(std::move(copy));
    if (recorder->on_event_hook) recorder->on_event_hook(event);
  };
  config.on_response = [recorder](const sn::OperationResponse& response) {
    if (std::this_thread::get_id() != g_main_thread) ++recorder->wrong_thread;
    ReceivedResponse copy;
    copy.op_code = response.op_code;
    copy.encrypted = response.encrypted;
    copy.return_code = response.return_code;
    copy.debug_message = std::string(response.debug_message);
    copy.actor = response.params.get_i32(kParamActor);
    copy.actors = response.params.get_i32_array(kParamActors);
    if (auto user = response.params.get<std::string>(kParamUserId)) copy.user_id = std::move(*user);
    copy.nickname = response.params.get<std::string>(kParamNickname);
    if (auto table = response.params.get<sn::TableView>(kParamData)) {
      if (auto owned = table->clone()) copy.data_table = std::move(owned).value();
    }
    copy.token = response.params.get<std::vector<uint8_t>>(kParamToken);
    copy.token_expires = response.params.get<int64_t>(kParamTokenExpires);
    copy.auth_once_secret = response.params.get<std::vector<uint8_t>>(192).has_value();
    recorder->responses.push_back(std::move(copy));
  };
  return config;
}

// Services the peers until `done()` holds or the deadline passes. The short pause between rounds
// only avoids a busy loop; progress is decided by `done()`.
template <class Done>
bool pump(std::initializer_list<sn::Peer*> peers, Done done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    for (sn::Peer* peer : peers) {
      if (peer->valid()) {
        const sn::Result serviced = peer->service();
        if (!serviced.ok()) std::fprintf(stderr, "    service: %s\n", serviced.message());
      }
    }
    if (done()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
}

sn::Params raise_params(int32_t code) {
  sn::Params params;
  CHECK_OK(params.put(kParamCode, code));
  return params;
}

// ---------------------------------------------------------------------------------------------
// Shared state across the cases
// ---------------------------------------------------------------------------------------------

struct World {
  std::string address;
  sn::PublicKey server_key{};
  std::string room;

  std::shared_ptr<Recorder> a_rec = std::make_shared<Recorder>();
  std::shared_ptr<Recorder> b_rec = std::make_shared<Recorder>();
  sn::Peer a;  // pins the server key
  sn::Peer b;  // does not pin
  int32_t a_actor = 0;
  int32_t b_actor = 0;
  // From the anonymous authentication, for the cases after it.
  std::vector<uint8_t> saved_token;
  std::string saved_user_id;
};

// Joins `room` and waits for the response; returns the actor number (0 on failure).
int32_t join_room(sn::Peer& peer, Recorder& rec, const std::string& room,
                  std::initializer_list<sn::Peer*> also_pump = {}) {
  sn::Params params;
  CHECK_OK(params.put(kParamRoom, room));
  const size_t before = rec.responses.size();
  CHECK_OK(peer.send_operation(kOpJoinRoom, params, sn::SendOptions::encrypted()));
  std::vector<sn::Peer*> peers{&peer};
  peers.insert(peers.end(), also_pump.begin(), also_pump.end());
  const auto deadline = Clock::now() + 10s;
  while (rec.find_response(kOpJoinRoom, before) == nullptr && Clock::now() < deadline) {
    for (sn::Peer* p : peers) {
      if (p->valid()) (void)p->service();
    }
    std::this_thread::sleep_for(1ms);
  }
  const ReceivedResponse* response = rec.find_response(kOpJoinRoom, before);
  if (!CHECK(response != nullptr)) return 0;
  CHECK(response->return_code == sn::return_code::Ok);
  CHECK(response->encrypted);
  CHECK(response->actor.has_value());
  CHECK(response->actors.has_value());
  return response->actor.value_or(0);
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

void test_params_roundtrip() {
  sn::Params params;
  CHECK(params.empty());
  CHECK(params.keys().empty());
  CHECK(!params.get_i32(1).has_value());

  CHECK_OK(params.put(1, true));
  CHECK_OK(params.put(2, int32_t{-7}));
  CHECK_OK(params.put(3, int64_t{1} << 40));
  CHECK_OK(params.put(4, 1.5f));
  CHECK_OK(params.put(5, 2.25));
  CHECK_OK(params.put(6, "literal"));
  CHECK_OK(params.put(7, std::string("owned")));
  const std::vector<uint8_t> blob{0, 1, 2, 254, 255};
  CHECK_OK(params.put(8, blob));
  CHECK_OK(params.put(9, std::vector<int32_t>{3, -1, 4}));
  CHECK_OK(params.put_null(10));
  sn::Params nested;
  CHECK_OK(nested.put(1, "inner"));
  CHECK_OK(params.put(11, nested));
  CHECK_OK(params.put(12, sn::Params()));  // an empty nested dictionary
  CHECK_OK(params.put(13, std::string_view("view")));

  CHECK(params.size() == 13);
  CHECK((params.keys() == std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}));
  CHECK(params.type(1) == sn::ValueType::Bool);
  CHECK(params.type(2) == sn::ValueType::Int);
  CHECK(params.type(3) == sn::ValueType::Long);
  CHECK(params.type(4) == sn::ValueType::Float);
  CHECK(params.type(5) == sn::ValueType::Double);
  CHECK(params.type(6) == sn::ValueType::String);
  CHECK(params.type(8) == sn::ValueType::Bytes);
  CHECK(params.type(9) == sn::ValueType::IntArray);  // a vector is sent packed
  CHECK(params.type(10) == sn::ValueType::Null);
  CHECK(params.type(11) == sn::ValueType::Map);
  CHECK(!params.type(200).has_value());
  CHECK(params.is_null(10));

  CHECK(params.get_bool(1) == true);
  CHECK(params.get_i32(2) == -7);
  CHECK(params.get_i64(3) == (int64_t{1} << 40));
  CHECK(params.get_i64(2) == -7);  // widened
  CHECK(params.get_f32(4) == 1.5f);
  CHECK(params.get_f64(5) == 2.25);
  CHECK(params.get_f64(4) == 1.5);  // widened
  CHECK(params.get_string(6) == std::string_view("literal"));
  CHECK(params.get_string(7) == std::string_view("owned"));
  CHECK(params.get_string(13) == std::string_view("view"));
  const auto bytes = params.get_bytes(8);
  CHECK(bytes.has_value() && *bytes == sn::ByteView(blob));
  CHECK((params.get_i32_array(9) == std::vector<int32_t>{3, -1, 4}));
  const auto inner = params.get_params(11);
  CHECK(inner.has_value() && inner->get_string(1) == std::string_view("inner"));
  const auto empty_inner = params.get_params(12);
  CHECK(empty_inner.has_value() && empty_inner->empty());

  // Wrong types and missing keys read as empty.
  CHECK(!params.get_i32(6).has_value());
  CHECK(!params.get_string(2).has_value());
  CHECK(!params.get_i32_array(8).has_value());
  CHECK(!params.get_params(1).has_value());
  CHECK(!params.get_bool(99).has_value());

  // Replacing a value, invalid UTF-8, clone, move, clear.
  CHECK_OK(params.put(2, int32_t{42}));
  CHECK(params.get_i32(2) == 42);
  const char bad_utf8[] = {'\xff', '\xfe'};
  const sn::Result bad = params.put(14, std::string_view(bad_utf8, sizeof bad_utf8));
  CHECK(bad.code() == sn::ErrorCode::InvalidArgument);
  CHECK(std::string(bad.message()).size() > 0);
  CHECK(!params.contains(14));

  auto copy = params.clone();
  CHECK_OK(copy);
  if (copy.ok()) {
    CHECK(copy->size() == params.size());
    CHECK(copy->get_string(6) == std::string_view("literal"));
    CHECK_OK(copy->put(6, "changed"));
    CHECK(params.get_string(6) == std::string_view("literal"));  // independent
    CHECK_OK(copy->remove(6));
    CHECK(!copy->contains(6));
    CHECK(copy->remove(6).code() == sn::ErrorCode::NotFound);
    CHECK(params.contains(6));
  }
  sn::Params moved = std::move(params);
  CHECK(moved.size() == 13);
  CHECK(params.size() == 0);  // NOLINT: moved-from is empty by contract
  sn::ParamsView view = moved;
  CHECK(view.get_i32(2) == 42);
  CHECK_OK(moved.clear());
  CHECK(moved.empty());

  CHECK(std::string(sn::library_version()) == SEALNET_VERSION_STRING);
  CHECK(std::string(sn::status_name(sn::status::Connect)) == "Connect");
  CHECK(!sn::parse_public_key("xyz").has_value());
}

void test_empty_peer() {
  sn::Peer empty;
  CHECK(!empty.valid());
  CHECK(empty.service().code() == sn::ErrorCode::InvalidPeer);
  CHECK(empty.send_operation(1).code() == sn::ErrorCode::InvalidPeer);
  CHECK(empty.state().code() == sn::ErrorCode::InvalidPeer);
  sn::Config bad;
  bad.disconnect_timeout = 0ms;
  CHECK(sn::Peer::create(std::move(bad)).code() == sn::ErrorCode::InvalidArgument);
  CHECK(std::string(sn::last_error()).find("disconnect_timeout is 0 ms") != std::string::npos);
  sn::Config too_long;
  too_long.ping_interval = std::chrono::hours(25);  // within uint32_t, beyond the library's day
  CHECK(sn::Peer::create(std::move(too_long)).code() == sn::ErrorCode::InvalidArgument);
  CHECK(std::string(sn::last_error()).find("ping_interval") != std::string::npos);
}

void test_connect_sequence(World& w) {
  sn::Config a_config = recording_config(w.a_rec);
  a_config.pinned_server_key = w.server_key;
  auto a = sn::Peer::create(std::move(a_config));
  auto b = sn::Peer::create(recording_config(w.b_rec));
  CHECK_OK(a);
  CHECK_OK(b);
  if (!a.ok() || !b.ok()) return;
  w.a = std::move(a).value();
  w.b = std::move(b).value();

  CHECK(w.a.connect(std::string("127.0.0.1:1\0x", 13), kAppId).code() == sn::ErrorCode::InvalidArgument);
  CHECK_OK(w.a.connect(w.address, kAppId));
  CHECK_OK(w.b.connect(w.address, kAppId));
  CHECK(w.a.connect(w.address, kAppId).code() == sn::ErrorCode::AlreadyConnected);

  CHECK(pump({&w.a, &w.b}, [&] { return w.a_rec->statuses.size() >= 2 && w.b_rec->statuses.size() >= 2; }));
  CHECK((w.a_rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  CHECK((w.b_rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  CHECK(w.a.state().value_or(sn::PeerState::Disconnected) == sn::PeerState::Encrypted);
  const auto a_key = w.a.server_public_key();
  const auto b_key = w.b.server_public_key();
  CHECK(a_key.ok() && *a_key == w.server_key);
  CHECK(b_key.ok() && *b_key == w.server_key);
  CHECK(w.a_rec->wrong_thread == 0 && w.b_rec->wrong_thread == 0);
}

void test_join_room(World& w) {
  w.a_actor = join_room(w.a, *w.a_rec, w.room, {&w.b});
  w.b_actor = join_room(w.b, *w.b_rec, w.room, {&w.a});
  CHECK(w.a_actor > 0);
  CHECK(w.b_actor > 0 && w.b_actor != w.a_actor);
  // Every member, the joiner included, gets the Join event naming the new actor.
  auto saw_join = [](const Recorder& rec, int32_t actor) {
    for (const auto& e : rec.events) {
      if (e.code == kEventJoin && e.actor == actor) return true;
    }
    return false;
  };
  CHECK(pump({&w.a, &w.b}, [&] { return saw_join(*w.a_rec, w.b_actor) && saw_join(*w.b_rec, w.b_actor); }));
  CHECK(saw_join(*w.a_rec, w.a_actor));
}

void test_encrypted_event(World& w) {
  const size_t before = w.b_rec->events.size();
  sn::Params params = raise_params(7);
  CHECK_OK(params.put(kParamData, "secret text"));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted()));
  CHECK(pump({&w.a, &w.b}, [&] { return w.b_rec->find_event(7, before) != nullptr; }));
  const ReceivedEvent* e = w.b_rec->find_event(7, before);
  if (!CHECK(e != nullptr)) return;
  CHECK(e->encrypted);
  CHECK(e->sender == w.a_actor);
  CHECK(e->actor == w.a_actor);
  CHECK(e->text == std::string("secret text"));
}

void test_plain_event(World& w) {
  const size_t before = w.b_rec->events.size();
  const std::vector<uint8_t> payload{0, 1, 2, 3, 250, 255};
  sn::Params params = raise_params(8);
  CHECK_OK(params.put(kParamData, payload));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, params));
  CHECK(pump({&w.a, &w.b}, [&] { return w.b_rec->find_event(8, before) != nullptr; }));
  const ReceivedEvent* e = w.b_rec->find_event(8, before);
  if (!CHECK(e != nullptr)) return;
  CHECK(!e->encrypted);
  CHECK(e->sender == w.a_actor);
  CHECK(e->bytes == payload);

  // The other way round, with a nested dictionary as data.
  const size_t a_before = w.a_rec->events.size();
  sn::Params data;
  CHECK_OK(data.put(1, std::vector<int32_t>{10, 20}));
  CHECK_OK(data.put(2, 3.5));
  sn::Params back = raise_params(9);
  CHECK_OK(back.put(kParamData, data));
  CHECK_OK(w.b.send_operation(kOpRaiseEvent, back, sn::SendOptions::encrypted()));
  CHECK(pump({&w.a, &w.b}, [&] { return w.a_rec->find_event(9, a_before) != nullptr; }));
  const ReceivedEvent* n = w.a_rec->find_event(9, a_before);
  if (!CHECK(n != nullptr)) return;
  CHECK(n->encrypted);
  CHECK(n->sender == w.b_actor);
  CHECK(n->nested.has_value());
  if (n->nested) {
    CHECK((n->nested->get_i32_array(1) == std::vector<int32_t>{10, 20}));
    CHECK(n->nested->get_f64(2) == 3.5);
  }
}

void test_encrypt_before_key_exchange(World& w) {
  auto rec = std::make_shared<Recorder>();
  sn::Config config = recording_config(rec);
  config.auto_key_exchange = false;
  config.pinned_server_key = w.server_key;
  auto created = sn::Peer::create(std::move(config));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer c = std::move(created).value();

  // A handler may not service its own peer re-entrantly.
  std::optional<sn::ErrorCode> nested_service;
  rec->on_status_hook = [&](uint32_t) {
    if (!nested_service) nested_service = c.service().code();
  };

  CHECK(c.establish_encryption().code() == sn::ErrorCode::NotConnected);
  CHECK_OK(c.connect(w.address, kAppId));
  CHECK(pump({&c}, [&] { return rec->has_status(sn::status::Connect); }));
  CHECK(nested_service == sn::ErrorCode::CalledFromCallback);
  CHECK(c.state().value_or(sn::PeerState::Disconnected) == sn::PeerState::Connected);

  sn::Params params = raise_params(1);
  const sn::Result refused = c.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted());
  CHECK(refused.code() == sn::ErrorCode::EncryptionNotEstablished);
  CHECK(c.server_public_key().code() == sn::ErrorCode::EncryptionNotEstablished);

  CHECK_OK(c.establish_encryption());
  CHECK(pump({&c}, [&] { return rec->has_status(sn::status::EncryptionEstablished); }));
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  CHECK(c.establish_encryption().code() == sn::ErrorCode::KeyExchangeAlreadyStarted);
  const auto key = c.server_public_key();
  CHECK(key.ok() && *key == w.server_key);

  // Encrypted sending works now; outside a room the server answers with an encrypted error.
  CHECK_OK(c.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted()));
  CHECK(pump({&c}, [&] { return rec->find_response(kOpRaiseEvent) != nullptr; }));
  const ReceivedResponse* response = rec->find_response(kOpRaiseEvent);
  if (CHECK(response != nullptr)) {
    CHECK(response->encrypted);
    CHECK(response->return_code < 0);
    CHECK(!response->debug_message.empty());
  }
}

void test_wrong_pin(World& w) {
  auto rec = std::make_shared<Recorder>();
  sn::Config config = recording_config(rec);
  sn::PublicKey wrong = w.server_key;
  wrong[0] ^= 0x01;
  config.pinned_server_key = wrong;
  auto created = sn::Peer::create(std::move(config));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer d = std::move(created).value();
  CHECK_OK(d.connect(w.address, kAppId));
  CHECK(pump({&d}, [&] { return rec->has_status(sn::status::Disconnect); }));
  CHECK(rec->has_status(sn::status::EncryptionFailedToEstablish));
  CHECK(!rec->has_status(sn::status::EncryptionEstablished));
  CHECK(!rec->statuses.empty() && rec->statuses.back() == sn::status::Disconnect);
  CHECK(d.server_public_key().code() == sn::ErrorCode::EncryptionNotEstablished);
}

void test_poll(World& w) {
  auto created = sn::Peer::create(sn::Config{});
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  CHECK(p.poll().code() == sn::ErrorCode::NoEvent);
  CHECK_OK(p.connect(w.address, kAppId));
  std::vector<uint32_t> statuses;
  const auto deadline = Clock::now() + 10s;
  while (statuses.size() < 2 && Clock::now() < deadline) {
    auto polled = p.poll();
    if (polled.ok()) {
      CHECK(polled->kind == sn::EventKind::Status);
      statuses.push_back(polled->status);
    } else {
      CHECK(polled.code() == sn::ErrorCode::NoEvent);
      std::this_thread::sleep_for(1ms);
    }
  }
  CHECK((statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
}

void test_wait(World& w) {
  auto created = sn::Peer::create(sn::Config{});
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  CHECK(p.wait(5s).code() == sn::ErrorCode::NotConnected);
  CHECK_OK(p.connect(w.address, kAppId));
  std::vector<uint32_t> statuses;
  const auto deadline = Clock::now() + 10s;
  while (statuses.size() < 2 && Clock::now() < deadline) {
    CHECK_OK(p.wait(10s));
    for (auto polled = p.poll(); polled.ok(); polled = p.poll()) statuses.push_back(polled->status);
  }
  CHECK((statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  const auto started = Clock::now();
  CHECK(p.wait(30ms).code() == sn::ErrorCode::TimedOut);
  CHECK(Clock::now() - started >= 25ms);
}

void test_argument_errors(World& w) {
  auto created = sn::Peer::create(sn::Config{});
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  CHECK(p.connect(w.address, std::string(65, 'x')).code() == sn::ErrorCode::InvalidArgument);
  CHECK(std::string(sn::last_error()).find("the app id is 65 bytes; the limit is 64") != std::string::npos);
}

void test_move_keeps_callbacks(World& w) {
  // Move-construct B.
  sn::Peer moved(std::move(w.b));
  CHECK(!w.b.valid());  // NOLINT: moved-from is empty by contract
  CHECK(w.b.send_operation(kOpRaiseEvent).code() == sn::ErrorCode::InvalidPeer);
  CHECK(w.b.service().code() == sn::ErrorCode::InvalidPeer);
  CHECK(moved.valid());

  size_t before = w.b_rec->events.size();
  sn::Params first = raise_params(21);
  CHECK_OK(first.put(kParamData, "after move-construct"));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, first, sn::SendOptions::encrypted()));
  CHECK(pump({&w.a, &moved}, [&] { return w.b_rec->find_event(21, before) != nullptr; }));
  const ReceivedEvent* e = w.b_rec->find_event(21, before);
  CHECK(e != nullptr && e->text == std::string("after move-construct") && e->encrypted);

  // Move-assign over a live, connected peer: the old one is destroyed and its handlers released.
  auto other_rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(other_rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer target = std::move(created).value();
  CHECK_OK(target.connect(w.address, kAppId));
  CHECK(pump({&target}, [&] { return other_rec->has_status(sn::status::EncryptionEstablished); }));
  const size_t other_seen = other_rec->statuses.size() + other_rec->events.size();
  CHECK(other_rec.use_count() == 4);  // ours plus the three handlers
  target = std::move(moved);
  CHECK(other_rec.use_count() == 1);  // the old peer and its handlers are gone
  CHECK(!moved.valid());              // NOLINT: moved-from is empty by contract

  before = w.b_rec->events.size();
  sn::Params second = raise_params(22);
  CHECK_OK(second.put(kParamData, "after move-assign"));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, second));
  CHECK(pump({&w.a, &target}, [&] { return w.b_rec->find_event(22, before) != nullptr; }));
  e = w.b_rec->find_event(22, before);
  CHECK(e != nullptr && e->text == std::string("after move-assign") && !e->encrypted);
  CHECK(other_rec->statuses.size() + other_rec->events.size() == other_seen);

  // Give B back to the world for the later cases.
  w.b = std::move(target);
  CHECK(w.b.valid());
}

void test_callback_exception(World& w) {
  w.b_rec->on_event_hook = [](const sn::Event& event) {
    if (event.code == 31) throw std::runtime_error("thrown by a handler");
    if (event.code == 32) throw 42;  // later exceptions of the same call are dropped
  };
  const size_t before = w.b_rec->events.size();
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, raise_params(31)));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, raise_params(32)));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, raise_params(33)));

  int runtime_errors = 0;
  int others = 0;
  const auto deadline = Clock::now() + 10s;
  while (w.b_rec->find_event(33, before) == nullptr && Clock::now() < deadline) {
    (void)w.a.service();
    try {
      (void)w.b.service();
    } catch (const std::runtime_error& error) {
      CHECK(std::string(error.what()) == "thrown by a handler");
      ++runtime_errors;
    } catch (...) {
      ++others;
    }
    std::this_thread::sleep_for(1ms);
  }
  w.b_rec->on_event_hook = nullptr;
  CHECK(runtime_errors == 1);
  CHECK(others <= 1);  // 32 arrives in the same batch as 31 (dropped) or in a later one (kept)
  // All three events were still delivered to the handler.
  CHECK(w.b_rec->find_event(31, before) != nullptr);
  CHECK(w.b_rec->find_event(32, before) != nullptr);
  CHECK(w.b_rec->find_event(33, before) != nullptr);
  // Servicing works normally afterwards.
  CHECK_OK(w.b.service());
}

void test_destroy_in_own_callback(World& w) {
  auto rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer f = std::move(created).value();
  CHECK_OK(f.connect(w.address, kAppId));
  CHECK(pump({&f}, [&] { return rec->has_status(sn::status::EncryptionEstablished); }));
  const int32_t f_actor = join_room(f, *rec, w.room, {&w.a, &w.b});
  CHECK(f_actor > 0);

  // On event 41, the handler destroys its own peer; 42 (queued behind it) must never arrive.
  int after_destroy = 0;
  bool destroyed = false;
  rec->on_event_hook = [&](const sn::Event& event) {
    if (destroyed) ++after_destroy;
    if (event.code == 41) {
      f.reset();
      destroyed = true;
    }
  };
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, raise_params(41)));
  for (int i = 0; i < 20; ++i) CHECK_OK(w.a.send_operation(kOpRaiseEvent, raise_params(42)));
  CHECK(pump({&w.a, &w.b, &f}, [&] { return destroyed; }));
  CHECK(!f.valid());
  CHECK(after_destroy == 0);
  CHECK(rec->find_event(42) == nullptr);
  CHECK(rec.use_count() == 1);  // handlers released once that service() call returned
  // The others see f leave.
  auto left = [&](const Recorder& r) {
    for (const auto& e : r.events) {
      if (e.code == kEventLeave && e.actor == f_actor) return true;
    }
    return false;
  };
  CHECK(pump({&w.a, &w.b}, [&] { return left(*w.a_rec) && left(*w.b_rec); }));
}

std::atomic<bool> g_victim_destroyed{false};
std::atomic<int> g_victim_calls_after_destroy{0};

void test_destroy_mid_traffic(World& w) {
  const std::string room = w.room + "-flood";
  auto victim_rec = std::make_shared<Recorder>();
  auto flooder_rec = std::make_shared<Recorder>();
  sn::Config victim_config = recording_config(victim_rec);
  victim_rec->on_event_hook = [](const sn::Event&) {
    if (g_victim_destroyed.load()) g_victim_calls_after_destroy.fetch_add(1);
  };
  victim_rec->on_status_hook = [](uint32_t) {
    if (g_victim_destroyed.load()) g_victim_calls_after_destroy.fetch_add(1);
  };
  auto v = sn::Peer::create(std::move(victim_config));
  auto f = sn::Peer::create(recording_config(flooder_rec));
  CHECK_OK(v);
  CHECK_OK(f);
  if (!v.ok() || !f.ok()) return;
  sn::Peer victim = std::move(v).value();
  sn::Peer flooder = std::move(f).value();
  CHECK_OK(victim.connect(w.address, kAppId));
  CHECK_OK(flooder.connect(w.address, kAppId));
  CHECK(pump({&victim, &flooder}, [&] {
    return victim_rec->has_status(sn::status::EncryptionEstablished) &&
           flooder_rec->has_status(sn::status::EncryptionEstablished);
  }));
  const int32_t victim_actor = join_room(victim, *victim_rec, room);
  const int32_t flooder_actor = join_room(flooder, *flooder_rec, room, {&victim});
  CHECK(victim_actor > 0 && flooder_actor > 0);

  // Another thread floods events at the victim (send_operation is callable from any thread).
  std::atomic<bool> stop{false};
  std::atomic<long> sent{0};
  std::atomic<long> send_errors{0};
  std::thread flood([&] {
    const std::vector<uint8_t> payload(512, 0xab);
    sn::Params params;
    if (!params.put(kParamCode, int32_t{50}).ok() || !params.put(kParamData, payload).ok()) {
      send_errors.fetch_add(1);
      return;
    }
    long i = 0;
    while (!stop.load()) {
      const sn::Result r = flooder.send_operation(
          kOpRaiseEvent, params, (i++ % 2 == 0) ? sn::SendOptions::encrypted() : sn::SendOptions::plain());
      if (r.ok()) {
        sent.fetch_add(1);
      } else if (r.code() == sn::ErrorCode::SendBufferFull) {
        std::this_thread::yield();
      } else {
        send_errors.fetch_add(1);
        std::this_thread::yield();
      }
    }
  });

  // Let traffic flow, then destroy the victim while events keep arriving.
  const size_t events_before = victim_rec->events.size();
  CHECK(pump({&victim, &flooder}, [&] { return victim_rec->events.size() >= events_before + 300; }));
  bool saw_encrypted = false;
  bool saw_plain = false;
  for (size_t i = events_before; i < victim_rec->events.size(); ++i) {
    const auto& e = victim_rec->events[i];
    if (e.code != 50) continue;
    (e.encrypted ? saw_encrypted : saw_plain) = true;
  }
  CHECK(saw_encrypted && saw_plain);
  const long sent_at_destroy = sent.load();
  const auto started = Clock::now();
  victim.reset();
  g_victim_destroyed.store(true);
  const auto took = Clock::now() - started;
  CHECK(!victim.valid());
  CHECK(victim_rec.use_count() == 1);  // handlers gone with the peer
  CHECK(took < 5s);

  // The flooder keeps working: wait until the server reports the victim gone and the flood goes on.
  CHECK(pump({&flooder}, [&] {
    for (const auto& e : flooder_rec->events) {
      if (e.code == kEventLeave && e.actor == victim_actor) return sent.load() > sent_at_destroy + 100;
    }
    return false;
  }));
  stop.store(true);
  flood.join();
  std::printf("     (victim got %zu events before it was destroyed; %ld sent in all, %ld before)\n",
              victim_rec->events.size(), sent.load(), sent_at_destroy);
  CHECK(send_errors.load() == 0);
  CHECK(flooder.state().value_or(sn::PeerState::Disconnected) == sn::PeerState::Encrypted);
  CHECK(g_victim_calls_after_destroy.load() == 0);
  CHECK(flooder_rec->wrong_thread == 0);
}

void test_disconnect(World& w) {
  const size_t before = w.a_rec->statuses.size();
  CHECK_OK(w.a.disconnect());
  CHECK(pump({&w.a}, [&] { return w.a_rec->statuses.size() > before; }));
  CHECK(w.a_rec->statuses.size() == before + 1 && w.a_rec->statuses.back() == sn::status::Disconnect);
  CHECK(w.a.state().value_or(sn::PeerState::Connected) == sn::PeerState::Disconnected);
  CHECK(w.a.send_operation(kOpRaiseEvent).code() == sn::ErrorCode::NotConnected);
  // A before the disconnect saw exactly Connect then EncryptionEstablished.
  CHECK(w.a_rec->statuses.size() >= 2 && w.a_rec->statuses[0] == sn::status::Connect &&
        w.a_rec->statuses[1] == sn::status::EncryptionEstablished);
  CHECK(w.a_rec->wrong_thread == 0 && w.b_rec->wrong_thread == 0);
}

// ---------------------------------------------------------------------------------------------
// Values of protocol version 2, custom types, options and stats
// ---------------------------------------------------------------------------------------------

// A registered custom type: three little-endian IEEE-754 floats (12 bytes), as in tests/cross.
struct Vec3 {
  float x = 0, y = 0, z = 0;
  bool operator==(const Vec3& o) const { return x == o.x && y == o.y && z == o.z; }
};

std::vector<uint8_t> vec3_bytes(const Vec3& v) {
  std::vector<uint8_t> out;
  for (const float f : {v.x, v.y, v.z}) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(bits >> shift));
  }
  return out;
}

std::optional<Vec3> vec3_from(sn::ByteView bytes) {
  if (bytes.size() != 12) return std::nullopt;
  float f[3];
  for (int i = 0; i < 3; ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= uint32_t{bytes[static_cast<size_t>(4 * i + b)]} << (8 * b);
    std::memcpy(&f[i], &bits, sizeof bits);
  }
  return Vec3{f[0], f[1], f[2]};
}

constexpr uint8_t kVec3Code = 86;

// Registered once, before the cases that put or read a Vec3.
void register_vec3() {
  const sn::Result registered = sn::register_type<Vec3>(kVec3Code, vec3_bytes, vec3_from);
  if (!registered.ok()) {
    std::fprintf(stderr, "register_type<Vec3>: %s (%s)\n", registered.message(), sn::last_error());
    std::exit(1);
  }
}

bool contains_text(const char* text, const char* part) { return std::string(text).find(part) != std::string::npos; }

#define CHECK_ERROR(expr, error_code, part)                                                      \
  do {                                                                                           \
    const sn::Result check_error_ = (expr);                                                      \
    const std::string check_detail_ = sn::last_error();                                          \
    if (!check(check_error_.code() == (error_code), #expr " gives " #error_code, __LINE__)) {    \
      std::fprintf(stderr, "    -> %s (%s)\n", check_error_.message(), check_detail_.c_str());  \
    } else if (!check(check_detail_.find(part) != std::string::npos,                              \
                      "last_error() names: " part, __LINE__)) {                                  \
      std::fprintf(stderr, "    -> last_error(): %s\n", check_detail_.c_str());                 \
    }                                                                                            \
  } while (0)

// Creates a peer with `config`, connects it and services it until the key exchange is done.
bool start_peer(sn::Peer& peer, sn::Config config, const Recorder& rec, const World& w) {
  auto created = sn::Peer::create(std::move(config));
  CHECK_OK(created);
  if (!created.ok()) return false;
  peer = std::move(created).value();
  CHECK_OK(peer.connect(w.address, kAppId));
  return CHECK(pump({&peer}, [&] {
    return rec.has_status(sn::status::EncryptionEstablished) || rec.has_status(sn::status::Disconnect);
  })) && CHECK(rec.has_status(sn::status::EncryptionEstablished));
}

void test_values_roundtrip(World& w) {
  sn::Params data;
  const int16_t shorts[] = {-1, 2, 300};
  const std::vector<float> floats{0.5f, -1.25f};
  const bool bools[] = {true, false, true};
  CHECK_OK(data.put(1, uint8_t{200}));
  CHECK_OK(data.put(2, int16_t{-12345}));
  CHECK_OK(data.put(3, int32_t{-100000}));
  CHECK_OK(data.put(4, int64_t{1} << 40));
  CHECK_OK(data.put(5, 1.5f));
  CHECK_OK(data.put(6, -2.25));
  CHECK_OK(data.put(7, true));
  CHECK_OK(data.put(8, std::string("h\xc3\xa9llo w\xc3\xb6rld")));
  CHECK_OK(data.put(9, std::vector<uint8_t>{0, 1, 254, 255}));
  CHECK_OK(data.put_array(10, shorts, 3));  // straight from a pointer
  CHECK_OK(data.put(11, std::array<int32_t, 3>{7, -8, 9000000}));
  CHECK_OK(data.put(12, std::vector<int64_t>{-1, int64_t{1} << 32}));
  CHECK_OK(data.put(13, sn::ArraySpan<float>(floats)));
  CHECK_OK(data.put(14, std::vector<double>{3.5, -0.125}));
  CHECK_OK(data.put_array(15, bools, 3));
  CHECK_OK(data.put(16, std::vector<std::string>{"a", "\xce\xb2", ""}));
  sn::Array mixed;
  CHECK_OK(mixed.push(1));
  CHECK_OK(mixed.push("two"));
  CHECK_OK(mixed.push(nullptr));
  CHECK_OK(mixed.push(false));
  sn::Array names = sn::Array::strings();
  CHECK_OK(names.push("x"));
  CHECK_OK(mixed.push(names));                          // a string array inside an object[]
  CHECK_OK(mixed.push(std::vector<int16_t>{4, 5}));    // a packed array inside it
  CHECK_OK(data.put(17, mixed));
  sn::Table table;
  sn::Params inner;
  CHECK_OK(inner.put(1, "inner"));
  CHECK_OK(table.put("name", "Ann"));
  CHECK_OK(table.put(int32_t{7}, 0.25));
  CHECK_OK(table.put(int64_t{7}, "long seven"));  // another key: the key's type is part of it
  CHECK_OK(table.put(uint8_t{1}, true));
  CHECK_OK(table.put(int16_t{-2}, inner));
  CHECK_OK(table.put("name", "Bea"));  // replaces
  CHECK(table.size() == 5);
  CHECK_OK(data.put(18, table));
  CHECK_OK(data.put(19, std::vector<bool>{}));
  CHECK_OK(data.put(20, sn::Array()));
  CHECK_OK(data.put(21, sn::Table()));
  CHECK_OK(data.put(22, nullptr));
  CHECK_OK(data.put(23, std::vector<sn::Value>{int16_t{3}, std::vector<int32_t>{1, 2}, "v"}));
  sn::Params map;
  CHECK_OK(map.put(1, 5));
  CHECK_OK(data.put(24, map));
  const sn::Value held = std::vector<double>{1.0, 2.0};
  CHECK_OK(data.put(25, held));
  CHECK_OK(data.put(26, Vec3{1, 2, 3}));
  CHECK_OK(data.put(27, static_cast<long long>(-5)));  // any signed 64-bit integer is a Long

  // Borrowed views are read inside the handler, where they are valid.
  bool read_in_handler = false;
  std::vector<int16_t> shorts_seen;
  std::string text_seen;
  w.b_rec->on_event_hook = [&](const sn::Event& event) {
    if (event.code != 60) return;
    const auto d = event.params.get<sn::ParamsView>(kParamData);
    if (!d) return;
    if (const auto span = d->get<sn::ArraySpan<int16_t>>(10)) shorts_seen = span->to_vector();
    if (const auto text = d->get<std::string_view>(8)) text_seen = std::string(*text);
    read_in_handler = true;
  };
  const size_t before = w.b_rec->events.size();
  sn::Params params = raise_params(60);
  CHECK_OK(params.put(kParamData, data));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted()));
  CHECK(pump({&w.a, &w.b}, [&] { return w.b_rec->find_event(60, before) != nullptr; }));
  w.b_rec->on_event_hook = nullptr;
  CHECK(read_in_handler);
  CHECK((shorts_seen == std::vector<int16_t>{-1, 2, 300}));
  CHECK(text_seen == "h\xc3\xa9llo w\xc3\xb6rld");
  const ReceivedEvent* e = w.b_rec->find_event(60, before);
  if (!CHECK(e != nullptr && e->nested.has_value())) return;
  const sn::Params& d = *e->nested;  // the recorder's copy of the data

  const std::vector<std::pair<uint8_t, sn::ValueType>> types{
      {1, sn::ValueType::Byte},         {2, sn::ValueType::Short},       {3, sn::ValueType::Int},
      {4, sn::ValueType::Long},         {5, sn::ValueType::Float},       {6, sn::ValueType::Double},
      {7, sn::ValueType::Bool},         {8, sn::ValueType::String},      {9, sn::ValueType::Bytes},
      {10, sn::ValueType::ShortArray},  {11, sn::ValueType::IntArray},   {12, sn::ValueType::LongArray},
      {13, sn::ValueType::FloatArray},  {14, sn::ValueType::DoubleArray}, {15, sn::ValueType::BoolArray},
      {16, sn::ValueType::StringArray}, {17, sn::ValueType::Array},      {18, sn::ValueType::Table},
      {19, sn::ValueType::BoolArray},   {20, sn::ValueType::Array},      {21, sn::ValueType::Table},
      {22, sn::ValueType::Null},        {23, sn::ValueType::Array},      {24, sn::ValueType::Map},
      {25, sn::ValueType::DoubleArray}, {26, sn::ValueType::Custom},     {27, sn::ValueType::Long}};
  CHECK(d.size() == types.size());
  for (const auto& [key, type] : types) {
    if (!CHECK(d.type(key) == type)) {
      std::fprintf(stderr, "    key %u: %s, expected %s\n", key, d.type(key) ? sn::type_name(*d.type(key)) : "missing",
                   sn::type_name(type));
    }
  }
  CHECK(d.get<uint8_t>(1) == uint8_t{200});
  CHECK(d.get<int16_t>(2) == int16_t{-12345});
  CHECK(d.get<int32_t>(3) == -100000);
  CHECK(d.get<int64_t>(4) == (int64_t{1} << 40));
  CHECK(d.get<float>(5) == 1.5f);
  CHECK(d.get<double>(6) == -2.25);
  CHECK(d.get<bool>(7) == true);
  CHECK(d.get<std::string>(8) == std::string("h\xc3\xa9llo w\xc3\xb6rld"));
  CHECK((d.get<std::vector<uint8_t>>(9) == std::vector<uint8_t>{0, 1, 254, 255}));
  CHECK((d.get<std::vector<int16_t>>(10) == std::vector<int16_t>{-1, 2, 300}));
  CHECK((d.get<std::vector<int32_t>>(11) == std::vector<int32_t>{7, -8, 9000000}));
  CHECK((d.get<std::vector<int64_t>>(12) == std::vector<int64_t>{-1, int64_t{1} << 32}));
  CHECK((d.get<std::vector<float>>(13) == std::vector<float>{0.5f, -1.25f}));
  CHECK((d.get<std::vector<double>>(14) == std::vector<double>{3.5, -0.125}));
  CHECK((d.get<std::vector<bool>>(15) == std::vector<bool>{true, false, true}));
  CHECK((d.get<std::vector<std::string>>(16) == std::vector<std::string>{"a", "\xce\xb2", ""}));
  const auto array = d.get<sn::ArrayView>(17);
  if (CHECK(array.has_value() && array->size() == 6)) {
    CHECK(array->get<int32_t>(0) == 1);
    CHECK(array->get<std::string_view>(1) == std::string_view("two"));
    CHECK((*array)[2].is_null());
    CHECK(array->get<bool>(3) == false);
    const auto strings = array->get<sn::ArrayView>(4);
    CHECK(strings.has_value() && strings->kind() == sn::ValueType::StringArray &&
          strings->get<std::string>(0) == std::string("x"));
    CHECK((array->get<std::vector<int16_t>>(5) == std::vector<int16_t>{4, 5}));
    CHECK(!array->at(6).has_value());
    size_t iterated = 0;
    for (const sn::ValueView element : *array) {
      (void)element;
      ++iterated;
    }
    CHECK(iterated == 6);
  }
  const auto t = d.get<sn::TableView>(18);
  if (CHECK(t.has_value() && t->size() == 5)) {
    CHECK(t->get<std::string_view>("name") == std::string_view("Bea"));
    CHECK(t->get<double>(int32_t{7}) == 0.25);
    CHECK(t->get<std::string>(int64_t{7}) == std::string("long seven"));
    CHECK(t->get<bool>(uint8_t{1}) == true);
    const auto nested = t->get<sn::ParamsView>(int16_t{-2});
    CHECK(nested.has_value() && nested->get<std::string_view>(1) == std::string_view("inner"));
    CHECK(!t->contains("missing"));
    CHECK(!t->get<int32_t>("name").has_value());  // another type
    size_t string_keys = 0;
    for (const sn::TableEntry entry : *t) {
      if (entry.key.type() == sn::ValueType::String) ++string_keys;
    }
    CHECK(string_keys == 1);
  }
  CHECK(d.get<sn::BoolArrayView>(19).has_value() && d.get<sn::BoolArrayView>(19)->empty());
  CHECK(d.get<sn::ArrayView>(20).has_value() && d.get<sn::ArrayView>(20)->empty());
  CHECK(d.get<sn::TableView>(21).has_value() && d.get<sn::TableView>(21)->empty());
  CHECK(d.is_null(22));
  const auto values = d.get<std::vector<sn::Value>>(23);
  if (CHECK(values.has_value() && values->size() == 3)) {
    CHECK((*values)[0].get<int16_t>() == int16_t{3});
    CHECK(((*values)[1].get<std::vector<int32_t>>() == std::vector<int32_t>{1, 2}));
    CHECK((*values)[2].type() == sn::ValueType::String);
  }
  const auto m = d.get<sn::ParamsView>(24);
  CHECK(m.has_value() && m->get<int32_t>(1) == 5);
  CHECK((d.get<std::vector<double>>(25) == std::vector<double>{1.0, 2.0}));
  CHECK((d.get<Vec3>(26) == Vec3{1, 2, 3}));
  CHECK(d.get<int64_t>(27) == -5);

  // An owned copy of a value of any type keeps it after the dictionary is gone.
  std::optional<sn::Value> kept;
  {
    auto copy = d.clone();
    CHECK_OK(copy);
    if (copy.ok()) kept = copy->get<sn::Value>(18);
  }
  if (CHECK(kept.has_value() && kept->type() == sn::ValueType::Table)) {
    const sn::Value again = *kept;  // copyable: the table is copied through the library
    const sn::Table* table_copy = again.get_if<sn::Table>();
    CHECK(table_copy != nullptr && table_copy->get<std::string>("name") == std::string("Bea"));
  }

  // No conversion on read: the type must be the one asked for.
  CHECK(!d.get<int32_t>(1).has_value());
  CHECK(!d.get<int64_t>(3).has_value());
  CHECK(!d.get<double>(5).has_value());
  CHECK(!d.get<std::vector<int32_t>>(10).has_value());
  CHECK(!d.get<std::string_view>(9).has_value());
  CHECK(!d.get<sn::TableView>(24).has_value());
  CHECK(!d.get<uint8_t>(200).has_value());
}

void test_value_limits() {
  sn::Params p;
  // The string limit is 64 KiB: one byte more is refused when it is put, naming the limit.
  CHECK_OK(p.put(1, std::string(65536, 'x')));
  CHECK_ERROR(p.put(2, std::string(65537, 'x')), sn::ErrorCode::ParamsTooLarge,
              "string of 65537 bytes exceeds the limit of 65536");
  CHECK(!p.contains(2));
  CHECK_ERROR(p.put(3, std::vector<uint8_t>(256 * 1024 + 1)), sn::ErrorCode::ParamsTooLarge, "262144");

  // Inside containers too, at the push.
  sn::Array a;
  CHECK_ERROR(a.push(std::string(70000, 'y')), sn::ErrorCode::ParamsTooLarge, "65536");
  for (int32_t i = 0; i < 4096; ++i) {
    if (!a.push(i).ok()) {
      CHECK(false);
      break;
    }
  }
  CHECK(a.size() == 4096);
  CHECK_ERROR(a.push(4096), sn::ErrorCode::ParamsTooLarge, "4096");
  sn::Table t;
  CHECK_ERROR(t.put(std::string(70000, 'k'), 1), sn::ErrorCode::ParamsTooLarge, "65536");
  CHECK_ERROR(t.put(1.5, 1), sn::ErrorCode::TypeMismatch, "a table key is an int, long, string, byte or short");

  // Nesting deeper than the codec allows is refused at the put that makes it too deep.
  sn::Params level;
  CHECK_OK(level.put(1, 1));
  bool refused = false;
  for (int depth = 0; depth < 12 && !refused; ++depth) {
    sn::Params outer;
    const sn::Result r = outer.put(1, level);
    if (r.code() == sn::ErrorCode::ParamsTooLarge) {
      refused = true;
      CHECK(contains_text(sn::last_error(), "depth"));
    } else {
      CHECK_OK(r);
      level = std::move(outer);
    }
  }
  CHECK(refused);

  // Text that is not UTF-8, a string array given a number.
  const char bad_utf8[] = {'\xff', '\xfe'};
  CHECK(a.push(std::string_view(bad_utf8, sizeof bad_utf8)).code() == sn::ErrorCode::InvalidArgument);
  sn::Array strings = sn::Array::strings();
  CHECK(strings.push(1).code() == sn::ErrorCode::TypeMismatch);
  CHECK_OK(strings.push("fine"));
  // A null text pointer is refused, not sent as empty text.
  const char* no_text = nullptr;
  CHECK_ERROR(p.put(4, no_text), sn::ErrorCode::NullParameter, "null");

  // A dictionary put into itself is copied first.
  sn::Params self;
  CHECK_OK(self.put(1, "me"));
  CHECK_OK(self.put(2, self));
  CHECK(self.get<sn::ParamsView>(2).has_value() && self.get<sn::ParamsView>(2)->size() == 1);
}

struct NotRegistered {
  int value = 0;
};
struct OtherType {
  int value = 0;
};

void test_custom_types(World& w) {
  // Registration refusals name the code and the type.
  CHECK(sn::registered_code<Vec3>() == kVec3Code);
  CHECK(!sn::registered_code<NotRegistered>().has_value());
  auto other_bytes = [](const OtherType&) { return std::vector<uint8_t>{1}; };
  auto other_from = [](sn::ByteView) { return std::optional<OtherType>(OtherType{}); };
  CHECK_ERROR(sn::register_type<OtherType>(kVec3Code, other_bytes, other_from), sn::ErrorCode::InvalidArgument,
              "custom type code 86 is already registered (for (anonymous namespace)::Vec3)");
  CHECK_ERROR(sn::register_type<Vec3>(87, vec3_bytes, vec3_from), sn::ErrorCode::InvalidArgument,
              "already registered under custom type code 86");
  CHECK_ERROR(sn::register_type<OtherType>(88, nullptr, other_from), sn::ErrorCode::NullParameter,
              "serialize and deserialize");
  CHECK(!sn::registered_code<OtherType>().has_value());
  sn::Params p;
  CHECK_ERROR(p.put(1, NotRegistered{}), sn::ErrorCode::InvalidArgument,
              "no custom type is registered for (anonymous namespace)::NotRegistered");

  // Registration from several threads at once: exactly one wins each code.
  struct Racer {};
  std::atomic<int> wins{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 4; ++i) {
    racers.emplace_back([&] {
      const sn::Result r = sn::register_type<Racer>(
          150, [](const Racer&) { return std::vector<uint8_t>(); },
          [](sn::ByteView) { return std::optional<Racer>(Racer{}); });
      if (r.ok()) wins.fetch_add(1);
    });
  }
  for (auto& racer : racers) racer.join();
  CHECK(wins.load() == 1);

  // Through the server: a registered type, a code nobody registered, and bytes the registered
  // deserializer refuses.
  sn::Params data;
  CHECK_OK(data.put(1, Vec3{1.5f, -2, 3}));
  CHECK_OK(data.put(2, sn::CustomValue{200, {9, 8, 7}}));
  CHECK_OK(data.put(3, sn::CustomValue{kVec3Code, {1, 2, 3}}));
  CHECK(data.get<sn::CustomView>(1).has_value() && data.get<sn::CustomView>(1)->code == kVec3Code &&
        data.get<sn::CustomView>(1)->data.size() == 12);

  // B echoes the unknown value straight from the borrowed event, unchanged; A reads the echo.
  sn::Result echoed = sn::ErrorCode::NotFound;
  w.b_rec->on_event_hook = [&](const sn::Event& event) {
    if (event.code != 62) return;
    const auto d = event.params.get<sn::ParamsView>(kParamData);
    const auto unknown = d ? d->get<sn::CustomView>(2) : std::nullopt;
    if (!unknown) return;
    sn::Params back = raise_params(63);
    echoed = back.put(kParamData, *unknown);
    if (echoed.ok()) echoed = w.b.send_operation(kOpRaiseEvent, back, sn::SendOptions::encrypted());
  };
  std::optional<sn::CustomValue> echo;
  w.a_rec->on_event_hook = [&](const sn::Event& event) {
    if (event.code == 63) echo = event.params.get<sn::CustomValue>(kParamData);
  };
  const size_t b_before = w.b_rec->events.size();
  const size_t a_before = w.a_rec->events.size();
  sn::Params params = raise_params(62);
  CHECK_OK(params.put(kParamData, data));
  CHECK_OK(w.a.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted()));
  CHECK(pump({&w.a, &w.b}, [&] { return w.a_rec->find_event(63, a_before) != nullptr; }));
  w.b_rec->on_event_hook = nullptr;
  w.a_rec->on_event_hook = nullptr;
  CHECK_OK(echoed);
  CHECK((echo == sn::CustomValue{200, {9, 8, 7}}));

  const ReceivedEvent* got = w.b_rec->find_event(62, b_before);
  if (CHECK(got != nullptr && got->nested.has_value())) {
    const sn::Params& d = *got->nested;
    CHECK(d.type(1) == sn::ValueType::Custom);
    CHECK((d.get<Vec3>(1) == Vec3{1.5f, -2, 3}));
    CHECK(!d.get<Vec3>(2).has_value());  // code 200 is not Vec3's
    CHECK((d.get<sn::CustomValue>(2) == sn::CustomValue{200, {9, 8, 7}}));
    CHECK(!d.get<Vec3>(3).has_value());  // 3 bytes: the deserializer refuses them
    CHECK(d.get<sn::CustomView>(3).has_value() && d.get<sn::CustomView>(3)->code == kVec3Code);
    // Copied into a Value, a registered type still reads back as itself.
    const auto value = d.get<sn::Value>(1);
    CHECK((value.has_value() && value->get<Vec3>() == Vec3{1.5f, -2, 3}));
  }
}

void test_stats(World& w) {
  auto rec = std::make_shared<Recorder>();
  sn::Config config = recording_config(rec);
  config.ping_interval = 20ms;  // so that pongs (and the RTT) come quickly
  auto created = sn::Peer::create(std::move(config));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  const auto fresh = p.stats();
  CHECK_OK(fresh);
  if (fresh.ok()) {
    CHECK(!fresh->rtt.has_value() && !fresh->server_time_ms.has_value());
    CHECK(fresh->bytes_sent == 0 && fresh->frames_received == 0);
  }
  CHECK_OK(p.connect(w.address, kAppId));
  CHECK(pump({&p}, [&] { return rec->has_status(sn::status::EncryptionEstablished); }));
  CHECK(pump({&p}, [&] {
    const auto s = p.stats();
    return s.ok() && s->rtt.has_value() && s->server_time_ms.has_value() && s->frames_received >= 3;
  }));
  const auto first = p.stats();
  CHECK_OK(first);
  if (!first.ok()) return;
  CHECK(first->protocol_version == sn::protocol_version::Latest);
  CHECK(first->rtt.has_value() && first->rtt_variance.has_value());
  CHECK(first->rtt.value_or(10s) < 5s);
  CHECK(first->bytes_sent > 0 && first->bytes_received > 0 && first->frames_sent > 0);

  // An operation (outside a room, so the server answers with an error) moves every counter.
  const std::vector<uint8_t> payload(1000, 7);
  sn::Params params = raise_params(1);
  CHECK_OK(params.put(kParamData, payload));
  CHECK_OK(p.send_operation(kOpRaiseEvent, params, sn::SendOptions::encrypted()));
  CHECK(pump({&p}, [&] { return rec->find_response(kOpRaiseEvent) != nullptr; }));
  const auto second = p.stats();
  CHECK_OK(second);
  if (!second.ok()) return;
  CHECK(second->bytes_sent >= first->bytes_sent + payload.size());
  CHECK(second->frames_sent > first->frames_sent);
  CHECK(second->bytes_received > first->bytes_received);
  CHECK(second->frames_received > first->frames_received);

  // The server's clock advances, and every client of the server reads the same clock.
  CHECK(pump({&p}, [&] {
    const auto s = p.stats();
    return s.ok() && s->server_time_ms.value_or(0) > *first->server_time_ms;
  }));
  // A pings at the default interval (1 s), so its first pong may still be on its way.
  CHECK(pump({&p, &w.a}, [&] {
    const auto s = w.a.stats();
    return s.ok() && s->server_time_ms.has_value();
  }));
  const auto mine = p.stats();
  const auto theirs = w.a.stats();
  if (CHECK(mine.ok() && theirs.ok() && mine->server_time_ms && theirs->server_time_ms)) {
    const int64_t apart = static_cast<int64_t>(*mine->server_time_ms) - static_cast<int64_t>(*theirs->server_time_ms);
    CHECK(apart > -2000 && apart < 2000);
  }
  CHECK(sn::Peer().stats().code() == sn::ErrorCode::InvalidPeer);
}

void test_connect_options(World& w) {
  sn::PublicKey wrong = w.server_key;
  wrong[5] ^= 0x40;
  auto connect_with = [&](const sn::ConnectOptions& options, std::shared_ptr<Recorder> rec,
                          std::optional<sn::PublicKey> configured_pin) -> sn::Peer {
    sn::Config config = recording_config(rec);
    config.pinned_server_key = configured_pin;
    auto created = sn::Peer::create(std::move(config));
    CHECK_OK(created);
    if (!created.ok()) return sn::Peer();
    sn::Peer peer = std::move(created).value();
    CHECK_OK(peer.connect(options));
    CHECK(pump({&peer}, [&] {
      return rec->has_status(sn::status::EncryptionEstablished) || rec->has_status(sn::status::Disconnect);
    }));
    return peer;
  };
  sn::ConnectOptions options;
  options.address = w.address;
  options.app_id = kAppId;
  options.app_version = "cpp-test 1.2.3";

  // The key of this connection overrides a wrong pin in the config.
  options.pin = sn::Pin::Key;
  options.server_key = w.server_key;
  auto rec = std::make_shared<Recorder>();
  sn::Peer pinned = connect_with(options, rec, wrong);
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  const auto key = pinned.server_public_key();
  CHECK(key.ok() && *key == w.server_key);

  // A wrong key for this connection fails the key exchange: 1049, then 1025.
  options.server_key = wrong;
  rec = std::make_shared<Recorder>();
  sn::Peer refused = connect_with(options, rec, std::nullopt);
  CHECK(pump({&refused}, [&] { return rec->has_status(sn::status::Disconnect); }));
  CHECK(rec->has_status(sn::status::EncryptionFailedToEstablish));
  CHECK(!rec->has_status(sn::status::EncryptionEstablished));

  // Pin::None ignores the config's (wrong) pin; Pin::AsConfigured applies it.
  options.pin = sn::Pin::None;
  rec = std::make_shared<Recorder>();
  sn::Peer unpinned = connect_with(options, rec, wrong);
  CHECK(rec->has_status(sn::status::EncryptionEstablished));
  options.pin = sn::Pin::AsConfigured;
  rec = std::make_shared<Recorder>();
  sn::Peer configured = connect_with(options, rec, wrong);
  CHECK(pump({&configured}, [&] { return rec->has_status(sn::status::Disconnect); }));
  CHECK(rec->has_status(sn::status::EncryptionFailedToEstablish));

  // Refusals at the call, naming what is wrong.
  auto created = sn::Peer::create(sn::Config{});
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  sn::ConnectOptions bad = options;
  bad.app_version = std::string(33, 'v');
  CHECK_ERROR(p.connect(bad), sn::ErrorCode::InvalidArgument, "the client version is 33 bytes; the limit is 32");
  bad = options;
  bad.transport = static_cast<sn::Transport>(2);
  CHECK_ERROR(p.connect(bad), sn::ErrorCode::InvalidArgument, "transport 2");
  bad = options;
  bad.pin = static_cast<sn::Pin>(9);
  CHECK_ERROR(p.connect(bad), sn::ErrorCode::InvalidArgument, "pin is 9");
  bad = options;
  bad.address = std::string("127.0.0.1:1\0x", 13);
  CHECK_ERROR(p.connect(bad), sn::ErrorCode::InvalidArgument, "NUL");
  CHECK(p.state().value_or(sn::PeerState::Connecting) == sn::PeerState::Disconnected);

  // Over UDP to the server's UDP address (scripts/with-server.sh exports it; empty when the server's
  // UDP is off): encrypted with version 3. Without one, only the attempt, which a disconnect ends.
  const char* udp_address = std::getenv("SEALNET_SERVER_UDP_ADDR");
  const bool server_has_udp = udp_address != nullptr && *udp_address != '\0';
  sn::ConnectOptions udp = options;
  udp.transport = sn::Transport::Udp;
  udp.pin = sn::Pin::Key;
  udp.server_key = w.server_key;
  if (server_has_udp) udp.address = udp_address;
  rec = std::make_shared<Recorder>();
  auto over_udp = sn::Peer::create(recording_config(rec));
  CHECK_OK(over_udp);
  if (!over_udp.ok()) return;
  sn::Peer datagrams = std::move(over_udp).value();
  CHECK_OK(datagrams.connect(udp));
  if (server_has_udp) {
    CHECK(pump({&datagrams}, [&] {
      return rec->has_status(sn::status::EncryptionEstablished) || rec->has_status(sn::status::Disconnect);
    }));
    CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
    const auto stats = datagrams.stats();
    CHECK(stats.ok() && stats->protocol_version == 3);
  }
  CHECK_OK(datagrams.disconnect());
  CHECK(pump({&datagrams}, [&] { return rec->has_status(sn::status::Disconnect); }));
}

void test_version_1_peer(World& w) {
  // A protocol version the library does not speak is refused at create.
  sn::Config too_new;
  too_new.max_protocol_version = 3;
  CHECK(sn::Peer::create(std::move(too_new)).code() == sn::ErrorCode::InvalidArgument);
  CHECK(contains_text(sn::last_error(), "max_protocol_version is 3"));

  const std::string room = w.room + "-v1";
  auto old_rec = std::make_shared<Recorder>();
  auto new_rec = std::make_shared<Recorder>();
  sn::Config old_config = recording_config(old_rec);
  old_config.max_protocol_version = 1;
  sn::Peer old_peer;
  sn::Peer new_peer;
  if (!start_peer(old_peer, std::move(old_config), *old_rec, w)) return;
  if (!start_peer(new_peer, recording_config(new_rec), *new_rec, w)) return;
  const auto old_stats = old_peer.stats();
  const auto new_stats = new_peer.stats();
  CHECK(old_stats.ok() && old_stats->protocol_version == 1);
  CHECK(new_stats.ok() && new_stats->protocol_version == 2);
  const int32_t old_actor = join_room(old_peer, *old_rec, room);
  const int32_t new_actor = join_room(new_peer, *new_rec, room, {&old_peer});
  CHECK(old_actor > 0 && new_actor > 0);

  // Building a short works anywhere; sending it on a version-1 connection is refused, clearly.
  sn::Params short_event = raise_params(65);
  CHECK_OK(short_event.put(kParamData, int16_t{5}));
  CHECK_ERROR(old_peer.send_operation(kOpRaiseEvent, short_event), sn::ErrorCode::NeedsProtocolVersion,
              "a short value needs protocol version 2; this connection speaks version 1");

  // Version-1 types go through both ways.
  sn::Params plain_event = raise_params(66);
  CHECK_OK(plain_event.put(kParamData, "from version 1"));
  CHECK_OK(old_peer.send_operation(kOpRaiseEvent, plain_event));
  CHECK(pump({&old_peer, &new_peer}, [&] { return new_rec->find_event(66) != nullptr; }));
  const ReceivedEvent* from_old = new_rec->find_event(66);
  CHECK(from_old != nullptr && from_old->text == std::string("from version 1"));

  // An event holding a short is not relayed to the version-1 member; its sender is told so.
  CHECK_OK(new_peer.send_operation(kOpRaiseEvent, short_event));
  CHECK(pump({&old_peer, &new_peer}, [&] { return new_rec->find_response(kOpRaiseEvent) != nullptr; }));
  const ReceivedResponse* skipped = new_rec->find_response(kOpRaiseEvent);
  if (CHECK(skipped != nullptr)) {
    CHECK(skipped->debug_message.find("protocol version 2") != std::string::npos);
  }
  // Events arrive in order: once a later one is in, the skipped one will never come.
  CHECK_OK(new_peer.send_operation(kOpRaiseEvent, raise_params(67)));
  CHECK(pump({&old_peer, &new_peer}, [&] { return old_rec->find_event(67) != nullptr; }));
  CHECK(old_rec->find_event(65) == nullptr);
  CHECK(!old_peer.stats()->server_time_ms.has_value());
}

void test_max_queued_bytes(World& w) {
  // A peer that may hold only 4 KiB of results disconnects with an error when a larger event
  // arrives, instead of growing without bound.
  const std::string room = w.room + "-queue";
  auto small_rec = std::make_shared<Recorder>();
  auto sender_rec = std::make_shared<Recorder>();
  sn::Config config = recording_config(small_rec);
  config.max_queued_bytes = 4096;
  sn::Peer small;
  sn::Peer sender;
  if (!start_peer(small, std::move(config), *small_rec, w)) return;
  if (!start_peer(sender, recording_config(sender_rec), *sender_rec, w)) return;
  CHECK(join_room(small, *small_rec, room) > 0);
  CHECK(join_room(sender, *sender_rec, room, {&small}) > 0);
  sn::Params big = raise_params(68);
  CHECK_OK(big.put(kParamData, std::vector<uint8_t>(16 * 1024, 1)));
  CHECK_OK(sender.send_operation(kOpRaiseEvent, big, sn::SendOptions::encrypted()));
  CHECK(pump({&small, &sender}, [&] { return small_rec->has_status(sn::status::Disconnect); }));
  CHECK(small_rec->find_event(68) == nullptr);
  bool named = false;
  for (size_t i = 0; i < small_rec->statuses.size(); ++i) {
    if (small_rec->statuses[i] != sn::status::Disconnect &&
        small_rec->status_messages[i].find("4096 bytes") != std::string::npos) {
      named = true;
    }
  }
  if (!CHECK(named)) {
    for (size_t i = 0; i < small_rec->statuses.size(); ++i) {
      std::fprintf(stderr, "    status %u: %s\n", small_rec->statuses[i], small_rec->status_messages[i].c_str());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Authentication (the server of scripts/with-server.sh: anonymous allowed, tokens, and with --backend
// sealnet-backend's webhook)
// ---------------------------------------------------------------------------------------------

void test_auth_values_refused_locally() {
  CHECK(sn::AuthValues::create(static_cast<sn::AuthType>(7)).code() == sn::ErrorCode::InvalidArgument);
  CHECK(contains_text(sn::last_error(), "auth_type is 7"));
  auto created = sn::AuthValues::create(sn::AuthType::Custom);
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::AuthValues values = std::move(created).value();
  CHECK(values.valid());
  const std::vector<uint8_t> too_long(129, 'k');
  CHECK_ERROR(values.set_connection_token(too_long), sn::ErrorCode::InvalidArgument, "129");
  CHECK(contains_text(sn::last_error(), "128"));
  CHECK_OK(values.set_connection_token(std::vector<uint8_t>(128, 'k')));
  CHECK_OK(values.set_connection_token(sn::ByteView()));
  CHECK_ERROR(values.set_user_id(std::string(129, 'u')), sn::ErrorCode::InvalidArgument, "129");
  CHECK_ERROR(values.set_user_id(std::string("a\0b", 3)), sn::ErrorCode::InvalidArgument, "NUL");
  CHECK_OK(values.set_user_id("player-1"));
  CHECK_OK(values.add_param("lobby", "eu"));
  CHECK(values.add_param("", "x").code() == sn::ErrorCode::InvalidArgument);
  CHECK_ERROR(values.set_data(std::vector<uint8_t>(1025)), sn::ErrorCode::InvalidArgument, "1025");
  CHECK_ERROR(values.set_token(std::vector<uint8_t>(2049)), sn::ErrorCode::InvalidArgument, "2049");

  // An empty object, moved from or default-constructed, refuses everything.
  sn::AuthValues moved = std::move(values);
  CHECK(moved.valid() && !values.valid());  // NOLINT: moved-from is empty by contract
  CHECK(values.set_data(sn::ByteView()).code() == sn::ErrorCode::NullParameter);
  CHECK(sn::Peer().auth_state().code() == sn::ErrorCode::InvalidPeer);
  CHECK(!sn::Peer().server_token().has_value());
}

// Connects `peer` with `auth` (null: none) and waits for the key exchange and, with values, the
// answer to the authentication; returns that answer.
const ReceivedResponse* connect_authenticated(sn::Peer& peer, Recorder& rec, const World& w,
                                              const sn::AuthValues* auth) {
  sn::ConnectOptions options;
  options.address = w.address;
  options.app_id = kAppId;
  options.pin = sn::Pin::Key;
  options.server_key = w.server_key;
  options.auth = auth;
  rec.statuses.clear();
  rec.reasons.clear();
  rec.status_messages.clear();
  const size_t before = rec.responses.size();
  auto answered = [&]() -> const ReceivedResponse* {
    const ReceivedResponse* found = rec.find_response(kOpAuthenticate, before);
    return found != nullptr ? found : rec.find_response(kOpAuthenticateOnce, before);
  };
  CHECK_OK(peer.connect(options));
  if (!CHECK(pump({&peer}, [&] {
        return rec.has_status(sn::status::Disconnect) ||
               (rec.has_status(sn::status::EncryptionEstablished) && (auth == nullptr || answered() != nullptr));
      }))) {
    return nullptr;
  }
  CHECK(rec.has_status(sn::status::EncryptionEstablished));
  return auth == nullptr ? nullptr : answered();
}

sn::AuthValues auth_values(sn::AuthType type) {
  auto created = sn::AuthValues::create(type);
  CHECK_OK(created);
  return created.ok() ? std::move(created).value() : sn::AuthValues();
}

void disconnect_and_wait(sn::Peer& peer, Recorder& rec) {
  rec.statuses.clear();
  rec.reasons.clear();
  rec.status_messages.clear();
  CHECK_OK(peer.disconnect());
  CHECK(pump({&peer}, [&] { return rec.has_status(sn::status::Disconnect); }));
}

void test_anonymous_authentication_and_the_kept_token(World& w) {
  auto rec = std::make_shared<Recorder>();
  sn::Config config = recording_config(rec);
  sn::Peer* self = nullptr;
  std::optional<sn::AuthState> state_at_1048;
  rec->on_status_hook = [&](uint32_t code) {
    if (code == sn::status::EncryptionEstablished && self != nullptr) {
      if (auto status = self->auth_state()) state_at_1048 = status->state;
    }
  };
  auto created = sn::Peer::create(std::move(config));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer peer = std::move(created).value();
  self = &peer;
  auto fresh = peer.auth_state();
  CHECK(fresh.ok() && fresh->state == sn::AuthState::None && fresh->return_code == 0);
  CHECK(!peer.server_token().has_value());

  // Anonymous: the peer authenticates by itself; the values may go right after connect().
  const ReceivedResponse* answer = nullptr;
  {
    sn::AuthValues anonymous = auth_values(sn::AuthType::None);
    answer = connect_authenticated(peer, *rec, w, &anonymous);
  }
  if (!CHECK(answer != nullptr)) return;
  CHECK(state_at_1048 == sn::AuthState::Pending || state_at_1048 == sn::AuthState::Authenticated);
  CHECK(answer->op_code == kOpAuthenticate && answer->return_code == sn::return_code::Ok);
  CHECK(answer->encrypted);
  CHECK(answer->user_id.has_value() && answer->user_id->rfind("anonymous-", 0) == 0);
  CHECK(answer->token.has_value() && !answer->token->empty() && answer->token_expires.has_value());
  const std::string user_id = answer->user_id.value_or("");
  const auto status = peer.auth_state();
  CHECK(status.ok() && status->state == sn::AuthState::Authenticated && status->return_code == 0);
  const auto first = peer.server_token();
  if (!CHECK(first.has_value())) return;
  CHECK(first->bytes == answer->token.value_or(std::vector<uint8_t>{}));
  CHECK(first->expires_at_ms == answer->token_expires.value_or(0));
  w.saved_token = first->bytes;
  w.saved_user_id = user_id;

  // JoinRoom brings a fresh token, which the peer keeps.
  CHECK(join_room(peer, *rec, w.room + "-auth") > 0);
  const ReceivedResponse* joined = rec->find_response(kOpJoinRoom);
  if (!CHECK(joined != nullptr && joined->token.has_value())) return;
  const auto refreshed = peer.server_token();
  CHECK(refreshed.has_value() && refreshed->bytes == *joined->token && refreshed->bytes != first->bytes);

  // Reconnected with AuthType::Token and no token of its own, the peer presents the kept one.
  disconnect_and_wait(peer, *rec);
  CHECK(peer.server_token().has_value());
  const sn::AuthValues token_values = auth_values(sn::AuthType::Token);
  const ReceivedResponse* again = connect_authenticated(peer, *rec, w, &token_values);
  if (!CHECK(again != nullptr)) return;
  CHECK(again->op_code == kOpAuthenticateOnce && again->return_code == sn::return_code::Ok);
  CHECK(again->user_id == user_id);
  CHECK(peer.auth_state().ok() && peer.auth_state()->state == sn::AuthState::Authenticated);
}

// Over WSS with the server's certificate pinned (scripts/with-server.sh exports its URL and
// fingerprint): the statuses a WSS client sees, a room, a wrong fingerprint refused with 1022, a
// Noise pin refused at the call; then AuthOnceWss: an anonymous authentication over WSS that names
// UDP, and a UDP connection authenticated by its key exchange alone.
void test_wss_and_auth_once(World& w) {
  const char* url = std::getenv("SEALNET_SERVER_WSS_URL");
  const char* fingerprint_hex = std::getenv("SEALNET_SERVER_WSS_FINGERPRINT");
  const char* udp_address = std::getenv("SEALNET_SERVER_UDP_ADDR");
  const auto fingerprint =
      fingerprint_hex != nullptr ? sn::parse_certificate_fingerprint(fingerprint_hex) : std::nullopt;
  if (!CHECK(url != nullptr && *url != '\0' && fingerprint && udp_address != nullptr && *udp_address != '\0')) {
    std::fprintf(stderr, "    SEALNET_SERVER_WSS_URL, SEALNET_SERVER_WSS_FINGERPRINT and SEALNET_SERVER_UDP_ADDR "
                         "must be set (scripts/with-server.sh)\n");
    return;
  }
  auto rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer peer = std::move(created).value();
  CHECK(peer.has_auth_once().value_or(true) == false);

  sn::AuthValues anonymous = auth_values(sn::AuthType::None);
  CHECK_ERROR(anonymous.set_expected_protocol(sn::Transport::WebSocketSecure), sn::ErrorCode::InvalidArgument,
              "PEER_TRANSPORT_UDP (0) or PEER_TRANSPORT_TCP (1)");
  CHECK_OK(anonymous.set_expected_protocol(sn::Transport::Udp));
  sn::ConnectOptions options;
  options.address = url;
  options.app_id = kAppId;
  options.transport = sn::Transport::WebSocketSecure;
  options.pin = sn::Pin::None;
  options.certificate_fingerprint = *fingerprint;
  options.auth = &anonymous;
  CHECK_OK(peer.connect(options));
  CHECK(pump({&peer}, [&] {
    return rec->has_status(sn::status::Disconnect) || rec->find_response(kOpAuthenticate) != nullptr;
  }));
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  CHECK(rec->status_messages.size() == 2 && contains_text(rec->status_messages[1].c_str(), "TLS protects the connection"));
  CHECK(peer.state().value_or(sn::PeerState::Disconnected) == sn::PeerState::Encrypted);
  const auto stats = peer.stats();
  CHECK(stats.ok() && stats->protocol_version == 4);
  CHECK_OK(peer.establish_encryption());
  CHECK(!peer.server_public_key().ok());
  const ReceivedResponse* answer = rec->find_response(kOpAuthenticate);
  if (!CHECK(answer != nullptr)) return;
  CHECK(answer->return_code == sn::return_code::Ok && answer->token.has_value());
  CHECK(!answer->auth_once_secret);
  CHECK(peer.has_auth_once().value_or(false));
  CHECK(join_room(peer, *rec, w.room + "-wss") > 0);
  disconnect_and_wait(peer, *rec);

  // Refusals: a Noise pin over WSS at the call, a wrong fingerprint by the handshake.
  options.auth = nullptr;
  options.pin = sn::Pin::Key;
  options.server_key = w.server_key;
  CHECK_ERROR(peer.connect(options), sn::ErrorCode::InvalidArgument, "cannot be checked over WSS");
  options.pin = sn::Pin::None;
  sn::CertificateFingerprint wrong = *fingerprint;
  wrong[7] ^= 0x10;
  options.certificate_fingerprint = wrong;
  rec->statuses.clear();
  rec->status_messages.clear();
  CHECK_OK(peer.connect(options));
  CHECK(pump({&peer}, [&] { return rec->has_status(sn::status::Disconnect); }));
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::SecurityExceptionOnConnect, sn::status::Disconnect}));
  CHECK(!rec->status_messages.empty() &&
        contains_text(rec->status_messages[0].c_str(),
                      ("does not match the pinned fingerprint: got " + std::string(fingerprint_hex)).c_str()));

  // AuthOnceWss: UDP, authenticated by the key exchange.
  sn::ConnectOptions udp;
  udp.address = udp_address;
  udp.app_id = kAppId;
  udp.transport = sn::Transport::Udp;
  udp.pin = sn::Pin::Key;
  udp.server_key = w.server_key;
  udp.auth_once = true;
  rec->statuses.clear();
  CHECK_OK(peer.connect(udp));
  CHECK(pump({&peer}, [&] {
    return rec->has_status(sn::status::EncryptionEstablished) || rec->has_status(sn::status::Disconnect);
  }));
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect, sn::status::EncryptionEstablished}));
  CHECK(peer.auth_state().ok() && peer.auth_state()->state == sn::AuthState::Authenticated);
  CHECK(join_room(peer, *rec, w.room + "-auth-once") > 0);
  disconnect_and_wait(peer, *rec);
}

void test_saved_altered_and_custom_authentication(World& w) {
  if (!CHECK(!w.saved_token.empty())) return;
  // A token saved from an earlier peer admits a new one as the same player.
  auto rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer peer = std::move(created).value();
  sn::AuthValues saved = auth_values(sn::AuthType::Token);
  CHECK_OK(saved.set_token(w.saved_token));
  const ReceivedResponse* answer = connect_authenticated(peer, *rec, w, &saved);
  if (CHECK(answer != nullptr)) {
    CHECK(answer->op_code == kOpAuthenticateOnce && answer->return_code == sn::return_code::Ok);
    CHECK(answer->user_id == w.saved_user_id);
  }

  // An altered one is refused (32753), and not kept.
  std::vector<uint8_t> altered = w.saved_token;
  altered[altered.size() / 2] ^= 0x01;
  auto bad_rec = std::make_shared<Recorder>();
  created = sn::Peer::create(recording_config(bad_rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer bad = std::move(created).value();
  sn::AuthValues forged = auth_values(sn::AuthType::Token);
  CHECK_OK(forged.set_token(altered));
  answer = connect_authenticated(bad, *bad_rec, w, &forged);
  if (CHECK(answer != nullptr)) CHECK(answer->return_code == sn::return_code::AuthenticationTicketExpired);
  auto status = bad.auth_state();
  CHECK(status.ok() && status->state == sn::AuthState::Failed &&
        status->return_code == sn::return_code::AuthenticationTicketExpired);
  CHECK(!bad.server_token().has_value());

  // Token authentication without any token is refused at the call.
  disconnect_and_wait(bad, *bad_rec);
  sn::ConnectOptions options;
  options.address = w.address;
  options.app_id = kAppId;
  const sn::AuthValues no_token = auth_values(sn::AuthType::Token);
  options.auth = &no_token;
  CHECK_ERROR(bad.connect(options), sn::ErrorCode::InvalidArgument, "needs a server token");
  const sn::AuthValues empty;
  options.auth = &empty;
  CHECK_ERROR(bad.connect(options), sn::ErrorCode::NullParameter, "holds no values");

  // Custom authentication with a session nobody logged in: refused for want of a backend (32767), or,
  // where scripts/with-server.sh --backend set SEALNET_BACKEND_ADDR, by the backend, which finds no
  // session in a token shorter than a session id (32755, its message).
  const bool backend = std::getenv("SEALNET_BACKEND_ADDR") != nullptr;
  const int16_t expected =
      backend ? sn::return_code::CustomAuthenticationFailed : sn::return_code::InvalidAuthentication;
  auto custom_rec = std::make_shared<Recorder>();
  created = sn::Peer::create(recording_config(custom_rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer custom_peer = std::move(created).value();
  sn::AuthValues custom = auth_values(sn::AuthType::Custom);
  CHECK_OK(custom.set_connection_token(std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  CHECK_OK(custom.set_user_id("player-7"));
  CHECK_OK(custom.add_param("lobby", "eu"));
  CHECK_OK(custom.set_data(std::vector<uint8_t>{0xCA, 0xFE}));
  answer = connect_authenticated(custom_peer, *custom_rec, w, &custom);
  if (CHECK(answer != nullptr)) {
    CHECK(answer->op_code == kOpAuthenticate && answer->return_code == expected);
    CHECK(contains_text(answer->debug_message.c_str(),
                        backend ? "Invalid connection token" : "no authentication backend"));
  }
  status = custom_peer.auth_state();
  CHECK(status.ok() && status->state == sn::AuthState::Failed && status->return_code == expected);
  CHECK(!custom_peer.server_token().has_value());

  // Values need the automatic key exchange.
  sn::Config manual;
  manual.auto_key_exchange = false;
  created = sn::Peer::create(std::move(manual));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer manual_peer = std::move(created).value();
  const sn::AuthValues anonymous = auth_values(sn::AuthType::None);
  options.auth = &anonymous;
  const sn::Result refused = manual_peer.connect(options);
  CHECK(!refused.ok() && contains_text(sn::last_error(), "automatic key exchange"));
}

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

// Custom authentication through the real backend, with the guest session that
// scripts/with-server.sh --backend logged in (SEALNET_TEST_CONNECTION_TOKEN, SEALNET_TEST_NICKNAME).
void test_custom_authentication_through_the_backend(World& w, const char* token_hex) {
  const char* nickname = std::getenv("SEALNET_TEST_NICKNAME");
  if (!CHECK(nickname != nullptr)) return;
  const auto token = from_hex(token_hex);
  if (!CHECK(token.has_value() && token->size() >= 16)) return;

  auto rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer peer = std::move(created).value();
  sn::AuthValues values = auth_values(sn::AuthType::Custom);
  CHECK_OK(values.set_connection_token(*token));
  const ReceivedResponse* answer = connect_authenticated(peer, *rec, w, &values);
  if (!CHECK(answer != nullptr)) return;
  if (!CHECK(answer->op_code == kOpAuthenticate && answer->return_code == sn::return_code::Ok)) {
    std::fprintf(stderr, "    -> return code %d: %s\n", answer->return_code, answer->debug_message.c_str());
  }
  CHECK(answer->nickname == std::string(nickname));
  CHECK(answer->user_id.has_value() && !answer->user_id->empty() && answer->user_id->rfind("anonymous-", 0) != 0);
  if (CHECK(answer->data_table.has_value())) {
    CHECK(answer->data_table->contains("level"));
    CHECK(answer->data_table->contains("region"));
  }
  CHECK(answer->token.has_value() && !answer->token->empty() && answer->token_expires.has_value());
  const auto status = peer.auth_state();
  CHECK(status.ok() && status->state == sn::AuthState::Authenticated && status->return_code == 0);
  const auto held = peer.server_token();
  CHECK(held.has_value() && held->bytes == answer->token.value_or(std::vector<uint8_t>{}));
}

void test_destroy_in_status_callback(World& w) {
  // Destroying the peer from its status handler: the library defers it; no further status (not
  // even Disconnect) reaches the handlers, which are released when service() returns.
  auto rec = std::make_shared<Recorder>();
  auto created = sn::Peer::create(recording_config(rec));
  CHECK_OK(created);
  if (!created.ok()) return;
  sn::Peer p = std::move(created).value();
  sn::Peer* self = &p;
  rec->on_status_hook = [self](uint32_t code) {
    if (code == sn::status::Connect) self->reset();
  };
  CHECK_OK(p.connect(w.address, kAppId));
  CHECK(pump({&p}, [&] { return !p.valid(); }));
  CHECK((rec->statuses == std::vector<uint32_t>{sn::status::Connect}));
  CHECK(rec.use_count() == 1);
  CHECK(p.service().code() == sn::ErrorCode::InvalidPeer);
}

}  // namespace

int main() {
  g_main_thread = std::this_thread::get_id();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  register_vec3();
  run_case("params round trip", test_params_roundtrip);
  run_case("value limits are checked at put and named", test_value_limits);
  run_case("empty peer and bad config", test_empty_peer);
  run_case("auth values: limits refused when set", test_auth_values_refused_locally);

  World w;
  const char* address = std::getenv("SEALNET_SERVER_ADDR");
  const char* key_hex = std::getenv("SEALNET_SERVER_KEY");
  const auto key = key_hex != nullptr ? sn::parse_public_key(key_hex) : std::nullopt;
  if (address == nullptr || !key) {
    std::fprintf(stderr, "SEALNET_SERVER_ADDR and SEALNET_SERVER_KEY (64 hex digits) must be set; "
                         "run through scripts/with-server.sh\n");
    ++g_failed;
  } else {
    w.address = address;
    w.server_key = *key;
    w.room = "cpp-test-" + std::to_string(static_cast<long>(getpid()));
    run_case("connect: status 1024 then 1048, pinned key", [&] { test_connect_sequence(w); });
    run_case("join room", [&] { test_join_room(w); });
    run_case("encrypted event", [&] { test_encrypted_event(w); });
    run_case("plain event and nested data", [&] { test_plain_event(w); });
    run_case("every value type round-trips with its type", [&] { test_values_roundtrip(w); });
    run_case("custom types: registered, unknown code, refusals", [&] { test_custom_types(w); });
    run_case("stats: rtt, counters, server time", [&] { test_stats(w); });
    run_case("connect with options: app version, pin, transport", [&] { test_connect_options(w); });
    run_case("version-1 peer", [&] { test_version_1_peer(w); });
    run_case("max_queued_bytes", [&] { test_max_queued_bytes(w); });
    run_case("anonymous authentication, token kept and refreshed, token reconnect",
             [&] { test_anonymous_authentication_and_the_kept_token(w); });
    run_case("WSS: pinned certificate, statuses, refusals; AuthOnceWss to UDP",
             [&] { test_wss_and_auth_once(w); });
    run_case("saved and altered tokens, custom with an unknown session",
             [&] { test_saved_altered_and_custom_authentication(w); });
    if (const char* token = std::getenv("SEALNET_TEST_CONNECTION_TOKEN")) {
      run_case("custom authentication through the backend: nickname, user id, data, token",
               [&] { test_custom_authentication_through_the_backend(w, token); });
    } else {
      std::printf("skip custom authentication through the backend (SEALNET_TEST_CONNECTION_TOKEN is not set; "
                  "run under scripts/with-server.sh --backend --allow-anonymous)\n");
    }
    run_case("encrypt before key exchange", [&] { test_encrypt_before_key_exchange(w); });
    run_case("wrong pin fails the key exchange", [&] { test_wrong_pin(w); });
    run_case("poll instead of callbacks", [&] { test_poll(w); });
    run_case("wait instead of sleeping", [&] { test_wait(w); });
    run_case("argument errors name the parameter and the limit", [&] { test_argument_errors(w); });
    run_case("move keeps callbacks", [&] { test_move_keeps_callbacks(w); });
    run_case("handler exception rethrown from service", [&] { test_callback_exception(w); });
    run_case("destroy from own callback", [&] { test_destroy_in_own_callback(w); });
    run_case("destroy from own status callback", [&] { test_destroy_in_status_callback(w); });
    run_case("destroy mid-traffic", [&] { test_destroy_mid_traffic(w); });
    run_case("disconnect", [&] { test_disconnect(w); });
  }

  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
