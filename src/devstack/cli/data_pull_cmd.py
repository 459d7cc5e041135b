"""`devstack data pull BACKING --from ENV`: seed the local provider from staging, read-only
on the source (devstack/data/pull.py)."""

from __future__ import annotations

import os
import time

import click

from devstack.cli import complete
from devstack.cli.common import Context, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, fail, info


@click.command("pull")
@click.argument("backing", shell_complete=complete.backing)
@click.option(
    "--from", "environment", required=True, metavar="ENV",
    help="The environment whose `aws` or `external` provider serves BACKING (staging).",
)  # fmt: skip
@click.option("--prefix", help="Only object keys (s3) or partition keys (dynamodb) starting so.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many objects or items.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@file_option
@pass_context
def pull(
    ctx: Context, backing: str, environment: str, prefix: str | None, limit: int | None,
    as_json: bool,
) -> None:  # fmt: skip
    """Copy BACKING's data from environment ENV (staging) onto the provider that serves it
    here: adds and updates, never deletes here, never writes there."""
    from devstack.cli.data_cmds import _emit_summary, _meter, _store, _targets
    from devstack.data.adapter import DataError
    from devstack.data.pull import pull as run_pull
    from devstack.data.pull import source_target

    started = time.monotonic()
    try:
        loaded = ctx.load()
        source = source_target(loaded.stack, loaded.root, environment, backing, os.environ)
        _, targets = _targets(ctx, (backing,))
        outcomes = run_pull(
            _store(ctx), source, targets[backing], _meter(as_json), prefix=prefix, limit=limit
        )
    except DataError as exc:
        fail(str(exc), EXIT_FAILURE)
    for o in outcomes:
        click.echo(
            f"{o.backing}: pulled from {source.provider} ({environment}) onto {o.provider}: "
            f"{o.add} added, {o.change} updated",
            err=as_json,
        )
        for note in o.notes:
            info(f"  note: {note}")
    info(f"pull {backing}: done in {time.monotonic() - started:.1f}s")
    _emit_summary("pull", "", outcomes, as_json, source=source.provider, environment=environment)
