"""docs/architecture.md tells the truth: its API route table is the OpenAPI document's,
its package table names every package, and its layers are the enforced ones."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from devstack.daemon.routes_doc import END, START, route_table, spliced
from devstack.daemon.server import openapi_document

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def test_the_route_table_is_the_openapi_documents() -> None:
    text = DOC.read_text()
    expected = spliced(text, route_table(openapi_document()))
    assert text == expected, "run `python -m devstack.daemon.routes_doc` and commit the table"


def test_the_route_table_has_a_row_per_route() -> None:
    document = openapi_document()
    routes = sum(len(methods) for methods in document["paths"].values())
    table = route_table(document).splitlines()
    assert len(table) == 2 + routes  # the header, its rule, a row each
    assert "| POST | `/v1/swap` | `SwapRequest` | `SwapResponse` | 400, 404, 409, 422 |" in (
        "\n".join(table)
    )


def test_a_table_between_missing_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="marker"):
        spliced(f"{START}\nno end\n", "x")
    with pytest.raises(ValueError, match="marker"):
        spliced(f"no start\n{END}\n", "x")


def test_the_package_table_names_every_package() -> None:
    packages = {p.parent.name for p in (ROOT / "src" / "devstack").glob("*/__init__.py")}
    rows = set(re.findall(r"^\| `([a-z_]+)/` \|", DOC.read_text(), re.MULTILINE))
    assert rows == packages


def test_the_layers_written_down_are_the_layers_enforced() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [layers] = [
        c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    enforced = [name.removeprefix("devstack.") for name in reversed(layers)]
    [written] = re.findall(
        r"- \*\*Layers\*\*, lowest first: (.*?)\. A package", DOC.read_text(), re.S
    )
    assert re.findall(r"`([a-z_]+)`", written) == enforced
