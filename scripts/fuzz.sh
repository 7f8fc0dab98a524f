#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME (default 60s) each.
#
# A duration-bounded run can end with a bare "context deadline exceeded"
# and no crasher: a race in Go's fuzzing coordinator at the -fuzztime
# boundary when workers are starved (golang/go#75804, fixed in Go 1.27;
# this module builds with 1.26). Such a run counts as a pass only when no
# new input was written to testdata/fuzz/<target>/ and the target's whole
# corpus then replays clean (go test -run); any other failure — a crasher,
# a panic, an assertion — fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-60s}
failed=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz: $pkg $f for $t"
    corpus="$dir/testdata/fuzz/$f"
    before=$(ls "$corpus" 2>/dev/null | sort || true)
    out=$(mktemp)
    if go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg" 2>&1 | tee "$out"; then
      rm -f "$out"; continue
    fi
    after=$(ls "$corpus" 2>/dev/null | sort || true)
    if [ "$before" = "$after" ] && grep -q '^    context deadline exceeded$' "$out" &&
       ! grep -qE 'panic:|Failing input written|_test\.go:[0-9]+:' "$out"; then
      echo "fuzz: $f ended on the fuzztime deadline race (golang/go#75804), no crasher written; replaying its corpus" >&2
      if go test -count=1 -run="^$f\$" "$pkg"; then
        rm -f "$out"; continue
      fi
    fi
    failed+=("$pkg $f")
    rm -f "$out"
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
