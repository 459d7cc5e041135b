#!/usr/bin/env bash
# Set up and run the whole test suite: lint, types, the docs build, the README's
# quickstart (in a fresh virtualenv), tests. Safe to run on a fresh Debian
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

# The README's quickstart runs in a fresh virtualenv with exactly the README's install. Its
# install is mostly waiting on the package index, so it goes on while the rest is set up.
qs=$(mktemp -d "${TMPDIR:-/tmp}/devstack-quickstart.XXXXXX")
trap 'rm -rf "$qs"' EXIT
echo "==> the quickstart's virtualenv (README's install), in the background: $qs/install.log"
PYTHON=$PYTHON scripts/quickstart-check.sh --prepare "$qs/venv" >"$qs/install.log" 2>&1 &
qs_install=$!

# The docker runtime's tests run against a real engine with locally built images (no
# registry is reachable): install and start dockerd when we can, build the test images;
# then the database servers for the process provider and tmux for the terminal tests.
# Mostly downloads and the engine's work: it goes on while lint, types and docs run.
machines_log="$qs/machines.log"
echo "==> docker engine, test images, database servers, tmux, in the background: $machines_log"
( scripts/test-images.sh --python --localstack && scripts/servers-setup.sh ) >"$machines_log" 2>&1 &
machines=$!

echo "==> ruff"
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks
echo "==> mypy (strict)"
"$VENV/bin/mypy"
echo "==> import layers (lint-imports)"
"$VENV/bin/lint-imports"
echo "==> docs site (mkdocs build --strict: a broken link or anchor fails)"
site=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet --site-dir "$site"
rm -rf "$site"
echo "==> docker engine, test images, database servers, tmux (set up in the background)"
if ! wait "$machines"; then
  cat "$machines_log" >&2
  echo "test: setting up the docker engine, test images or servers failed (above)" >&2
  exit 1
fi
cat "$machines_log"
echo "==> the README's quickstart, in a fresh virtualenv with the README's install"
if ! wait "$qs_install"; then
  cat "$qs/install.log" >&2
  echo "test: the README's install failed in a fresh virtualenv" >&2
  exit 1
fi
QUICKSTART_VENV=$qs/venv scripts/quickstart-check.sh -q
echo "==> pytest, on ${PYTEST_WORKERS:-3} workers (one test module per worker)"
# Three workers on two cores: most tests wait on processes, engines and sockets. Exit code 5
# (no tests collected) fails the run, as it should. PYTEST_WORKERS=0 runs them in-process.
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-3}" --dist loadfile "$@"
