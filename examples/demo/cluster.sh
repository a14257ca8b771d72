#!/usr/bin/env bash
# The story of `make demo-cluster`; run through `scripts/redis.sh`, so REDIS_URL names a throwaway
# Redis. Starts a master and two game servers that share it, then two players who log in at the
# master, are sent to the game server of their room, talk, and go back to the master.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
target=$("$root/scripts/target-dir.sh")
server=${SEALNET_SERVER_BIN:-$target/debug/sealnet-server}
player=${SEALNET_REALTIME_BIN:-$target/debug/examples/realtime}
: "${REDIS_URL:?run through scripts/redis.sh}"

work=$(mktemp -d -t sealnet-cluster.XXXXXX)
pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

# start NAME ROLE: starts a server of the deployment; sets ADDR and KEY from its startup lines.
start() {
  local out=$work/$1.out
  SEALNET_CONFIG_CLUSTER__REDIS_URL=$REDIS_URL \
  SEALNET_CONFIG_CLUSTER__SERVER_ID=$1 \
  SEALNET_CONFIG_CLUSTER__HEARTBEAT_MS=200 \
  SEALNET_CONFIG_AUTH__TOKEN_KEYS="[{ id = 1, file = \"$work/token.key\" }]" \
  RUST_LOG=warn \
    "$server" --role "$2" --listen 127.0.0.1:0 --key-file "$work/$1.key" >"$out" 2>"$work/$1.log" &
  pids+=($!)
  local tries
  for tries in $(seq 200); do
    [ "$(wc -l <"$out")" -ge 2 ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "demo-cluster: $1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1; }
    sleep 0.05
  done
  # The TCP address (the later lines name the UDP and WSS ones).
  ADDR=$(sed -n '/^sealnet-server listening on [A-Z]* /!s/^sealnet-server listening on //p' "$out")
  KEY=$(sed -n 's/^sealnet-server public key: //p' "$out")
  [ -n "$ADDR" ] && [ -n "$KEY" ] || { echo "demo-cluster: $1 printed no address" >&2; exit 1; }
}

start master master
master_addr=$ADDR master_key=$KEY
start game-1 game
echo "game-1 hosts rooms on $ADDR, key ${KEY:0:8}..."
start game-2 game
echo "game-2 hosts rooms on $ADDR, key ${KEY:0:8}..."
echo "The master listens on $master_addr, key ${master_key:0:8}...; the players pin only that key."
echo "The game servers register with Redis ($REDIS_URL) every 200 ms; the master reads it."
# The master can place a room once a game server has registered: wait for both.
for tries in $(seq 200); do
  [ "$(redis-cli -u "$REDIS_URL" zcard sealnet:servers)" -ge 2 ] && break
  sleep 0.05
done

echo
echo "== Alice and Bob log in at the master and ask for room 'arena'. The master places it on the"
echo "   least loaded game server and answers, encrypted, with its address, its public key and a fresh"
echo "   token; each player switches there by itself, pinning that key, and joins with the token. =="
echo
"$player" --master "$master_addr" --pin "$master_key" --name alice --room arena --say "hi Bob, alice here" &
alice=$!
bob_status=0
"$player" --master "$master_addr" --pin "$master_key" --name bob --room arena --say "hello Alice" || bob_status=$?
alice_status=0
wait "$alice" || alice_status=$?
if [ "$alice_status" -ne 0 ] || [ "$bob_status" -ne 0 ]; then
  echo "Demo failed: alice exited with $alice_status, bob with $bob_status" >&2
  exit 1
fi
echo
echo "Both players were sent to the same game server, talked encrypted, and went back to the master"
echo "with the token the game server refreshed."
