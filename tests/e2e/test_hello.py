"""The example stack, as a user meets it: stacks/hello copied into a temporary folder.

Its ports (8000 and 8001) are fixed by the example, so the module is skipped when either
is taken (another copy of the example running, for instance).
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from helpers import Stack, listening_addresses, port_busy, wait_for

HELLO = Path(__file__).resolve().parents[2] / "stacks" / "hello"
PORTS = (8000, 8001)
FILES = ("devstack.yaml", ".env", "greeter.py", "front.py")

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        any(port_busy(p) for p in PORTS), reason="port 8000 or 8001 is busy on 127.0.0.1"
    ),
]


@pytest.fixture
def hello(hello_ports: None, stack: Stack) -> Stack:
    for name in FILES:
        shutil.copy2(HELLO / name, stack.root / name)
    return stack


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def test_hello_stack_end_to_end(hello: Stack) -> None:
    hello.up()

    status = hello.status()
    assert {"stack", "environment", "services"} <= status.keys()
    assert status["stack"] == "hello"
    assert status["environment"] == "dev"
    keys = {"name", "runtime", "state", "health", "restarts", "pid", "ports", "spec_hash"}
    for entry in status["services"]:
        assert keys <= entry.keys(), entry
    services = {s["name"]: s for s in status["services"]}
    assert set(services) == {"greeter", "front"}
    assert services["greeter"]["ports"] == [8000]
    assert services["front"]["ports"] == [8001]
    for entry in services.values():
        assert entry["runtime"] == "process"
        assert entry["state"] == "running"
        assert entry["health"] == "healthy"
        assert entry["restarts"] == 0
        assert isinstance(entry["pid"], int)
        assert entry["spec_hash"]
    for port in PORTS:
        assert listening_addresses(port) == {"127.0.0.1"}

    assert _get("http://127.0.0.1:8001/")["greeter_says"] == "hello, world"

    assert "nothing to do" in hello.ok("up", "--dry-run").stdout

    config = json.loads(hello.ok("config", "show", "greeter", "--json").stdout)
    variables = {v["name"]: v for v in config["variables"]}
    assert variables["MESSAGE"]["value"] == "hello, world"
    assert variables["MESSAGE"]["source"].startswith("devstack.yaml:")
    assert "services.greeter.env" in variables["MESSAGE"]["source"]
    assert variables["LOG_LEVEL"]["source"].startswith(".env:")

    pids = hello.pids()
    hello.up("--env", "staging")
    assert hello.status()["environment"] == "staging"
    assert _get("http://127.0.0.1:8001/")["greeter_says"] == "bonjour, world"
    assert hello.pids()["greeter"] != pids["greeter"]
    assert "nothing to do" in hello.ok("up", "--dry-run").stdout  # stays on staging
    staging = json.loads(hello.ok("config", "show", "greeter", "--json").stdout)
    assert staging["environment"] == "staging"

    logs = hello.ok("logs", "greeter").stdout
    assert "greeter listening on 127.0.0.1:8000" in logs

    hello.ok("down")
    wait_for(lambda: not hello.leftovers(), 10.0, "no process of the stack after down")
    assert not hello.socket.exists()
    assert not any(port_busy(p) for p in PORTS)
