"""The compose corpus: real compose files from public projects, imported as a team would.

tests/data/compose/corpus/<project>/ holds one project's compose file(s) as published
(SOURCES.md names repository, path and commit) with small stubs of the side files it
reads. For every one: `import compose` gives a manifest that validates, `up --dry-run`
plans it without a daemon, `export compose` writes a file the compose-spec schema
accepts (with the keys the specification added since), importing that export gives the same manifest again, and the notes that say
behaviour changes are no more than recorded below (docs/import.md lists each one).
"""

from __future__ import annotations

import json
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
from devstack.config.layers import is_secret_name
from devstack.config.loader import load_stack
from devstack.export.compose import render
from devstack.export.view import export_view
from devstack.importer import Conversion, convert
from devstack.model.manifest import Stack
from devstack.model.ports import port_mappings

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

    assert shape(again.data, first.data) == shape(first.data, first.data)


# What an import of the export cannot give back, and why (docs/import.md says the same):
ROUND_TRIP_LOSSES = {
    # The export resolves the environment: `${VAR}`s are evaluated, and what devstack adds
    # at run time (PORT, the bindings' URLs) is written out. Variables written literally
    # are compared (below); the contract proposed from `${VAR}`s goes with them.
    "env": "resolved by the export",
    "needs": "proposed from the `${VAR}`s the export resolves",
}
# A secret's value (a variable named like one) is exported as a required reference,
# `${NAME:?...}`, never written into the file: it is not among the literal variables.
HOST_GATEWAY = "host.docker.internal:host-gateway"  # in every container, exported or not
_NORMALISED = {"command", "ports", "depends_on", "extra_hosts", "build", "image", "uses"}


def shape(data: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """The manifest as what it means: validated (defaults filled in, durations in seconds),
    commands split like a shell, ports as mappings, dependencies with their conditions, the
    host gateway every container has taken out, and ROUND_TRIP_LOSSES left out. A value
    the `original` import wrote with `${...}` (an image, a build arg, a variable) is
    evaluated by the export: only its presence is compared. A backing service is compared
    by its fields, without its name and provider (the export names a backing service's
    container `<provider>-<name>`, which the import takes as its name) and its password
    (a password from a variable is exported as a reference, and an import never copies a
    value from the shell). The stack's name is the folder's: compose 1.29.2's schema, which
    the export follows, has no top-level `name`."""
    stack = Stack.model_validate(data)
    written = Stack.model_validate(original)
    services = {}
    for name, service in stack.services.items():
        before = written.services.get(name, service)
        body = service.model_dump(mode="json", exclude=set(ROUND_TRIP_LOSSES) | _NORMALISED)
        body["command"] = _argv(service.command)
        body["ports"] = [m for text in service.ports for m in port_mappings(text)]
        body["depends_on"] = service.dependencies()
        body["extra_hosts"] = sorted(set(_hosts(service.extra_hosts)) - {HOST_GATEWAY})
        body["image"] = _literal(service.image, before.image)
        build, built = service.build_spec(), before.build_spec()
        if build is not None:
            args = {
                k: _literal(v, built.args.get(k) if built else v) for k, v in build.args.items()
            }
            body["build"] = {**build.model_dump(mode="json"), "args": args}
        literal = {
            k: v
            for k, v in before.env.items()
            if isinstance(v, str) and "$" not in v and not is_secret_name(k)
        }
        body["literal_env"] = {k: service.env.get(k) for k in literal}
        body["uses"] = sorted(stack.backing[b].kind for b in service.uses)
        services[name] = body
    backing = sorted(
        json.dumps(b.model_dump(mode="json", exclude={"provider", "password"}), sort_keys=True)
        for b in stack.backing.values()
    )
    top = {key: sorted(getattr(stack, key)) for key in ("volumes", "secrets", "configs")}
    return {"services": services, "backing": backing, **top}


def _literal(value: str | None, written: str | None) -> str | None:
    return "${...}" if written is not None and "$" in written else value


def _hosts(given: list[str] | dict[str, str]) -> list[str]:
    if isinstance(given, dict):
        return [f"{host}:{ip}" for host, ip in given.items()]
    return [text.replace("=", ":", 1) if "=" in text.split(":")[0] else text for text in given]


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


def test_a_tcp_probe_comes_back_as_tcp(tmp_path: Path) -> None:
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(
        "name: probes\n"
        "services:\n"
        "  db:\n"
        "    image: devstack-test/busybox:1\n"
        '    ports: ["15432:5432"]\n'
        "    healthcheck: {tcp: 15432, timeout: 2.5s, interval: 1s}\n"
        "  queue:\n"
        "    image: devstack-test/busybox:1\n"
        "    healthcheck: {tcp: 9000}\n"
    )
    exported = tmp_path / "exported.compose.yaml"
    exported.write_text(
        render(export_view(load_stack(manifest), "dev", SHELL, "compose"), tmp_path)
    )
    assert "nc -z -w 3 127.0.0.1 5432" in exported.read_text()  # checked inside, at 5432

    again = Stack.model_validate(convert(exported, tmp_path, {**SHELL, "PWD": str(tmp_path)}).data)

    db, queue = again.services["db"].healthcheck, again.services["queue"].healthcheck
    assert db is not None and queue is not None
    assert (db.tcp, db.timeout, db.interval, db.command) == (15432, 2.5, 1.0, None)
    assert (queue.tcp, queue.command) == (9000, None)
