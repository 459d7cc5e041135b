"""Level-triggered `up`: a restarted daemon re-adopts, a repeated `up` changes nothing,
and a changed spec restarts exactly the services whose resolved spec changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
            # A short grace: stopping an adopted (not our child) process waits for init to
            # reap it, as long as the grace period allows.
            "a": service("a", port=a_port, stop_grace="500ms"),
            "b": service("b", port=b_port, depends_on=["a"], flags=["--child"], stop_grace="500ms"),
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

    # a is not the new daemon's child: it must notice a's death by polling /proc.
    os.killpg(pids["a"], signal.SIGKILL)
    new = wait_for(
        lambda: (p := stack.live()["a"]["pid"]) not in (None, pids["a"]) and p,
        15.0,
        "a to be restarted",
    )
    wait_for(lambda: stack.live()["a"]["state"] == "running", 10.0, "a to be healthy again")
    assert stack.pids() == {"a": new, "b": pids["b"]}
    assert _instances(stack) == {"a": 1, "b": 1}

    stack.ok("down")
    wait_for(lambda: not stack.leftovers(), 10.0, "no process left after down")
    assert not stack.socket.exists()


def test_concurrent_ups_start_one_daemon_and_one_instance_each(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port)})
    command = [sys.executable, "-m", "devstack.cli.main", "up", "-d", "--wait"]
    ups = [
        subprocess.Popen(
            command,
            cwd=stack.root,
            env=stack.cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [up.communicate(timeout=30) for up in ups]
    results = [(up.returncode, out, err) for up, (out, err) in zip(ups, outputs, strict=True)]
    assert all(code == 0 for code, _, _ in results), results
    assert len(stack.daemons()) == 1
    assert _instances(stack) == {"a": 1, "b": 1}
    assert all(s["state"] == "running" for s in stack.services().values())


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
    pids = stack.pids()

    # An invalid edit is refused, located, and leaves the running stack alone.
    stack.write_text(stack.manifest.read_text().replace("http: /health", "http: health"))
    refused = stack.run("up", "-d", "--wait")
    assert refused.returncode == 2, refused
    assert "devstack.yaml:" in refused.stderr
    assert "healthcheck" in refused.stderr
    assert stack.pids() == pids
