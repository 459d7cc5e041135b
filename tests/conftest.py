"""Shared fixtures: a stack folder per test that never leaks a process to the next one."""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import MARKER, unavailable
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


@pytest.fixture
def hello_ports() -> Iterator[None]:
    """Held while a test runs the hello example, whose ports (8000, 8001) are fixed: the
    modules that run it (e2e/test_hello.py, tui/test_tmux.py) may land on two workers at
    once, and one then found the other's services on its ports (a CI run). Requested
    before `stack`, so it is released after that stack's `down`."""
    path = Path(tempfile.gettempdir()) / "devstack-tests-hello-ports.lock"
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


# -- long variants (the reliability suite's many seeds, real 60 s timeouts) ---------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="also run the long variants (tests marked `long`, e.g. more fault-injection seeds)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Registered here as well as in pyproject, so --strict-markers accepts it either way.
    config.addinivalue_line("markers", "long: a long variant; runs only with --long")
    config.addinivalue_line(
        "markers",
        f"{MARKER}(missing, reason): a component the test command sets up (components.py)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # First, before any fixture: a missing component skips the test, or fails it under CI.
    for marker in item.iter_markers(MARKER):
        if marker.kwargs["missing"]:
            unavailable(marker.kwargs["reason"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="a long variant: run with --long")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)
