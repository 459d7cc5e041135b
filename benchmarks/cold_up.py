"""Cold `up` of N stdlib HTTP services to all healthy, against raw spawn + port polling.

Also times a no-op `up` on the running stack and checks it restarted nothing.
Usage: python benchmarks/cold_up.py [--services 20] [--rounds 3]
Targets (issue 2): cold up <= 3 s for 20 services on 2 cores; no-op up <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, healthy, summary, write_stack


def raw_spawn(root: Path, ports: list[int]) -> float:
    """The baseline: spawn the same commands, poll every port until it answers."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "svc.py"],
            cwd=root,
            env={**os.environ, "PORT": str(port)},
            start_new_session=True,
        )
        for port in ports
    ]
    pending = set(ports)
    while pending:
        pending = {p for p in pending if not healthy(p)}
        if pending:
            time.sleep(0.01)
    elapsed = time.perf_counter() - start
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait()
    return elapsed


def pids(root: Path) -> dict[str, int]:
    status = json.loads(devstack(root, "status", "--json").stdout)
    return {s["name"]: s["pid"] for s in status["services"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    baseline, cold, noop, restarts = [], [], [], 0
    with tempfile.TemporaryDirectory(prefix="devstack-bench-") as tmp:
        root = Path(tmp)
        for _ in range(args.rounds):
            ports = write_stack(root, args.services)
            baseline.append(raw_spawn(root, ports))
            start = time.perf_counter()
            devstack(root, "up", "-d", "--wait")
            cold.append(time.perf_counter() - start)
            before = pids(root)
            for _ in range(3):
                start = time.perf_counter()
                devstack(root, "up", "-d", "--wait")
                noop.append(time.perf_counter() - start)
            after = pids(root)
            restarts += sum(1 for name in before if before[name] != after[name])
            devstack(root, "down")
    base, up_, again = summary(baseline), summary(cold), summary(noop)
    emit(
        "cold_up",
        {
            "services": args.services,
            "raw_spawn_p50_s": base["p50"],
            "devstack_p50_s": up_["p50"],
            "devstack_p95_s": up_["p95"],
            "ratio_p50": up_["p50"] / base["p50"],
            "target_s": 3.0,
        },
    )
    emit(
        "noop_up",
        {"p50_s": again["p50"], "p95_s": again["p95"], "restarts": restarts, "target_s": 0.2},
    )


if __name__ == "__main__":
    main()
