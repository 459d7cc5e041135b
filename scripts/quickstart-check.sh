#!/usr/bin/env bash
# Check the README's Quickstart the way a newcomer meets it: a fresh virtualenv with exactly
# what the README's Install section and scripts/up.sh install (the `emulators` extra), plus
# pytest, then tests/quickstart/test_readme.py, which runs README.md's Quickstart blocks and
# compares every documented output line. pip's cache makes the install quick after the
# first run (--no-compile: the .pyc files of boto3 and moto, written at install, were most
# of its time; imports write the few they need). Extra arguments go to pytest. Run by
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/devstack-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -e '.[emulators]' pytest
DEVSTACK_QUICKSTART=1 "$work/venv/bin/python" -m pytest -c tests/quickstart/pytest.ini tests/quickstart "$@"
