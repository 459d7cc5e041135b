"""`devstack scale SERVICE=N ...`: change how many replicas of a service run, live."""

from __future__ import annotations

import time

import click

from devstack.api.client import JSON, Client
from devstack.cli import complete
from devstack.cli.common import Context, daemon_call, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, fail, info

POLL = 0.1


def _parse(pairs: tuple[str, ...]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for pair in pairs:
        name, sep, count = pair.partition("=")
        if not sep or not name or not count.isdigit():
            fail(f"expected SERVICE=N (e.g. worker=3), got {pair!r}", EXIT_USAGE)
        wanted[name] = int(count)
    return wanted


@click.command()
@click.argument(
    "pairs", nargs=-1, required=True, metavar="SERVICE=N...", shell_complete=complete.scale_pairs
)
@click.option("--no-wait", is_flag=True, help="Return at once instead of waiting for the replicas.")
@click.option("--timeout", type=float, default=120.0, show_default=True, metavar="SECONDS")
@file_option
@pass_context
def scale(ctx: Context, pairs: tuple[str, ...], no_wait: bool, timeout: float) -> None:
    """Run N replicas of SERVICE (0 stops it). The others keep running untouched.

    The count is kept as an override, like a swap: it survives `up`, `down` and daemon
    restarts until you scale again (`devstack scale worker=1` returns to one).
    """
    wanted = _parse(pairs)
    with daemon_call(ctx) as client:
        for name, replicas in wanted.items():
            info(client.scale(name, replicas)["message"])
        if no_wait:
            return
        if not _wait(client, wanted, timeout):
            fail(f"the replicas were not all running after {timeout:g}s; see `devstack status`")


def _wait(client: Client, wanted: dict[str, int], timeout: float) -> bool:
    """Until each service runs exactly its count (and the healthy ones report healthy)."""
    deadline = time.monotonic() + timeout
    while True:
        services: dict[str, JSON] = {s["name"]: s for s in client.status()["services"]}
        pending = [
            name
            for name, count in wanted.items()
            if services[name]["running"] != count
            or (count and services[name]["state"] not in ("running",))
        ]
        failed = [n for n in pending if services[n]["state"] in ("failed", "exited")]
        if failed:
            fail(f"{', '.join(failed)} failed to start; see `devstack logs`", EXIT_FAILURE)
        if not pending:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
