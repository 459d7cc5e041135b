"""The restart policy, in one place: whether an exited instance starts again, and after
what backoff. The reconciler plans by it and the daemon's status reports by it."""

from __future__ import annotations

from devstack.model.desired import DesiredService

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
BACKOFF_RESET_AFTER = 60.0  # a run this long counts as healthy: the next failure starts over


def will_restart(service: DesiredService, exit_code: int | None) -> bool:
    """`always` restarts; `on-failure` restarts what did not exit 0; `no` never does."""
    if service.restart == "always":
        return True
    return service.restart == "on-failure" and exit_code != 0


def backoff_delay(failures: int) -> float:
    """0.5 s, 1 s, 2 s, ... capped at 30 s, for the n-th consecutive failure."""
    if failures <= 0:
        return 0.0
    # The exponent is capped too: 2.0 ** 1100 overflows after a night of crash loops.
    return float(min(BACKOFF_BASE * 2.0 ** min(failures - 1, 16), BACKOFF_CAP))
