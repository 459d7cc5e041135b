"""The devstack TUI: four views of a running stack, driven through the daemon API.

The app owns the client and every call to it. The event stream is followed by a thread
worker (see `tui.stream`) that posts snapshots and log batches as messages; actions
(restart, stop/start, config, swap, environment, snapshot, restore) run in thread workers
and report in toasts, errors included: an API error never becomes a traceback. Views only
display and ask (with messages); dialogs fetch their own dry-run previews (the data
dialogs also run their work, to show its progress). Quitting stops nothing but the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, Log, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from devstack.api.states import split_problems
from devstack.tui.api import CALL_ERRORS, JSON, ApiClient, StackInfo, describe_error
from devstack.tui.commands import VIEWS, help_sections, palette_commands
from devstack.tui.messages import (
    BackingUpdated,
    ConfigLoaded,
    ConnectionChanged,
    DataRequested,
    LogBatch,
    OpenShell,
    ScaleRequested,
    ServiceAction,
    ShowConfig,
    ShowLogs,
    StatusUpdated,
    SwapRequested,
)
from devstack.tui.screens.data import open_data_dialog
from devstack.tui.screens.dialog import Answer
from devstack.tui.screens.environment import EnvironmentDialog
from devstack.tui.screens.help import HelpScreen, Section
from devstack.tui.screens.swap import SwapDialog
from devstack.tui.shell import Runner, banner, run_command, shell_command
from devstack.tui.stream import TAIL, pump_events
from devstack.tui.widgets.backing import BackingView
from devstack.tui.widgets.config import ConfigView
from devstack.tui.widgets.logs import LIMIT, LogsView
from devstack.tui.widgets.services import ServicesTable, ServicesView


class _Sink:
    """The event pump's deliveries, as messages to the app (posting is thread-safe)."""

    def __init__(self, app: DevstackApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._lines: list[JSON] = []  # arrived, not yet taken by the app
        self._posted = False  # a LogBatch is in the app's queue

    def status(self, status: JSON) -> None:
        self.app.post_message(StatusUpdated(status))

    def backing(self, rows: list[JSON]) -> None:
        self.app.post_message(BackingUpdated(rows))

    def logs(self, lines: list[JSON]) -> None:
        with self._lock:
            self._lines.extend(lines)
            # Bounded: a UI far behind a flood would only show the last `log_limit` anyway.
            del self._lines[: -self.app.log_limit]
            if self._posted:
                return  # the message in the queue will take these too
            self._posted = True
        self.app.post_message(LogBatch([], take=self._take))

    def _take(self) -> list[JSON]:
        with self._lock:
            lines, self._lines = self._lines, []
            self._posted = False
        return lines

    def connection(self, connected: bool, detail: str) -> None:
        self.app.post_message(ConnectionChanged(connected, detail))


class DevstackApp(App[None]):
    # Absolute: Textual resolves a relative CSS_PATH beside the subclass (tests subclass).
    CSS_PATH = Path(__file__).with_name("devstack.tcss")
    TITLE = "devstack"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "view('services')", "Services", show=False, tooltip="the Services view"),
        Binding("2", "view('logs')", "Logs", show=False, tooltip="the Logs view (all services)"),
        Binding("3", "view('config')", "Config", show=False, tooltip="the Config view"),
        Binding("4", "view('backing')", "Backing", show=False, tooltip="the Backing view"),
        Binding("e", "environment", "Env", tooltip="switch the environment (preview first)"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
        Binding("q", "quit", "Quit", tooltip="quit (the stack keeps running)"),
    ]

    def __init__(
        self,
        client: ApiClient,
        info: StackInfo | None = None,
        *,
        clock: Callable[[], float] = time.time,
        log_limit: int = LIMIT,
        tail: int = TAIL,
        run_in_terminal: Runner | None = None,
    ) -> None:
        """`run_in_terminal` runs a command with the terminal handed over (the shell key);
        by default the app suspends itself around `subprocess.call`."""
        super().__init__()
        self.client = client
        self.info = info or StackInfo()
        self.clock = clock
        self.log_limit = log_limit
        self.tail = tail
        self.status: JSON | None = None
        self.backing: list[JSON] = []
        self.connected = False
        self.connection_detail = "connecting…"
        self._config_hash: str | None = None
        self._config_wanted: str | None = None  # the service whose config was last asked for
        self._run_in_terminal = run_in_terminal or self._suspended
        self._scale_lock = threading.Lock()
        self._scale_wanted: dict[str, int] = {}  # service -> the last count asked for
        self._scale_sent: dict[str, int] = {}  # service -> the last count the daemon got

    # -- layout --

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with TabbedContent(initial="services", id="views"):
            with TabPane("1 Services", id="services"):
                yield ServicesView(id="services-view")
            with TabPane("2 Logs", id="logs"):
                yield LogsView(limit=self.log_limit, id="logs-view")
            with TabPane("3 Config", id="config"):
                yield ConfigView(id="config-view")
            with TabPane("4 Backing", id="backing"):
                yield BackingView(id="backing-view")
        # No `^p palette` in the footer: at 80 columns it would push out `e`, `?` and `q`
        # (ctrl+p is in the help).
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show_title()
        self.query_one(ServicesTable).focus()
        self._follow_events()
        self.set_interval(1.0, self._tick)

    @property
    def services_view(self) -> ServicesView:
        return self.query_one(ServicesView)

    @property
    def logs_view(self) -> LogsView:
        return self.query_one(LogsView)

    @property
    def config_view(self) -> ConfigView:
        return self.query_one(ConfigView)

    @property
    def backing_view(self) -> BackingView:
        return self.query_one(BackingView)

    @property
    def view(self) -> str:
        return str(self.query_one(TabbedContent).active)

    # -- the event stream --

    @work(thread=True, exclusive=True, group="events", exit_on_error=False)
    def _follow_events(self) -> None:
        worker = get_current_worker()
        pump_events(
            lambda: self.client.events(tail=self.tail),
            _Sink(self),
            lambda: worker.is_cancelled,
        )

    def on_status_updated(self, message: StatusUpdated) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        before_disk, before = split_problems((self.status or {}).get("problems") or [])
        self.status = message.status
        disk, problems = split_problems(message.status.get("problems") or [])
        if disk and disk != before_disk:
            self.notify("\n".join(disk), title="disk trouble", severity="error", markup=False)
        if problems and problems != before:
            # Live reload rejected an edit: say why, once per new set of problems.
            self.notify(
                "\n".join(problems),
                title="manifest edit not applied (the stack keeps its last good state)",
                severity="error",
                markup=False,
                timeout=15,
            )
        self._refresh_services()
        names = [s["name"] for s in message.status.get("services", [])]
        self.logs_view.set_services(names)
        self.config_view.set_services(names)
        self._show_title()
        # The config shown follows the service: reload it when its spec changed.
        service = self.config_view.service
        if service and self._config_hash is not None:
            current = next((s for s in message.status["services"] if s["name"] == service), None)
            if current is not None and current.get("spec_hash") != self._config_hash:
                self._load_config(service, self.config_view.show_secrets)

    def on_backing_updated(self, message: BackingUpdated) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        self.backing = message.rows
        self.backing_view.update_data(message.rows)
        self._refresh_services()

    def on_log_batch(self, message: LogBatch) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        self.logs_view.add_lines(message.take())

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        was = self.connected
        self.connected, self.connection_detail = message.connected, message.detail
        if was and not message.connected:
            self.notify(
                f"lost the daemon: {message.detail}; reconnecting",
                severity="warning",
                markup=False,
            )
        self._show_title()

    def _tick(self) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        self._refresh_services()

    def _refresh_services(self) -> None:
        if self.status is not None:
            self.services_view.update_data(self.status, self.backing, self.clock())

    def _show_title(self) -> None:
        title = Text(" devstack", style="bold")
        if self.status is not None:
            services = self.status.get("services", [])
            running = sum(1 for s in services if s["state"] == "running")
            title.append(f" · {self.status['stack']} · env {self.status['environment']} · ")
            title.append(
                f"{running}/{len(services)} running",
                style="green" if running == len(services) else "yellow",
            )
        if self.status is not None and self.status.get("release"):
            title.append(f" · release {self.status['release']}", style="bold")
        if self.status is not None and self.status.get("real"):
            # Reproducing staging: say plainly that some traffic leaves this machine.
            title.append(f" · {len(self.status['real'])} real endpoint(s)", style="bold yellow")
        disk, manifest = split_problems((self.status or {}).get("problems") or [])
        if disk:
            title.append(" · disk full: logs are being dropped", style="bold red")
        if manifest:
            title.append(" · manifest edit not applied", style="bold red")
        title.append(" · ")
        if self.connected:
            title.append("● connected", style="green")
        else:
            title.append(f"○ {self.connection_detail}", style="red")
        self.query_one("#title", Static).update(title)

    # -- views --

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Over a dialog or the help, the keys that would change what is under it do nothing.
        return not (action in ("view", "environment") and isinstance(self.screen, ModalScreen))

    def action_view(self, name: str) -> None:
        if name in VIEWS:
            self.query_one(TabbedContent).active = name
            self._focus_view(name)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self._focus_view(event.pane.id)
        if event.pane.id == "config":
            self._config_follows_selection()

    def _config_follows_selection(self) -> None:
        """The Config view opens on the service selected in Services (key, click or `c`)."""
        try:
            selected = self.services_view.selected
        except NoMatches:
            return  # mounting or shutting down
        if selected and selected not in (self.config_view.service, self._config_wanted):
            self._config_wanted = selected
            self._load_config(selected, False)  # another service: its secrets masked again

    def _focus_view(self, name: str) -> None:
        target: Widget
        try:
            if name == "services":
                target = self.services_view.table
            elif name == "logs":
                target = self.query_one("#log", Log)
            elif name == "config":
                target = self.config_view.table
            else:
                target = self.backing_view.table
        except NoMatches:
            # A tab event can arrive while the app mounts or shuts down (seen under a
            # 5,000 lines/s flood): there is nothing to focus then.
            return
        target.focus()

    def on_show_logs(self, message: ShowLogs) -> None:
        self.logs_view.show_service(message.name)
        self.action_view("logs")

    def on_show_config(self, message: ShowConfig) -> None:
        # Asked for first, so that opening the view does not ask for the selection too.
        self._config_wanted = message.name
        self._load_config(message.name, message.show_secrets)
        self.action_view("config")

    def on_config_loaded(self, message: ConfigLoaded) -> None:
        if not self.is_running:
            return  # shutting down: the views may be gone already
        self.config_view.show(message.config, message.show_secrets)
        service = message.config.get("service")
        found = next(
            (s for s in (self.status or {}).get("services", []) if s["name"] == service), None
        )
        self._config_hash = found.get("spec_hash") if found else None

    # -- calls --

    @work(thread=True, group="calls", exit_on_error=False)
    def _load_config(self, name: str, show_secrets: bool) -> None:
        try:
            config = self.client.config(name, show_secrets=show_secrets)
        except CALL_ERRORS as exc:
            self._failed(f"config of {name}", exc)
            return
        self.post_message(ConfigLoaded(config, show_secrets))

    @work(thread=True, group="calls", exit_on_error=False)
    def _call(self, doing: str, call: Callable[[], JSON], done: Callable[[JSON], str]) -> None:
        try:
            result = call()
        except CALL_ERRORS as exc:
            self._failed(doing, exc)
            return
        ok = result.get("ok", True) is not False
        self.notify(done(result), severity="information" if ok else "warning", markup=False)

    def _failed(self, doing: str, exc: BaseException) -> None:
        self.notify(describe_error(exc), title=f"{doing} failed", severity="error", markup=False)

    def on_service_action(self, message: ServiceAction) -> None:
        name, verb = message.name, message.verb
        self.notify(f"{verb} {name}…", markup=False, timeout=2)
        self._call(
            f"{verb} {name}",
            lambda: self.client.action(name, verb),
            lambda result: str(result.get("message") or f"{verb} {name}: done"),
        )

    def on_scale_requested(self, message: ScaleRequested) -> None:
        name, replicas = message.name, message.replicas
        self.notify(f"scale {name} to {replicas}…", markup=False, timeout=2)
        self._scale_wanted[name] = replicas
        self._scale(name)

    @work(thread=True, group="calls", exit_on_error=False)
    def _scale(self, name: str) -> None:
        # Workers run in any order: one call at a time, each with the latest count asked
        # for, so `+ + +` can never end on an older count than the last one pressed.
        with self._scale_lock:
            replicas = self._scale_wanted[name]
            if self._scale_sent.get(name) == replicas:
                return  # a later press's worker already sent it
            self._scale_sent[name] = replicas
            try:
                result = self.client.scale(name, replicas)
            except CALL_ERRORS as exc:
                self._scale_sent.pop(name, None)
                self.call_from_thread(self.services_view.scale_failed, name)
                self._failed(f"scale {name}", exc)
                return
        message = str(result.get("message") or f"{name}: {replicas} replica(s)")
        self.notify(message, markup=False)

    def on_open_shell(self, message: OpenShell) -> None:
        manifest = (self.status or {}).get("manifest")
        if not manifest:
            self.notify("not connected to the daemon yet", severity="warning", markup=False)
            return
        argv = shell_command(str(manifest), message.name)
        try:
            code = self._run_in_terminal(argv)
        except SuspendNotSupported:
            self.notify(
                "the UI cannot hand this terminal over; run `devstack exec "
                f"{message.name}` in another one",
                title=f"shell in {message.name} failed",
                severity="error",
                markup=False,
            )
            return
        # Back in the app: say how it ended (the shell's own output is gone with the screen).
        if code == 0:
            self.notify(f"back from the shell in {message.name}", markup=False, timeout=3)
        else:
            self.notify(
                f"`devstack exec {message.name}` ended with exit code {code}",
                severity="warning",
                markup=False,
            )

    def _suspended(self, argv: Sequence[str]) -> int:
        """Hand the terminal to `argv` (the app stops drawing and reading keys meanwhile)."""
        name = argv[-1]
        with self.suspend():
            print(banner(name), flush=True)
            return run_command(argv)

    def on_swap_requested(self, message: SwapRequested) -> None:
        row = next((r for r in self.backing if r["name"] == message.backing), None)
        if row is None:
            return
        dialog = SwapDialog(self.client, row, self.info.providers, undo=message.undo)
        self.push_screen(dialog, self._swap)

    def _swap(self, answer: Answer | None) -> None:
        if not answer:
            return
        what = "undo the swap of" if answer.get("undo") else "swap"
        doing = f"{what} {answer['backing']}"
        self.notify(f"{doing}: starting (progress in the Services view)…", markup=False)

        def done(result: JSON) -> str:
            restarts = result.get("restarts") or []
            tail = f"; restarting {', '.join(restarts)}" if restarts and result["applied"] else ""
            return f"{result.get('message', 'done')}{tail}"

        self._call(doing, lambda: self.client.swap(**answer), done)

    def on_data_requested(self, message: DataRequested) -> None:
        row = next((r for r in self.backing if r["name"] == message.backing), None)
        if row is not None:
            open_data_dialog(self, self.client, row, message.verb)

    def action_environment(self) -> None:
        current = str((self.status or {}).get("environment") or "dev")
        names = list(dict.fromkeys([*self.info.environments, current]))
        self.push_screen(EnvironmentDialog(self.client, names, current), self._switch)

    def _switch(self, answer: Answer | None) -> None:
        if not answer:
            return
        name = str(answer["environment"])
        self.notify(f"switching to {name}…", markup=False)
        self._call(
            f"switch to {name}",
            lambda: self.client.up(environment=name),
            lambda plan: f"environment {name}: {len(plan.get('steps', []))} step(s)",
        )

    # -- help and the command palette --

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[Section]:
        return help_sections(self.BINDINGS)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)
