"""View 1: every service (and provider) of the stack, live, with actions on the selected one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from devstack.tui import format as fmt
from devstack.tui.api import JSON
from devstack.tui.messages import ServiceAction, ShowConfig, ShowLogs
from devstack.tui.widgets.table import Column, KeyedTable, Row

COLUMNS = (
    Column("name", "SERVICE"),
    Column("runtime", "RUNTIME"),
    Column("state", "STATE"),
    Column("health", "HEALTH"),
    Column("uptime", "UPTIME"),
    Column("restarts", "RESTARTS"),
    Column("ports", "PORTS"),
    Column("uses", "USES"),
)


class ServicesTable(KeyedTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "select_cursor", "Logs", key_display="⏎", tooltip="the selected service's logs"
        ),
    ]


class ServicesView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "restart", "Restart", tooltip="restart the selected service"),
        Binding("x", "stop_start", "Stop/Start", tooltip="stop the selected service, or start it"),
        Binding("b", "rebuild", "Rebuild", tooltip="build the selected service's image again"),
        Binding("c", "config", "Config", tooltip="the selected service's config"),
        Binding("s", "sort", "Sort", tooltip="sort by the next column (then: as declared)"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("click", "on a row: select it; on the selected row: its logs"),
        ("click a header", "sort by that column (again: reverse)"),
        ("↑/↓ pgup/pgdn", "move the cursor"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.services: dict[str, JSON] = {}
        self.uses: dict[str, list[str]] = {}

    def compose(self) -> ComposeResult:
        yield ServicesTable(COLUMNS, id="services-table")
        yield Static("", id="service-detail", markup=False)

    @property
    def table(self) -> ServicesTable:
        return self.query_one(ServicesTable)

    @property
    def selected(self) -> str | None:
        return self.table.selected_key

    def update_data(self, status: JSON, backing: list[JSON], now: float) -> None:
        self.services = {s["name"]: s for s in status.get("services", [])}
        self.uses = fmt.uses_by_service(backing)
        self.table.set_rows([self._row(s, now) for s in status.get("services", [])])
        self._show_detail()

    def _row(self, s: JSON, now: float) -> Row:
        uptime = fmt.uptime_seconds(s, now)
        uses = self.uses.get(s["name"], [])
        cells = (
            s["name"],
            s["runtime"],
            fmt.state_text(s["state"]),
            fmt.health_text(s["health"]),
            fmt.duration(uptime),
            str(s["restarts"]),
            fmt.ports(s),
            ", ".join(uses) or "-",
        )
        sort = (
            s["name"],
            s["runtime"],
            s["state"],
            s["health"],
            -1.0 if uptime is None else uptime,
            s["restarts"],
            (s.get("ports") or [0])[0],
            ", ".join(uses),
        )
        return Row(s["name"], cells, sort)

    def _show_detail(self) -> None:
        detail = self.query_one("#service-detail", Static)
        name = self.selected
        s = self.services.get(name or "")
        if s is None:
            detail.update("")
            return
        parts = [s["name"]]
        if s.get("pid"):
            parts.append(f"pid {s['pid']}")
        if s.get("url"):
            parts.append(str(s["url"]))
        if s.get("exit_code") is not None:
            parts.append(f"exit code {s['exit_code']}")
        if s.get("reason"):
            parts.append(str(s["reason"]))
        detail.update(Text(" · ".join(parts), style="dim" if not s.get("reason") else "yellow"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(ShowLogs(event.row_key.value))

    # -- actions --

    def action_restart(self) -> None:
        if self.selected:
            self.post_message(ServiceAction(self.selected, "restart"))

    def action_rebuild(self) -> None:
        if self.selected:
            self.post_message(ServiceAction(self.selected, "rebuild"))

    def action_stop_start(self) -> None:
        name = self.selected
        if name:
            stopped = self.services.get(name, {}).get("state") == "stopped"
            self.post_message(ServiceAction(name, "start" if stopped else "stop"))

    def action_config(self) -> None:
        if self.selected:
            self.post_message(ShowConfig(self.selected))

    def action_sort(self) -> None:
        self.table.cycle_sort()
