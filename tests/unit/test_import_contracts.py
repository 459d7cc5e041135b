"""`import compose` proposes a contract from the templates of a service's environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

from devstack.config.loader import load_stack
from devstack.importer.compose import convert

COMPOSE = """\
services:
  api:
    image: api:1
    environment:
      DATABASE_URL: ${DATABASE_URL:?set DATABASE_URL}
      LISTEN_PORT: ${LISTEN_PORT?}
      API_TOKEN: ${API_TOKEN}
      GREETING: $GREETING
      MODE: ${MODE:-fast}
      WORKERS: "4"
      BANNER: "hello ${NAME:?}"
  web:
    image: web:1
    environment: {MODE: fast}
"""


def test_required_and_bare_templates_become_a_contract(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(COMPOSE))
    result = convert(tmp_path / "compose.yaml", tmp_path, {})
    (tmp_path / "devstack.yaml").write_text(result.text)

    services = load_stack(tmp_path / "devstack.yaml").stack.services
    needs = services["api"].needs
    assert {name: (n.type, n.required) for name, n in needs.items()} == {
        "DATABASE_URL": ("url", True),
        "LISTEN_PORT": ("port", True),
        "API_TOKEN": ("secret", False),
        "GREETING": ("str", False),
        "BANNER": ("str", True),
    }
    assert services["web"].needs == {}  # nothing templated, nothing proposed
