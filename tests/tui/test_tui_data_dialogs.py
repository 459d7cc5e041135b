"""The data dialogs on the fake client: what they send the daemon, what they show while
and after it works, and how a refusal reads (the real daemon: test_tui_live_data.py)."""

from __future__ import annotations

from typing import Any

from test_tui_app import loaded, make_app
from textual.widgets import Button, Checkbox, Input
from tui_fakes import FakeClient
from tui_pilot import SIZE, run, until

from devstack.api.client import ApiError
from devstack.tui.screens.data import RestoreDialog, SnapshotDialog


def text(widget: Any) -> str:
    return str(widget.render())


def test_s_sends_the_selected_backing_and_the_name_and_shows_the_outcome(
    fake: FakeClient,
) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("4")
            assert app.backing_view.table.select_key("jobs")
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SnapshotDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, SnapshotDialog)
            assert not dialog.query("#secrets")  # sqs: no secret values
            dialog.query_one("#messages", Checkbox).value = True
            dialog.query_one("#snapshot-name", Input).value = "mine"
            await pilot.click("#apply")
            await until(pilot, lambda: dialog.result is not None, "the outcome")
            assert fake.called("snapshot") == [
                {"name": "mine", "backings": ["jobs"], "include_messages": True}
            ]
            shown = text(dialog.query_one("#run-status"))
            assert shown.startswith("snapshot mine: 3 item(s) of 1 backing service(s)")
            assert dialog.query_one("#cancel", Button).label.plain == "Close"
            assert any(t[2].startswith("snapshot mine: 3 item(s)") for t in app.toasts)

    run(scenario)


def test_r_previews_then_restores_and_a_failure_reads_as_one_line(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("4", "r")
            await until(pilot, lambda: isinstance(app.screen, RestoreDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, RestoreDialog)
            await until(pilot, lambda: dialog.preview is not None, "the counts")
            assert fake.called("restore") == [
                {"name": "seeded", "backings": ["uploads"], "dry_run": True}
            ]
            fake.failures["restore"] = ApiError(409, "uploads: cannot reach it", [])
            await pilot.press("enter", "enter")
            await until(pilot, lambda: dialog.error is not None, "the refusal")
            assert isinstance(app.screen, RestoreDialog)  # still open: the error is in it
            assert text(dialog.query_one("#run-status")) == "error: uploads: cannot reach it"
            assert ("error", "restore uploads from seeded failed", "uploads: cannot reach it") in (
                app.toasts
            )

    run(scenario)


def test_r_without_a_snapshot_of_the_backing_says_how_to_take_one(fake: FakeClient) -> None:
    fake.snapshots = list  # type: ignore[method-assign]

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("4", "r")
            await until(pilot, lambda: app.toasts, "a toast")
            assert app.toasts == [("warning", "", "no snapshot holds uploads: take one with `s`")]
            assert not isinstance(app.screen, RestoreDialog)

    run(scenario)
