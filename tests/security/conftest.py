"""The reliability and security suite: bad input, secret canaries, log load.

Long variants carry `@pytest.mark.long` and run only with `--long`; the option, the marker
and the skipping live in tests/conftest.py. Tests that scale a number (cases, seconds)
rather than being a separate variant ask the `long_run` fixture.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    """True when the long variants were asked for (`pytest --long`)."""
    return bool(request.config.getoption("--long", default=False))
