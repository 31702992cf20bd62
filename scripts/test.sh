#!/usr/bin/env bash
# `make test`: lint, then the whole suite (unit, integration on PostgreSQL/Redis, e2e in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# This checkout wins over whichever checkout last did the editable install into the shared venv.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export REFLEX_USE_NPM=1

ensure_service() {  # name, check command, start command
  if ! eval "$2" >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
      echo "==> Starting $1"
      eval "$3" >/dev/null 2>&1 || true
      for _ in $(seq 1 20); do eval "$2" >/dev/null 2>&1 && return 0; sleep 0.5; done
    fi
    echo "$1 is not reachable on 127.0.0.1; the integration tests need it (see README)." >&2
    exit 1
  fi
}
ensure_service PostgreSQL "pg_isready -q -h 127.0.0.1 -p 5432" \
  'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
ensure_service Redis "redis-cli -h 127.0.0.1 -p 6379 ping" \
  'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'

echo "==> ruff"
ruff check .
ruff format --check .

run_pytest() {
  set +e
  pytest "$@"
  rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests for: $*" >&2
    exit 1
  fi
  [ "$rc" -eq 0 ] || exit "$rc"
}

echo "==> unit and integration tests"
run_pytest -m "not e2e" -n 2 -p no:cacheprovider
echo "==> browser (e2e) tests in Chromium"
run_pytest -m e2e -p no:cacheprovider
