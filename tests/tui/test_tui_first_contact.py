"""First contact at 80x24: q quits from any screen, the footer fits, Config opens on the selection."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input
from textual.widgets._footer import FooterKey
from tui_fakes import NOW, FakeClient
from tui_pilot import SIZE, run, until

from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from devstack.tui.screens.dialog import PreviewDialog
from devstack.tui.screens.help import HelpScreen


def make_app(fake: FakeClient) -> DevstackApp:
    info = StackInfo(environments=("dev", "staging"), providers={"staging-aws": "aws"})
    return DevstackApp(fake, info, clock=lambda: NOW)


async def loaded(pilot: Any, app: DevstackApp) -> None:
    await until(pilot, lambda: app.status is not None and app.backing, "the first snapshots")


async def open_help(pilot: Any, app: DevstackApp) -> None:
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")


async def open_environment(pilot: Any, app: DevstackApp) -> None:
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, PreviewDialog), "the environment dialog")


async def logs_then_help(pilot: Any, app: DevstackApp) -> None:
    await pilot.press("2")
    await open_help(pilot, app)


SCREENS = {
    "services": None,
    "logs": "2",
    "config": "3",
    "backing": "4",
    "help": open_help,
    "help over logs": logs_then_help,
    "environment dialog": open_environment,
}


@pytest.mark.parametrize("where", list(SCREENS))
def test_q_quits_from_any_screen(fake: FakeClient, where: str) -> None:
    async def scenario() -> bool:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            how = SCREENS[where]
            if isinstance(how, str):
                await pilot.press(how)
            elif how is not None:
                await how(pilot, app)
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, f"q to quit from {where}")
        return app.is_running

    assert run(scenario) is False


@pytest.mark.parametrize("view", ["1", "2", "3", "4"])
def test_the_footer_shows_env_help_and_quit_at_80_columns(fake: FakeClient, view: str) -> None:
    async def scenario() -> list[str]:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press(view)
            await pilot.pause(0.2)  # the footer recomposes for the new focus
            width = app.size.width
            return [
                key.key_display or key.key
                for key in app.screen.query(FooterKey)
                if key.region.width and key.region.right <= width
            ]

    shown = run(scenario)
    assert {"e", "?", "q"} <= set(shown), shown


def test_config_opens_on_the_service_selected_in_services(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("worker")
            await pilot.press("3")
            await until(pilot, lambda: app.config_view.service == "worker", "worker's config")
            assert fake.called("config")[-1] == {"service": "worker", "show_secrets": False}
            assert app.config_view.config is not None  # not "pick a service"

            # Back to Services, another selection: the Config view follows it.
            await pilot.press("1")
            assert app.services_view.table.select_key("api")
            await pilot.press("3")
            await until(pilot, lambda: app.config_view.service == "api", "api's config")
            # `c` asks once, not once for the key and once more for the view opening.
            calls = len(fake.called("config"))
            await pilot.press("1")
            assert app.services_view.table.select_key("worker")
            await pilot.press("c")
            await until(pilot, lambda: app.config_view.service == "worker", "worker again")
            await pilot.pause(0.2)
            assert len(fake.called("config")) == calls + 1

    run(scenario)


def test_q_in_a_text_field_is_a_letter(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("4", "w")
            await until(pilot, lambda: isinstance(app.screen, PreviewDialog), "the swap dialog")
            field = app.screen.query_one("#provider", Input)
            field.focus()
            await pilot.press("q")
            await pilot.pause(0.1)
            assert app.is_running and field.value == "q"

    run(scenario)
