#!/usr/bin/env bash
# Builds the Godot extension and runs its tests. No Godot binary is needed: the tests cover the
# engine-free code (value mapping, codes, the client against an in-process server); see README.md.
#
# Usage: bindings/godot/test.sh [--lint]   (--lint also runs rustfmt --check and clippy -D warnings)
# Builds go to target/godot under the repository root (or $CARGO_TARGET_DIR when set).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target/godot}"
manifest="$here/Cargo.toml"

lint=0
case "${1:-}" in
  "") ;;
  --lint) lint=1 ;;
  *) echo "usage: $0 [--lint]" >&2; exit 2 ;;
esac

cargo build --manifest-path "$manifest" --target-dir "$target_dir"
cargo test --manifest-path "$manifest" --target-dir "$target_dir"

# The library must export the entry point that sealnet.gdextension names.
entry="$(sed -n 's/^entry_symbol *= *"\(.*\)"$/\1/p' "$here/addons/sealnet/sealnet.gdextension")"
library="$target_dir/debug/libsealnet_godot.so"
if [[ -z "$entry" ]]; then
  echo "no entry_symbol in sealnet.gdextension" >&2
  exit 1
fi
if [[ -f "$library" ]] && command -v nm > /dev/null; then
  if ! nm -D --defined-only "$library" | grep -qw "$entry"; then
    echo "$library does not export $entry" >&2
    exit 1
  fi
  echo "$library exports $entry"
fi

# The library loads with every symbol resolved (no engine is needed for that).
if [[ -f "$library" ]] && command -v python3 > /dev/null; then
  python3 -c 'import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)' "$library"
  echo "$library loads with all symbols resolved"
fi

# Every SealnetPeer member the demo script uses is defined by the node.
node="$here/src/node.rs"
missing=0
for name in $(grep -oE '(peer|SealnetPeer)\.[A-Za-z_]+' "$here/demo/main.gd" | sed 's/^[A-Za-z]*\.//' | sort -u); do
  if ! grep -qE "(fn|const) $name\b" "$node"; then
    echo "demo/main.gd uses SealnetPeer.$name, which src/node.rs does not define" >&2
    missing=1
  fi
done
if ((missing)); then
  exit 1
fi
echo "every SealnetPeer member used by demo/main.gd is defined"

if ((lint)); then
  cargo fmt --manifest-path "$manifest" --check
  cargo clippy --manifest-path "$manifest" --target-dir "$target_dir" --all-targets -- -D warnings
fi
