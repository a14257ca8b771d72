#!/usr/bin/env bash
# Builds the C++ wrapper's tests (peer_test, and client_test of the realtime client), the all_types
# program of tests/cross and the chat example with sanitizers, then runs a short chat session, one C++
# all_types sender against one C++ receiver, client_test and peer_test, each against a fresh
# sealnet-server (of role "all") on loopback.
#
#   bindings/cpp/test.sh
#
# Needs `cargo build --workspace` first (debug/libsealnet.so and debug/sealnet-server in cargo's target
# directory); exits 2 when they are missing. Outputs go to cpp/ in the target directory. CXX overrides
# the compiler (default g++). Run under `scripts/with-server.sh --backend --allow-anonymous` (as make
# bindings-test does), each of its servers is started with the same options (SEALNET_WITH_SERVER_OPTIONS),
# so the test also authenticates through a real sealnet-backend.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

target_dir=$("$root/scripts/target-dir.sh")
lib_dir=$target_dir/debug
out=$target_dir/cpp
missing=0
for artifact in "$lib_dir/libsealnet.so" "$lib_dir/sealnet-server"; do
  if [ ! -e "$artifact" ]; then
    echo "cpp/test.sh: ${artifact#"$root"/} is missing: run 'cargo build --workspace' first" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 2

# The options of the scripts/with-server.sh this runs under, if any, for the servers started here.
read -r -a server_options <<<"${SEALNET_WITH_SERVER_OPTIONS:-}"

cxx=${CXX:-g++}
cxxflags=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -fsanitize=address,undefined
  -fno-omit-frame-pointer -I include -I bindings/cpp)
ldflags=(-L"$lib_dir" -lsealnet -Wl,-rpath,"$lib_dir" -pthread)
# The library's SONAME is what the programs look for at run time.
ln -sf libsealnet.so "$lib_dir/$("$root/scripts/soname.sh")"
mkdir -p "$out"

echo "== build ($cxx)"
"$cxx" "${cxxflags[@]}" bindings/cpp/test/peer_test.cpp -o "$out/peer_test" "${ldflags[@]}"
"$cxx" "${cxxflags[@]}" bindings/cpp/test/client_test.cpp -o "$out/client_test" "${ldflags[@]}"
"$cxx" "${cxxflags[@]}" bindings/cpp/test/all_types.cpp -o "$out/all_types" "${ldflags[@]}"
"$cxx" "${cxxflags[@]}" bindings/cpp/examples/chat.cpp -o "$out/chat" "${ldflags[@]}"

# Leak checking is on unless the caller chose other options; a leak makes the program fail.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== chat example (two lines, then end of input)"
chat_log=$out/chat.log
# With a backend the chat first authenticates with the guest's connection token, as a game would.
chat_run='exec "$@" ${SEALNET_TEST_CONNECTION_TOKEN:+--connection-token "$SEALNET_TEST_CONNECTION_TOKEN"}'
chat_expected=('status 1048' 'me \[encrypted\]: hello from the C++ chat' 'me \[plain\]: and in the clear' 'status 1025')
if [[ " ${server_options[*]} " == *" --backend "* ]]; then chat_expected+=('authenticated as "'); fi
if ! printf 'hello from the C++ chat\n/plain and in the clear\n' |
  scripts/with-server.sh "${server_options[@]}" -- bash -c "$chat_run" chat "$out/chat" --room cpp-smoke \
    >"$chat_log" 2>&1; then
  cat "$chat_log" >&2
  echo "chat example failed" >&2
  exit 1
fi
for expected in "${chat_expected[@]}"; do
  if ! grep -q "$expected" "$chat_log"; then
    cat "$chat_log" >&2
    echo "chat example: no output matching '$expected'" >&2
    exit 1
  fi
done
echo "chat example ok"

echo "== all_types: C++ sender to C++ receiver (tests/cross/README.md)"
# The receiver runs as a coprocess; reading its first line waits until it has joined, so the sender
# starts only then (no sleeping).
pair='
  set -euo pipefail
  bin=$1
  room=cpp-all-types-$$
  coproc RECEIVER { exec "$bin" --role receive --room "$room"; }
  receiver_pid=$RECEIVER_PID
  exec {from_receiver}<&"${RECEIVER[0]}"
  if ! read -r -t 30 line <&"$from_receiver" || [ "$line" != joined ]; then
    echo "all_types receiver did not join (first line: ${line:-none})" >&2
    kill "$receiver_pid" 2>/dev/null || true
    exit 1
  fi
  "$bin" --role send --room "$room" || { echo "all_types sender failed" >&2; kill "$receiver_pid" 2>/dev/null || true; exit 1; }
  while read -r line <&"$from_receiver"; do echo "receiver: $line"; done
  wait "$receiver_pid" || { echo "all_types receiver failed" >&2; exit 1; }
'
scripts/with-server.sh "${server_options[@]}" -- bash -c "$pair" all_types "$out/all_types"

echo "== client_test (the realtime client against a server of role \"all\")"
scripts/with-server.sh "${server_options[@]}" -- "$out/client_test"

echo "== peer_test"
exec scripts/with-server.sh "${server_options[@]}" -- "$out/peer_test"
