"""Exports carry a contract's secrets as secrets: compose refuses to start without them,
ECS reads them from SSM; never their values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.export.compose import render
from devstack.export.ecs import EcsOptions, task_definitions
from devstack.export.view import export_view

MANIFEST = """\
name: shop
environments:
  dev: {vars: {STRIPE: sk_live_x, MODE: fast}}
services:
  api:
    image: api:1
    needs: {STRIPE: secret, MODE: "enum:fast,safe"}
"""


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "devstack.yaml").write_text(MANIFEST)
    return tmp_path / "devstack.yaml"


def test_compose_requires_a_contract_secret_and_never_writes_it(manifest: Path) -> None:
    text = render(export_view(load_stack(manifest), "dev", {}, "compose"), manifest.parent)

    env = yaml.safe_load(text)["services"]["api"]["environment"]
    assert env == {
        "MODE": "fast",
        "STRIPE": "${STRIPE:?set the secret STRIPE in the shell or .env}",
    }
    assert "sk_live_x" not in text


def test_ecs_reads_a_contract_secret_from_ssm(manifest: Path) -> None:
    view = export_view(load_stack(manifest), "dev", {}, "ecs")
    (task,) = task_definitions(view, EcsOptions(region="eu-west-1", account_id="123456789012"))

    (container,) = task["containerDefinitions"]
    assert container["environment"] == [{"name": "MODE", "value": "fast"}]
    assert container["secrets"] == [
        {
            "name": "STRIPE",
            "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/dev/STRIPE",
        }
    ]
