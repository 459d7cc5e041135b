"""A crash-looping service backs off as specified, is reported, and starves nobody.

Specified (README, "Restarts"): between consecutive failures devstack waits 0.5 s, then
1 s, 2 s... up to 30 s; the count starts over after a run of 60 s or more (a window the
daemon's DEVSTACK_BACKOFF_RESET shortens, so CI sees a real reset in seconds). The delays are
measured from the daemon's own events: `» NAME exited with code N` when it saw the exit,
`» start service:NAME: ...` when it started the next run.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.api.client import Client
from helpers import Stack, free_port, service, wait_for

EXPECTED = [0.5, 1.0, 2.0, 4.0, 8.0]  # the first five delays of the specified backoff
EARLY = 0.05  # a restart may not come sooner than this before its due time
LATE = 0.6  # nor later than this after it (the controller sleeps until the due time)

# Crashes fast twice, then runs LONG seconds (past the reset window) and crashes again,
# then stays. LONG is 61 for the real 60 s window, a few seconds for a shortened one.
FLAKY = r"""
import sys, time
from pathlib import Path
LONG = float(sys.argv[1])
runs = Path("runs")
n = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(n))
print(f"flaky: run {n}", flush=True)
if n <= 2:
    sys.exit(3)
if n == 3:
    time.sleep(LONG)
    sys.exit(3)
time.sleep(3600)
"""


def events(stack: Stack, name: str) -> list[dict[str, Any]]:
    """The daemon's events about `name` (shown as `» ...` by `logs`), oldest first."""
    lines = Client(stack.socket).logs(services=[name])
    return [line for line in lines if line["stream"] == "event"]


def restart_delays(stack: Stack, name: str) -> list[float]:
    """Seconds from each exit the daemon saw to the start that followed it."""
    delays, exited_at = [], None
    for line in events(stack, name):
        text = line["text"]
        if text.startswith(f"{name} exited with"):
            exited_at = line["ts"]
        elif text.startswith(f"start service:{name}") and exited_at is not None:
            delays.append(line["ts"] - exited_at)
            exited_at = None
    return delays


class Prober:
    """GETs a URL back to back in a thread, recording each latency (or the error)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
            except OSError as exc:
                self.errors.append(repr(exc))
                continue
            if status != 200:
                self.errors.append(f"HTTP {status}")
            self.latencies.append(time.perf_counter() - started)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def looping(stack: Stack) -> Iterator[tuple[Stack, int]]:
    port = free_port()
    stack.write(
        {
            "web": service("web", port=port),
            "crasher": service("crasher", flags=["--exit", "3"]),
        }
    )
    stack.ok("up", "-d")
    wait_for(lambda: stack.live()["web"]["health"] == "healthy", 30.0, "web to be healthy")
    yield stack, port


def test_a_crash_loop_backs_off_as_specified_and_the_others_keep_serving(
    looping: tuple[Stack, int],
) -> None:
    stack, port = looping
    with Prober(port) as prober:
        delays = wait_for(
            lambda: (found := restart_delays(stack, "crasher")) and len(found) >= 5 and found,
            40.0,
            "five restarts of crasher",
            interval=0.2,
        )
    for expected, measured in zip(EXPECTED, delays, strict=False):
        assert expected - EARLY <= measured <= expected + LATE, (
            f"restart delays {[round(d, 3) for d in delays]}, expected {EXPECTED}"
        )

    # Between two runs (the next one is 16 s away) status shows why it is down.
    crasher = wait_for(
        lambda: (s := stack.live()["crasher"])["state"] in ("restarting", "waiting") and s,
        5.0,
        "crasher to be down, waiting for its next restart",
    )
    assert crasher["restarts"] >= 5, crasher
    assert crasher["exit_code"] == 3, crasher
    web = stack.live()["web"]
    assert (web["state"], web["health"], web["restarts"]) == ("running", "healthy", 0), web

    assert not prober.errors, prober.errors[:5]
    assert len(prober.latencies) > 100, "web was hardly probed"
    p99 = statistics.quantiles(prober.latencies, n=100)[98]
    assert p99 < 0.25, f"web's p99 latency during the crash loop: {p99 * 1000:.0f} ms"
    print(
        f"restart delays {[round(d, 3) for d in delays]}; web p50"
        f" {statistics.median(prober.latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms,"
        f" max {max(prober.latencies) * 1000:.1f} ms over {len(prober.latencies)} requests"
    )


def test_status_reports_the_crash_loop(looping: tuple[Stack, int]) -> None:
    stack, _ = looping
    wait_for(
        lambda: (s := stack.live()["crasher"])["restarts"] == 2 and s["state"] == "restarting",
        20.0,
        "crasher to wait for its third run",
    )
    table = stack.ok("status").stdout
    row = next(line for line in table.splitlines() if line.startswith("crasher")).split()
    assert row[2] == "restarting", table
    assert row[4] == "2", table  # RESTARTS
    web = next(line for line in table.splitlines() if line.startswith("web")).split()
    assert web[2:5] == ["running", "healthy", "0"], table


def delays_around_a_long_run(stack: Stack, long_run: float, env: dict[str, str]) -> list[float]:
    """Run `flaky` (two quick failures, one run of `long_run` s, a failure) on a real daemon
    started with `env`; the first three restart delays."""
    (stack.root / "flaky.py").write_text(FLAKY)
    stack.write(
        {"flaky": {"command": ["python3", "flaky.py", f"{long_run:g}"], "restart": "always"}}
    )
    stack.ok("up", "-d", env=env)
    found: list[float] = wait_for(
        lambda: (found := restart_delays(stack, "flaky")) and len(found) >= 3 and found,
        long_run + 60.0,
        "the run after the long one",
        interval=0.5,
    )
    # Two quick failures: 0.5 s then 1 s. Then the long run: the count starts over.
    # The delays run from the instance's exit, but the `exited` event is stamped when the
    # controller's pass logs it, up to ~0.1 s later on a busy machine: lower bounds allow it.
    assert 0.35 <= found[0] <= 1.1, found
    assert 0.85 <= found[1] <= 1.6, found
    assert 0.35 <= found[2] <= 1.1, f"no reset after a {long_run:g} s run: delays {found}"
    return found


def test_the_backoff_starts_over_after_a_run_as_long_as_the_reset_window(stack: Stack) -> None:
    # The CI-sized variant: the same real daemon and crash loop, with the window shortened
    # to 3 s by DEVSTACK_BACKOFF_RESET, and a 4 s run.
    delays = delays_around_a_long_run(stack, 4.0, {"DEVSTACK_BACKOFF_RESET": "3"})
    print(f"restart delays around a 4 s run (window 3 s): {[round(d, 3) for d in delays]}")


def test_a_run_shorter_than_the_reset_window_keeps_the_backoff_growing(stack: Stack) -> None:
    # The control: the same 4 s run under a 30 s window is not a reset (0.5, 1, then 2 s).
    (stack.root / "flaky.py").write_text(FLAKY)
    stack.write({"flaky": {"command": ["python3", "flaky.py", "4"], "restart": "always"}})
    stack.ok("up", "-d", env={"DEVSTACK_BACKOFF_RESET": "30"})
    delays = wait_for(
        lambda: (found := restart_delays(stack, "flaky")) and len(found) >= 3 and found,
        60.0,
        "the run after the 4 s one",
        interval=0.5,
    )
    assert 1.95 <= delays[2] <= 2.6, f"the backoff reset after a 4 s run: delays {delays}"


def test_a_bad_reset_window_keeps_the_default_and_says_so(stack: Stack) -> None:
    stack.write({"web": service("web", health=False)})
    stack.ok("up", "-d", env={"DEVSTACK_BACKOFF_RESET": "soon"})
    lines = [line["text"] for line in events(stack, "devstack")]
    said = [t for t in lines if "DEVSTACK_BACKOFF_RESET" in t]
    assert said == [
        "DEVSTACK_BACKOFF_RESET='soon' is not a number of seconds > 0:"
        " the backoff resets after the default 60s"
    ], lines
    assert stack.live()["web"]["state"] == "running"


@pytest.mark.long
@pytest.mark.timeout(300)
def test_the_backoff_starts_over_after_a_run_of_60_seconds(stack: Stack) -> None:
    delays = delays_around_a_long_run(stack, 61.0, {})
    print(f"restart delays around a 61 s run: {[round(d, 3) for d in delays]}")
