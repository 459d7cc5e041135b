"""The compose keys the corpus's last behaviour-changing notes were about, without an engine:
the manifest takes them, `export compose` writes them back, the import keeps them.
Their effect on a real engine: tests/docker/test_compose_notes_docker.py."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_export_compose_keys import schema_errors

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.export.compose import render
from devstack.export.view import export_view
from devstack.importer import convert

SHELL = {"HOME": "/home/dev", "PATH": "/usr/bin:/bin"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "devstack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def exported(manifest: Path) -> dict[str, Any]:
    view = export_view(load_stack(manifest), "dev", SHELL, "compose")
    document = yaml.safe_load(render(view, manifest.parent))
    assert schema_errors(document) == []
    assert isinstance(document, dict)
    return document


def imported(tmp_path: Path, text: str) -> tuple[dict[str, Any], list[str]]:
    compose = tmp_path / "compose.yaml"
    compose.write_text(textwrap.dedent(text))
    result = convert(compose, tmp_path, {**SHELL, "PWD": str(tmp_path)})
    return result.data, [str(n) for n in result.notes]


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_stack(path)
    return [str(p).removeprefix(f"{path.parent}/") for p in info.value.problems]


# -- ports: udp ----------------------------------------------------------------------


def test_a_udp_port_is_exported_with_its_protocol(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          logs: {image: "l:1", ports: ["5000:5000", "5000:5000/udp", "514/udp"]}
        """,
    )

    ports = exported(manifest)["services"]["logs"]["ports"]

    assert ports == ["127.0.0.1:5000:5000", "127.0.0.1:5000:5000/udp", "127.0.0.1::514/udp"]


def test_a_host_port_taken_twice_in_one_protocol_is_refused(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          a: {image: "a:1", ports: ["514:514/udp"]}
          b: {image: "b:1", ports: ["514:514/udp"]}
        """,
    )

    assert problems(manifest) == [
        "devstack.yaml:4:29: services.b.ports[0]: host port 514/udp is already used by service 'a'"
    ]


def test_a_host_process_with_a_udp_port_gets_one_clear_line(tmp_path: Path) -> None:
    manifest = write(
        tmp_path,
        """\
        name: s
        services:
          p: {command: "x", ports: ["514/udp"]}
        """,
    )

    (line,) = problems(manifest)
    assert line.startswith("devstack.yaml:3:")
    assert "services.p: port '514/udp': a host process opens its own UDP sockets" in line
