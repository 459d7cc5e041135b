"""Components the test command sets up (docker engine, test images, tmux, database servers):
missing, a test skips with the reason on a developer's machine, but fails under CI.

`scripts/test.sh` installs and builds these; CI (`.ci/run` sets `CI=true`) runs that
command, so a component missing there is a broken CI image, which a skip would hide.

    reason = ensure_engine()
    if reason:
        unavailable(reason)                  # in a fixture or test

    pytestmark = needs(shutil.which("tmux") is None, "tmux is not installed")   # a marker
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

MARKER = "needs_component"


def in_ci() -> bool:
    """True when the CI variable says so (`true`, `1`, `yes`; not empty, `0`, `false`)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason`; under CI, fail with it instead."""
    if in_ci():
        pytest.fail(
            f"{reason} (CI is set: scripts/test.sh sets this up, so its absence fails the run)",
            pytrace=False,
        )
    pytest.skip(reason)


def needs(missing: bool, reason: str) -> pytest.MarkDecorator:
    """A marker: when `missing`, the test is `unavailable(reason)` (tests/conftest.py acts
    on it before any fixture runs, as `skipif` would)."""
    return getattr(pytest.mark, MARKER)(missing=missing, reason=reason)
