"""The TUI under a log flood: 5,000 lines/s for 30 s through its event stream.

The app runs headless (Textual's test driver) on a client that streams status, backing
and log events at the given rate, as the daemon's /v1/events does. Every half second a
key is pressed (the cursor moving in the Services table while lines keep arriving and
are written to the log view), and separately a view switch (Logs <-> Services) and the time until Textual has
processed it and repainted is recorded; RSS is sampled to show memory stays bounded.
Baseline, same run: the same keypress on an idle app (no flood).
Usage: python benchmarks/ui_logs.py [--rate 5000] [--seconds 30]
Target (issue 5): keypress -> repaint <= 100 ms p95, memory bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Animations (the tab underline slides for ~0.3 s) would be timed as if they were work.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
sys.path.insert(0, str(Path(__file__).parent))
from common import emit

from devstack.tui.app import DevstackApp

STATUS = {
    "stack": "bench",
    "environment": "dev",
    "manifest": "devstack.yaml",
    "daemon_pid": 1,
    "problems": [],
    "services": [
        {"name": f"s{i}", "runtime": "process", "state": "running", "health": "healthy",
         "restarts": 0, "pid": 100 + i, "ports": [8000 + i], "spec_hash": "x",
         "url": None, "replicas": 1, "started_at": time.time(), "exit_code": None,
         "reason": None}
        for i in range(10)
    ],
}  # fmt: skip


class FloodClient:
    def __init__(self, rate: int, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.stop = False

    def status(self) -> dict[str, Any]:
        return STATUS

    def backing(self) -> list[Any]:
        return []

    def events(self, logs: bool = True, tail: int = 500) -> Iterator[dict[str, Any]]:
        yield {"type": "status", "status": STATUS}
        yield {"type": "backing", "backing": []}
        seq, started = 0, time.monotonic()
        while not self.stop and time.monotonic() - started < self.seconds:
            due = int((time.monotonic() - started) * self.rate)
            while seq < due:
                seq += 1
                text = f"GET /orders/{seq} 200 in 3 ms (request {seq} of the flood)"
                yield {"type": "log", "line": {"seq": seq, "ts": time.time(),
                       "service": f"s{seq % 10}", "replica": 0, "stream": "stdout",
                       "text": text}}  # fmt: skip
            time.sleep(0.005)
        while not self.stop:
            time.sleep(0.05)

    def close(self) -> None:
        self.stop = True


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


async def measure(
    rate: int, seconds: float, keys: tuple[str, str] = ("down", "up")
) -> tuple[list[float], list[float]]:
    client = FloodClient(rate, seconds)
    app = DevstackApp(client)  # type: ignore[arg-type]
    latencies: list[float] = []
    memory: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            began = time.perf_counter()
            await pilot.press(keys[len(latencies) % 2])
            await pilot.pause()
            latencies.append(time.perf_counter() - began)
            memory.append(rss_mb())
            await asyncio.sleep(0.5)
        client.close()
    return latencies, memory


class _Timed(DevstackApp):
    """Records when the view action runs, to time dispatch without Pilot's idle wait."""

    handled: list[float] = []  # noqa: RUF012 - one run at a time

    def action_view(self, name: str) -> None:
        _Timed.handled.append(time.perf_counter())
        super().action_view(name)


async def mounted(app: DevstackApp, deadline: float = 30.0) -> None:
    """Until the services view exists: on a loaded machine mounting under the flood can
    take over a second, and a view switch before it reaches a screen without it."""
    end = time.monotonic() + deadline
    while not app.screen.query("ServicesView"):
        if time.monotonic() >= end:
            raise RuntimeError(f"the app did not mount its views in {deadline:g}s")
        await asyncio.sleep(0.01)


async def dispatch(rate: int, presses: int = 20) -> list[float]:
    """Key action scheduled on the app's loop -> its handler running, under the flood.

    Pilot's `press` also waits until the app's message queue is empty, which a constant
    flood postpones indefinitely: that wait is not what a user feels, this is."""
    _Timed.handled = []
    client = FloodClient(rate, presses * 0.5 + 2)
    app = _Timed(client)  # type: ignore[arg-type]
    latencies: list[float] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await mounted(app)
        await asyncio.sleep(1.0)  # the flood is under way
        for index in range(presses):
            seen = len(_Timed.handled)
            began = time.perf_counter()
            view = "logs" if index % 2 else "services"
            task = asyncio.ensure_future(app.run_action(f"view('{view}')"))
            while len(_Timed.handled) == seen:
                await asyncio.sleep(0.0005)
            latencies.append(_Timed.handled[-1] - began)
            await task
            await asyncio.sleep(0.4)
        # Stop the flood and let the app drain its queue before it shuts down: a view
        # switch still queued at shutdown reaches a half-removed screen (NoMatches).
        client.close()
        await pilot.pause()
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    idle, _ = asyncio.run(measure(0, 5.0))
    flood, memory = asyncio.run(measure(args.rate, args.seconds))
    switch, _ = asyncio.run(measure(args.rate, 10.0, ("2", "1")))
    quiet_dispatch = asyncio.run(dispatch(0))
    flood_dispatch = asyncio.run(dispatch(args.rate))
    emit(
        "ui_logs",
        {
            "rate_lines_s": args.rate,
            "seconds": args.seconds,
            "keypress_p50_ms": statistics.median(flood) * 1000,
            "keypress_p95_ms": p95(flood) * 1000,
            "target_p95_ms": 100.0,
            "idle_keypress_p50_ms": statistics.median(idle) * 1000,
            "ratio_p50_vs_idle": statistics.median(flood) / statistics.median(idle),
            "dispatch_p50_ms": statistics.median(flood_dispatch) * 1000,
            "dispatch_p95_ms": p95(flood_dispatch) * 1000,
            "dispatch_idle_p50_ms": statistics.median(quiet_dispatch) * 1000,
            "pilot_note": "keypress_* include Pilot's wait for an empty queue",
            "view_switch_p50_ms": statistics.median(switch) * 1000,
            "view_switch_p95_ms": p95(switch) * 1000,
            "rss_first_mb": memory[0],
            "rss_last_mb": memory[-1],
            "rss_max_mb": max(memory),
        },
    )


if __name__ == "__main__":
    main()
