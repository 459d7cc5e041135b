"""Log load: 50 host processes writing 1,000 numbered lines/s each, through a real daemon.

Afterwards every line is in `.devstack/logs/` (no gap in any sequence), the daemon's
resident memory stayed bounded, and `/v1/status` answered quickly throughout. CI runs the
load for CI_SECONDS; `--long` for LONG_SECONDS. The figures are printed (run with -s) and
recorded in docs/security.md.
"""

from __future__ import annotations

import http.client
import re
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import Stack, wait_for

SERVICES = 50
# The load is 50 x 1,000 lines/s. The daemon tails, timestamps and writes about
# 25-30k lines per CPU-second (measured), and the 50 writers need CPU too, so on a 2-core
# CI machine that load builds a backlog: CI runs a tenth of the rate (still 5,000 lines/s
# into one daemon); `--long` runs the full rate for a minute and reports what was sustained.
CI_RATE, CI_SECONDS = 100, 10.0
LONG_RATE, LONG_SECONDS = 1_000, 60.0
DRAIN_RATE = 2_000  # lines/s the drain deadline assumes, far below the measured rate
RSS_LIMIT_MB = 400  # the ring holds 5,000 lines per service: about 100 MB at 50 services
# A responsiveness bound, not a performance figure (benchmarks/ measure those): a daemon
# starved by the flood answers in many seconds. 2 s leaves room for the suite's other
# workers sharing two cores (1.4 s p95 was seen there).
STATUS_P95_LIMIT = 2.0

WRITER = r'''
"""Writes RATE numbered lines per second for SECONDS, then says done and idles."""
import sys, time

name, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
total = int(rate * seconds)
pad = "x" * 40  # a realistic line: about 70 bytes
start = time.monotonic()
seq = 0
while seq < total:
    due = min(total, int((time.monotonic() - start) * rate) + 1)
    if due > seq:
        sys.stdout.write("".join(f"{name} seq={i} {pad}\n" for i in range(seq, due)))
        sys.stdout.flush()
        seq = due
    time.sleep(0.005)  # pacing the writer, not waiting for a condition
print(f"{name} done total={total} in {time.monotonic() - start:.2f}s", flush=True)
while True:
    time.sleep(3600)
'''

SEQ = re.compile(r" (w\d+) seq=(\d+) ")
DONE = re.compile(r" (w\d+) done total=(\d+)")


@dataclass
class Samples:
    rss_mb: list[float] = field(default_factory=list)
    status_seconds: list[float] = field(default_factory=list)
    status_errors: list[str] = field(default_factory=list)


def finished(logs: Path) -> int:
    """How many writers' done lines are on disk (cheap: only each file's last bytes)."""
    count = 0
    for path in logs.glob("w*.log"):
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 200))
            count += b" done total=" in handle.read()
    return count


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed_status(socket_path: Path) -> float:
    """Seconds for one GET /v1/status over the daemon's socket, as the CLI does it."""
    started = time.perf_counter()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(socket_path))
    conn = http.client.HTTPConnection("devstack")
    conn.sock = sock
    try:
        conn.request("GET", "/v1/status")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    finally:
        conn.close()
    return time.perf_counter() - started


def sample(stack: Stack, pid: int, stop: threading.Event, into: Samples) -> None:
    """Every 0.25 s: the daemon's RSS and the latency of one status call."""
    while not stop.wait(0.25):
        into.rss_mb.append(rss_mb(pid))
        try:
            into.status_seconds.append(timed_status(stack.socket))
        except (OSError, AssertionError, http.client.HTTPException) as exc:
            into.status_errors.append(repr(exc))


def on_disk(logs: Path) -> tuple[dict[str, set[int]], dict[str, int]]:
    """Sequence numbers per writer and the totals their `done` lines announce."""
    seen: dict[str, set[int]] = {}
    done: dict[str, int] = {}
    for path in sorted(logs.glob("w*.log*")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = SEQ.search(line)
                if match:
                    seen.setdefault(match.group(1), set()).add(int(match.group(2)))
                    continue
                finished = DONE.search(line)
                if finished:
                    done[finished.group(1)] = int(finished.group(2))
    return seen, done


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_load(stack: Stack, rate: int, seconds: float, report: Callable[[str], None]) -> None:
    (stack.root / "writer.py").write_text(WRITER)
    services = {
        f"w{i:02d}": {
            "command": [sys.executable, "writer.py", f"w{i:02d}", str(rate), str(seconds)],
            "restart": "no",
        }
        for i in range(SERVICES)
    }
    stack.write(services, name="load")
    started = time.monotonic()
    # No --wait: writers start writing as soon as they run; the done lines are what counts.
    stack.ok("up", "-d", timeout=180)
    daemon = wait_for(stack.daemons, 30.0, "the daemon")[0]
    baseline = rss_mb(daemon)
    samples = Samples()
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(stack, daemon, stop, samples), daemon=True)
    sampler.start()
    logs = stack.state_dir / "logs"
    expected = int(rate * seconds)
    try:
        # Every writer says done after `seconds`; the lines must all reach disk by a
        # deadline on top (the daemon may fall behind the writers, but lose nothing).
        wait_for(
            lambda: finished(logs) == SERVICES,
            seconds + 60.0 + SERVICES * expected / DRAIN_RATE,
            "every writer's done line on disk",
            interval=0.5,
        )
    finally:
        stop.set()
        sampler.join(timeout=35)
    elapsed = time.monotonic() - started
    seen, done = on_disk(logs)
    missing = {
        name: expected - len(numbers)
        for name, numbers in seen.items()
        if numbers != set(range(expected))
    }
    total = sum(len(numbers) for numbers in seen.values())
    p50 = statistics.median(samples.status_seconds)
    p95 = percentile(samples.status_seconds, 0.95)
    report(
        f"{SERVICES} services x {rate} lines/s x {seconds:g} s: {total} lines on disk "
        f"in {elapsed:.1f} s from `up` ({total / elapsed:.0f} lines/s overall); "
        f"daemon RSS {baseline:.0f} MB before, peak {max(samples.rss_mb):.0f} MB; "
        f"status p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(samples.status_seconds) * 1000:.0f} ms over {len(samples.status_seconds)} calls"
    )
    assert set(done.values()) == {expected}
    assert len(seen) == SERVICES
    assert not missing, f"lines lost (writer: count missing): {missing}"
    assert not samples.status_errors, samples.status_errors[:5]
    assert max(samples.rss_mb) < RSS_LIMIT_MB, f"daemon RSS peaked at {max(samples.rss_mb)} MB"
    assert p95 < STATUS_P95_LIMIT, f"status p95 {p95:.2f}s under load"


@pytest.mark.timeout(600)
def test_fifty_services_logging_at_once_lose_no_line(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    run_load(stack, CI_RATE, CI_SECONDS, lambda line: print(f"\nlog load: {line}"))


@pytest.mark.long
@pytest.mark.timeout(3600)
def test_fifty_services_at_a_thousand_lines_a_second_for_a_minute_lose_no_line(
    stack: Stack,
) -> None:
    run_load(stack, LONG_RATE, LONG_SECONDS, lambda line: print(f"\nlog load (long): {line}"))
