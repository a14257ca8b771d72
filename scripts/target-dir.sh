#!/usr/bin/env bash
# Prints cargo's target directory as an absolute path: SEALNET_TARGET_DIR when set, otherwise what cargo
# itself uses (CARGO_TARGET_DIR, a .cargo/config setting, or ./target), so scripts never pick up a stale
# library from the wrong place.
set -euo pipefail
if [ -n "${SEALNET_TARGET_DIR:-}" ]; then
  printf '%s\n' "$SEALNET_TARGET_DIR"
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$dir" ] || dir=$root/target
printf '%s\n' "$dir"
