"""Level-triggered `up`: a restarted daemon re-adopts, a repeated `up` changes nothing,
and a changed spec restarts exactly the services whose resolved spec changed."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from helpers import Stack, alive, free_ports, service, start_ticks, wait_for

pytestmark = pytest.mark.timeout(60)


def _instances(stack: Stack) -> Counter[str]:
    """Service name -> number of live process-group leaders labelled with it."""
    return Counter(owner.split(":")[1] for owner in stack.group_leaders().values())


def test_restarted_daemon_adopts_running_services(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write(
        {
            "a": service("a", port=a_port),
            "b": service("b", port=b_port, depends_on=["a"], flags=["--child"]),
        }
    )
    stack.up()
    first = stack.status()
    pids = {s["name"]: s["pid"] for s in first["services"]}
    ticks = {name: start_ticks(pid) for name, pid in pids.items()}
    daemon = first["daemon_pid"]
    assert _instances(stack) == {"a": 1, "b": 1}

    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not alive(daemon), 5.0, "the daemon to die")
    assert all(alive(pid, ticks[name]) for name, pid in pids.items()), "services died with it"

    stack.up()
    second = stack.status()
    assert second["daemon_pid"] != daemon
    assert {s["name"]: s["pid"] for s in second["services"]} == pids
    assert all(s["state"] == "running" for s in second["services"])
    assert all(s["restarts"] == 0 for s in second["services"])
    assert all(alive(pid, ticks[name]) for name, pid in pids.items()), "a service restarted"
    assert _instances(stack) == {"a": 1, "b": 1}, "duplicate instances after adoption"
    assert len(stack.daemons()) == 1

    # A third `up` (daemon alive) is a no-op too.
    stack.up()
    assert stack.pids() == pids

    stack.ok("down")
    wait_for(lambda: not stack.leftovers(), 10.0, "no process left after down")
    assert not stack.socket.exists()


def test_adopted_service_that_exits_is_restarted(stack: Stack) -> None:
    (port,) = free_ports(1)
    stack.write({"a": service("a", port=port)})
    stack.up()
    first = stack.status()
    pid = first["services"][0]["pid"]
    os.kill(first["daemon_pid"], signal.SIGKILL)
    wait_for(lambda: not alive(first["daemon_pid"]), 5.0, "the daemon to die")
    stack.up()
    assert stack.pids() == {"a": pid}

    # Not our child any more: the new daemon must notice the exit by polling /proc.
    os.killpg(pid, signal.SIGKILL)
    new = wait_for(
        lambda: (p := stack.pids()["a"]) not in (None, pid) and p, 15.0, "a to be restarted"
    )
    wait_for(lambda: stack.services()["a"]["state"] == "running", 10.0, "a to be healthy")
    assert _instances(stack) == {"a": 1}
    assert stack.pids()["a"] == new


def test_up_is_idempotent_and_restarts_exactly_what_changed(stack: Stack) -> None:
    greeter_port, front_port, other_port, new_port = free_ports(4)

    def services(greeter: int, other_env: dict[str, str]) -> dict[str, object]:
        return {
            "greeter": service("greeter", port=greeter),
            "front": service(
                "front",
                port=front_port,
                depends_on=["greeter"],
                env={"GREETER_PORT": "${services.greeter.port}"},
                flags=["--dump-env"],
            ),
            "other": service("other", port=other_port, env=other_env),
        }

    stack.write(services(greeter_port, {"COLOUR": "red"}))
    stack.up()
    pids = stack.pids()
    assert all(pids.values())

    # Same manifest: nothing happens.
    again = stack.up()
    assert "»" not in again.stderr, again.stderr
    assert stack.pids() == pids
    assert "nothing to do" in stack.ok("up", "--dry-run").stdout

    # One service's env changed: only that one restarts.
    stack.write(services(greeter_port, {"COLOUR": "blue"}))
    dry = stack.ok("up", "--dry-run").stdout
    assert "other" in dry
    assert "greeter" not in dry
    assert "front" not in dry
    assert stack.pids() == pids, "--dry-run changed something"
    stack.up()
    now = stack.pids()
    assert now["other"] != pids["other"]
    assert (now["greeter"], now["front"]) == (pids["greeter"], pids["front"])
    pids = now

    # greeter's port changes, and front's env refers to it: both restart, other does not.
    stack.write(services(new_port, {"COLOUR": "blue"}))
    stack.up()
    now = stack.pids()
    assert now["greeter"] != pids["greeter"]
    assert now["front"] != pids["front"]
    assert now["other"] == pids["other"]
    env = wait_for(
        lambda: (e := stack.read_json("front.env")).get("GREETER_PORT") == str(new_port) and e,
        5.0,
        "front to see greeter's new port",
    )
    assert env["PORT"] == str(front_port)
    assert _instances(stack) == {"greeter": 1, "front": 1, "other": 1}


def test_invalid_edit_keeps_the_running_stack(stack: Stack) -> None:
    (port,) = free_ports(1)
    stack.write({"a": service("a", port=port)})
    stack.up()
    pids = stack.pids()

    stack.write_text(stack.manifest.read_text().replace("http: /health", "http: health"))
    result = stack.run("up", "-d", "--wait")
    assert result.returncode == 2, result
    assert "devstack.yaml:" in result.stderr
    assert "healthcheck" in result.stderr
    assert stack.pids() == pids
    assert stack.services()["a"]["state"] == "running"
