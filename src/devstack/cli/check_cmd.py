"""`devstack config check`: every service's contract (`needs:`) against every environment,
with no daemon; exit 1 on any violation, so it can gate CI before a deploy."""

from __future__ import annotations

import json
from typing import Any

import click

from devstack.cli import complete
from devstack.cli.common import Context, declared_state, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, fail, info


@click.command("check")
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    default=None,
    help="Check this environment only (default: every environment).",
    shell_complete=complete.environments,
)
@click.option("--all-envs", is_flag=True, help="Check every environment (the default).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@file_option
@pass_context
def config_check(ctx: Context, environment: str | None, all_envs: bool, as_json: bool) -> None:
    """Check each service's resolved config against its contract (`needs:`).

    A violation names the service, the variable, the rule, where the value came from
    (layer and file:line) and the environment; secret values are never printed. Secrets
    from SSM / Secrets Manager are read as `up` reads them. Exit 1 on any violation.
    """
    if environment is not None and all_envs:
        raise click.UsageError("--env and --all-envs exclude each other")
    loaded = ctx.load()
    stack = loaded.stack
    names = [environment] if environment else sorted({*stack.environments, "dev"})
    for name in names:
        stack.environment(name)  # UnknownName, before anything is resolved
    found: list[dict[str, Any]] = []
    unchecked: dict[str, str] = {}
    for name in names:
        state = declared_state(ctx, loaded, name)
        if state.pending:
            unchecked[name] = state.pending
        for service in sorted(state.services):
            for v in state.services[service].violations:
                found.append({"service": service, "text": str(v), **_fields(v)})
    contracts = sorted(n for n, s in stack.services.items() if s.needs)
    if as_json:
        payload = {
            "ok": not found and not unchecked,
            "environments": names,
            "services": contracts,
            "violations": [{k: v for k, v in f.items() if k != "text"} for f in found],
            "unchecked": unchecked,
        }
        click.echo(json.dumps(payload, indent=2))
        if found or unchecked:
            raise SystemExit(EXIT_FAILURE)
        return
    for item in found:
        click.echo(f"{item['service']}: {item['text']}")
    for name, why in unchecked.items():
        info(f"not checked: environment {name}: secrets not readable yet ({why})")
    if found or unchecked:
        count = len(found)
        fail(f"{count} contract violation{'s' if count != 1 else ''}", EXIT_FAILURE)
    if not contracts:
        click.echo("no service declares a contract (needs:)")
        return
    click.echo(f"contracts hold: {', '.join(contracts)} in {', '.join(names)}")


def _fields(violation: Any) -> dict[str, Any]:
    return {
        "environment": violation.environment,
        "variable": violation.variable,
        "rule": violation.rule,
        "problem": violation.problem,
        "source": violation.source,
    }
