#!/usr/bin/env bash
# `make run`: migrate, seed the demo, serve the portal on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# This checkout wins over whichever checkout last did the editable install into the shared venv.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export REFLEX_USE_NPM=1
export PORT="${PORT:-3000}"
export MKPORTAL_VAR="${MKPORTAL_VAR:-var}"
export BASE_URL="${BASE_URL:-http://127.0.0.1:$PORT}"
mkdir -p "$MKPORTAL_VAR"
mkportal db upgrade
mkportal seed-demo
echo
echo "mkportal is starting on $BASE_URL (first start builds the web frontend, about a minute)."
echo
exec reflex run --env prod --frontend-port "$PORT" --backend-port "$PORT" --backend-host 127.0.0.1 --loglevel warning
