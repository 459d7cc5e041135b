"""A crashed or crash-looping service says why: its exit code and the last line it printed."""

from __future__ import annotations

import json
import sys

import pytest

from helpers import Stack, wait_for

pytestmark = pytest.mark.timeout(90)

CRASH = (
    "import sys\n"
    "print('loading config', flush=True)\n"
    "print('Traceback (most recent call last):', file=sys.stderr)\n"
    "print('ValueError: bad config   ', file=sys.stderr)\n"
    "print('', file=sys.stderr, flush=True)\n"
    "sys.exit(3)\n"
)
WANTED = "exited with code 3: ValueError: bad config"


def test_a_crashing_service_shows_its_exit_code_and_last_line(stack: Stack) -> None:
    stack.write(
        {
            "looping": {"command": [sys.executable, "-c", CRASH]},  # on-failure: restarts
            "crashed": {"command": [sys.executable, "-c", CRASH], "restart": "no"},
        }
    )
    stack.ok("up", "-d")
    wait_for(
        lambda: (s := stack.live()["crashed"])["state"] == "exited" and s["reason"] == WANTED,
        30.0,
        "crashed to be exited with its reason",
    )
    looping = wait_for(
        lambda: (s := stack.live()["looping"])["state"] == "restarting" and s["reason"],
        30.0,
        "looping to be restarting with a reason",
    )
    assert looping == WANTED

    as_json = {s["name"]: s for s in json.loads(stack.ok("status", "--json").stdout)["services"]}
    assert as_json["crashed"]["reason"] == WANTED
    table = stack.ok("status").stdout
    assert f"crashed: {WANTED}" in table, table
