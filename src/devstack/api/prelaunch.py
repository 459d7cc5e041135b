"""A cold `devstack up` launches its daemon before the CLI has even imported click.

The daemon's imports (pydantic and every model: the largest part of a cold `up` after the
services' own start) then run on the other core while the CLI parses its arguments. The
daemon is launched with no stack yet: it imports, then waits on a pipe for the `up`'s
intent (manifest, environment, flags), which `up` sends once it has parsed them (see
`api/launch.py`). If it never does (a daemon already runs, `--help`, a usage error, any
other command after all), the pipe closes when the CLI exits and the daemon exits having
touched nothing: it creates no file and takes no lock before it has an intent.

This module runs before click, so it peeks at argv with the simplest rules and gives up
(no prelaunch, the ordinary launch later) on anything it does not recognise.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

# Options of `up` that take a value (the argv peek must skip the value).
UP_VALUE_OPTIONS = {"--env", "--wait-timeout", "--release", "-f", "--file"}
# With these, `up` launches no daemon (or not with an intent sent at once).
NO_PRELAUNCH = {"--dry-run", "--help", "-h", "--release", "--version"}


class Prelaunched:
    """A daemon launched ahead, waiting for its intent; `up` takes it, or it is let go."""

    def __init__(self, pid: int, intent_fd: int, report_fd: int) -> None:
        self.pid = pid
        self.intent_fd: int | None = intent_fd
        self.report_fd = report_fd
        self._code: int | None = None

    def send(self, intent: dict[str, object]) -> bool:
        """Hand the daemon its intent; False if it is gone (it died while importing)."""
        assert self.intent_fd is not None
        try:
            os.write(self.intent_fd, json.dumps(intent).encode())  # well under PIPE_BUF*16
            return True
        except OSError:
            return False
        finally:
            os.close(self.intent_fd)
            self.intent_fd = None

    def poll(self) -> int | None:
        if self._code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code, as `subprocess.Popen.wait`; TimeoutError if still running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"daemon {self.pid} still running")
            time.sleep(0.01)
        return code

    def discard(self) -> None:
        """Let it go, now. It touched nothing yet (no lock, no file: it was importing or
        waiting for its intent), so it is killed outright and reaped: when this command
        returns, no daemon of ours is left behind (closing the pipe alone would let it
        finish its imports first)."""
        if self.intent_fd is not None:
            os.close(self.intent_fd)
            self.intent_fd = None
        os.close(self.report_fd)
        if self._code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait(timeout=5.0)


_launched: list[Prelaunched] = []  # at most one: the daemon launched ahead, until taken


def start(argv: list[str]) -> None:
    """Launch a waiting daemon if argv is a plain `up` of a stack whose daemon is not running."""
    manifest = _up_manifest(argv)
    if manifest is None or not manifest.is_file():
        return
    from devstack.state.paths import StackPaths

    if StackPaths(manifest.resolve().parent).socket.exists():
        return  # a daemon runs (or its socket was left): `up` asks it, launches nothing
    intent_r, intent_w = os.pipe()
    report_r, report_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        # The daemon's ends by their own numbers (dup2 to fixed ones could be a no-op that
        # keeps close-on-exec); ours stay close-on-exec.
        os.set_inheritable(intent_r, True)
        os.set_inheritable(report_w, True)
        argv_daemon = [sys.executable, "-m", "devstack.daemon"]
        argv_daemon += ["--intent-fd", str(intent_r), "--report-fd", str(report_w)]
        pid = os.posix_spawn(
            sys.executable,
            argv_daemon,
            os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)],
            setsid=True,  # its own session: Ctrl-C in the terminal must not reach it
        )
    except OSError:
        os.close(intent_w)
        os.close(report_r)
        return
    finally:
        for fd in (intent_r, report_w, devnull):
            os.close(fd)
    _launched.append(Prelaunched(pid, intent_w, report_r))


def take() -> Prelaunched | None:
    """The daemon launched ahead, once: the caller now owns it."""
    return _launched.pop() if _launched else None


def _up_manifest(argv: list[str]) -> Path | None:
    """The manifest of a plain `devstack [-f F] up [options]`, else None."""
    file: str | None = None
    command: str | None = None
    args = iter(argv)
    for arg in args:
        if arg in NO_PRELAUNCH:
            return None
        if arg in ("-f", "--file"):
            file = next(args, None)
            if file is None:
                return None
        elif arg.startswith("--file="):
            file = arg.split("=", 1)[1]
        elif arg in UP_VALUE_OPTIONS:
            if next(args, None) is None:
                return None
        elif arg.startswith("-"):
            if command is None:
                return None  # a group option we do not know: do not guess
        elif command is None:
            command = arg
        else:
            return None  # `up` takes no argument: a usage error is coming
    if command != "up":
        return None
    return (
        Path(file) if file and Path(file).is_absolute() else Path.cwd() / (file or "devstack.yaml")
    )
