"""Small file-system helpers shared by the runtimes and the daemon."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write, fsync, rename: a reader sees the old file or the new one, never half of one.

    A file that already holds `data` with `mode` is left alone: the daemon saves its
    intent on every `up`, and an fsync is milliseconds where comparing is microseconds.
    """
    try:
        if path.stat().st_mode & 0o777 == mode and path.read_bytes() == data:
            return
    except OSError:
        pass  # missing or unreadable: written below
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True).encode())


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or unreadable (never half-written)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
