#!/usr/bin/env bash
# Records loopback traffic while the demo runs and checks that no encrypted message appears in the
# clear, while the plain ones do (which proves the capture saw the traffic). Needs root for tcpdump.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/ensure-tool.sh" tcpdump tcpdump
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tcpdump -i lo --immediate-mode -U -w "$work/demo.pcap" "tcp or udp" >/dev/null 2>"$work/tcpdump.log" &
capture=$!
# tcpdump reports on stderr once it listens; wait for that instead of guessing a delay.
for _ in $(seq 1 100); do grep -q "listening on" "$work/tcpdump.log" && break; sleep 0.05; done
"$root/scripts/with-server.sh" --backend -- "$root/examples/demo/run.sh" > "$work/demo.out"
sleep 1
kill -INT "$capture"
wait "$capture" || true
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
echo "capture: $packets packets on loopback"
exit $status
