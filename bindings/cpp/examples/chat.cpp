// A console chat over sealnet (POSIX terminal).
//
//   chat [--room NAME] [--app-id ID] [ADDRESS [SERVER_KEY_HEX]]
//
// ADDRESS ("host:port") defaults to $SEALNET_SERVER_ADDR and SERVER_KEY_HEX to $SEALNET_SERVER_KEY.
// With a key the server is pinned: a server presenting another key is refused. Lines typed are sent
// encrypted; "/plain TEXT" sends TEXT unencrypted (still authenticated); "/quit" or end of input
// leaves. Received messages are marked [encrypted] or [plain].

#include "sealnet.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

#include <poll.h>
#include <unistd.h>

namespace sn = sealnet;

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
constexpr int32_t kChatEvent = 1;

struct Chat {
  std::string room = "lobby";
  bool joined = false;
  bool encrypted = false;
  bool disconnected = false;
  bool failed = false;
  int32_t actor = 0;
  std::deque<std::string> pending;  // lines typed before the room was joined
};

void usage() {
  std::fprintf(stderr,
               "usage: chat [--room NAME] [--app-id ID] [ADDRESS [SERVER_KEY_HEX]]\n"
               "  ADDRESS defaults to $SEALNET_SERVER_ADDR, SERVER_KEY_HEX to $SEALNET_SERVER_KEY\n"
               "  type a line to send it encrypted, '/plain TEXT' to send it plain, '/quit' to leave\n");
}

sn::Result send_line(sn::Peer& peer, std::string_view line) {
  bool encrypt = true;
  if (line.substr(0, 7) == "/plain ") {
    encrypt = false;
    line.remove_prefix(7);
  }
  sn::Params params;
  sn::Result r = params.put(kParamCode, kChatEvent);
  if (r.ok()) r = params.put(kParamData, line);
  if (!r.ok()) return r;
  r = peer.send_operation(kOpRaiseEvent, params,
                          encrypt ? sn::SendOptions::encrypted() : sn::SendOptions::plain());
  if (r.ok()) {
    std::printf("me %s: %.*s\n", encrypt ? "[encrypted]" : "[plain]", static_cast<int>(line.size()),
                line.data());
  }
  return r;
}

// Reads what stdin has without blocking for more than `timeout_ms`; appends complete lines.
// Returns false at end of input.
bool read_lines(std::string& buffer, std::deque<std::string>& lines, int timeout_ms) {
  pollfd fd{STDIN_FILENO, POLLIN, 0};
  const int ready = ::poll(&fd, 1, timeout_ms);
  if (ready <= 0) return true;
  char chunk[4096];
  const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
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
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Chat chat;
  std::string app_id = "demo";
  std::string address = std::getenv("SEALNET_SERVER_ADDR") ? std::getenv("SEALNET_SERVER_ADDR") : "";
  std::string key_hex = std::getenv("SEALNET_SERVER_KEY") ? std::getenv("SEALNET_SERVER_KEY") : "";
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--room" || arg == "--app-id") && i + 1 < argc) {
      (arg == "--room" ? chat.room : app_id) = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (!arg.empty() && arg[0] != '-' && positional < 2) {
      (positional++ == 0 ? address : key_hex) = std::string(arg);
    } else {
      usage();
      return 2;
    }
  }
  if (address.empty()) {
    usage();
    return 2;
  }

  sn::Config config;
  if (!key_hex.empty()) {
    config.pinned_server_key = sn::parse_public_key(key_hex);
    if (!config.pinned_server_key) {
      std::fprintf(stderr, "chat: the server key must be 64 hexadecimal digits\n");
      return 2;
    }
  } else {
    std::fprintf(stderr, "chat: no server key given: the server is not pinned\n");
  }

  // Handlers run inside peer.service() on this thread, so they may touch `chat` freely.
  sn::Peer* self = nullptr;
  config.on_status = [&](uint32_t code, uint16_t reason, std::string_view message) {
    std::printf("* status %u %s%s%.*s\n", code, sn::status_name(code), message.empty() ? "" : ": ",
                static_cast<int>(message.size()), message.data());
    if (code == sn::status::EncryptionEstablished) {
      chat.encrypted = true;
      sn::Params params;
      sn::Result r = params.put(kParamRoom, chat.room);
      if (r.ok()) r = self->send_operation(kOpJoinRoom, params, sn::SendOptions::encrypted());
      if (!r.ok()) std::fprintf(stderr, "chat: join failed: %s\n", r.message());
    } else if (code == sn::status::Disconnect) {
      chat.disconnected = true;
    } else if (code != sn::status::Connect) {
      chat.failed = true;
      if (reason != 0) std::printf("* disconnect reason %u\n", reason);
    }
  };
  config.on_response = [&](const sn::OperationResponse& response) {
    if (response.return_code != sn::return_code::Ok) {
      std::printf("* operation %u failed (%d): %.*s\n", response.op_code, response.return_code,
                  static_cast<int>(response.debug_message.size()), response.debug_message.data());
      if (response.op_code == kOpJoinRoom) chat.failed = true;
      return;
    }
    if (response.op_code == kOpJoinRoom) {
      chat.joined = true;
      chat.actor = response.params.get_i32(kParamActor).value_or(0);
      const auto actors = response.params.get_i32_array(kParamActors);
      std::printf("* joined room '%s' as actor %d (%zu here)\n", chat.room.c_str(), chat.actor,
                  actors ? actors->size() : size_t{0});
    }
  };
  config.on_event = [&](const sn::Event& event) {
    const char* mark = event.encrypted ? "[encrypted]" : "[plain]";
    if (event.code == kChatEvent) {
      const auto text = event.params.get_string(kParamData).value_or("(no text)");
      std::printf("actor %d %s: %.*s\n", event.sender, mark, static_cast<int>(text.size()), text.data());
    } else if (event.code == kEventJoin || event.code == kEventLeave) {
      const int32_t actor = event.params.get_i32(kParamActor).value_or(0);
      if (actor != chat.actor) {
        std::printf("* actor %d %s %s\n", actor, event.code == kEventJoin ? "joined" : "left", mark);
      }
    } else {
      std::printf("* event %u from actor %d %s\n", event.code, event.sender, mark);
    }
  };

  auto created = sn::Peer::create(std::move(config));
  if (!created) {
    std::fprintf(stderr, "chat: %s\n", created.message());
    return 1;
  }
  sn::Peer peer = std::move(created).value();
  self = &peer;
  if (const sn::Result r = peer.connect(address, app_id); !r.ok()) {
    std::fprintf(stderr, "chat: connect: %s\n", r.message());
    return 1;
  }
  std::printf("* connecting to %s (app '%s')\n", address.c_str(), app_id.c_str());

  std::string buffer;
  bool input_open = true;
  bool leaving = false;
  auto leave_by = std::chrono::steady_clock::time_point::max();
  while (!chat.disconnected) {
    if (const sn::Result r = peer.service(); !r.ok()) {
      std::fprintf(stderr, "chat: service: %s\n", r.message());
      break;
    }
    if (input_open) {
      input_open = read_lines(buffer, chat.pending, 20);
    } else {
      ::usleep(20 * 1000);
    }
    while (!leaving && !chat.pending.empty() && (chat.joined || chat.pending.front() == "/quit")) {
      const std::string line = std::move(chat.pending.front());
      chat.pending.pop_front();
      if (line == "/quit") {
        leaving = true;
      } else if (!line.empty()) {
        if (const sn::Result r = send_line(peer, line); !r.ok()) {
          std::fprintf(stderr, "chat: send: %s\n", r.message());
        }
      }
    }
    // End of input leaves once everything typed is sent (or the connection failed).
    if (!input_open && (chat.pending.empty() || chat.failed)) leaving = true;
    if (leaving && leave_by == std::chrono::steady_clock::time_point::max()) {
      (void)peer.disconnect();
      leave_by = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    }
    if (std::chrono::steady_clock::now() > leave_by) break;
  }
  std::printf("* bye\n");
  return chat.failed && !chat.joined ? 1 : 0;
}
