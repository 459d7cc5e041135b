"""The log tailer on real files: woken by inotify, polling without it, closing promptly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.engine.events import TRUNCATED, LogStore
from devstack.runtimes import logtail
from devstack.runtimes.logtail import QUIET_SECONDS, LogTailer
from helpers import wait_for

# Well under QUIET_SECONDS: a line that shows this fast came by inotify (or by polling),
# not by the quiet-time safety net.
PROMPT = QUIET_SECONDS / 2


@pytest.fixture(params=["inotify", "polling"])
def tailer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LogTailer]:
    if request.param == "polling":
        monkeypatch.setattr(logtail, "_open_inotify", lambda: None)
    tailer = LogTailer(LogStore())
    assert (tailer._inotify is not None) == (request.param == "inotify")
    yield tailer
    tailer.close()


def texts(tailer: LogTailer) -> list[str]:
    return [line.text for line in tailer._store.snapshot()]


def append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_lines_written_before_and_after_following_show_promptly(
    tailer: LogTailer, tmp_path: Path
) -> None:
    out = tmp_path / "api.out"
    append(out, b"started\n")
    tailer.add("api", 0, "stdout", out, from_end=False)
    wait_for(lambda: texts(tailer) == ["started"], PROMPT, "the line written before")

    for index in range(3):  # each after a quiet moment: every write must wake the tailer
        append(out, f"request {index}\n".encode())
        wait_for(lambda i=index: texts(tailer)[-1:] == [f"request {i}"], PROMPT, "a new line")


def test_a_burst_of_writes_arrives_whole_and_in_order(tailer: LogTailer, tmp_path: Path) -> None:
    out = tmp_path / "api.out"
    tailer.add("api", 0, "stdout", out, from_end=True)
    for index in range(2000):
        append(out, f"line {index}\n".encode())
    wait_for(lambda: len(texts(tailer)) == 2000, 5.0, "every line")
    assert texts(tailer) == [f"line {index}" for index in range(2000)]


def test_removing_an_instance_drains_its_last_partial_line(
    tailer: LogTailer, tmp_path: Path
) -> None:
    out = tmp_path / "api.out"
    tailer.add("api", 0, "stdout", out, from_end=True)
    append(out, b"done\nno newline")
    tailer.remove("api", 0)
    assert texts(tailer) == ["done", "no newline"]
    append(out, b"after\n")  # no longer followed
    tailer.flush()
    assert "after" not in texts(tailer)


def test_close_stops_the_thread_at_once(tmp_path: Path) -> None:
    tailer = LogTailer(LogStore())
    tailer.add("api", 0, "stdout", tmp_path / "api.out", from_end=True)
    tailer.close()
    assert not tailer._thread.is_alive()


def test_a_line_without_newline_is_cut_once_and_the_rest_skipped(
    tailer: LogTailer, tmp_path: Path
) -> None:
    out = tmp_path / "api.out"
    tailer.add("api", 0, "stdout", out, from_end=True)
    append(out, b"before\n" + b"x" * (5 * logtail.MAX_LINE))
    append(out, b"y" * logtail.MAX_LINE + b"\nafter\n")
    wait_for(lambda: "after" in texts(tailer), 5.0, "the line after the long one")
    assert texts(tailer) == ["before", "x" * logtail.MAX_LINE + TRUNCATED, "after"]
