"""Starting a stack's daemon from a client: spawn it detached, wait until it answers."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from devstack.api.client import JSON, ApiError, Client
from devstack.api.holder import lock_holder, retire
from devstack.api.prelaunch import Prelaunched
from devstack.state.paths import StackPaths

START_TIMEOUT = 20.0
MAX_SPAWNS = 3  # a daemon exits at once if another holds the lock: never loop on that
EXIT_ALREADY_RUNNING = 3  # see devstack.daemon.__main__


class DaemonStartError(Exception):
    """The daemon exited or did not answer in time; the message holds its last log lines."""


def ensure_daemon(
    manifest: Path, environment: str | None, paths: StackPaths, resume: bool = False
) -> Client:
    """A client of the stack's daemon, starting the daemon first when none answers.

    The lock says who holds the stack (api/holder.py): a daemon still starting is waited
    for, one that lost its socket is replaced (the new one re-adopts its services, and with
    `resume` supervises them at once). At most MAX_SPAWNS daemons are launched; when none
    answers, DaemonStartError says in one line what was found.
    """
    client = Client(paths.socket)
    if client.ping():
        return client
    paths.ensure()
    with paths.daemon_log.open("ab") as log:
        offset = log.tell()
    process: subprocess.Popen[bytes] | None = None
    spawns = 0
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if client.ping():
            return client
        holder = lock_holder(paths)
        if holder is not None and holder.listening and not paths.socket.exists():
            retire(holder)  # it lost its socket: replace it
            continue
        code = None if process is None else process.poll()
        if holder is None and (process is None or code is not None):
            if code is not None and code != EXIT_ALREADY_RUNNING:
                raise DaemonStartError(_log_tail(paths.daemon_log, offset))
            if spawns >= MAX_SPAWNS:
                break
            process = _spawn(manifest, environment, paths, ["--resume"] if resume else None)
            spawns += 1
        # Otherwise a daemon is starting (ours or another `up`'s) or finishing a `down`.
        time.sleep(0.02)
    raise DaemonStartError(_why_no_answer(paths, spawns, offset))


def _why_no_answer(paths: StackPaths, spawns: int, offset: int) -> str:
    holder = lock_holder(paths)
    if holder is not None:
        found = (
            f"daemon pid {holder.pid} holds the stack but does not answer on {paths.socket}"
            if holder.listening
            else f"daemon pid {holder.pid} holds the stack and never bound {paths.socket}"
        )
    else:
        found = f"{spawns} daemon(s) launched, none kept the stack"
    return f"no answer within {START_TIMEOUT:g}s: {found}\n{_log_tail(paths.daemon_log, offset)}"


class Boot:
    """The CLI's end of a booting daemon's report pipe (the messages are in daemon/boot.py)."""

    def __init__(self, fd: int, process: subprocess.Popen[bytes] | Prelaunched) -> None:
        self._fd: int | None = fd
        self._buffer = b""
        self.process = process

    def next(self, deadline: float | None = None) -> JSON | None:
        """The next message; None at the end of the report or once `deadline` passed."""
        while b"\n" not in self._buffer:
            if self._fd is None:
                return None
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._fd], [], [], wait)[0]:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                self.close()
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return dict(json.loads(line))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def boot_daemon(
    manifest: Path,
    environment: str | None,
    paths: StackPaths,
    intent: JSON,
    on_build: Callable[[JSON], None],
    ahead: Prelaunched | None = None,
) -> tuple[Boot, JSON] | None:
    """Launch the stack's daemon to run the `up` described by `intent` (see daemon/boot.py).

    Returns the report pipe (which says later whether the stack came up, if `intent`
    asked to wait) and the plan the daemon runs, or None when another daemon holds the
    stack (the caller then asks that one, through its API). An invalid manifest is an
    ApiError(422, ...), as from the API, and nothing was started. `ahead` is a daemon the
    CLI launched before parsing its arguments (api/prelaunch.py): it gets the intent
    instead of a new daemon being spawned, unless it died meanwhile.
    """
    paths.ensure()
    with paths.daemon_log.open("ab") as log:
        offset = log.tell()
    process: subprocess.Popen[bytes] | Prelaunched
    if ahead is not None and ahead.send({"file": str(manifest), "env": environment, "up": intent}):
        process, read_fd = ahead, ahead.report_fd
    else:
        if ahead is not None:
            ahead.discard()
        read_fd, write_fd = os.pipe()
        try:
            process = _spawn(
                manifest,
                environment,
                paths,
                ["--up", json.dumps(intent), "--report-fd", str(write_fd)],
                (write_fd,),
            )
        finally:
            os.close(write_fd)  # the daemon holds the only write end: EOF when it is done
    boot = Boot(read_fd, process)
    while (message := boot.next()) is not None:
        kind = message.get("kind")
        if kind == "build":
            on_build(message)
        elif kind == "plan":
            return boot, dict(message["plan"])
        elif kind == "error":
            boot.close()
            # It exits right after: when `up` returns, no daemon of this stack remains.
            with contextlib.suppress(subprocess.TimeoutExpired, TimeoutError):
                process.wait(timeout=START_TIMEOUT)
            raise ApiError(int(message["status"]), str(message["error"]), list(message["problems"]))
    try:
        code = process.wait(timeout=START_TIMEOUT)
    except (subprocess.TimeoutExpired, TimeoutError):
        code = None  # closed its report without exiting: not a daemon we know
    if code == EXIT_ALREADY_RUNNING:
        return None
    raise DaemonStartError(_log_tail(paths.daemon_log, offset))


def _spawn(
    manifest: Path,
    environment: str | None,
    paths: StackPaths,
    extra: list[str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    with paths.daemon_log.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.daemon",
                "--file",
                str(manifest),
                *(["--env", environment] if environment else []),
                *(extra or []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal must not reach the daemon
            cwd=manifest.parent,
            env=os.environ.copy(),
            pass_fds=pass_fds,
        )


def wait_daemon_gone(paths: StackPaths, timeout: float = 15.0) -> bool:
    """After `down`: wait until the daemon process has exited and released the stack."""
    try:
        pid = int(paths.lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return True
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and _is_daemon(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _is_daemon(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"devstack.daemon" in cmdline and not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].startswith("Z")


def _log_tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-20:])
