"""Terminal output: colours (off under NO_COLOR or when not a terminal), errors, log lines."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from devstack.cli.render import (  # re-exported: the commands import them from here
    STATE_COLOURS,
    TONE_COLOURS,
    LogPrinter,
    ago,
    colour_enabled,
    style,
)

__all__ = ["STATE_COLOURS", "TONE_COLOURS", "LogPrinter", "ago", "colour_enabled", "style"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
# Daemon answers that blame the request (a bad argument, an unknown name, a missing extra,
# an invalid manifest) exit 2, like a usage error; the others (409, 500) exit 1.
USAGE_STATUSES = frozenset({400, 404, 422})


def info(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str, code: int = EXIT_FAILURE, details: list[str] | None = None) -> NoReturn:
    click.echo(f"{style('error:', 'red', bold=True, err=True)} {message}", err=True)
    for line in details or []:
        click.echo(f"  {line}", err=True)
    sys.exit(code)


def shown_path(path: str) -> str:
    """A path as the user would type it from here: relative when under the current
    directory (`.devstack/daemon.log`), absolute otherwise."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def fail_api(error: str, status: int, problems: list[str], log: str | None) -> NoReturn:
    """An error answer of the daemon: one line, and where the details are if it has any."""
    message = f"{error} (details: {shown_path(log)})" if log else error
    fail(message, EXIT_USAGE if status in USAGE_STATUSES else EXIT_FAILURE, problems)


class OutputClosed(Exception):
    """Whoever read our standard output went away (`devstack logs -f | head`)."""


def emit(text: str) -> None:
    """One line of a command's output. A closed stdout becomes OutputClosed: BrokenPipeError
    is a ConnectionError, which would otherwise read as the daemon's connection failing."""
    try:
        click.echo(text)
    except BrokenPipeError:
        raise OutputClosed from None
