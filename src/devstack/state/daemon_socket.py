"""Where a stack's daemon listens, from the manifest's folder as a plain string.

Apart from `state/paths.py` (its `StackPaths` answers with these) because the everyday
calls answered before click (`cli/fast.py`) must not import pathlib or dataclasses: the
two cost a fifth of a `devstack status`.
"""

# ruff: noqa: PTH118 (os.path on purpose: pathlib is what this avoids)
from __future__ import annotations

import os

# sun_path holds 108 bytes on Linux; leave room for the terminating NUL and some margin.
MAX_SOCKET_PATH = 100
STATE_DIR = ".devstack"


def stack_id(root: str) -> str:
    """Stable id of the stack in `root` on this machine: labels its processes."""
    import hashlib

    return hashlib.sha256(os.path.join(root, STATE_DIR).encode()).hexdigest()[:12]


def socket_path(root: str) -> str:
    """The daemon's socket: in the stack's state folder, unless that path is too long."""
    preferred = os.path.join(root, STATE_DIR, "daemon.sock")
    if len(preferred) <= MAX_SOCKET_PATH:
        return preferred
    import tempfile

    # A deep checkout: fall back to a short private path keyed by the stack id.
    base = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(
        tempfile.gettempdir(), f"devstack-{os.getuid()}"
    )
    return os.path.join(base, f"devstack-{stack_id(root)}.sock")
