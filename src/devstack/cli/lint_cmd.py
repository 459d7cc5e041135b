"""`devstack lint`: the twelve-factor audit of the manifest and the service folders."""

from __future__ import annotations

import json
import os
import sys

import click

from devstack.cli.common import Context, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail, style


def _codes(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]


@click.command()
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    default=None,
    help="Audit only this environment's layers (vars, env files, images); default: all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings and a summary as JSON.")
@click.option(
    "--select",
    metavar="RULES",
    multiple=True,
    help="Only these rules: codes or prefixes, comma-separated (DS103,DS11).",
)
@click.option("--ignore", metavar="RULES", multiple=True, help="Leave out these rules.")
@file_option
@pass_context
def lint(
    ctx: Context,
    environment: str | None,
    as_json: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> None:
    """Audit the stack against the twelve factors: local state, hard-coded endpoints and
    credentials, unpinned images and dependencies, missing healthchecks, env files git
    would commit, services sharing a codebase.

    Each finding names its rule, factor, location, field and fix. Exit 1 if any finding
    is an error, 0 for warnings only, 2 for an invalid manifest.
    """
    from devstack.lint.findings import Summary, select_rules
    from devstack.lint.runner import environments_of
    from devstack.lint.runner import lint as run_lint

    try:
        rules = select_rules(_codes(select), _codes(ignore))
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    loaded = ctx.load()
    # An unknown --env raises UnknownName, reported by cli.main like every unknown name.
    findings = run_lint(
        loaded,
        os.environ,
        environments=[environment] if environment else None,
        rules=rules,
    )
    summary = Summary.of(findings)
    if as_json:
        report = {
            "findings": [f.to_dict() for f in findings],
            "summary": {
                "manifest": loaded.display_name,
                "environments": [environment] if environment else list(environments_of(loaded)),
                "errors": summary.errors,
                "warnings": summary.warnings,
                "total": summary.total,
            },
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for finding in findings:
            colour = "red" if finding.rule.severity == "error" else "yellow"
            where = str(finding.location) if finding.location else ""
            rest = str(finding)[len(where) :]  # ": DS103 error [...] ..."
            rest = rest.replace(finding.rule.id, style(finding.rule.id, colour), 1)
            click.echo(style(where, bold=True) + rest if where else rest)
        click.echo(f"{loaded.display_name}: {summary}")
    sys.exit(EXIT_FAILURE if summary.errors else EXIT_OK)
