"""Compose's profiles on a real daemon: `up --profile NAME` starts a profiled service,
a plain `up` (no profile enabled) stops it again, an unknown profile is one line."""

from __future__ import annotations

import pytest

from helpers import Stack, free_ports, service

pytestmark = pytest.mark.timeout(60)


def test_up_profile_starts_a_profiled_service_and_a_plain_up_stops_it(stack: Stack) -> None:
    api_port, debug_port = free_ports(2)
    stack.write(
        {
            "api": service("api", port=api_port),
            "debug": {**service("debug", port=debug_port), "profiles": ["debug"]},
        }
    )

    stack.up()
    assert stack.services()["api"]["state"] == "running"
    assert stack.services()["debug"]["state"] != "running"

    stack.up("--profile", "debug")
    assert stack.services()["debug"]["state"] == "running"

    stack.up()  # enables exactly no profile, as `docker compose up` without --profile
    assert stack.services()["debug"]["state"] != "running"
    assert stack.services()["api"]["state"] == "running"

    unknown = stack.run("up", "-d", "--profile", "nope")
    assert unknown.returncode != 0
    assert "no service has profile nope (profiles: debug)" in unknown.stderr
    assert "Traceback" not in unknown.stderr
