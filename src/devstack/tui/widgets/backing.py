"""View 4: backing services: kind, provider, state, endpoint, resources, consumers."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from devstack.api.kinds import resources_text
from devstack.tui import format as fmt
from devstack.tui.api import JSON
from devstack.tui.messages import DataRequested, SwapRequested
from devstack.tui.widgets.table import Column, KeyedTable, Row

COLUMNS = (
    Column("name", "BACKING"),
    Column("kind", "KIND"),
    Column("provider", "PROVIDER"),
    Column("state", "STATE"),
    Column("endpoint", "ENDPOINT"),
    Column("resources", "RESOURCES"),
    Column("consumers", "CONSUMERS"),
)


class BackingView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "w", "swap", "Swap", tooltip="swap the selected backing service to another provider"
        ),
        Binding("u", "undo", "Undo swap", tooltip="undo its last swap (preview first)"),
        Binding("s", "data('snapshot')", "Snapshot", tooltip="snapshot its data (name it first)"),
        Binding(
            "r",
            "data('restore')",
            "Restore",
            tooltip="restore its data from a snapshot (the counts first)",
        ),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, JSON] = {}

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, id="backing-table")
        yield Static("", id="backing-detail", markup=False)

    @property
    def table(self) -> KeyedTable:
        return self.query_one(KeyedTable)

    @property
    def selected(self) -> str | None:
        return self.table.selected_key

    def update_data(self, rows: list[JSON]) -> None:
        self.rows = {r["name"]: r for r in rows}
        table_rows = []
        for r in rows:
            resources = resources_text(r["kind"], r.get("resources") or {})
            consumers = ", ".join(r.get("consumers") or []) or "-"
            cells = (
                r["name"],
                r["kind"],
                fmt.provider_text(r),
                fmt.state_text(r["state"]),
                r.get("endpoint") or "-",
                resources,
                consumers,
            )
            sort = (
                r["name"],
                r["kind"],
                r.get("provider") or "",
                r["state"],
                r.get("endpoint") or "",
                resources,
                consumers,
            )
            table_rows.append(Row(r["name"], cells, sort))
        self.table.set_rows(table_rows)
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#backing-detail", Static)
        row = self.rows.get(self.selected or "")
        if row is None:
            detail.update("no backing services declared" if not self.rows else "")
            return
        parts = [
            f"{row['name']} on {row.get('provider') or '-'} ({row.get('provider_type') or '-'})"
        ]
        if row.get("region"):
            parts.append(str(row["region"]))
        parts.append(f"health {row.get('health', '-')}")
        if row.get("reason"):
            parts.append(str(row["reason"]))
        detail.update(Text(" · ".join(parts), style="yellow" if row.get("reason") else "dim"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def action_swap(self) -> None:
        if self.selected:
            self.post_message(SwapRequested(self.selected))

    def action_undo(self) -> None:
        if self.selected:
            self.post_message(SwapRequested(self.selected, undo=True))

    def action_data(self, verb: str) -> None:
        if self.selected:
            self.post_message(DataRequested(self.selected, verb))
