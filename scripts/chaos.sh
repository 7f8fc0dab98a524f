#!/usr/bin/env bash
# The chaos run (`make chaos`; `make test` runs a short one): a throwaway
# PostgreSQL cluster with fsync ON (this is a durability test), then
# TestChaos in cmd/causeway, which starts a standalone broker, two API and
# two worker `causeway serve` processes and `causeway loadgen`, runs the
# nemesis, waits for lag 0, runs `causeway check` and prints the report.
#   CHAOS_DURATION  load (and nemesis) duration (default 150s)
#   CHAOS_RATE      orders/s (default 40)
#   CHAOS_SAGA      choreography (default) or orchestration
#   CHAOS_REPORT    where the report is written (default /tmp/causeway-chaos-report.txt)
# Bounded: it stops by itself; everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${CHAOS_DURATION:-150s}
pgdir=$(mktemp -d /tmp/causeway-chaos-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$pgdir" || true; }
trap cleanup EXIT INT TERM
url=$(scripts/pg.sh start "$pgdir")
export CAUSEWAY_CHAOS_POSTGRES_URL=$url CAUSEWAY_CHAOS_PG_DIR=$pgdir CAUSEWAY_CHAOS_DURATION=$dur
export CAUSEWAY_CHAOS_RATE=${CHAOS_RATE:-40}
export CAUSEWAY_CHAOS_SAGA=${CHAOS_SAGA:-choreography}
export CAUSEWAY_CHAOS_REPORT=${CHAOS_REPORT:-/tmp/causeway-chaos-report.txt}
echo "chaos.sh: $dur at $CAUSEWAY_CHAOS_RATE orders/s, saga $CAUSEWAY_CHAOS_SAGA, PostgreSQL (fsync on) at $url" >&2
set +e
go test -count=1 -timeout 20m -run '^TestChaos$' -v ./cmd/causeway/ 2>&1 | tee /tmp/causeway-chaos.log | grep -v '^=== \|^    chaos_test'
status=${PIPESTATUS[0]}
set -e
echo "chaos.sh: report in $CAUSEWAY_CHAOS_REPORT, log in /tmp/causeway-chaos.log" >&2
exit "$status"
