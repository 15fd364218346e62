#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 20s).
# New "interesting" inputs are minimised for at most 2 s, else the workers spend
# most of the time minimising and execute few inputs.
set -euo pipefail
t="${1:-20s}"
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fz in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $fz ($t)"
    go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$t" -fuzzminimizetime 2s "$pkg"
  done
done
