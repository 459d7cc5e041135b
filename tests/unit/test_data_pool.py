"""read_ahead: a paginated read runs ahead of its consumer in a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from devstack.data.pool import read_ahead


def test_every_item_comes_in_order() -> None:
    assert list(read_ahead(iter(range(1000)), 2)) == list(range(1000))
    assert list(read_ahead(iter([]), 1)) == []


def test_an_error_of_the_producer_reaches_the_consumer_after_what_came_before() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("the source went away")

    got: list[int] = []
    with pytest.raises(ConnectionError, match="went away"):
        for x in read_ahead(pages(), 1):
            got.append(x)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    ended = threading.Event()
    produced: list[int] = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            ended.set()

    ahead = read_ahead(endless(), 1)
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    ahead.close()  # what a `for` loop left by `break` or an exception does
    assert ended.wait(timeout=5)
    assert len(produced) <= 3 + 2  # at most one queued and one waiting to be
