#!/usr/bin/env bash
# Builds and runs the C# binding's tests under Mono against debug/libsealnet.so in cargo's target
# directory and a live sealnet-server (started by scripts/with-server.sh), then runs the all_types
# program (tests/cross/README.md) as sender and receiver against each other, and a short chat session
# with the chat example.
#
#   bindings/csharp/test.sh
#
# Needs `cargo build --workspace` first (exit status 2 when its artifacts are missing). Installs
# mono-mcs and mono-runtime with apt-get when mcs or mono is missing. Output goes to csharp/ in the target directory.
# To test other copies of the library and the sources (package-test.sh does, with an unpacked Unity
# package), set SEALNET_CSHARP_LIB_DIR (the folder holding libsealnet.so; default debug/ in the target
# directory), SEALNET_CSHARP_RUNTIME_DIR and SEALNET_CSHARP_EXAMPLES_DIR (the folders of Runtime/*.cs and
# Examples/Chat.cs; default the ones here) and SEALNET_CSHARP_OUT_DIR (default csharp/ in the target
# directory). The tests themselves (Tests/) are always the ones here.
# Run under `scripts/with-server.sh --backend --allow-anonymous` (as make bindings-test does), each of its
# servers is started with the same options (SEALNET_WITH_SERVER_OPTIONS), so the tests also authenticate
# through a real sealnet-backend.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir=$("$root/scripts/target-dir.sh")
lib_dir=${SEALNET_CSHARP_LIB_DIR:-$target_dir/debug}
runtime_dir=${SEALNET_CSHARP_RUNTIME_DIR:-$here/Runtime}
examples_dir=${SEALNET_CSHARP_EXAMPLES_DIR:-$here/Examples}
out=${SEALNET_CSHARP_OUT_DIR:-$target_dir/csharp}

for artifact in "$lib_dir/libsealnet.so" "$target_dir/debug/sealnet-server"; do
  if [ ! -e "$artifact" ]; then
    if [ -n "${SEALNET_CSHARP_LIB_DIR:-}" ] && [ "$artifact" = "$lib_dir/libsealnet.so" ]; then
      echo "csharp: $artifact is missing (SEALNET_CSHARP_LIB_DIR)" >&2
    else
      echo "csharp: ${artifact#"$root"/} is missing: run \`cargo build --workspace\` first" >&2
    fi
    exit 2
  fi
done
for source in "$runtime_dir/NativeMethods.cs" "$examples_dir/Chat.cs"; do
  [ -f "$source" ] || { echo "csharp: $source is missing" >&2; exit 2; }
done

if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
  sudo=
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
  echo "csharp: installing mono-mcs and mono-runtime" >&2
  if ! $sudo apt-get install -y mono-mcs mono-runtime >&2; then
    $sudo apt-get update >&2
    $sudo apt-get install -y mono-mcs mono-runtime >&2
  fi
fi

mkdir -p "$out"
# C# 7.2 is the newest language version Mono's mcs accepts; it is a subset of what Unity 2019.4 compiles.
mcs_flags=(-langversion:7.2 -warnaserror -warn:4 -nologo -debug -r:System.dll)
runtime_sources=("$runtime_dir"/*.cs)

# The runtime alone, as Unity compiles it (Sealnet.Runtime.asmdef), then with the iOS import switch. The
# XML documentation is generated so that a public item without a comment, or a broken cref, fails the build.
mcs "${mcs_flags[@]}" -target:library -doc:"$out/Sealnet.Runtime.xml" -out:"$out/Sealnet.Runtime.dll" "${runtime_sources[@]}"
mcs "${mcs_flags[@]}" -target:library -define:UNITY_IOS -out:"$out/Sealnet.Runtime.iOS.dll" "${runtime_sources[@]}"
# The example uses only the public API.
mcs "${mcs_flags[@]}" -r:"$out/Sealnet.Runtime.dll" -out:"$out/Chat.exe" "$examples_dir/Chat.cs"
# The tests compile with the sources, to check the internal native structures too.
mcs "${mcs_flags[@]}" -out:"$out/SealnetTests.exe" "${runtime_sources[@]}" "$here/Tests/SealnetTests.cs"
# The all_types program of tests/cross/README.md, public API only (tests/cross/run.sh runs it from here).
mcs "${mcs_flags[@]}" -r:"$out/Sealnet.Runtime.dll" -out:"$out/AllTypes.exe" "$here/Tests/AllTypes.cs"

# Measure the header's structure layouts with the C compiler, when there is one, so the test compares
# the C# mirrors with the real thing rather than with hand-worked numbers (on 64-bit it also checks the
# hand-worked numbers, its fallback without a compiler, against the measured ones).
# The same program gives the header's operation return codes, compared with the ReturnCode constants, and
# its room constants (receivers, caching, event codes, property keys), compared with the C# enums and keys.
layout=
return_codes=
constants=
cc=${CC:-cc}
if command -v "$cc" >/dev/null 2>&1; then
  cat >"$out/layout.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "sealnet.h"
#define SIZE(t) printf("%s=%zu;", #t, sizeof(t))
#define OFF(t, f) printf("%s.%s=%zu;", #t, #f, offsetof(t, f))
#define CODE(name) printf("%s=%d;", #name, (int)PEER_RETURN_CODE_##name)
#define CONSTANT(name) printf("%s=%d;", #name, (int)PEER_##name)
/* With the argument "constants": the header's room constants instead of the layouts. */
static int constants(void) {
    CONSTANT(RECEIVERS_OTHERS);
    CONSTANT(RECEIVERS_ALL);
    CONSTANT(RECEIVERS_MASTER_CLIENT);
    CONSTANT(EVENT_CACHE_NONE);
    CONSTANT(EVENT_CACHE_ADD);
    CONSTANT(EVENT_CACHE_REMOVE);
    CONSTANT(EVENT_CACHE_REMOVE_OF_ACTORS_LEFT);
    CONSTANT(EVENT_CODE_JOIN);
    CONSTANT(EVENT_CODE_LEAVE);
    CONSTANT(EVENT_CODE_PROPERTIES_CHANGED);
    CONSTANT(ROOM_PROP_MAX_PLAYERS);
    CONSTANT(ROOM_PROP_IS_VISIBLE);
    CONSTANT(ROOM_PROP_IS_OPEN);
    CONSTANT(ROOM_PROP_PLAYER_COUNT);
    CONSTANT(ROOM_PROP_MASTER_CLIENT_ID);
    CONSTANT(ROOM_PROP_PLAYER_TTL);
    CONSTANT(ROOM_PROP_EMPTY_ROOM_TTL);
    CONSTANT(PLAYER_PROP_NICKNAME);
    CONSTANT(PLAYER_PROP_IS_INACTIVE);
    CONSTANT(PLAYER_PROP_USER_ID);
    return 0;
}
/* With another argument: the header's operation return codes instead of the layouts. */
static int return_codes(void) {
    CODE(OK);
    CODE(INTERNAL_SERVER_ERROR);
    CODE(MUST_ENCRYPT);
    CODE(PLUGIN_REJECTED);
    CODE(SERVER_BUSY);
    CODE(GAME_FULL);
    CODE(DIRECTORY_UNAVAILABLE);
    CODE(GAME_ID_ALREADY_EXISTS);
    CODE(GAME_CLOSED);
    CODE(SERVER_FULL);
    CODE(NO_RANDOM_MATCH_FOUND);
    CODE(GAME_DOES_NOT_EXIST);
    CODE(OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    CODE(INVALID_OPERATION);
    CODE(INVALID_AUTHENTICATION);
    CODE(CUSTOM_AUTHENTICATION_FAILED);
    CODE(AUTHENTICATION_TICKET_EXPIRED);
    CODE(HTTP_LIMIT_REACHED);
    CODE(EXTERNAL_HTTP_CALL_FAILED);
    CODE(PROPERTIES_CONFLICT);
    CODE(JOIN_FAILED_FOUND_INACTIVE_JOINER);
    CODE(JOIN_FAILED_WITH_REJOINER_NOT_FOUND);
    return 0;
}
int main(int argc, char **argv) {
    if (argc > 1) {
        return strcmp(argv[1], "constants") == 0 ? constants() : return_codes();
    }
    SIZE(peer_config_t);
    OFF(peer_config_t, struct_size);
    OFF(peer_config_t, disconnect_timeout_ms);
    OFF(peer_config_t, on_status);
    OFF(peer_config_t, on_operation_response);
    OFF(peer_config_t, on_event);
    OFF(peer_config_t, user_data);
    OFF(peer_config_t, ping_interval_ms);
    OFF(peer_config_t, max_queued_events);
    OFF(peer_config_t, auto_key_exchange);
    OFF(peer_config_t, pin_server_key);
    OFF(peer_config_t, server_public_key);
    OFF(peer_config_t, max_protocol_version);
    OFF(peer_config_t, reserved);
    OFF(peer_config_t, max_queued_bytes);
    SIZE(peer_send_options_t);
    OFF(peer_send_options_t, struct_size);
    OFF(peer_send_options_t, delivery_mode);
    OFF(peer_send_options_t, encrypt);
    OFF(peer_send_options_t, channel);
    OFF(peer_send_options_t, reserved);
    SIZE(peer_connect_options_t);
    OFF(peer_connect_options_t, struct_size);
    OFF(peer_connect_options_t, transport);
    OFF(peer_connect_options_t, address);
    OFF(peer_connect_options_t, app_id);
    OFF(peer_connect_options_t, app_version);
    OFF(peer_connect_options_t, pin);
    OFF(peer_connect_options_t, server_public_key);
    OFF(peer_connect_options_t, reserved);
    OFF(peer_connect_options_t, auth);
    OFF(peer_connect_options_t, ca_file);
    OFF(peer_connect_options_t, certificate_fingerprint);
    OFF(peer_connect_options_t, pin_certificate);
    OFF(peer_connect_options_t, auth_once);
    OFF(peer_connect_options_t, reserved_2);
    SIZE(peer_stats_t);
    OFF(peer_stats_t, struct_size);
    OFF(peer_stats_t, protocol_version);
    OFF(peer_stats_t, rtt_ms);
    OFF(peer_stats_t, rtt_variance_ms);
    OFF(peer_stats_t, rtt_known);
    OFF(peer_stats_t, server_time_known);
    OFF(peer_stats_t, reserved);
    OFF(peer_stats_t, bytes_sent);
    OFF(peer_stats_t, bytes_received);
    OFF(peer_stats_t, frames_sent);
    OFF(peer_stats_t, frames_received);
    OFF(peer_stats_t, server_time_ms);
    SIZE(peer_value_t);
    OFF(peer_value_t, type);
    OFF(peer_value_t, custom_code);
    OFF(peer_value_t, integer);
    OFF(peer_value_t, float32);
    OFF(peer_value_t, float64);
    OFF(peer_value_t, data);
    OFF(peer_value_t, len);
    OFF(peer_value_t, map);
    OFF(peer_value_t, array);
    OFF(peer_value_t, table);
    SIZE(peer_status_info_t);
    OFF(peer_status_info_t, message);
    SIZE(peer_operation_response_t);
    OFF(peer_operation_response_t, encrypted);
    OFF(peer_operation_response_t, return_code);
    OFF(peer_operation_response_t, debug_message);
    OFF(peer_operation_response_t, params);
    SIZE(peer_event_t);
    OFF(peer_event_t, encrypted);
    OFF(peer_event_t, sender);
    OFF(peer_event_t, params);
    SIZE(peer_polled_event_t);
    OFF(peer_polled_event_t, status);
    OFF(peer_polled_event_t, status_info);
    OFF(peer_polled_event_t, response);
    OFF(peer_polled_event_t, event);
    SIZE(peer_room_options_t);
    OFF(peer_room_options_t, struct_size);
    OFF(peer_room_options_t, max_players);
    OFF(peer_room_options_t, is_open);
    OFF(peer_room_options_t, is_visible);
    OFF(peer_room_options_t, keep_cache_on_leave);
    OFF(peer_room_options_t, reserved);
    OFF(peer_room_options_t, player_ttl_ms);
    OFF(peer_room_options_t, empty_room_ttl_ms);
    OFF(peer_room_options_t, custom_properties);
    OFF(peer_room_options_t, listed_in_lobby);
    OFF(peer_room_options_t, listed_in_lobby_count);
    SIZE(peer_raise_event_options_t);
    OFF(peer_raise_event_options_t, struct_size);
    OFF(peer_raise_event_options_t, receivers);
    OFF(peer_raise_event_options_t, interest_group);
    OFF(peer_raise_event_options_t, cache);
    OFF(peer_raise_event_options_t, reserved);
    OFF(peer_raise_event_options_t, target_actors);
    OFF(peer_raise_event_options_t, target_actor_count);
    SIZE(peer_client_config_t);
    OFF(peer_client_config_t, struct_size);
    OFF(peer_client_config_t, pin_master_key);
    OFF(peer_client_config_t, reserved);
    OFF(peer_client_config_t, master_public_key);
    OFF(peer_client_config_t, peer);
    OFF(peer_client_config_t, masters);
    OFF(peer_client_config_t, master_count);
    OFF(peer_client_config_t, app_id);
    OFF(peer_client_config_t, app_version);
    SIZE(peer_client_event_t);
    OFF(peer_client_event_t, kind);
    OFF(peer_client_event_t, state);
    OFF(peer_client_event_t, status);
    OFF(peer_client_event_t, status_info);
    OFF(peer_client_event_t, room);
    OFF(peer_client_event_t, actor);
    OFF(peer_client_event_t, rejoined);
    OFF(peer_client_event_t, actors);
    OFF(peer_client_event_t, actor_count);
    OFF(peer_client_event_t, op_code);
    OFF(peer_client_event_t, return_code);
    OFF(peer_client_event_t, message);
    OFF(peer_client_event_t, event);
    OFF(peer_client_event_t, response);
    return 0;
}
C
  "$cc" -std=c99 -I"$root/include" -o "$out/layout" "$out/layout.c"
  layout=$("$out/layout")
  return_codes=$("$out/layout" return-codes)
  constants=$("$out/layout" constants)
else
  echo "csharp: no C compiler; checking struct layouts against hand-worked values" >&2
fi

# The options of the scripts/with-server.sh this runs under, if any, for the servers started here.
read -r -a server_options <<<"${SEALNET_WITH_SERVER_OPTIONS:-}"
export SEALNET_C_LAYOUT=$layout
export SEALNET_C_RETURN_CODES=$return_codes
export SEALNET_C_CONSTANTS=$constants
export LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
status=0
"$root/scripts/with-server.sh" "${server_options[@]}" -- mono --debug "$out/SealnetTests.exe" || status=1

# A C# sender against a C# receiver (the pair tests/cross/run.sh would run), so the binding checks its
# own all_types program even without the other bindings. The sender starts once the receiver has
# printed "joined", read from the receiver's output rather than waited for.
pair='
set -euo pipefail
exe=$1
room=$2
coproc receiver { exec mono --debug "$exe" --role receive --room "$room"; }
receiver_pid=$receiver_PID
exec {from_receiver}<&"${receiver[0]}"
line=
if ! read -r -t 120 line <&"$from_receiver" || [ "$line" != joined ]; then
  echo "csharp all_types: the receiver did not print joined (got: ${line:-nothing})" >&2
  kill "$receiver_pid" 2>/dev/null || true
  wait "$receiver_pid" 2>/dev/null || true
  exit 1
fi
sender_status=0
mono --debug "$exe" --role send --room "$room" || sender_status=$?
cat <&"$from_receiver"
receiver_status=0
wait "$receiver_pid" || receiver_status=$?
echo "csharp all_types: sender exited $sender_status, receiver exited $receiver_status"
[ "$sender_status" = 0 ] && [ "$receiver_status" = 0 ]
'
if "$root/scripts/with-server.sh" "${server_options[@]}" -- bash -c "$pair" all-types "$out/AllTypes.exe" "csharp-all-types-$$"; then
  echo "ok   all_types: C# sender to C# receiver"
else
  echo "FAIL all_types: C# sender to C# receiver"
  status=1
fi

# The chat example, two lines then the end of input; with a backend it first authenticates with the
# guest's connection token, as a game would.
chat_log=$out/chat.log
chat_run='exec mono --debug "$@" ${SEALNET_TEST_CONNECTION_TOKEN:+--connection-token "$SEALNET_TEST_CONNECTION_TOKEN"}'
chat_expected=('EncryptionEstablished \[1048\]' '-> \[encrypted\] hello from the C# chat' '-> \[plain\] and in the clear'
  'Disconnect \[1025\]')
if [[ " ${server_options[*]} " == *" --backend "* ]]; then chat_expected+=('authenticated as "'); fi
chat_ok=1
if ! printf 'hello from the C# chat\n/plain and in the clear\n' |
  "$root/scripts/with-server.sh" "${server_options[@]}" -- bash -c "$chat_run" chat "$out/Chat.exe" --room csharp-smoke \
    >"$chat_log" 2>&1; then
  chat_ok=0
fi
for expected in "${chat_expected[@]}"; do
  grep -q -e "$expected" "$chat_log" || chat_ok=0
done
if [ "$chat_ok" = 1 ]; then
  echo "ok   chat example"
else
  cat "$chat_log"
  echo "FAIL chat example"
  status=1
fi
exit $status
