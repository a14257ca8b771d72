#!/usr/bin/env bash
# The browser client's tests (bindings/web/README.md): the unit tests under Node, then a real browser
# against the real server. Run it inside a server:
#
#   scripts/with-server.sh --backend --allow-anonymous -- scripts/web-test.sh
#
# It installs what is missing (Debian's Chromium; the npm packages of bindings/web from its lock file),
# compiles the library and the tests with tsc, runs the unit tests (node --test), builds the native C
# player against the library in cargo's target directory (`make build` first), and runs the browser
# test (bindings/web/test/browser.test.mjs), which needs the server's WSS listener
# (SEALNET_SERVER_WSS_URL). With --unit it stops after the unit tests and needs no server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
web=$root/bindings/web
unit_only=no
[ "${1:-}" = "--unit" ] && unit_only=yes

"$root/scripts/ensure-tool.sh" node nodejs
"$root/scripts/ensure-tool.sh" npm npm

cd "$web"
# The lock file decides every version; npm's cache serves what it already has, so a machine that
# installed once needs the registry no more.
npm ci --prefer-offline --no-audit --no-fund
# The library alone, with the DOM's types and none of Node's, so it cannot lean on Node by accident;
# then everything, the tests included.
rm -rf dist
npx tsc -p tsconfig.lib.json --noEmit
npx tsc -p tsconfig.json
node --test dist/test/*.test.js
[ "$unit_only" = yes ] && exit 0

# The native player, built as the C tests are (Makefile C_STRICT), against the library `make build`
# made.
target=$("$root/scripts/target-dir.sh")
debug=$target/debug
[ -f "$debug/libsealnet.so" ] || { echo "web-test: $debug/libsealnet.so not built (run make build)" >&2; exit 2; }
ln -sf libsealnet.so "$debug/$("$root/scripts/soname.sh")"
mkdir -p "$target/web"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -I"$root/include" -I"$root/tests/c" \
  "$web/test/native_player.c" "$root/tests/c/all_types_data.c" \
  -L"$debug" -lsealnet -Wl,-rpath,"$debug" -pthread -o "$target/web/native_player"

# Debian's Chromium: apt-get update only when the package lists do not have it yet.
"$root/scripts/ensure-tool.sh" chromium chromium
export CHROMIUM
CHROMIUM=$(command -v chromium)
export SEALNET_WEB_NATIVE_PLAYER=$target/web/native_player
node --test test/browser.test.mjs
