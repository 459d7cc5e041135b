"""`devstack lint` as a user runs it: text and JSON reports, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import Stack

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """\
name: shop
services:
  api:
    image: shop/api:1.0
    ports: ["8080"]
    env:
      DB_PASSWORD: hunter2
    healthcheck: {http: /health}
  worker:
    command: python3 worker.py
    env: {QUEUE_URL: "http://localhost:4566/000000000000/jobs"}
"""


def test_text_report_names_rule_factor_location_field_and_fix_and_fails_on_errors(
    stack: Stack,
) -> None:
    stack.write_text(MANIFEST)
    result = stack.run("lint")
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "devstack.yaml:7:20: DS103 error [III config] services.api.env.DB_PASSWORD: "
        "DB_PASSWORD holds a value for a secret-named variable written in the manifest; "
        "fix: delete the value here and set DB_PASSWORD in an env file that git ignores, "
        "or in SSM / Secrets Manager read through `environments.ENV.secrets`"
    )
    assert lines[1].startswith(
        "devstack.yaml:11:22: DS102 warning [IV backing services] services.worker.env.QUEUE_URL: "
        "QUEUE_URL hard-codes the endpoint http://localhost:4566; fix: declare the resource"
    )
    assert lines[2] == "devstack.yaml: 2 findings (1 error, 1 warning)"
    assert "hunter2" not in result.stdout + result.stderr
    assert "\x1b[" not in result.stdout  # NO_COLOR
    assert not stack.socket.exists(), "lint needs no daemon"


def test_json_report_lists_findings_and_a_summary(stack: Stack) -> None:
    stack.write_text(MANIFEST)
    result = stack.run("lint", "--json")
    assert result.returncode == 1, result
    report = json.loads(result.stdout)
    assert report["summary"] == {
        "manifest": "devstack.yaml",
        "environments": ["dev"],
        "errors": 1,
        "warnings": 1,
        "total": 2,
    }
    first = report["findings"][0]
    assert first["rule"] == "DS103"
    assert first["severity"] == "error"
    assert first["factor"] == "III config"
    assert (first["file"], first["line"], first["column"]) == ("devstack.yaml", 7, 20)
    assert first["location"] == "devstack.yaml:7:20"
    assert first["field"] == "services.api.env.DB_PASSWORD"
    assert first["fix"].startswith("delete the value here and set DB_PASSWORD")


def test_warnings_alone_exit_zero_and_rules_can_be_chosen(stack: Stack) -> None:
    stack.write_text(MANIFEST)
    ignored = stack.run("lint", "--ignore", "DS103")
    assert ignored.returncode == 0, ignored
    assert ignored.stdout.splitlines()[-1] == "devstack.yaml: 1 finding (0 errors, 1 warning)"

    selected = stack.run("lint", "--select", "DS103,DS104", "--json")
    assert selected.returncode == 1, selected
    assert [f["rule"] for f in json.loads(selected.stdout)["findings"]] == ["DS103"]


def test_a_clean_stack_reports_no_findings(stack: Stack) -> None:
    result = stack.run("-f", str(REPO / "stacks" / "shop" / "devstack.yaml"), "lint")
    assert result.returncode == 0, result
    assert result.stdout.strip().endswith(": no findings")


def test_an_invalid_manifest_exits_2_with_located_problems(stack: Stack) -> None:
    stack.write_text("name: shop\nservices:\n  api:\n    image: [x]\n")
    result = stack.run("lint", "--json")
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert "devstack.yaml:4:12: services.api.image: " in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--env", "prod"), "unknown environment 'prod' (known: dev)"),
        (("--select", "DS9"), "unknown rule 'DS9'"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    stack: Stack, args: tuple[str, ...], message: str
) -> None:
    stack.write_text("name: t\nenvironments: {dev: {}}\nservices: {a: {command: python3 a.py}}\n")
    result = stack.run("lint", *args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr
