#!/usr/bin/env bash
# The project's test command (`make test`). On a fresh machine that has only
# Go it installs what the tests need (PostgreSQL server, kcat, Chromium for
# the dashboard test) when run as
# root with apt-get, starts a throwaway PostgreSQL cluster on a free port,
# runs the whole suite with the race detector, short fuzz runs, and stops
# the cluster afterwards, even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pg=0; need_kcat=0; need_chromium=0
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need_pg=1
command -v kcat >/dev/null 2>&1 || need_kcat=1
{ command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; } || need_chromium=1
if [ $need_pg = 1 ] || [ $need_kcat = 1 ] || [ $need_chromium = 1 ]; then
  pkgs=""
  [ $need_pg = 1 ] && pkgs="$pkgs postgresql"
  [ $need_kcat = 1 ] && pkgs="$pkgs kcat"
  [ $need_chromium = 1 ] && pkgs="$pkgs chromium fonts-liberation"  # fonts: readable screenshots without recommends
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing$pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  else
    echo "test.sh: missing test dependencies. Install them, then run make test again:" >&2
    echo "    sudo apt-get install -y$pkgs" >&2
    echo "(PostgreSQL server binaries under /usr/lib/postgresql/*/bin; kcat and chromium on PATH)" >&2
    exit 1
  fi
fi

pgdir=$(mktemp -d /tmp/causeway-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$pgdir" || true; }
trap cleanup EXIT INT TERM
CAUSEWAY_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir" --fsync-off)
export CAUSEWAY_TEST_POSTGRES_URL
echo "test.sh: PostgreSQL test cluster at $CAUSEWAY_TEST_POSTGRES_URL" >&2

# Test artifacts (the dashboard screenshot) are kept here.
export CAUSEWAY_ARTIFACTS=${CAUSEWAY_ARTIFACTS:-/tmp/causeway-artifacts}
echo "test.sh: artifacts in $CAUSEWAY_ARTIFACTS" >&2

go vet ./...
go test -race -count=1 -timeout 20m ./... 2>&1 | tee /tmp/causeway-test.log
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"

# The kill -9 crash test at its full size (200 orders in flight, in each
# saga mode: subtests choreography and orchestration, ~10 s each): the race
# run above places fewer, because the race detector slows it ~15×.
CAUSEWAY_CRASH_ORDERS=200 go test -count=1 -run '^TestCrashUp$' ./cmd/causeway/

# The peer-benchmark harness (its own module) must keep building and
# handling every event on every side; make bench's report generator must
# compute its ratios right.
(cd bench && go vet ./... && go test -count=1 -run=TestSides ./consumerpeer/ && go test -count=1 ./benchreport/)

# The short chaos run (make chaos runs it longer): serve processes on
# PostgreSQL (its own cluster, fsync on) and a standalone broker under load
# while a nemesis kills and restarts everything; fails if an invariant does.
CHAOS_DURATION=${CHAOS_DURATION:-30s} CHAOS_REPORT=${CAUSEWAY_ARTIFACTS}/chaos-report.txt scripts/chaos.sh
# And under --saga orchestration: the orchestrator, its stuck-saga watcher
# and the command handlers under the same faults.
CHAOS_SAGA=orchestration CHAOS_DURATION=${CHAOS_DURATION:-30s} \
  CHAOS_REPORT=${CAUSEWAY_ARTIFACTS}/chaos-orchestration-report.txt scripts/chaos.sh

# Short fuzz runs: each target a few seconds (make fuzz runs them longer).
FUZZTIME=${FUZZTIME:-5s} scripts/fuzz.sh
