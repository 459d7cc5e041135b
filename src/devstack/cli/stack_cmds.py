"""Commands that drive a running stack through its daemon: up, down, status, logs, ..."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click

from devstack.api.client import JSON, ApiError, Client, DaemonNotRunning
from devstack.api.readiness import judge
from devstack.api.states import split_problems
from devstack.cli import complete
from devstack.cli.common import Context, env_option, file_option, pass_context, report_problems
from devstack.cli.engine_opts import ask_up, context_option, engine_line, engine_request
from devstack.cli.output import (
    EXIT_FAILURE,
    EXIT_USAGE,
    STATE_COLOURS,
    LogPrinter,
    ago,
    emit,
    fail,
    fail_api,
    info,
    style,
)
from devstack.state.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.api.launch import Boot


@contextmanager
def daemon_call(ctx: Context) -> Iterator[Client]:
    """A client whose errors become one clear line and the right exit code."""
    client: Client = ctx.client()
    if not ctx.paths.socket.exists():
        from devstack.cli.offline import revive

        revive(ctx)  # a daemon that lost its socket is replaced, not reported as absent
    try:
        yield client
    except DaemonNotRunning:
        fail(f"no devstack daemon is running for {ctx.manifest} (start it with `devstack up`)")
    except ApiError as exc:
        fail_api(exc.error, exc.status, exc.problems, exc.log)
    except ConnectionError as exc:  # ProtocolError (an answer cut short) is one
        # The daemon died (or was killed) while it handled the request.
        fail(
            f"the devstack daemon for {ctx.manifest} stopped while handling the request"
            f" ({exc.__class__.__name__}); `devstack up` starts it again and re-adopts"
            " what runs"
        )


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
    if dry_run:
        running = client.ping()
        if not running:
            _validate_locally(ctx, environment)
        click.echo(_dry_run(ctx, client, running, environment, remove_orphans))
        return
    engine = engine_request(context)
    # No socket, no daemon: launch one. Otherwise ask it straight away (a ping first
    # would cost a round trip on every no-op `up`).
    args = (ctx, environment, remove_orphans, build, release, wait, engine)
    if not ctx.paths.socket.exists():
        from devstack.cli.offline import revive

        revive(ctx)  # replaced first, so that this `up` asks the new daemon
    booted = None if ctx.paths.socket.exists() else _boot(*args)
    plan = booted[1] if booted else None
    with daemon_call(ctx), _build_progress(client, started, enabled=plan is None):
        if plan is None:  # a daemon runs (or another `up` just launched one): ask it
            try:
                plan = ask_up(client, environment, remove_orphans, build, release, engine)
            except DaemonNotRunning:  # the socket of a daemon that died: launch one
                booted = _boot(*args)
                plan = (
                    booted[1]
                    if booted
                    else ask_up(client, environment, remove_orphans, build, release, engine)
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
                _wait_healthy(client, wait_timeout, deadline)
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


def _boot(
    ctx: Context,
    environment: str | None,
    remove_orphans: bool,
    build: bool,
    release: str | None,
    wait: bool,
    engine: JSON,
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


@contextmanager
def _build_progress(client: Client, since: float, enabled: bool = True) -> Iterator[None]:
    """While `up` builds images (before it answers), show the build steps on stderr."""
    if not enabled:  # a booting daemon reports its build steps itself
        yield
        return
    done = threading.Event()

    def show() -> None:
        try:
            for line in client.logs(since=since, follow=True):
                if done.is_set():
                    return
                text = line["text"]
                if line["stream"] == "event" and text.startswith(("build: ", "building ")):
                    info(style(f"{line['service']} | {text}", "bright_black", err=True))
        except (DaemonNotRunning, ApiError, OSError):
            return

    threading.Thread(target=show, name="build-progress", daemon=True).start()
    try:
        yield
    finally:
        done.set()


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


def _validate_locally(ctx: Context, environment: str | None) -> None:
    from devstack.config.problems import ManifestError
    from devstack.config.resolve import resolve
    from devstack.providers.secrets import read  # boto3 loads only if secrets are declared

    try:
        # Secrets are read here too: an unreachable store is a located error before any
        # daemon starts, not a daemon that fails to.
        resolve(ctx.load(), environment or "dev", os.environ, ports=ctx.ports(), secrets=read)
    except ManifestError as exc:
        report_problems(exc)


def _dry_run(
    ctx: Context, client: Client, running: bool, environment: str | None, remove_orphans: bool
) -> str:
    if running:
        with daemon_call(ctx):
            return str(client.up(environment, remove_orphans, dry_run=True)["text"])
    # No daemon: plan against what the state file says runs, without starting anything.
    from devstack.config.resolve import resolve
    from devstack.engine.reconcile import project
    from devstack.model.observed import ObservedState
    from devstack.runtimes.process import peek

    desired = resolve(
        ctx.load(),
        environment or "dev",
        os.environ,
        remove_orphans=remove_orphans,
        ports=ctx.ports(),
    )
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
        _fail_with_logs(message["services"], "failed", lambda name: logs.get(name, []))
    mark("cli.wait.done")
    info(f"{message['count']} service(s) running and healthy")
    return True


def _wait_healthy(client: Client, timeout: float, deadline: float | None = None) -> None:
    deadline = time.monotonic() + timeout if deadline is None else deadline
    while True:
        verdict, services = judge(client.status()["services"])
        if verdict == "failed":
            _report_failed(client, services, "failed")
        if verdict == "ready":
            mark("cli.wait.done")
            info(f"{len(services)} service(s) running and healthy")
            return
        if time.monotonic() >= deadline:
            _report_failed(client, services, f"not healthy within {timeout:g}s")
        time.sleep(0.02)


def _report_failed(client: Client, services: list[JSON], why: str) -> None:
    def last_lines(name: str) -> list[str]:
        return [line["text"] for line in client.logs([name], tail=10)]

    _fail_with_logs(services, why, last_lines)


def _fail_with_logs(
    services: list[JSON], why: str, last_lines: Callable[[str], list[str]]
) -> NoReturn:
    details = []
    for s in services:
        reason = f" ({s['reason']})" if s.get("reason") else ""
        code = f", exit code {s['exit_code']}" if s.get("exit_code") is not None else ""
        details.append(f"{s['name']}: {s['state']}{code}{reason}")
        details.extend(f"  {s['name']} | {text}" for text in last_lines(s["name"]))
    fail(f"{', '.join(s['name'] for s in services)} {why}", EXIT_FAILURE, details)


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
    click.echo(json.dumps(result, indent=2) if as_json else _status_table(result))


def _status_table(status: JSON) -> str:
    now = time.time()
    # REPLICAS comes after the older columns, so scripts reading them by position still work.
    rows = [
        ("SERVICE", "RUNTIME", "STATE", "HEALTH", "RESTARTS", "REPLICAS", "PID", "UPTIME", "URL")
    ]
    for s in status["services"]:
        up = s["state"] in ("running", "starting", "unhealthy")
        uptime = ago(now - s["started_at"]) if s["started_at"] and up else "-"
        pid = str(s["pid"] or "-")
        cells = (s["name"], s["runtime"], s["state"], s["health"], str(s["restarts"]))
        replicas = f"{s.get('running', 0)}/{s.get('replicas', 1)}"  # running/desired, as the TUI
        rows.append((*cells, replicas, pid, uptime, s["url"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    pinned = f", release {status['release']}" if status.get("release") else ""
    lines = [f"stack {status['stack']} ({status['environment']}{pinned})", *engine_line(status)]
    for index, row in enumerate(rows):
        padded = [f"{cell:<{widths[i]}}" for i, cell in enumerate(row)]
        if index:
            padded[2] = style(padded[2], STATE_COLOURS.get(row[2]))
        lines.append("  ".join(padded).rstrip())
    lines.extend(f"  {s['name']}: {s['reason']}" for s in status["services"] if s["reason"])
    for line in status.get("recovered") or []:
        lines.append(style(f"  recovered: {line}", "yellow"))
    for line in status.get("real") or []:
        lines.append(style(f"  real endpoint: {line}", "yellow"))
    problems = status.get("problems") or []
    disk, manifest = split_problems(problems)
    lines.extend(style(f"  {problem}", "yellow") for problem in disk)
    if manifest:
        lines.append("the last manifest edit was not applied (the stack runs the previous one):")
        lines.extend(f"  {problem}" for problem in manifest)
    return "\n".join(lines)


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
