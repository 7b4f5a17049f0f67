#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's `postgresql` package) as its own process for the
# storage tests: initdb in a temp dir, pg_ctl on a free loopback port, run as the
# `postgres` user, trust authentication on 127.0.0.1 only. Prints the line to export:
#   eval "$(scripts/pg-test.sh)"      # sets LILT_TEST_POSTGRES and LILT_TEST_POSTGRES_DIR
#   scripts/pg-test.sh stop DIR       # stops it and removes DIR
set -euo pipefail

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [[ -z "$bin" ]]; then
  echo "PostgreSQL is not installed: apt-get install postgresql" >&2
  exit 1
fi
as_pg() {
  if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

if [[ "${1:-}" == stop ]]; then
  dir="${2:?usage: pg-test.sh stop DIR}"
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir="$(mktemp -d /tmp/lilt-pg.XXXXXX)"
chown postgres: "$dir" 2>/dev/null || true
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=on" start >/dev/null
echo "export LILT_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$port/postgres LILT_TEST_POSTGRES_DIR=$dir"
