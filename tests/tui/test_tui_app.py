"""The TUI against a fake client: views, keys, dialogs, errors, the palette, the mouse.

Fast and deterministic; `test_tui_live.py` proves the same actions on real daemons.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from textual.binding import Binding
from textual.widgets import Button, Checkbox, Input, OptionList, Static
from tui_fakes import NOW, STATUS, FakeClient, log, svc
from tui_pilot import SIZE, cell_text, run, until

from devstack.api.client import ApiError
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp
from devstack.tui.messages import LogBatch
from devstack.tui.screens.dialog import PreviewDialog
from devstack.tui.screens.environment import EnvironmentDialog
from devstack.tui.screens.help import HelpScreen
from devstack.tui.screens.swap import SwapDialog
from devstack.tui.widgets.backing import BackingView
from devstack.tui.widgets.config import ConfigView
from devstack.tui.widgets.logs import LogsView
from devstack.tui.widgets.services import ServicesTable, ServicesView


class RecordingApp(DevstackApp):
    """The app, with its toasts and log batches counted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.toasts: list[tuple[str, str, str]] = []
        self.batches = 0

    def notify(
        self, message: str, *, title: str = "", severity: Any = "information", **kwargs: Any
    ) -> None:  # type: ignore[override]
        self.toasts.append((severity, title, message))
        super().notify(message, title=title, severity=severity, **kwargs)

    def on_log_batch(self, message: LogBatch) -> None:
        # Textual also runs DevstackApp's handler (handlers run for each class in the MRO).
        self.batches += 1


def make_app(fake: FakeClient, **kwargs: Any) -> RecordingApp:
    info = StackInfo(environments=("dev", "staging"), providers={"staging-aws": "aws"})
    return RecordingApp(fake, info, clock=lambda: NOW, **kwargs)


async def loaded(pilot: Any, app: DevstackApp) -> None:
    await until(pilot, lambda: app.status is not None and app.backing, "the first snapshots")
    await until(pilot, lambda: len(app.logs_view.lines) >= 10, "the log backlog")


def select(app: DevstackApp, name: str) -> None:
    assert app.services_view.table.select_key(name)


def shown_lines(app: DevstackApp) -> list[str]:
    return list(app.logs_view.log_widget.lines)


# -- services --


def test_services_view_lists_every_service_with_coloured_states(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            table = app.services_view.table
            assert table.shown_keys == [s["name"] for s in STATUS["services"]]
            styles = {k: str(table.get_cell(k, "state").style) for k in table.shown_keys}
            assert styles["api"] == "green"
            assert styles["worker"] == styles["front"] == "yellow"
            assert "red" in styles["mailer"]
            assert styles["cron"] == "dim"
            assert cell_text(table.get_cell("api", "uptime")) == "1h02m"
            assert cell_text(table.get_cell("api", "uses")) == "uploads"
            assert cell_text(table.get_cell("worker", "uses")) == "uploads, jobs"
            assert cell_text(table.get_cell("api", "ports")) == "8080"

    run(scenario)


def test_the_cursor_stays_on_its_service_across_updates_and_sorting(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            table = app.services_view.table
            select(app, "mailer")
            reordered = copy.deepcopy(STATUS)
            reordered["services"].reverse()
            reordered["services"][0]["state"] = "running"
            fake.push({"type": "status", "status": reordered})
            await until(pilot, lambda: table.shown_keys[0] == "front", "the new order")
            assert table.selected_key == "mailer"

            await pilot.press("s")  # sort by name
            assert table.shown_keys == sorted(table.shown_keys)
            assert table.selected_key == "mailer"

            # A click on the STATE header sorts by state; a second click reverses.
            x = sum(c.get_render_width(table) for c in table.ordered_columns[:2]) + 2
            await pilot.click(ServicesTable, offset=(x, 0))
            await pilot.pause()
            states = [cell_text(table.get_cell(k, "state")) for k in table.shown_keys]
            assert states == sorted(states)
            await pilot.click(ServicesTable, offset=(x, 0))
            await pilot.pause()
            states = [cell_text(table.get_cell(k, "state")) for k in table.shown_keys]
            assert states == sorted(states, reverse=True)
            assert table.selected_key == "mailer"

    run(scenario)


def test_service_keys_call_the_api_for_the_selected_service(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            select(app, "api")
            await pilot.press("r")
            await until(pilot, lambda: fake.called("action"), "the restart call")
            select(app, "api")
            await pilot.press("x")
            select(app, "cron")
            await pilot.press("x")
            select(app, "worker")
            await pilot.press("b")
            await until(pilot, lambda: len(fake.called("action")) == 4, "stop, start, rebuild")
            assert fake.called("action") == [
                {"name": "api", "verb": "restart"},
                {"name": "api", "verb": "stop"},
                {"name": "cron", "verb": "start"},
                {"name": "worker", "verb": "rebuild"},
            ]
            await until(pilot, lambda: any("cron started" in t[2] for t in app.toasts), "a toast")

            select(app, "worker")
            await pilot.press("enter")
            assert app.view == "logs"
            assert app.logs_view.service == "worker"
            assert shown_lines(app) and all(line.startswith("worker") for line in shown_lines(app))

            await pilot.press("1")
            select(app, "api")
            await pilot.press("c")
            assert app.view == "config"
            await until(pilot, lambda: app.config_view.service == "api", "the config of api")

    run(scenario)


def test_an_api_error_is_a_toast_not_a_traceback(fake: FakeClient) -> None:
    fake.failures["action"] = ApiError(404, "unknown service 'api'", ["known: web"])

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            select(app, "api")
            await pilot.press("r")
            await until(pilot, lambda: any(t[0] == "error" for t in app.toasts), "an error toast")
            _, title, message = next(t for t in app.toasts if t[0] == "error")
            assert title == "restart api failed"
            assert message == "unknown service 'api'\nknown: web"
            assert app.is_running

    run(scenario)


# -- logs --


def test_logs_filter_by_service_and_text_or_regex(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("2")
            assert len(shown_lines(app)) == 10

            await pilot.press("slash")
            assert isinstance(app.focused, Input)
            await pilot.press(*"post|health")
            await until(pilot, lambda: len(shown_lines(app)) == 2, "the regex filter")
            assert [line.split(" | ")[1] for line in shown_lines(app)] == [
                "POST /orders 201",
                "GET /health 200",
            ]
            await pilot.press("enter")  # back to the lines, filter kept
            assert app.focused is app.logs_view.log_widget
            await pilot.press("escape")  # clears it
            await until(pilot, lambda: len(shown_lines(app)) == 10, "the filter cleared")

            await pilot.press("slash", *"[ministack", "enter")  # not a regex: plain text
            await until(pilot, lambda: len(shown_lines(app)) == 1, "the literal filter")
            await pilot.press("escape")

            await pilot.press("f")  # the first service
            assert app.logs_view.service == "ministack"
            assert all(line.startswith("ministack") for line in shown_lines(app))
            await pilot.press("t")
            assert all(" | 03:" in line or " | " in line for line in shown_lines(app))
            assert app.logs_view.timestamps

    run(scenario)


def test_paused_logs_keep_lines_and_catch_up_when_following_again(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("2", "p")
            fake.push(
                *({"type": "log", "line": log(100 + i, "api", f"late {i}")} for i in range(5))
            )
            await until(pilot, lambda: app.logs_view.unseen == 5, "5 unseen lines")
            assert len(shown_lines(app)) == 10
            await pilot.press("p")
            assert len(shown_lines(app)) == 15
            assert shown_lines(app)[-1].endswith("late 4")

    run(scenario)


def test_following_again_after_a_rerender_while_paused_shows_each_line_once(
    fake: FakeClient,
) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("2", "p")
            fake.push(
                *({"type": "log", "line": log(100 + i, "api", f"early {i}")} for i in range(5))
            )
            await until(pilot, lambda: app.logs_view.unseen == 5, "5 unseen lines")
            await pilot.press("t")  # timestamps on: re-renders while paused
            fake.push(
                *({"type": "log", "line": log(200 + i, "api", f"late {i}")} for i in range(3))
            )
            await until(pilot, lambda: app.logs_view.unseen == 3, "3 more unseen lines")
            await pilot.press("p")
            shown = shown_lines(app)
            assert len(shown) == 18
            assert [line.rsplit(" ", 2)[-2:] for line in shown[-8:]] == [
                *(["early", str(i)] for i in range(5)),
                *(["late", str(i)] for i in range(3)),
            ]

    run(scenario)


def test_log_lines_arrive_in_batches_and_memory_stays_bounded(fake: FakeClient) -> None:
    count = 30_000

    async def scenario() -> None:
        app = make_app(fake, log_limit=10_000)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("2")
            started = time.monotonic()
            fake.push(
                *({"type": "log", "line": log(1000 + i, "api", f"line {i}")} for i in range(count))
            )
            await until(
                pilot,
                lambda: shown_lines(app) and shown_lines(app)[-1].endswith(f"line {count - 1}"),
                "every line",
                timeout=60,
            )
            elapsed = time.monotonic() - started
            assert len(app.logs_view.lines) == 10_000
            assert app.logs_view.log_widget.line_count <= 10_000
            assert app.batches < count / 20, f"{app.batches} batches for {count} lines"
            assert elapsed < 30, f"{count} lines took {elapsed:.1f}s"

    run(scenario)


# -- config --


def test_config_masks_secrets_until_v(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            select(app, "api")
            await pilot.press("c")
            table = app.config_view.table
            await until(pilot, lambda: "API_TOKEN" in table.shown_keys, "the config")
            assert cell_text(table.get_cell("API_TOKEN", "value")) == "********"
            assert cell_text(table.get_cell("LOG_LEVEL", "source")) == ".env:2"
            await pilot.press("v")
            await until(
                pilot, lambda: cell_text(table.get_cell("API_TOKEN", "value")) == "s3cr3t", "reveal"
            )
            assert fake.called("config")[-1] == {"service": "api", "show_secrets": True}
            await pilot.press("v")
            await until(
                pilot, lambda: cell_text(table.get_cell("API_TOKEN", "value")) == "********", "mask"
            )

    run(scenario)


# -- backing and swaps --


async def open_swap(pilot: Any, app: DevstackApp, backing: str, key: str = "w") -> SwapDialog:
    await pilot.press("4")
    assert app.backing_view.table.select_key(backing)
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, SwapDialog), "the swap dialog")
    dialog = app.screen
    assert isinstance(dialog, SwapDialog)
    await until(pilot, lambda: dialog.preview is not None, "a preview")
    return dialog


def test_swap_dialog_previews_then_applies(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            dialog = await open_swap(pilot, app, "uploads")
            options = dialog.query_one(OptionList)
            labels = [
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            ]
            assert labels == ["localstack", "ministack (current)", "moto", "staging-aws"]
            assert fake.called("swap")[-1] == {
                "backing": "uploads",
                "provider": "localstack",
                "dry_run": True,
            }
            await pilot.press("down", "down")  # moto
            await until(pilot, lambda: dialog.choice == "moto" and dialog.preview, "moto's preview")
            assert fake.called("swap")[-1]["provider"] == "moto"
            await pilot.press("enter")  # on to Apply
            assert isinstance(app.focused, Button) and app.focused.id == "apply"
            await pilot.press("enter")
            await until(pilot, lambda: len(fake.called("swap")) >= 3, "the swap")
            assert fake.called("swap")[-1] == {"backing": "uploads", "provider": "moto"}
            await until(
                pilot, lambda: any("swapped uploads" in t[2] for t in app.toasts), "a toast"
            )
            assert not isinstance(app.screen, PreviewDialog)

    run(scenario)


def test_the_carry_choice_previews_what_is_copied_and_is_sent(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            dialog = await open_swap(pilot, app, "uploads")
            await pilot.press("down", "down")  # moto
            await until(pilot, lambda: dialog.choice == "moto" and dialog.preview, "moto's preview")
            assert "carry" not in fake.called("swap")[-1]
            dialog.query_one("#carry", Checkbox).value = True
            await until(pilot, lambda: fake.called("swap")[-1].get("carry"), "a carry preview")
            await until(pilot, lambda: dialog.preview and dialog.preview.get("carry"), "its answer")
            shown = str(dialog.query_one("#preview-text", Static).render())
            assert "carry uploads: would copy 3 item(s), 300 bytes ministack -> moto" in shown
            dialog.query_one("#apply", Button).press()
            await until(pilot, lambda: not fake.called("swap")[-1].get("dry_run"), "the swap")
            assert fake.called("swap")[-1] == {
                "backing": "uploads",
                "provider": "moto",
                "carry": True,
            }

    run(scenario)


def test_a_swap_to_something_real_needs_the_confirmation_ticked(fake: FakeClient) -> None:
    real = ["uploads: real AWS account (profile staging, eu-west-1)"]
    original = fake.swap

    def swap(**request: object) -> dict[str, Any]:
        answer = original(**request)
        answer["real"] = real
        return answer

    fake.swap = swap  # type: ignore[method-assign]

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            dialog = await open_swap(pilot, app, "uploads")
            await pilot.press("tab")  # to the provider name field
            assert isinstance(app.focused, Input)
            await pilot.press(*"staging-aws", "enter")
            await until(pilot, lambda: dialog.choice == "staging-aws" and dialog.preview, "preview")
            checkbox = dialog.query_one("#confirm-real", Checkbox)
            apply = dialog.query_one("#apply", Button)
            assert checkbox.display and apply.disabled
            assert app.focused is checkbox
            await pilot.press("space")
            assert not apply.disabled
            await pilot.click("#apply")
            await until(pilot, lambda: not fake.called("swap")[-1].get("dry_run"), "the swap")
            assert fake.called("swap")[-1] == {
                "backing": "uploads",
                "provider": "staging-aws",
                "confirm_real": True,
            }

    run(scenario)


def test_undo_previews_then_applies(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            dialog = await open_swap(pilot, app, "jobs", key="u")
            assert fake.called("swap")[-1] == {"backing": "jobs", "undo": True, "dry_run": True}
            await pilot.press("tab")  # the list-less dialog: tab to Apply
            await pilot.click("#apply")
            await until(pilot, lambda: not fake.called("swap")[-1].get("dry_run"), "the undo")
            assert fake.called("swap")[-1] == {"backing": "jobs", "undo": True}
            assert dialog.is_attached is False or not isinstance(app.screen, SwapDialog)

    run(scenario)


def test_escape_closes_a_dialog_without_changing_anything(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await open_swap(pilot, app, "uploads")
            await pilot.press("escape")
            assert not isinstance(app.screen, SwapDialog)
            assert all(call.get("dry_run") for call in fake.called("swap"))

    run(scenario)


# -- environment --


def test_environment_switch_previews_the_plan_then_applies(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, EnvironmentDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, EnvironmentDialog)
            await until(pilot, lambda: dialog.preview is not None, "the plan")
            assert dialog.choice == "staging"
            assert fake.called("up") == [{"environment": "staging", "dry_run": True}]
            await pilot.press("enter", "enter")
            await until(pilot, lambda: len(fake.called("up")) == 2, "the switch")
            assert fake.called("up")[-1] == {"environment": "staging", "dry_run": False}

    run(scenario)


# -- help, palette, mouse, connection --


def test_help_lists_every_key(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            listed = {key for _, keys in app.screen.sections for key, _ in keys}
            owners = [
                DevstackApp,
                ServicesTable,
                ServicesView,
                LogsView,
                ConfigView,
                BackingView,
                PreviewDialog,
            ]
            for owner in owners:
                for binding in owner.BINDINGS:
                    assert isinstance(binding, Binding)
                    shown = binding.key_display or {
                        "slash": "/",
                        "escape": "esc",
                        "question_mark": "?",
                        "enter": "⏎",
                    }.get(binding.key, binding.key)
                    assert shown in listed, f"{owner.__name__}: {binding.key} is not in the help"
            assert {"ctrl+p", "ctrl+q"} <= listed
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)

    run(scenario)


def test_the_command_palette_offers_every_action(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            titles = {c.title for c in app.get_system_commands(app.screen)}
            for name in ("api", "cron"):
                assert {f"Restart {name}", f"Logs of {name}", f"Config of {name}"} <= titles
            assert {"Stop api", "Start cron", "Swap uploads", "Undo swap of jobs"} <= titles
            assert {"Switch environment", "Keys", "View: Backing"} <= titles
            assert "Undo swap of uploads" not in titles  # not swapped

            await pilot.press("ctrl+p")
            await pilot.press(*"Restart cron")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: fake.called("action"), "the palette's restart")
            assert fake.called("action") == [{"name": "cron", "verb": "restart"}]

    run(scenario)


def test_tabs_switch_with_the_mouse(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await pilot.click("#--content-tab-backing")
            await pilot.pause()
            assert app.view == "backing"
            assert app.focused is app.backing_view.table
            await pilot.click("#--content-tab-logs")
            await pilot.pause()
            assert app.view == "logs"

    run(scenario)


def test_a_lost_stream_is_shown_and_reattached_without_repeating_lines(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            fake.end_streams.set()
            await until(pilot, lambda: not app.connected, "the lost stream")
            assert any(t[0] == "warning" and "lost the daemon" in t[2] for t in app.toasts)
            await until(pilot, lambda: app.connected and fake.streams == 2, "reattaching")
            await pilot.pause(0.2)
            assert len(app.logs_view.lines) == 10  # the backlog again, not twice

    run(scenario)


def test_status_changes_show_live(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            changed = copy.deepcopy(STATUS)
            changed["services"].append(svc("extra", "restarting", restarts=2))
            fake.push({"type": "status", "status": changed})
            table = app.services_view.table
            await until(pilot, lambda: "extra" in table.shown_keys, "the new service")
            assert cell_text(table.get_cell("extra", "state")) == "restarting"
            assert "red" in str(table.get_cell("extra", "state").style)

    run(scenario)


def test_a_rejected_manifest_edit_is_shown_with_its_problems() -> None:
    status = copy.deepcopy(STATUS)
    status["problems"] = ["devstack.yaml:4:5: services.api.env: duplicate key 'X'"]
    fake = FakeClient(status=status)

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await until(pilot, lambda: any(t[0] == "error" for t in app.toasts), "the toast")
            _, title, message = next(t for t in app.toasts if t[0] == "error")
            assert "manifest edit not applied" in title
            assert "devstack.yaml:4:5" in message
            assert "manifest edit not applied" in str(app.query_one("#title").render())

    try:
        run(scenario)
    finally:
        fake.close()


def test_the_title_names_a_running_release_and_real_endpoints() -> None:
    status = copy.deepcopy(STATUS)
    status["release"] = "r3"
    status["real"] = ["uploads -> staging-s3 (https://s3.eu-west-1.amazonaws.com)"]
    fake = FakeClient(status=status)

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            title = str(app.query_one("#title").render())
            assert "release r3" in title and "1 real endpoint(s)" in title

    try:
        run(scenario)
    finally:
        fake.close()
