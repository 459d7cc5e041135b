"""The daemon's Unix socket, bound before the API is imported (see `boot.py`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def bind_socket(path: Path) -> socket.socket:
    """A listening Unix socket that only its owner can connect to (mode 0600)."""
    path.unlink(missing_ok=True)  # stale: the caller holds the stack's daemon lock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # no window where the socket exists with wider permissions
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    path.chmod(0o600)
    sock.listen(128)
    return sock
