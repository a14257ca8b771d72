// The C++ side of the cross-binding round trip (tests/cross/README.md): one event holding every
// value type, sent by one binding and checked, value for value and type for type, by another.
//
//   all_types --role send|receive --room ROOM
//
// The server address comes from SEALNET_SERVER_ADDR; app id "demo", automatic key exchange, no pin.
// receive: joins ROOM, prints "joined", waits for event 42 and checks its data; prints
//          "ok: 21 values from actor N" and exits 0, or prints every mismatch to stderr and exits 1.
// send:    joins ROOM, raises event 42 (encrypted, to the others), leaves and waits for the
//          LeaveRoom response (responses come in order, so the event reached the server first),
//          then disconnects; exits 0.
// Any disconnect, refusal or 30 s without progress is a failure (exit 1); bad arguments exit 2.

#include "sealnet.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sn = sealnet;
using Clock = std::chrono::steady_clock;

namespace {

// The server's application protocol.
constexpr uint8_t kOpJoinRoom = 226;
constexpr uint8_t kOpLeaveRoom = 254;
constexpr uint8_t kOpRaiseEvent = 253;
constexpr uint8_t kEventJoin = 255;
constexpr uint8_t kEventLeave = 254;
constexpr uint8_t kParamRoom = 255;
constexpr uint8_t kParamCode = 244;
constexpr uint8_t kParamData = 245;
constexpr uint8_t kParamReceiverGroup = 246;
constexpr int32_t kReceiversOthers = 0;
constexpr int32_t kEventCode = 42;
constexpr size_t kValueCount = 21;
constexpr auto kTimeLimit = std::chrono::seconds(30);

// Key 19: a 3-vector registered as custom type 86 ('V'), three little-endian IEEE-754 floats.
struct Vec3 {
  float x = 0, y = 0, z = 0;
};
constexpr uint8_t kVec3Code = 86;

std::vector<uint8_t> vec3_bytes(const Vec3& v) {
  std::vector<uint8_t> out;
  out.reserve(12);
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
  for (size_t i = 0; i < 3; ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4; ++b) bits |= uint32_t{bytes[4 * i + b]} << (8 * b);
    std::memcpy(&f[i], &bits, sizeof bits);
  }
  return Vec3{f[0], f[1], f[2]};
}

const char kText[] = "h\xc3\xa9llo w\xc3\xb6rld";  // "héllo wörld"
const char kBeta[] = "\xce\xb2";                    // "β"

// Builds the 21 entries of the table in tests/cross/README.md. Returns false (after printing why)
// when the library refuses one.
bool build_data(sn::Params& data) {
  std::vector<std::pair<int, sn::Result>> puts;
  auto put = [&](uint8_t key, const auto& value) { puts.emplace_back(key, data.put(key, value)); };
  put(1, uint8_t{200});
  put(2, int16_t{-12345});
  put(3, int32_t{-100000});
  put(4, int64_t{1099511627776});
  put(5, 1.5f);
  put(6, -2.25);
  put(7, true);
  put(8, kText);
  put(9, std::vector<uint8_t>{0, 1, 254, 255});
  put(10, std::vector<int16_t>{-1, 2, 300});
  put(11, std::vector<int32_t>{7, -8, 9000000});
  put(12, std::vector<int64_t>{-1, 4294967296});
  put(13, std::vector<float>{0.5f, -1.25f});
  put(14, std::vector<double>{3.5, -0.125});
  put(15, std::vector<bool>{true, false, true});
  put(16, std::vector<std::string>{"a", kBeta, ""});
  put(17, std::vector<sn::Value>{int32_t{1}, "two", nullptr, false});
  sn::Table table;
  puts.emplace_back(18, table.put("name", "Ann"));
  puts.emplace_back(18, table.put("score", int32_t{10}));
  puts.emplace_back(18, table.put(int32_t{7}, 0.25));
  put(18, table);
  put(19, Vec3{1, 2, 3});
  sn::Params map;
  puts.emplace_back(20, map.put(1, int32_t{5}));
  put(20, map);
  put(21, nullptr);
  bool ok = true;
  for (const auto& [key, result] : puts) {
    if (!result.ok()) {
      std::fprintf(stderr, "all_types: cannot put key %d: %s\n", key, result.message());
      ok = false;
    }
  }
  return ok;
}

// Checks received data against the table; appends a line per mismatch.
void check_data(sn::ParamsView d, std::vector<std::string>& problems) {
  auto problem = [&](uint8_t key, const std::string& what) {
    problems.push_back("key " + std::to_string(key) + ": " + what);
  };
  // Checks the type first (naming what arrived instead), then the value.
  auto expect = [&](uint8_t key, sn::ValueType type, auto value_ok, const char* expected) {
    const auto actual = d.type(key);
    if (!actual) return problem(key, std::string("missing (expected ") + sn::type_name(type) + " " + expected + ")");
    if (*actual != type) {
      return problem(key, std::string("type ") + sn::type_name(*actual) + ", expected " + sn::type_name(type));
    }
    if (!value_ok()) problem(key, std::string("wrong value, expected ") + expected);
  };
  using T = sn::ValueType;
  expect(1, T::Byte, [&] { return d.get<uint8_t>(1) == uint8_t{200}; }, "200");
  expect(2, T::Short, [&] { return d.get<int16_t>(2) == int16_t{-12345}; }, "-12345");
  expect(3, T::Int, [&] { return d.get<int32_t>(3) == -100000; }, "-100000");
  expect(4, T::Long, [&] { return d.get<int64_t>(4) == int64_t{1099511627776}; }, "1099511627776");
  expect(5, T::Float, [&] { return d.get<float>(5) == 1.5f; }, "1.5");
  expect(6, T::Double, [&] { return d.get<double>(6) == -2.25; }, "-2.25");
  expect(7, T::Bool, [&] { return d.get<bool>(7) == true; }, "true");
  expect(8, T::String, [&] { return d.get<std::string_view>(8) == std::string_view(kText); }, kText);
  expect(9, T::Bytes, [&] { return d.get<sn::ByteView>(9) == sn::ByteView(std::vector<uint8_t>{0, 1, 254, 255}); },
         "0, 1, 254, 255");
  expect(10, T::ShortArray, [&] { return d.get<std::vector<int16_t>>(10) == std::vector<int16_t>{-1, 2, 300}; },
         "-1, 2, 300");
  expect(11, T::IntArray, [&] { return d.get<std::vector<int32_t>>(11) == std::vector<int32_t>{7, -8, 9000000}; },
         "7, -8, 9000000");
  expect(12, T::LongArray, [&] { return d.get<std::vector<int64_t>>(12) == std::vector<int64_t>{-1, 4294967296}; },
         "-1, 4294967296");
  expect(13, T::FloatArray, [&] { return d.get<std::vector<float>>(13) == std::vector<float>{0.5f, -1.25f}; },
         "0.5, -1.25");
  expect(14, T::DoubleArray, [&] { return d.get<std::vector<double>>(14) == std::vector<double>{3.5, -0.125}; },
         "3.5, -0.125");
  expect(15, T::BoolArray, [&] { return d.get<std::vector<bool>>(15) == std::vector<bool>{true, false, true}; },
         "true, false, true");
  expect(16, T::StringArray,
         [&] { return d.get<std::vector<std::string>>(16) == std::vector<std::string>{"a", kBeta, ""}; },
         "a, \xce\xb2, (empty)");
  expect(17, T::Array,
         [&] {
           const auto a = d.get<sn::ArrayView>(17);
           return a && a->size() == 4 && a->get<int32_t>(0) == 1 &&
                  a->get<std::string_view>(1) == std::string_view("two") && (*a)[2].is_null() &&
                  a->get<bool>(3) == false;
         },
         "int 1, string two, null, bool false");
  expect(18, T::Table,
         [&] {
           const auto t = d.get<sn::TableView>(18);
           return t && t->size() == 3 && t->get<std::string_view>("name") == std::string_view("Ann") &&
                  t->get<int32_t>("score") == 10 && t->get<double>(int32_t{7}) == 0.25;
         },
         "name -> Ann, score -> int 10, int 7 -> double 0.25");
  expect(19, T::Custom,
         [&] {
           const auto v = d.get<Vec3>(19);  // through the registered type, not as bytes
           return v && v->x == 1 && v->y == 2 && v->z == 3;
         },
         "a Vec3 (code 86) equal to (1, 2, 3)");
  expect(20, T::Map,
         [&] {
           const auto m = d.get<sn::ParamsView>(20);
           return m && m->size() == 1 && m->get<int32_t>(1) == 5;
         },
         "byte key 1 -> int 5");
  expect(21, T::Null, [] { return true; }, "null");
  if (d.size() != kValueCount) {
    problems.push_back(std::to_string(d.size()) + " entries, expected " + std::to_string(kValueCount));
  }
}

enum class Role { Send, Receive };

// Written only by the handlers, which run inside peer.service() on the main thread.
struct State {
  Role role = Role::Receive;
  std::string room;
  bool joined = false;
  bool left = false;
  bool done = false;           // receive: event 42 checked; send: LeaveRoom answered
  bool disconnected = false;
  std::string failure;         // set once, on the first failure
  int32_t sender = 0;
  std::vector<std::string> problems;
};

void fail(State& state, std::string why) {
  if (state.failure.empty()) state.failure = std::move(why);
}

int usage() {
  std::fprintf(stderr, "usage: all_types --role send|receive --room ROOM (server from SEALNET_SERVER_ADDR)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  State state;
  std::optional<Role> role;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    const std::string_view value = argv[i + 1];
    if (arg == "--role" && value == "send") {
      role = Role::Send;
    } else if (arg == "--role" && value == "receive") {
      role = Role::Receive;
    } else if (arg == "--room") {
      state.room = std::string(value);
    } else {
      return usage();
    }
  }
  const char* address = std::getenv("SEALNET_SERVER_ADDR");
  if (argc % 2 == 0 || !role || state.room.empty() || address == nullptr || *address == '\0') return usage();
  state.role = *role;

  if (const sn::Result r = sn::register_type<Vec3>(kVec3Code, vec3_bytes, vec3_from); !r.ok()) {
    std::fprintf(stderr, "all_types: register_type: %s (%s)\n", r.message(), sn::last_error());
    return 1;
  }

  sn::Peer peer;
  sn::Config config;
  // Handlers run inside peer.service() on this thread; they may use `state` and `peer` freely.
  config.on_status = [&](uint32_t code, uint16_t reason, std::string_view message) {
    if (code == sn::status::Connect) return;
    if (code == sn::status::EncryptionEstablished) {
      sn::Params join;
      sn::Result r = join.put(kParamRoom, state.room);
      if (r.ok()) r = peer.send_operation(kOpJoinRoom, join, sn::SendOptions::encrypted());
      if (!r.ok()) fail(state, std::string("JoinRoom not sent: ") + r.message() + " (" + sn::last_error() + ")");
      return;
    }
    if (code == sn::status::Disconnect) state.disconnected = true;
    // A disconnect the sender asked for after leaving is the expected end.
    if (code == sn::status::Disconnect && state.role == Role::Send && state.done) return;
    fail(state, "status " + std::to_string(code) + " " + sn::status_name(code) + " (reason " +
                    std::to_string(reason) + "): " + std::string(message));
  };
  config.on_response = [&](const sn::OperationResponse& response) {
    const std::string detail = response.debug_message.empty() ? "" : ": " + std::string(response.debug_message);
    if (response.op_code == kOpJoinRoom) {
      if (response.return_code != sn::return_code::Ok) {
        return fail(state, "JoinRoom refused, return code " + std::to_string(response.return_code) + detail);
      }
      state.joined = true;
      if (state.role == Role::Receive) {
        std::printf("joined\n");
        std::fflush(stdout);
        return;
      }
      sn::Params data;
      if (!build_data(data)) return fail(state, "could not build the data");
      sn::Params raise;
      sn::Result r = raise.put(kParamCode, kEventCode);
      if (r.ok()) r = raise.put(kParamData, data);
      if (r.ok()) r = raise.put(kParamReceiverGroup, kReceiversOthers);
      if (r.ok()) r = peer.send_operation(kOpRaiseEvent, raise, sn::SendOptions::encrypted());
      if (r.ok()) r = peer.send_operation(kOpLeaveRoom, sn::ParamsView(), sn::SendOptions::encrypted());
      if (!r.ok()) fail(state, std::string("RaiseEvent/LeaveRoom not sent: ") + r.message() + " (" + sn::last_error() + ")");
    } else if (response.op_code == kOpRaiseEvent) {
      // The server answers RaiseEvent only when it skipped a recipient.
      fail(state, "RaiseEvent answered (return code " + std::to_string(response.return_code) + ")" + detail);
    } else if (response.op_code == kOpLeaveRoom && state.role == Role::Send) {
      if (response.return_code != sn::return_code::Ok) {
        return fail(state, "LeaveRoom refused, return code " + std::to_string(response.return_code) + detail);
      }
      state.left = true;
      state.done = true;
    }
  };
  config.on_event = [&](const sn::Event& event) {
    if (state.role != Role::Receive || event.code == kEventJoin || event.code == kEventLeave) return;
    if (event.code != kEventCode) return fail(state, "unexpected event " + std::to_string(event.code));
    if (state.done) return;
    state.done = true;
    state.sender = event.sender;
    const auto data = event.params.get<sn::ParamsView>(kParamData);
    if (!data) {
      const auto type = event.params.type(kParamData);
      state.problems.push_back(std::string("parameter 245 is ") + (type ? sn::type_name(*type) : "missing") +
                               ", expected a map");
      return;
    }
    check_data(*data, state.problems);
  };

  auto created = sn::Peer::create(std::move(config));
  if (!created) {
    std::fprintf(stderr, "all_types: create: %s (%s)\n", created.message(), sn::last_error());
    return 1;
  }
  peer = std::move(created).value();
  if (const sn::Result r = peer.connect(address, "demo"); !r.ok()) {
    std::fprintf(stderr, "all_types: connect: %s (%s)\n", r.message(), sn::last_error());
    return 1;
  }

  // Block until results arrive rather than sleeping; the deadline bounds the whole run.
  const auto deadline = Clock::now() + kTimeLimit;
  auto run_until = [&](auto finished) {
    while (!finished() && state.failure.empty()) {
      if (const sn::Result r = peer.service(); !r.ok()) {
        fail(state, std::string("service: ") + r.message());
        break;
      }
      if (finished() || !state.failure.empty()) break;
      const auto now = Clock::now();
      if (now >= deadline) {
        fail(state, "nothing more within 30 s");
        break;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1);
      const sn::Result waited = peer.wait(left);
      if (waited.code() == sn::ErrorCode::NotConnected) {
        (void)peer.service();  // the last statuses
        if (!finished()) fail(state, "the connection ended");
        break;
      }
    }
    return finished() && state.failure.empty();
  };

  if (!run_until([&] { return state.done; })) {
    std::fprintf(stderr, "all_types (%s): %s\n", state.role == Role::Send ? "send" : "receive",
                 state.failure.empty() ? "failed" : state.failure.c_str());
    return 1;
  }
  if (state.role == Role::Send) {
    (void)peer.disconnect();
    (void)run_until([&] { return state.disconnected; });
    return state.failure.empty() ? 0 : 1;
  }
  if (!state.problems.empty()) {
    for (const std::string& line : state.problems) std::fprintf(stderr, "all_types: %s\n", line.c_str());
    std::fprintf(stderr, "all_types: %zu mismatch(es) in the event from actor %d\n", state.problems.size(), state.sender);
    return 1;
  }
  std::printf("ok: %zu values from actor %d\n", kValueCount, state.sender);
  return 0;
}
