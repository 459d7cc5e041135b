"""Starting a stack's daemon from a client: spawn it detached, wait until it answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from devstack.api.client import Client
from devstack.daemon.paths import StackPaths

START_TIMEOUT = 20.0
EXIT_ALREADY_RUNNING = 3  # see devstack.daemon.__main__


class DaemonStartError(Exception):
    """The daemon exited or did not answer in time; the message holds its last log lines."""


def ensure_daemon(manifest: Path, environment: str | None, paths: StackPaths) -> Client:
    """A client of the stack's daemon, starting the daemon first when none answers."""
    client = Client(paths.socket)
    if client.ping():
        return client
    paths.ensure()
    with paths.daemon_log.open("ab") as log:
        offset = log.tell()
    process = _spawn(manifest, environment, paths)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if client.ping():
            return client
        code = process.poll()
        if code == EXIT_ALREADY_RUNNING:
            # Another daemon holds the lock: one starting (it will answer soon) or one
            # finishing a `down` (it will exit and free the lock). Try again until it answers.
            time.sleep(0.05)
            process = _spawn(manifest, environment, paths)
        elif code is not None:
            raise DaemonStartError(_log_tail(paths.daemon_log, offset))
        time.sleep(0.02)
    raise DaemonStartError(
        f"no answer within {START_TIMEOUT:g}s\n{_log_tail(paths.daemon_log, offset)}"
    )


def _spawn(manifest: Path, environment: str | None, paths: StackPaths) -> subprocess.Popen[bytes]:
    with paths.daemon_log.open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack.daemon",
                "--file",
                str(manifest),
                *(["--env", environment] if environment else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal must not reach the daemon
            cwd=manifest.parent,
            env=os.environ.copy(),
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
