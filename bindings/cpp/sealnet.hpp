// sealnet C++ API: a header-only C++17 wrapper over the C API in sealnet.h.
//
// Build: add the directories of sealnet.h and of this file to the include path
// (`-I include -I bindings/cpp`) and link the sealnet library (`-lsealnet`).
//
// ERRORS
//   Every fallible call returns a [[nodiscard]] value and never throws for a library error:
//   - `sealnet::Result` for calls without a value: `ok()`, `code()` (an `ErrorCode`, numbered like
//     PEER_RESULT_*), `message()` (the static text of peer_result_str()).
//   - `sealnet::Expected<T>` for calls with a value: the same three, plus `value()`, `*` and `->`.
//     Reading the value of a failed Expected is a programming error: it prints a line to stderr and
//     aborts.
//   Parameter getters return `std::optional<T>`: empty when the key is missing or holds another type.
//   The wrapper throws only what C++ itself throws (std::bad_alloc) and, from `Peer::service()`, the
//   exceptions thrown by your own callbacks (see CALLBACKS).
//
// CALLBACKS
//   The handlers in `Config` are std::function objects, called through static trampolines with
//   C linkage; the `user_data` pointer handed to the C library points at a heap block owned by the
//   Peer, so its address does not change when the Peer is moved, and callbacks keep working after a
//   move-construction or move-assignment.
//   - Callbacks run only inside `Peer::service()`, on the thread that calls it, never on sealnet's own
//     I/O thread.
//   - An exception thrown by a handler never crosses into the C library. The trampoline catches it
//     and keeps the FIRST one; the callbacks still queued in the same `service()` call keep running
//     (further exceptions of that call are dropped), and `service()` rethrows the kept exception
//     once the C library has returned.
//   - Calling `service()` of a Peer from inside one of its own callbacks returns
//     ErrorCode::CalledFromCallback.
//   - Destroying, resetting or move-assigning over a Peer from inside one of its own callbacks is
//     allowed: no further callback of it runs (not even the rest of the current batch), and the C
//     handle is destroyed when the C library's dispatch returns, before `service()` returns. That
//     `service()` call touches no member of the Peer object after the dispatch, so the object itself
//     may be gone by then.
//
// THREADS
//   - `service()` and `poll()`: one thread at a time per Peer (typically the game's main thread).
//   - `send_operation()`, `connect()`, `establish_encryption()`, `disconnect()`, `state()` and
//     `server_public_key()`: any thread, also concurrently with `service()` on another thread.
//   - Creating, moving, resetting and destroying a Peer are ordinary writes to a C++ object: never do
//     them while another thread is inside a member function of the same object (in particular
//     inside `service()`).
//   - A `Params` must not be used from two threads at once; reading it concurrently is fine only
//     while nobody modifies it.
//
// TEARDOWN
//   `~Peer()` and `Peer::reset()` disconnect, stop the I/O thread and free the handle (through
//   `peer_destroy`). When they return (or, from inside a callback of that Peer, when the current
//   `service()` call returns), no callback of that Peer runs any more, its handlers (and whatever
//   they captured) are destroyed, and no thread of it remains. Queued but not yet dispatched results
//   are dropped.
//
// LIFETIMES OF VIEWS
//   - `Event`, `OperationResponse`, the status message and every `ParamsView` handed to a callback
//     are borrowed from the C library and valid only until that callback returns: copy what you
//     want to keep (for example with `ParamsView::clone()`, `std::string(view)` or
//     `ByteView::to_vector()`).
//   - Views inside a `PolledEvent` from `Peer::poll()` stay valid until the next `poll()`,
//     `service()` or destruction of that Peer.
//   - `std::string_view` / `ByteView` values read from a `Params` or `ParamsView` are valid while
//     the dictionary lives and is not modified.
//   - A `ParamsView` of a `Params` is valid while that Params lives and is not moved from.
//
// PARAMETERS
//   `Params` owns a dictionary (move-only; `clone()` copies it). It is allocated by the C library on
//   the first `put`, so constructing an empty Params cannot fail. Encoding is done by the C library,
//   never by this wrapper. `put` is overloaded for bool, int32_t, int64_t, float, double, text
//   (std::string_view, std::string, const char*), bytes (ByteView, std::vector<uint8_t>),
//   std::vector<int32_t> and nested dictionaries (Params, ParamsView); cast other integer types to
//   int32_t or int64_t first.

#ifndef SEALNET_HPP
#define SEALNET_HPP

#include "sealnet.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sealnet {

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

/// Result codes of the C API (PEER_RESULT_*), same numbers.
enum class ErrorCode : uint32_t {
  Ok = 0,
  NullParameter = 1,
  InvalidPeer = 2,
  Panic = 3,
  InvalidArgument = 4,
  EncryptionNotEstablished = 5,
  MustEncrypt = 6,
  NotConnected = 7,
  AlreadyConnected = 8,
  KeyExchangeAlreadyStarted = 9,
  ParamsTooLarge = 10,
  MessageTooLarge = 11,
  SendBufferFull = 12,
  CounterExhausted = 13,
  NoEvent = 14,
  NotFound = 15,
  TypeMismatch = 16,
  BufferTooSmall = 17,
  CalledFromCallback = 18,
  InvalidAddress = 19,
  Io = 20,
  TimedOut = 21,
};

/// Value types of a parameter (PEER_VALUE_TYPE_*), same numbers.
enum class ValueType : uint32_t {
  Null = 0,
  Bool = 1,
  Int = 2,
  Long = 3,
  Float = 4,
  Double = 5,
  String = 6,
  Bytes = 7,
  Array = 8,
  Map = 9,
};

/// Delivery modes (PEER_DELIVERY_MODE_*, Photon's numbering).
enum class DeliveryMode : uint8_t {
  Unreliable = 0,
  Reliable = 1,
  UnreliableUnsequenced = 2,
  ReliableUnsequenced = 3,
};

/// Peer states (PEER_STATE_*; 0, 1, 3, 4 are Photon's PeerStateValue).
enum class PeerState : uint32_t {
  Disconnected = 0,
  Connecting = 1,
  Connected = 3,
  Disconnecting = 4,
  EstablishingEncryption = 5,
  Encrypted = 6,
};

/// What a polled event holds (PEER_EVENT_KIND_*).
enum class EventKind : uint32_t {
  Status = 1,
  OperationResponse = 2,
  Event = 3,
};

/// Status codes handed to the status handler (PEER_STATUS_*, Photon's StatusCode numbers). Kept as
/// plain integers because the set is open: a newer library may report codes not listed here.
namespace status {
inline constexpr uint32_t SecurityExceptionOnConnect = 1022;
inline constexpr uint32_t ExceptionOnConnect = 1023;
inline constexpr uint32_t Connect = 1024;
inline constexpr uint32_t Disconnect = 1025;
inline constexpr uint32_t Exception = 1026;
inline constexpr uint32_t SendError = 1030;
inline constexpr uint32_t ExceptionOnReceive = 1039;
inline constexpr uint32_t TimeoutDisconnect = 1040;
inline constexpr uint32_t DisconnectByServerTimeout = 1041;
inline constexpr uint32_t DisconnectByServerUserLimit = 1042;
inline constexpr uint32_t DisconnectByServerLogic = 1043;
inline constexpr uint32_t DisconnectByServerReasonUnknown = 1044;
inline constexpr uint32_t EncryptionEstablished = 1048;
inline constexpr uint32_t EncryptionFailedToEstablish = 1049;
inline constexpr uint32_t ServerAddressInvalid = 1050;
inline constexpr uint32_t DnsExceptionOnConnect = 1051;
}  // namespace status

/// Disconnect reasons in a status (PEER_DISCONNECT_REASON_*); 0 when none.
namespace disconnect_reason {
inline constexpr uint16_t None = PEER_DISCONNECT_REASON_NONE;
inline constexpr uint16_t ClientRequest = PEER_DISCONNECT_REASON_CLIENT_REQUEST;
inline constexpr uint16_t ServerShutdown = 2;
inline constexpr uint16_t Timeout = 3;
inline constexpr uint16_t ProtocolViolation = 4;
inline constexpr uint16_t AuthenticationFailed = 5;
inline constexpr uint16_t Replay = 6;
inline constexpr uint16_t UnknownAppId = 7;
inline constexpr uint16_t VersionMismatch = PEER_DISCONNECT_REASON_VERSION_MISMATCH;
inline constexpr uint16_t KeyExchangeFailed = 9;
inline constexpr uint16_t CounterExhausted = PEER_DISCONNECT_REASON_COUNTER_EXHAUSTED;
inline constexpr uint16_t SlowConsumer = 11;
inline constexpr uint16_t ServerLogic = PEER_DISCONNECT_REASON_SERVER_LOGIC;
inline constexpr uint16_t ServerFull = PEER_DISCONNECT_REASON_SERVER_FULL;
inline constexpr uint16_t RateLimited = PEER_DISCONNECT_REASON_RATE_LIMITED;
}  // namespace disconnect_reason

/// Operation return codes (PEER_RETURN_CODE_*): 0 is success, negative values are errors.
namespace return_code {
inline constexpr int16_t Ok = 0;
inline constexpr int16_t MustEncrypt = -10;
inline constexpr int16_t PluginRejected = -11;
inline constexpr int16_t ServerBusy = -12;
inline constexpr int16_t GameFull = 32765;
}  // namespace return_code

// The mirrors above must keep the C numbers.
static_assert(static_cast<uint32_t>(ErrorCode::Ok) == PEER_RESULT_OK);
static_assert(static_cast<uint32_t>(ErrorCode::NullParameter) == PEER_RESULT_NULL_PARAMETER);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidPeer) == PEER_RESULT_INVALID_PEER);
static_assert(static_cast<uint32_t>(ErrorCode::Panic) == PEER_RESULT_PANIC);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidArgument) == PEER_RESULT_INVALID_ARGUMENT);
static_assert(static_cast<uint32_t>(ErrorCode::EncryptionNotEstablished) ==
              PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED);
static_assert(static_cast<uint32_t>(ErrorCode::MustEncrypt) == PEER_RESULT_MUST_ENCRYPT);
static_assert(static_cast<uint32_t>(ErrorCode::NotConnected) == PEER_RESULT_NOT_CONNECTED);
static_assert(static_cast<uint32_t>(ErrorCode::AlreadyConnected) == PEER_RESULT_ALREADY_CONNECTED);
static_assert(static_cast<uint32_t>(ErrorCode::KeyExchangeAlreadyStarted) ==
              PEER_RESULT_KEY_EXCHANGE_ALREADY_STARTED);
static_assert(static_cast<uint32_t>(ErrorCode::ParamsTooLarge) == PEER_RESULT_PARAMS_TOO_LARGE);
static_assert(static_cast<uint32_t>(ErrorCode::MessageTooLarge) == PEER_RESULT_MESSAGE_TOO_LARGE);
static_assert(static_cast<uint32_t>(ErrorCode::SendBufferFull) == PEER_RESULT_SEND_BUFFER_FULL);
static_assert(static_cast<uint32_t>(ErrorCode::CounterExhausted) == PEER_RESULT_COUNTER_EXHAUSTED);
static_assert(static_cast<uint32_t>(ErrorCode::NoEvent) == PEER_RESULT_NO_EVENT);
static_assert(static_cast<uint32_t>(ErrorCode::NotFound) == PEER_RESULT_NOT_FOUND);
static_assert(static_cast<uint32_t>(ErrorCode::TypeMismatch) == PEER_RESULT_TYPE_MISMATCH);
static_assert(static_cast<uint32_t>(ErrorCode::BufferTooSmall) == PEER_RESULT_BUFFER_TOO_SMALL);
static_assert(static_cast<uint32_t>(ErrorCode::CalledFromCallback) ==
              PEER_RESULT_CALLED_FROM_CALLBACK);
static_assert(static_cast<uint32_t>(ErrorCode::InvalidAddress) == PEER_RESULT_INVALID_ADDRESS);
static_assert(static_cast<uint32_t>(ErrorCode::Io) == PEER_RESULT_IO);
static_assert(static_cast<uint32_t>(ErrorCode::TimedOut) == PEER_RESULT_TIMED_OUT);

static_assert(static_cast<uint32_t>(ValueType::Null) == PEER_VALUE_TYPE_NULL);
static_assert(static_cast<uint32_t>(ValueType::Bool) == PEER_VALUE_TYPE_BOOL);
static_assert(static_cast<uint32_t>(ValueType::Int) == PEER_VALUE_TYPE_INT);
static_assert(static_cast<uint32_t>(ValueType::Long) == PEER_VALUE_TYPE_LONG);
static_assert(static_cast<uint32_t>(ValueType::Float) == PEER_VALUE_TYPE_FLOAT);
static_assert(static_cast<uint32_t>(ValueType::Double) == PEER_VALUE_TYPE_DOUBLE);
static_assert(static_cast<uint32_t>(ValueType::String) == PEER_VALUE_TYPE_STRING);
static_assert(static_cast<uint32_t>(ValueType::Bytes) == PEER_VALUE_TYPE_BYTES);
static_assert(static_cast<uint32_t>(ValueType::Array) == PEER_VALUE_TYPE_ARRAY);
static_assert(static_cast<uint32_t>(ValueType::Map) == PEER_VALUE_TYPE_MAP);

static_assert(static_cast<uint8_t>(DeliveryMode::Unreliable) == PEER_DELIVERY_MODE_UNRELIABLE);
static_assert(static_cast<uint8_t>(DeliveryMode::Reliable) == PEER_DELIVERY_MODE_RELIABLE);
static_assert(static_cast<uint8_t>(DeliveryMode::UnreliableUnsequenced) ==
              PEER_DELIVERY_MODE_UNRELIABLE_UNSEQUENCED);
static_assert(static_cast<uint8_t>(DeliveryMode::ReliableUnsequenced) ==
              PEER_DELIVERY_MODE_RELIABLE_UNSEQUENCED);

static_assert(static_cast<uint32_t>(PeerState::Disconnected) == PEER_STATE_DISCONNECTED);
static_assert(static_cast<uint32_t>(PeerState::Connecting) == PEER_STATE_CONNECTING);
static_assert(static_cast<uint32_t>(PeerState::Connected) == PEER_STATE_CONNECTED);
static_assert(static_cast<uint32_t>(PeerState::Disconnecting) == PEER_STATE_DISCONNECTING);
static_assert(static_cast<uint32_t>(PeerState::EstablishingEncryption) ==
              PEER_STATE_ESTABLISHING_ENCRYPTION);
static_assert(static_cast<uint32_t>(PeerState::Encrypted) == PEER_STATE_ENCRYPTED);

static_assert(static_cast<uint32_t>(EventKind::Status) == PEER_EVENT_KIND_STATUS);
static_assert(static_cast<uint32_t>(EventKind::OperationResponse) ==
              PEER_EVENT_KIND_OPERATION_RESPONSE);
static_assert(static_cast<uint32_t>(EventKind::Event) == PEER_EVENT_KIND_EVENT);

static_assert(status::SecurityExceptionOnConnect == PEER_STATUS_SECURITY_EXCEPTION_ON_CONNECT);
static_assert(status::ExceptionOnConnect == PEER_STATUS_EXCEPTION_ON_CONNECT);
static_assert(status::Connect == PEER_STATUS_CONNECT);
static_assert(status::Disconnect == PEER_STATUS_DISCONNECT);
static_assert(status::Exception == PEER_STATUS_EXCEPTION);
static_assert(status::SendError == PEER_STATUS_SEND_ERROR);
static_assert(status::ExceptionOnReceive == PEER_STATUS_EXCEPTION_ON_RECEIVE);
static_assert(status::TimeoutDisconnect == PEER_STATUS_TIMEOUT_DISCONNECT);
static_assert(status::DisconnectByServerTimeout == PEER_STATUS_DISCONNECT_BY_SERVER_TIMEOUT);
static_assert(status::DisconnectByServerUserLimit == PEER_STATUS_DISCONNECT_BY_SERVER_USER_LIMIT);
static_assert(status::DisconnectByServerLogic == PEER_STATUS_DISCONNECT_BY_SERVER_LOGIC);
static_assert(status::DisconnectByServerReasonUnknown ==
              PEER_STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN);
static_assert(status::EncryptionEstablished == PEER_STATUS_ENCRYPTION_ESTABLISHED);
static_assert(status::EncryptionFailedToEstablish == PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH);
static_assert(status::ServerAddressInvalid == PEER_STATUS_SERVER_ADDRESS_INVALID);
static_assert(status::DnsExceptionOnConnect == PEER_STATUS_DNS_EXCEPTION_ON_CONNECT);

static_assert(disconnect_reason::ServerShutdown == PEER_DISCONNECT_REASON_SERVER_SHUTDOWN);
static_assert(disconnect_reason::Timeout == PEER_DISCONNECT_REASON_TIMEOUT);
static_assert(disconnect_reason::ProtocolViolation == PEER_DISCONNECT_REASON_PROTOCOL_VIOLATION);
static_assert(disconnect_reason::AuthenticationFailed ==
              PEER_DISCONNECT_REASON_AUTHENTICATION_FAILED);
static_assert(disconnect_reason::Replay == PEER_DISCONNECT_REASON_REPLAY);
static_assert(disconnect_reason::UnknownAppId == PEER_DISCONNECT_REASON_UNKNOWN_APP_ID);
static_assert(disconnect_reason::KeyExchangeFailed == PEER_DISCONNECT_REASON_KEY_EXCHANGE_FAILED);
static_assert(disconnect_reason::SlowConsumer == PEER_DISCONNECT_REASON_SLOW_CONSUMER);

static_assert(return_code::Ok == PEER_RETURN_CODE_OK);
static_assert(return_code::MustEncrypt == PEER_RETURN_CODE_MUST_ENCRYPT);
static_assert(return_code::PluginRejected == PEER_RETURN_CODE_PLUGIN_REJECTED);
static_assert(return_code::ServerBusy == PEER_RETURN_CODE_SERVER_BUSY);
static_assert(return_code::GameFull == PEER_RETURN_CODE_GAME_FULL);
static_assert(disconnect_reason::RateLimited == 14);

/// The static name of a status code ("Connect", "EncryptionEstablished", ...) or "Unknown".
inline const char* status_name(uint32_t code) noexcept { return peer_status_str(code); }

/// The version of the loaded library ("MAJOR.MINOR.PATCH"); compare with SEALNET_VERSION_STRING.
inline const char* library_version() noexcept { return peer_version(); }

/// A 32-byte public key, as printed by sealnet-server.
using PublicKey = std::array<uint8_t, 32>;

/// Parses a public key written as 64 hexadecimal digits (either case); empty when malformed.
inline std::optional<PublicKey> parse_public_key(std::string_view hex) noexcept {
  if (hex.size() != 64) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  PublicKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    const int high = digit(hex[2 * i]);
    const int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    key[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Result and Expected
// ---------------------------------------------------------------------------------------------

/// Outcome of a call without a value. Never ignore it.
class [[nodiscard]] Result {
 public:
  /// Success.
  constexpr Result() noexcept = default;
  constexpr Result(ErrorCode code) noexcept : code_(static_cast<uint32_t>(code)) {}  // NOLINT
  /// From a raw PEER_RESULT_* code.
  constexpr explicit Result(uint32_t raw) noexcept : code_(raw) {}

  constexpr bool ok() const noexcept { return code_ == PEER_RESULT_OK; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr ErrorCode code() const noexcept { return static_cast<ErrorCode>(code_); }
  constexpr uint32_t raw() const noexcept { return code_; }
  /// Static description from peer_result_str(); never null.
  const char* message() const noexcept { return peer_result_str(code_); }

  friend constexpr bool operator==(Result a, Result b) noexcept { return a.code_ == b.code_; }
  friend constexpr bool operator!=(Result a, Result b) noexcept { return a.code_ != b.code_; }

 private:
  uint32_t code_ = PEER_RESULT_OK;
};

/// Why the last failed call on this thread failed, naming the parameter and the limit where there is
/// one (peer_last_error); valid until the next failing call on this thread. message() is the static
/// text of the code; this is the detail of the call.
inline const char* last_error() noexcept { return peer_last_error(); }

namespace detail {
[[noreturn]] inline void bad_expected_access(Result result) noexcept {
  std::fprintf(stderr, "sealnet: value() of a failed Expected (%s)\n", result.message());
  std::abort();
}
}  // namespace detail

/// Outcome of a call with a value: either a T or an error code. Never ignore it.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  /// An error; an ok Result here would carry no value, so it is reported as ErrorCode::Panic.
  Expected(Result error) noexcept  // NOLINT: implicit on purpose
      : result_(error.ok() ? Result(ErrorCode::Panic) : error) {}
  Expected(ErrorCode error) noexcept : Expected(Result(error)) {}  // NOLINT

  bool ok() const noexcept { return result_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  Result result() const noexcept { return result_; }
  ErrorCode code() const noexcept { return result_.code(); }
  const char* message() const noexcept { return result_.message(); }

  /// The value; aborts when the call failed.
  T& value() & {
    if (!value_) detail::bad_expected_access(result_);
    return *value_;
  }
  const T& value() const& {
    if (!value_) detail::bad_expected_access(result_);
    return *value_;
  }
  T&& value() && {
    if (!value_) detail::bad_expected_access(result_);
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The value, or `fallback` when the call failed.
  template <class U>
  T value_or(U&& fallback) const& {
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  Result result_;
  std::optional<T> value_;
};

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

/// A borrowed run of bytes (pointer and length). Never owns.
class ByteView {
 public:
  constexpr ByteView() noexcept = default;
  constexpr ByteView(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  ByteView(const std::vector<uint8_t>& bytes) noexcept  // NOLINT: implicit on purpose
      : data_(bytes.data()), size_(bytes.size()) {}
  template <size_t N>
  constexpr ByteView(const std::array<uint8_t, N>& bytes) noexcept  // NOLINT
      : data_(bytes.data()), size_(N) {}

  constexpr const uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const uint8_t* begin() const noexcept { return data_; }
  constexpr const uint8_t* end() const noexcept { return data_ + size_; }
  constexpr uint8_t operator[](size_t i) const noexcept { return data_[i]; }
  std::vector<uint8_t> to_vector() const { return std::vector<uint8_t>(begin(), end()); }

  friend bool operator==(ByteView a, ByteView b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }
  friend bool operator!=(ByteView a, ByteView b) noexcept { return !(a == b); }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class Params;

/// A read-only, non-owning view of a parameter dictionary. A default or null view reads as empty.
/// Views handed to callbacks are valid only until the callback returns.
class ParamsView {
 public:
  constexpr ParamsView() noexcept = default;
  constexpr explicit ParamsView(const peer_params_t* params) noexcept : params_(params) {}

  /// The C pointer (may be null for an empty dictionary).
  const peer_params_t* native_handle() const noexcept { return params_; }

  /// Number of entries.
  size_t size() const noexcept {
    size_t count = 0;
    if (params_ == nullptr || peer_params_count(params_, &count) != PEER_RESULT_OK) return 0;
    return count;
  }
  bool empty() const noexcept { return size() == 0; }
  bool contains(uint8_t key) const noexcept { return type(key).has_value(); }

  /// The keys, in ascending order.
  std::vector<uint8_t> keys() const {
    std::vector<uint8_t> keys;
    const size_t count = size();
    keys.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      uint8_t key = 0;
      if (peer_params_key_at(params_, i, &key) != PEER_RESULT_OK) break;
      keys.push_back(key);
    }
    return keys;
  }

  /// The type of `key`'s value; empty when the key is missing.
  std::optional<ValueType> type(uint8_t key) const noexcept {
    uint32_t raw = 0;
    if (params_ == nullptr || peer_params_type(params_, key, &raw) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return static_cast<ValueType>(raw);
  }
  bool is_null(uint8_t key) const noexcept { return type(key) == ValueType::Null; }

  std::optional<bool> get_bool(uint8_t key) const noexcept {
    uint8_t value = 0;
    if (params_ == nullptr || peer_params_get_bool(params_, key, &value) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return value != 0;
  }
  std::optional<int32_t> get_i32(uint8_t key) const noexcept {
    return get_scalar<int32_t>(&peer_params_get_i32, key);
  }
  /// Reads a 64-bit integer; a 32-bit integer value is widened.
  std::optional<int64_t> get_i64(uint8_t key) const noexcept {
    return get_scalar<int64_t>(&peer_params_get_i64, key);
  }
  std::optional<float> get_f32(uint8_t key) const noexcept {
    return get_scalar<float>(&peer_params_get_f32, key);
  }
  /// Reads a 64-bit float; a 32-bit float value is widened.
  std::optional<double> get_f64(uint8_t key) const noexcept {
    return get_scalar<double>(&peer_params_get_f64, key);
  }
  /// Borrowed UTF-8 text: valid while the dictionary lives and is not modified.
  std::optional<std::string_view> get_string(uint8_t key) const noexcept {
    const char* text = nullptr;
    size_t len = 0;
    if (params_ == nullptr ||
        peer_params_get_string(params_, key, &text, &len) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return len == 0 ? std::string_view() : std::string_view(text, len);
  }
  /// Borrowed bytes: valid while the dictionary lives and is not modified.
  std::optional<ByteView> get_bytes(uint8_t key) const noexcept {
    const uint8_t* data = nullptr;
    size_t len = 0;
    if (params_ == nullptr ||
        peer_params_get_bytes(params_, key, &data, &len) != PEER_RESULT_OK) {
      return std::nullopt;
    }
    return len == 0 ? ByteView() : ByteView(data, len);
  }
  /// A copy of an array whose elements are all 32-bit integers.
  std::optional<std::vector<int32_t>> get_i32_array(uint8_t key) const {
    if (params_ == nullptr) return std::nullopt;
    size_t count = 0;
    uint32_t rc = peer_params_get_i32_array(params_, key, nullptr, 0, &count);
    if (rc == PEER_RESULT_OK) return std::vector<int32_t>();
    if (rc != PEER_RESULT_BUFFER_TOO_SMALL) return std::nullopt;
    std::vector<int32_t> values(count);
    rc = peer_params_get_i32_array(params_, key, values.data(), values.size(), &count);
    if (rc != PEER_RESULT_OK) return std::nullopt;
    values.resize(count);
    return values;
  }
  /// A copy of a nested dictionary (defined after Params).
  inline std::optional<Params> get_params(uint8_t key) const;
  /// An owned copy of the whole dictionary (defined after Params).
  inline Expected<Params> clone() const;

 protected:
  const peer_params_t* params_ = nullptr;

 private:
  template <class T>
  std::optional<T> get_scalar(uint32_t (*get)(const peer_params_t*, uint8_t, T*),
                              uint8_t key) const noexcept {
    T value{};
    if (params_ == nullptr || get(params_, key, &value) != PEER_RESULT_OK) return std::nullopt;
    return value;
  }
};

/// An owned parameter dictionary keyed by a byte. Move-only; `clone()` makes a copy. Every getter
/// of ParamsView is available, and a Params converts to a ParamsView of itself.
class Params : public ParamsView {
 public:
  /// An empty dictionary; storage is allocated by the C library on the first put.
  Params() noexcept = default;
  Params(const Params&) = delete;
  Params& operator=(const Params&) = delete;
  Params(Params&& other) noexcept : ParamsView(other.params_) { other.params_ = nullptr; }
  Params& operator=(Params&& other) noexcept {
    if (this != &other) {
      peer_params_free(mutable_handle());
      params_ = std::exchange(other.params_, nullptr);
    }
    return *this;
  }
  ~Params() { peer_params_free(mutable_handle()); }

  /// Takes ownership of a dictionary from peer_params_new or peer_params_get_params.
  static Params adopt(peer_params_t* owned) noexcept {
    Params params;
    params.params_ = owned;
    return params;
  }
  /// Gives up ownership; the caller frees the result with peer_params_free. May be null.
  peer_params_t* release() noexcept { return const_cast<peer_params_t*>(std::exchange(params_, nullptr)); }

  /// Removes every entry.
  Result clear() noexcept {
    return params_ == nullptr ? Result() : Result(peer_params_clear(mutable_handle()));
  }

  /// Removes `key`; ErrorCode::NotFound when it is absent.
  Result remove(uint8_t key) noexcept {
    return params_ == nullptr ? Result(PEER_RESULT_NOT_FOUND) : Result(peer_params_remove(mutable_handle(), key));
  }

  // put(): sets `key`, replacing any previous value. Values are copied.
  Result put(uint8_t key, bool value) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_bool(p, key, value ? 1 : 0); });
  }
  Result put(uint8_t key, int32_t value) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_i32(p, key, value); });
  }
  Result put(uint8_t key, int64_t value) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_i64(p, key, value); });
  }
  Result put(uint8_t key, float value) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_f32(p, key, value); });
  }
  Result put(uint8_t key, double value) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_f64(p, key, value); });
  }
  /// UTF-8 text; ErrorCode::InvalidArgument when it is not valid UTF-8.
  Result put(uint8_t key, std::string_view utf8) noexcept {
    return with_storage(
        [&](peer_params_t* p) { return peer_params_put_string(p, key, utf8.data(), utf8.size()); });
  }
  /// NUL-terminated UTF-8 text (so that a string literal is not taken as a bool).
  Result put(uint8_t key, const char* utf8) noexcept {
    if (utf8 == nullptr) return ErrorCode::NullParameter;
    return put(key, std::string_view(utf8));
  }
  Result put(uint8_t key, const std::string& utf8) noexcept { return put(key, std::string_view(utf8)); }
  /// A byte array.
  Result put(uint8_t key, ByteView bytes) noexcept {
    return with_storage(
        [&](peer_params_t* p) { return peer_params_put_bytes(p, key, bytes.data(), bytes.size()); });
  }
  Result put(uint8_t key, const std::vector<uint8_t>& bytes) noexcept { return put(key, ByteView(bytes)); }
  /// An array of 32-bit integers.
  Result put(uint8_t key, const std::vector<int32_t>& values) noexcept {
    return put_i32_array(key, values.data(), values.size());
  }
  Result put_i32_array(uint8_t key, const int32_t* values, size_t count) noexcept {
    return with_storage(
        [&](peer_params_t* p) { return peer_params_put_i32_array(p, key, values, count); });
  }
  /// A nested dictionary, copied from `nested` (a Params or a ParamsView).
  Result put(uint8_t key, ParamsView nested) noexcept {
    if (nested.native_handle() != nullptr) {
      return with_storage(
          [&](peer_params_t* p) { return peer_params_put_params(p, key, nested.native_handle()); });
    }
    Params empty;  // the C call needs a real dictionary, even an empty one
    const Result made = empty.allocate();
    if (!made.ok()) return made;
    return with_storage(
        [&](peer_params_t* p) { return peer_params_put_params(p, key, empty.native_handle()); });
  }
  Result put(uint8_t key, const Params& nested) noexcept { return put(key, ParamsView(nested)); }
  /// Sets `key` to null.
  Result put_null(uint8_t key) noexcept {
    return with_storage([&](peer_params_t* p) { return peer_params_put_null(p, key); });
  }

 private:
  peer_params_t* mutable_handle() const noexcept { return const_cast<peer_params_t*>(params_); }

  Result allocate() noexcept {
    if (params_ != nullptr) return Result();
    peer_params_t* created = nullptr;
    const uint32_t rc = peer_params_new(&created);
    if (rc != PEER_RESULT_OK) return Result(rc);
    params_ = created;
    return Result();
  }

  template <class F>
  Result with_storage(F&& call) noexcept {
    const Result made = allocate();
    if (!made.ok()) return made;
    return Result(call(mutable_handle()));
  }
};

inline std::optional<Params> ParamsView::get_params(uint8_t key) const {
  peer_params_t* copy = nullptr;
  if (params_ == nullptr || peer_params_get_params(params_, key, &copy) != PEER_RESULT_OK) {
    return std::nullopt;
  }
  return Params::adopt(copy);
}

inline Expected<Params> ParamsView::clone() const {
  if (params_ == nullptr) return Params();
  peer_params_t* copy = nullptr;
  const uint32_t rc = peer_params_clone(params_, &copy);
  if (rc != PEER_RESULT_OK) return Result(rc);
  return Params::adopt(copy);
}

// ---------------------------------------------------------------------------------------------
// Events and configuration
// ---------------------------------------------------------------------------------------------

/// An event relayed by the server. Borrowed: valid until the callback returns.
struct Event {
  uint8_t code = 0;
  /// True when it arrived encrypted; false when plain (still authenticated after the key exchange).
  bool encrypted = false;
  /// Actor number of the player that raised it (0 for the server).
  int32_t sender = 0;
  ParamsView params;
};

/// An operation response. Borrowed: valid until the callback returns.
struct OperationResponse {
  uint8_t op_code = 0;
  bool encrypted = false;
  /// 0 is success; negative values are errors (see sealnet::return_code).
  int16_t return_code = 0;
  /// Empty when the server sent none.
  std::string_view debug_message;
  ParamsView params;
};

/// A result taken with Peer::poll(). Only the members matching `kind` are meaningful. Views stay
/// valid until the next poll(), service() or destruction of the Peer.
struct PolledEvent {
  EventKind kind = EventKind::Status;
  uint32_t status = 0;
  uint16_t reason = 0;
  std::string_view message;
  OperationResponse response;
  Event event;
};

/// Called with a PEER_STATUS_* code (see sealnet::status), a disconnect reason (0 when none) and a
/// readable message (borrowed until the handler returns).
using StatusHandler = std::function<void(uint32_t status, uint16_t reason, std::string_view message)>;
using EventHandler = std::function<void(const Event& event)>;
using ResponseHandler = std::function<void(const OperationResponse& response)>;

/// Settings for Peer::create. Unset optionals keep the library defaults.
struct Config {
  /// Nothing received for this long loses the connection (status 1040). Library default: 10 s.
  std::optional<std::chrono::milliseconds> disconnect_timeout;
  /// Ping interval of the I/O thread. Library default: 1 s.
  std::optional<std::chrono::milliseconds> ping_interval;
  /// Run the key exchange right after connecting (default); otherwise call establish_encryption().
  bool auto_key_exchange = true;
  /// When set, the server must present this static key in the key exchange, else status 1049.
  std::optional<PublicKey> pinned_server_key;
  /// Results held for the host before the peer disconnects with an error. Library default: 65536.
  std::optional<uint32_t> max_queued_events;

  StatusHandler on_status;
  EventHandler on_event;
  ResponseHandler on_response;
};

/// How an operation is sent.
struct SendOptions {
  DeliveryMode delivery = DeliveryMode::Reliable;
  /// Encrypt the operation (needs a completed key exchange).
  bool encrypt = false;
  /// Channel number (carried for the datagram transport).
  uint8_t channel = 0;

  static constexpr SendOptions plain() noexcept { return SendOptions{}; }
  static constexpr SendOptions encrypted() noexcept {
    return SendOptions{DeliveryMode::Reliable, true, 0};
  }
};

namespace detail {

/// The callback state that `user_data` points at. Heap-allocated and owned by the Peer, so its
/// address survives moves of the Peer.
struct CallbackBlock {
  StatusHandler on_status;
  EventHandler on_event;
  ResponseHandler on_response;
  /// First exception thrown by a handler during the current service() call.
  std::exception_ptr error;
  /// Nesting depth of service() calls of this peer on the servicing thread.
  int dispatch_depth = 0;
  /// Set when the Peer was destroyed from inside one of its callbacks: no handler runs any more.
  bool closed = false;
  /// The handle to destroy once the C library's dispatch has returned.
  peer_t* deferred_destroy = nullptr;

  void keep_first_error() noexcept {
    if (!error) error = std::current_exception();
  }
};

inline std::string_view view_of(const char* text) noexcept {
  return text == nullptr ? std::string_view() : std::string_view(text);
}

inline Event to_event(const peer_event_t& e) noexcept {
  return Event{e.code, e.encrypted != 0, e.sender, ParamsView(e.params)};
}

inline OperationResponse to_response(const peer_operation_response_t& r) noexcept {
  return OperationResponse{r.op_code, r.encrypted != 0, r.return_code, view_of(r.debug_message),
                           ParamsView(r.params)};
}

// Trampolines handed to the C library: C language linkage, no exception ever escapes.
extern "C" {
inline void sealnet_cpp_status_trampoline(void* user_data, uint32_t code,
                                          const peer_status_info_t* info) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || block->closed || !block->on_status) return;
  try {
    block->on_status(code, info != nullptr ? info->reason : 0,
                     info != nullptr ? view_of(info->message) : std::string_view());
  } catch (...) {
    block->keep_first_error();
  }
}

inline void sealnet_cpp_event_trampoline(void* user_data, const peer_event_t* event) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || event == nullptr || block->closed || !block->on_event) return;
  try {
    block->on_event(to_event(*event));
  } catch (...) {
    block->keep_first_error();
  }
}

inline void sealnet_cpp_response_trampoline(void* user_data,
                                            const peer_operation_response_t* response) noexcept {
  auto* block = static_cast<CallbackBlock*>(user_data);
  if (block == nullptr || response == nullptr || block->closed || !block->on_response) return;
  try {
    block->on_response(to_response(*response));
  } catch (...) {
    block->keep_first_error();
  }
}
}  // extern "C"

/// Deleter of the peer handle: peer_destroy disconnects, stops the I/O thread and frees the peer.
struct PeerDeleter {
  void operator()(peer_t* peer) const noexcept { (void)peer_destroy(peer); }
};

inline Result to_millis(std::optional<std::chrono::milliseconds> value, uint32_t* out) noexcept {
  if (!value) return Result();
  const auto count = value->count();
  if (count <= 0 || static_cast<unsigned long long>(count) > UINT32_MAX) {
    return ErrorCode::InvalidArgument;
  }
  *out = static_cast<uint32_t>(count);
  return Result();
}

/// A NUL-terminated copy of `text`; empty when `text` holds a NUL byte.
inline std::optional<std::string> c_string(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  return std::string(text);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Peer
// ---------------------------------------------------------------------------------------------

/// A client connection. Move-only; destroying it disconnects and frees it (see TEARDOWN above).
/// A default-constructed or moved-from Peer is empty: its calls return ErrorCode::InvalidPeer.
class Peer {
 public:
  Peer() noexcept = default;
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  Peer(Peer&& other) noexcept = default;
  /// Destroys the current peer (if any) first, then takes over `other`'s peer and callbacks.
  Peer& operator=(Peer&& other) noexcept {
    if (this != &other) {
      reset();
      callbacks_ = std::move(other.callbacks_);
      handle_ = std::move(other.handle_);
    }
    return *this;
  }
  ~Peer() { reset(); }

  /// Creates a peer; no thread starts until connect().
  static Expected<Peer> create(Config config) {
    peer_config_t c;
    uint32_t rc = peer_config_default(&c);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Result converted = detail::to_millis(config.disconnect_timeout, &c.disconnect_timeout_ms);
    if (!converted.ok()) return converted;
    converted = detail::to_millis(config.ping_interval, &c.ping_interval_ms);
    if (!converted.ok()) return converted;
    if (config.max_queued_events) c.max_queued_events = *config.max_queued_events;
    c.auto_key_exchange = config.auto_key_exchange ? 1 : 0;
    if (config.pinned_server_key) {
      c.pin_server_key = 1;
      std::memcpy(c.server_public_key, config.pinned_server_key->data(), sizeof c.server_public_key);
    }

    auto callbacks = std::make_unique<detail::CallbackBlock>();
    callbacks->on_status = std::move(config.on_status);
    callbacks->on_event = std::move(config.on_event);
    callbacks->on_response = std::move(config.on_response);
    c.on_status = callbacks->on_status ? &detail::sealnet_cpp_status_trampoline : nullptr;
    c.on_event = callbacks->on_event ? &detail::sealnet_cpp_event_trampoline : nullptr;
    c.on_operation_response =
        callbacks->on_response ? &detail::sealnet_cpp_response_trampoline : nullptr;
    c.user_data = callbacks.get();

    peer_t* raw = nullptr;
    rc = peer_create(&c, &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    Peer peer;
    peer.callbacks_ = std::move(callbacks);
    peer.handle_.reset(raw);
    return Expected<Peer>(std::move(peer));
  }

  /// True when this object holds a peer.
  bool valid() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }
  /// The C handle, for calls this wrapper does not cover. Owned by this object.
  peer_t* native_handle() const noexcept { return handle_.get(); }

  /// Destroys the peer now (see TEARDOWN). The object becomes empty. Safe on an empty Peer.
  void reset() noexcept {
    if (!handle_) {
      callbacks_.reset();
      return;
    }
    if (callbacks_->dispatch_depth > 0) {
      // Called from one of this peer's own callbacks: peer_destroy would be refused there. Silence
      // the handlers now and let the running service() call finish the destruction.
      callbacks_->closed = true;
      callbacks_->deferred_destroy = handle_.release();
      (void)callbacks_.release();  // owned by that service() call from now on
      return;
    }
    handle_.reset();     // peer_destroy: afterwards no callback of this peer runs
    callbacks_.reset();  // so the handlers can go
  }

  /// Starts connecting to "host:port" with `app_id` (1 to 64 bytes of UTF-8). Returns at once;
  /// progress arrives as statuses: 1024 Connect, then 1048 EncryptionEstablished with automatic
  /// key exchange, or 1023/1040/1050/1051 on failure.
  Result connect(std::string_view address, std::string_view app_id) {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto address_c = detail::c_string(address);
    const auto app_id_c = detail::c_string(app_id);
    if (!address_c || !app_id_c) return ErrorCode::InvalidArgument;
    return Result(peer_connect(handle_.get(), address_c->c_str(), app_id_c->c_str()));
  }

  /// Starts the key exchange when auto_key_exchange is off; the outcome arrives as status 1048
  /// or 1049.
  Result establish_encryption() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_establish_encryption(handle_.get()));
  }

  /// Sends an operation; the parameters are copied. With `options.encrypt` before the key exchange
  /// completed, returns ErrorCode::EncryptionNotEstablished and sends nothing. Any thread.
  Result send_operation(uint8_t op_code, ParamsView params = ParamsView(),
                        SendOptions options = SendOptions()) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_send_options_t c{};
    c.delivery_mode = static_cast<uint8_t>(options.delivery);
    c.encrypt = options.encrypt ? 1 : 0;
    c.channel = options.channel;
    return Result(peer_send_operation(handle_.get(), op_code, params.native_handle(), &c));
  }

  /// Runs the queued callbacks on the calling thread. `dispatched` (optional) receives how many
  /// callbacks ran. Rethrows the first exception a handler threw during this call (see CALLBACKS).
  Result service(uint32_t* dispatched = nullptr) {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_t* const handle = handle_.get();
    detail::CallbackBlock* const block = callbacks_.get();
    uint32_t count = 0;
    ++block->dispatch_depth;
    const uint32_t rc = peer_service(handle, &count);
    --block->dispatch_depth;
    // A handler may have destroyed or reassigned this Peer: use only the locals from here on.
    if (block->dispatch_depth == 0) {
      std::exception_ptr error = std::exchange(block->error, nullptr);
      if (block->deferred_destroy != nullptr) {
        detail::PeerDeleter()(block->deferred_destroy);
        delete block;
      }
      if (error) std::rethrow_exception(error);
    }
    if (rc == PEER_RESULT_OK && dispatched != nullptr) *dispatched = count;
    return Result(rc);
  }

  /// Blocks until results are queued (then returns Ok; call service() or poll() next), `timeout`
  /// passes (ErrorCode::TimedOut), or nothing can arrive because no connection runs
  /// (ErrorCode::NotConnected, at once). For hosts that are not a frame loop: bots, tests, servers.
  Result wait(std::chrono::milliseconds timeout) noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    const auto ms = timeout.count() < 0 ? 0 : timeout.count();
    const auto capped = ms > 0xFFFFFFFF ? 0xFFFFFFFFu : static_cast<uint32_t>(ms);
    return Result(peer_wait(handle_.get(), capped));
  }

  /// Callback-free alternative to service(): the next queued result, or ErrorCode::NoEvent. Views
  /// inside stay valid until the next poll(), service() or destruction of this Peer.
  Expected<PolledEvent> poll() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    peer_polled_event_t e{};
    const uint32_t rc = peer_poll_event(handle_.get(), &e);
    if (rc != PEER_RESULT_OK) return Result(rc);
    PolledEvent polled;
    polled.kind = static_cast<EventKind>(e.kind);
    polled.status = e.status;
    polled.reason = e.status_info.reason;
    polled.message = detail::view_of(e.status_info.message);
    polled.response = detail::to_response(e.response);
    polled.event = detail::to_event(e.event);
    return polled;
  }

  /// Asks to end the connection; status 1025 Disconnect follows through service().
  Result disconnect() noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    return Result(peer_disconnect(handle_.get()));
  }

  Expected<PeerState> state() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    uint32_t raw = 0;
    const uint32_t rc = peer_state(handle_.get(), &raw);
    if (rc != PEER_RESULT_OK) return Result(rc);
    return static_cast<PeerState>(raw);
  }

  /// The server's static public key once the key exchange succeeded;
  /// ErrorCode::EncryptionNotEstablished before.
  Expected<PublicKey> server_public_key() const noexcept {
    if (!handle_) return ErrorCode::InvalidPeer;
    PublicKey key{};
    const uint32_t rc = peer_server_public_key(handle_.get(), key.data());
    if (rc != PEER_RESULT_OK) return Result(rc);
    return key;
  }

 private:
  // Declared before handle_ so that, on destruction, the handle (peer_destroy) goes first.
  std::unique_ptr<detail::CallbackBlock> callbacks_;
  std::unique_ptr<peer_t, detail::PeerDeleter> handle_;
};

}  // namespace sealnet

#endif  // SEALNET_HPP
