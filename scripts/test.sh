#!/usr/bin/env bash
# Runs the whole test suite. Expects scripts/test-deps.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -count=1 -timeout 20m ./...
