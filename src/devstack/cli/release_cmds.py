"""Build, release, run (factor V): `build`, `release`, `releases`; `up --release ID` runs one."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import click

from devstack.cli import complete
from devstack.cli.common import Context, env_option, file_option, pass_context, report_problems
from devstack.cli.output import EXIT_FAILURE, fail, info, style
from devstack.model.names import UnknownName


def _resolved(ctx: Context, environment: str | None) -> Any:
    """The environment as the daemon would resolve it (secrets read, no swaps: a release
    is of the manifest's environment, not of a developer's run-time overrides)."""
    from devstack.config.problems import ManifestError
    from devstack.intent.desired import desired_state
    from devstack.intent.value import Intent
    from devstack.providers.secrets import read

    loaded = ctx.load()
    try:
        return loaded, desired_state(
            loaded, Intent(environment=environment), os.environ, state_dir=ctx.paths.state_dir,
            ports=ctx.ports(), secrets=read,
        )  # fmt: skip
    except ManifestError as exc:
        report_problems(exc)


def _progress(service: str, text: str) -> None:
    info(style(f"{service} | {text}", "bright_black", err=True))


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete.services)
@env_option
@click.option("--no-cache", "rebuild", is_flag=True, help="Build even if the context is unchanged.")
@file_option
@pass_context
def build(ctx: Context, services: tuple[str, ...], environment: str | None, rebuild: bool) -> None:
    """Build the images of SERVICES (all with build:); no daemon needed."""
    from devstack.release.build import prepare_images
    from devstack.release.record import ReleaseError

    loaded, state = _resolved(ctx, environment)
    names = list(services) or sorted(loaded.stack.services)
    unknown = [n for n in names if n not in loaded.stack.services]
    if unknown:
        raise UnknownName("service", unknown[0], loaded.stack.services)
    buildable = [n for n in names if loaded.stack.services[n].build is not None]
    if not buildable:
        info("nothing to build: no service has build:")
        return
    try:
        prepared = prepare_images(state, ctx.paths.stack_id, buildable, _progress, rebuild)
    except ReleaseError as exc:
        fail(str(exc), EXIT_FAILURE)
    for name in buildable:
        spec = prepared.services[name].spec
        click.echo(f"{name}: {spec.image} ({spec.image_id[:19]})")  # type: ignore[union-attr]


@click.command()
@env_option
@click.option("-m", "--message", help="A note kept with the release.")
@file_option
@pass_context
def release(ctx: Context, environment: str | None, message: str | None) -> None:
    """Build and record an immutable release: image ids + the fully resolved config.

    Secrets are recorded as references and digests, never values. `devstack up --release
    ID` runs exactly this release later, even after the manifest changed.
    """
    from devstack.release.build import prepare_images, tag_release
    from devstack.release.record import FORMAT, ReleaseError, config_hash, freeze, pin_images
    from devstack.release.store import next_id, save

    loaded, state = _resolved(ctx, environment)
    if state.pending:
        fail(f"cannot release yet: {state.pending}; the stack's own emulator holds these "
             "secrets: `devstack up` first", EXIT_FAILURE)  # fmt: skip
    try:
        prepared = prepare_images(state, ctx.paths.stack_id, list(state.services), _progress)
        frozen = freeze(pin_images(prepared))
        release_id = next_id(ctx.paths.state_dir)
        tags = tag_release(prepared, ctx.paths.stack_id, release_id)
        images = {
            name: {"image": s.spec.image, "id": s.spec.image_id}  # type: ignore[union-attr]
            for name, s in prepared.services.items()
            if getattr(s.spec, "image_id", "")
        }
        record = {
            "format": FORMAT,
            "id": release_id,
            "created_at": time.time(),
            "stack": loaded.stack.name,
            "environment": state.environment,
            "message": message,
            "git": _git(loaded.root),
            "manifest": str(loaded.path),
            "config_hash": config_hash(frozen),
            "images": images,
            "tags": tags,
            "state": frozen,
        }
        path = save(ctx.paths.state_dir, record)
    except ReleaseError as exc:
        fail(str(exc), EXIT_FAILURE)
    info(f"release {release_id} ({state.environment}): config {record['config_hash']}, "
         f"{len(images)} image(s), recorded in {path}")  # fmt: skip
    click.echo(release_id)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (without the frozen state).")
@file_option
@pass_context
def releases(ctx: Context, as_json: bool) -> None:
    """List the recorded releases, oldest first."""
    from devstack.intent.value import Intent
    from devstack.release.store import all_releases

    found = all_releases(ctx.paths.state_dir)
    running = Intent.load(ctx.paths.overrides).release
    keys = ("id", "created_at", "environment", "message", "git", "config_hash", "images")
    summary = [{k: r.get(k) for k in keys} | {"running": r["id"] == running} for r in found]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if not summary:
        click.echo("no releases yet (devstack release makes one)")
        return
    rows = [("ID", "CREATED", "ENV", "GIT", "CONFIG", "IMAGES", "")]
    for r in summary:
        git = r["git"] or {}
        commit = (git.get("commit") or "-")[:10] + ("+dirty" if git.get("dirty") else "")
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"]))
        images = str(len(r["images"] or {}))
        state = "running" if r["running"] else ""
        rows.append((str(r["id"]), created, str(r["environment"]), commit,
                     str(r["config_hash"]), images, state))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(f"{c:<{w}}" for c, w in zip(row, widths, strict=True)).rstrip())


def _git(root: Path) -> dict[str, Any] | None:
    """The commit the release was made from, and whether the tree had changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}
