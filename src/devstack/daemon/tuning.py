"""Daemon settings read from its environment (the launching CLI's), each with its default.

A bad value never stops the daemon: it keeps the default and says so in one event line
naming the variable, which `devstack logs` shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from devstack.engine.restart import BACKOFF_RESET_AFTER

BACKOFF_RESET_VAR = "DEVSTACK_BACKOFF_RESET"


def backoff_reset_after(env: Mapping[str, str]) -> tuple[float, str | None]:
    """Seconds a run must last for the next failure to start the backoff over, from
    DEVSTACK_BACKOFF_RESET (default 60): the value and, for a bad one, the line to log."""
    raw = env.get(BACKOFF_RESET_VAR)
    if raw is None or not raw.strip():
        return BACKOFF_RESET_AFTER, None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        return BACKOFF_RESET_AFTER, (
            f"{BACKOFF_RESET_VAR}={raw!r} is not a number of seconds > 0:"
            f" the backoff resets after the default {BACKOFF_RESET_AFTER:g}s"
        )
    return seconds, None
