#!/usr/bin/env bash
# Runs a command against a throwaway Redis server on loopback, then stops it and removes its files.
#
#   scripts/redis.sh [--] COMMAND [ARGS...]
#
# The command sees REDIS_URL (redis://127.0.0.1:PORT/) and REDIS_PORT: an empty server of its own on a
# private port, its working directory a temporary one, with no persistence (no snapshots, no
# append-only file: it is deleted afterwards, and a test run wants nothing kept). Redis is installed
# with apt-get when missing. The command's exit status is returned; the server is stopped and its
# directory removed also when the command fails.
set -euo pipefail
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "redis.sh: no command given" >&2; exit 2; }

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis.sh: installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y -q redis-server >/dev/null 2>&1 || {
    $sudo_cmd apt-get update -q >/dev/null
    $sudo_cmd apt-get install -y -q redis-server >/dev/null
  }
  command -v redis-server >/dev/null 2>&1 || { echo "redis.sh: redis-server not found after installing it" >&2; exit 1; }
fi

work=$(mktemp -d -t sealnet-redis.XXXXXX)
chmod 700 "$work"

pid=""
cleanup() {
  status=$?
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Whether the server answers on the port: up to 10 s, and not once it has exited (a port taken in
# between makes it exit at once).
wait_ready() {
  local tries
  for tries in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ] && return 0
    sleep 0.1
  done
  return 1
}

# A free port: a random one nothing answers on; if the server still cannot bind it (taken in
# between), another.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=""
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  redis-server --bind 127.0.0.1 --port "$port" --dir "$work" --save '' --appendonly no \
    --daemonize no --logfile "$work/server.log" &
  pid=$!
  if wait_ready "$port"; then
    started=yes
    break
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
[ -n "$started" ] || { echo "redis.sh: the server did not start; log:" >&2; cat "$work/server.log" >&2 2>/dev/null; exit 1; }

export REDIS_URL="redis://127.0.0.1:$port/"
export REDIS_PORT="$port"
echo "redis.sh: Redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port"

set +e
"$@"
status=$?
set -e
exit $status
