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
  redis-server
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

# ---------------------------------------------------------------------------
# PostgreSQL for store/postgres tests (owned by store/postgres).
# The tests connect as the superuser postgres over TCP to 127.0.0.1:5432
# unless TENANTML_TEST_POSTGRES names another server; each test creates and
# drops its own database and roles. Install the server if absent, start the
# cluster if it is not running, and, on a stock Debian cluster, let local TCP
# connections in without a password.
# ---------------------------------------------------------------------------
if [ -z "${TENANTML_TEST_POSTGRES:-}" ]; then
  if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "test-deps: installing postgresql"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q postgresql
  fi
  pg_version=$(ls /etc/postgresql | sort -V | tail -1)
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "test-deps: starting PostgreSQL $pg_version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! PGCONNECT_TIMEOUT=5 psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
    echo "test-deps: allowing trust auth for host 127.0.0.1/32 in $hba (test machines only)"
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
  pg_isready -h 127.0.0.1 -p 5432
fi

# versitygw: the S3 server the artifact package's S3 integration test starts
# on loopback (artifact/s3_test.go looks on PATH, then in GOPATH/bin).
VERSITYGW_VERSION=v1.8.0
gobin="$(go env GOPATH)/bin"
if ! [ -x "$gobin/versitygw" ]; then
  echo "test-deps: installing versitygw $VERSITYGW_VERSION"
  GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi
