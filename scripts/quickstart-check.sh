#!/usr/bin/env bash
# Check the README's Quickstart the way a newcomer meets it: a fresh virtualenv with exactly
# what the README's Install section and scripts/up.sh install (the `emulators` extra), plus
# pytest, then tests/quickstart/test_readme.py, which runs README.md's Quickstart blocks and
# compares every documented output line. pip's cache spares the downloads after the first
# run; --no-compile skips byte-compiling thousands of files for a virtualenv used once.
# Measured on a busy 2-core machine: about 6.5 min of install, 70 s of test. Extra
# arguments go to pytest. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/devstack-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -e '.[emulators]' pytest
DEVSTACK_QUICKSTART=1 "$work/venv/bin/python" -m pytest -c tests/quickstart/pytest.ini tests/quickstart "$@"
