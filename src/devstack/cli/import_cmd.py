"""`devstack import compose FILE`: a docker-compose file -> a devstack manifest."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from devstack.cli.output import EXIT_FAILURE, EXIT_USAGE, fail, info, style


@click.group("import")
def import_group() -> None:
    """Turn another tool's files into a devstack manifest."""


@import_group.command("compose")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    default=None,
    help="Where to write the manifest (default: devstack.yaml beside FILE; - for stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1, writing nothing, if any note says behaviour changes.",
)
@click.option(
    "--keep-services",
    "keep",
    multiple=True,
    metavar="NAME",
    help="Keep this compose service a plain container even if it is a database, cache or "
    "LocalStack (repeatable).",
)
def compose(
    file: Path, output: str | None, force: bool, strict: bool, keep: tuple[str, ...]
) -> None:
    """Turn a docker-compose FILE into a devstack manifest.

    Postgres, Redis and LocalStack services become backing services (unless kept with
    --keep-services); `extends:`, `include:` and the override file are resolved. Every
    note, on stderr and as a comment in the manifest, says whether behaviour changes
    ("changes behaviour: ...") or not ("no effect locally: ...").
    """
    from devstack.importer import ImportProblem, convert

    to_stdout = output == "-"
    target = file.parent / "devstack.yaml" if output is None else Path(output)
    if not to_stdout and target.exists() and not force:
        fail(f"{target} already exists; pass --force to overwrite it", EXIT_USAGE)
    out_dir = file.resolve().parent if to_stdout else target.resolve().parent
    try:
        result = convert(file, out_dir, keep=frozenset(keep))
    except ImportProblem as exc:
        fail(str(exc), EXIT_USAGE)
    problems = _problems(result.text)
    for note in result.notes:
        info(f"{style('warning:', 'yellow', err=True)} {note}")
    changes = sum(1 for note in result.notes if note.changes_behaviour)
    if strict and changes:
        fail(f"{changes} note(s) change behaviour (--strict): nothing written", EXIT_FAILURE)
    if to_stdout:
        click.echo(result.text, nl=False)
    else:
        try:
            target.write_text(result.text)
        except OSError as exc:
            fail(f"cannot write {target}: {exc.strerror}", EXIT_USAGE)
        services = len(result.data.get("services", {}))
        backing = len(result.data.get("backing", {}))
        info(
            f"wrote {target}: {services} service(s), {backing} backing service(s), "
            f"{len(result.notes)} note(s), {changes} changing behaviour"
        )
    if problems:
        # A bug of the importer rather than of the compose file: say so plainly.
        fail("the generated manifest does not validate:", EXIT_USAGE, problems)


def _problems(text: str) -> list[str]:
    """Check the manifest as `devstack validate` would read it (schema and semantics)."""
    from devstack.config.loader import load_stack
    from devstack.config.problems import ManifestError

    # load_stack reads no other file, so the copy may live anywhere.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "devstack.yaml"
        path.write_text(text)
        try:
            load_stack(path)
        except ManifestError as exc:
            return [str(p) for p in exc.problems]
    return []
