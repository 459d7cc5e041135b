"""A child attached to this terminal, with signals and exit codes handled as a shell does.

By default the child stays in our process group, so it is the terminal's foreground job:
it reads the keyboard, and Ctrl-C / Ctrl-\\ from the terminal reach it directly. Like
POSIX `system()`, devstack itself sits those out while it waits (no-op handlers rather
than SIG_IGN, which the child would inherit across exec). SIGTERM and SIGHUP, which are
sent to devstack alone (a supervisor, a closed terminal), are passed on to the child.

With a `relay`, every one of those signals goes to the relay instead (a container one-off:
the engine delivers it to the container), and `own_group` keeps the terminal's signals
away from the child (the docker CLI, which would otherwise give up on its own).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from devstack.oneoff import OneOffError

SAT_OUT = (signal.SIGINT, signal.SIGQUIT)
FORWARDED = (signal.SIGTERM, signal.SIGHUP)
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126


def exit_status(returncode: int) -> int:
    """A shell's `$?`: a death by signal N is 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def run_attached(
    argv: Sequence[str],
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    relay: Callable[[int], None] | None = None,
    own_group: bool = False,
) -> int:
    """Run `argv` in the foreground and return its exit status as a shell reports it.

    A program that cannot be started is a OneOffError with exit code 127 (not found) or
    126 (not executable), as in a shell.
    """
    child: subprocess.Popen[bytes] | None = None
    # A signal that comes while Popen has not returned yet (the child may already run and
    # print) is passed on as soon as it has: dropped, the one-off would never end.
    pending: list[int] = []

    def sit_out(signum: int, frame: FrameType | None) -> None:
        """The terminal sent it to the whole foreground group: the child has it already."""

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)
        elif child.poll() is None:
            child.send_signal(signum)

    def relayed(signum: int, frame: FrameType | None) -> None:
        if child is None:
            pending.append(signum)
        elif relay is not None and child.poll() is None:
            relay(signum)

    previous = {sig: signal.getsignal(sig) for sig in (*SAT_OUT, *FORWARDED)}
    for sig in SAT_OUT:
        signal.signal(sig, sit_out if relay is None else relayed)
    for sig in FORWARDED:
        signal.signal(sig, forward if relay is None else relayed)
    try:
        try:
            child = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                start_new_session=own_group,
            )
        except FileNotFoundError as exc:
            where = f" in {cwd}" if cwd else ""
            raise OneOffError(
                f"cannot run {argv[0]!r}{where}: not found (is it on the service's PATH?)",
                EXIT_NOT_FOUND,
            ) from exc
        except PermissionError as exc:
            raise OneOffError(
                f"cannot run {argv[0]!r}: permission denied", EXIT_NOT_EXECUTABLE
            ) from exc
        except OSError as exc:
            raise OneOffError(
                f"cannot run {argv[0]!r}: {exc.strerror or exc}", EXIT_NOT_EXECUTABLE
            ) from exc
        for signum in pending:
            (relayed if relay is not None else forward)(signum, None)
        return exit_status(child.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
