"""Replicas and `devstack scale`: distinct ports, live changes that leave the others alone."""

from __future__ import annotations

import json
import urllib.request

import pytest

from helpers import Stack, free_port, service, wait_for

pytestmark = pytest.mark.timeout(90)


def _instances(stack: Stack, name: str) -> dict[int, int]:
    """replica -> pid of the running instances of `name` (their process-group leaders)."""
    found = {}
    for pid, owner in stack.group_leaders().items():
        _, service_name, replica, _ = owner.split(":")
        if service_name == name:
            found[int(replica)] = pid
    return found


def _answers(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
        return str(json.loads(response.read())["name"])


def test_replicas_get_their_own_ports_and_scale_keeps_the_others_running(stack: Stack) -> None:
    port = free_port()
    stack.write(
        {
            "web": service("web", port=port, replicas=2),
            "other": service("other", flags=["--dump-env"]),
        }
    )
    stack.up()

    status = stack.services()["web"]
    assert status["replicas"] == 2 and status["running"] == 2
    ports = status["ports"]
    assert ports[0] == port and len(set(ports)) == 2, ports
    for p in ports:
        assert _answers(p) == "web"  # each replica listens on its own PORT
    before = _instances(stack, "web")
    assert sorted(before) == [0, 1]
    other_pid = stack.pids()["other"]

    stack.ok("scale", "web=3")
    after = _instances(stack, "web")
    assert sorted(after) == [0, 1, 2]
    assert {r: after[r] for r in before} == before, "scaling up restarted a running replica"
    status = stack.services()["web"]
    assert status["running"] == 3 and len(set(status["ports"])) == 3
    assert _answers(status["ports"][2]) == "web"
    assert stack.pids()["other"] == other_pid

    stack.ok("scale", "web=1")
    wait_for(lambda: sorted(_instances(stack, "web")) == [0], 15.0, "web scaled down to one")
    assert _instances(stack, "web")[0] == before[0], "scaling down restarted replica 0"
    assert stack.pids()["other"] == other_pid

    # The log prefixes the replica; the count is an override that survives a daemon restart.
    logs = stack.ok("logs", "web").stdout
    assert "web#1" in logs and "web#2" in logs
    overrides = json.loads((stack.state_dir / "overrides.json").read_text())
    assert overrides["scale"] == {"web": 1}


def test_scale_rejects_bad_input_with_a_clear_error(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port())})
    stack.up()
    bad = stack.run("scale", "web")
    assert bad.returncode == 2 and "expected SERVICE=N" in bad.stderr
    unknown = stack.run("scale", "nope=2")
    assert unknown.returncode != 0 and "unknown service 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr


def test_a_fixed_host_port_cannot_be_shared_by_replicas(stack: Stack) -> None:
    stack.write({"web": service("web", image="x", ports=["18080:8080"], replicas=2)})
    result = stack.run("validate")
    assert result.returncode == 2
    assert "devstack.yaml:" in result.stderr and "services.web.ports[0]" in result.stderr
    assert "only one replica can bind" in result.stderr
