#!/usr/bin/env bash
# `make bench`: every figure of BENCHMARKS.md, in one run, on this machine.
#
#   1. the machine: date, commit, go version, nproc, CPU, memory, load
#      average (before and after), PostgreSQL version;
#   2. the go test benchmarks, each against its reference in the same
#      process: event codec vs the original decoder, event store append vs a
#      raw insert (SQLite and PostgreSQL), outbox relay vs a raw produce,
#      consumer pipeline vs a naive and a raw consume, and against a
#      Watermill router (bench/, its own module);
#   3. end to end with causeway loadgen, on a fresh platform per run:
#      closed loop (--max) for the orders/s, open loop at 1,000 orders/s for
#      the p99 place → terminal, on (a) causeway up (SQLite NORMAL),
#      (b) causeway up --sync-writes, (c) causeway broker + causeway serve
#      --postgres. causeway check runs after every run and must PASS: the
#      script goes on to the other runs and the report (which shows the
#      FAIL), then exits non-zero.
#
# A throwaway PostgreSQL cluster is started with fsync ON (durability as in
# production) for the PostgreSQL sides. Raw outputs go to
# bench/results/<UTC stamp>/ (BENCH_RESULTS overrides); bench/benchreport
# then writes the generated section of BENCHMARKS.md (between its markers)
# and report.md in the results directory, every figure as a ratio to its
# reference or target. Takes 5–8 minutes (up to ~15 when a platform cannot
# drain its backlog: each run is bounded by BENCH_DRAIN and BENCH_CHECK_WAIT).
#
# Knobs (environment): BENCH_MAX_DURATION (20s; BENCH_PG_MAX_DURATION, 10s,
# on PostgreSQL), BENCH_MAX_CONCURRENCY (64), BENCH_RATE (1000),
# BENCH_RATE_DURATION (10s, capped at what the platform completed in 60 s
# of its max run, at least 1s), BENCH_E2E (embedded
# syncwrites postgres: the platforms to run end to end), BENCH_DRAIN (120s)
# and BENCH_CHECK_WAIT (60s: how long the orders may take to settle before
# the run fails), BENCH_MICRO (1; 0
# skips the go test benchmarks), BENCH_NO_DOC (1: leave BENCHMARKS.md alone).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stamp=$(date -u +%Y-%m-%dT%H%MZ)
res=${BENCH_RESULTS:-bench/results/$stamp}
mkdir -p "$res"
res=$(cd "$res" && pwd)
max_duration=${BENCH_MAX_DURATION:-20s}
max_conc=${BENCH_MAX_CONCURRENCY:-64}
rate=${BENCH_RATE:-1000}
rate_duration=${BENCH_RATE_DURATION:-10s} # whole seconds
pg_max_duration=${BENCH_PG_MAX_DURATION:-10s}
drain=${BENCH_DRAIN:-120s}          # loadgen's wait for the accepted orders to be terminal
check_wait=${BENCH_CHECK_WAIT:-60s} # then check's (a platform that cannot drain fails, in bounded time)
e2e=${BENCH_E2E:-embedded syncwrites postgres}
micro=${BENCH_MICRO:-1}

work=$(mktemp -d /tmp/causeway-bench.XXXXXX)
pgdir=$(mktemp -d /tmp/causeway-bench-pg.XXXXXX) # its own: pg.sh gives it to the postgres user
pids=()
failed=() # runs whose loadgen or check failed: the script fails at the end, after the report
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $*" | tee -a "$res/bench.log" >&2; }
freeport() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
    go run scripts/freeport.go
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# 1. The machine.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench/results' ':!BENCHMARKS.md' || echo ' (with uncommitted changes)')"
  echo "subject: $(git log -1 --format=%s)"
  echo "go: $(go version | cut -d' ' -f3-)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "os: $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -sr)"
  echo "kernel: $(uname -r)"
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  echo "postgres: $([ -n "$pgbin" ] && "$pgbin/postgres" --version | cut -d' ' -f3 || echo none), fsync on"
  echo "load-before: $(loadavg)"
} >"$res/machine.txt"
cat "$res/machine.txt" >&2

CAUSEWAY_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pgdir")
export CAUSEWAY_TEST_POSTGRES_URL
pgurl=$CAUSEWAY_TEST_POSTGRES_URL

# 2. go test benchmarks (each writes <name>.txt).
gobench() { # name dir args…
  local name=$1 dir=$2
  shift 2
  log "$name: go test $* ($(loadavg))"
  (cd "$dir" && go test -run='^$' "$@") 2>&1 | tee "$res/$name.txt" >&2
}
if [ "$micro" = 1 ]; then
  gobench codec . -bench=DecodeVsReference -benchmem ./event/
  gobench eventstore . -bench='Append|RawInsert' -benchtime=2s ./eventstore/sqlstore/
  gobench outbox . -bench='Relay|Raw' -benchtime=3x ./outbox/
  gobench consumer . -bench=. -benchtime=1x ./consumer/
  gobench consumerpeer bench -bench=. -benchtime=1x ./consumerpeer/
fi

# 3. End to end.
go build -o "$work/causeway" ./cmd/causeway
cw=$work/causeway

waitready() { # url deadline-seconds pid
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$3" 2>/dev/null || return 1
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stopproc() { # pid
  kill -INT "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local keep=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# e2erun platform mode: start a fresh platform, run loadgen, run check.
e2erun() {
  local plat=$1 mode=$2 run="$1-$2" d="$work/$1-$2" http kafka up_pid broker_pid=""
  local load_args check_args
  mkdir -p "$d"
  case $mode in
  max)
    local md=$max_duration
    [ "$plat" = postgres ] && md=$pg_max_duration
    load_args=(--max --concurrency "$max_conc" --duration "$md")
    ;;
  rate)
    # Offer the rate for BENCH_RATE_DURATION, but never more orders than
    # the platform completed in ~60 s of its max run (at least 1 s): a
    # platform far below the rate would otherwise take many minutes to
    # drain the backlog before check can pass.
    local done_rate rd
    done_rate=$(sed -n 's/.*"completedRate": *\([0-9.e+-]*\).*/\1/p' "$res/$plat-max.loadgen.json" 2>/dev/null | head -1)
    rd=$(awk -v d="${rate_duration%s}" -v c="${done_rate:-0}" -v r="$rate" \
      'BEGIN { x = c * 60 / r; if (c == 0 || x > d) x = d; if (x < 1) x = 1; printf "%.0fs", x }')
    load_args=(--rate "$rate" --duration "$rd")
    ;;
  esac
  case $plat in
  embedded | syncwrites)
    local extra=()
    [ "$plat" = syncwrites ] && extra=(--sync-writes)
    "$cw" up --data-dir "$d" --http-addr 127.0.0.1:0 --kafka-addr 127.0.0.1:0 "${extra[@]}" >"$res/$run.platform.log" 2>&1 &
    up_pid=$!
    pids+=("$up_pid")
    local i
    for ((i = 0; i < 600; i++)); do [ -s "$d/causeway.json" ] && break; sleep 0.1; done
    http=$(sed -n 's/.*"httpAddr": *"\([^"]*\)".*/\1/p' "$d/causeway.json" 2>/dev/null || true)
    kafka=$(sed -n 's/.*"kafkaAddr": *"\([^"]*\)".*/\1/p' "$d/causeway.json" 2>/dev/null || true)
    check_args=(--data-dir "$d")
    ;;
  postgres)
    local db="bench_${mode}" kport hport url
    psql -q "$pgurl" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    url=${pgurl/\/postgres\?/\/$db?}
    kport=$(freeport)
    hport=$(freeport)
    kafka=127.0.0.1:$kport
    http=127.0.0.1:$hport
    "$cw" broker --data-dir "$d/broker" --kafka-addr "$kafka" >"$res/$run.broker.log" 2>&1 &
    broker_pid=$!
    pids+=("$broker_pid")
    sleep 1
    "$cw" serve --brokers "$kafka" --postgres "$url" --http-addr "$http" --auth off --instance-id bench \
      >"$res/$run.platform.log" 2>&1 &
    up_pid=$!
    pids+=("$up_pid")
    check_args=(--postgres "$url")
    ;;
  esac
  if [ -z "${http:-}" ] || ! waitready "http://$http" 120 "$up_pid"; then
    log "$run: the platform did not become ready; its log:"
    tail -30 "$res/$run.platform.log" >&2
    failed+=("$run: not ready")
    stopproc "$up_pid"
    [ -n "$broker_pid" ] && stopproc "$broker_pid"
    return 0
  fi
  log "$run: loadgen ${load_args[*]} against $http ($(loadavg))"
  echo "load-start: $(loadavg)" >"$res/$run.load.txt"
  if ! "$cw" loadgen --target "http://$http" --brokers "$kafka" --orders-out "$d/orders.jsonl" "${load_args[@]}" \
    --drain "$drain" --progress plain -o json >"$res/$run.loadgen.json" 2>"$res/$run.progress.log"; then
    log "$run: loadgen FAILED"
    tail -5 "$res/$run.progress.log" >&2
    failed+=("$run: loadgen")
  fi
  echo "load-end: $(loadavg)" >>"$res/$run.load.txt"
  tail -1 "$res/$run.progress.log" >&2
  log "$run: causeway check"
  if ! "$cw" check "${check_args[@]}" --orders "$d/orders.jsonl" --brokers "$kafka" --wait "$check_wait" -o json \
    >"$res/$run.check.json" 2>"$res/$run.check.err"; then
    log "$run: causeway check FAILED:"
    cat "$res/$run.check.json" "$res/$run.check.err" >&2
    failed+=("$run: check")
  fi
  stopproc "$up_pid"
  [ -n "$broker_pid" ] && stopproc "$broker_pid"
  return 0
}

for plat in $e2e; do
  e2erun "$plat" max
  e2erun "$plat" rate
done

echo "load-after: $(loadavg)" >>"$res/machine.txt"
echo "finished: $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$res/machine.txt"

# 4. The report.
doc=()
[ "${BENCH_NO_DOC:-}" = 1 ] || doc=(-doc "$root/BENCHMARKS.md")
(cd bench && go run ./benchreport -results "$res" "${doc[@]}") | tee "$res/report.md"
log "results in ${res#"$root"/}"
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
