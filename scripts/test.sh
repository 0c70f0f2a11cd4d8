#!/usr/bin/env bash
# Runs the whole test suite: the main module, then every nested module under
# bench/ (their agreement tests and the seed corpora of their fuzzers; no
# -fuzz, so the run is bounded). Expects scripts/test-deps.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -timeout 20m ./...
for mod in bench/*/go.mod; do
  dir=$(dirname "$mod")
  echo "scripts/test.sh: $dir"
  (cd "$dir" && go test -count=1 -timeout 10m ./...)
done
