"""View 3: a service's effective environment, each value with its source; secrets masked."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Select, Static

from devstack.tui.api import JSON
from devstack.tui.messages import ShowConfig
from devstack.tui.widgets.table import Column, KeyedTable, Row

COLUMNS = (Column("name", "VARIABLE"), Column("value", "VALUE"), Column("source", "SOURCE"))


class ConfigView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "reveal", "Reveal/Mask", tooltip="reveal secret values, or mask them again"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("service list", "pick another service (mouse, or tab then ⏎)"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.service: str | None = None
        self.show_secrets = False
        self.config: JSON | None = None
        self.names: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="config-bar"):
            yield Select([], prompt="service", compact=True, id="config-service")
            yield Static("", id="config-state", markup=False)
        yield KeyedTable(COLUMNS, id="config-table")

    def on_mount(self) -> None:
        self._show_state()

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    def set_services(self, names: list[str]) -> None:
        if names == self.names:
            return
        self.names = names
        select = self.query_one("#config-service", Select)
        select.set_options([(n, n) for n in names])
        if self.service in names:
            select.value = self.service

    def show(self, config: JSON, show_secrets: bool) -> None:
        """A `config(service)` answer, as fetched by the app."""
        self.config = config
        self.service = str(config["service"])
        self.show_secrets = show_secrets
        if self.service in self.names:
            self.query_one("#config-service", Select).value = self.service
        rows = []
        for var in config.get("variables", []):
            value = Text(str(var["value"]))
            if var.get("masked"):
                value.stylize("dim")
            elif var.get("secret"):
                value.stylize("bold yellow")
            rows.append(
                Row(
                    var["name"],
                    (var["name"], value, Text(str(var["source"]), style="dim")),
                    (var["name"], str(var["value"]), str(var["source"])),
                )
            )
        self.table.set_rows(rows)
        self._show_state()

    def _show_state(self) -> None:
        state = self.query_one("#config-state", Static)
        if self.config is None:
            state.update("pick a service (c on the Services view)")
            return
        secrets = [v for v in self.config.get("variables", []) if v.get("secret")]
        shown = "secrets shown" if self.show_secrets else "secrets masked"
        state.update(
            f"environment {self.config.get('environment', '?')} · "
            f"{len(self.config.get('variables', []))} variables · "
            + (f"{len(secrets)} {shown} (v)" if secrets else "no secrets")
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.select.value
        if isinstance(value, str) and value != self.service:
            self.post_message(ShowConfig(value, self.show_secrets))

    def action_reveal(self) -> None:
        if self.service:
            self.post_message(ShowConfig(self.service, not self.show_secrets))
