"""What a stack runs while no daemon does, and stopping it, from labels alone.

A daemon that died (SIGKILL, OOM, a reboot of the terminal) leaves its services running:
they write to files, not pipes. `status` and `down` must still see and stop them, as
compose does without any daemon: host processes by the state file and the
`DEVSTACK_OWNER` mark (each pid checked against its start ticks), containers by their
`devstack.stack` label. Nothing here loads the manifest: it may be the thing that broke.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.runtimes import engine_target, procfs
from devstack.runtimes.process import peek, scan_owned

DOCKER_TIMEOUT = 5  # an engine that does not answer must not hang `status`


@dataclass(frozen=True)
class Leftover:
    service: str
    replica: int
    runtime: str  # "process" or "docker"
    pid: int | None
    ident: str  # "<pid>:<start ticks>" for a process, the container id for docker
    started_at: float | None


def find(state_dir: Path, stack_id: str) -> list[Leftover]:
    """Running instances of this stack, by state file, owner mark and container label."""
    found: dict[str, Leftover] = {}
    for w in peek(state_dir):
        ticks = procfs.start_ticks(w.pid) if w.pid else None
        if w.state == "running" and w.pid and ticks is not None:
            found[f"{w.pid}:{ticks}"] = Leftover(
                w.service, w.replica, "process", w.pid, f"{w.pid}:{ticks}", w.started_at
            )
    for pid, ticks, (service, replica, _) in scan_owned(stack_id):
        found.setdefault(
            f"{pid}:{ticks}", Leftover(service, replica, "process", pid, f"{pid}:{ticks}", None)
        )
    items = list(found.values())
    items.extend(_containers(state_dir, stack_id))
    return sorted(items, key=lambda i: (i.service, i.replica))


def stop(leftovers: list[Leftover], grace: float, state_dir: Path | None = None) -> list[str]:
    """SIGTERM every process group (then SIGKILL after `grace`), stop and remove every
    container (on the stack's engine, kept in `state_dir`); what could not be stopped,
    one line each."""
    processes = [i for i in leftovers if i.runtime == "process" and _still(i)]
    for item in processes:
        _signal(item, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_still(i) for i in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    for item in processes:
        if _still(item):
            _signal(item, signal.SIGKILL)
    failures: list[str] = []
    containers = [i for i in leftovers if i.runtime == "docker"]
    if containers:
        try:
            api = _docker(state_dir)
            for item in containers:
                api.stop(item.ident, timeout=int(grace))
                api.remove_container(item.ident, force=True)
        except Exception as exc:  # the engine went away: say which were left
            failures.extend(f"{i.service}#{i.replica}: {exc}" for i in containers)
    deadline = time.monotonic() + 5.0
    while any(_still(i) for i in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    failures.extend(f"{i.service}#{i.replica} (pid {i.pid})" for i in processes if _still(i))
    return failures


def _still(item: Leftover) -> bool:
    pid, _, ticks = item.ident.partition(":")
    return procfs.is_alive(int(pid), int(ticks)) or procfs.group_alive(int(pid))


def _signal(item: Leftover, sig: signal.Signals) -> None:
    # Only a group whose leader is still the process we found (pids are reused).
    pid, _, ticks = item.ident.partition(":")
    if procfs.is_alive(int(pid), int(ticks)) or procfs.group_alive(int(pid)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(pid), sig)


def _containers(state_dir: Path, stack_id: str) -> list[Leftover]:
    if not _engine_configured(state_dir):
        return []
    try:
        api = _docker(state_dir)
        listed = api.containers(filters={"label": f"devstack.stack={stack_id}"})
    except Exception:  # no SDK, no engine: nothing of ours can be running there
        return []
    found = []
    for item in listed:
        labels = item.get("Labels") or {}
        replica = labels.get("devstack.replica", "0")
        found.append(
            Leftover(
                labels.get("devstack.service", "?"),
                int(replica) if replica.isdigit() else 0,
                "docker",
                None,
                str(item["Id"]),
                float(item.get("Created") or 0) or None,
            )
        )
    return found


def _engine_configured(state_dir: Path) -> bool:
    return (
        bool(os.environ.get("DOCKER_HOST"))
        or Path("/var/run/docker.sock").exists()
        or engine_target.load(state_dir) is not None
    )


def _docker(state_dir: Path | None) -> Any:
    # The SDK only when an engine is there: it is a large import.
    from devstack.runtimes.docker_engine import client_for

    # The engine the stack's containers were started on (kept by `up`), else this
    # command's own choice.
    target = (
        engine_target.from_environment(state_dir)
        if state_dir is not None
        else engine_target.choose(None, os.environ)
    )
    return client_for(target, timeout=DOCKER_TIMEOUT)
