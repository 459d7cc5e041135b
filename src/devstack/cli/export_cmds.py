"""`devstack export compose|ecs|k8s`: the stack for another tool. No daemon needed.

The export goes to stdout (or `-o PATH`); notes on what changed on the way (providers
moved, services left out, secrets to set) go to stderr.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from devstack.cli.common import Context, file_option, pass_context, report_problems
from devstack.cli.output import EXIT_FAILURE, fail, info

if TYPE_CHECKING:
    from devstack.export.view import ExportView, Target

F = TypeVar("F", bound=Callable[..., Any])


def export_options(func: F) -> F:
    """--env, -o FILE, --read-secrets: what the single-file exports take."""
    func = click.option(
        "-o",
        "--output",
        metavar="PATH",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write to PATH instead of stdout.",
    )(func)
    return env_options(func)


def env_options(func: F) -> F:
    """--env, --read-secrets: what every export takes."""
    func = click.option(
        "--read-secrets",
        is_flag=True,
        help="Ask the environment's secret store which variables it holds (default: the "
        "ones the stack declares in its ssm / secretsmanager backing services).",
    )(func)
    # Not the running environment, unlike `config show`: an export is a file to keep, so
    # what it describes is named, not taken from whatever runs now.
    return click.option(
        "--env",
        "environment",
        metavar="NAME",
        default="dev",
        show_default=True,
        help="Environment whose configuration is exported.",
    )(func)


@click.group("export")
def export_group() -> None:
    """Export the stack for another tool: a compose file, ECS task definitions, Kubernetes
    manifests."""


@export_group.command("compose")
@export_options
@file_option
@pass_context
def export_compose(ctx: Context, environment: str, output: Path | None, read_secrets: bool) -> None:
    """Print a compose file of the stack's containers, bindings resolved to ENV.

    Backing services on MiniStack or moto run on LocalStack in it; host processes are
    left out (listed on stderr). Secrets are ${NAME} references, never values.
    """
    from devstack.export.compose import compose_document, render, secrets_to_set

    view = _view(ctx, environment, "compose", read_secrets)
    base = (output.parent if output else Path()).resolve()
    _emit(render(view, base), output)
    names = secrets_to_set(compose_document(view, base))
    if names:
        info(f"set these secrets in the shell or an .env file for compose: {', '.join(names)}")


@export_group.command("ecs")
@export_options
@click.option(
    "--region",
    metavar="REGION",
    default=None,
    help="AWS region (default: the stack's aws provider's, else AWS_REGION, else us-east-1).",
)
@click.option(
    "--account-id",
    metavar="ID",
    default=None,
    help="AWS account id in ARNs (default: 000000000000).",
)
@click.option("--cpu", default=None, metavar="UNITS", help="Task CPU units (default: 256).")
@click.option("--memory", default=None, metavar="MIB", help="Task memory in MiB (default: 512).")
@click.option(
    "--execution-role-arn",
    metavar="ARN",
    default=None,
    help="Task execution role (default: ecsTaskExecutionRole in the account).",
)
@file_option
@pass_context
def export_ecs(
    ctx: Context,
    environment: str,
    output: Path | None,
    read_secrets: bool,
    region: str | None,
    account_id: str | None,
    cpu: str | None,
    memory: str | None,
    execution_role_arn: str | None,
) -> None:
    """Print a JSON list of ECS task definitions, one per service, config from ENV.

    Secret variables become `secrets` entries (SSM / Secrets Manager ARNs), never plain
    environment values.
    """
    from devstack.export.ecs import (
        DEFAULT_ACCOUNT,
        DEFAULT_CPU,
        DEFAULT_MEMORY,
        EcsOptions,
        built_images,
        task_definitions,
        validate,
    )

    loaded = ctx.load()
    region = region or _stack_region(loaded.stack) or os.environ.get("AWS_REGION") or "us-east-1"
    options = EcsOptions(
        region=region,
        account_id=account_id or DEFAULT_ACCOUNT,
        cpu=cpu or DEFAULT_CPU,
        memory=memory or DEFAULT_MEMORY,
        execution_role_arn=execution_role_arn,
    )
    view = _view(ctx, environment, "ecs", read_secrets, region=region)
    tasks = task_definitions(view, options)
    problems = [f"{t['family']}: {line}" for t in tasks for line in validate(t)]
    if problems:
        fail(
            "the task definitions are not valid RegisterTaskDefinition input:",
            EXIT_FAILURE,
            problems,
        )
    _emit(json.dumps(tasks, indent=2) + "\n", output)
    built = built_images(view)
    if built:
        info(
            f"built by devstack, named <stack>/<service>:latest here: {', '.join(built)} "
            "(push them, or name the pushed image in the environment's images:)"
        )


@export_group.command("k8s")
@env_options
@click.option(
    "-o",
    "--output",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write a folder for `kubectl apply -k DIR` instead of one stream to stdout.",
)
@click.option(
    "--namespace",
    metavar="NS",
    default=None,
    help="Namespace of every object (default: the stack's name).",
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Write Secrets with the values the manifest holds (default: references only).",
)
@file_option
@pass_context
def export_k8s(
    ctx: Context,
    environment: str,
    output: Path | None,
    read_secrets: bool,
    namespace: str | None,
    include_secrets: bool,
) -> None:
    """Print Kubernetes manifests of the stack, config from ENV: a Namespace, a
    Deployment and Service per service, ConfigMaps, Secrets by reference, the emulator and
    its provisioning Job.

    What has no Kubernetes equivalent is listed on stderr. Host processes get a
    placeholder image to replace.
    """
    from devstack.export.k8s import K8sOptions, k8s_export, kube_name, valid_name
    from devstack.export.k8s_files import stream, write_folder

    if namespace is not None and not valid_name(namespace):
        raise click.BadParameter(
            f"{namespace!r} is not a namespace name (lowercase letters, digits and '-', "
            "at most 63)",
            param_hint="--namespace",
        )
    view = _view(ctx, environment, "k8s", read_secrets)
    options = K8sOptions(namespace or kube_name(view.stack)[:63], include_secrets)
    export = k8s_export(view, options)
    for note in export.notes[len(view.notes) :]:
        info(f"note: {note}")
    if export.to_create:
        listed = "; ".join(f"{s} ({', '.join(keys)})" for s, keys in export.to_create.items())
        info(
            f"create these Secrets in namespace {export.namespace} before their pods can start "
            f"(no values are written without --include-secrets): {listed}"
        )
    if output is None:
        click.echo(stream(view, export), nl=False)
        return
    try:
        written = write_folder(view, export, output)
    except OSError as exc:
        fail(f"cannot write {exc.filename or output}: {exc.strerror}")
    info(f"wrote {len(written)} files to {output} (kubectl apply -k {output})")


def _view(
    ctx: Context,
    environment: str,
    target: Target,
    read_secrets: bool,
    region: str | None = None,
) -> ExportView:
    from devstack.config.problems import ManifestError
    from devstack.export.secrets import stored_reader
    from devstack.export.view import export_view

    loaded = ctx.load()
    env_name = environment
    try:
        reader = stored_reader(loaded, env_name, os.environ, ctx.ports()) if read_secrets else None
        view = export_view(loaded, env_name, os.environ, target, region=region, secrets=reader)
    except ManifestError as exc:
        report_problems(exc)
    for note in view.notes:
        info(f"note: {note}")
    return view


def _stack_region(stack: object) -> str | None:
    """The region of the stack's first `aws` provider: where its resources live."""
    for provider in getattr(stack, "providers", {}).values():
        if provider.type == "aws":
            return str(provider.region)
    return None


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    info(f"wrote {output}")
