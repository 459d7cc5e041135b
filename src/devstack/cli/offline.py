"""`status` and `down` when no daemon holds the stack, and replacing one that lost its socket.

The services outlive their daemon (they write to files, not pipes): without one, `status`
still lists what runs and `down` still stops it, from labels and owner marks
(runtimes/leftovers.py), as compose does without any daemon.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from devstack.cli.output import EXIT_FAILURE, ago, fail, info

if TYPE_CHECKING:
    from devstack.cli.common import Context

DOWN_GRACE = 10.0  # the manifest's default stop_grace: the manifest itself is not read


def revive(ctx: Context) -> None:
    """A daemon that lost its socket (still holding the lock) is replaced by a new one,
    which re-adopts its services and supervises them at once."""
    from devstack.api.holder import lost_socket
    from devstack.api.launch import DaemonStartError, ensure_daemon

    holder = lost_socket(ctx.paths)
    if holder is None:
        return
    info(
        f"the devstack daemon (pid {holder.pid}) lost its socket {ctx.paths.socket}: "
        "replacing it (services keep running)"
    )
    try:
        ensure_daemon(ctx.manifest.resolve(), None, ctx.paths, resume=True)
    except DaemonStartError as exc:
        fail("the devstack daemon could not be replaced", EXIT_FAILURE, str(exc).splitlines())


def not_running_line(count: int) -> str:
    return (
        f"daemon not running; {count} service{'s' if count != 1 else ''} still running "
        "(run `devstack up` to manage them again)"
    )


def status(ctx: Context) -> dict[str, Any] | None:
    """The stack's status from state files and labels; None when nothing runs."""
    from devstack.runtimes.leftovers import find

    found = find(ctx.paths.state_dir, ctx.paths.stack_id)
    if not found:
        return None
    services: dict[str, dict[str, Any]] = {}
    for item in found:
        entry = services.setdefault(
            item.service,
            {
                "name": item.service,
                "runtime": item.runtime,
                "state": "running",
                "health": "unknown",
                "restarts": None,
                "pid": item.pid,
                "running": 0,
                "started_at": item.started_at,
                "url": None,
                "reason": "",
            },
        )
        entry["running"] += 1
    return {
        "daemon_running": False,
        "stack": ctx.paths.root.name,
        "manifest": str(ctx.manifest),
        "message": not_running_line(len(services)),
        "services": list(services.values()),
    }


def table(status: dict[str, Any]) -> str:
    now = time.time()
    rows = [("SERVICE", "RUNTIME", "STATE", "REPLICAS", "PID", "UPTIME")]
    for s in status["services"]:
        uptime = ago(now - s["started_at"]) if s["started_at"] else "-"
        rows.append(
            (s["name"], s["runtime"], s["state"], str(s["running"]), str(s["pid"] or "-"), uptime)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [status["message"]]
    lines.extend("  ".join(f"{c:<{widths[i]}}" for i, c in enumerate(r)).rstrip() for r in rows)
    return "\n".join(lines)


def down(ctx: Context) -> bool:
    """Stop what runs without a daemon; False when nothing ran. Exits 1 if some did not stop."""
    from devstack.intent.value import Intent
    from devstack.runtimes.leftovers import find, stop

    found = find(ctx.paths.state_dir, ctx.paths.stack_id)
    if not found:
        return False
    names = sorted({i.service for i in found})
    info(f"no daemon is running; stopping {len(found)} instance(s) of {', '.join(names)} by label")
    failures = stop(found, DOWN_GRACE, ctx.paths.state_dir)
    if failures:
        fail("some services did not stop", EXIT_FAILURE, failures)
    # As the daemon's `down`: swaps stay, stops, scale and restart counts go.
    paths = ctx.paths
    Intent.load(paths.overrides).after_down().save(paths.overrides)
    paths.processes.unlink(missing_ok=True)
    paths.restarts.unlink(missing_ok=True)
    info("stack stopped")
    return True
