"""The log buffer is bounded in bytes: oldest lines go first, huge lines are cut with a
marker, a stopped service's buffer is released."""

from __future__ import annotations

import pytest

from devstack.config.problems import ManifestError
from devstack.daemon.logbuffer import buffer_bytes
from devstack.engine.events import (
    BUFFER_BYTES,
    LINE_OVERHEAD,
    MAX_LINE_CHARS,
    STOPPED_KEEP_BYTES,
    TRUNCATED,
    LogStore,
)
from devstack.testing import FakeClock


def test_a_service_holds_at_most_its_byte_budget_dropping_the_oldest_lines() -> None:
    logs = LogStore(100 * (1000 + LINE_OVERHEAD), clock=FakeClock().now)
    for n in range(1000):
        logs.emit("noisy", 0, "stdout", f"{n:04d}" + "x" * 996)
    kept = logs.snapshot(["noisy"])
    assert len(kept) == 100
    assert kept[0].text.startswith("0900") and kept[-1].text.startswith("0999")
    assert logs.buffered_bytes("noisy") <= 100 * (1000 + LINE_OVERHEAD)


def test_one_huge_line_is_cut_with_a_marker() -> None:
    logs = LogStore(clock=FakeClock().now)
    logs.emit("api", 0, "stdout", "y" * (10 * MAX_LINE_CHARS))
    (line,) = logs.snapshot()
    assert line.text == "y" * MAX_LINE_CHARS + TRUNCATED


def test_a_line_already_cut_by_the_tailer_is_not_cut_twice() -> None:
    logs = LogStore(clock=FakeClock().now)
    logs.emit("api", 0, "stdout", "z" * MAX_LINE_CHARS + TRUNCATED)
    assert logs.snapshot()[0].text.count(TRUNCATED.strip()) == 1


def test_releasing_a_stopped_service_frees_all_but_its_last_words() -> None:
    logs = LogStore(clock=FakeClock().now)
    for _ in range(2000):
        logs.emit("api", 0, "stdout", "w" * 1000)
    assert logs.buffered_bytes("api") > 1_000_000
    logs.release("api")
    assert 0 < logs.buffered_bytes("api") <= STOPPED_KEEP_BYTES


def test_a_raising_subscriber_does_not_break_emit_nor_the_other_subscribers() -> None:
    logs = LogStore(clock=FakeClock().now)
    seen: list[str] = []

    def broken(_line: object) -> None:
        raise OSError(28, "No space left on device")

    logs.subscribe(broken)
    logs.subscribe(lambda line: seen.append(line.text))
    logs.emit("api", 0, "stdout", "still here")
    assert seen == ["still here"]
    assert logs.subscriber_failures == 1


@pytest.mark.parametrize(
    ("raw", "size"),
    [("", BUFFER_BYTES), ("8M", 8 << 20), ("512k", 512 << 10), ("1GiB", 1 << 30), ("70000", 70000)],
)
def test_the_buffer_size_comes_from_devstack_log_buffer(raw: str, size: int) -> None:
    assert buffer_bytes({"DEVSTACK_LOG_BUFFER": raw}) == size


@pytest.mark.parametrize("raw", ["lots", "1K", "-5M", "8 megabytes"])
def test_a_bad_devstack_log_buffer_is_one_clear_problem(raw: str) -> None:
    with pytest.raises(ManifestError) as caught:
        buffer_bytes({"DEVSTACK_LOG_BUFFER": raw})
    assert str(caught.value) == (
        "environment variable DEVSTACK_LOG_BUFFER: expected a size of at least 64K, "
        f"like 8M, 512K or 1048576, not {raw!r}"
    )
