"""Snapshots of every view and dialog at 80x24, fed fixed data by the fake client.

Deterministic: fixed status, backing and log data, a fixed clock for uptimes, no
timestamps; nothing live (pids, ports, times) reaches the screen. Update them with
`pytest tests/tui/test_tui_snapshots.py --snapshot-update` and look at the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot
from tui_fakes import NOW, FakeClient
from tui_pilot import SIZE, until

from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from devstack.tui.screens.dialog import PreviewDialog
from devstack.tui.screens.help import HelpScreen

Compare = Callable[..., bool]


def make_app(fake: FakeClient) -> DevstackApp:
    info = StackInfo(environments=("dev", "staging", "prod"), providers={"staging-aws": "aws"})
    return DevstackApp(fake, info, clock=lambda: NOW)


def prepared(
    app: DevstackApp, then: Callable[[Pilot[Any]], Awaitable[None]] | None = None
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: app.status is not None and app.backing, "the snapshots")
        await until(pilot, lambda: len(app.logs_view.lines) >= 10, "the log backlog")
        if then is not None:
            await then(pilot)
        # Let the last update's layout and refresh happen before the screenshot is taken.
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    return run_before


def test_services_view(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)
    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app))


def test_services_view_sorted_by_state(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def sort(pilot: Pilot[Any]) -> None:
        app.services_view.table.sort_by("state")
        app.services_view.table.select_key("mailer")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, sort))


def test_logs_view(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def logs(pilot: Pilot[Any]) -> None:
        await pilot.press("2")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, logs))


def test_logs_view_filtered(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def logs(pilot: Pilot[Any]) -> None:
        await pilot.press("2", "slash", *"order|error", "enter", "p")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, logs))


def test_config_view(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def config(pilot: Pilot[Any]) -> None:
        app.services_view.table.select_key("api")
        await pilot.press("c")
        table = app.config_view.table
        await until(pilot, lambda: table.row_count == 5, "api's config")
        # DataTable sizes its columns on a later refresh: wait for the widest value to fit.
        await until(
            pilot, lambda: max(c.content_width for c in table.columns.values()) > 30, "widths"
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, config))


def test_backing_view(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def backing(pilot: Pilot[Any]) -> None:
        await pilot.press("4")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, backing))


def test_swap_dialog(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def swap(pilot: Pilot[Any]) -> None:
        await pilot.press("4", "w")
        await until(pilot, lambda: isinstance(app.screen, PreviewDialog), "the dialog")
        await pilot.press("down", "down")
        screen = app.screen
        assert isinstance(screen, PreviewDialog)
        await until(pilot, lambda: screen.choice == "moto" and screen.preview, "moto's preview")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, swap))


def test_restore_dialog(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def restore(pilot: Pilot[Any]) -> None:
        await pilot.press("4", "r")
        await until(pilot, lambda: isinstance(app.screen, PreviewDialog), "the dialog")
        screen = app.screen
        assert isinstance(screen, PreviewDialog)
        await until(pilot, lambda: screen.choice == "seeded" and screen.preview, "the counts")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, restore))


def test_environment_dialog(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def environment(pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, PreviewDialog), "the dialog")
        screen = app.screen
        assert isinstance(screen, PreviewDialog)
        await until(pilot, lambda: screen.preview is not None, "the plan")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, environment))


def test_help_screen(snap_compare: Compare, fake: FakeClient) -> None:
    app = make_app(fake)

    async def show_help(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, show_help))


def test_config_view_opens_on_the_selection_with_the_footer_fitting(
    snap_compare: Compare, fake: FakeClient
) -> None:
    """`3` with api selected: its config, not "pick a service"; the footer ends in `q Quit`."""
    app = make_app(fake)

    async def config(pilot: Pilot[Any]) -> None:
        app.services_view.table.select_key("api")
        await pilot.press("3")
        table = app.config_view.table
        await until(pilot, lambda: table.row_count == 5, "api's config")
        await until(
            pilot, lambda: max(c.content_width for c in table.columns.values()) > 30, "widths"
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=prepared(app, config))
