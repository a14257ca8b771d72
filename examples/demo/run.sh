#!/usr/bin/env bash
# The scripted conversation of `make demo`; run through scripts/with-server.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
chat=${CHAT_BIN:-$("$here/../../scripts/target-dir.sh")/c/chat}

echo
echo "sealnet-server is listening on $SEALNET_SERVER_ADDR"
echo "Its public key (clients may pin it): $SEALNET_SERVER_KEY"
echo
echo "== Alice (pins the server key) and Bob join the room \"lobby\" and talk. =="
echo "   Messages marked [encrypted] travel as AES-256-GCM ciphertext; [plain] ones are readable on the"
echo "   wire but authenticated, so nobody on the path can forge or alter them."
echo
"$chat" --server "$SEALNET_SERVER_ADDR" --pin "$SEALNET_SERVER_KEY" --name alice --room lobby \
  --script "$here/alice.txt" &
alice=$!
bob_status=0
"$chat" --server "$SEALNET_SERVER_ADDR" --name bob --room lobby --script "$here/bob.txt" || bob_status=$?
alice_status=0
wait "$alice" || alice_status=$?
echo
echo "== Mallory connects without running the key exchange. =="
echo "   sealnet refuses to send her Authenticate operation or an encrypted message in the clear."
echo
mallory_status=0
"$chat" --server "$SEALNET_SERVER_ADDR" --no-encryption --name mallory --room side-room \
  --script "$here/mallory.txt" || mallory_status=$?
echo
if [ "$alice_status$bob_status$mallory_status" = "000" ]; then
  echo "Demo finished: every client exited cleanly."
else
  echo "Demo failed: alice=$alice_status bob=$bob_status mallory=$mallory_status" >&2
  exit 1
fi
