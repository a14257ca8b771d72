#!/usr/bin/env bash
# The shared library exports only peer_* symbols, plus the toolchain symbols listed below.
set -euo pipefail
lib=${1:?usage: check-symbols.sh path/to/libsealnet.so}
# Symbols the linker may add to any shared object; none is part of sealnet's API.
allowed_toolchain='^(_init|_fini|_edata|_end|__bss_start|rust_eh_personality)$'
unexpected=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -Ev '^peer_' | grep -Ev "$allowed_toolchain" || true)
count=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -c '^peer_')
if [ -n "$unexpected" ]; then
  echo "symbols: unexpected exports in $lib:" >&2
  echo "$unexpected" >&2
  exit 1
fi
echo "symbols: $count peer_* exports and nothing else in $(basename "$lib")"
