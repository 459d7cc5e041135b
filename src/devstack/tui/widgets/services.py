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
from devstack.tui.messages import (
    OpenShell,
    ScaleRequested,
    ServiceAction,
    ShowConfig,
    ShowLogs,
)
from devstack.tui.widgets.table import Column, KeyedTable, Row

COLUMNS = (
    Column("name", "SERVICE"),
    Column("runtime", "RUNTIME"),
    Column("state", "STATE"),
    Column("replicas", "REPLICAS"),
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


# The footer shows `+ -` under one label; the help lists each key.
SCALE = Binding.Group("Scale", compact=True)


class ServicesView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "restart", "Restart", tooltip="restart the selected service"),
        Binding("x", "stop_start", "Stop/Start", tooltip="stop the selected service, or start it"),
        # Not in the footer, so that `e`, `?` and `q` fit at 80 columns: in the help.
        Binding(
            "b",
            "rebuild",
            "Rebuild",
            show=False,
            tooltip="build the selected service's image again",
        ),
        Binding("c", "config", "Config", tooltip="the selected service's config"),
        # Not in the footer (80 columns hold no more): in the help, and headers sort on click.
        Binding(
            "s", "sort", "Sort", show=False, tooltip="sort by the next column (then: as declared)"
        ),
        Binding(
            "plus",
            "scale(1)",
            "more",
            key_display="+",
            group=SCALE,
            tooltip="scale up: one replica more of the selected service",
        ),
        Binding(
            "minus",
            "scale(-1)",
            "fewer",
            key_display="-",
            group=SCALE,
            tooltip="scale down: one replica fewer (0 stops the service)",
        ),
        Binding(
            "exclamation_mark",
            "shell",
            "Shell",
            key_display="!",
            tooltip="a shell in the selected service; exit comes back here",
        ),
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
        self.scaling: dict[str, int] = {}  # service -> replicas asked for, not yet in status

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
        for name, asked in list(self.scaling.items()):
            if fmt.desired_replicas(self.services.get(name, {})) == asked:
                del self.scaling[name]  # the daemon has it: its count is the truth again
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
            fmt.replicas_text(s),
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
            fmt.desired_replicas(s),
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

    def action_scale(self, delta: int) -> None:
        name = self.selected
        if not name:
            return
        # Counted from the last count asked for, not the last one shown: `+ + +` pressed
        # faster than the daemon answers means three more, not one.
        current = self.scaling.get(name, fmt.desired_replicas(self.services.get(name, {})))
        replicas = current + delta
        if replicas < 0:
            self.app.bell()
            return
        self.scaling[name] = replicas
        self.post_message(ScaleRequested(name, replicas))

    def scale_failed(self, name: str) -> None:
        """The daemon refused a scale: count from what it shows again."""
        self.scaling.pop(name, None)

    def action_shell(self) -> None:
        if self.selected:
            self.post_message(OpenShell(self.selected))
