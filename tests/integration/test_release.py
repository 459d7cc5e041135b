"""Build, release, run: a release is immutable and `up --release` runs exactly it."""

from __future__ import annotations

import json
import stat

import pytest

from helpers import Stack, environ, free_port, service, wait_for

pytestmark = pytest.mark.timeout(120)


def _env_of(stack: Stack, name: str) -> dict[str, str]:
    pid = wait_for(lambda: stack.pids().get(name), 30.0, f"{name} to run")
    assert pid is not None
    return environ(pid)


def _write(stack: Stack, greeting: str) -> None:
    stack.write(
        {"web": service("web", port=free_port(), env={"GREETING": greeting})},
        environments={"staging": {"env_file": [".env.staging"], "vars": {"TIER": "staging"}}},
    )


def test_a_release_runs_exactly_as_recorded_after_the_manifest_changed(stack: Stack) -> None:
    (stack.root / ".env.staging").write_text("DB_PASSWORD=first-Kq9\nLOG_LEVEL=info\n")
    _write(stack, "hello")
    made = stack.ok("release", "--env", "staging", "-m", "first")
    assert made.stdout.strip() == "r1"
    record_path = stack.state_dir / "releases" / "r1.json"
    record = json.loads(record_path.read_text())
    assert record["environment"] == "staging" and record["message"] == "first"
    assert len(record["config_hash"]) == 16
    assert stat.S_IMODE(record_path.stat().st_mode) == 0o400
    assert "first-Kq9" not in record_path.read_text()  # a reference and a digest, no value
    env = {v["name"]: v for v in record["state"]["services"]["web"]["env"]}
    assert env["DB_PASSWORD"]["sha256"].startswith("sha256:") and "value" not in env["DB_PASSWORD"]
    assert env["GREETING"]["value"] == "hello"

    # The manifest and the env file move on; r1 does not.
    _write(stack, "bonjour")
    (stack.root / ".env.staging").write_text("DB_PASSWORD=first-Kq9\nLOG_LEVEL=debug\n")
    assert stack.ok("release", "--env", "staging").stdout.strip() == "r2"
    assert json.loads(record_path.read_text()) == record

    stack.up("--release", "r1")
    env_now = _env_of(stack, "web")
    assert env_now["GREETING"] == "hello" and env_now["LOG_LEVEL"] == "info"
    assert env_now["DB_PASSWORD"] == "first-Kq9" and env_now["TIER"] == "staging"
    status = json.loads(stack.ok("status", "--json").stdout)
    assert status["release"] == "r1" and status["environment"] == "staging"
    assert "release r1" in stack.ok("status").stdout

    listed = json.loads(stack.ok("releases", "--json").stdout)
    assert [r["id"] for r in listed] == ["r1", "r2"]
    assert [r["running"] for r in listed] == [True, False]
    assert listed[0]["config_hash"] != listed[1]["config_hash"]

    swap = stack.run("swap", "anything", "moto")
    assert swap.returncode != 0 and "immutable" in swap.stderr

    # Rolling forward is `up` of the newer release; a plain `up` returns to the manifest.
    stack.up("--release", "r2")
    wait_for(lambda: _env_of(stack, "web").get("GREETING") == "bonjour", 30.0, "r2's env")
    stack.up("--env", "staging")
    assert json.loads(stack.ok("status", "--json").stdout)["release"] is None


def test_a_secret_that_changed_since_the_release_is_refused(stack: Stack) -> None:
    (stack.root / ".env.staging").write_text("DB_PASSWORD=old-Vv2\n")
    _write(stack, "hello")
    stack.ok("release", "--env", "staging")
    (stack.root / ".env.staging").write_text("DB_PASSWORD=rotated-Vv3\n")
    result = stack.run("up", "-d", "--release", "r1")
    assert result.returncode == 2, result.stderr
    assert "release r1" in result.stderr and "DB_PASSWORD" in result.stderr
    assert "changed since this release" in result.stderr
    assert "old-Vv2" not in result.stderr and "rotated-Vv3" not in result.stderr
    assert not stack.owned()


def test_unknown_release_and_wrong_environment_are_usage_errors(stack: Stack) -> None:
    _write(stack, "hello")
    (stack.root / ".env.staging").write_text("A=1\n")
    unknown = stack.run("up", "-d", "--release", "r9")
    assert unknown.returncode == 2 and "unknown release 'r9'" in unknown.stderr
    stack.ok("release", "--env", "staging")
    wrong = stack.run("up", "-d", "--release", "r1", "--env", "dev")
    assert wrong.returncode == 2 and "made for environment 'staging'" in wrong.stderr
    assert stack.ok("releases").stdout.splitlines()[0].split()[:3] == ["ID", "CREATED", "ENV"]
