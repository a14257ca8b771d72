#!/usr/bin/env bash
# Runs a command against a fresh sealnet-server on loopback, then stops the server.
#
#   scripts/with-server.sh [--app-id ID]... [--backend] -- COMMAND [ARGS...]
#
# The command sees SEALNET_SERVER_ADDR (host:port) and SEALNET_SERVER_KEY (hex public key, for pinning).
# With --backend, a sealnet-backend (SQLite, in the same temporary directory) is started first and the
# server authenticates players through its webhook, admitting no anonymous players; the command also
# sees SEALNET_BACKEND_ADDR (host:port), SEALNET_BACKEND_PID, and SEALNET_BACKEND_DB (for the
# backend's admin commands).
# Its exit status is returned. The server binary defaults to debug/sealnet-server in cargo's target
# directory (override with SEALNET_SERVER_BIN); its log goes to SEALNET_SERVER_LOG if set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
server=${SEALNET_SERVER_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-server}
backend_bin=${SEALNET_BACKEND_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-backend}
app_args=()
with_backend=no
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --app-id) app_args+=(--app-id "$2"); shift 2 ;;
    --backend) with_backend=yes; shift ;;
    *) echo "with-server: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "with-server: no command given" >&2; exit 2; }
[ ${#app_args[@]} -gt 0 ] || app_args=(--app-id demo)
[ -x "$server" ] || { echo "with-server: $server not built (run cargo build -p sealnet-server)" >&2; exit 2; }

work=$(mktemp -d)
log=${SEALNET_SERVER_LOG:-$work/server.log}
backend_pid=""
server_pid=""
cleanup() {
  for pid in $server_pid $backend_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

config_args=()
if [ "$with_backend" = yes ]; then
  [ -x "$backend_bin" ] || { echo "with-server: $backend_bin not built (run cargo build -p sealnet-backend)" >&2; exit 2; }
  "$backend_bin" gen-secret "$work/webhook.secret" >/dev/null
  export SEALNET_BACKEND_DB=$work/backend.db
  # Its first line names the address; a FIFO lets the read wait for it (one coprocess is the server's).
  mkfifo "$work/backend.out"
  "$backend_bin" serve --listen 127.0.0.1:0 --secret-file "$work/webhook.secret" \
    --database-url "$SEALNET_BACKEND_DB" >"$work/backend.out" 2>"$work/backend.log" &
  backend_pid=$!
  exec {backend_out}<"$work/backend.out"
  read -r -t 30 backend_line <&"$backend_out" || { echo "with-server: backend did not start; log:" >&2; cat "$work/backend.log" >&2; exit 1; }
  export SEALNET_BACKEND_ADDR=${backend_line#listening on }
  export SEALNET_BACKEND_PID=$backend_pid
  printf '[auth]\nallow_anonymous = false\n[auth.webhook]\nurl = "http://%s/auth"\nsecret_file = "%s"\n' \
    "$SEALNET_BACKEND_ADDR" "$work/webhook.secret" >"$work/server.toml"
  config_args=(--config "$work/server.toml")
fi
coproc SERVER { exec "$server" "${config_args[@]}" --listen 127.0.0.1:0 --key-file "$work/server.key" "${app_args[@]}" 2>"$log"; }
server_pid=$SERVER_PID

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
