#!/usr/bin/env bash
# Builds the Godot extension and runs its tests. No Godot binary is needed: the tests cover the
# engine-free code (value mapping, codes, the client and the realtime client against an in-process
# server); see README.md.
# Then one all_types sender and one all_types receiver (examples/all_types.rs, the extension's value
# mapping without the engine) exchange every value type through a sealnet-server on loopback, and two
# realtime clients (examples/realtime.rs, the engine-free layer of SealnetRealtimeClient) log in, create,
# join, raise, leave and fail to join through another one.
#
# Usage: bindings/godot/test.sh [--lint]   (--lint also runs rustfmt --check and clippy -D warnings)
# Builds go to target/godot under the repository root (or $CARGO_TARGET_DIR when set). Needs the
# server binary of the root workspace (`cargo build -p sealnet-server`); exits 2 when it is missing.
# Run under `scripts/with-server.sh --backend --allow-anonymous` (as make bindings-test does), the test of
# custom authentication through the backend uses that server and its guest session (it says it was
# skipped otherwise: the other end-to-end tests run their own server in-process), and the all_types
# pair's server is started with the same options (SEALNET_WITH_SERVER_OPTIONS).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target/godot}"
manifest="$here/Cargo.toml"

# Internal: `test.sh --pair EXAMPLE`, run by this script under scripts/with-server.sh, starts a
# receiver, waits for its "joined" line, runs a sender, and checks that the receiver got everything.
if [[ "${1:-}" == --pair ]]; then
  example=$2
  room="godot-pair-$$"
  work="$(mktemp -d)"
  receiver=
  trap '[[ -n "$receiver" ]] && kill "$receiver" 2>/dev/null; rm -rf "$work"' EXIT
  mkfifo "$work/receiver.out"
  "$example" --role receive --room "$room" >"$work/receiver.out" 2>"$work/receiver.err" &
  receiver=$!
  exec {out}<"$work/receiver.out"
  line=
  read -r -t 60 line <&"$out" || true
  if [[ "$line" != joined ]]; then
    echo "all_types: the receiver did not join (said '$line'):" >&2
    cat "$work/receiver.err" >&2
    exit 1
  fi
  if ! "$example" --role send --room "$room" >"$work/sender.out" 2>&1; then
    echo "all_types: the sender failed:" >&2
    cat "$work/sender.out" >&2
    exit 1
  fi
  status=0
  wait "$receiver" || status=$?
  receiver=
  said="$(cat <&"$out")"
  if ((status)); then
    echo "all_types: the receiver failed (exit $status): $said" >&2
    cat "$work/receiver.err" >&2
    exit 1
  fi
  echo "all_types godot -> godot: $said"
  exit 0
fi

lint=0
case "${1:-}" in
  "") ;;
  --lint) lint=1 ;;
  *) echo "usage: $0 [--lint]" >&2; exit 2 ;;
esac

# The same binary scripts/with-server.sh runs.
server_bin="${SEALNET_SERVER_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-server}"
if [[ ! -x "$server_bin" ]]; then
  echo "godot: ${server_bin#"$root"/} is missing: run \`cargo build -p sealnet-server\` in the repository root first" >&2
  exit 2
fi

cargo build --manifest-path "$manifest" --target-dir "$target_dir"
cargo test --manifest-path "$manifest" --target-dir "$target_dir"
cargo build --manifest-path "$manifest" --target-dir "$target_dir" --example all_types --example realtime

# The library exports the entry point sealnet.gdextension names and loads with every symbol resolved
# (check-library.sh, which addon-test.sh runs on the packaged addon too; Linux libraries only).
if [[ "$(uname -s)" == Linux ]]; then
  bash "$here/check-library.sh" "$target_dir/debug/libsealnet_godot.so"
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

# One Godot-mapping sender and one Godot-mapping receiver; tests/cross/run.sh pairs this program with
# the other bindings' ones.
read -r -a server_options <<<"${SEALNET_WITH_SERVER_OPTIONS:-}"
"$root/scripts/with-server.sh" "${server_options[@]}" -- "$here/test.sh" --pair "$target_dir/debug/examples/all_types"

# The realtime client against a server of role "all" (its own master), pinning its key.
"$root/scripts/with-server.sh" "${server_options[@]}" -- "$target_dir/debug/examples/realtime"

if ((lint)); then
  cargo fmt --manifest-path "$manifest" --check
  cargo clippy --manifest-path "$manifest" --target-dir "$target_dir" --all-targets -- -D warnings
fi
