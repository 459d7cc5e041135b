"""A DataTable fed whole snapshots: the cursor stays on its row, sorting stays applied.

Each update hands over every row with a key. When the rows keep their order only the
changed cells are rewritten; otherwise the table is refilled and the cursor put back on
the row it was on. Clicking a header (or `cycle_sort`) sorts by that column; clicking
it again reverses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

Cell = str | Text


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[Cell, ...]
    sort: tuple[Any, ...]  # one comparable value per column (numbers for numeric columns)


@dataclass(frozen=True)
class Column:
    key: str
    label: str


class KeyedTable(DataTable[Cell]):
    def __init__(self, columns: Sequence[Column], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.table_columns = tuple(columns)
        self.sort_column: str | None = None  # None: the order the rows came in
        self.sort_reverse = False
        self._rows: list[Row] = []
        self._shown: dict[str, tuple[Cell, ...]] = {}
        self._shown_order: list[str] = []

    def on_mount(self) -> None:
        for column in self.table_columns:
            self.add_column(self._label(column), key=column.key)

    # -- data --

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor (None when the table is empty)."""
        if not self.row_count:
            return None
        row_key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        return row_key.value

    @property
    def shown_keys(self) -> list[str]:
        return list(self._shown_order)

    def set_rows(self, rows: Sequence[Row]) -> None:
        # Plain strings would be read as content markup by DataTable: make them Text.
        self._rows = [
            Row(r.key, tuple(Text(c) if isinstance(c, str) else c for c in r.cells), r.sort)
            for r in rows
        ]
        self._render_rows()

    def select_key(self, key: str) -> bool:
        if key not in self._shown_order:
            return False
        self.move_cursor(row=self._shown_order.index(key), animate=False)
        return True

    # -- sorting --

    def sort_by(self, column: str | None, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._update_labels()
        self._render_rows()

    def cycle_sort(self) -> None:
        """The next column (after the last one: the order the rows came in)."""
        keys = [c.key for c in self.table_columns]
        if self.sort_column is None:
            self.sort_by(keys[0])
        else:
            index = keys.index(self.sort_column) + 1
            self.sort_by(keys[index] if index < len(keys) else None)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value
        if column == self.sort_column:
            self.sort_by(column, not self.sort_reverse)
        else:
            self.sort_by(column)

    def _label(self, column: Column) -> Text:
        if column.key == self.sort_column:
            return Text(column.label + (" ▼" if self.sort_reverse else " ▲"))
        return Text(column.label)

    def _update_labels(self) -> None:
        for key, column in self.columns.items():
            spec = next(c for c in self.table_columns if c.key == key.value)
            column.label = self._label(spec)
            # Widths only grow (as DataTable's own do): a sorted header never gets cut.
            column.content_width = max(column.content_width, column.label.cell_len)
        self._require_update_dimensions = True
        self.refresh()

    def _ordered(self) -> list[Row]:
        if self.sort_column is None:
            return list(self._rows)
        index = [c.key for c in self.table_columns].index(self.sort_column)
        return sorted(self._rows, key=lambda r: r.sort[index], reverse=self.sort_reverse)

    # -- rendering --

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        ordered = self._ordered()
        order = [r.key for r in ordered]
        if order == self._shown_order:
            for row in ordered:
                before = self._shown.get(row.key)
                for column, cell, old in zip(
                    self.table_columns, row.cells, before or (), strict=False
                ):
                    if cell != old:
                        self.update_cell(row.key, column.key, cell, update_width=True)
        else:
            selected = self.selected_key
            self.clear()
            for row in ordered:
                self.add_row(*row.cells, key=row.key)
            if selected in order:
                self.move_cursor(row=order.index(selected), animate=False)
        self._shown = {r.key: r.cells for r in ordered}
        self._shown_order = order
        self._fit_columns(ordered)

    def _fit_columns(self, rows: list[Row]) -> None:
        """Size the columns now, not on the next idle as DataTable does.

        DataTable measures new cells when it is idle, but caches rendered lines by an
        update counter that this measuring does not change: a render that comes before
        the idle (a busy app) keeps label-wide columns until the next edit. Measured
        here, every render already has the final widths.
        """
        for index, spec in enumerate(self.table_columns):
            column = self.columns.get(ColumnKey(spec.key))
            if column is None or not column.auto_width:
                continue
            widths = [self._label(spec).cell_len]
            widths += [_width(r.cells[index]) for r in rows]
            column.content_width = max(widths)


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)
