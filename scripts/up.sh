#!/usr/bin/env bash
# Set up devstack and run the example stack (stacks/shop): an api and a worker as host
# processes, with S3, SQS, DynamoDB and SSM served by MiniStack, the embedded default (a
# pip-installed emulator; no Docker needed). It installs what the README's Install section
# does (the `emulators` extra: MiniStack and moto, so the quickstart's swap to moto works).
# Ctrl-C stops the stack. Extra arguments go to `devstack up`; set
# STACK=stacks/hello/devstack.yaml for the smaller example.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STACK=${STACK:-stacks/shop/devstack.yaml}

if [ ! -x "$VENV/bin/devstack" ] || ! "$VENV/bin/python" -c "import ministack, moto.server, boto3" 2>/dev/null; then
  echo "==> creating $VENV and installing devstack with its emulators (MiniStack, moto)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[emulators]"
fi
# The example services are Python with boto3: they run on this virtualenv's python3.
export PATH="$PWD/$VENV/bin:$PATH"
exec "$VENV/bin/devstack" -f "$STACK" up "$@"
