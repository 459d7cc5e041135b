"""Admin processes: `devstack run` (a one-off) and `devstack exec` (a shell or command in a
running service). Thin: the work is in devstack.oneoff; this module parses arguments,
asks the daemon what runs, and turns errors into one line and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from devstack.cli import complete
from devstack.cli.common import (
    Context,
    env_option,
    file_option,
    pass_context,
    refuse_breaches,
    report_problems,
)
from devstack.cli.output import EXIT_USAGE, fail, info, style

if TYPE_CHECKING:
    from devstack.config.loader import LoadedStack
    from devstack.oneoff.config import Target

# Everything after SERVICE (and after `--`) is the command, options included.
COMMAND_SETTINGS = {"ignore_unknown_options": True}
LIVE_STATES = {"running", "starting", "unhealthy"}
T = TypeVar("T")


@click.command(context_settings=COMMAND_SETTINGS)
@click.argument("service", shell_complete=complete.services)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@env_option
@file_option
@pass_context
def run(ctx: Context, service: str, command: tuple[str, ...], environment: str | None) -> None:
    """Run a one-off admin process with SERVICE's image (or workdir) and config.

    \b
      devstack run api -- python manage.py migrate
      devstack run --env staging worker -- python -m worker.backfill

    The command (default: the service's own) is attached to the terminal and its exit
    code is devstack's. A container service gets a new container (removed afterwards)
    on the stack network, with the service's env, volumes and compose keys (user,
    entrypoint, secrets...); a host-process service runs the command in its workdir
    with its environment. Put the command after `--`.
    """
    status = _daemon_status(ctx)
    running_env = str(status["environment"]) if status else None
    target = _target(ctx, service, environment, running_env)
    refuse_breaches({service: target.service})
    _warn_about_dependencies(target, status)
    code = _guarded(lambda: _run(target, command))
    sys.exit(code)


@click.command("exec", context_settings=COMMAND_SETTINGS)
@click.argument("service", shell_complete=complete.services)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--replica",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="K",
    help="Which instance: 0 is `api`, 1 is `api#1`...",
)
@file_option
@pass_context
def exec_(ctx: Context, service: str, command: tuple[str, ...], replica: int) -> None:
    """Run a command (default: an interactive shell) inside the running SERVICE.

    \b
      devstack exec api                 # a shell in api's container
      devstack exec api -- ls /app
      devstack exec worker -- env       # a host process: its workdir and environment

    A container service: `docker exec` into its container. A host-process service: the
    command starts in the service's workdir with the service's environment (default:
    $SHELL, else /bin/sh). The exit code is the command's. Put the command after `--`.
    """
    from devstack.oneoff.config import check_declared

    status = _daemon_status(ctx)
    loaded = ctx.load()
    _guarded(lambda: check_declared(loaded, service))
    declared = loaded.stack.services[service]
    entry = _entry(service, status)
    replicas = int(entry.get("replicas", declared.replicas))  # a scale counts
    _guarded(lambda: _check_replica(service, replica, replicas))
    # The daemon knows the runtime in the environment that runs (`images:` may differ).
    if entry.get("runtime", declared.runtime) == "docker":
        code = _guarded(lambda: _exec_container(ctx, service, replica, command, status))
    else:
        running_env = str(status["environment"]) if status else None
        target = _target(ctx, service, None, running_env, loaded)
        code = _guarded(lambda: _exec_process(ctx, target, replica, command, status))
    sys.exit(code)


def _run(target: Target, command: tuple[str, ...]) -> int:
    if target.service.runtime == "docker":
        from devstack.oneoff.container import run_oneoff

        return run_oneoff(target, command, lambda line: info(style(line, "bright_black", err=True)))
    from devstack.oneoff.process import run_in_service

    return run_in_service(target, command, os.environ)


def _entry(service: str, status: dict[str, Any] | None) -> dict[str, Any]:
    """What the daemon's status says about the service ({} without a daemon)."""
    for entry in (status or {}).get("services", []):
        if entry.get("name") == service:
            return dict(entry)
    return {}


def _check_replica(service: str, replica: int, replicas: int) -> None:
    from devstack.oneoff import OneOffError
    from devstack.oneoff.config import replica_label

    if replicas and replica >= replicas:  # 0: stopped, which "is not running" says
        shown = ", ".join(replica_label(service, k) for k in range(replicas))
        raise OneOffError(
            f"{service} has {replicas} replica{'s' if replicas != 1 else ''} ({shown}): "
            f"no {replica_label(service, replica)}",
            EXIT_USAGE,
        )


def _exec_container(
    ctx: Context,
    service: str,
    replica: int,
    command: tuple[str, ...],
    status: dict[str, Any] | None,
) -> int:
    """The container has the service's config already: nothing to resolve."""
    from devstack.oneoff import OneOffError
    from devstack.oneoff.container import exec_in_service

    try:
        return exec_in_service(ctx.paths.stack_id, service, replica, command)
    except OneOffError as exc:
        raise OneOffError(_with_state(str(exc), service, status), exc.code) from exc


def _exec_process(
    ctx: Context,
    target: Target,
    replica: int,
    command: tuple[str, ...],
    status: dict[str, Any] | None,
) -> int:
    from devstack.oneoff import OneOffError
    from devstack.oneoff.config import replica_label
    from devstack.oneoff.process import default_shell, run_in_service
    from devstack.runtimes.process import peek

    # What runs, from the state file checked against /proc: right even if the daemon died.
    live = {(w.service, w.replica) for w in peek(ctx.paths.state_dir) if w.state == "running"}
    if (target.name, replica) not in live:
        shown = replica_label(target.name, replica)
        raise OneOffError(
            _with_state(
                f"{shown} is not running (`devstack up` or `devstack start {target.name}`)",
                target.name,
                status,
            )
        )
    shell = command or default_shell(os.environ)
    return run_in_service(target.instance(replica), shell, os.environ)


def _target(
    ctx: Context,
    service: str,
    environment: str | None,
    running_env: str | None,
    loaded: LoadedStack | None = None,
) -> Target:
    from devstack.config.problems import ManifestError
    from devstack.oneoff.config import target

    loaded = loaded or ctx.load()
    try:
        found = _guarded(
            lambda: target(loaded, ctx.paths, service, environment, os.environ, running_env)
        )
    except ManifestError as exc:
        report_problems(exc)
    if found.desired.pending:
        # Secrets on a provider that is still starting: the services wait for them too.
        info(f"{style('warning:', 'yellow', err=True)} not available yet: {found.desired.pending}")
    return found


def _guarded(call: Callable[[], T]) -> T:
    """OneOffError -> one line on stderr and its exit code; no traceback."""
    from devstack.oneoff import OneOffError

    try:
        return call()
    except OneOffError as exc:
        fail(str(exc), exc.code)


def _daemon_status(ctx: Context) -> dict[str, Any] | None:
    """The running daemon's status, or None when none answers."""
    from devstack.api.client import ApiError, Client, DaemonNotRunning

    client: Client = ctx.client()
    try:
        return client.status()
    except (DaemonNotRunning, ApiError, OSError):
        return None


def _with_state(message: str, service: str, status: dict[str, Any] | None) -> str:
    """Add what the daemon says about the service: its state and why."""
    if status is None:
        return f"{message}; no devstack daemon is running for this stack"
    entry = _entry(service, status)
    if not entry:
        return message
    why = f": {entry['reason']}" if entry.get("reason") else ""
    return f"{message}; devstack status: {entry.get('state')}{why}"


def _warn_about_dependencies(target: Target, status: dict[str, Any] | None) -> None:
    """The daemon owns the stack, so `run` starts nothing: it says what is not running
    among the services and backing services this one depends on."""
    needed = sorted(target.service.depends_on)
    if not needed:
        return
    if status is None:
        info(
            f"{style('warning:', 'yellow', err=True)} no devstack daemon is running for this "
            f"stack, so what {target.name} depends on is not running: {', '.join(needed)} "
            "(`devstack up` starts them)"
        )
        return
    states = {s["name"]: s["state"] for s in status.get("services", [])}
    for name in needed:
        state = states.get(name, "not running")
        if state not in LIVE_STATES:
            info(
                f"{style('warning:', 'yellow', err=True)} {target.name} depends on {name}, "
                f"which is {state}"
            )
