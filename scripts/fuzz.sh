#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME (default 60s) each.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-60s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "fuzz: $pkg $f for $t"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg"
  done
done
