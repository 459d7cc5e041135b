"""An environment's secrets from SSM / Secrets Manager, against real emulator processes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from helpers import Stack, environ, free_port, service, wait_for

pytestmark = pytest.mark.timeout(120)

CANARY = "canary-Zq7-s3cr3t"  # as tests/integration/conftest.py seeds it in moto

STRIPE = "sk_canary_81x"


def _pid(stack: Stack, name: str) -> int:
    pid = wait_for(lambda: stack.pids().get(name), 30.0, f"{name} to run")
    assert pid is not None
    return pid


def _no_canary_under(folder: Path, *canaries: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_socket():
            text = path.read_bytes()
            for canary in canaries:
                assert canary.encode() not in text, f"{canary} written to {path}"


def test_staging_secrets_come_from_the_account_and_are_never_shown(
    stack: Stack, moto_url: str
) -> None:
    stack.write(
        {"app": service("app", port=free_port())},
        providers={"staging-aws": {"type": "external", "url": moto_url}},
        environments={
            "staging": {"secrets": {"from": "ssm:/shop/staging/", "provider": "staging-aws"}}
        },
    )
    stack.up("--env", "staging")

    env = environ(_pid(stack, "app"))
    assert env["DB_PASSWORD"] == CANARY
    assert env["FEATURE_NEW_CHECKOUT"] == "on"

    shown = stack.ok("config", "show", "app").stdout
    assert CANARY not in shown
    line = next(x for x in shown.splitlines() if x.startswith("DB_PASSWORD="))
    assert "********" in line and "ssm:/shop/staging/DB_PASSWORD" in line
    as_json = json.loads(stack.ok("config", "show", "app", "--json").stdout)
    var = next(v for v in as_json["variables"] if v["name"] == "DB_PASSWORD")
    assert var == {**var, "secret": True, "masked": True, "source": "ssm:/shop/staging/DB_PASSWORD"}
    revealed = stack.ok("config", "show", "app", "--show-secrets").stdout
    assert f"DB_PASSWORD={CANARY}" in revealed
    assert CANARY not in stack.ok("status", "--json").stdout
    _no_canary_under(stack.state_dir, CANARY)


def test_unreadable_secrets_stop_up_with_the_location_and_change_nothing(stack: Stack) -> None:
    stack.write(
        {"app": service("app", port=free_port())},
        providers={"staging-aws": {"type": "external", "url": f"http://127.0.0.1:{free_port()}"}},
        environments={
            "staging": {"secrets": {"from": "ssm:/shop/staging/", "provider": "staging-aws"}}
        },
    )
    result = stack.run("up", "-d", "--env", "staging")
    assert result.returncode == 2, result.stderr
    assert "environments.staging.secrets" in result.stderr
    assert "cannot read secrets: ssm:/shop/staging/" in result.stderr
    assert "Traceback" not in result.stderr
    assert not stack.owned(), "a service started without its secrets"


def test_secrets_on_the_stacks_own_emulator_wait_for_it_then_reach_every_service(
    stack: Stack,
) -> None:
    pytest.importorskip("ministack")
    stack.write(
        {"app": service("app"), "web": service("web", port=free_port())},
        backing={
            "settings": {
                "kind": "ssm",
                "path": "/t/dev/",
                "parameters": {"DB_PASSWORD": {"value": CANARY, "secure": True}},
            },
            "vault": {
                "kind": "secretsmanager",
                "secrets": {"t/creds": json.dumps({"STRIPE_KEY": STRIPE})},
            },
        },
        environments={"dev": {"secrets": {"from": ["ssm:/t/dev/", "secretsmanager:t/creds"]}}},
    )
    began = time.monotonic()
    stack.up()
    for name in ("app", "web"):
        env = environ(_pid(stack, name))
        assert env["DB_PASSWORD"] == CANARY and env["STRIPE_KEY"] == STRIPE, name
    assert time.monotonic() - began < 60
    shown = stack.ok("config", "show", "web").stdout
    assert "secretsmanager:t/creds#STRIPE_KEY" in shown and STRIPE not in shown
    _no_canary_under(stack.state_dir / "logs", CANARY, STRIPE)
