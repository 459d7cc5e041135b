"""Waiting for a condition the daemon cannot be told about (an instance gone, say)."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL = 0.05  # seconds between looks


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """True once `condition` holds; False if it still does not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True
