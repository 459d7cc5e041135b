#!/usr/bin/env bash
# Set up devstack and run the example stack (stacks/hello): two host-process services,
# no Docker needed. Ctrl-C stops the stack. Extra arguments go to `devstack up`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/devstack" ]; then
  echo "==> creating $VENV and installing devstack"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[ministack]"
fi
exec "$VENV/bin/devstack" -f stacks/hello/devstack.yaml up "$@"
