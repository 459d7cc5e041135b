"""The TUI on a real daemon: a crashed service's detail line says why (exit and last line)."""

from __future__ import annotations

import sys

from textual.widgets import Static
from tui_pilot import SIZE, run, until

from devstack.api.client import Client
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from helpers import Stack

CRASH = "import sys\nprint('ValueError: bad config', flush=True)\nsys.exit(3)\n"


def test_the_detail_line_shows_why_a_service_stopped(stack: Stack) -> None:
    stack.write({"crashed": {"command": [sys.executable, "-c", CRASH], "restart": "no"}})
    stack.ok("up", "-d")

    async def scenario() -> str:
        app = DevstackApp(Client(stack.socket, timeout=30), StackInfo(environments=("dev",)))
        async with app.run_test(size=SIZE) as pilot:
            detail = app.services_view.query_one("#service-detail", Static)
            await until(
                pilot,
                lambda: "ValueError: bad config" in str(detail.render()),
                "the reason on the detail line",
            )
            shown = str(detail.render())
            await pilot.press("q")
        return shown

    assert "exited with code 3: ValueError: bad config" in run(scenario)
