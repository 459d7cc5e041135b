"""The benchmark harness, run for real in its smallest mode: one benchmark (cold up of a
process stack), N=1, one repetition. It checks what the harness writes, never timings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "run_all.py"
# A real daemon, honcho and raw spawn: seconds on an idle machine, a minute on a busy one.
pytestmark = pytest.mark.timeout(300)


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True,
                          text=True, check=False, timeout=280)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:  # fmt: skip
    out = tmp_path_factory.mktemp("results")
    return harness("--only", "cold_up", "--scales", "1", "--reps", "1", "--out", str(out)), out


def test_a_tiny_run_writes_one_json_and_one_markdown_file(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:  # fmt: skip
    done, out = tiny_run
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("*.json"))) == 1
    assert len(list(out.glob("*.md"))) == 1
    assert done.stdout == next(out.glob("*.md")).read_text() + "\n"


def test_the_json_records_the_machine_and_every_figure_beside_its_baselines(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:  # fmt: skip
    _, out = tiny_run
    run = json.loads(next(out.glob("*.json")).read_text())
    for key in ("cpu_model", "cores", "ram_gib", "kernel", "python", "docker_server", "honcho"):
        assert key in run["machine"]
    assert len(run["load_average"]["before"]) == 3
    assert len(run["load_average"]["after"]) == 3
    assert run["failed"] == {}
    cold = next(f for f in run["figures"] if f["figure"].startswith("cold `up"))
    assert cold["benchmark"] == "cold_up"
    assert cold["scale"] == 1
    assert cold["unit"] == "s"
    assert {"p50", "p95", "n"} <= set(cold["devstack"])
    assert cold["devstack"]["n"] == 1
    assert set(cold["baselines"]) == {"raw spawn", "honcho"}
    assert set(cold["ratios"]) == {"raw spawn", "honcho"}
    assert {"p50", "p95"} <= set(cold["ratios"]["honcho"])
    noop = next(f for f in run["figures"] if f["figure"].startswith("no-op"))
    assert set(noop["target"]) >= {"value", "stat", "met", "missed_by"}


def test_the_markdown_has_the_machine_the_load_and_a_row_per_figure(tiny_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:  # fmt: skip
    _, out = tiny_run
    text = next(out.glob("*.md")).read_text()
    run = json.loads(next(out.glob("*.json")).read_text())
    assert "- Machine: " in text
    assert "- Load average (1/5/15 min): before " in text
    assert "| figure | N | devstack | baselines, same run | ratio p50 | target |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(run["figures"])
    assert any("raw spawn" in row and "honcho" in row for row in rows)


def test_an_unknown_benchmark_is_named_in_a_usage_error() -> None:
    done = harness("--only", "cold_upp")
    assert done.returncode == 2
    assert "unknown benchmark(s) cold_upp" in done.stderr
    assert "Traceback" not in done.stderr
