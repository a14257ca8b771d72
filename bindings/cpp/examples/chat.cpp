// A console room chat over sealnet, using the C++ wrapper (POSIX).
//
//   chat [--server HOST:PORT] [--pin KEY] [--app-id ID] [--room ROOM] [--name NAME]
//        [--connection-token HEX] [--no-encryption] [--script FILE]
//
// The same command line as the C and C# chats (examples/chat.c, bindings/csharp/Examples/Chat.cs);
// `chat --help` lists the options and their defaults. --server defaults to $SEALNET_SERVER_ADDR when
// set, else 127.0.0.1:4530 (where sealnet-server listens by default); without --pin the server is not
// authenticated. With --connection-token (the bytes the game built from its backend session, in hex)
// the peer authenticates by itself right after the key exchange, and the chat joins its room only once
// the server said yes (docs/auth.md). Exit status: 0, 1 on a failure, 2 for a bad command line, 3 when
// the library refuses the connection token before connecting, 4 when the server refuses the
// authentication.
//
// It joins its room first and only then runs input lines (from standard input, or --script FILE):
// a line is sent encrypted, "/plain TEXT" is sent in the clear (still authenticated once keys
// exist), "/auth TOKEN" sends the always-encrypted Authenticate operation, "/quit" or the end of
// input leaves. "expect N", "responses N" and "peers N" wait until N messages, N operation responses
// (the join included) or N players in the room. Messages are event 1 with data {1: name, 2: text},
// as in the other chats; received ones are marked [encrypted] or [plain]. Leaving waits for the
// server's answer to LeaveRoom before disconnecting, so every line sent before has reached the server.
//
// This is a console, not a frame loop: it blocks in Peer::wait() until results arrive instead of
// sleeping, and reads the lines typed meanwhile without blocking.

#include "sealnet.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sn = sealnet;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The server's application protocol.
constexpr uint8_t kOpJoinRoom = 226;
constexpr uint8_t kOpLeaveRoom = 254;
constexpr uint8_t kOpAuthenticate = 230;
constexpr uint8_t kOpRaiseEvent = 253;
constexpr uint8_t kEventJoin = 255;
constexpr uint8_t kEventLeave = 254;
constexpr uint8_t kParamRoom = 255;
constexpr uint8_t kParamActor = 254;
constexpr uint8_t kParamActors = 252;
constexpr uint8_t kParamCode = 244;
constexpr uint8_t kParamData = 245;
constexpr uint8_t kParamName = 1;  // inside the data of a chat message
constexpr uint8_t kParamText = 2;
constexpr uint8_t kParamToken = 3;
constexpr uint8_t kParamUserId = 225;  // in the answer to Authenticate
constexpr uint8_t kParamNickname = 202;
constexpr int32_t kChatEvent = 1;

constexpr char kUsage[] =
    "usage: chat [OPTIONS]\n"
    "A room chat over sealnet. Options:\n"
    "  --server HOST:PORT  server to connect to (default: $SEALNET_SERVER_ADDR if set, else\n"
    "                      127.0.0.1:4530, where sealnet-server listens by default)\n"
    "  --pin KEY           the server's public key (64 hex digits, printed by sealnet-server at\n"
    "                      start-up); a server presenting another key is refused (default: none,\n"
    "                      the server is not authenticated)\n"
    "  --app-id ID         application id (default: demo)\n"
    "  --room ROOM         room to join (default: lobby)\n"
    "  --name NAME         name sent with your messages (default: player)\n"
    "  --connection-token HEX  authenticate with this connection token (hex, at most 128 bytes)\n"
    "  --no-encryption     skip the key exchange: nothing is authenticated, only /plain lines go out\n"
    "  --script FILE       read the lines from FILE instead of standard input\n"
    "  --help              print this help\n"
    "Lines, read once the room is joined: TEXT is sent encrypted, \"/plain TEXT\" in the clear (still\n"
    "authenticated once keys exist), \"/auth TOKEN\" sends Authenticate (always encrypted); \"/quit\"\n"
    "or the end of input leaves. \"expect N\", \"responses N\" and \"peers N\" wait until N messages,\n"
    "N operation responses (the join included) or N players in the room; \"#\" starts a comment.\n";

// How long a script wait ("expect N", ...) may take, and the connection steps.
constexpr auto kWaitLimit = std::chrono::seconds(15);
constexpr auto kConnectLimit = std::chrono::seconds(10);
constexpr auto kLeaveLimit = std::chrono::seconds(3);
// While idle with input open, how soon a typed line is noticed; results end a wait at once.
constexpr milliseconds kInputCheck{50};
constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

// Written only by the handlers, which run inside peer.service() on this thread.
struct Chat {
  std::string name = "player";
  std::string room = "lobby";
  bool connected = false;
  bool encrypted = false;
  bool authenticating = false;  // the peer sent Authenticate and it is not answered yet
  bool authenticated = false;
  bool auth_refused = false;
  bool joined = false;
  bool join_refused = false;
  bool left = false;
  bool disconnected = false;
  bool failed = false;
  int32_t actor = 0;
  int peers_in_room = 0;
  int messages = 0;
  int responses = 0;
};

std::string_view mark(bool encrypted) { return encrypted ? "[encrypted]" : "[plain]"; }

// Services results as they arrive until `done()` holds (true), or the time runs out, the connection
// ends, or the authentication or the join is refused (false).
template <class Done>
bool service_until(sn::Peer& peer, const Chat& chat, Done done, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (const sn::Result r = peer.service(); !r.ok()) {
      std::fprintf(stderr, "chat: service: %s\n", r.message());
      return false;
    }
    if (done()) return true;
    if (chat.disconnected || chat.failed || chat.auth_refused || chat.join_refused) return false;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1);
    if (peer.wait(remaining).code() == sn::ErrorCode::NotConnected) {
      (void)peer.service();
      return done();
    }
  }
}

void send_chat(sn::Peer& peer, const Chat& chat, std::string_view text, bool encrypt) {
  sn::Params message;
  sn::Params params;
  sn::Result r = message.put(kParamName, chat.name);
  if (r.ok()) r = message.put(kParamText, text);
  if (r.ok()) r = params.put(kParamCode, kChatEvent);
  if (r.ok()) r = params.put(kParamData, message);
  if (r.ok()) {
    r = peer.send_operation(kOpRaiseEvent, params,
                            encrypt ? sn::SendOptions::encrypted() : sn::SendOptions::plain());
  }
  if (r.ok()) {
    std::printf("me %s: %.*s\n", mark(encrypt).data(), static_cast<int>(text.size()), text.data());
  } else {
    std::printf("* could not send: %s\n", r.message());
  }
}

void send_auth(sn::Peer& peer, std::string_view token) {
  sn::Params params;
  sn::Result r = params.put(kParamToken, token);
  // Authenticate is a must-encrypt operation: sealnet encrypts it even without the flag, and
  // refuses it outright when no keys exist.
  if (r.ok()) r = peer.send_operation(kOpAuthenticate, params);
  if (r.ok()) {
    std::printf("me: Authenticate (operation %u), sent encrypted automatically\n", kOpAuthenticate);
  } else {
    std::printf("* Authenticate refused locally: %s\n", r.message());
  }
}

// "expect N", "responses N", "peers N": the counter the line waits for and its target.
struct WaitLine {
  const int* counter;
  int target;
  const char* what;
};

std::optional<WaitLine> parse_wait(const Chat& chat, std::string_view line) {
  auto target = [&](size_t prefix) { return std::atoi(std::string(line.substr(prefix)).c_str()); };
  if (line.rfind("expect ", 0) == 0) return WaitLine{&chat.messages, target(7), "message(s)"};
  if (line.rfind("responses ", 0) == 0) return WaitLine{&chat.responses, target(10), "response(s)"};
  if (line.rfind("peers ", 0) == 0) return WaitLine{&chat.peers_in_room, target(6), "player(s)"};
  return std::nullopt;
}

// Appends the complete lines `fd` has ready, without blocking. Returns false at end of input.
bool read_lines(int fd, std::string& buffer, std::deque<std::string>& lines) {
  pollfd ready{fd, POLLIN, 0};
  while (::poll(&ready, 1, 0) > 0) {
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) {
      if (!buffer.empty()) lines.push_back(std::move(buffer));
      buffer.clear();
      return false;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, newline);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      buffer.erase(0, newline + 1);
    }
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Hex digits into bytes; empty for an odd length, a character that is not a hex digit, or more than
// `limit` bytes.
std::optional<std::vector<uint8_t>> parse_hex(std::string_view hex, size_t limit) {
  if (hex.size() % 2 != 0 || hex.size() / 2 > limit) return std::nullopt;
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_digit(hex[i]);
    const int low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<uint8_t>(high * 16 + low));
  }
  return bytes;
}

enum class Step { Idle, Waiting, Quit, GaveUp };

// Runs the pending lines in order, until they are used up (Idle), one waits for results that have
// not arrived yet (Waiting, with `wait_deadline` set), "/quit" (Quit) or a wait timed out (GaveUp).
// `wait_deadline` is kNoDeadline while no wait is pending.
Step run_lines(sn::Peer& peer, const Chat& chat, std::deque<std::string>& pending,
               Clock::time_point& wait_deadline) {
  while (!pending.empty()) {
    const std::string& line = pending.front();
    if (const auto wait = parse_wait(chat, line)) {
      if (*wait->counter < wait->target) {
        if (wait_deadline == kNoDeadline) wait_deadline = Clock::now() + kWaitLimit;
        if (Clock::now() < wait_deadline) return Step::Waiting;
        std::printf("* gave up waiting for %d %s\n", wait->target, wait->what);
        return Step::GaveUp;
      }
      wait_deadline = kNoDeadline;
    } else if (line == "/quit") {
      pending.pop_front();
      return Step::Quit;
    } else if (line.rfind("/plain ", 0) == 0) {
      send_chat(peer, chat, std::string_view(line).substr(7), false);
    } else if (line.rfind("/auth ", 0) == 0) {
      send_auth(peer, std::string_view(line).substr(6));
    } else if (!line.empty() && line[0] != '#') {
      send_chat(peer, chat, line, true);
    }
    pending.pop_front();
  }
  return Step::Idle;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Chat chat;
  const char* env_server = std::getenv("SEALNET_SERVER_ADDR");
  std::string server = env_server && *env_server ? env_server : "127.0.0.1:4530";
  std::string pin, app_id = "demo", script;
  std::optional<std::string> connection_token;
  bool auto_key_exchange = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--no-encryption") {
      auto_key_exchange = false;
      continue;
    }
    std::string* target = arg == "--server"             ? &server
                          : arg == "--pin"              ? &pin
                          : arg == "--app-id"           ? &app_id
                          : arg == "--room"             ? &chat.room
                          : arg == "--name"             ? &chat.name
                          : arg == "--script"           ? &script
                          : arg == "--connection-token" ? &connection_token.emplace()
                                                        : nullptr;
    if (target == nullptr) {
      std::fprintf(stderr, "chat: unknown argument %s (chat --help lists the options)\n", argv[i]);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "chat: %s needs a value (chat --help lists the options)\n", argv[i]);
      return 2;
    }
    *target = argv[++i];
  }

  sn::Config config;
  config.auto_key_exchange = auto_key_exchange;
  if (!pin.empty()) {
    config.pinned_server_key = sn::parse_public_key(pin);
    if (!config.pinned_server_key) {
      std::fprintf(stderr, "chat: --pin needs 64 hex digits\n");
      return 2;
    }
  }
  int input = STDIN_FILENO;
  if (!script.empty() && (input = ::open(script.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    std::fprintf(stderr, "chat: cannot open %s: %s\n", script.c_str(), std::strerror(errno));
    return 1;
  }

  // Handlers run inside peer.service() on this thread, so they may touch `chat` freely.
  config.on_status = [&](uint32_t code, uint16_t reason, std::string_view message) {
    std::printf("* status %u %s%s%.*s\n", code, sn::status_name(code), message.empty() ? "" : ": ",
                static_cast<int>(message.size()), message.data());
    if (code == sn::status::Connect) {
      chat.connected = true;
    } else if (code == sn::status::EncryptionEstablished) {
      chat.encrypted = true;
    } else if (code == sn::status::Disconnect) {
      chat.disconnected = true;
    } else {
      chat.failed = true;
      if (reason != 0) std::printf("* disconnect reason %u\n", reason);
    }
  };
  config.on_response = [&](const sn::OperationResponse& response) {
    ++chat.responses;
    const bool ok = response.return_code == sn::return_code::Ok;
    if (response.op_code == kOpAuthenticate && chat.authenticating) {
      chat.authenticating = false;
      if (ok) {
        chat.authenticated = true;
        const std::string_view nickname = response.params.get<std::string_view>(kParamNickname).value_or("");
        const std::string_view user_id = response.params.get<std::string_view>(kParamUserId).value_or("");
        std::printf("* authenticated as \"%.*s\" (user id %.*s); the peer keeps the server token\n",
                    static_cast<int>(nickname.size()), nickname.data(), static_cast<int>(user_id.size()),
                    user_id.data());
      } else {
        chat.auth_refused = true;
        std::printf("* authentication refused: return code %d, \"%.*s\"\n", response.return_code,
                    static_cast<int>(response.debug_message.size()), response.debug_message.data());
      }
      return;
    }
    if (response.op_code == kOpJoinRoom && ok) {
      chat.joined = true;
      chat.actor = response.params.get_i32(kParamActor).value_or(0);
      const auto actors = response.params.get_i32_array(kParamActors);
      chat.peers_in_room = actors ? static_cast<int>(actors->size()) : 0;
      std::printf("* joined room '%s' as actor %d (%d here)\n", chat.room.c_str(), chat.actor,
                  chat.peers_in_room);
      return;
    }
    if (response.op_code == kOpJoinRoom) chat.join_refused = true;
    if (response.op_code == kOpLeaveRoom) {
      chat.left = true;
      if (ok) {
        std::printf("* left room '%s'\n", chat.room.c_str());
        return;
      }
    }
    std::printf("* operation %u: return code %d%s%.*s %s\n", response.op_code, response.return_code,
                response.debug_message.empty() ? "" : ", ",
                static_cast<int>(response.debug_message.size()), response.debug_message.data(),
                mark(response.encrypted).data());
  };
  config.on_event = [&](const sn::Event& event) {
    if (event.code == kEventJoin || event.code == kEventLeave) {
      if (const auto actors = event.params.get_i32_array(kParamActors)) {
        chat.peers_in_room = static_cast<int>(actors->size());
      }
      const int32_t actor = event.params.get_i32(kParamActor).value_or(0);
      if (actor != chat.actor) {
        std::printf("* actor %d %s %s\n", actor, event.code == kEventJoin ? "joined" : "left",
                    mark(event.encrypted).data());
      }
      return;
    }
    if (event.code != kChatEvent) {
      std::printf("* event %u from actor %d %s\n", event.code, event.sender, mark(event.encrypted).data());
      return;
    }
    ++chat.messages;
    std::string name = "?";
    std::string text;
    // Borrowed views of the event's data: nothing is copied until the std::string below.
    if (const auto message = event.params.get<sn::ParamsView>(kParamData)) {
      name = std::string(message->get<std::string_view>(kParamName).value_or("?"));
      text = std::string(message->get<std::string_view>(kParamText).value_or(""));
    } else {
      text = std::string(event.params.get<std::string_view>(kParamData).value_or("(no text)"));
    }
    std::printf("%s (actor %d) %s: %s\n", name.c_str(), event.sender, mark(event.encrypted).data(),
                text.c_str());
  };

  auto created = sn::Peer::create(std::move(config));
  if (!created) {
    std::fprintf(stderr, "chat: %s\n", created.message());
    return 1;
  }
  sn::Peer peer = std::move(created).value();
  sn::AuthValues auth;
  if (connection_token) {
    // Room for more than the limit, so an oversized token reaches the library and is refused there,
    // with its size and the limit, rather than cut here.
    const auto token = parse_hex(*connection_token, 1024);
    if (!token) {
      std::fprintf(stderr, "chat: --connection-token needs hex digits (at most 1024 bytes)\n");
      return 2;
    }
    auto values = sn::AuthValues::create(sn::AuthType::Custom);
    if (!values) {
      std::fprintf(stderr, "chat: %s\n", sn::last_error());
      return 1;
    }
    auth = std::move(values).value();
    if (!auth.set_connection_token(*token).ok()) {
      std::printf("* connection token refused before connecting: %s\n", sn::last_error());
      return 3;
    }
  }
  std::printf("* connecting to %s (app '%s')%s%s\n", server.c_str(), app_id.c_str(),
              pin.empty() ? "" : ", pinning the server key",
              auth.valid() ? ", authenticating after the key exchange" : "");
  sn::ConnectOptions options;
  options.address = server;
  options.app_id = app_id;
  options.auth = auth.valid() ? &auth : nullptr;
  if (const sn::Result r = peer.connect(options); !r.ok()) {
    std::fprintf(stderr, "chat: connect: %s\n", sn::last_error());
    return 1;
  }
  chat.authenticating = auth.valid();

  // With automatic key exchange, wait for EncryptionEstablished; otherwise for Connect. With a
  // connection token, wait for the answer to the authentication too. Then join, and read input only
  // once the join is answered: lines typed meanwhile wait in stdin.
  bool ok = service_until(peer, chat, [&] { return auto_key_exchange ? chat.encrypted : chat.connected; },
                          kConnectLimit);
  if (ok && auth.valid()) ok = service_until(peer, chat, [&] { return chat.authenticated; }, kConnectLimit);
  if (ok) {
    if (const auto key = peer.server_public_key()) {
      std::printf("* server key %02x%02x%02x%02x... (%s)\n", (*key)[0], (*key)[1], (*key)[2], (*key)[3],
                  pin.empty() ? "not pinned" : "matches the pin");
    }
    sn::Params params;
    sn::Result r = params.put(kParamRoom, chat.room);
    if (r.ok()) {
      r = peer.send_operation(kOpJoinRoom, params,
                              chat.encrypted ? sn::SendOptions::encrypted() : sn::SendOptions::plain());
    }
    if (!r.ok()) std::fprintf(stderr, "chat: join: %s\n", r.message());
    ok = r.ok() && service_until(peer, chat, [&] { return chat.joined; }, kConnectLimit);
  }

  if (ok) {
    std::deque<std::string> pending;
    std::string buffer;
    Clock::time_point wait_deadline = kNoDeadline;
    bool input_open = true;
    for (;;) {
      if (input_open) input_open = read_lines(input, buffer, pending);
      const Step step = run_lines(peer, chat, pending, wait_deadline);
      if (step == Step::GaveUp) ok = false;
      if (step == Step::Quit || step == Step::GaveUp || (step == Step::Idle && !input_open)) break;
      // Block until results arrive: up to the pending wait's deadline, or, while lines may still be
      // typed, briefly, so that they go out promptly.
      milliseconds timeout = kInputCheck;
      if (step == Step::Waiting) {
        timeout = std::chrono::duration_cast<milliseconds>(wait_deadline - Clock::now()) + milliseconds(1);
        if (timeout < milliseconds(0)) timeout = milliseconds(0);
      }
      const bool running = peer.wait(timeout).code() != sn::ErrorCode::NotConnected;
      if (const sn::Result r = peer.service(); !r.ok()) {
        std::fprintf(stderr, "chat: service: %s\n", r.message());
        break;
      }
      if (chat.disconnected || !running) break;
    }
  }
  if (input != STDIN_FILENO) ::close(input);

  // The LeaveRoom answer means the server has every line sent before it (operations arrive in order);
  // disconnecting at once could drop lines still queued for sending.
  if (chat.joined && !chat.disconnected && peer.send_operation(kOpLeaveRoom).ok()) {
    (void)service_until(peer, chat, [&] { return chat.left; }, kLeaveLimit);
  }
  (void)peer.disconnect();
  (void)service_until(peer, chat, [&] { return chat.disconnected; }, kLeaveLimit);
  std::printf("* bye\n");
  if (chat.auth_refused) return 4;
  return ok && !chat.failed ? 0 : 1;
}
