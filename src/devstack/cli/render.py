"""What the CLI prints, without click: colours, uptimes, log lines, the status table.

Kept free of click (and of every command module) so that the everyday read-only calls
answered by `cli/fast.py` print exactly what the full commands print, at a fraction of
their start-up cost. `cli/output.py` re-exports these for the commands.
"""

from __future__ import annotations

import os
import sys
import time

from devstack.api.client import JSON
from devstack.api.kinds import resources_text
from devstack.api.palette import PALETTE
from devstack.api.states import STATE_TONES, Tone, split_problems

TYPE_CHECKING = False  # not typing's: cli/fast.py prints with this module, without typing
if TYPE_CHECKING:
    from typing import Any

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

# The ANSI codes click.style writes for these names (tests/unit/test_render.py compares).
_BASIC = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_CODES = {
    **{name: 30 + index for index, name in enumerate(_BASIC)},
    **{f"bright_{name}": 90 + index for index, name in enumerate(_BASIC)},
    "reset": 39,
}

LOCAL = "this machine"  # the daemon's `runs_on` for what runs here (daemon/engines.py)


def say(message: str) -> None:
    """One line on stderr, as the commands' `info` writes it (click.echo(err=True))."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def colour_enabled(stream: object = None) -> bool:
    target = stream or sys.stdout
    return "NO_COLOR" not in os.environ and bool(getattr(target, "isatty", lambda: False)())


def style(text: str, fg: str | None = None, bold: bool = False, err: bool = False) -> str:
    if not colour_enabled(sys.stderr if err else sys.stdout):
        return text
    return ansi(text, fg, bold)


def ansi(text: str, fg: str | None = None, bold: bool = False) -> str:
    """`text` in colour `fg` (a click colour name), as click.style writes it."""
    colour = f"\033[{_CODES[fg]}m" if fg else ""
    weight = "\033[1m" if bold else "\033[22m"  # click writes "not bold" when told False
    return f"{colour}{weight}{text}\033[0m"


def ago(seconds: float) -> str:
    """An uptime as `status` shows it: 42s, 3m07s, 2h05m."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


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


def engine_line(status: JSON) -> list[str]:
    """`engine: ssh://me@box (ssh, from DOCKER_HOST), 2 ports forwarded to 127.0.0.1`."""
    engine = status.get("engine")
    if not engine:
        return []
    line = f"engine: {engine['host']} ({engine['kind']}, from {engine['source']})"
    forwards = engine.get("forwards") or []
    if engine["kind"] == "ssh":
        line += f", {len(forwards)} port{'s' if len(forwards) != 1 else ''} forwarded here"
        if not engine.get("connected"):
            line += " (connection lost: see below)"
    return [line]


def status_table(status: JSON) -> str:
    """`devstack status`: one row per service, then the reasons and problems under it."""
    now = time.time()
    # REPLICAS comes after the older columns, so scripts reading them by position still work.
    rows = [
        ("SERVICE", "RUNTIME", "STATE", "HEALTH", "RESTARTS", "REPLICAS", "PID", "UPTIME", "URL")
    ]
    for s in status["services"]:
        up = s["state"] in ("running", "starting", "unhealthy")
        uptime = ago(now - s["started_at"]) if s["started_at"] and up else "-"
        pid = str(s["pid"] or "-")
        cells = (s["name"], s["runtime"], s["state"], s["health"], str(s["restarts"]))
        replicas = f"{s.get('running', 0)}/{s.get('replicas', 1)}"  # running/desired, as the TUI
        rows.append((*cells, replicas, pid, uptime, s["url"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    pinned = f", release {status['release']}" if status.get("release") else ""
    lines = [f"stack {status['stack']} ({status['environment']}{pinned})", *engine_line(status)]
    for index, row in enumerate(rows):
        padded = [f"{cell:<{widths[i]}}" for i, cell in enumerate(row)]
        if index:
            padded[2] = style(padded[2], STATE_COLOURS.get(row[2]))
        lines.append("  ".join(padded).rstrip())
    lines.extend(f"  {s['name']}: {s['reason']}" for s in status["services"] if s["reason"])
    for line in status.get("recovered") or []:
        lines.append(style(f"  recovered: {line}", "yellow"))
    for line in status.get("real") or []:
        lines.append(style(f"  real endpoint: {line}", "yellow"))
    problems = status.get("problems") or []
    disk, manifest = split_problems(problems)
    lines.extend(style(f"  {problem}", "yellow") for problem in disk)
    if manifest:
        lines.append("the last manifest edit was not applied (the stack runs the previous one):")
        lines.extend(f"  {problem}" for problem in manifest)
    return "\n".join(lines)


def backing_table(rows: list[JSON]) -> list[str]:
    """`devstack backing`: one row per backing service, then the reasons."""
    if not rows:
        return ["no backing services declared"]
    header: tuple[str, ...] = (
        "BACKING", "KIND", "PROVIDER", "STATE", "HEALTH", "ENDPOINT", "RESOURCES", "CONSUMERS",
    )  # fmt: skip
    # Where each emulator runs matters only once something runs on a remote engine: with
    # everything here, a column of "this machine" would only push the table wider.
    remote = any(row.get("runs_on") not in (None, LOCAL) for row in rows)
    if remote:
        header += ("RUNS ON",)  # last: scripts reading the older columns by position still work
    table = [header]
    lines: list[str] = []
    for row in rows:
        provider = row["provider"] + (" (swapped)" if row["swapped"] else "")
        provider += " (REAL)" if row.get("real") else ""
        table.append(
            (
                row["name"],
                row["kind"],
                provider,
                row["state"],
                row["health"],
                row["endpoint"] or "-",
                resources_text(row["kind"], row["resources"]),
                ", ".join(row["consumers"]) or "-",
            )
            + ((row.get("runs_on") or "-",) if remote else ())
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for index, r in enumerate(table):
        cells = [f"{c!s:<{w}}" for c, w in zip(r, widths, strict=True)]
        if index:
            cells[3] = style(cells[3], STATE_COLOURS.get(str(r[3]), "green"))
        lines.append("  ".join(cells).rstrip())
    for row in rows:
        if row.get("reason"):
            lines.append(f"{row['name']}: {row['reason']}")
    return lines
