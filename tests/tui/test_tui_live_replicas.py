"""Scaling from the UI on a real daemon running real host processes, driven with Pilot.

What changed is checked on the daemon and in /proc (instances, pids), not only on screen.
"""

from __future__ import annotations

import pytest
from tui_pilot import SIZE, cell_text, run, until

from devstack.api.client import Client
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from helpers import Stack, free_port, service

pytestmark = pytest.mark.timeout(120)


def instances(stack: Stack, name: str) -> dict[int, int]:
    """replica -> pid of the running instances of `name` (their process-group leaders)."""
    found = {}
    for pid, owner in stack.group_leaders().items():
        _, service_name, replica, _ = owner.split(":")
        if service_name == name:
            found[int(replica)] = pid
    return found


def test_plus_and_minus_scale_the_selected_service_on_the_daemon(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()
    web_pid = stack.pids()["web"]
    first = instances(stack, "jobs")
    assert sorted(first) == [0]

    async def scenario() -> None:
        app = DevstackApp(Client(stack.socket, timeout=30), StackInfo())

        def shown(name: str) -> str:
            table = app.services_view.table
            return cell_text(table.get_cell(name, "replicas")) if name in table.shown_keys else ""

        def log_names() -> set[str]:
            return {line.split(" | ")[0].strip() for line in app.logs_view.log_widget.lines}

        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: shown("jobs") == "1/1", "jobs shown with 1/1")
            assert app.services_view.table.select_key("jobs")
            await pilot.press("plus", "plus")
            await until(pilot, lambda: sorted(instances(stack, "jobs")) == [0, 1, 2], "3 jobs")
            await until(pilot, lambda: shown("jobs") == "3/3", "jobs shown with 3/3")
            assert stack.live()["jobs"]["replicas"] == 3

            # Each replica logs under its own name; the filter finds it by that name (the
            # regex is anchored: the events that mention jobs#2 are jobs's own lines).
            await pilot.press("2", "slash", *"^jobs#2$", "enter")
            await until(pilot, lambda: log_names() == {"jobs#2"}, "only jobs#2's lines")

            await pilot.press("escape", "1")
            assert app.services_view.table.select_key("jobs")
            await pilot.press("minus", "minus")
            await until(pilot, lambda: sorted(instances(stack, "jobs")) == [0], "one job left")
            await until(pilot, lambda: shown("jobs") == "1/1", "jobs shown with 1/1 again")

    run(scenario)
    assert instances(stack, "jobs") == first, "scaling restarted the first replica"
    assert stack.pids()["web"] == web_pid, "scaling jobs touched web"


def test_a_replicas_lines_in_the_logs_view_are_its_own(stack: Stack) -> None:
    stack.write({"jobs": service("jobs", replicas=3)})
    stack.up()
    pids = instances(stack, "jobs")
    assert sorted(pids) == [0, 1, 2]

    async def scenario() -> None:
        app = DevstackApp(Client(stack.socket, timeout=30), StackInfo())

        def started() -> list[str]:
            return [line for line in app.logs_view.log_widget.lines if "started pid=" in line]

        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2", "slash", *"^jobs#2$", "enter")
            await until(pilot, started, "jobs#2's first line")
            await pilot.pause(0.5)  # any other replica's lines would be in by now
            assert [line.split("pid=")[1] for line in started()] == [str(pids[2])]

    run(scenario)
