"""Commands about backing services: `backing` lists them, `swap` moves them between providers."""

from __future__ import annotations

import json
import sys
import time

import click

from devstack.api.client import JSON, Client
from devstack.api.readiness import FAILED_STATES
from devstack.cli import complete
from devstack.cli.common import Context, daemon_call, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, fail, info, style
from devstack.cli.render import backing_table
from devstack.cli.waits import report_failed
from devstack.data.progress import human


@click.command("backing")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def backing(ctx: Context, as_json: bool) -> None:
    """List backing services: kind, provider, endpoint, health, resources, consumers, and
    where each emulator or server runs (this machine, or a remote Docker engine)."""
    with daemon_call(ctx) as client:
        rows = client.backing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo("\n".join(backing_table(rows)))


@click.command("swap")
@click.argument("backing_name", metavar="BACKING", required=False, shell_complete=complete.backing)
@click.argument("provider", required=False, shell_complete=complete.providers)
@click.option("--dry-run", is_flag=True, help="Show what would restart and which variables change.")
@click.option("--undo", is_flag=True, help="Revert BACKING's last swap.")
@click.option("--reset", is_flag=True, help="Revert every swap.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before pointing at a real endpoint.")
@click.option("--no-wait", is_flag=True, help="Return once the swap is committed.")
@click.option(
    "--carry",
    is_flag=True,
    help="Copy the data to the new provider before the consumers restart (with --undo: back).",
)
@click.option("--timeout", type=float, default=120.0, show_default=True, metavar="SECONDS")
@file_option
@pass_context
def swap(
    ctx: Context,
    backing_name: str | None,
    provider: str | None,
    dry_run: bool,
    undo: bool,
    reset: bool,
    yes: bool,
    no_wait: bool,
    carry: bool,
    timeout: float,
) -> None:
    """Point BACKING at PROVIDER; only the services that use it restart.

    The new provider is started and provisioned first; if that fails nothing changes.
    The swap is kept (across `up`, `down` and daemon restarts) until `--undo` or `--reset`.
    """
    if reset and (backing_name or undo):
        fail("--reset takes no BACKING and no --undo", EXIT_USAGE)
    if not reset and not backing_name:
        fail("name the backing service to swap (see `devstack backing`)", EXIT_USAGE)
    if undo and provider:
        fail("--undo takes no PROVIDER", EXIT_USAGE)
    if not (reset or undo or provider):
        fail(f"name the provider to swap {backing_name} to", EXIT_USAGE)
    request = {
        "backing": backing_name,
        "provider": provider,
        "undo": undo,
        "reset": reset,
        "timeout": timeout,
    }
    if carry:  # sent only when asked: a daemon without it keeps answering
        request["carry"] = True
    started = time.monotonic()
    with daemon_call(ctx) as client:
        # One call does it (a swap to something real comes back unapplied, to confirm).
        result = client.swap(**request, dry_run=dry_run, confirm_real=yes)
        _show_preview(result)
        if not result["applied"] and result["real"] and not dry_run:
            _confirm(result["real"])
            result = client.swap(**request, confirm_real=True)
        info(result["message"])
        if dry_run or not result["applied"]:
            return
        if no_wait or not result["restarts"]:
            return
        _wait_restarted(client, result["restarts"], timeout)
        info(f"{len(result['restarts'])} service(s) healthy in {time.monotonic() - started:.2f}s")


def _show_preview(preview: JSON) -> None:
    for backing_name, (old, new) in preview["moves"].items():
        click.echo(f"{backing_name}: {old or '-'} -> {new}")
    restarts = preview["restarts"]
    click.echo(f"restarts: {', '.join(restarts) if restarts else 'nothing'}")
    for change in preview["env_changes"]:
        old = change["old"] if change["old"] is not None else "(unset)"
        new = change["new"] if change["new"] is not None else "(unset)"
        click.echo(f"  {change['service']}: {change['name']}: {old} -> {new}")
    for moved in preview.get("carry", []):
        size = f", {human(moved['bytes'])}" if moved.get("bytes") else ""  # 0: not counted
        what = f"{moved['items']} item(s){size}" if moved.get("items") is not None else "its data"
        verb = "would copy" if not preview["applied"] else "copied"
        click.echo(
            f"carry {moved['backing']}: {verb} {what} {moved['source']} -> {moved['destination']}"
        )
    for note in preview.get("notes", []):
        click.echo(style(f"note: {note}", "yellow"))
    if preview.get("plan"):
        click.echo(preview["plan"])


def _confirm(real: list[str]) -> None:
    for line in real:
        click.echo(style(f"this swap points at something real: {line}", "yellow"))
    if not sys.stdin.isatty():
        fail("refusing without confirmation: pass --yes to swap to a real endpoint", EXIT_USAGE)
    if not click.confirm("Continue?", default=False):
        fail("swap cancelled, nothing changed", EXIT_FAILURE)


def _wait_restarted(client: Client, names: list[str], timeout: float) -> None:
    """Until every consumer runs its new spec and is healthy (state `running`)."""
    deadline = time.monotonic() + timeout
    while True:
        services = {s["name"]: s for s in client.status()["services"]}
        wanted = [services[n] for n in names if n in services]
        broken = [s for s in wanted if s["state"] in FAILED_STATES]
        if broken:
            report_failed(client, broken, "failed after the swap")
        if all(s["state"] == "running" for s in wanted):
            return
        if time.monotonic() >= deadline:
            pending = [s for s in wanted if s["state"] != "running"]
            report_failed(client, pending, f"not healthy within {timeout:g}s of the swap")
        time.sleep(0.02)
