"""The time budget of a cold `up`: where the seconds go, from the keypress to all answering.

devstack writes phase marks when DEVSTACK_TRACE names a file (src/devstack/trace.py): one
line `<CLOCK_MONOTONIC> <pid> <phase>` per mark, from the CLI and from the daemon. The
harness starts its clock with the same CLOCK_MONOTONIC, so every mark lands on one axis.
A phase's duration is from the previous milestone to this one; a regression shows where.
"""

from __future__ import annotations

import statistics
from pathlib import Path

# (label, the mark that ends the phase, first or last occurrence of that mark)
MILESTONES: list[tuple[str, str, str]] = [
    ("CLI start-up (interpreter, click)", "cli.main", "first"),
    ("CLI work and daemon spawn", "daemon.main", "first"),
    ("daemon imports", "daemon.imported", "first"),
    ("load, validate, resolve", "daemon.resolved", "first"),
    ("adopt, socket bound", "daemon.listening", "first"),
    ("`up`: prepare (images), plan", "op.start", "first"),
    ("create/start every instance", "op.done", "last"),
    ("first successful probes, all", "health", "last"),
    ("CLI hears `ready`", "cli.wait.done", "first"),
]


def read(path: Path, start: float) -> dict[str, tuple[float, float]]:
    """mark name (first word) -> (first, last) seconds after `start`."""
    seen: dict[str, tuple[float, float]] = {}
    if not path.exists():
        return seen
    for line in path.read_text().splitlines():
        stamp, _, rest = line.split(" ", 2)
        name = rest.split(" ", 1)[0]
        at = float(stamp) - start
        first, _ = seen.get(name, (at, at))
        seen[name] = (min(first, at), at)
    return seen


def breakdown(path: Path, start: float) -> dict[str, float]:
    """Phase label -> seconds, for one traced cold `up` started at `start`."""
    marks = read(path, start)
    phases: dict[str, float] = {}
    previous = 0.0
    for label, mark, which in MILESTONES:
        if mark not in marks:
            continue
        at = marks[mark][0 if which == "first" else 1]
        phases[label] = max(0.0, at - previous)
        previous = max(previous, at)
    return phases


def summary(runs: list[dict[str, float]]) -> str:
    """One line: each phase's median over the runs, in milliseconds, in milestone order."""
    parts = []
    for label, _, _ in MILESTONES:
        values = [run[label] for run in runs if label in run]
        if values:
            parts.append(f"{label} {statistics.median(values) * 1000:.0f} ms")
    return "phases p50: " + " → ".join(parts) if parts else "phases: no trace"
