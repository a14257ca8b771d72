#!/usr/bin/env bash
# Every binding's all_types program sends the 21 values of every type to the three others through
# one sealnet-server on loopback, and each receiver checks them (tests/cross/README.md): every ordered
# pair of C, C++, C# and Godot is covered.
#
#   tests/cross/run.sh
#
# The programs are built by `make examples` (C) and the bindings' test.sh scripts; exits 2 naming any
# that is missing. Prints one line per pair and exits non-zero when any pair fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${SEALNET_SERVER_ADDR:-}" ]; then
  exec "$root/scripts/with-server.sh" -- "$0" "$@"
fi
target=$("$root/scripts/target-dir.sh")
godot_target=${CARGO_TARGET_DIR:-$root/target/godot}
export LD_LIBRARY_PATH=$target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# CROSS_BINDINGS="c csharp" runs a subset.
read -r -a bindings <<<"${CROSS_BINDINGS:-c cpp csharp godot}"
pairs=$((${#bindings[@]} * (${#bindings[@]} - 1)))
declare -A artifact command
artifact[c]=$target/c/all_types
artifact[cpp]=$target/cpp/all_types
artifact[csharp]=$target/csharp/AllTypes.exe
artifact[godot]=$godot_target/debug/examples/all_types
command[c]=${artifact[c]}
command[cpp]=${artifact[cpp]}
command[csharp]="mono --debug ${artifact[csharp]}"
command[godot]=${artifact[godot]}
missing=0
for binding in "${bindings[@]}"; do
  if [ ! -e "${artifact[$binding]}" ]; then
    echo "cross: ${artifact[$binding]#"$root"/} is missing (run make examples and the bindings' test.sh)" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 2

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
for sender in "${bindings[@]}"; do
  room=cross-$sender
  receivers=()
  declare -A fd_of=() pid_of=()
  for receiver in "${bindings[@]}"; do
    [ "$receiver" = "$sender" ] && continue
    receivers+=("$receiver")
    fifo=$work/$sender-$receiver.out
    mkfifo "$fifo"
    # shellcheck disable=SC2086 # the command of a binding is a word list
    ${command[$receiver]} --role receive --room "$room" >"$fifo" 2>"$work/$sender-$receiver.err" &
    pid_of[$receiver]=$!
    pids+=("$!")
    exec {fd}<"$fifo"
    fd_of[$receiver]=$fd
  done
  # Each receiver says "joined" once it is in the room; only then may the sender raise the event.
  ready=1
  for receiver in "${receivers[@]}"; do
    line=
    read -r -t 60 line <&"${fd_of[$receiver]}" || true
    if [ "$line" != joined ]; then
      echo "cross: $receiver receiver did not join (said '${line}'):" >&2
      cat "$work/$sender-$receiver.err" >&2
      ready=0
    fi
  done
  sender_ok=0
  if [ "$ready" -eq 1 ]; then
    # shellcheck disable=SC2086
    if ${command[$sender]} --role send --room "$room" >"$work/$sender.out" 2>&1; then
      sender_ok=1
    else
      echo "cross: $sender sender failed:" >&2
      cat "$work/$sender.out" >&2
    fi
  fi
  for receiver in "${receivers[@]}"; do
    status=0
    if [ "$sender_ok" -eq 1 ]; then
      wait "${pid_of[$receiver]}" || status=$?
    else
      kill "${pid_of[$receiver]}" 2>/dev/null || true
      wait "${pid_of[$receiver]}" 2>/dev/null || true
      status=1
    fi
    fd=${fd_of[$receiver]}
    said=$(cat <&"$fd")
    exec {fd}<&-
    if [ "$status" -eq 0 ]; then
      echo "cross: $sender -> $receiver: $said"
    else
      echo "cross: $sender -> $receiver FAILED (exit $status): $said" >&2
      cat "$work/$sender-$receiver.err" >&2
      failures=$((failures + 1))
    fi
  done
  unset fd_of pid_of
done
if [ "$failures" -gt 0 ]; then
  echo "cross: $failures of $pairs pairs failed" >&2
  exit 1
fi
echo "cross: all $pairs pairs passed"
