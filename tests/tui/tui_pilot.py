"""Driving the app with Textual's Pilot from plain (synchronous) pytest tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from textual.pilot import Pilot

T = TypeVar("T")
SIZE = (80, 24)


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async scenario in a fresh event loop (no async test plugin needed)."""
    return asyncio.run(scenario())


async def until(
    pilot: Pilot[Any], predicate: Callable[[], object], what: str, timeout: float = 20.0
) -> None:
    """Let the app run until `predicate()` is true; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(0.05)


def cell_text(value: object) -> str:
    plain = getattr(value, "plain", None)
    return str(plain if plain is not None else value)
