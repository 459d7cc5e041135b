"""The UI outlives its daemon: a real daemon killed under a running UI, then a new one
started by `devstack up`, and the same UI shows the new daemon's stack without a restart.

The fast reconnect tests (test_tui_app.py) end a fake client's stream; this one kills a real
daemon (SIGKILL: the services keep running, as after a crash) and restarts it for real.
"""

from __future__ import annotations

import asyncio
import os
import signal

from tui_pilot import SIZE, run, until

from devstack.api.client import Client
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from helpers import Stack, alive, service, wait_for


def title(app: DevstackApp) -> str:
    """The title bar's text, as the user reads it."""
    return str(app.query_one("#title").render())


def test_the_ui_reconnects_to_a_restarted_daemon(stack: Stack) -> None:
    stack.write({"web": service("web", health=False)})
    stack.up()
    (old_daemon,) = stack.daemons()
    web_pid = stack.live()["web"]["pid"]

    async def scenario() -> None:
        app = DevstackApp(Client(stack.socket, timeout=30), StackInfo())
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: app.connected and (app.status or {}).get("daemon_pid") == old_daemon,
                "the first daemon's status",
            )
            assert "● connected" in title(app)

            os.kill(old_daemon, signal.SIGKILL)
            await until(pilot, lambda: not app.connected, "the UI to notice the lost daemon")
            assert "○" in title(app), title(app)
            wait_for(lambda: not alive(old_daemon), 10.0, "the old daemon to die")

            # A new daemon, as a user would start one (in a thread: the UI keeps running).
            await asyncio.to_thread(stack.ok, "up", "-d")
            (new_daemon,) = stack.daemons()
            assert new_daemon != old_daemon
            await until(
                pilot,
                lambda: app.connected and (app.status or {}).get("daemon_pid") == new_daemon,
                "the UI to show the new daemon's status",
                timeout=30.0,
            )
            assert "● connected" in title(app), title(app)
            assert "web" in app.services_view.table.shown_keys
            await pilot.press("q")

    run(scenario)
    # The service ran through it all: the new daemon re-adopted it, nothing restarted.
    assert stack.live()["web"]["pid"] == web_pid
