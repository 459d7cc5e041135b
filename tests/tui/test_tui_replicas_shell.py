"""Scale (`+`/`-`), a shell (`!`) and the log filter on service names, against the fake client.

Fast and deterministic; `test_tui_live_replicas.py` scales real daemons and
`test_tmux_shell.py` opens a real shell in a real terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from textual.widgets import Input
from tui_fakes import NOW, FakeClient, log
from tui_pilot import SIZE, cell_text, run, until

from devstack.api.client import ApiError
from devstack.tui.api import StackInfo
from devstack.tui.app import DevstackApp


class Terminal:
    """Stands in for handing the terminal over: records each command line, answers `code`."""

    def __init__(self, code: int = 0) -> None:
        self.code = code
        self.commands: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> int:
        self.commands.append(list(argv))
        return self.code


class ToastApp(DevstackApp):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.toasts: list[tuple[str, str, str]] = []

    def notify(
        self, message: str, *, title: str = "", severity: Any = "information", **kwargs: Any
    ) -> None:  # type: ignore[override]
        self.toasts.append((severity, title, message))
        super().notify(message, title=title, severity=severity, **kwargs)


def make_app(fake: FakeClient, terminal: Terminal | None = None) -> ToastApp:
    return ToastApp(fake, StackInfo(), clock=lambda: NOW, run_in_terminal=terminal)


async def loaded(pilot: Any, app: DevstackApp) -> None:
    await until(pilot, lambda: app.status is not None and app.backing, "the first snapshots")
    await until(pilot, lambda: len(app.logs_view.lines) >= 10, "the log backlog")


def replicas(app: DevstackApp, name: str) -> str:
    return cell_text(app.services_view.table.get_cell(name, "replicas"))


# -- scale --


def test_the_services_view_shows_running_over_desired_replicas(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            shown = {name: replicas(app, name) for name in ("api", "worker", "cron", "mailer")}
            assert shown == {"api": "2/2", "worker": "1/3", "cron": "0/0", "mailer": "0/1"}

    run(scenario)


def test_plus_and_minus_scale_the_selected_service_counting_every_press(
    fake: FakeClient,
) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("api")
            # Three presses before the daemon answers mean three more, not one; the calls
            # (one at a time, maybe fewer than three) end on the last count pressed.
            await pilot.press("plus", "plus", "plus")
            await until(pilot, lambda: replicas(app, "api") == "2/5", "the new desired count")
            asked = [c["replicas"] for c in fake.called("scale")]
            assert asked[-1] == 5 and asked == sorted(set(asked)), asked

            await pilot.press("minus")
            await until(pilot, lambda: replicas(app, "api") == "2/4", "the scale down")
            assert fake.called("scale")[-1] == {"service": "api", "replicas": 4}
            await until(pilot, lambda: any("api scaled to 4" in t[2] for t in app.toasts), "toast")

            # At zero, `-` asks for nothing (a bell): there is no fewer than none.
            calls = len(fake.called("scale"))
            assert app.services_view.table.select_key("cron")
            await pilot.press("minus")
            await pilot.press("plus")
            await until(pilot, lambda: replicas(app, "cron") == "0/1", "cron scaled up")
            assert fake.called("scale")[calls:] == [{"service": "cron", "replicas": 1}]

    run(scenario)


def test_a_refused_scale_is_a_toast_and_counting_starts_again_from_the_table(
    fake: FakeClient,
) -> None:
    fake.failures["scale"] = ApiError(404, "unknown service 'ministack'", [])

    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("ministack")
            await pilot.press("plus")
            await until(pilot, lambda: any(t[0] == "error" for t in app.toasts), "an error toast")
            assert ("error", "scale ministack failed", "unknown service 'ministack'") in app.toasts
            await pilot.press("plus")
            await until(pilot, lambda: len(fake.called("scale")) == 2, "a second try")
            assert [c["replicas"] for c in fake.called("scale")] == [2, 2]
            assert app.is_running

    run(scenario)


def test_the_palette_scales_and_opens_shells(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert {"Scale api up", "Scale api down", "Shell in api", "Scale cron up"} <= titles
            assert "Scale cron down" not in titles  # already at 0

            await pilot.press("ctrl+p")
            await pilot.press(*"Scale worker down")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: fake.called("scale"), "the palette's scale")
            assert fake.called("scale") == [{"service": "worker", "replicas": 2}]

    run(scenario)


# -- a shell --


def test_bang_runs_devstack_exec_for_the_selected_service_and_the_app_carries_on(
    fake: FakeClient,
) -> None:
    terminal = Terminal()

    async def scenario() -> None:
        app = make_app(fake, terminal)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("worker")
            await pilot.press("exclamation_mark")
            assert terminal.commands == [
                [
                    sys.executable,
                    "-m",
                    "devstack.cli.main",
                    "-f",
                    "/srv/shop/devstack.yaml",
                    "exec",
                    "worker",
                ]
            ]
            await until(
                pilot, lambda: any("back from the shell in worker" in t[2] for t in app.toasts), "t"
            )
            # Back: keys work, the stream is still followed.
            await pilot.press("r")
            await until(pilot, lambda: fake.called("action"), "a restart after the shell")
            fake.push({"type": "log", "line": log(11, "worker", "after the shell")})
            await until(pilot, lambda: len(app.logs_view.lines) == 11, "a new log line")

    run(scenario)


def test_a_failed_exec_says_its_exit_code(fake: FakeClient) -> None:
    terminal = Terminal(code=2)

    async def scenario() -> None:
        app = make_app(fake, terminal)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("api")
            await pilot.press("exclamation_mark")
            await until(pilot, lambda: any(t[0] == "warning" for t in app.toasts), "a warning")
            assert any("ended with exit code 2" in t[2] for t in app.toasts)

    run(scenario)


def test_without_a_terminal_to_hand_over_the_shell_is_an_error_toast(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)  # the real suspend: a headless test app cannot suspend
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            assert app.services_view.table.select_key("api")
            await pilot.press("exclamation_mark")
            await until(pilot, lambda: any(t[0] == "error" for t in app.toasts), "an error")
            _, title, message = next(t for t in app.toasts if t[0] == "error")
            assert title == "shell in api failed"
            assert "devstack exec api" in message
            assert app.is_running

    run(scenario)


# -- the log filter --


def test_the_log_filter_matches_service_names_replicas_included(fake: FakeClient) -> None:
    async def scenario() -> None:
        app = make_app(fake)

        def shown() -> list[str]:
            return list(app.logs_view.log_widget.lines)

        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            fake.push({"type": "log", "line": {**log(11, "api", "GET /health 200"), "replica": 1}})
            await until(pilot, lambda: len(app.logs_view.lines) == 11, "the replica's line")
            await pilot.press("2", "slash")
            assert isinstance(app.focused, Input)

            await pilot.press(*"worker")  # in no message: the service's name
            await until(pilot, lambda: len(shown()) == 2, "worker's lines")
            assert all(line.startswith("worker ") for line in shown())

            await pilot.press("escape", "slash", *"api#1")
            await until(pilot, lambda: len(shown()) == 1, "the replica's lines only")
            assert shown()[0].startswith("api#1 ")

            await pilot.press("escape", "slash", *"^api")  # a regex, on the name
            await until(pilot, lambda: len(shown()) == 4, "every api line")
            assert {line.split()[0] for line in shown()} == {"api", "api#1"}

            await pilot.press("escape", "slash", *"201")  # the message still counts
            await until(pilot, lambda: len(shown()) == 1, "the text filter")

    run(scenario)
