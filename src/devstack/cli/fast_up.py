"""`devstack up -d` / `up --wait` on a stack whose daemon runs, answered before click.

Users run `up` every morning and after every edit; most of those calls change nothing or
little, and the daemon plans them in a few milliseconds. Through the full CLI such a call
spent most of its time importing click and the command modules (docs/performance.md).
Here the same request goes to the daemon through the lean client, and the plan, the
warnings and the `--wait` verdict are printed as `cli/up_cmd.py` prints them.

Only the detached shapes are answered (`-d`, `--wait [--wait-timeout S]`,
`--remove-orphans`, `--env NAME`, `-f FILE`), and only when a daemon answers: anything
else (the UI, attached logs, `--dry-run`, `--build`, `--profile`, `--release`,
`--context`, no daemon, any error answer) goes to the full command. Nothing is printed
before the daemon has answered both the `up` and a first status; until then a hand-over
repeats nothing (a second `up` of the same manifest is a no-op).
"""

from __future__ import annotations

import os
import time

from devstack.trace import mark

TYPE_CHECKING = False  # not typing's: see cli/fast.py
if TYPE_CHECKING:
    from devstack.api.client import JSON, Client


class UpCall:
    """One parsed detached `up`."""

    def __init__(self, file: str | None = None) -> None:
        self.file = file
        self.environment: str | None = None
        self.detach = False
        self.wait = False
        self.wait_timeout = 120.0  # up_cmd.py's default
        self.remove_orphans = False

    def __repr__(self) -> str:
        return f"UpCall({vars(self)})"


def parse(args: list[str], file: str | None) -> UpCall | None:
    """The call if `args` (after `up`) is a shape answered here, else None."""
    call = UpCall(file)
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, eq, inline = arg.partition("=")
        if arg in ("-d", "--detach"):
            call.detach = True
        elif arg == "--wait":
            call.wait = True
        elif arg == "--remove-orphans":
            call.remove_orphans = True
        elif name in ("--wait-timeout", "--env", "--file") or arg == "-f":
            value = inline if eq else (rest.pop(0) if rest else None)
            if value is None or not _set(call, name, value):
                return None
        else:
            return None  # anything else is the full command's
    return call if call.detach or call.wait else None  # attached: logs or the UI


def _set(call: UpCall, name: str, value: str) -> bool:
    if name == "--wait-timeout":
        try:
            call.wait_timeout = float(value)
        except ValueError:
            return False  # the full command words the error
    elif name == "--env":
        call.environment = value
    elif call.file is None:
        call.file = value
    else:
        return False
    return True


def answer(client: Client, call: UpCall) -> int | None:
    """The exit code, or None (before anything is printed) to hand over to the full CLI."""
    from devstack.api.readiness import judge
    from devstack.cli.build_progress import build_progress
    from devstack.runtimes.engine_request import request

    deadline = time.monotonic() + call.wait_timeout
    with build_progress(client, time.time()):  # an edit may need a build: never silent
        plan = client.up(
            call.environment, call.remove_orphans, engine=request(None, os.environ),
            profiles=env_profiles(),
        )  # fmt: skip
    mark("cli.up.answered")
    verdict, services = judge(client.status()["services"]) if call.wait else ("", [])
    _show(plan)
    if not call.wait:
        return 0
    if verdict == "ready":
        from devstack.cli.render import say

        mark("cli.wait.done")
        say(f"{len(services)} service(s) running and healthy")
        return 0
    return _wait_on(client, call, deadline)


def env_profiles() -> list[str]:
    """$DEVSTACK_PROFILES, as the full `up` reads it when no `--profile` is given."""
    listed = os.environ.get("DEVSTACK_PROFILES", "")
    return list(dict.fromkeys(p.strip() for p in listed.split(",") if p.strip()))


def _show(plan: JSON) -> None:
    from devstack.cli.render import say, style

    for step in plan["steps"]:
        line = f"» {step['kind']} {step['target']}: {step['cause']}"
        say(style(line, "bright_black", err=True))
    for problem in plan.get("problems") or []:  # a full disk: the stack runs, logs do not
        say(style(f"warning: {problem}", "yellow", err=True))


def _wait_on(client: Client, call: UpCall, deadline: float) -> int:
    """Not ready at once: the full command's wait, its wording of failures included."""
    from devstack.cli.common import Context, daemon_call
    from devstack.cli.waits import wait_healthy

    try:
        with daemon_call(Context(file=call.file)):
            wait_healthy(client, call.wait_timeout, deadline)
    except SystemExit as exc:  # a failed service, or the timeout: already said
        return exc.code if isinstance(exc.code, int) else 1
    return 0
