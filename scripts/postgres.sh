#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server on loopback, then stops and removes the server.
#
#   scripts/postgres.sh [--] COMMAND [ARGS...]
#
# The command sees DATABASE_URL (postgres://postgres@127.0.0.1:PORT/sealnet), an empty database on a
# cluster of its own in a temporary directory: a private port, its socket in that directory, trust
# authentication for loopback only. The cluster runs with fsync off (it is deleted afterwards, and
# speed is all a test run wants from it). PostgreSQL is installed with apt-get when missing.
# The command's exit status is returned; the server is stopped and removed also when it fails.
set -euo pipefail
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "postgres.sh: no command given" >&2; exit 2; }

# The server's programs: on PATH, or where Debian's packages keep them, off PATH, one directory per
# major version (the newest first).
find_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return 0
  fi
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { printf '%s\n' "$dir"; return 0; }
  done
  return 1
}

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! bindir=$(find_bindir); then
  echo "postgres.sh: installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y -q postgresql >/dev/null 2>&1 || {
    $sudo_cmd apt-get update -q >/dev/null
    $sudo_cmd apt-get install -y -q postgresql >/dev/null
  }
  bindir=$(find_bindir) || { echo "postgres.sh: initdb not found after installing postgresql" >&2; exit 1; }
fi

work=$(mktemp -d -t sealnet-postgres.XXXXXX)
# initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user
# (created by the package) and its programs run as that user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root but there is no postgres user" >&2; exit 1; }
  chown postgres: "$work"
  as_owner=(runuser -u postgres --)
fi
chmod 700 "$work"

started=""
cleanup() {
  status=$?
  if [ -n "$started" ]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_owner[@]}" "$bindir/initdb" -D "$work/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
  >"$work/initdb.log" 2>&1 || { echo "postgres.sh: initdb failed:" >&2; cat "$work/initdb.log" >&2; exit 1; }

# A free port: a random one nothing answers on; if the server still cannot bind it (taken in
# between), another.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  if "${as_owner[@]}" "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
    start >/dev/null 2>&1; then
    started=yes
    break
  fi
done
[ -n "$started" ] || { echo "postgres.sh: the server did not start; log:" >&2; cat "$work/server.log" >&2; exit 1; }

"${as_owner[@]}" "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE DATABASE sealnet" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$port/sealnet"
echo "postgres.sh: PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port"

set +e
"$@"
status=$?
set -e
exit $status
