"""Commands that drive a running stack through its daemon: down, status, logs, restart,
stop, start, rebuild (`up` is in up_cmd.py)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import TYPE_CHECKING

import click

from devstack.api.client import Client, DaemonNotRunning
from devstack.cli import complete
from devstack.cli.common import Context, daemon_call, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, LogPrinter, emit, fail, info
from devstack.cli.render import status_table

if TYPE_CHECKING:
    pass


@click.command()
@click.option("-v", "--volumes", is_flag=True, help="Also remove the stack's named volumes.")
@file_option
@pass_context
def down(ctx: Context, volumes: bool) -> None:
    """Stop every service gracefully and stop the daemon (volumes are kept unless -v)."""
    from devstack.api.launch import wait_daemon_gone
    from devstack.cli import offline

    client: Client = ctx.client()
    if not client.ping():
        if _nothing_running(ctx):
            # As compose: nothing to do is not an error.
            info(f"nothing to stop: no devstack daemon is running for {ctx.manifest}")
            if volumes:
                # Only a daemon removes them, and starting one would start the stack.
                info("volumes were kept: `devstack up -d` then `devstack down -v` removes them")
            return
        # Services outlive a daemon that died (and volumes outlive everything): start one,
        # which adopts what runs, and let it stop them.
        from devstack.api.launch import DaemonStartError, ensure_daemon

        try:
            ensure_daemon(ctx.manifest.resolve(), None, ctx.paths)
        except DaemonStartError as exc:
            fail("the devstack daemon did not start", EXIT_FAILURE, str(exc).splitlines())
    with daemon_call(ctx) as client:
        try:
            result = client.down(volumes)
        except DaemonNotRunning:
            # No daemon: stop what still runs by its labels, as compose does.
            if offline.down(ctx):
                return
            raise
    gone = wait_daemon_gone(ctx.paths)
    info(result["message"] if gone else f"{result['message']}; the daemon is still exiting")
    if not result["ok"]:
        sys.exit(EXIT_FAILURE)


def _nothing_running(ctx: Context) -> bool:
    """Without a daemon, whether nothing of the stack runs: no process of the state file is
    alive and no container carries the stack's label (both outlive a daemon that died)."""
    from devstack.runtimes.process import peek

    if any(w.state == "running" for w in peek(ctx.paths.state_dir)):
        return False
    try:
        from devstack.runtimes.docker_engine import has_containers
        from devstack.runtimes.engine_target import from_environment
    except ImportError:
        return True  # no Docker SDK: devstack never ran a container here
    from devstack.engine.ports import RuntimeError_

    try:
        return not has_containers(ctx.paths.stack_id, from_environment(ctx.paths.state_dir))
    except RuntimeError_:
        return True  # no engine to reach: nothing of ours can run on it


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """Show each service's state, health, restarts, pid and ports."""
    from devstack.cli import offline

    with daemon_call(ctx) as client:
        try:
            result = client.status()
        except DaemonNotRunning:
            # Services outlive their daemon: show what still runs, from labels.
            found = offline.status(ctx)
            if found is None:
                raise
            click.echo(json.dumps(found, indent=2) if as_json else offline.table(found))
            return
    result["daemon_running"] = True
    click.echo(json.dumps(result, indent=2) if as_json else status_table(result))


def _store_file(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(Context).file = value


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete.services)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--since", metavar="DURATION", help="Only lines newer than this (e.g. 30s, 5m).")
@click.option("-n", "--tail", type=int, metavar="N", help="Only the last N lines.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option(
    "--file", "file_", metavar="PATH", expose_value=False, is_eager=True, callback=_store_file,
    help="Stack manifest (default: ./devstack.yaml; `-f` means --follow here).",
)  # fmt: skip
@pass_context
def logs(
    ctx: Context,
    services: tuple[str, ...],
    follow: bool,
    since: str | None,
    tail: int | None,
    timestamps: bool,
) -> None:
    """Print the logs of SERVICES (all by default): one stream, prefixed by service."""
    from devstack.model.durations import parse_duration

    since_ts = None
    if since:
        try:
            since_ts = time.time() - parse_duration(since)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    printer = LogPrinter(list(services), timestamps)
    client: Client = ctx.client()
    if not client.ping():
        _logs_on_disk(ctx, list(services), since_ts, tail, printer)
        return
    with daemon_call(ctx) as client:
        try:
            for line in client.logs(list(services) or None, since_ts, tail, follow):
                emit(printer.line(line))
        except KeyboardInterrupt:
            return


def _logs_on_disk(
    ctx: Context, services: list[str], since: float | None, tail: int | None, printer: LogPrinter
) -> None:
    """`logs` without a daemon, as compose shows a stopped project's logs: the rotated log
    files under .devstack/logs/ (what ran until the daemon stopped). -f has nothing to follow."""
    from devstack.daemon.logfiles import logged_services, read_back
    from devstack.model.names import UnknownName

    logs_dir = ctx.paths.logs_dir
    known = logged_services(logs_dir) | {"devstack"}
    if any(name not in known for name in services):
        # A service that never logged is still a known name; the manifest says which.
        from devstack.config.loader import load_stack
        from devstack.config.problems import ManifestError

        with contextlib.suppress(ManifestError):  # a broken manifest must not hide the logs
            known |= set(load_stack(ctx.manifest).stack.services)
        for name in services:
            if name not in known:
                raise UnknownName("service", name, known - {"devstack"})
    info(f"no devstack daemon is running for {ctx.manifest}: showing the logs on disk")
    for line in read_back(logs_dir, services or None, since, tail):
        emit(printer.line(line))


def _service_action(verb: str, doc: str) -> click.Command:
    @click.command(verb, help=doc)
    @click.argument("service", shell_complete=complete.services)
    @file_option
    @pass_context
    def command(ctx: Context, service: str) -> None:
        with daemon_call(ctx) as client:
            result = client.action(service, verb)
        info(result["message"])
        if not result["ok"]:
            sys.exit(EXIT_FAILURE)

    return command


restart = _service_action("restart", "Restart SERVICE (graceful stop, then start).")
stop = _service_action("stop", "Stop SERVICE; it stays stopped until start/up.")
start = _service_action("start", "Start SERVICE again after stop.")
rebuild = _service_action(
    "rebuild", "Build SERVICE's image again (even if unchanged), then restart it."
)
