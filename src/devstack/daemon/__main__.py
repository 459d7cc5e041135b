"""`python -m devstack.daemon --file MANIFEST --env NAME`: the per-stack daemon process.

Started by `devstack up` in its own session, output to `.devstack/daemon.log`. One daemon
per stack: an exclusive lock on `.devstack/daemon.lock` makes a second one exit at once.

With `--up JSON --report-fd N` (a cold `up`), it runs that `up` before it imports its API
and reports the plan, or why nothing started, on file descriptor N (see `boot.py`).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.config.problems import ManifestError
from devstack.daemon.boot import BootReport, problems_title, report_when_ready
from devstack.daemon.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.daemon.service import Daemon

EXIT_ALREADY_RUNNING = 3


def main(argv: list[str] | None = None) -> int:
    mark("daemon.main")
    parser = argparse.ArgumentParser(prog="devstack-daemon")
    parser.add_argument("--file", required=True, type=Path)
    parser.add_argument("--env", default=None)
    parser.add_argument("--up", default=None, metavar="JSON", help="run this `up` at once")
    parser.add_argument("--report-fd", type=int, default=None, metavar="FD")
    args = parser.parse_args(argv)
    report = BootReport(args.report_fd) if args.report_fd is not None else None
    manifest = args.file.resolve()
    paths = StackPaths(manifest.parent)
    paths.ensure()
    lock = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        # Reported by the exit code alone: the launcher then talks to that daemon instead.
        print("devstack: a daemon already runs for this stack", file=sys.stderr)
        return EXIT_ALREADY_RUNNING
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())

    from devstack.daemon.listen import bind_socket
    from devstack.daemon.service import Daemon

    mark("daemon.imported")
    try:
        daemon = Daemon(manifest, args.env)
    except ManifestError as exc:
        return _invalid(exc, report)
    mark("daemon.resolved")
    daemon.start()
    # Bound before the first `up` reports and before the API's import: a CLI that calls
    # now (the launching `up`, attaching) waits in the backlog instead of failing.
    sock = bind_socket(paths.socket)
    mark("daemon.listening")
    if args.up is not None:
        code = _first_up(daemon, json.loads(args.up), report)
        if code and not _anything_runs(daemon):  # leave no socket (nor daemon) behind
            sock.close()
            paths.socket.unlink(missing_ok=True)
            daemon.close()
            return code
    from devstack.daemon.server import serve

    try:
        serve(daemon, paths.socket, sock)
    finally:
        daemon.close()
    return 0


def _first_up(daemon: Daemon, intent: dict[str, object], report: BootReport | None) -> int:
    """Run the launching `up`; report its plan (0) or why nothing started (2, or 1)."""
    from devstack.daemon.portcheck import PortsInUse

    unsubscribe = None
    if report is not None:
        _, unsubscribe = daemon.logs.subscribe(report.build_line, since=float("inf"))
    try:
        plan = daemon.up(
            _text(intent.get("environment")),
            bool(intent.get("remove_orphans")),
            bool(intent.get("build")),
            _text(intent.get("release")),
        )
    except ManifestError as exc:
        return _invalid(exc, report)
    except PortsInUse as exc:  # nothing was started or stopped
        if report is not None:
            report.send("error", status=409, error=exc.lines[0], problems=exc.lines[1:])
            report.close()
        return 1
    except Exception as exc:  # reported, then the daemon exits: the CLI must not hang
        traceback.print_exc()
        if report is not None:
            report.send("error", status=500, error=f"up failed: {exc}", problems=[])
            report.close()
        return 1
    finally:
        if unsubscribe is not None:
            unsubscribe()
    mark("daemon.up.reported")
    if report is not None:
        report.send("plan", plan=plan.model_dump())
        if intent.get("wait"):
            report_when_ready(
                lambda: [s.model_dump() for s in daemon.status().services],
                lambda name: [line.text for line in daemon.logs.last_lines(name, 10)],
                report,
                daemon.logs,
            )
        else:
            report.close()
    return 0


def _anything_runs(daemon: Daemon) -> bool:
    """Instances re-adopted from an earlier daemon: a refused first `up` keeps managing them."""
    return any(w.state == "running" for w in daemon.runtime.observe())


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _invalid(exc: ManifestError, report: BootReport | None) -> int:
    problems = [str(p) for p in exc.problems]
    print("devstack: invalid manifest:\n" + "\n".join(problems), file=sys.stderr)
    if report is not None:
        report.send("error", status=422, error=problems_title(len(problems)), problems=problems)
        report.close()
    return 2


if __name__ == "__main__":
    sys.exit(main())
