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


class DaemonStartError(Exception):
    """The daemon exited or did not answer in time; the message holds its last log lines."""


def ensure_daemon(manifest: Path, environment: str | None, paths: StackPaths) -> Client:
    """A client of the stack's daemon, starting the daemon first when none answers."""
    client = Client(paths.socket)
    if client.ping():
        return client
    paths.ensure()
    with paths.daemon_log.open("ab") as log:
        start = log.tell()
        process = subprocess.Popen(
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
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if client.ping():
            return client
        code = process.poll()
        if code is not None and code != 3:  # 3: another daemon won the race; keep waiting
            raise DaemonStartError(_log_tail(paths.daemon_log, start))
        time.sleep(0.02)
    raise DaemonStartError(
        f"no answer within {START_TIMEOUT:g}s\n{_log_tail(paths.daemon_log, start)}"
    )


def _log_tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-20:])
