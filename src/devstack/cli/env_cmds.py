"""`devstack env pull`: an environment's settings from SSM / Secrets Manager into an env file.

Secret values stay where they are unless asked: the file gets a comment naming each one's
reference, and `secrets: {from: ...}` reads them at `up`. A plain SSM String is written
as a value, which is what makes the file useful to read and to commit-review.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from devstack.cli import complete
from devstack.cli.common import Context, file_option, pass_context
from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, fail, info

SOURCE = re.compile(r"^(ssm:/\S*|secretsmanager:\S+)$")


@click.group("env")
def env_group() -> None:
    """Environment files from the cloud."""


@env_group.command("pull")
@click.argument("environment", shell_complete=complete.environments)
@click.option(
    "--from", "sources", multiple=True, metavar="SOURCE",
    help="ssm:/path/ or secretsmanager:NAME (repeatable); default: the environment's secrets.from.",
)  # fmt: skip
@click.option("--include-secrets", is_flag=True, help="Write secret values instead of references.")
@click.option("--provider", metavar="NAME", help="Provider to read from (default: as `up` would).")
@click.option(
    "-o", "--output", metavar="PATH", help="Where to write (default: .env.ENV; - for stdout)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@file_option
@pass_context
def pull(
    ctx: Context,
    environment: str,
    sources: tuple[str, ...],
    include_secrets: bool,
    provider: str | None,
    output: str | None,
    force: bool,
) -> None:
    """Write ENVIRONMENT's parameters and secrets to an env file."""
    from devstack.config.backing import BackingProblem, resolve_backing
    from devstack.config.secrets import SecretsUnavailable, secrets_provider
    from devstack.intent.value import Intent
    from devstack.providers.secrets import read

    loaded = ctx.load()
    stack = loaded.stack
    declared = stack.environment(environment)  # UnknownName: reported by cli.main
    if not sources and declared.secrets is not None:
        sources = tuple(declared.secrets.from_)
    if not sources:
        fail(f"name a source with --from (environment {environment!r} declares no secrets.from)",
             EXIT_USAGE)  # fmt: skip
    for source in sources:
        if not SOURCE.match(source):
            fail(f"invalid source {source!r}: expected ssm:/path/ or secretsmanager:NAME",
                 EXIT_USAGE)  # fmt: skip
    target = output or str(loaded.root / f".env.{environment}")
    if target != "-" and Path(target).exists() and not force:
        fail(f"{target} exists; add --force to overwrite it", EXIT_USAGE)
    swaps = Intent.load(ctx.paths.overrides).active_swaps
    explicit = provider or (declared.secrets.provider if declared.secrets else None)
    try:
        backing = resolve_backing(
            stack, loaded.root, declared.providers, swaps, os.environ, ctx.ports()
        )
        chosen = secrets_provider(stack, sources, explicit, backing.provider_of)
        if chosen not in backing.providers:
            backing = resolve_backing(
                stack, loaded.root, declared.providers, swaps, os.environ, ctx.ports(),
                extra_providers=frozenset({chosen}),
            )  # fmt: skip
    except BackingProblem as exc:
        fail(str(exc), EXIT_USAGE)
    use = backing.providers[chosen]
    try:
        found = read(sources, use.endpoint)
    except SecretsUnavailable as exc:
        hint = " (is the stack up? its emulator holds them)" if use.workload else ""
        fail(f"cannot read {', '.join(sources)} from {chosen}: {exc}{hint}", EXIT_FAILURE)
    lines = [f"# {environment}: pulled from {', '.join(sources)} ({chosen}) by devstack env pull"]
    kept = 0
    for secret in found:
        if secret.secure and not include_secrets:
            lines.append(f"# {secret.name}: secret, kept in {secret.reference} (read at up)")
            kept += 1
        else:
            lines.append(f"{secret.name}={_quoted(secret.value)}")
    text = "\n".join(lines) + "\n"
    if target == "-":
        click.echo(text, nl=False)
        return
    path = Path(target)
    path.write_text(text)
    if include_secrets:
        path.chmod(0o600)  # it holds secrets now: not for other users of the machine
    info(
        f"wrote {path} ({len(found) - kept} value(s), {kept} secret(s) as references); "
        "keep it out of git"
    )


def _quoted(value: str) -> str:
    """Compose env-file syntax: single quotes are literal; double quotes take escapes."""
    if value and re.fullmatch(r"[A-Za-z0-9_./:@,+=-]*", value):
        return value
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("$", "$$") + '"'
