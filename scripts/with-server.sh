#!/usr/bin/env bash
# Runs a command against a fresh sealnet-server on loopback, then stops the server.
#
#   scripts/with-server.sh [--app-id ID]... -- COMMAND [ARGS...]
#
# The command sees SEALNET_SERVER_ADDR (host:port) and SEALNET_SERVER_KEY (hex public key, for pinning).
# Its exit status is returned. The server binary defaults to debug/sealnet-server in cargo's target
# directory (override with SEALNET_SERVER_BIN); its log goes to SEALNET_SERVER_LOG if set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
server=${SEALNET_SERVER_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-server}
app_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --app-id) app_args+=(--app-id "$2"); shift 2 ;;
    *) echo "with-server: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "with-server: no command given" >&2; exit 2; }
[ ${#app_args[@]} -gt 0 ] || app_args=(--app-id demo)
[ -x "$server" ] || { echo "with-server: $server not built (run cargo build -p sealnet-server)" >&2; exit 2; }

work=$(mktemp -d)
log=${SEALNET_SERVER_LOG:-$work/server.log}
coproc SERVER { exec "$server" --listen 127.0.0.1:0 --key-file "$work/server.key" "${app_args[@]}" 2>"$log"; }
server_pid=$SERVER_PID
cleanup() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The server prints its address and key as its first two lines; reading them waits for start-up.
read -r -t 30 listening <&"${SERVER[0]}" || { echo "with-server: server did not start; log:" >&2; cat "$log" >&2; exit 1; }
read -r -t 30 key_line <&"${SERVER[0]}" || { echo "with-server: no key line" >&2; exit 1; }
export SEALNET_SERVER_ADDR=${listening#sealnet-server listening on }
export SEALNET_SERVER_KEY=${key_line#sealnet-server public key: }

set +e
"$@"
status=$?
set -e
exit $status
