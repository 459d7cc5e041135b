"""Shared fixtures: a stack folder per test that never leaks a process to the next one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import Stack

# devstack puts the control socket in .devstack/ only while the path fits in sun_path.
MAX_SOCKET_PATH = 100


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """An empty stack folder; teardown runs `devstack down` and then kills any leftover."""
    root = tmp_path
    short = None
    if len(str(root.resolve() / ".devstack" / "daemon.sock")) > MAX_SOCKET_PATH:
        short = Path(tempfile.mkdtemp(prefix="ds-"))
        root = short
    created = Stack(root)
    try:
        yield created
    finally:
        created.cleanup()
        if short is not None:
            shutil.rmtree(short, ignore_errors=True)
