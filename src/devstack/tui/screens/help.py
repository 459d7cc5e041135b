"""The help screen (`?`): every key, per view, from the bindings themselves."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

Section = tuple[str, list[tuple[str, str]]]
KEY_WIDTH = 16


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close", key_display="?"),
        # q quits from here too, as from every screen (not just closes the help).
        Binding("q", "app.quit", "Quit", show=False),
    ]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        parts: list[Text | Table] = []
        for index, (title, keys) in enumerate(self.sections):
            parts.append(Text(("\n" if index else "") + title, style="bold underline"))
            table = Table.grid(padding=(0, 2))
            table.add_column(no_wrap=True, width=KEY_WIDTH)
            table.add_column()
            for key, description in keys:
                table.add_row(Text(key, style="bold cyan"), Text(description))
            parts.append(table)
        with Vertical(id="help"):
            yield Static("Keys  (esc or ? closes)", id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(Group(*parts), id="help-keys")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
