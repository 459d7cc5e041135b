"""CLI behaviour around the daemon: dry runs, orphans, failures under --wait, config views."""

from __future__ import annotations

import json
import time

import pytest

from helpers import Stack, alive, free_ports, service, start_ticks, wait_for

pytestmark = pytest.mark.timeout(60)


def test_dry_run_without_a_daemon_plans_and_starts_nothing(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port, depends_on=["a"])})
    result = stack.ok("up", "--dry-run")
    plan = result.stdout
    assert "start service:a" in plan
    assert "start service:b" in plan
    assert plan.index("service:a") < plan.index("service:b")
    assert not stack.socket.exists()
    assert stack.daemons() == []
    assert stack.owned() == {}


def test_remove_orphans_stops_services_no_longer_declared(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port)})
    stack.up()
    pids = stack.pids()
    b_ticks = start_ticks(pids["b"])

    stack.write({"a": service("a", port=a_port)})
    stack.up()
    status = stack.services()
    assert status["b"]["state"] == "orphan"
    assert status["b"]["pid"] == pids["b"]
    assert alive(pids["b"], b_ticks), "plain `up` must leave an orphan running"

    assert "stop service:b" in stack.ok("up", "--dry-run", "--remove-orphans").stdout
    stack.up("--remove-orphans")
    wait_for(lambda: not alive(pids["b"], b_ticks), 10.0, "the orphan b to stop")
    assert set(stack.services()) == {"a"}
    assert stack.pids() == {"a": pids["a"]}


def test_wait_reports_a_failing_service_with_its_output(stack: Stack) -> None:
    ok_port, bad_port = free_ports(2)
    stack.write(
        {
            "ok": service("ok", port=ok_port),
            "bad": service("bad", port=bad_port, flags=["--exit", "4"]),
        }
    )
    result = stack.run("up", "-d", "--wait", "--wait-timeout", "20")
    assert result.returncode == 1, result
    assert "bad" in result.stderr
    assert "exit code 4" in result.stderr
    assert "bad: exiting with 4" in result.stderr  # its last log lines are shown
    assert "Traceback" not in result.stderr


def test_a_missing_program_fails_the_service_with_a_reason(stack: Stack) -> None:
    stack.write({"ghost": {"command": "no-such-program-for-devstack --flag"}})
    result = stack.run("up", "-d", "--wait", "--wait-timeout", "20")
    assert result.returncode == 1, result
    assert "cannot start 'no-such-program-for-devstack'" in result.stderr
    ghost = stack.services()["ghost"]
    assert ghost["state"] == "failed"
    assert ghost["pid"] is None
    assert "no-such-program-for-devstack" in ghost["reason"]


def test_wait_times_out_on_a_service_that_never_turns_healthy(stack: Stack) -> None:
    stack.write({"slow": service("slow", port=free_ports(1)[0], flags=["--ready-after", "60"])})
    stack.ok("up", "-d")
    # Started and probed: the second `up` has nothing to start, only to wait.
    wait_for(lambda: stack.live()["slow"]["health"] == "starting", 10.0, "slow to be probed")
    began = time.monotonic()
    result = stack.run("up", "-d", "--wait", "--wait-timeout", "1")
    took = time.monotonic() - began
    assert result.returncode == 1, result
    assert "slow" in result.stderr
    assert "not healthy within 1s" in result.stderr
    assert took < 5.0


def test_a_service_is_not_running_before_its_healthcheck_passes(stack: Stack) -> None:
    """Regression: health was watched only once the whole plan had run, and until then a
    started service with a healthcheck showed as running (so `up --wait` could pass it)."""
    slow_port = free_ports(1)[0]
    stubborn = service("stubborn", flags=["--on-term", "ignore"], stop_grace="1s")
    stack.write({"stubborn": stubborn})
    stack.up()

    # One plan: restart stubborn (1 s to stop) and start slow (never healthy).
    stack.write(
        {
            "stubborn": {**stubborn, "env": {"CHANGED": "1"}},
            "slow": service("slow", port=slow_port, flags=["--ready-after", "60"]),
        }
    )
    stack.ok("up", "-d")
    seen: list[tuple[str, str]] = []

    def probed() -> bool:
        slow = stack.live()["slow"]
        seen.append((slow["state"], slow["health"]))
        return seen[-1] == ("starting", "starting")

    wait_for(probed, 10.0, "slow's healthcheck to be watched", interval=0.02)
    running = [s for s in seen if s[0] == "running"]
    assert not running, f"slow reported {running[0]} by {len(running)} of {len(seen)} polls"


def test_config_show_masks_secrets_unless_asked(stack: Stack) -> None:
    stack.write(
        {
            "api": service(
                "api",
                port=8080,
                env={
                    "API_TOKEN": "s3cret",
                    "PLAIN": "visible",
                    "HIDDEN": {"value": "x", "secret": True},
                },
            )
        }
    )
    shown = json.loads(stack.ok("config", "show", "api", "--json").stdout)
    assert shown["service"] == "api"
    assert shown["environment"] == "dev"
    variables = {v["name"]: v for v in shown["variables"]}
    assert variables["PLAIN"]["value"] == "visible"
    assert variables["PORT"]["value"] == "8080"
    for name in ("API_TOKEN", "HIDDEN"):
        assert variables[name]["secret"] is True
        assert variables[name]["masked"] is True
        assert variables[name]["value"] != ("s3cret" if name == "API_TOKEN" else "x")
    text = stack.ok("config", "show", "api").stdout
    assert "s3cret" not in text
    assert "PLAIN=visible" in text

    revealed = json.loads(stack.ok("config", "show", "api", "--json", "--show-secrets").stdout)
    values = {v["name"]: v["value"] for v in revealed["variables"]}
    assert values["API_TOKEN"] == "s3cret"
    assert values["HIDDEN"] == "x"

    unknown = stack.run("config", "show", "nope")
    assert unknown.returncode == 2, unknown
    assert "nope" in unknown.stderr


def test_validate_and_schema(stack: Stack) -> None:
    stack.write({"api": service("api", port=8080)}, environments={"staging": {"vars": {"A": "1"}}})
    result = stack.ok("validate")
    assert "valid" in result.stdout
    assert "staging" in result.stdout

    schema = json.loads(stack.ok("schema").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "services" in schema["properties"]
    assert not stack.socket.exists()
