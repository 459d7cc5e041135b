"""Container stacks: cold up, no-op up, and `status` at N containers.

Every stack is N busybox httpd containers (devstack-test/busybox:1, never pulled) with an
init process and one port published on 127.0.0.1; the baselines create the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import peers
from common import devstack, free_ports
from figures import Figure, Series, Target, brief, p50_text
from phases import summary
from plan import Plan, Skipped, python_pass
from suite_process import devstack_up_ready, timed_cli


def write_stack(root: Path, n: int) -> tuple[str, list[int]]:
    """A manifest of N containers on fixed free host ports (so the harness can poll them
    as it polls the baselines'); returns the stack's name and those ports."""
    name = f"dbench{uuid.uuid4().hex[:8]}"
    ports = free_ports(n)
    lines = [f"name: {name}", "services:"]
    for index, port in enumerate(ports):
        lines += [
            f"  c{index}:",
            f"    image: {peers.IMAGE}",
            f"    command: {json.dumps(peers.HTTPD)}",
            f'    ports: ["{port}:8080"]',
            "    healthcheck: {http: /health, interval: 5s, start_interval: 50ms}",
            "    stop_grace: 1s",
        ]
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")
    return name, ports


def down(root: Path) -> None:
    subprocess.run([sys.executable, "-m", "devstack.cli.main", "down"], cwd=root,
                   capture_output=True, check=False, timeout=600)  # fmt: skip


def containers(api: Any, stack: str) -> set[str]:
    return {c["Id"] for c in api.containers(filters={"label": f"devstack.stack-name={stack}"})}


def engine() -> Any:
    api, why = peers.docker_api()
    if api is None:
        raise Skipped(why)
    return api


def docker_up(plan: Plan) -> list[Figure]:
    api = engine()
    binaries, missing = peers.composes()
    figures = []
    for n in plan.scales:
        serial, threaded = Series("Docker SDK, serial", []), Series("Docker SDK, 8 threads", [])
        composed = [(Series(label, []), Series(f"{label} `up -d`", []), binary)
                    for label, binary in binaries]  # fmt: skip
        cold, noop, recreated, cli = Series("devstack", []), Series("devstack", []), 0, []
        first = Series("devstack", [])
        budgets: list[dict[str, float]] = []
        root = plan.folder(f"docker-{n}")
        # Four cold ups per repetition, each of up to 50 containers: 3 repetitions keep a
        # full run near 30 minutes on 2 cores.
        failures = []
        for rep in range(min(plan.reps, 3)):
            # One failed repetition (a container unhealthy on a loaded machine) costs
            # its samples only, not the whole benchmark.
            try:
                ports = free_ports(n)
                for series, threads in ((serial, 1), (threaded, 8)):
                    took, ids = peers.sdk_up(api, ports, threads)
                    series.samples.append(took)
                    peers.sdk_remove(api, ids)
                for compose, compose_noop, binary in composed:
                    project = peers.Compose(root / "compose", ports, binary)
                    try:
                        compose.samples.append(project.up())
                        start = time.perf_counter()
                        project.run("up", "-d")
                        compose_noop.samples.append(time.perf_counter() - start)
                    finally:
                        project.down()
                stack, ports = write_stack(root, n)
                try:
                    ready, returned = devstack_up_ready(root, ports, budgets)
                    cold.samples.append(ready)
                    cli.append(returned)
                    # As for processes (suite_process.cold_up): the first call after
                    # the cold `up` is a figure of its own; the no-op `up` is timed next.
                    first.samples.append(timed_cli(root, "status", "--json"))
                    before = containers(api, stack)
                    noop.samples.append(timed_cli(root, "up", "-d", "--wait"))
                    recreated += len(before - containers(api, stack))
                finally:
                    down(root)
            except (Exception, SystemExit) as exc:
                failures.append(f"repetition {rep + 1} failed: {brief(exc)}")
        notes = [f"`up -d --wait` returned at p50 {p50_text(cli)}", summary(budgets), *failures, *missing]  # fmt: skip
        goals = [Target(1.0 if n == 1 else 0.8, "p50", "issue 19", against="Compose v2")]
        if n > 1:
            goals.append(Target(1.15, "p50", "issue 19", against=threaded.label))
        bases = [c for c, _, _ in composed if c.samples] + [threaded, serial]
        figures.append(Figure("docker_up", "cold `up -d --wait`, containers, to all answering",
                              "s", n, cold, bases, goals[0], notes, goals[1:]))  # fmt: skip
        figures.append(Figure("docker_up", "`status --json` right after the cold `up` returned, containers",
                              "s", n, first, [], None,
                              ["the daemon loads its HTTP API once the first `up --wait` "
                               "settled: the first call may wait for it"]))  # fmt: skip
        figures.append(Figure("docker_up", "no-op `up -d --wait`, containers", "s", n, noop,
                              [c for _, c, _ in composed if c.samples],
                              Target(0.3, "p95", "issue 3"),
                              [f"containers recreated by the no-op ups: {recreated}"]))  # fmt: skip
    return figures


def status(plan: Plan) -> list[Figure]:
    """`devstack status --json` with N containers running, against what a user could type
    instead (`docker ps` with the stack's label) and the SDK's one list call."""
    api = engine()
    scales = sorted({*plan.scales, *(() if plan.quick else (100,))})
    figures = []
    for n in scales:
        root = plan.folder(f"status-{n}")
        stack, _ = write_stack(root, n)
        ours, ps, sdk, floor = Series("devstack", []), Series("`docker ps`", []), Series("Docker SDK list", []), Series("`python -c pass`", [])  # fmt: skip
        label = f"label=devstack.stack-name={stack}"
        notes = []
        try:
            devstack(root, "up", "-d", "--wait", "--wait-timeout", "600")
            # Untimed: the first call after a cold `up` waits for the daemon's API to
            # load (docker_up times that call as a figure of its own).
            devstack(root, "status", "--json")
            for _ in range(max(plan.reps * 3, 3)):
                ours.samples.append(timed_cli(root, "status", "--json"))
                start = time.perf_counter()
                subprocess.run(["docker", "ps", "--filter", label], capture_output=True, check=True)
                ps.samples.append(time.perf_counter() - start)
                start = time.perf_counter()
                api.containers(filters={"label": f"devstack.stack-name={stack}"})
                sdk.samples.append(time.perf_counter() - start)
                floor.samples.append(python_pass())
        except (Exception, SystemExit) as exc:
            notes.append(f"failed: {brief(exc)}")
        finally:
            down(root)
        figures.append(Figure("status", "`status --json`, containers", "s", n, ours,
                              [ps, sdk, floor], Target(0.1, "p50", "issue 19"), notes,
                              [Target(4.0, "p50", "issue 19", against=floor.label)]))  # fmt: skip
    return figures
