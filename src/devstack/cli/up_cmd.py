"""`devstack up`: launch or ask the daemon, plan a dry run, wait, attach or open the UI."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING

import click

from devstack.api.client import JSON, Client, DaemonNotRunning
from devstack.cli.build_progress import build_progress
from devstack.cli.common import (
    Context,
    daemon_call,
    env_option,
    file_option,
    pass_context,
    report_problems,
)
from devstack.cli.engine_opts import ask_up, context_option, engine_request
from devstack.cli.output import (
    EXIT_FAILURE,
    EXIT_USAGE,
    LogPrinter,
    emit,
    fail,
    info,
    style,
)
from devstack.cli.waits import fail_with_logs, wait_healthy
from devstack.state.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.api.launch import Boot


@click.command()
@env_option
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--wait", is_flag=True, help="Return once every service is healthy (implies -d).")
@click.option("--wait-timeout", type=float, default=120.0, show_default=True, metavar="SECONDS")
@click.option("-d", "--detach", is_flag=True, help="Return once the daemon runs the stack.")
@click.option("--remove-orphans", is_flag=True, help="Stop instances of undeclared services.")
@click.option("--timestamps", "-t", is_flag=True, help="Show timestamps on attached logs.")
@click.option("--build", is_flag=True, help="Rebuild images even if their context is unchanged.")
@click.option("--no-ui", is_flag=True, help="In a terminal, stream logs instead of opening the UI.")
@click.option(
    "--profile", "profiles", multiple=True, metavar="NAME",
    help="Enable a compose profile (repeatable): services with profiles run only when one "
    "of theirs is enabled. Default: $DEVSTACK_PROFILES (comma-separated), else none.",
)  # fmt: skip
@click.option(
    "--release", metavar="ID",
    help="Run this recorded release (devstack releases) instead of the manifest.",
)  # fmt: skip
@context_option
@file_option
@pass_context
def up(
    ctx: Context,
    environment: str | None,
    dry_run: bool,
    wait: bool,
    wait_timeout: float,
    detach: bool,
    remove_orphans: bool,
    timestamps: bool,
    build: bool,
    no_ui: bool,
    profiles: tuple[str, ...],
    release: str | None,
    context: str | None,
) -> None:
    """Start the stack (or bring it in line with the manifest) and keep it there.

    In a terminal, without -d/--wait, it then opens the UI (quitting it leaves the stack
    running); with --no-ui, or when not in a terminal, it streams the logs until Ctrl-C,
    which stops the stack.
    """
    client: Client = ctx.client()
    started = time.time()
    # The daemon validates the manifest itself (422 -> exit 2), a running one on `up` and
    # a new one before it starts anything: the CLI loads no model code at all.
    if release is not None:
        environment = _release_environment(ctx, release, environment)
    enabled = _profiles(profiles)
    if dry_run:
        click.echo(_dry_run(ctx, client, environment, remove_orphans, release, enabled))
        return
    # No socket, no daemon: launch one. Otherwise ask it straight away (a ping first
    # would cost a round trip on every no-op `up`).
    engine = engine_request(context)
    args = (ctx, environment, remove_orphans, build, release, wait, engine, enabled)
    if not ctx.paths.socket.exists():
        from devstack.cli.offline import revive

        revive(ctx)  # replaced first, so that this `up` asks the new daemon
    booted = None if ctx.paths.socket.exists() else _boot(*args)
    plan = booted[1] if booted else None
    with daemon_call(ctx), build_progress(client, started, enabled=plan is None):
        if plan is None:  # a daemon runs (or another `up` just launched one): ask it
            try:
                plan = ask_up(client, environment, remove_orphans, build, release, engine, enabled)
            except DaemonNotRunning:  # the socket of a daemon that died: launch one
                booted = _boot(*args)
                plan = (
                    booted[1]
                    if booted
                    else ask_up(
                        client, environment, remove_orphans, build, release, engine, enabled
                    )
                )
        mark("cli.up.answered")
        _let_go_of_a_daemon_launched_ahead()
        for step in plan["steps"]:
            line = f"» {step['kind']} {step['target']}: {step['cause']}"
            info(style(line, "bright_black", err=True))
        for problem in plan.get("problems") or []:  # a full disk: the stack runs, logs do not
            info(style(f"warning: {problem}", "yellow", err=True))
        if wait:
            deadline = time.monotonic() + wait_timeout
            if booted is None or not _boot_verdict(booted[0], deadline, wait_timeout):
                wait_healthy(client, wait_timeout, deadline)
            return
        if detach:
            return
        if not no_ui and _interactive():
            from devstack.cli.ui_cmd import run_ui

            run_ui(ctx, client)
            info("the UI closed; the stack keeps running (`devstack down` stops it)")
            return
        names = [s["name"] for s in client.status()["services"]]
        _attach(client, ctx.paths, names, started, timestamps)


def _profiles(given: tuple[str, ...]) -> list[str]:
    """`--profile` values, else $DEVSTACK_PROFILES (compose's COMPOSE_PROFILES), else none."""
    if given:
        return list(dict.fromkeys(given))
    from devstack.cli.fast_up import env_profiles

    return env_profiles()


def _boot(
    ctx: Context,
    environment: str | None,
    remove_orphans: bool,
    build: bool,
    release: str | None,
    wait: bool,
    engine: JSON,
    profiles: list[str],
) -> tuple[Boot, JSON] | None:
    """Launch the daemon with this `up`: its report pipe and plan, or None if another daemon
    holds the stack.

    The daemon starts the services before it imports its API (daemon/boot.py), so a cold
    `up` does not wait for the CLI to validate, nor for the API to load; with `--wait` it
    also says on the pipe when the stack is up."""
    from devstack.api import prelaunch
    from devstack.api.launch import DaemonStartError, boot_daemon, ensure_daemon

    def build_progress(message: JSON) -> None:
        info(style(f"{message['service']} | {message['text']}", "bright_black", err=True))

    intent = {
        "environment": environment,
        "remove_orphans": remove_orphans,
        "build": build,
        "release": release,
        "profiles": profiles,
        "wait": wait,
        "engine": engine,
    }
    with daemon_call(ctx):
        try:
            booted = boot_daemon(
                ctx.manifest.resolve(),
                environment,
                ctx.paths,
                intent,
                build_progress,
                prelaunch.take(),
            )
        except DaemonStartError as exc:
            fail("the devstack daemon did not start", EXIT_FAILURE, str(exc).splitlines())
    if booted is None:  # another `up` launched a daemon first: wait until it answers
        try:
            ensure_daemon(ctx.manifest.resolve(), environment, ctx.paths)
        except DaemonStartError as exc:
            fail("the devstack daemon did not start", EXIT_FAILURE, str(exc).splitlines())
        return None
    mark("cli.booted")
    return booted


def _let_go_of_a_daemon_launched_ahead() -> None:
    """A daemon launched ahead but not needed (another daemon answered) exits now, not
    when this command ends (an attached `up` may last all day)."""
    from devstack.api import prelaunch

    ahead = prelaunch.take()
    if ahead is not None:
        ahead.discard()


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def _release_environment(ctx: Context, release: str, environment: str | None) -> str:
    """A release runs the environment it was made for; asking for another is a mistake."""
    from devstack.release.record import ReleaseError
    from devstack.release.store import load

    ctx.load()  # the manifest still has to load: today's secrets are read through it
    try:
        recorded = str(load(ctx.paths.state_dir, release)["environment"])
    except ReleaseError as exc:
        fail(str(exc), EXIT_USAGE)
    if environment is not None and environment != recorded:
        fail(f"release {release} was made for environment {recorded!r}, not {environment!r}",
             EXIT_USAGE)  # fmt: skip
    return recorded


def _dry_run(
    ctx: Context,
    client: Client,
    environment: str | None,
    remove_orphans: bool,
    release: str | None,
    profiles: list[str],
) -> str:
    if client.ping():
        with daemon_call(ctx):
            answer = client.up(
                environment, remove_orphans, dry_run=True, release=release, profiles=profiles
            )
            return str(answer["text"])
    # No daemon: plan what the daemon that `up` starts would do, from the intent it would
    # read (swaps and scale persisted) against what the state file says runs.
    from devstack.config.problems import ManifestError
    from devstack.engine.reconcile import project
    from devstack.intent.desired import desired_state
    from devstack.intent.value import Intent
    from devstack.model.observed import ObservedState
    from devstack.providers.secrets import read  # boto3 loads only if secrets are declared
    from devstack.runtimes.process import peek

    intent = Intent.load(ctx.paths.overrides).for_up(environment, remove_orphans, release, profiles)
    loaded = ctx.load()
    if unknown := intent.unknown_profiles(loaded.stack.services):
        fail(unknown, EXIT_USAGE)
    try:
        # Secrets are read here too: an unreachable store is a located error before any
        # daemon starts, not a daemon that fails to.
        desired = desired_state(
            loaded, intent, os.environ, state_dir=ctx.paths.state_dir, ports=ctx.ports(),
            secrets=read,
        )  # fmt: skip
    except ManifestError as exc:
        report_problems(exc)
    observed = ObservedState(tuple(peek(ctx.paths.state_dir)))
    return project(desired, observed, time.time()).render()


def _boot_verdict(boot: Boot, deadline: float, timeout: float) -> bool:
    """The booting daemon's word on `--wait`: True once ready (a failure exits here);
    False if it had none in time or stopped reporting (the API then decides)."""
    message = boot.next(deadline)
    while message is not None and message.get("kind") not in ("ready", "failed"):
        message = boot.next(deadline)
    if message is None:
        return False
    if message["kind"] == "failed":
        logs: dict[str, list[str]] = message["logs"]
        fail_with_logs(message["services"], "failed", lambda name: logs.get(name, []))
    mark("cli.wait.done")
    info(f"{message['count']} service(s) running and healthy")
    return True


def _attach(
    client: Client, paths: StackPaths, names: list[str], since: float, timestamps: bool
) -> None:
    """Stream logs until Ctrl-C, then stop the stack gracefully (a second Ctrl-C detaches)."""
    printer = LogPrinter([*names, "devstack"], timestamps)
    try:
        for line in client.logs(since=since, follow=True):
            emit(printer.line(line))
    except KeyboardInterrupt:
        info("\nstopping the stack gracefully (Ctrl-C again to detach and leave it running)")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            result = client.down()
        except KeyboardInterrupt:
            info("detached; the stack keeps running (`devstack down` stops it)")
            sys.exit(130)
        from devstack.api.launch import wait_daemon_gone

        wait_daemon_gone(paths)
        info(result["message"])
        sys.exit(0 if result["ok"] else EXIT_FAILURE)
    info("the daemon stopped")
