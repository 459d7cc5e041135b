"""`devstack data`: snapshots of what backing services hold, restored onto whichever
provider serves them now (docs/backing-data.md).

The data moves between this process and the providers, not through the daemon: progress
stays on this terminal and no API call lasts minutes. The endpoints are the daemon's: the
desired state is resolved from the manifest and the intent the daemon saved (its
environment, swaps and remembered ports), as `config show` and `run` do.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from devstack.cli import complete
from devstack.cli.common import Context, file_option, pass_context, report_problems
from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, fail, info

EXIT_INTERRUPTED = 130  # as for any command cut short by Ctrl-C (cli/main.py)


@click.group("data")
def data_group() -> None:
    """Snapshot, restore and verify what backing services hold."""


def _store(ctx: Context) -> Any:
    from devstack.data.snapshot import SnapshotStore

    return SnapshotStore(ctx.paths.state_dir)


def _targets(ctx: Context, backings: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
    """The stack's desired state as the daemon runs it, and the targets of `backings`."""
    from devstack.cli.config_cmds import _running_environment
    from devstack.config.problems import ManifestError
    from devstack.data.targets import data_targets
    from devstack.oneoff.config import effective_state

    loaded = ctx.load()
    try:
        desired = effective_state(loaded, ctx.paths, None, os.environ, _running_environment(ctx))
    except ManifestError as exc:
        report_problems(exc)
    return desired, data_targets(desired, backings, loaded.stack.backing)


def _meter(as_json: bool) -> Any:
    from devstack.data.progress import Meter

    return Meter()


def _emit_summary(
    command: str, name: str, outcomes: list[Any], as_json: bool, **extra: Any
) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "command": command,
                    "snapshot": name,
                    **extra,
                    "backings": [o.to_json() for o in outcomes],
                },
                indent=2,
            )
        )


@data_group.command("snapshot")
@click.argument("name", required=False)
@click.argument("backings", nargs=-1, metavar="[BACKING]...", shell_complete=complete.backing)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Keep SecureString and Secrets Manager values (files are 0600).",
)
@click.option(
    "--include-messages",
    is_flag=True,
    help="Copy queued SQS messages (read, then made visible again).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@file_option
@pass_context
def snapshot(
    ctx: Context, name: str | None, backings: tuple[str, ...], include_secrets: bool,
    include_messages: bool, as_json: bool,
) -> None:  # fmt: skip
    """Copy the data of BACKING... (default: every backing service that holds data) into
    snapshot NAME (default: the time), from whichever provider serves them now."""
    from devstack.data.adapter import DataError, DataOptions
    from devstack.data.run import take_snapshot
    from devstack.data.snapshot import check_name

    name = name or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    started = time.monotonic()
    try:
        check_name(name)  # before anything is read: a bad name costs nothing
        desired, targets = _targets(ctx, backings)
        if not targets:
            fail("no backing service holds data devstack can copy", EXIT_USAGE)
        options = DataOptions(include_secrets=include_secrets, include_messages=include_messages)
        header = {"stack": desired.stack, "environment": desired.environment}
        path, outcomes = take_snapshot(_store(ctx), name, targets, options, _meter(as_json), header)
    except DataError as exc:
        fail(str(exc), EXIT_FAILURE)
    except OSError as exc:  # the snapshot's disk: full, read-only (nothing was kept)
        fail(f"snapshot {name} not written: {exc.strerror or exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        fail(f"interrupted: no snapshot {name} was written (take it again)", EXIT_INTERRUPTED)
    for o in outcomes:
        for note in o.notes:
            info(f"note: {o.backing}: {note}")
        if o.omitted:
            info(
                f"note: {o.backing}: {o.omitted} secret value(s) left out (--include-secrets keeps them)"
            )
    items = sum(o.items for o in outcomes)
    info(
        f"snapshot {name}: {items} item(s) of {len(outcomes)} backing service(s) in {time.monotonic() - started:.1f}s"
    )
    _emit_summary("snapshot", name, outcomes, as_json, path=str(path))


@data_group.command("restore")
@click.argument("name")
@click.argument("backings", nargs=-1, metavar="[BACKING]...", shell_complete=complete.backing)
@click.option("--dry-run", is_flag=True, help="Only show the counts to add, change and delete.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@file_option
@pass_context
def restore(
    ctx: Context, name: str, backings: tuple[str, ...], dry_run: bool, as_json: bool
) -> None:
    """Make BACKING... (default: every one in the snapshot) equal to snapshot NAME on the
    provider that serves them now: adds, changes and deletes, then checks what it wrote."""
    from devstack.data.adapter import DataError, DataOptions
    from devstack.data.run import restore as run_restore

    try:
        snap = _store(ctx).open(name)
        _, targets = _targets(ctx, backings or tuple(snap.backings()))
        outcomes = run_restore(snap, targets, DataOptions(), _meter(as_json), dry_run=dry_run)
    except DataError as exc:
        fail(str(exc), EXIT_FAILURE)
    except OSError as exc:  # a snapshot file that cannot be read
        fail(f"snapshot {name}: {exc.strerror or exc} ({exc.filename or 'a file'})", EXIT_FAILURE)
    except KeyboardInterrupt:
        fail(
            f"interrupted: partly restored; run `devstack data restore {name}` again",
            EXIT_INTERRUPTED,
        )
    for o in outcomes:
        counts = f"{o.add} to add, {o.change} to change, {o.delete} to delete"
        done = "" if dry_run else " (done, checked)"
        click.echo(f"{o.backing} ({o.kind} on {o.provider}): {counts}{done}", err=as_json)
        for note in o.notes:
            info(f"  note: {note}")
    if dry_run:
        info("dry run: nothing changed")
    _emit_summary("restore", name, outcomes, as_json, dry_run=dry_run)


@data_group.command("verify")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def verify(ctx: Context, name: str, as_json: bool) -> None:
    """Check every item of snapshot NAME against its sha256 in the manifest."""
    from devstack.data.adapter import DataError

    try:
        snap = _store(ctx).open(name)
        problems = snap.verify()
    except DataError as exc:
        fail(str(exc), EXIT_FAILURE)
    items = sum(len(b.items) for b in snap.backings().values())
    if as_json:
        click.echo(
            json.dumps(
                {"snapshot": name, "items": items, "ok": not problems, "problems": problems},
                indent=2,
            )
        )
    if problems:
        fail(f"snapshot {name}: {len(problems)} problem(s)", EXIT_FAILURE, problems[:20])
    if not as_json:
        click.echo(f"snapshot {name}: {items} item(s), all match the manifest")


@data_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def list_(ctx: Context, as_json: bool) -> None:
    """List the snapshots of this stack."""
    from dataclasses import asdict

    from devstack.data.progress import human

    found = _store(ctx).list()
    if as_json:
        click.echo(json.dumps([asdict(s) for s in found], indent=2))
        return
    if not found:
        click.echo("no snapshots (take one with `devstack data snapshot`)")
        return
    rows = [("NAME", "CREATED", "ITEMS", "SIZE", "SECRETS", "BACKING")]
    for s in found:
        what = ", ".join(f"{b} ({k})" for b, k in s.backings.items())
        rows.append(
            (
                s.name,
                s.created,
                str(s.items),
                human(s.size),
                "yes" if s.include_secrets else "no",
                what,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())


@data_group.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@file_option
@pass_context
def rm(ctx: Context, names: tuple[str, ...]) -> None:
    """Remove snapshots."""
    from devstack.data.adapter import DataError

    store = _store(ctx)
    try:
        for name in names:
            store.remove(name)
            info(f"removed snapshot {name}")
    except DataError as exc:
        fail(str(exc), EXIT_FAILURE)


def _register_pull() -> None:
    from devstack.cli.data_pull_cmd import pull

    data_group.add_command(pull)


_register_pull()
