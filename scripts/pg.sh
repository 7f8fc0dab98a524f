#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and benchmarks.
#   scripts/pg.sh start DIR [--fsync-off]  → prints the postgres:// URL on stdout
#   scripts/pg.sh stop DIR
#   scripts/pg.sh crash DIR    → pg_ctl stop -m immediate (no shutdown checkpoint: crash recovery at the next start)
#   scripts/pg.sh restart DIR  → start the stopped cluster again on its port, with its options
# DIR is created by start and removed by stop. Needs the postgresql server
# binaries (Debian: apt-get install -y postgresql) and, as root, the postgres user.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
asuser() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  PGBIN=$(pgbin)
  [ -n "$PGBIN" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2; exit 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
         go run "$(dirname "$0")/freeport.go")
  extra=""
  [ "${3:-}" = "--fsync-off" ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  asuser "$PGBIN/initdb" -D "$dir/pg" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  echo "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $extra" >"$dir/opts"
  asuser "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/log" -w start -o "$(cat "$dir/opts")" >/dev/null ||
    { cat "$dir/log" >&2; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  PGBIN=$(pgbin)
  if [ -n "$PGBIN" ] && [ -d "$dir/pg" ]; then
    asuser "$PGBIN/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
crash)
  asuser "$(pgbin)/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null
  ;;
restart)
  asuser "$(pgbin)/pg_ctl" -D "$dir/pg" -l "$dir/log" -w start -o "$(cat "$dir/opts")" >/dev/null ||
    { tail -20 "$dir/log" >&2; exit 1; }
  ;;
*) echo "usage: pg.sh start|stop|crash|restart DIR" >&2; exit 2 ;;
esac
