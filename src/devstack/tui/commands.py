"""What the help screen lists and what the command palette offers.

The help is built from the bindings themselves (so a new key cannot be missing from it);
the palette's commands from the stack as the app last saw it (one entry per service and
backing service action).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message

from devstack.tui import format as fmt
from devstack.tui.messages import (
    DataRequested,
    OpenShell,
    ScaleRequested,
    ServiceAction,
    ShowConfig,
    ShowLogs,
    SwapRequested,
)
from devstack.tui.screens.data import RestoreDialog, SnapshotDialog
from devstack.tui.screens.dialog import PreviewDialog
from devstack.tui.screens.help import Section
from devstack.tui.widgets.backing import BackingView
from devstack.tui.widgets.config import ConfigView
from devstack.tui.widgets.logs import LogsView
from devstack.tui.widgets.services import ServicesTable, ServicesView

if TYPE_CHECKING:
    from devstack.tui.app import DevstackApp

VIEWS = ("services", "logs", "config", "backing")
KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc", "enter": "⏎"}
GLOBAL_EXTRAS = [
    ("ctrl+p", "command palette: every action below, by name"),
    ("ctrl+q", "quit (the stack keeps running)"),
    ("tab / shift+tab", "move between fields"),
    ("mouse", "click tabs, rows, headers and buttons; the wheel scrolls"),
]


def key_name(binding: Binding) -> str:
    return binding.key_display or KEY_NAMES.get(binding.key, binding.key)


def _keys(
    bindings: Iterable[BindingType], extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    found = [(key_name(b), b.tooltip or b.description) for b in bindings if isinstance(b, Binding)]
    return [*found, *extra]


def help_sections(app_bindings: Iterable[BindingType]) -> list[Section]:
    services = [*ServicesTable.BINDINGS, *ServicesView.BINDINGS]
    return [
        ("Everywhere", _keys(app_bindings, GLOBAL_EXTRAS)),
        ("1 Services", _keys(services, ServicesView.KEYS_HELP)),
        ("2 Logs", _keys(LogsView.BINDINGS, LogsView.KEYS_HELP)),
        ("3 Config", _keys(ConfigView.BINDINGS, ConfigView.KEYS_HELP)),
        ("4 Backing", _keys(BackingView.BINDINGS, BackingView.KEYS_HELP)),
        ("Swap and environment dialogs", _keys(PreviewDialog.BINDINGS, PreviewDialog.KEYS_HELP)),
        ("Snapshot dialog", _keys(SnapshotDialog.BINDINGS, SnapshotDialog.KEYS_HELP)),
        ("Restore dialog", _keys(RestoreDialog.BINDINGS, RestoreDialog.KEYS_HELP)),
    ]


def palette_commands(app: DevstackApp) -> Iterator[SystemCommand]:
    def post(make: Callable[[], Message]) -> Callable[[], None]:
        def run() -> None:
            app.post_message(make())  # a fresh message each time the command runs

        return run

    for index, name in enumerate(VIEWS, 1):
        yield SystemCommand(
            f"View: {name.capitalize()}", f"switch to view {index}", partial(app.action_view, name)
        )
    yield SystemCommand("Switch environment", "preview, then apply", app.action_environment)
    yield SystemCommand("Keys", "every key binding", app.action_help)
    yield SystemCommand("Logs: pause / follow", "p in the Logs view", app.logs_view.action_pause)
    yield SystemCommand(
        "Logs: timestamps on / off", "t in the Logs view", app.logs_view.action_timestamps
    )
    for s in (app.status or {}).get("services", []):
        name = str(s["name"])
        verb = "start" if s["state"] == "stopped" else "stop"
        yield SystemCommand(
            f"Restart {name}",
            "graceful stop, then start",
            post(partial(ServiceAction, name, "restart")),
        )
        yield SystemCommand(
            f"{verb.capitalize()} {name}",
            f"{verb} the service",
            post(partial(ServiceAction, name, verb)),
        )
        yield SystemCommand(
            f"Logs of {name}",
            "the Logs view, this service",
            post(partial(ShowLogs, name)),
        )
        yield SystemCommand(
            f"Config of {name}",
            "effective env and sources",
            post(partial(ShowConfig, name)),
        )
        replicas = fmt.desired_replicas(s)
        yield SystemCommand(
            f"Scale {name} up",
            f"{replicas} -> {replicas + 1} replicas (+ in the Services view)",
            post(partial(ScaleRequested, name, replicas + 1)),
        )
        if replicas > 0:
            yield SystemCommand(
                f"Scale {name} down",
                f"{replicas} -> {replicas - 1} replicas (- in the Services view)",
                post(partial(ScaleRequested, name, replicas - 1)),
            )
        yield SystemCommand(
            f"Shell in {name}",
            "devstack exec: the UI comes back when it exits (! in the Services view)",
            post(partial(OpenShell, name)),
        )
    yield SystemCommand(
        "Logs of all services", "the Logs view, interleaved", post(partial(ShowLogs, None))
    )
    if app.config_view.service:
        yield SystemCommand(
            "Config: reveal / mask secrets", "v in the Config view", app.config_view.action_reveal
        )
    for row in app.backing:
        backing = str(row["name"])
        yield SystemCommand(
            f"Swap {backing}",
            "pick a provider, preview, apply",
            post(partial(SwapRequested, backing)),
        )
        yield SystemCommand(
            f"Snapshot {backing}",
            "name it, take it (s in the Backing view)",
            post(partial(DataRequested, backing, "snapshot")),
        )
        yield SystemCommand(
            f"Restore {backing}",
            "pick a snapshot, see the counts, apply (r in the Backing view)",
            post(partial(DataRequested, backing, "restore")),
        )
        if row.get("swapped"):
            yield SystemCommand(
                f"Undo swap of {backing}",
                "preview, then apply",
                post(partial(SwapRequested, backing, undo=True)),
            )
