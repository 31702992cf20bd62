#!/usr/bin/env bash
# Idempotent set-up for `make run` and `make test`.
#
# Creates (once per dependency set) a virtualenv cached under
# ${MKPORTAL_CACHE:-~/.cache/mkportal}, keyed on pyproject.toml and requirements.lock,
# links it to ./.venv and installs this checkout into it (editable, no deps).
# With "test", also makes sure the Debian packages the test suite needs are present.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"
PYTHON="${PYTHON:-python3}"
cache="${MKPORTAL_CACHE:-$HOME/.cache/mkportal}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "mkportal needs Python >= 3.11 (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi

# pip's own noise (index locations that this machine lacks, editable-install banners).
quiet() { grep -vE "is ignored: it is neither|BuildBackendWarning|^ *(!!|\*+|Please be careful.*|name as your package.*|with strategy.*|)$" || true; }

deps=$("$PYTHON" - <<'PY'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))
PY
)
key=$( (echo "$deps"; cat requirements.lock; "$PYTHON" --version) | sha256sum | cut -c1-16)
venv="$cache/venv-$key"

if [ ! -f "$venv/.complete" ]; then
  echo "==> Creating the virtualenv $venv (only when the dependencies change; takes a few minutes)"
  rm -rf "$venv"
  mkdir -p "$cache"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade "pip>=24" "setuptools>=68" wheel 2>&1 | quiet
  echo "$deps" > "$venv/requirements.in"
  "$venv/bin/pip" install -q -c requirements.lock -r "$venv/requirements.in" 2>&1 | quiet
  touch "$venv/.complete"
fi
ln -sfn "$venv" .venv
"$venv/bin/pip" install -q --no-deps --no-build-isolation -e . 2>&1 | quiet

need_debs=()
# The embedded metrics stack: required by the tests, optional for `make run` (installed when
# we can, otherwise the metrics views say what to install).
command -v prometheus >/dev/null || need_debs+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need_debs+=(prometheus-alertmanager)
if [ "$purpose" = "test" ]; then
  [ -x /usr/bin/chromium ] || need_debs+=(chromium)
fi
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "==> Installing Debian packages: ${need_debs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null
  elif [ "$purpose" = "test" ]; then
    echo "Missing Debian packages: ${need_debs[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${need_debs[*]}" >&2
    exit 1
  else
    echo "Metrics stay off until you install: sudo apt-get install -y ${need_debs[*]}" >&2
  fi
fi
