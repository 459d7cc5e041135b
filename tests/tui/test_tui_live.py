"""The TUI on real daemons running real host-process services, driven with Textual's Pilot.

Every action goes through the real API client to a real daemon; what changed is checked
on the daemon (pids, states, environment), not only on screen.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import OptionList
from tui_pilot import SIZE, cell_text, run, until

from devstack.api.client import Client
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from devstack.tui.screens.environment import EnvironmentDialog
from devstack.tui.screens.swap import SwapDialog
from helpers import Stack, free_port, service


def app_for(stack: Stack, environments: tuple[str, ...] = ("dev",)) -> DevstackApp:
    return DevstackApp(Client(stack.socket, timeout=30), StackInfo(environments=environments))


def state(app: DevstackApp, name: str) -> str:
    table = app.services_view.table
    return cell_text(table.get_cell(name, "state")) if name in table.shown_keys else ""


def live(stack: Stack, name: str) -> dict[str, Any]:
    return stack.live()[name]


def restarted(stack: Stack, name: str, old_pid: int | None) -> bool:
    now = live(stack, name)
    return now["state"] == "running" and now["pid"] not in (None, old_pid)


def shown_lines(app: DevstackApp) -> list[str]:
    return list(app.logs_view.log_widget.lines)


def test_services_view_shows_every_service_running_and_quitting_leaves_them(
    stack: Stack,
) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            table = app.services_view.table
            await until(pilot, lambda: set(table.shown_keys) == {"web", "jobs"}, "both services")
            await until(
                pilot,
                lambda: state(app, "web") == state(app, "jobs") == "running",
                "both running",
            )
            assert cell_text(table.get_cell("web", "health")) == "healthy"
            assert app.connected
            await pilot.press("q")

    pids = stack.pids()
    run(scenario)
    assert {n: s["state"] for n, s in stack.live().items()} == {"web": "running", "jobs": "running"}
    assert stack.pids() == pids


def test_r_restarts_exactly_the_selected_service(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()
    before = stack.pids()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: state(app, "jobs") == "running", "jobs running")
            assert app.services_view.table.select_key("jobs")
            await pilot.press("r")
            await until(pilot, lambda: restarted(stack, "jobs", before["jobs"]), "a new jobs pid")
            await until(
                pilot, lambda: str(live(stack, "jobs")["pid"]) in detail(app), "new pid shown"
            )

    def detail(app: DevstackApp) -> str:
        return str(app.services_view.query_one("#service-detail").render())

    run(scenario)
    after = stack.pids()
    assert after["web"] == before["web"]
    assert after["jobs"] != before["jobs"]


def test_x_stops_the_selected_service_and_starts_it_again(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()
    before = stack.pids()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: state(app, "web") == "running", "web running")
            assert app.services_view.table.select_key("web")
            await pilot.press("x")
            await until(pilot, lambda: live(stack, "web")["state"] == "stopped", "web stopped")
            await until(pilot, lambda: state(app, "web") == "stopped", "web shown stopped")
            assert live(stack, "jobs")["pid"] == before["jobs"]
            await pilot.press("x")
            await until(pilot, lambda: restarted(stack, "web", before["web"]), "web running again")
            await until(pilot, lambda: state(app, "web") == "running", "web shown running")

    run(scenario)


def test_logs_view_shows_the_lines_and_filters_them(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await until(
                pilot,
                lambda: (
                    any("web: started pid=" in line for line in shown_lines(app))
                    and any("jobs: started pid=" in line for line in shown_lines(app))
                ),
                "both services' first lines",
            )
            await pilot.press("slash", *"to stderr", "enter")
            await until(pilot, lambda: len(shown_lines(app)) == 2, "the filtered lines")
            assert all(line.endswith("to stderr") for line in shown_lines(app))
            await pilot.press("escape")
            await pilot.press("slash", *"^(web|jobs): started", "enter")  # a regex
            await until(pilot, lambda: len(shown_lines(app)) == 2, "the regex")
            await pilot.press("escape")

            # enter on a service: its logs only
            await pilot.press("1")
            assert app.services_view.table.select_key("jobs")
            await pilot.press("enter")
            assert app.view == "logs"
            lines = shown_lines(app)
            assert lines and all(line.startswith("jobs ") for line in lines), lines

    run(scenario)


def test_config_view_masks_a_secret_and_v_reveals_it(stack: Stack) -> None:
    stack.write({"web": service("web", env={"API_TOKEN": "s3cr3t-ui", "MODE": "fast"})})
    stack.up()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: state(app, "web") == "running", "web running")
            await pilot.press("c")
            table = app.config_view.table
            await until(pilot, lambda: "API_TOKEN" in table.shown_keys, "web's config")
            assert cell_text(table.get_cell("API_TOKEN", "value")) == "********"
            assert cell_text(table.get_cell("MODE", "value")) == "fast"
            assert "devstack.yaml" in cell_text(table.get_cell("MODE", "source"))
            await pilot.press("v")
            await until(
                pilot,
                lambda: cell_text(table.get_cell("API_TOKEN", "value")) == "s3cr3t-ui",
                "the secret revealed",
            )

    run(scenario)


def test_command_palette_restarts_a_service(stack: Stack) -> None:
    stack.write({"web": service("web", port=free_port()), "jobs": service("jobs")})
    stack.up()
    before = stack.pids()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: state(app, "web") == "running", "web running")
            await pilot.press("ctrl+p", *"Restart web")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: restarted(stack, "web", before["web"]), "a new web pid")

    run(scenario)
    assert stack.pids()["jobs"] == before["jobs"]


def test_environment_switch_previews_the_plan_then_applies_it(stack: Stack) -> None:
    stack.write(
        {"web": service("web", env={"MESSAGE": "${GREETING:-hi}"}), "jobs": service("jobs")},
        environments={"staging": {"vars": {"GREETING": "bonjour"}}},
    )
    stack.up()
    before = stack.pids()

    async def scenario() -> None:
        app = app_for(stack, environments=("dev", "staging"))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: state(app, "web") == "running", "web running")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, EnvironmentDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, EnvironmentDialog)
            await until(pilot, lambda: dialog.preview is not None, "the plan")
            assert dialog.choice == "staging"
            plan = str(dialog.preview["text"])  # type: ignore[index]
            assert "restart service:web" in plan
            assert "env.MESSAGE" in plan  # the plan says why
            assert stack.pids() == before  # a preview changes nothing
            await pilot.press("enter", "enter")
            await until(pilot, lambda: stack.live() and app_env(app) == "staging", "staging")
            await until(pilot, lambda: restarted(stack, "web", before["web"]), "web restarted")

    def app_env(app: DevstackApp) -> str:
        return str((app.status or {}).get("environment"))

    run(scenario)
    assert stack.status()["environment"] == "staging"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # boto3/moto, as in test_backing
def test_backing_view_swaps_a_provider_with_preview_and_confirm_then_undoes_it(
    stack: Stack,
) -> None:
    pytest.importorskip("ministack", reason="MiniStack is not installed")
    pytest.importorskip("moto.server", reason="moto is not installed")
    stack.write(
        {"api": service("api", uses=["uploads"]), "plain": service("plain")},
        backing={"uploads": {"kind": "s3", "bucket": "t-ui"}},
    )
    stack.up()
    before = stack.pids()

    async def scenario() -> None:
        app = app_for(stack)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            table = app.backing_view.table
            await until(pilot, lambda: "uploads" in table.shown_keys, "the backing row")
            assert cell_text(table.get_cell("uploads", "provider")) == "ministack"
            assert cell_text(table.get_cell("uploads", "consumers")) == "api"
            assert cell_text(table.get_cell("uploads", "resources")) == "t-ui"
            assert cell_text(table.get_cell("uploads", "state")) == "provisioned"

            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, SwapDialog), "the swap dialog")
            dialog = app.screen
            assert isinstance(dialog, SwapDialog)
            options = dialog.query_one(OptionList)
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert ids == ["localstack", "ministack", "moto"]
            await pilot.press("down", "down")
            await until(
                pilot, lambda: dialog.choice == "moto" and dialog.preview is not None, "preview"
            )
            text = preview_text(dialog)
            assert "uploads: ministack -> moto" in text
            assert "restarts: api" in text
            assert "AWS_ENDPOINT_URL_S3" in text
            assert "plain" not in text
            assert stack.pids() == before  # a preview changes nothing
            await pilot.press("enter", "enter")  # to Apply, apply

            await until(pilot, lambda: restarted(stack, "api", before["api"]), "api restarted", 60)
            await until(
                pilot,
                lambda: cell_text(table.get_cell("uploads", "provider")) == "moto (swapped)",
                "the swap shown",
            )
            await until(pilot, lambda: "moto" in app.services_view.table.shown_keys, "moto shown")
            assert stack.pids()["plain"] == before["plain"]

            swapped_pid = live(stack, "api")["pid"]
            await pilot.press("u")
            await until(pilot, lambda: isinstance(app.screen, SwapDialog), "the undo dialog")
            undo = app.screen
            assert isinstance(undo, SwapDialog)
            await until(pilot, lambda: undo.preview is not None, "the undo preview")
            assert "uploads: moto -> ministack" in preview_text(undo)
            await pilot.click("#apply")
            await until(pilot, lambda: restarted(stack, "api", swapped_pid), "api back", 60)
            await until(
                pilot,
                lambda: cell_text(table.get_cell("uploads", "provider")) == "ministack",
                "the undo shown",
            )

    def preview_text(dialog: SwapDialog) -> str:
        return str(dialog.query_one("#preview-text").render())

    run(scenario)
    assert stack.pids()["plain"] == before["plain"]


def test_ui_without_a_daemon_fails_with_one_line(stack: Stack) -> None:
    stack.write({"web": service("web")})
    result = stack.run("ui")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no devstack daemon is running for ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_ui_outside_a_terminal_fails_with_one_line_and_leaves_the_stack(stack: Stack) -> None:
    stack.write({"web": service("web")})
    stack.up()
    pids = stack.pids()
    result = stack.run("ui")  # stdin is /dev/null, output is captured: no terminal
    assert result.returncode == 2
    assert result.stderr.startswith("error: devstack ui needs a terminal")
    assert len(result.stderr.strip().splitlines()) == 1
    assert stack.pids() == pids
