"""The compose corpus: real compose files from public projects, imported as a team would.

tests/data/compose/corpus/<project>/ holds one project's compose file(s) as published
(SOURCES.md names repository, path and commit) with small stubs of the side files it
reads. For every one: `import compose` gives a manifest that validates, `up --dry-run`
plans it without a daemon, `export compose` writes a file the compose-spec schema
accepts (with the keys the specification added since), importing that export gives the same manifest again, and the notes that say
behaviour changes are no more than recorded below (docs/import.md lists each one).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

# The pinned compose-spec schema plus exactly the keys the specification added since
# (hooks, subpath, create_host_path, environment/content sources): see that module.
from test_export_compose_keys import schema_errors

from devstack.cli.main import cli
from devstack.config.loader import load_stack
from devstack.export.compose import render
from devstack.export.view import export_view
from devstack.importer import Conversion, convert

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA / "compose" / "corpus"
PROJECTS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
NAMES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
MAIN_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
# The shell an import sees: no variable of the corpus is set, as on a fresh machine.
SHELL = {"HOME": "/home/dev", "PATH": "/usr/bin:/bin"}

# Notes that say behaviour changes, per project: what devstack cannot do yet. None is left
# (issue 16); the test fails when an import adds one. A key devstack cannot honour some day
# is recorded here, with why, and in docs/import.md.
CHANGES: dict[str, int] = {}


def main_file(root: Path) -> Path:
    for name in MAIN_FILES:
        if (root / name).is_file():
            return root / name
    (only,) = [p for p in root.iterdir() if p.suffix in (".yaml", ".yml")]
    return only


def imported(name: str, tmp_path: Path) -> tuple[Path, Conversion, Path]:
    root = tmp_path / name
    shutil.copytree(CORPUS / name, root)
    result = convert(main_file(root), root, {**SHELL, "PWD": str(root)})
    manifest = root / "devstack.yaml"
    manifest.write_text(result.text)
    return root, result, manifest


@pytest.mark.parametrize("name", PROJECTS)
def test_a_corpus_file_imports_validates_plans_and_exports(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, result, manifest = imported(name, tmp_path)

    loaded = load_stack(manifest)  # validates (schema and semantics) or raises, located
    assert loaded.stack.services or loaded.stack.backing

    monkeypatch.chdir(root)
    monkeypatch.setenv("DEVSTACK_WATCH", "0")
    for key in ("DEVSTACK_PROFILES", "DOCKER_HOST", "DOCKER_CONTEXT"):
        monkeypatch.delenv(key, raising=False)
    plan = CliRunner().invoke(cli, ["-f", str(manifest), "up", "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "Traceback" not in plan.output

    text = render(export_view(loaded, "dev", SHELL, "compose"), root)
    assert schema_errors(yaml.safe_load(text)) == []

    changes = [str(n) for n in result.notes if n.changes_behaviour]
    assert len(changes) <= CHANGES.get(name, 0), changes


@pytest.mark.parametrize("name", PROJECTS)
def test_importing_the_export_gives_the_same_stack(name: str, tmp_path: Path) -> None:
    root, first, manifest = imported(name, tmp_path)
    exported = root / "exported.compose.yaml"
    exported.write_text(render(export_view(load_stack(manifest), "dev", SHELL, "compose"), root))

    again = convert(exported, root, {**SHELL, "PWD": str(root)})

    assert shape(again.data) == shape(first.data)


def shape(data: dict[str, Any]) -> dict[str, Any]:
    """What a round trip through `export compose` keeps today: the services, each built or
    run from an image, with its command, and the kinds of the backing services. Not yet
    kept (docs/import.md): the export evaluates `${VAR}`s, names a backing service's
    container `<provider>-<name>`, and writes what devstack adds at run time (PORT, the
    bindings' URLs), so env, names of backing services and images are not compared."""
    services = {
        name: {
            "runs": "build" if "build" in body else "image",
            "command": _argv(body.get("command")),
        }
        for name, body in data.get("services", {}).items()
    }
    backing = sorted(body["kind"] for body in data.get("backing", {}).values())
    return {"services": services, "backing": backing}


def _argv(command: Any) -> list[str] | None:
    return shlex.split(command) if isinstance(command, str) else command


def test_the_corpus_is_at_least_25_real_projects_with_their_sources() -> None:
    sources = (CORPUS / "SOURCES.md").read_text()
    assert len(NAMES) >= 25
    for name in NAMES:
        assert f"| {name} |" in sources, name
        assert main_file(CORPUS / name).read_text().startswith("# Source: ")


def test_every_note_says_whether_behaviour_changes(tmp_path: Path) -> None:
    for name in NAMES:
        _, result, _ = imported(name, tmp_path)
        for note in result.notes:
            assert str(note).startswith(("changes behaviour: ", "no effect locally: "))
