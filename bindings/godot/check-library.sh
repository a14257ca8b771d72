#!/usr/bin/env bash
# The load checks of a built Linux library of the extension, run by test.sh (on the debug build) and
# addon-test.sh (on the libraries of the packaged addon); no Godot binary is needed:
#   - it exports the entry point that sealnet.gdextension names (nm -D);
#   - it loads with every undefined symbol resolved against the system's libraries (dlopen with
#     RTLD_NOW, from python3), and it needs only the libraries listed below (readelf -d).
#
# Usage: bindings/godot/check-library.sh [--strict] LIBRARY...
# Without --strict a check whose tool (nm, python3, readelf) is missing says it was skipped; with it,
# that is a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
strict=0
if [[ "${1:-}" == --strict ]]; then
  strict=1
  shift
fi
if (($# == 0)); then
  echo "usage: $0 [--strict] LIBRARY..." >&2
  exit 2
fi

# What a Rust cdylib on glibc links; anything else would have to be on the player's machine too.
allowed_needed=" libc.so.6 libm.so.6 libgcc_s.so.1 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1 "

missing_tool() {
  if ((strict)); then
    echo "$1 is missing: cannot check $2" >&2
    exit 1
  fi
  echo "skipped: $1 is missing, not checked: $2"
}

entry="$(sed -n 's/^entry_symbol *= *"\(.*\)"$/\1/p' "$here/addons/sealnet/sealnet.gdextension")"
if [[ -z "$entry" ]]; then
  echo "no entry_symbol in sealnet.gdextension" >&2
  exit 1
fi

for library in "$@"; do
  if [[ ! -f "$library" ]]; then
    echo "$library does not exist" >&2
    exit 1
  fi

  # The library must export the entry point that sealnet.gdextension names.
  if command -v nm >/dev/null; then
    if ! nm -D --defined-only "$library" | grep -w "$entry" >/dev/null; then
      echo "$library does not export $entry" >&2
      exit 1
    fi
    echo "$library exports $entry"
  else
    missing_tool nm "the export of $entry"
  fi

  # The library loads with every symbol resolved (no engine is needed for that).
  if command -v python3 >/dev/null; then
    python3 -c 'import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)' "$library"
    echo "$library loads with all symbols resolved"
  else
    missing_tool python3 "loading with RTLD_NOW"
  fi

  # Only system libraries, and the newest glibc symbol version it needs (the oldest glibc it runs on).
  if command -v readelf >/dev/null; then
    needed="$(readelf -d "$library" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    for lib in $needed; do
      if [[ "$allowed_needed" != *" $lib "* ]]; then
        echo "$library needs $lib, which is not a system library every Linux has" >&2
        exit 1
      fi
    done
    glibc="$(readelf -V "$library" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)"
    echo "$library needs only ${needed% } (glibc symbols up to ${glibc:-none})"
  else
    missing_tool readelf "the libraries it needs"
  fi
done
