"""`python -m devstack.daemon --file MANIFEST --env NAME`: the per-stack daemon process.

Started by `devstack up` in its own session, output to `.devstack/daemon.log`. One daemon
per stack: an exclusive lock on `.devstack/daemon.lock` makes a second one exit at once.

With `--up JSON --report-fd N` (a cold `up`), it runs that `up` before it imports its API
and reports the plan, or why nothing started, on file descriptor N (see `boot.py`).
"""

from __future__ import annotations

import gc

# The daemon's imports build a few hundred thousand objects (pydantic's schemas above
# all) and the cyclic collector ran about a hundred times over them: 15-30 ms of a cold
# `up`, on its critical path. Off until they are done; then what they built is frozen
# out of every later collection (see `_imported`).
gc.disable()

# ruff: noqa: E402 - the imports below come after the collector is off
import argparse
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.api.holder import LISTENING
from devstack.config.problems import ManifestError
from devstack.daemon.boot import BootReport, problems_title, report_when_ready, until_settled
from devstack.state.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.daemon.service import Daemon

EXIT_ALREADY_RUNNING = 3


def main(argv: list[str] | None = None) -> int:
    mark("daemon.main")
    parser = argparse.ArgumentParser(prog="devstack-daemon")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--env", default=None)
    parser.add_argument("--up", default=None, metavar="JSON", help="run this `up` at once")
    parser.add_argument("--report-fd", type=int, default=None, metavar="FD")
    parser.add_argument(
        "--intent-fd", type=int, default=None, metavar="FD",
        help="launched ahead by the CLI: import, then read file, env and `up` from FD",
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true", help="supervise what runs at once (a replacement)"
    )
    args = parser.parse_args(argv)
    if args.intent_fd is not None:
        if not _await_intent(args):
            return 0  # the CLI did not need us after all: nothing was touched
    elif args.file is None:
        parser.error("--file is required")
    report = BootReport(args.report_fd) if args.report_fd is not None else None
    manifest = args.file.resolve()
    paths = StackPaths(manifest.parent)
    paths.ensure()
    if args.intent_fd is not None:
        _settle_in(manifest, paths)
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

    _imported()
    mark("daemon.imported")
    try:
        daemon = Daemon(manifest, args.env)
    except ManifestError as exc:
        return _invalid(exc, report)
    except Exception as exc:
        refused = _refusal(exc)
        if refused is None:
            raise
        return _refuse(refused, report)
    mark("daemon.resolved")
    daemon.start()
    # Bound before the first `up` reports and before the API's import: a CLI that calls
    # now (the launching `up`, attaching) waits in the backlog instead of failing.
    sock = bind_socket(paths.socket)
    # Clients that find no socket read the lock: a daemon listening there lost its socket
    # and is replaced; one not listening yet is starting (see api/holder.py).
    os.write(lock, f"{LISTENING}\n".encode())
    mark("daemon.listening")
    if args.resume:
        daemon.resume()
    settling = None
    if args.up is not None:
        code, settling = _first_up(daemon, json.loads(args.up), report)
        if code and not _anything_runs(daemon):  # leave no socket (nor daemon) behind
            sock.close()
            paths.socket.unlink(missing_ok=True)
            daemon.close()
            return code
    try:
        if settling is not None:
            _quiet_while_settling(sock, settling, paths.socket)
        from devstack.daemon.server import serve

        serve(daemon, paths.socket, sock)
    finally:
        daemon.close()
    return 0


def _quiet_while_settling(sock: socket.socket, settling: threading.Thread, path: Path) -> None:
    """The API's import (FastAPI, uvicorn, the routes: 0.25 s of CPU, holding the GIL)
    waits while the first `up --wait` settles, unless a client already waits for it.

    Run at once, it slowed the services that `up` had just started and their health
    probes: a Python service answered about 200 ms after its spawn, 60-120 ms when the
    import came later. Nobody waits meanwhile: the launching CLI hears `ready` over its
    pipe, and any other client's connection (bound socket, backlog) ends the wait.
    SIGTERM meanwhile leaves as it would while serving: the daemon closes, the stack runs on.
    """

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        until_settled(sock, settling)
    except BaseException:
        sock.close()
        path.unlink(missing_ok=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _imported() -> None:
    """The imports are done: freeze what they built (modules, classes, schemas: it lives
    as long as the daemon), so the collector, on again, walks only what the daemon makes
    from now on. The few cycles the imports left are kept: not worth a full collection
    on the critical path."""
    gc.freeze()
    gc.enable()


def _profiles(value: object) -> list[str] | None:
    return [str(p) for p in value] if isinstance(value, list) else None


def _first_up(
    daemon: Daemon, intent: dict[str, object], report: BootReport | None
) -> tuple[int, threading.Thread | None]:
    """Run the launching `up`; report its plan (0) or why nothing started (2, or 1). With
    `--wait`, also the thread that reports `ready` or `failed` once the stack settles."""

    unsubscribe = None
    if report is not None:
        _, unsubscribe = daemon.logs.subscribe(report.build_line, since=float("inf"))
    try:
        plan = daemon.up(
            _text(intent.get("environment")),
            bool(intent.get("remove_orphans")),
            bool(intent.get("build")),
            _text(intent.get("release")),
            _mapping(intent.get("engine")),
            _profiles(intent.get("profiles")),
        )
    except ManifestError as exc:
        return _invalid(exc, report), None
    except Exception as exc:  # reported, then the daemon exits: the CLI must not hang
        refused = _refusal(exc)
        if refused is None:
            traceback.print_exc()
            refused = (500, f"the daemon failed on its first up: {exc}", [])
        return _refuse(refused, report), None
    finally:
        if unsubscribe is not None:
            unsubscribe()
    mark("daemon.up.reported")
    if report is None:
        return 0, None
    report.send("plan", plan=plan.model_dump())
    if not intent.get("wait"):
        report.close()
        return 0, None
    settling = report_when_ready(
        lambda: [s.model_dump() for s in daemon.status().services],
        lambda name: [line.text for line in daemon.logs.last_lines(name, 10)],
        report,
        daemon.logs,
    )
    return 0, settling


def _await_intent(args: argparse.Namespace) -> bool:
    """Launched ahead (api/prelaunch.py): import what a cold `up` needs while the CLI
    parses its arguments, then take the intent it sends. False: it sent none."""
    import devstack.daemon.listen
    import devstack.daemon.service  # noqa: F401 - the point: imported before the intent

    mark("daemon.preimported")
    chunks = []
    while chunk := os.read(args.intent_fd, 65536):
        chunks.append(chunk)
    os.close(args.intent_fd)
    if not chunks:
        return False
    intent = json.loads(b"".join(chunks))
    args.file = Path(intent["file"])
    args.env = intent.get("env")
    args.up = json.dumps(intent["up"])
    return True


def _settle_in(manifest: Path, paths: StackPaths) -> None:
    """What the ordinary launch gives a daemon: the manifest's folder as working
    directory, and daemon.log as standard output and error."""
    os.chdir(manifest.parent)
    log = os.open(paths.daemon_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def _anything_runs(daemon: Daemon) -> bool:
    """Instances re-adopted from an earlier daemon: a refused first `up` keeps managing them."""
    return any(w.state == "running" for w in daemon.runtime.observe())


def _refusal(exc: BaseException) -> tuple[int, str, list[str]] | None:
    """(status, error, problems) as the API would answer this refusal (daemon/errors.py),
    or None for an unexpected exception."""
    from devstack.config.extras import MissingExtra
    from devstack.daemon.failures import BadRequest, SwapError
    from devstack.daemon.portcheck import PortsInUse
    from devstack.model.names import UnknownName

    if isinstance(exc, UnknownName):
        return 404, str(exc), []
    if isinstance(exc, BadRequest | MissingExtra):
        return 400, str(exc), []
    if isinstance(exc, PortsInUse):
        return 409, exc.lines[0], exc.lines[1:]
    if isinstance(exc, SwapError):
        return 409, str(exc), []
    return None


def _refuse(refused: tuple[int, str, list[str]], report: BootReport | None) -> int:
    status, error, problems = refused
    print(f"devstack: {error}", file=sys.stderr)
    if report is not None:
        report.send("error", status=status, error=error, problems=problems)
        report.close()
    return 2 if status < 500 and status != 409 else 1


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _mapping(value: object) -> dict[str, object] | None:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else None


def _invalid(exc: ManifestError, report: BootReport | None) -> int:
    problems = [str(p) for p in exc.problems]
    print("devstack: invalid manifest:\n" + "\n".join(problems), file=sys.stderr)
    if report is not None:
        report.send("error", status=422, error=problems_title(len(problems)), problems=problems)
        report.close()
    return 2


if __name__ == "__main__":
    sys.exit(main())
