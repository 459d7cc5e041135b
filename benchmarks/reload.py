"""Live reload: a saved manifest edit -> the affected service running with the change.

A stack of 5 stdlib HTTP services; each round rewrites the manifest the way an editor
saves (a temp file renamed over it) with a new env value for one service, then measures
until a new process of that service carries the value (its /proc environ) and answers
its health check. Baseline, same run: the time to restart that service by hand with
`kill` + spawn + port poll (what the reload itself must at least pay).
Usage: python benchmarks/reload.py [--edits 20]
Target (issue 5): <= 300 ms p95 on the process runtime.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, healthy, summary, write_stack


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(
        item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
    )


def pid_of(root: Path, name: str) -> int | None:
    status = json.loads(devstack(root, "status", "--json").stdout)
    for entry in status["services"]:
        if entry["name"] == name and entry["state"] == "running":
            return entry["pid"]
    return None


def save(manifest: Path, text: str) -> None:
    temp = manifest.with_suffix(".tmp")
    temp.write_text(text)
    temp.replace(manifest)


def one_edit(root: Path, base: str, value: int, port: int) -> float:
    manifest = root / "devstack.yaml"
    text = base.replace("  s0:\n", f'  s0:\n    env: {{EDIT: "{value}"}}\n', 1)
    started = time.perf_counter()
    save(manifest, text)
    deadline = started + 10.0
    wanted = str(value)
    while time.perf_counter() < deadline:
        # Scan /proc directly: polling the daemon would add its own latency to the figure.
        for entry in Path("/proc").iterdir():
            carries = entry.name.isdigit() and environ(int(entry.name)).get("EDIT") == wanted
            if carries and healthy(port):
                return time.perf_counter() - started
        time.sleep(0.005)
    logs = devstack(root, "logs", "devstack").stdout[-1500:]
    raise SystemExit(f"edit {value} was not applied within 10 s; the daemon said:\n{logs}")


def manual_restart(root: Path, port: int) -> float:
    """The baseline: SIGTERM a copy of the service, spawn it again, poll its port."""
    proc = subprocess.Popen([sys.executable, "svc.py"], cwd=root, env={"PORT": str(port)})
    while not healthy(port):
        time.sleep(0.005)
    started = time.perf_counter()
    proc.terminate()
    proc.wait()
    proc = subprocess.Popen([sys.executable, "svc.py"], cwd=root, env={"PORT": str(port)})
    while not healthy(port):
        time.sleep(0.005)
    took = time.perf_counter() - started
    proc.terminate()
    proc.wait()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as tmp:
        root = Path(tmp)
        ports = write_stack(root, 5)
        base = (root / "devstack.yaml").read_text()
        devstack(root, "up", "-d", "--wait")
        try:
            samples = [one_edit(root, base, value, ports[0]) for value in range(args.edits)]
        finally:
            devstack(root, "down")
        spare = write_stack(root / "baseline", 1)[0]
        baseline = [manual_restart(root / "baseline", spare) for _ in range(5)]
    ours, raw = summary(samples), summary(baseline)
    emit(
        "reload_process",
        {
            "edits": args.edits,
            "p50_s": ours["p50"],
            "p95_s": ours["p95"],
            "target_p95_s": 0.3,
            "manual_restart_p50_s": raw["p50"],
            "ratio_p50": ours["p50"] / raw["p50"],
        },
    )


if __name__ == "__main__":
    main()
