"""The everyday calls, answered before click is imported.

`devstack status [--json]`, `devstack backing [--json]`, `devstack logs -n N
[SERVICE...]` and a detached `up` on a running stack (`cli/fast_up.py`) run many times a
day, often from scripts and editors. The full CLI spends most of such a call importing
click and the command modules; here the same request goes straight to the daemon through
the lean client, and the answer is printed by the same functions the commands use
(`cli/render.py`), so the output is identical.

Anything else is handed to the full CLI: another command or option, `--help`, a value
that does not parse, no daemon answering (the commands' offline paths), or any error
answer (the commands word every error). Nothing is printed before the answer is in
hand, so a hand-over never repeats output.
"""

from __future__ import annotations

import json
import os
import sys

from devstack.cli import fast_up

# What this module imports is the cost it exists to avoid: no click, and neither typing,
# dataclasses nor pathlib (with inspect and urllib.parse, 35 ms of a 90 ms `status`).
# tests/integration/test_fast_cli.py checks that none of them is loaded.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FILE_OPTIONS = ("-f", "--file")


class Call:
    """One parsed everyday read-only call."""

    def __init__(
        self,
        command: str,
        file: str | None = None,
        as_json: bool = False,
        tail: int | None = None,
        timestamps: bool = False,
        services: list[str] | None = None,
    ) -> None:
        self.command = command
        self.file = file
        self.as_json = as_json
        self.tail = tail
        self.timestamps = timestamps
        self.services = services or []

    def __repr__(self) -> str:
        return f"Call({vars(self)})"


def answer(argv: list[str]) -> int | None:
    """The exit code if this call was answered here, None to hand it to the full CLI."""
    call = parse(argv)
    if call is None:
        return None
    from devstack.api.client import Client
    from devstack.config.discovery import stack_root
    from devstack.state.daemon_socket import socket_path

    try:
        where = socket_path(stack_root(call.file))
        client = Client(where)
        if isinstance(call, fast_up.UpCall):
            # No socket: the full `up` launches the daemon (or revives a lost one).
            return fast_up.answer(client, call) if os.path.exists(where) else None  # noqa: PTH110
        text = _ANSWERS[call.command](client, call)
    except Exception:  # the full command reports it in its own words (or works offline)
        return None
    if text is not None:
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            from devstack.cli.exits import reader_left

            reader_left()
    return 0


def parse(argv: list[str]) -> Call | fast_up.UpCall | None:
    """The call if `argv` is exactly one of the shapes answered here, else None."""
    args = list(argv)
    file = _take_file(args)  # the group's -f/--file, before the command
    if args and args[0] == "up":
        return fast_up.parse(args[1:], file)
    if not args or args[0] not in _OPTIONS:
        return None
    call = Call(args.pop(0), file=file)
    while args:
        arg = args.pop(0)
        if arg.startswith("--file=") and call.file is None:
            call.file = arg.removeprefix("--file=")
        elif arg in _FILE_OPTIONS_OF[call.command] and args and call.file is None:
            call.file = args.pop(0)
        elif not _option(call, arg, args):
            return None
    if call.command == "logs" and call.tail is None:
        return None  # unbounded: the full command streams it
    return call


def _take_file(args: list[str]) -> str | None:
    if args and args[0] in FILE_OPTIONS and len(args) > 1:
        args.pop(0)
        return args.pop(0)
    if args and args[0].startswith("--file="):
        return args.pop(0).removeprefix("--file=")
    return None


def _option(call: Call, arg: str, rest: list[str]) -> bool:
    """Apply one argument of the command; False for one not answered here."""
    if arg == "--json" and call.command in ("status", "backing"):
        call.as_json = True
    elif call.command != "logs":
        return False
    elif arg in ("-t", "--timestamps"):
        call.timestamps = True
    elif arg in ("-n", "--tail") and rest:
        return _set_tail(call, rest.pop(0))
    elif arg.startswith("--tail="):
        return _set_tail(call, arg.removeprefix("--tail="))
    elif arg.startswith("-n") and len(arg) > 2:
        return _set_tail(call, arg[2:])
    elif not arg.startswith("-"):
        call.services.append(arg)
    else:
        return False  # -f is --follow here; --since; anything else
    return True


def _set_tail(call: Call, value: str) -> bool:
    if not value.isdigit():
        return False  # the full command words the error
    call.tail = int(value)
    return True


def _status(client: Any, call: Call) -> str:
    from devstack.cli.render import status_table

    result = client.status()
    result["daemon_running"] = True
    return json.dumps(result, indent=2) if call.as_json else status_table(result)


def _backing(client: Any, call: Call) -> str:
    from devstack.cli.render import backing_table

    rows = client.backing()
    return json.dumps(rows, indent=2) if call.as_json else "\n".join(backing_table(rows))


def _logs(client: Any, call: Call) -> str | None:
    from devstack.cli.render import LogPrinter

    lines = list(client.logs(call.services or None, None, call.tail, False))
    printer = LogPrinter(call.services, call.timestamps)
    return "\n".join(printer.line(line) for line in lines) if lines else None


_ANSWERS: dict[str, Callable[[Any, Call], str | None]] = {
    "status": _status,
    "backing": _backing,
    "logs": _logs,
}
_OPTIONS = set(_ANSWERS)
# `-f` is --follow for logs (its manifest option is --file only), --file for the others.
_FILE_OPTIONS_OF = {"status": FILE_OPTIONS, "backing": FILE_OPTIONS, "logs": ("--file",)}
