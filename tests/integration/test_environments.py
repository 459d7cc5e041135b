"""Environments: `config diff`, `env pull`, and staging's real endpoints shown as such."""

from __future__ import annotations

import json
import stat

import pytest

from helpers import Stack, free_port, service

pytestmark = pytest.mark.timeout(120)

SECRET = "canary-diff-9QxW"


def _two_environments(stack: Stack) -> None:
    stack.write(
        {
            "api": service("api", port=free_port(), env={"MODE": "${LOG_LEVEL}-api"}),
            "worker": service("worker"),
        },
        environments={
            "dev": {"vars": {"LOG_LEVEL": "debug", "DEBUG_TOOLBAR": "1",
                             "DB_PASSWORD": {"value": "dev-pw", "secret": True}}},
            "staging": {"vars": {"LOG_LEVEL": "info", "SENTRY_DSN": "https://sentry.example/1",
                                 "DB_PASSWORD": {"value": SECRET, "secret": True}}},
        },
    )  # fmt: skip


def test_config_diff_lists_added_removed_and_changed_variables(stack: Stack) -> None:
    _two_environments(stack)
    text = stack.ok("config", "diff", "dev", "staging").stdout
    assert "- DEBUG_TOOLBAR=1  (only in dev)" in text
    assert "+ SENTRY_DSN=https://sentry.example/1  (only in staging)" in text
    assert "~ LOG_LEVEL: debug -> info" in text
    assert "~ MODE: debug-api -> info-api" in text  # derived values follow their inputs
    assert SECRET not in text and "dev-pw" not in text
    assert "~ DB_PASSWORD: sha256:" in text  # compared by digest, never shown

    data = json.loads(stack.ok("config", "diff", "dev", "staging", "worker", "--json").stdout)
    assert set(data["services"]) == {"worker"}
    worker = data["services"]["worker"]
    assert worker["added"] == {"SENTRY_DSN": "https://sentry.example/1"}
    assert worker["removed"] == {"DEBUG_TOOLBAR": "1"}
    assert worker["changed"]["LOG_LEVEL"] == {"from": "debug", "to": "info"}
    assert worker["changed"]["DB_PASSWORD"]["to"].startswith("sha256:")
    assert "DB_PASSWORD" in worker["secrets"] and SECRET not in json.dumps(data)

    same = stack.ok("config", "diff", "dev", "dev").stdout
    assert same.splitlines() == ["api: no differences", "worker: no differences"]
    unknown = stack.run("config", "diff", "dev", "prod")
    assert unknown.returncode == 2 and "unknown environment 'prod'" in unknown.stderr


def test_env_pull_writes_values_and_keeps_secrets_as_references(
    stack: Stack, moto_url: str
) -> None:
    stack.write(
        {"api": service("api")},
        providers={"staging-aws": {"type": "external", "url": moto_url}},
        environments={"staging": {"secrets": {"from": "ssm:/shop/staging/",
                                              "provider": "staging-aws"}}},
    )  # fmt: skip
    canary = "canary-Zq7-s3cr3t"  # seeded as a SecureString by the moto fixture
    stack.ok("env", "pull", "staging")
    written = (stack.root / ".env.staging").read_text()
    assert "FEATURE_NEW_CHECKOUT=on" in written
    assert "# DB_PASSWORD: secret, kept in ssm:/shop/staging/DB_PASSWORD" in written
    assert canary not in written

    again = stack.run("env", "pull", "staging")
    assert again.returncode == 2 and "exists; add --force" in again.stderr

    out = stack.root / "with-secrets.env"
    stack.ok("env", "pull", "staging", "--include-secrets", "-o", str(out))
    assert f"DB_PASSWORD={canary}" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    printed = stack.ok("env", "pull", "staging", "--from", "ssm:/shop/staging/", "-o", "-")
    assert printed.stdout.startswith("# staging: pulled from ssm:/shop/staging/")


def test_staging_on_a_real_endpoint_is_marked_in_status_and_backing(
    stack: Stack, moto_url: str
) -> None:
    pytest.importorskip("ministack")
    moto_host = moto_url.replace("127.0.0.1", "localhost")  # still local, so not "real"
    stack.write(
        {"api": service("api", uses=["uploads"])},
        backing={"uploads": {"kind": "s3", "bucket": "shop-uploads"}},
        providers={
            "staging-s3": {"type": "external", "url": "https://s3.eu-west-1.amazonaws.com"},
            "near": {"type": "external", "url": moto_host},
        },
        environments={"staging": {"providers": {"uploads": "staging-s3"}},
                      "local": {"providers": {"uploads": "near"}}},
    )  # fmt: skip
    stack.up("--env", "staging")
    status = json.loads(stack.ok("status", "--json").stdout)
    assert status["real"] == ["uploads -> staging-s3 (https://s3.eu-west-1.amazonaws.com)"]
    assert "real endpoint: uploads -> staging-s3" in stack.ok("status").stdout
    (row,) = json.loads(stack.ok("backing", "--json").stdout)
    assert row["real"] is True
    assert "staging-s3 (REAL)" in stack.ok("backing").stdout

    stack.up("--env", "local")
    assert json.loads(stack.ok("status", "--json").stdout)["real"] == []
