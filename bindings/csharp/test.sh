#!/usr/bin/env bash
# Builds and runs the C# binding's tests under Mono against debug/libsealnet.so in cargo's target
# directory and a live sealnet-server (started by scripts/with-server.sh). Also compiles the chat example.
#
#   bindings/csharp/test.sh
#
# Needs `cargo build --workspace` first (exit status 2 when its artifacts are missing). Installs
# mono-mcs and mono-runtime with apt-get when mcs or mono is missing. Output goes to csharp/ in the target directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir=$("$root/scripts/target-dir.sh")
lib_dir=$target_dir/debug
out=$target_dir/csharp

for artifact in "$lib_dir/libsealnet.so" "$lib_dir/sealnet-server"; do
  if [ ! -e "$artifact" ]; then
    echo "csharp: ${artifact#"$root"/} is missing: run \`cargo build --workspace\` first" >&2
    exit 2
  fi
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
runtime_sources=("$here"/Runtime/*.cs)

# The runtime alone, as Unity compiles it (Sealnet.Runtime.asmdef), then with the iOS import switch.
mcs "${mcs_flags[@]}" -target:library -out:"$out/Sealnet.Runtime.dll" "${runtime_sources[@]}"
mcs "${mcs_flags[@]}" -target:library -define:UNITY_IOS -out:"$out/Sealnet.Runtime.iOS.dll" "${runtime_sources[@]}"
# The example uses only the public API.
mcs "${mcs_flags[@]}" -r:"$out/Sealnet.Runtime.dll" -out:"$out/Chat.exe" "$here/Examples/Chat.cs"
# The tests compile with the sources, to check the internal native structures too.
mcs "${mcs_flags[@]}" -out:"$out/SealnetTests.exe" "${runtime_sources[@]}" "$here/Tests/SealnetTests.cs"

# Measure the header's structure layouts with the C compiler, when there is one, so the test compares
# the C# mirrors with the real thing rather than with hand-worked numbers.
layout=
cc=${CC:-cc}
if command -v "$cc" >/dev/null 2>&1; then
  cat >"$out/layout.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include "sealnet.h"
#define SIZE(t) printf("%s=%zu;", #t, sizeof(t))
#define OFF(t, f) printf("%s.%s=%zu;", #t, #f, offsetof(t, f))
int main(void) {
    SIZE(peer_config_t);
    OFF(peer_config_t, user_data);
    OFF(peer_config_t, disconnect_timeout_ms);
    OFF(peer_config_t, ping_interval_ms);
    OFF(peer_config_t, auto_key_exchange);
    OFF(peer_config_t, pin_server_key);
    OFF(peer_config_t, server_public_key);
    OFF(peer_config_t, max_queued_events);
    SIZE(peer_send_options_t);
    OFF(peer_send_options_t, encrypt);
    OFF(peer_send_options_t, channel);
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
    return 0;
}
C
  "$cc" -std=c99 -I"$root/include" -o "$out/layout" "$out/layout.c"
  layout=$("$out/layout")
else
  echo "csharp: no C compiler; checking struct layouts against hand-worked values" >&2
fi

export SEALNET_C_LAYOUT=$layout
export LD_LIBRARY_PATH=$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$root/scripts/with-server.sh" -- mono --debug "$out/SealnetTests.exe"
