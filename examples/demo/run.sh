#!/usr/bin/env bash
# The scripted story of `make demo`; run through `scripts/with-server.sh --backend`, so a
# sealnet-backend is up and the server admits only players its webhook vouches for.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
target=$("$root/scripts/target-dir.sh")
chat=${CHAT_BIN:-$target/c/chat}
backend=${SEALNET_BACKEND_BIN:-$target/debug/sealnet-backend}
"$root/scripts/ensure-tool.sh" curl curl
"$root/scripts/ensure-tool.sh" basenc coreutils

api() { # api PATH JSON: POSTs to the backend's login API, prints the reply
  curl -sS --fail-with-body -H 'Content-Type: application/json' -d "$2" "http://$SEALNET_BACKEND_ADDR$1"
}
field() { # field NAME: a string or number field of the JSON on stdin
  sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"
}
hex() { od -An -v -tx1 | tr -d ' \n'; }
# The connection token a game builds: the 16 bytes of the session id, then its own flags.
token_for() { # token_for SESSION FLAGS
  { printf '%s==' "$1" | basenc --base64url -d; printf '%s' "$2"; } | hex
}
session_of() { field session; }
# The players connect over UDP (the server takes UDP and TCP on one port number).
udp=${SEALNET_SERVER_UDP_ADDR:-$SEALNET_SERVER_ADDR}

echo
echo "sealnet-server is listening on $SEALNET_SERVER_ADDR (TCP) and ${SEALNET_SERVER_UDP_ADDR:-nowhere} (UDP), and"
echo "admits only authenticated players. The players connect over UDP, as Photon's SDKs do."
echo "Its public key (clients may pin it): $SEALNET_SERVER_KEY"
echo "sealnet-backend (logins, sessions, the signed webhook) is listening on $SEALNET_BACKEND_ADDR."
echo
echo "== Alice registers and logs in with a password; Bob plays as a guest. =="
api /register '{"username":"alice","password":"correct horse battery","display_name":"Alice"}' >/dev/null
alice_session=$(api /login '{"username":"alice","password":"correct horse battery","region":"eu"}' | session_of)
bob_session=$(api /guest '{"device_id":"bob-phone-0001","display_name":"Bob"}' | session_of)
echo "   Each login returns a session id (alice: ${alice_session:0:6}..., bob: ${bob_session:0:6}...)."
echo "   Their games build a connection token from it (16 bytes plus a few flags), connect, and the"
echo "   peer authenticates by itself right after the key exchange, always encrypted. The server asks the"
echo "   backend (a signed webhook call) and answers with a user id, a nickname and a server token."
echo "   Messages marked [encrypted] travel as AES-256-GCM ciphertext; [plain] ones are readable on the"
echo "   wire but authenticated, so nobody on the path can forge or alter them."
echo
"$chat" --server "$udp" --pin "$SEALNET_SERVER_KEY" --name alice --room lobby \
  --connection-token "$(token_for "$alice_session" ';mode=duel;lobby=7')" --script "$here/alice.txt" &
alice=$!
bob_status=0
"$chat" --server "$udp" --name bob --room lobby \
  --connection-token "$(token_for "$bob_session" ';mode=duel;lobby=7')" --script "$here/bob.txt" || bob_status=$?
alice_status=0
wait "$alice" || alice_status=$?

expect_exit() { # expect_exit CODE WHO: the status of the last chat must be CODE
  if [ "$last" -ne "$1" ]; then
    echo "Demo failed: $2 exited with $last, expected $1" >&2
    exit 1
  fi
}

echo
echo "== Carol's session has ended (she logged out elsewhere): the backend's message reaches her. =="
echo
carol_session=$(api /guest '{"device_id":"carol-tablet-0001","display_name":"Carol"}' | session_of)
curl -sS -o /dev/null -H 'Content-Type: application/json' -d "{\"session\":\"$carol_session\"}" \
  "http://$SEALNET_BACKEND_ADDR/logout"
last=0
"$chat" --server "$udp" --name carol --connection-token "$(token_for "$carol_session" '')" \
  </dev/null || last=$?
expect_exit 4 carol

echo
echo "== Dave is banned (an operator ran: sealnet-backend ban PLAYER --reason ...). He gets a generic =="
echo "   message; the reason stays in the backend's log."
echo
dave=$(api /guest '{"device_id":"dave-pc-0000001","display_name":"Dave"}')
"$backend" --database-url "$SEALNET_BACKEND_DB" ban "$(printf '%s' "$dave" | field player_id)" \
  --reason "aimbot in match 42" >/dev/null
last=0
"$chat" --server "$udp" --name dave --connection-token "$(token_for "$(printf '%s' "$dave" | session_of)" '')" \
  </dev/null || last=$?
expect_exit 4 dave

echo
echo "== Erin's game puts too much into its connection token (129 bytes). The library refuses it =="
echo "   before connecting, with its size and the limit; it never truncates it."
echo
last=0
"$chat" --server "$udp" --name erin --connection-token "$(head -c 129 /dev/zero | hex)" \
  </dev/null || last=$?
expect_exit 3 erin

echo
echo "== Mallory connects over TCP without running the key exchange (over UDP every connection runs it). =="
echo "   The server lets nobody in who has not authenticated, and sealnet would never send her"
echo "   Authenticate in the clear."
echo
last=0
"$chat" --server "$SEALNET_SERVER_ADDR" --transport tcp --no-encryption --name mallory --room side-room \
  --script "$here/mallory.txt" || last=$?
expect_exit 1 mallory

echo
echo "== The backend goes down. Frank, who logged in just before, is told to try again: a failure of =="
echo "   the service, not a rejection of the player."
echo
frank_session=$(api /guest '{"device_id":"frank-console-01","display_name":"Frank"}' | session_of)
kill -TERM "$SEALNET_BACKEND_PID"
wait "$SEALNET_BACKEND_PID" 2>/dev/null || true
last=0
"$chat" --server "$udp" --name frank --connection-token "$(token_for "$frank_session" '')" \
  </dev/null || last=$?
expect_exit 4 frank

echo
if [ "$alice_status$bob_status" = "00" ]; then
  echo "Demo finished: every client did what it should."
else
  echo "Demo failed: alice=$alice_status bob=$bob_status" >&2
  exit 1
fi
