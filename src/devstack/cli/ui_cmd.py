"""`devstack ui`: the terminal UI on the running stack (Textual is imported only here)."""

from __future__ import annotations

import sys

import click

from devstack.api.client import Client
from devstack.cli.common import Context, daemon_call, file_option, pass_context
from devstack.cli.output import EXIT_USAGE, fail


@click.command("ui")
@file_option
@pass_context
def ui(ctx: Context) -> None:
    """Open the terminal UI on the running stack: services, logs, config, backing.

    Keys: 1-4 switch views, ? lists every key, ctrl+p opens the command palette,
    q quits. Quitting leaves the stack running.
    """
    with daemon_call(ctx) as client:
        client.status()  # no daemon: the usual one-line error, before any screen opens
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        fail(
            "devstack ui needs a terminal (use `devstack status` or `logs` in scripts)", EXIT_USAGE
        )
    run_ui(ctx, client)


def run_ui(ctx: Context, client: Client) -> None:
    """Run the UI on a daemon known to answer (`ui`, and `up` in a terminal)."""
    loaded = ctx.load()
    from devstack.tui.api import StackInfo
    from devstack.tui.app import DevstackApp

    info = StackInfo(
        environments=tuple(dict.fromkeys(["dev", *loaded.stack.environments])),
        providers={name: spec.type for name, spec in loaded.stack.providers.items()},
    )
    DevstackApp(client, info).run()
