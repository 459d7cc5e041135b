"""Commands that need no daemon: validate, schema, config show, completion."""

from __future__ import annotations

import json
import os

import click

from devstack.cli import complete
from devstack.cli.common import Context, env_option, file_option, pass_context, report_problems
from devstack.cli.output import EXIT_USAGE, fail, style
from devstack.model.names import UnknownName

MASK = "********"


@click.command()
@file_option
@pass_context
def validate(ctx: Context) -> None:
    """Check the manifest and every environment; list every problem with its location.

    Every phase runs (schema, references, env files, variables): one run lists all that
    is wrong, not just the first phase's problems.
    """
    from devstack.config.validation import validate_manifest

    report = validate_manifest(ctx.manifest, os.environ)
    if report.problems:
        count = len(report.problems)
        fail(
            f"{count} problem{'s' if count != 1 else ''} in the manifest:",
            EXIT_USAGE,
            [str(p) for p in report.problems] + report.unchecked,
        )
    assert report.stack is not None  # no problem: every phase ran
    for environment, missing in report.missing.items():
        # The manifest is valid; this machine just cannot run that environment yet.
        click.echo(f"note: environment {environment!r} cannot run here: {missing}", err=True)
    click.echo(
        f"{report.display}: stack {report.stack.name!r} is valid: "
        f"{len(report.stack.services)} service(s), environments {', '.join(report.environments)}"
    )


@click.command()
def schema() -> None:
    """Print the manifest's JSON Schema (for yaml-language-server and editors)."""
    from devstack.model.manifest import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@click.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@click.argument("service", shell_complete=complete.services)
@env_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--show-secrets", is_flag=True, help="Print secret values instead of masking them.")
@file_option
@pass_context
def config_show(
    ctx: Context, service: str, environment: str | None, as_json: bool, show_secrets: bool
) -> None:
    """Print SERVICE's environment variables, each with the source of its value."""
    from devstack.api.models import ConfigVar, ServiceConfig
    from devstack.config.problems import ManifestError
    from devstack.oneoff.config import effective_state

    loaded = ctx.load()
    running = None if environment else _running_environment(ctx)
    try:
        # The config that runs: the daemon's intent (swaps, scale, a pinned release), as
        # `run` sees it, unless --env names another environment.
        desired = effective_state(loaded, ctx.paths, environment, os.environ, running)
    except ManifestError as exc:
        report_problems(exc)
    if desired.pending:
        click.echo(f"note: not shown yet: {desired.pending}", err=True)
    if service not in desired.services:
        raise UnknownName("service", service, desired.services)
    variables = ConfigVar.listing(desired.services[service].env, show_secrets)
    notes = list(desired.services[service].notes)
    view = ServiceConfig(
        service=service, environment=desired.environment, variables=variables, notes=notes
    )
    if as_json:
        click.echo(view.model_dump_json(indent=2))
        return
    for note in notes:  # on stderr: stdout stays NAME=value lines
        click.echo(style(f"note: {note}", "yellow"), err=True)
    width = max((len(v.name) + len(v.value) + 1 for v in variables), default=0)
    for v in variables:
        pair = f"{v.name}={v.value}"
        click.echo(f"{pair:<{width}}  {style('# ' + v.source, 'bright_black')}")


@config_group.command("diff")
@click.argument("first", metavar="ENV1", shell_complete=complete.environments)
@click.argument("second", metavar="ENV2", shell_complete=complete.environments)
@click.argument("service", required=False, shell_complete=complete.services)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def config_diff(ctx: Context, first: str, second: str, service: str | None, as_json: bool) -> None:
    """Show, per service, the variables ENV2 adds, removes and changes compared with ENV1.

    Secrets are compared by a digest of their value and never shown. Exit 0 either way.
    """
    from devstack.config.diff import diff
    from devstack.config.problems import ManifestError
    from devstack.intent.desired import desired_state
    from devstack.intent.value import Intent
    from devstack.providers.secrets import read as read_secrets

    loaded = ctx.load()
    states = []
    for name in (first, second):
        loaded.stack.environment(name)  # UnknownName, before anything is resolved
    for name in (first, second):
        try:
            # The environments as the manifest declares them: no run-time overrides.
            state = desired_state(
                loaded, Intent(environment=name), os.environ, state_dir=ctx.paths.state_dir,
                ports=ctx.ports(), secrets=read_secrets,
            )  # fmt: skip
        except ManifestError as exc:
            report_problems(exc)
        if state.pending:
            click.echo(f"note: {name}: {state.pending} (left out)", err=True)
        states.append(state)
    names = sorted(loaded.stack.services)
    if service is not None:
        if service not in loaded.stack.services:
            raise UnknownName("service", service, names)
        names = [service]
    result = diff(states[0], states[1], names)
    if as_json:
        payload = {
            "from": first,
            "to": second,
            "services": {name: d.as_json() for name, d in result.items()},
        }
        click.echo(json.dumps(payload, indent=2))
        return
    for name, d in result.items():
        if d.empty:
            click.echo(f"{name}: no differences")
            continue
        click.echo(style(f"{name}:", bold=True))
        if d.image:
            click.echo(f"  ~ image: {d.image[0] or '-'} -> {d.image[1] or '-'}")
        for key, value in d.removed.items():
            click.echo(style(f"  - {key}={value}", "red") + f"  (only in {first})")
        for key, value in d.added.items():
            click.echo(style(f"  + {key}={value}", "green") + f"  (only in {second})")
        for key, (a, b) in d.changed.items():
            click.echo(style(f"  ~ {key}: {a} -> {b}", "yellow"))


def _running_environment(ctx: Context) -> str | None:
    """The environment of the running daemon, so `config show` shows what runs."""
    from devstack.api.client import ApiError, Client, DaemonNotRunning

    client: Client = ctx.client()
    try:
        return str(client.status()["environment"])
    except (DaemonNotRunning, ApiError, OSError):
        return None
    finally:
        client.close()


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: eval "$(devstack completion bash)"."""
    from click.shell_completion import get_completion_class

    from devstack.cli.main import cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "devstack", "_DEVSTACK_COMPLETE").source())
