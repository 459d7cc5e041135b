"""Cold `up` of N containers to all healthy, against raw Docker SDK create+start.

Both sides run the same image (devstack-test/busybox:1, built by scripts/test-images.sh),
publish one port on 127.0.0.1 with an init process, and count as done when every
container answers HTTP on its published port. Also: no-op `up` and `status` on the stack.
Usage: python benchmarks/docker_up.py [--services 20] [--rounds 3]
Targets (issue 3): cold up <= 1.15x raw SDK; no-op up <= 300 ms with 0 recreated.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, free_ports, healthy, summary

IMAGE = "devstack-test/busybox:1"
COMMAND = ["httpd", "-f", "-p", "8080", "-h", "/www"]


def write_stack(root: Path, count: int) -> None:
    lines = ["name: dbench", "services:"]
    for index in range(count):
        lines += [
            f"  c{index}:",
            f"    image: {IMAGE}",
            f"    command: {json.dumps(COMMAND)}",
            '    ports: ["8080"]',
            "    healthcheck: {http: /health, interval: 5s, start_interval: 50ms}",
            "    stop_grace: 1s",
        ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")


def raw_sdk(count: int) -> float:
    api = docker.APIClient(version="auto")
    ports = free_ports(count)
    start = time.perf_counter()
    ids = []
    for index, port in enumerate(ports):
        host_config = api.create_host_config(
            port_bindings={"8080/tcp": ("127.0.0.1", port)}, init=True
        )
        created = api.create_container(IMAGE, COMMAND, name=f"rawbench-{index}", ports=[8080],
                                       host_config=host_config, labels={"rawbench": "1"})  # fmt: skip
        api.start(created["Id"])
        ids.append(created["Id"])
    pending = set(ports)
    while pending:
        pending = {p for p in pending if not healthy(p)}
    elapsed = time.perf_counter() - start
    for cid in ids:
        api.remove_container(cid, force=True)
    return elapsed


def compose(root: Path, count: int) -> float | None:
    """The same containers through Debian's docker-compose (None when it is not installed)."""
    if shutil.which("docker-compose") is None:
        return None
    ports = free_ports(count)
    services = {
        f"c{index}": {
            "image": IMAGE,
            "command": COMMAND,
            "init": True,
            "ports": [f"127.0.0.1:{port}:8080"],
        }
        for index, port in enumerate(ports)
    }
    folder = root / "compose"
    folder.mkdir(exist_ok=True)
    (folder / "docker-compose.yml").write_text(json.dumps({"version": "2.4", "services": services}))
    cmd = ["docker-compose", "-p", "cbench"]
    start = time.perf_counter()
    subprocess.run([*cmd, "up", "-d"], cwd=folder, capture_output=True, check=True)
    pending = set(ports)
    while pending:
        pending = {p for p in pending if not healthy(p)}
    elapsed = time.perf_counter() - start
    subprocess.run([*cmd, "down", "-t", "1"], cwd=folder, capture_output=True, check=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raw: list[float] = []
    cold: list[float] = []
    noop: list[float] = []
    status: list[float] = []
    composed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="devstack-dbench-") as tmp:
        root = Path(tmp)
        write_stack(root, args.services)
        for _ in range(args.rounds):
            took = compose(root, args.services)
            if took is not None:
                composed.append(took)
        try:
            recreated = measure(root, args.rounds, args.services, raw, cold, noop, status)
        finally:
            subprocess.run([sys.executable, "-m", "devstack.cli.main", "down"], cwd=root,
                           capture_output=True, check=False)  # fmt: skip
    base, up_, again, st = summary(raw), summary(cold), summary(noop), summary(status)
    emit_all(args.services, base, up_, again, st, recreated)
    if composed:
        other = summary(composed)
        emit("docker_cold_up_vs_compose", {"containers": args.services,
             "compose_p50_s": other["p50"], "devstack_p50_s": up_["p50"],
             "ratio_p50": up_["p50"] / other["p50"]})  # fmt: skip


def measure(root: Path, rounds: int, services: int, raw: list[float], cold: list[float],
            noop: list[float], status: list[float]) -> int:  # fmt: skip
    """Fill the sample lists; returns how many containers a no-op `up` recreated."""
    recreated = 0
    for _ in range(rounds):
        raw.append(raw_sdk(services))
        start = time.perf_counter()
        devstack(root, "up", "-d", "--wait")
        cold.append(time.perf_counter() - start)
        api = docker.APIClient(version="auto")
        before = {c["Id"] for c in api.containers(filters={"label": "devstack.stack-name=dbench"})}
        for _ in range(3):
            start = time.perf_counter()
            devstack(root, "up", "-d", "--wait")
            noop.append(time.perf_counter() - start)
            start = time.perf_counter()
            devstack(root, "status", "--json")
            status.append(time.perf_counter() - start)
        after = {c["Id"] for c in api.containers(filters={"label": "devstack.stack-name=dbench"})}
        recreated += len(before - after)
        devstack(root, "down")
    return recreated


def emit_all(services: int, base: dict[str, float], up_: dict[str, float],
             again: dict[str, float], st: dict[str, float], recreated: int) -> None:  # fmt: skip
    emit("docker_cold_up", {"containers": services, "raw_sdk_p50_s": base["p50"],
                            "devstack_p50_s": up_["p50"], "devstack_p95_s": up_["p95"],
                            "ratio_p50": up_["p50"] / base["p50"], "target_ratio": 1.15})  # fmt: skip
    emit("docker_noop_up", {"p50_s": again["p50"], "p95_s": again["p95"],
                            "recreated": recreated, "target_s": 0.3})  # fmt: skip
    emit("docker_status", {"containers": services, "p50_s": st["p50"], "p95_s": st["p95"]})


if __name__ == "__main__":
    main()
