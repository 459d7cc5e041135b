"""A tcp healthcheck of a host process names its declared port; replica k is probed on its own."""

from __future__ import annotations

import sys

import pytest

from helpers import Stack, free_port, wait_for

pytestmark = pytest.mark.timeout(90)

FAST = {"interval": "200ms", "start_interval": "50ms", "retries": 2, "start_period": "1s"}


def _listener(port: int, only_declared: bool) -> list[str]:
    """Serve HTTP on $PORT; with `only_declared`, only the replica whose PORT is `port`."""
    serve = f'exec {sys.executable} -m http.server "$PORT" --bind 127.0.0.1'
    script = f'if [ "$PORT" = "{port}" ]; then {serve}; else exec sleep 600; fi'
    return ["sh", "-c", script if only_declared else serve]


def test_tcp_check_probes_each_process_replica_on_its_own_port(stack: Stack) -> None:
    good, half = free_port(), free_port()
    stack.write(
        {
            # Both replicas listen, each on its own PORT: both turn healthy.
            "good": {
                "command": _listener(good, only_declared=False),
                "ports": [str(good)],
                "replicas": 2,
                "healthcheck": {"tcp": good, **FAST},
            },
            # Replica 1 listens nowhere: it must not pass for healthy because replica 0
            # listens on the declared port (what a probe of the declared port would see).
            "half": {
                "command": _listener(half, only_declared=True),
                "ports": [str(half)],
                "replicas": 2,
                "healthcheck": {"tcp": half, **FAST},
            },
        }
    )
    stack.ok("up", "-d")

    def events(name: str) -> list[str]:
        return [line for line in stack.ok("logs", name).stdout.splitlines() if " is " in line]

    wait_for(
        lambda: sum("good is healthy" in e for e in events("good")) == 2,
        30.0,
        "both replicas of good healthy",
    )
    wait_for(
        lambda: any("half is unhealthy" in e for e in events("half")), 30.0, "half#1 unhealthy"
    )
    assert not any("unhealthy" in e for e in events("good")), events("good")
    assert sum("half is healthy" in e for e in events("half")) == 1, events("half")
