"""The UI under a log flood, and emulator start to ready.

UI: when benchmarks/ui_keys_tmux.py (keypress -> repaint in a real terminal under tmux)
is present, its figures are taken: through its `run(...) -> dict` when it has one,
otherwise by running it and reading its `JSON {...}` lines. Without it, ui_logs.py's
headless Textual driver measures keypress -> processed and repainted.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import emulators
from figures import Figure, Series, Target
from plan import Plan, python_pass

HERE = Path(__file__).parent
RATE = 5000  # lines per second, issue 5's flood


def ui(plan: Plan) -> list[Figure]:
    seconds = 5.0 if plan.quick else 20.0
    if (HERE / "ui_keys_tmux.py").exists():
        found = tmux_figures(plan, seconds)
        if found:
            return found + headless(plan, seconds)
    return headless(plan, seconds)


def headless(plan: Plan, seconds: float) -> list[Figure]:
    import ui_logs

    idle, _ = asyncio.run(ui_logs.measure(0, min(seconds, 5.0)))
    flood, memory = asyncio.run(ui_logs.measure(RATE, seconds))
    presses = 6 if plan.quick else 20
    rss = f"app RSS first/last/max {memory[0]:.0f}/{memory[-1]:.0f}/{max(memory):.0f} MB"
    figures = [
        Figure("ui", f"keypress -> repainted, {RATE:,} lines/s (headless Textual pilot)", "ms",
               None, Series("devstack", ms(flood)), [Series("same app, no flood", ms(idle))],
               Target(100.0, "p95", "issue 5"),
               ["includes Pilot's wait for an empty message queue", rss]),
    ]  # fmt: skip
    quiet = asyncio.run(ui_logs.dispatch(0, presses))
    switch = Figure("ui", f"view switch dispatched, {RATE:,} lines/s (headless)", "ms", None,
                    Series("devstack", []), [Series("same app, no flood", ms(quiet))])  # fmt: skip
    try:
        switch.devstack.samples = ms(asyncio.run(ui_logs.dispatch(RATE, presses)))
    except Exception as exc:  # the app itself failed under the flood: a finding, say it
        switch.notes.append(f"the app failed under the flood: {type(exc).__name__}: {exc}")
    return [*figures, switch]


def ms(seconds: list[float]) -> list[float]:
    return [x * 1000 for x in seconds]


def tmux_figures(plan: Plan, seconds: float) -> list[Figure]:
    """ui_keys_tmux's results (it reports percentiles, not samples) as one figure."""
    title = f"keypress -> repaint in tmux, {RATE:,} lines/s (ui_keys_tmux.py)"
    try:
        results = tmux_results(plan, seconds)
    except Exception as exc:  # its own failure must not lose the headless UI figures
        return [Figure("ui", title, "ms", None, Series("devstack", []),
                       notes=[f"ui_keys_tmux failed: {exc}"])]  # fmt: skip
    figures = []
    for r in results:
        if "flood_p50_ms" not in r:
            continue
        flood = Series("devstack", [], given(r, "flood"))
        quiet = Series("same UI, services quiet", [], given(r, "quiet"))
        notes = [f"{k}={round(r[k], 1) if isinstance(r[k], float) else r[k]}" for k in NOTED if k in r]  # fmt: skip
        figures.append(Figure("ui", title, "ms", None, flood, [quiet],
                              Target(100.0, "p95", "issue 5"), notes))  # fmt: skip
    return figures


NOTED = ("rate_measured_lines_s", "flood_lost", "ui_cpu_flood_pct", "ui_rss_flood_start_mb",
         "ui_rss_end_mb", "ui_rss_flood_quartiles_mb")  # fmt: skip


def given(result: dict[str, Any], phase: str) -> dict[str, float | int]:
    return {"p50": float(result[f"{phase}_p50_ms"]), "p95": float(result[f"{phase}_p95_ms"]),
            "n": int(result[f"{phase}_presses"])}  # fmt: skip


def tmux_results(plan: Plan, seconds: float) -> list[dict[str, Any]]:
    """Through its `run(...)` when it has one, else its `JSON {...}` lines."""
    module = importlib.import_module("ui_keys_tmux")
    run = getattr(module, "run", None)
    presses = 12 if plan.quick else 60
    offered = {"seconds": seconds, "rate": RATE, "presses": presses, "quick": plan.quick}
    if callable(run):
        accepted = inspect.signature(run).parameters
        got = run(**{k: v for k, v in offered.items() if k in accepted})
        return got if isinstance(got, list) else [dict(got)]
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    cmd = [sys.executable, str(HERE / "ui_keys_tmux.py"), "--rate", str(RATE),
           "--seconds", str(seconds), "--presses", str(presses)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-800:]}")
    lines = [line[5:] for line in done.stdout.splitlines() if line.startswith("JSON ")]
    return [json.loads(line) for line in lines]


def emulator_start(plan: Plan) -> list[Figure]:
    """Each emulator started as devstack's providers start it, until ready; baseline: a
    bare interpreter start (how many of those an emulator start costs)."""
    floor = Series("`python -c pass`", [python_pass() for _ in range(max(plan.reps, 5))])
    figures, skipped = [], []
    work = plan.folder("emulators")
    for name in ("ministack", "moto", "localstack"):
        why = emulators.missing(name)
        if why is not None:
            skipped.append(f"{name}: {why}")
            continue
        # The LocalStack container takes ~3-10 s a start: once is enough for --quick.
        reps = 1 if plan.quick and name == "localstack" else plan.reps
        runs = [emulators.run_localstack() if name == "localstack" else emulators.run_process(name, work)
                for _ in range(reps)]  # fmt: skip
        rss = statistics.median(r[1] for r in runs)
        first = statistics.median(r[2] for r in runs)
        figures.append(Figure("emulators", f"{name} start to ready", "s", None,
                              Series("devstack", [r[0] for r in runs]), [floor],
                              notes=[f"RSS once ready p50 {rss:.0f} MiB",
                                     f"first S3 call after ready p50 {first:.3f} s"]))  # fmt: skip
    if skipped and figures:
        figures[-1].notes += [f"skipped {s}" for s in skipped]
    return figures
