#!/usr/bin/env bash
# Set up and run the whole test suite: lint, types, tests. Safe to run on a fresh Debian
# machine with Python 3.11 (as root in CI) and again on a machine already set up.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
echo "==> installing devstack with its dev extra"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'

# Docker is not needed by the current suite (the process runtime needs no engine);
# when a dockerd binary is present and not running, start it for tests that use it.
if command -v dockerd >/dev/null 2>&1 && ! docker info >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> starting dockerd"
  (dockerd >/tmp/dockerd.log 2>&1 &)
fi

echo "==> ruff"
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks
echo "==> mypy (strict)"
"$VENV/bin/mypy"
echo "==> pytest"
# Exit code 5 (no tests collected) fails the run, as it should.
exec "$VENV/bin/pytest" "$@"
