"""Hot swap of one backing service with 10 consumers (swap.py), beside the ways to make
the same change without devstack: respawn the 10 with the new variable by hand, restart
honcho on a Procfile that carries it, recreate the 10 containers through the SDK, or edit
a compose file and `docker-compose up -d`. The baselines change the variable only: none
starts an emulator or provisions a bucket, which devstack's figure includes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import peers
import swap
from common import SERVICE, free_ports
from figures import Figure, Series, Target
from plan import Plan

CONSUMERS = 10


def endpoint_env(port: int) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {"AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL": url}


def raw_respawn(root: Path, swaps: int) -> list[float]:
    """SIGTERM the 10, spawn them again with the other endpoint, wait until all answer."""
    (root / "svc.py").write_text(SERVICE)
    ports, targets = free_ports(CONSUMERS), free_ports(2)
    procs = [peers.spawn(root, p, endpoint_env(targets[0])) for p in ports]
    samples = []
    try:
        peers.wait_healthy(ports)
        for index in range(swaps):
            start = time.perf_counter()
            peers.stop(procs)
            procs = [peers.spawn(root, p, endpoint_env(targets[(index + 1) % 2])) for p in ports]
            peers.wait_healthy(ports)
            samples.append(time.perf_counter() - start)
    finally:
        peers.stop(procs)
    return samples


def honcho_swap(root: Path, swaps: int) -> list[float]:
    """Rewrite the Procfile's endpoint for the 10 and restart honcho (it cannot restart a
    subset: the 11th, unchanged service restarts too)."""
    (root / "svc.py").write_text(SERVICE)
    ports, targets = free_ports(CONSUMERS + 1), free_ports(2)

    def procfile(target: int) -> None:
        peers.write_procfile(root, ports, {p: endpoint_env(target) for p in ports[:CONSUMERS]})

    procfile(targets[0])
    proc = peers.honcho_start(root)
    samples = []
    try:
        peers.wait_healthy(ports)
        for index in range(swaps):
            start = time.perf_counter()
            procfile(targets[(index + 1) % 2])
            peers.honcho_stop(proc)
            proc = peers.honcho_start(root)
            peers.wait_healthy(ports)
            samples.append(time.perf_counter() - start)
    finally:
        peers.honcho_stop(proc)
    return samples


def sdk_recreate(api: Any, swaps: int) -> list[float]:
    """Remove the 10 containers and create + start them with the other endpoint, 8 at a
    time (devstack recreates in parallel too), until all answer."""
    ports, targets = free_ports(CONSUMERS), free_ports(2)
    _, ids = peers.sdk_up(api, ports, 8, endpoint_env(targets[0]))
    samples = []
    try:
        for index in range(swaps):
            start = time.perf_counter()
            peers.sdk_remove(api, ids)
            ids = []
            _, ids = peers.sdk_up(api, ports, 8, endpoint_env(targets[(index + 1) % 2]))
            samples.append(time.perf_counter() - start)
    finally:
        peers.sdk_remove(api, ids)
    return samples


def run(plan: Plan) -> list[Figure]:
    # Each round swaps there and back (2 samples); --quick: one round, swap is the longest.
    rounds = 1 if plan.quick else plan.reps
    base = plan.folder("swap")
    ours = swap.process_variant(base, rounds, CONSUMERS)
    figures = [
        Figure("swap", "swap 1 backing service, 10 consumers, processes: command to all healthy",
               "s", CONSUMERS, Series("devstack", ours["all"]),
               [Series("raw: SIGTERM + respawn the 10", raw_respawn(plan.folder("swap-raw"), 2 * rounds)),
                Series("honcho: new Procfile, restart", honcho_swap(plan.folder("swap-honcho"), 2 * rounds))],
               Target(1.2, "p95", "issue 19"),
               [f"CLI-reported commit -> healthy p50 {Series('', ours['reported']).stats()['p50']:.3f} s"]),
    ]  # fmt: skip
    api, why = peers.docker_api()
    if api is None:
        figures[0].notes.append(f"Docker variant skipped: {why}")
        return figures
    docker = swap.docker_variant(base, api, rounds, CONSUMERS)
    bases = [Series("Docker SDK: remove + create 10, 8 threads", sdk_recreate(api, 2 * rounds))]
    binaries, notes = peers.composes()
    for label, binary in binaries:
        http = swap.compose_baseline(base, api, rounds, CONSUMERS, None, binary)
        bases.append(Series(f"{label} `up -d`, HTTP-polled", http["all"]))
        if not plan.quick:
            checked = swap.compose_baseline(base, api, rounds, CONSUMERS, "1s", binary)
            bases.append(Series(f"{label} `up -d`, 1 s healthcheck", checked["all"]))
    figures.append(Figure("swap", "swap 1 backing service, 10 consumers, containers",
                          "s", CONSUMERS, Series("devstack", docker["all"]), bases,
                          Target(1.0, "p95", "issue 19", against="Compose v2 `up -d`, HTTP-polled"),
                          notes))  # fmt: skip
    return figures
