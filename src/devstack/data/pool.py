"""Concurrent requests for the adapters: a thread pool whose queue stays bounded, so that
listing 100,000 objects never holds 100,000 pending bodies in memory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_all(work: Iterable[T], do: Callable[[T], object], workers: int) -> None:
    """`do(x)` for each x of `work` on `workers` threads, at most 2 x `workers` queued at
    a time; the first error stops the rest and is raised."""
    slots = threading.BoundedSemaphore(max(1, workers) * 2)
    failed: list[BaseException] = []

    def done(future: Future[object]) -> None:
        slots.release()
        exc = future.exception()
        if exc is not None and not failed:
            failed.append(exc)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for x in work:
            if failed:
                break
            slots.acquire()
            pool.submit(do, x).add_done_callback(done)
    if failed:
        raise failed[0]
