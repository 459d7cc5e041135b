"""Terminal output: colours (off under NO_COLOR or when not a terminal), errors, log lines."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, NoReturn

import click

from devstack.api.palette import PALETTE
from devstack.api.states import STATE_TONES, Tone

TONE_COLOURS: dict[Tone, str] = {
    "ok": "green",
    "pending": "yellow",
    "bad": "red",
    "failed": "red",
    "down": "bright_black",
    "foreign": "magenta",
    "leaving": "magenta",
    "remote": "cyan",
}
STATE_COLOURS = {state: TONE_COLOURS[tone] for state, tone in STATE_TONES.items()}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
# Daemon answers that blame the request (a bad argument, an unknown name, a missing extra,
# an invalid manifest) exit 2, like a usage error; the others (409, 500) exit 1.
USAGE_STATUSES = frozenset({400, 404, 422})


def colour_enabled(stream: object = None) -> bool:
    target = stream or sys.stdout
    return "NO_COLOR" not in os.environ and bool(getattr(target, "isatty", lambda: False)())


def style(text: str, fg: str | None = None, bold: bool = False, err: bool = False) -> str:
    if not colour_enabled(sys.stderr if err else sys.stdout):
        return text
    return click.style(text, fg=fg, bold=bold)


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


class LogPrinter:
    """Prefixed lines (`greeter  | text`), one colour per service, like compose."""

    def __init__(self, names: list[str], timestamps: bool = False) -> None:
        self.width = max((len(n) for n in names), default=8)
        self.colours: dict[str, str] = {}
        self.timestamps = timestamps

    def line(self, line: dict[str, Any]) -> str:
        """Format one log line as sent by the API (see api.models.LogLineModel)."""
        service, replica, ts = line["service"], line["replica"], line["ts"]
        name = service + (f"#{replica}" if replica else "")
        self.width = max(self.width, len(name))
        colour = self.colours.setdefault(service, PALETTE[len(self.colours) % len(PALETTE)])
        prefix = style(f"{name:<{self.width}} |", colour)
        stamp = ""
        if self.timestamps:
            stamp = time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d} "
        text = line["text"]
        if line["stream"] == "event":
            text = style(f"» {text}", "bright_black")
        elif line["stream"] == "stderr":
            text = style(text, "red") if colour_enabled() and "error" in text.lower() else text
        return f"{prefix} {stamp}{text}"


def ago(seconds: float) -> str:
    """An uptime as `status` shows it: 42s, 3m07s, 2h05m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
