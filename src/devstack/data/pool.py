"""Concurrent requests for the adapters: a thread pool whose queue stays bounded, so that
listing 100,000 objects never holds 100,000 pending bodies in memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, cast

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


_DONE = object()


def read_ahead(work: Iterable[T], depth: int) -> Iterator[T]:
    """The items of `work`, produced by a thread of their own up to `depth` ahead of the
    consumer: a paginated read then waits on its next page while the items of the last
    are being used, instead of after. An error of the producer is raised to the consumer;
    a consumer that stops early stops the producer (after the request it is in)."""
    ahead: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    failed: list[BaseException] = []

    def put(x: object) -> bool:
        while not stop.is_set():
            try:
                ahead.put(x, timeout=0.1)  # a timeout only so as to notice `stop`
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for x in work:
                if not put(x):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            failed.append(exc)
        put(_DONE)

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while (x := ahead.get()) is not _DONE:
            yield cast(T, x)
        if failed:
            raise failed[0]
    finally:
        stop.set()
