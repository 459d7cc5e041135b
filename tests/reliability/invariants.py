"""What must hold of a stack after any crash: checked from /proc, the state files and the API.

Each check returns a list of problems (empty when it holds) instead of asserting, so the
fault-injection loop can report every broken invariant of a seed at once, with the seed.
Processes are found the way devstack finds its own: by the `DEVSTACK_OWNER` label in
their environment (group leaders are service instances, the rest are their children),
never through devstack's own view, which is what is under test.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from helpers import Stack, alive, pgid


def state_file_problems(stack: Stack) -> list[str]:
    """Every JSON file devstack keeps in .devstack/ parses (a crash mid-write must not
    leave half a file: the daemon would read it as empty and start duplicates)."""
    problems = []
    for path in sorted(stack.state_dir.glob("*.json")):
        try:
            json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name} does not parse: {exc}")
    return problems


def recorded_running(stack: Stack) -> dict[int, tuple[str, int]]:
    """pid -> (service, replica) of the instances processes.json says are running."""
    path = stack.state_dir / "processes.json"
    if not path.exists():
        return {}
    data: Any = json.loads(path.read_text())
    return {
        int(entry["pid"]): (str(entry["service"]), int(entry["replica"]))
        for entry in data.get("instances", [])
        if entry.get("state") == "running" and entry.get("pid")
    }


def instance_of(owner: str) -> tuple[str, int]:
    """(service, replica) from a DEVSTACK_OWNER label `<stack id>:<service>:<replica>:<hash>`."""
    _, service, replica, _ = owner.split(":", 3)
    return service, int(replica)


def process_problems(stack: Stack, expected: set[str]) -> list[str]:
    """The host processes of the stack are exactly one per running instance, all recorded.

    - each instance (service, replica) has at most one process-group leader, and each
      service in `expected` has one;
    - every leader is in processes.json and in `status`, and vice versa (no orphan the
      daemon does not know about, no recorded pid that is gone);
    - every other labelled process belongs to a live leader's group (no stray child).
    """
    problems = []
    owned = stack.owned()
    leaders = {pid: owner for pid, owner in owned.items() if pgid(pid) == pid}
    counts = Counter(instance_of(owner) for owner in leaders.values())
    for instance, count in sorted(counts.items()):
        if count > 1:
            pids = sorted(p for p, o in leaders.items() if instance_of(o) == instance)
            problems.append(f"{count} processes run {instance[0]}#{instance[1]}: pids {pids}")
    running = {service for service, _ in counts}
    problems += [f"{name} has no process" for name in sorted(expected - running)]

    recorded = recorded_running(stack)
    for pid in sorted(leaders.keys() - recorded.keys()):
        problems.append(f"pid {pid} ({leaders[pid]}) runs but is not in processes.json")
    for pid in sorted(recorded.keys() - leaders.keys()):
        problems.append(f"processes.json says {recorded[pid]} runs as pid {pid}, which is gone")

    reported = {
        s["pid"]: name
        for name, s in stack.live().items()
        if s["runtime"] == "process" and s["state"] != "orphan" and s["pid"]
    }
    for pid in sorted(leaders.keys() - reported.keys()):
        problems.append(f"pid {pid} ({leaders[pid]}) runs but status does not show it")
    for pid in sorted(reported.keys() - leaders.keys()):
        if alive(pid):
            problems.append(f"status shows {reported[pid]} as pid {pid}, not a leader of ours")
        else:
            problems.append(f"status shows {reported[pid]} as pid {pid}, which is gone")

    for pid, owner in sorted(owned.items()):
        group = pgid(pid)
        if pid not in leaders and group not in leaders:
            problems.append(f"pid {pid} ({owner}) is a stray: its group leader {group} is gone")
    return problems


def status_problems(stack: Stack) -> list[str]:
    """Nothing the daemon shows is an orphan or still being retired."""
    return [
        f"status shows {name} as {s['state']}"
        for name, s in stack.live().items()
        if s["state"] in ("orphan", "retiring", "failed")
    ]


def daemon_problems(stack: Stack, expect: int) -> list[str]:
    found = stack.daemons()
    if len(found) != expect:
        return [f"{len(found)} daemons run for the stack (pids {found}), expected {expect}"]
    return []
