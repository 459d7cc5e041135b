"""Process stacks: cold up, no-op up, status, save -> running, the idle daemon.

Every stack is N stdlib HTTP services (common.SERVICE) run by the venv's interpreter;
the baselines run the very same commands (peers.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import daemon_idle
import peers
import reload
from common import CLI, devstack, free_ports, write_stack
from figures import Figure, Series, Target, p50_text
from phases import breakdown, summary
from plan import Plan, python_pass


def devstack_up_ready(
    root: Path, ports: list[int], phases: list[dict[str, float]] | None = None
) -> tuple[float, float]:
    """`up -d --wait` timed to every port answering (the harness's readiness test, as for
    the baselines) and, separately, to the CLI returning. With `phases`, the run is
    traced (DEVSTACK_TRACE) and its time budget appended there.

    The ports are polled once the CLI returned, as every baseline's are once its command
    returned (`docker compose up -d`, the SDK's start calls): a published port polled
    while its container starts answers only ~0.8 s later (docker-proxy accepts, the first
    connection to the container's address stalls), for Compose v2 and devstack alike.
    This harness used to poll devstack during its `up` and the baselines after theirs,
    which charged devstack that 0.8 s alone (docs/performance.md, "Method")."""
    cmd = [*CLI, "up", "-d", "--wait", "--wait-timeout", "600"]
    trace = root / "trace.txt"
    trace.unlink(missing_ok=True)
    env = {**os.environ, "DEVSTACK_TRACE": str(trace)} if phases is not None else None
    origin = time.monotonic()  # the clock of the marks
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env,
                          timeout=600, check=False)  # fmt: skip
    returned = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"devstack up failed ({done.returncode}):\n{done.stderr[-2000:]}")
    peers.wait_healthy(ports)
    ready = time.perf_counter() - start
    if phases is not None:
        budget = breakdown(trace, origin)
        budget["harness sees all answering"] = ready
        phases.append(budget)
    return ready, returned


def pids(root: Path) -> dict[str, int]:
    return {s["name"]: s["pid"] for s in json.loads(devstack(root, "status", "--json").stdout)["services"]}  # fmt: skip


def timed_cli(root: Path, *args: str) -> float:
    start = time.perf_counter()
    devstack(root, *args)
    return time.perf_counter() - start


def cold_up(plan: Plan) -> list[Figure]:
    """Per scale: raw spawn, honcho, devstack cold up; then no-op ups and status."""
    figures: list[Figure] = []
    floor = Series("interpreter start (`python -c pass`)", [])
    for n in plan.scales:
        raw, honcho, cold, cli = Series("raw spawn", []), Series("honcho", []), Series("devstack", []), []  # fmt: skip
        budgets: list[dict[str, float]] = []
        noop, status, restarted = Series("devstack", []), Series("devstack", []), 0
        backing, logs, first = Series("devstack", []), Series("devstack", []), Series("devstack", [])  # fmt: skip
        root = plan.folder(f"cold-{n}")
        for _ in range(plan.reps):
            ports = write_stack(root, n)
            raw.samples.append(peers.raw_spawn_up(root, ports))
            honcho.samples.append(peers.honcho_up(root, ports))
            try:
                ready, returned = devstack_up_ready(root, ports, budgets)
                cold.samples.append(ready)
                cli.append(returned)
                # Its own figure: the daemon loads its API once the first `up --wait`
                # settled (daemon/boot.py), and a call right after may wait for that.
                # The everyday calls below are timed on the settled daemon.
                first.samples.append(timed_cli(root, "status", "--json"))
                before = pids(root)
                for _ in range(2):
                    noop.samples.append(timed_cli(root, "up", "-d", "--wait"))
                    status.samples.append(timed_cli(root, "status", "--json"))
                    backing.samples.append(timed_cli(root, "backing", "--json"))
                    logs.samples.append(timed_cli(root, "logs", "-n", "10"))
                    floor.samples.append(python_pass())
                after = pids(root)
                restarted += sum(1 for name in before if before[name] != after.get(name))
            finally:
                subprocess.run([sys.executable, "-m", "devstack.cli.main", "down"], cwd=root,
                               capture_output=True, check=False, timeout=120)  # fmt: skip
        cli_note = f"`up -d --wait` returned at p50 {p50_text(cli)}"
        figures.append(Figure("cold_up", "cold `up -d --wait`, processes, to all answering",
                              "s", n, cold, [honcho, raw],
                              Target(1.5 if n == 1 else 1.2, "p50", "issue 19", against="honcho"),
                              [cli_note, summary(budgets)]))  # fmt: skip
        figures.append(Figure("cold_up", "`status --json` right after the cold `up` returned, processes",
                              "s", n, first, [floor], None,
                              ["the daemon loads its HTTP API once the first `up --wait` "
                               "settled: the first call may wait for it"]))  # fmt: skip
        figures.append(everyday("no-op `up -d --wait`, processes", n, noop, floor,
                                [f"services restarted by the no-op ups: {restarted}"]))  # fmt: skip
        figures.append(everyday("`status --json`, processes", n, status, floor))
        figures.append(everyday("`backing --json`, processes", n, backing, floor))
        figures.append(everyday("`logs -n 10`, every service, processes", n, logs, floor))
    return figures


def everyday(
    title: str, n: int, ours: Series, floor: Series, notes: list[str] | None = None
) -> Figure:
    """An everyday CLI call: p50 <= 100 ms and <= 4x `python -c pass` (issue 19)."""
    return Figure("cold_up", title, "s", n, ours, [floor], Target(0.1, "p50", "issue 19"),
                  notes or [], [Target(4.0, "p50", "issue 19", against=floor.label)])  # fmt: skip


def honcho_restart(root: Path, ports: list[int], rounds: int) -> list[float]:
    """What a honcho user does after a config change: stop it, start it, wait for all."""
    peers.write_procfile(root, ports)
    proc = peers.honcho_start(root)
    samples = []
    try:
        peers.wait_healthy(ports)
        for _ in range(rounds):
            start = time.perf_counter()
            peers.honcho_stop(proc)
            proc = peers.honcho_start(root)
            peers.wait_healthy(ports)
            samples.append(time.perf_counter() - start)
    finally:
        peers.honcho_stop(proc)
    return samples


def save_to_running(plan: Plan) -> list[Figure]:
    """A manifest save (temp file renamed over it) -> the edited service's new process
    answers with the new value (reload.one_edit); baselines restart by hand."""
    figures = []
    edits = max(plan.reps * 4, 2)
    for n in plan.scales:
        root = plan.folder(f"reload-{n}")
        ports = write_stack(root, n)
        base = (root / "devstack.yaml").read_text()
        devstack(root, "up", "-d", "--wait", "--wait-timeout", "600")
        try:
            ours = [reload.one_edit(root, base, value, ports[0]) for value in range(edits)]
        finally:
            devstack(root, "down")
        spare = write_stack(root / "baseline", 1)[0]
        raw = [reload.manual_restart(root / "baseline", spare) for _ in range(edits)]
        honcho = honcho_restart(root, free_ports(n), max(plan.reps, 2))
        figures.append(Figure("reload", "manifest save -> edited service running, processes", "s", n,
                              Series("devstack", ours),
                              [Series("raw: SIGTERM, spawn, poll (one service)", raw),
                               Series(f"honcho: stop and start all {n}", honcho)],
                              Target(0.3, "p95", "issue 5")))  # fmt: skip
    return figures


def idle(plan: Plan) -> list[Figure]:
    """The daemon at rest with N services (30 in a full run, the target's stack) and a
    watched tree (50k files; 5k in --quick), over `reps` windows; honcho running the same
    services is measured the same way."""
    n = 10 if plan.quick else 30
    files, window = (5_000, 2.0) if plan.quick else (50_000, 4.0)
    windows = max(plan.reps, 3)
    root = plan.folder("idle")
    ports = write_stack(root, n)
    daemon_idle.make_tree(root / "tree", files)
    manifest = root / "devstack.yaml"
    manifest.write_text(manifest.read_text().replace("  s0:\n", "  s0:\n    watch: [{path: tree}]\n", 1))  # fmt: skip
    devstack(root, "up", "-d", "--wait", "--wait-timeout", "600")
    try:
        pid = json.loads(devstack(root, "status", "--json").stdout)["daemon_pid"]
        settle(pid)
        cpu = [daemon_idle.idle(pid, window) for _ in range(windows)]
        rss = [daemon_idle.rss_mb(pid)]
    finally:
        devstack(root, "down")
    peers.write_procfile(root, ports)
    proc = peers.honcho_start(root)
    try:
        peers.wait_healthy(ports)
        settle(proc.pid)
        h_cpu = [daemon_idle.idle(proc.pid, window) for _ in range(windows)]
        h_rss = [daemon_idle.rss_mb(proc.pid)]
    finally:
        peers.honcho_stop(proc)
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)  # the interpreter's start-up; its RSS is the figure, not a condition
        bare_rss = [daemon_idle.rss_mb(bare.pid)]
    finally:
        bare.kill()
        bare.wait()
    note = f"{n} services, one watching a {files:,}-file tree; {windows} windows of {window:g} s"
    return [
        Figure("idle", "idle daemon CPU (% of one core)", "%core", n, Series("devstack", cpu),
               [Series(f"honcho running the same {n}", h_cpu)], Target(1.0, "p50", "issue 5"), [note]),
        Figure("idle", "idle daemon RSS", "MB", n, Series("devstack", rss),
               [Series(f"honcho running the same {n}", h_rss), Series("bare `python`", bare_rss)],
               Target(80.0, "p50", "issue 5"), [note]),
    ]  # fmt: skip


def settle(pid: int, quiet: float = 0.02, deadline: float = 15.0) -> None:
    """Until the process used < `quiet` of a core over 0.5 s (start-up work is done)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if daemon_idle.idle(pid, 0.5) < quiet * 100:
            return
