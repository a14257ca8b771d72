#!/usr/bin/env bash
# Runs a command against a fresh sealnet-server on loopback, then stops the server.
#
#   scripts/with-server.sh [--app-id ID]... [--backend [--allow-anonymous]] -- COMMAND [ARGS...]
#
# The command sees SEALNET_SERVER_ADDR (host:port), SEALNET_SERVER_KEY (hex public key, for pinning),
# SEALNET_SERVER_UDP_ADDR (host:port of UDP), SEALNET_SERVER_WSS_URL (wss://host:port/, what browsers and
# WSS peers connect to) and SEALNET_SERVER_WSS_FINGERPRINT (64 hex digits: the SHA-256 of the server's
# self-signed development certificate, for pinning it).
# With --backend, a sealnet-backend (SQLite, in the same temporary directory) is started first and the
# server authenticates players through its webhook, admitting no anonymous players unless
# --allow-anonymous is given too (so that tests of anonymous players run against the same server; the
# server without --backend always admits them). The command also sees SEALNET_BACKEND_ADDR (host:port),
# SEALNET_BACKEND_PID, SEALNET_BACKEND_DB (for the backend's admin commands), and a guest logged in
# through the backend's API: SEALNET_TEST_CONNECTION_TOKEN (hex: the session's 16 bytes, then a few
# flags, as a game builds it) and SEALNET_TEST_NICKNAME (the display name the guest was given).
# SEALNET_WITH_SERVER_OPTIONS holds this script's options (a word list), so a command that starts
# servers of its own through this script can start them alike.
# Its exit status is returned. The server binary defaults to debug/sealnet-server in cargo's target
# directory (override with SEALNET_SERVER_BIN); its log goes to SEALNET_SERVER_LOG if set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
server=${SEALNET_SERVER_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-server}
backend_bin=${SEALNET_BACKEND_BIN:-$("$root/scripts/target-dir.sh")/debug/sealnet-backend}
app_args=()
with_backend=no
allow_anonymous=false
options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --app-id) app_args+=(--app-id "$2"); options+=(--app-id "$2"); shift 2 ;;
    --backend) with_backend=yes; options+=("$1"); shift ;;
    --allow-anonymous) allow_anonymous=true; options+=("$1"); shift ;;
    *) echo "with-server: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "with-server: no command given" >&2; exit 2; }
[ ${#app_args[@]} -gt 0 ] || app_args=(--app-id demo)
[ -x "$server" ] || { echo "with-server: $server not built (run cargo build -p sealnet-server)" >&2; exit 2; }
export SEALNET_WITH_SERVER_OPTIONS="${options[*]}"
# Run inside another run of this script, the command must not see the outer backend and its guest
# when this server has no backend.
unset SEALNET_BACKEND_ADDR SEALNET_BACKEND_PID SEALNET_BACKEND_DB SEALNET_TEST_CONNECTION_TOKEN SEALNET_TEST_NICKNAME

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

# The server stops at once when the command is done (no drain: nobody is playing on it any more).
printf 'drain_timeout_ms = 0\n' >"$work/server.toml"
config_args=(--config "$work/server.toml")
if [ "$with_backend" = yes ]; then
  [ -x "$backend_bin" ] || { echo "with-server: $backend_bin not built (run cargo build -p sealnet-backend)" >&2; exit 2; }
  "$backend_bin" gen-secret "$work/webhook.secret" >/dev/null
  export SEALNET_BACKEND_DB=$work/backend.db
  # Its first line names the address; a FIFO lets the read wait for it (one coprocess is the server's).
  mkfifo "$work/backend.out"
  # The longest session a backend allows: a test suite that builds before it connects (a cold Godot
  # build, say) still finds its guest's session valid.
  "$backend_bin" serve --listen 127.0.0.1:0 --secret-file "$work/webhook.secret" --session-ttl-minutes 60 \
    --database-url "$SEALNET_BACKEND_DB" >"$work/backend.out" 2>"$work/backend.log" &
  backend_pid=$!
  exec {backend_out}<"$work/backend.out"
  read -r -t 30 backend_line <&"$backend_out" || { echo "with-server: backend did not start; log:" >&2; cat "$work/backend.log" >&2; exit 1; }
  export SEALNET_BACKEND_ADDR=${backend_line#listening on }
  export SEALNET_BACKEND_PID=$backend_pid
  printf '[auth]\nallow_anonymous = %s\n[auth.webhook]\nurl = "http://%s/auth"\nsecret_file = "%s"\n' \
    "$allow_anonymous" "$SEALNET_BACKEND_ADDR" "$work/webhook.secret" >>"$work/server.toml"

  # A guest session for the command's tests of custom authentication, made as a game makes one: through
  # the login API. The display name is not the backend's default, so a test that finds it as its
  # nickname knows the webhook looked this session up.
  "$root/scripts/ensure-tool.sh" curl curl >&2
  "$root/scripts/ensure-tool.sh" basenc coreutils >&2
  export SEALNET_TEST_NICKNAME="with-server guest"
  guest=$(curl -sS --fail-with-body -H 'Content-Type: application/json' \
    -d "{\"device_id\":\"with-server-device\",\"display_name\":\"$SEALNET_TEST_NICKNAME\"}" \
    "http://$SEALNET_BACKEND_ADDR/guest") ||
    { echo "with-server: the backend refused the guest login: $guest; log:" >&2; cat "$work/backend.log" >&2; exit 1; }
  session=$(printf '%s' "$guest" | sed -n 's/.*"session": *"\([A-Za-z0-9_-]*\)".*/\1/p')
  [ ${#session} -eq 22 ] || { echo "with-server: no session in the guest login's answer: $guest" >&2; exit 1; }
  # The session id's 16 bytes (22 base64url digits; the padding basenc wants is added), then flags the
  # backend ignores, as examples/demo/run.sh builds its tokens.
  SEALNET_TEST_CONNECTION_TOKEN=$({ printf '%s==' "$session" | basenc --base64url -d; printf ';mode=test'; } |
    od -An -v -tx1 | tr -d ' \n')
  export SEALNET_TEST_CONNECTION_TOKEN
fi
coproc SERVER { exec "$server" "${config_args[@]}" --listen 127.0.0.1:0 --key-file "$work/server.key" "${app_args[@]}" 2>"$log"; }
server_pid=$SERVER_PID

# The server prints its address, key, UDP address and WSS URL as its first four lines; reading them
# waits for start-up.
read -r -t 30 listening <&"${SERVER[0]}" || { echo "with-server: server did not start; log:" >&2; cat "$log" >&2; exit 1; }
read -r -t 30 key_line <&"${SERVER[0]}" || { echo "with-server: no key line" >&2; exit 1; }
read -r -t 30 udp_line <&"${SERVER[0]}" || { echo "with-server: no UDP line" >&2; exit 1; }
read -r -t 30 wss_line <&"${SERVER[0]}" || { echo "with-server: no WSS line" >&2; exit 1; }
export SEALNET_SERVER_ADDR=${listening#sealnet-server listening on }
# Empty when the server's UDP is off.
export SEALNET_SERVER_UDP_ADDR=${udp_line#sealnet-server listening on UDP }
[ "$udp_line" = "sealnet-server UDP off" ] && SEALNET_SERVER_UDP_ADDR=
export SEALNET_SERVER_KEY=${key_line#sealnet-server public key: }
# "sealnet-server listening on WSS wss://127.0.0.1:PORT/ (certificate sha256 HEX, self-signed for
# development)"; both empty when the server's WSS is off, the fingerprint empty for plain ws://.
SEALNET_SERVER_WSS_URL=
SEALNET_SERVER_WSS_FINGERPRINT=
if [[ $wss_line =~ ^sealnet-server\ listening\ on\ WSS\ ([^ ]+)\ \(certificate\ sha256\ ([0-9a-f]{64}) ]]; then
  SEALNET_SERVER_WSS_URL=${BASH_REMATCH[1]}
  SEALNET_SERVER_WSS_FINGERPRINT=${BASH_REMATCH[2]}
elif [[ $wss_line =~ ^sealnet-server\ listening\ on\ WS\ (ws://[^ ]+) ]]; then
  # Plain WebSocket (wss.tls = false): no certificate to pin.
  SEALNET_SERVER_WSS_URL=${BASH_REMATCH[1]}
elif [ "$wss_line" != "sealnet-server WSS off" ]; then
  echo "with-server: unexpected WSS line: $wss_line" >&2; exit 1
fi
export SEALNET_SERVER_WSS_URL SEALNET_SERVER_WSS_FINGERPRINT

set +e
"$@"
status=$?
set -e
exit $status
