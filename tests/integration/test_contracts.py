"""Config contracts on a real stack: a breach holds only its service, and fixing the
manifest (live reload) starts it."""

from __future__ import annotations

import json

import yaml

from helpers import Stack, describe, service, wait_for

WATCH = {"DEVSTACK_WATCH": "1"}
BREACH = "WORKERS: 'many' is not an int in environment dev (from the service layer: devstack.yaml:"


def write(stack: Stack, workers: str) -> None:
    stack.write(
        {
            "db": service("db"),
            "api": service(
                "api",
                env={"WORKERS": workers, "API_TOKEN": "s3cr3t-value"},
                needs={"WORKERS": {"type": "int", "min": 1}, "API_TOKEN": "secret"},
            ),
            "web": service("web", depends_on={"api": {"condition": "service_started"}}),
        }
    )


def save(stack: Stack, workers: str) -> None:
    """Rewrite the manifest as an editor saves: a new file renamed over the old one."""
    doc = yaml.safe_load(stack.manifest.read_text())
    doc["services"]["api"]["env"]["WORKERS"] = workers
    temp = stack.manifest.with_suffix(".tmp")
    temp.write_text(yaml.safe_dump(doc, sort_keys=False))
    temp.replace(stack.manifest)


def test_a_breach_holds_its_service_and_a_fix_in_the_manifest_starts_it(stack: Stack) -> None:
    write(stack, "many")

    result = stack.run("up", "-d", "--wait", env=WATCH)

    assert result.returncode == 1, describe(result, stack)
    assert "api" in result.stderr and BREACH in result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    services = stack.services()
    assert services["db"]["state"] == "running"  # the rest of the stack runs
    assert services["api"]["state"] == "failed" and services["api"]["pid"] is None
    assert BREACH in services["api"]["reason"]
    assert services["web"]["state"] == "waiting"
    assert "api (contract broken)" in services["web"]["reason"]
    table = stack.ok("status").stdout
    assert "contract broken: WORKERS" in table
    check = stack.run("config", "check", "--json")
    assert check.returncode == 1
    assert json.loads(check.stdout)["violations"][0]["rule"] == "type"

    save(stack, "4")

    wait_for(lambda: stack.live()["api"]["state"] == "running", 15.0, "api to start")
    wait_for(lambda: stack.live()["web"]["state"] == "running", 15.0, "web to start")
    assert stack.ok("config", "check").stdout.startswith("contracts hold: api in dev")


def test_run_refuses_a_service_that_breaks_its_contract(stack: Stack) -> None:
    write(stack, "0")

    result = stack.run("run", "api", "--", "true")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: api breaks its contract: WORKERS: '0' is below the minimum 1 in environment "
        "dev (from the service layer: devstack.yaml:" + lines[0].split("devstack.yaml:")[1]
    ]
    assert "services.api.env" in lines[0]


def two_environments(stack: Stack) -> None:
    stack.write(
        {"api": service("api", needs={"WORKERS": {"type": "int", "min": 1}, "LEVEL": "str"})},
        environments={
            "dev": {"vars": {"WORKERS": "2", "LEVEL": "debug"}},
            "staging": {"vars": {"WORKERS": "0"}},
        },
    )


def test_config_check_gates_every_environment(stack: Stack) -> None:
    two_environments(stack)

    every = stack.run("config", "check")
    assert every.returncode == 1
    assert every.stdout.splitlines() == [
        "api: WORKERS: '0' is below the minimum 1 in environment staging "
        "(from the environment layer: devstack.yaml:9 (environments.staging.vars))",
        "api: LEVEL: required (str) but not set in environment staging",
    ]
    assert every.stderr == "error: 2 contract violations\n"
    assert stack.ok("config", "check", "--env", "dev").stdout == "contracts hold: api in dev\n"
    payload = json.loads(stack.run("config", "check", "--all-envs", "--json").stdout)
    assert payload["ok"] is False and payload["environments"] == ["dev", "staging"]
    assert [(v["environment"], v["variable"], v["rule"]) for v in payload["violations"]] == [
        ("staging", "WORKERS", "min"),
        ("staging", "LEVEL", "required"),
    ]
    assert stack.run("config", "check", "--env", "prod").returncode == 2
    assert stack.run("config", "check", "--env", "dev", "--all-envs").returncode == 2


def test_release_and_export_refuse_a_breach(stack: Stack) -> None:
    two_environments(stack)
    line = "error: api breaks its contract: WORKERS: '0' is below the minimum 1"

    for command in (("release", "--env", "staging"), ("export", "k8s", "--env", "staging")):
        result = stack.run(*command)
        assert result.returncode == 2, describe(result, stack)
        assert result.stderr.startswith(line) and len(result.stderr.splitlines()) == 1
    assert not stack.has_file(".devstack/releases")


def test_config_diff_marks_what_a_contract_needs(stack: Stack) -> None:
    two_environments(stack)

    text = stack.ok("config", "diff", "dev", "staging").stdout

    assert "  - LEVEL=debug  (only in dev)  [needs str]\n" in text
    assert "  ~ WORKERS: 2 -> 0  [needs int]\n" in text
    data = json.loads(stack.ok("config", "diff", "dev", "staging", "--json").stdout)
    assert data["services"]["api"]["needs"] == {"LEVEL": "str", "WORKERS": "int"}


CANARY = "canary-Zq7-s3cr3t"  # as tests/integration/conftest.py seeds it in moto


def test_config_check_reads_staging_secrets_and_never_prints_them(
    stack: Stack, moto_url: str
) -> None:
    """moto stands in for staging's SSM: wrong and missing secrets are named, not shown."""
    stack.write(
        {
            "app": service(
                "app",
                needs={
                    "DB_PASSWORD": {"type": "secret", "pattern": "pw_.*"},
                    "FEATURE_NEW_CHECKOUT": "bool",
                    "STRIPE_KEY": "secret",
                },
            )
        },
        providers={"staging-aws": {"type": "external", "url": moto_url}},
        environments={
            "dev": {
                "vars": {"DB_PASSWORD": "pw_dev", "FEATURE_NEW_CHECKOUT": "off", "STRIPE_KEY": "k"}
            },
            "staging": {"secrets": {"from": "ssm:/shop/staging/", "provider": "staging-aws"}},
        },
    )

    result = stack.run("config", "check", "--all-envs")

    assert result.returncode == 1, describe(result, stack)
    assert CANARY not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "app: DB_PASSWORD: the value does not match the pattern 'pw_.*' (secret, not shown) "
        "in environment staging (from the secret layer: ssm:/shop/staging/DB_PASSWORD)",
        "app: STRIPE_KEY: required (secret) but not set in environment staging",
    ]
    assert stack.ok("config", "check", "--env", "dev").stdout == "contracts hold: app in dev\n"


def test_export_does_not_judge_what_the_secret_store_may_hold(stack: Stack) -> None:
    """The store is not read for an export: an unset secret may be there; a wrong var is not."""
    stack.write(
        {"api": {"image": "api:1", "needs": {"DB_PASSWORD": "secret", "WORKERS": "int"}}},
        providers={"vault": {"type": "external", "url": "http://127.0.0.1:9"}},
        environments={
            "staging": {
                "secrets": {"from": "ssm:/t/staging/", "provider": "vault"},
                "vars": {"WORKERS": "2"},
            }
        },
    )
    assert stack.run("export", "compose", "--env", "staging").returncode == 0

    doc = yaml.safe_load(stack.manifest.read_text())
    doc["environments"]["staging"]["vars"]["WORKERS"] = "two"
    stack.manifest.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = stack.run("export", "compose", "--env", "staging")
    assert result.returncode == 2
    assert "api breaks its contract: WORKERS: 'two' is not an int" in result.stderr
