"""The daemon at rest: 30 services running, one of them watching a 50k-file tree.

Measures the daemon process's CPU (share of one core) over an idle window and its RSS,
against a bare Python interpreter measured in the same run (the floor any Python daemon
pays). Usage: python benchmarks/daemon_idle.py [--services 30] [--files 50000] [--window 10]
Targets (issue 5): <= 1% of a core, <= 80 MB RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, write_stack

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_tree(root: Path, files: int) -> None:
    per_dir = 10
    for index in range(files):
        folder = root / f"d{index // (per_dir * 100)}" / f"e{(index // per_dir) % 100}"
        if index % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index}.py").write_text("x = 1\n")


def idle(pid: int, window: float) -> float:
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(window)  # the measurement window itself: nothing to wait for
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp:
        root = Path(tmp)
        write_stack(root, args.services)
        make_tree(root / "tree", args.files)
        manifest = root / "devstack.yaml"
        text = manifest.read_text().replace("  s0:\n", "  s0:\n    watch: [{path: tree}]\n", 1)
        manifest.write_text(text)
        devstack(root, "up", "-d", "--wait")
        try:
            pid = json.loads(devstack(root, "status", "--json").stdout)["daemon_pid"]
            time.sleep(2.0)  # let start-up work (first health rounds) finish
            cpu = idle(pid, args.window)
            rss = rss_mb(pid)
        finally:
            devstack(root, "down")
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.5)
        bare_rss = rss_mb(bare.pid)
    finally:
        bare.kill()
        bare.wait()
    emit(
        "daemon_idle",
        {
            "services": args.services,
            "watched_files": args.files,
            "cpu_pct_of_core": cpu,
            "target_cpu_pct": 1.0,
            "rss_mb": rss,
            "target_rss_mb": 80.0,
            "bare_python_rss_mb": bare_rss,
            "rss_ratio_vs_bare_python": rss / bare_rss,
        },
    )


if __name__ == "__main__":
    main()
