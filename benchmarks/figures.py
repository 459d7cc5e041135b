"""The harness's results: one figure = devstack's samples beside its baselines' samples.

A figure is measured in one run, devstack and every baseline on the same machine at the
same moment, so their ratios are comparable even when the absolute numbers are noisy.
Ratios are devstack / baseline (below 1: devstack is faster or smaller).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile on the sorted samples (p95 of 3 samples is the largest)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Series:
    """One side of a figure: devstack or a baseline, its raw samples."""

    label: str
    samples: list[float]
    # p50/p95/n as reported by a script that does not hand out its samples (ui_keys_tmux)
    given: dict[str, float | int] | None = None

    def stats(self) -> dict[str, float | int]:
        if self.given is not None:
            return dict(self.given)
        if not self.samples:
            return {"n": 0}
        return {
            "p50": statistics.median(self.samples),
            "p95": percentile(self.samples, 0.95),
            "n": len(self.samples),
        }


@dataclass
class Target:
    """A goal from an issue: `stat` (p50 or p95) of devstack's samples <= `value`, or, with
    `against`, devstack's stat / that baseline's same stat <= `value` (a ratio)."""

    value: float
    stat: str = "p95"
    source: str = ""  # which issue set it
    against: str | None = None  # a baseline's label: the goal is a ratio to it

    def verdict(self, devstack: Series, baselines: list[Series] | None = None) -> dict[str, Any]:
        got = devstack.stats().get(self.stat)
        head = {"value": self.value, "stat": self.stat, "source": self.source}
        if self.against is not None:
            head["against"] = self.against
            base = next((b for b in baselines or [] if b.label == self.against), None)
            theirs = base.stats().get(self.stat) if base else None
            got = None if got is None or not theirs else float(got) / float(theirs)
        if got is None:
            return {**head, "met": None}
        missed_by = float(got) - self.value
        return {**head, "got": got, "met": missed_by <= 0, "missed_by": max(missed_by, 0.0)}


@dataclass
class Figure:
    benchmark: str  # the harness's name for the benchmark (`--only NAME`)
    title: str  # what is measured, in words
    unit: str  # "s", "%core", "MB", "ms"
    scale: int | None  # N services / containers, None when it does not apply
    devstack: Series
    baselines: list[Series] = field(default_factory=list)
    target: Target | None = None
    notes: list[str] = field(default_factory=list)
    more_targets: list[Target] = field(default_factory=list)  # further goals (ratios)

    def targets(self) -> list[Target]:
        return ([self.target] if self.target else []) + self.more_targets

    def ratios(self) -> dict[str, dict[str, float]]:
        """devstack / baseline at p50 and at p95, for every baseline with samples."""
        ours = self.devstack.stats()
        out: dict[str, dict[str, float]] = {}
        for base in self.baselines:
            theirs = base.stats()
            pair: dict[str, float] = {}
            for stat in ("p50", "p95"):
                if stat in ours and stat in theirs and theirs[stat] > 0:
                    pair[stat] = ours[stat] / theirs[stat]
            if pair:
                out[base.label] = pair
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "figure": self.title,
            "unit": self.unit,
            "scale": self.scale,
            "devstack": {**self.devstack.stats(), "samples": self.devstack.samples},
            "baselines": {b.label: {**b.stats(), "samples": b.samples} for b in self.baselines},
            "ratios": self.ratios(),
            "target": self.target.verdict(self.devstack, self.baselines) if self.target else None,
            "targets": [t.verdict(self.devstack, self.baselines) for t in self.targets()],
            "notes": self.notes,
        }


def brief(exc: BaseException) -> str:
    """An error in one line or three: its first line and its last two (a CLI's verdict)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    kept = lines if len(lines) <= 3 else [lines[0], "…", *lines[-2:]]
    return f"{type(exc).__name__}: " + " / ".join(line.strip() for line in kept)


def p50_text(samples: list[float]) -> str:
    return f"{statistics.median(samples):.3f} s" if samples else "n/a"


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "%core":
        return f"{value:.2f} %"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.1f} {unit}"


def fmt_stats(series: Series, unit: str) -> str:
    stats = series.stats()
    if not stats["n"]:
        return "no samples"
    return f"{fmt(stats['p50'], unit)} / {fmt(stats['p95'], unit)} (n={stats['n']})"


def verdict_text(figure: Figure) -> str:
    return "<br>".join(_verdict(figure, target) for target in figure.targets())


def _verdict(figure: Figure, target: Target) -> str:
    got = target.verdict(figure.devstack, figure.baselines)
    if target.against is not None:
        goal = f"≤ {target.value:.2f}× {target.against} {target.stat}"
        missed = f"{got.get('missed_by', 0.0):.2f}×"
    else:
        goal = f"≤ {fmt(target.value, figure.unit)} {target.stat}"
        missed = fmt(got.get("missed_by", 0.0), figure.unit)
    if got["met"] is None:
        return f"{goal}: not measured"
    if got["met"]:
        return f"{goal}: **met**"
    return f"{goal}: **missed by {missed}**"
