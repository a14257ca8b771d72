#!/usr/bin/env bash
# Records loopback traffic while the demo runs and checks that no encrypted message appears in the
# clear, while the plain ones do (which proves the capture saw the traffic). Then a WSS session (two
# players over TLS, one event sent without Encrypt and one with) is recorded too, and nothing of it
# may show: TLS covers everything over WSS, the upgrade request and the plain event included; its
# packets must be in the capture all the same. Needs root for tcpdump.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/ensure-tool.sh" tcpdump tcpdump
work=$(mktemp -d)
capture=""
# A step that fails must not leave tcpdump recording.
trap '[ -n "$capture" ] && kill -INT "$capture" 2>/dev/null; rm -rf "$work"' EXIT
# The WSS players are server/tests/wss.rs' capture session, built before anything is recorded, in the
# target directory the scripts use.
target=$("$root/scripts/target-dir.sh")
wss_session=(env CARGO_TARGET_DIR="$target" cargo test -q -p sealnet-server --test wss --
  --ignored --exact a_wss_session_for_the_loopback_capture)
CARGO_TARGET_DIR="$target" cargo build -q -p sealnet-server
CARGO_TARGET_DIR="$target" cargo test -q -p sealnet-server --test wss --no-run 2>"$work/build.log" ||
  { cat "$work/build.log" >&2; exit 1; }
tcpdump -i lo --immediate-mode -U -w "$work/demo.pcap" "tcp or udp" >/dev/null 2>"$work/tcpdump.log" &
capture=$!
# tcpdump reports on stderr once it listens; wait for that instead of guessing a delay.
for _ in $(seq 1 100); do grep -q "listening on" "$work/tcpdump.log" && break; sleep 0.05; done
"$root/scripts/with-server.sh" --backend -- "$root/examples/demo/run.sh" > "$work/demo.out"
# The URL is kept (its port picks the WSS packets out of the capture).
"$root/scripts/with-server.sh" -- bash -c 'printf "%s\n" "$SEALNET_SERVER_WSS_URL" >"$1"; shift; exec "$@"' \
  wss "$work/wss.url" "${wss_session[@]}" >"$work/wss.out" 2>&1 ||
  { echo "the WSS capture session failed:" >&2; cat "$work/wss.out" >&2; exit 1; }
sleep 1
kill -INT "$capture"
wait "$capture" || true
capture=""
packets=$(tcpdump -r "$work/demo.pcap" 2>/dev/null | wc -l)
status=0
for secret in "Meet at the north gate at dawn." "Copy that. Bringing the map." "alice-session-7f3a"; do
  if grep -aqF "$secret" "$work/demo.pcap"; then
    echo "LEAK: encrypted message found in the clear: $secret"; status=1
  else
    echo "ok: encrypted message absent from the capture: $secret"
  fi
done
for public in "good luck everyone" "see you there"; do
  if grep -aqF "$public" "$work/demo.pcap"; then
    echo "ok: plain message visible in the capture (as intended): $public"
  else
    echo "capture incomplete: plain message not found: $public"; status=1
  fi
done
wss_port=$(sed -n 's|^wss://.*:\([0-9]*\)/.*|\1|p' "$work/wss.url")
wss_packets=$(tcpdump -r "$work/demo.pcap" "tcp port $wss_port" 2>/dev/null | wc -l)
if [ "$wss_packets" -lt 10 ]; then
  echo "capture incomplete: only $wss_packets packets of the WSS session (port $wss_port)"; status=1
fi
for marker in "wss marker sent without Encrypt" "wss marker sent with Encrypt" "capture-room-over-wss" \
  "Upgrade: websocket" "Sec-WebSocket-Key"; do
  if grep -aqiF "$marker" "$work/demo.pcap"; then
    echo "LEAK: WSS plaintext found in the capture: $marker"; status=1
  else
    echo "ok: WSS plaintext absent from the capture (TLS covers it): $marker"
  fi
done
echo "capture: $packets packets on loopback, $wss_packets of them the WSS session's"
exit $status
