"""The daemon's own refusals, apart from `errors.py` (which imports FastAPI): the daemon
raises them before its API is imported (a cold `up`, see `boot.py`)."""

from __future__ import annotations


class BadRequest(Exception):
    """A request naming something that cannot work (`cannot swap uploads to container...`);
    nothing was changed. The message says why."""


class SwapError(Exception):
    """A swap (or scale, rebuild) that cannot be made now; nothing was changed."""


class DataConflict(SwapError):
    """A snapshot or restore that cannot be made now (a provider unreachable, a snapshot
    that exists, another one running...): a 409 like a swap's, one line, never a value."""
