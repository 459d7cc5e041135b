"""Run every benchmark with its baselines; write results/<timestamp>.json and .md.

Each figure is measured beside its baselines in the same run (raw spawn, honcho, the
Docker SDK, docker-compose, a bare interpreter), so ratios hold even on a busy machine.
A benchmark that cannot run here (no engine, no image) is skipped with the reason; one
that fails is reported as failed and the others still run (exit status 1).

Usage: python benchmarks/run_all.py [--quick] [--only NAME[,NAME]] [--out DIR]
                                    [--scales 1,10,50] [--reps N]
Full run (about 30 min on 2 cores): scales 1, 10, 50 (and 100 for status), 5 repetitions.
--quick (a few minutes): scales 1 and 10, 2 repetitions, shorter windows and floods.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import machine  # noqa: E402 - the benchmarks import each other as top-level modules
import report  # noqa: E402
from figures import Figure, brief  # noqa: E402
from plan import Plan, Skipped  # noqa: E402

Benchmark = Callable[[Plan], list[Figure]]


def registry() -> dict[str, Benchmark]:
    """Name -> benchmark, in the order a run takes them: those with targets from the
    issues first, so an interrupted run (results are written after each) has them."""
    import data_carry
    import suite_docker
    import suite_misc
    import suite_process
    import suite_swap

    return {
        "cold_up": suite_process.cold_up,  # cold up, no-op up, status: processes
        "reload": suite_process.save_to_running,
        "idle": suite_process.idle,
        "ui": suite_misc.ui,
        "swap": suite_swap.run,
        "data_carry": data_carry.run,
        "emulators": suite_misc.emulator_start,
        "docker_up": suite_docker.docker_up,  # cold up, no-op up: containers
        "status": suite_docker.status,
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="scales 1,10, 2 repetitions, short windows (a few minutes)")  # fmt: skip
    parser.add_argument("--only", metavar="NAME[,NAME]", help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=HERE / "results", metavar="DIR",
                        help="where <timestamp>.json and .md go (default: benchmarks/results)")  # fmt: skip
    parser.add_argument("--scales", metavar="N[,N]", help="service counts (default 1,10,50)")
    parser.add_argument("--reps", type=int, help="repetitions per scale (default 5, quick 2)")
    args = parser.parse_args(argv)
    names = registry()
    args.names = list(names) if not args.only else args.only.split(",")
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")
    try:
        args.scale_list = tuple(int(s) for s in (args.scales or ("1,10" if args.quick else "1,10,50")).split(","))  # fmt: skip
    except ValueError:
        parser.error(f"--scales: expected numbers separated by commas, got {args.scales!r}")
    if any(n < 1 for n in args.scale_list) or (args.reps is not None and args.reps < 1):
        parser.error("--scales and --reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = datetime.now(UTC)
    reps = args.reps or (2 if args.quick else 5)
    header: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "mode": ("quick" if args.quick else "full")
        + (" (scales/reps set by hand)" if args.scales or args.reps else ""),
        "scales": list(args.scale_list),
        "reps": reps,
        "machine": machine.describe(HERE.parent),
        "bytecode": machine.cache_bytecode(HERE.parent),
    }
    before = machine.load_average()
    figures: list[Figure] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    benchmarks = registry()
    clock = time.monotonic()
    stem = args.out / started.strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)

    def write(state: str) -> str:
        """The results so far: written after every benchmark, so an interrupted or
        crashed run still leaves what it measured."""
        run = {**header, "state": state, "duration_s": time.monotonic() - clock,
               "load_average": {"before": before, "after": machine.load_average()},
               "skipped": skipped, "failed": failed, "figures": [f.to_json() for f in figures]}  # fmt: skip
        text = report.markdown(run, figures)
        stem.with_suffix(".json").write_text(json.dumps(run, indent=1) + "\n")
        stem.with_suffix(".md").write_text(text)
        return text

    with tempfile.TemporaryDirectory(prefix="devstack-bench-") as tmp:
        for name in args.names:
            plan = Plan(args.scale_list, reps, args.quick, Path(tmp) / name)
            print(f"== {name}", file=sys.stderr, flush=True)
            began = time.monotonic()
            try:
                figures.extend(benchmarks[name](plan))
            except Skipped as why:
                skipped[name] = str(why)
            except KeyboardInterrupt:
                write(f"interrupted during {name}")
                print(f"interrupted: partial results in {stem}.json and .md", file=sys.stderr)
                return 130
            except (Exception, SystemExit) as exc:  # the older scripts exit with a message
                failed[name] = brief(exc)
                traceback.print_exc(file=sys.stderr)
            print(f"   {name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
            write(f"running, {name} done")
    print(write("complete"))
    print(f"written: {stem}.json and .md", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
