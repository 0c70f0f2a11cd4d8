#!/usr/bin/env bash
# Installs and starts everything the test suite needs on a fresh Debian machine.
# Called by `make test`; safe to run repeatedly. Add a package to DEBS when a
# test needs it, never install by hand.
set -euo pipefail

DEBS=(
  python3-xgboost
  python3-sklearn
  python3-boto3
  awscli
  libxgboost-dev
)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi
