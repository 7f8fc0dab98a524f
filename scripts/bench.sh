#!/usr/bin/env bash
# `make bench`: every benchmark recorded in BENCHMARKS.md, in one run, on
# this machine. Starts a throwaway PostgreSQL cluster (fsync ON: durability
# as in production) for the PostgreSQL sides. Output: bench-results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench-results.txt}
pgdir=$(mktemp -d /tmp/causeway-bench-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pgdir" || true' EXIT INT TERM
CAUSEWAY_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir")
export CAUSEWAY_TEST_POSTGRES_URL
{
  echo "# make bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# $(go version); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# PostgreSQL: $(ls -d /usr/lib/postgresql/*/bin | tail -1), fsync on"
  echo
  echo "## event codec decode vs the original decoder"
  go test -run='^$' -bench=DecodeVsReference -benchmem ./event/
  echo
  echo "## event store append vs raw insert"
  go test -run='^$' -bench='Append|RawInsert' -benchtime=2s ./eventstore/sqlstore/
  echo
  echo "## outbox relay vs raw produce"
  go test -run='^$' -bench='Relay|Raw' -benchtime=3x ./outbox/
  echo
  echo "## consumer pipeline vs raw consume"
  go test -run='^$' -bench=. -benchtime=1x ./consumer/
  echo
  echo "## consumer pipeline vs Watermill (bench/ module)"
  (cd bench && go test -run='^$' -bench=. -benchtime=1x ./consumerpeer/)
} 2>&1 | tee "$out"
