"""The size of each service's in-memory log buffer: DEVSTACK_LOG_BUFFER, in the daemon's
environment (`8M`, `512K`, `1G` or plain bytes); 8 MiB by default."""

from __future__ import annotations

import re
from collections.abc import Mapping

from devstack.config.problems import ManifestError, Problem
from devstack.engine.events import BUFFER_BYTES

VARIABLE = "DEVSTACK_LOG_BUFFER"
MINIMUM = 64 * 1024  # below this a stack trace would not fit
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_SIZE = re.compile(r"(\d+)\s*([KMG]?)(?:I?B)?", re.IGNORECASE)


def buffer_bytes(env: Mapping[str, str]) -> int:
    """The per-service buffer in bytes; a bad value is a located problem (exit 2), not a
    traceback, and stops the daemon before anything starts."""
    raw = env.get(VARIABLE, "").strip()
    if not raw:
        return BUFFER_BYTES
    match = _SIZE.fullmatch(raw)
    size = int(match.group(1)) * _UNITS[match.group(2).upper()] if match else 0
    if size < MINIMUM:
        raise ManifestError(
            [
                Problem(
                    f"expected a size of at least 64K, like 8M, 512K or 1048576, not {raw!r}",
                    f"environment variable {VARIABLE}",
                )
            ]
        )
    return size
