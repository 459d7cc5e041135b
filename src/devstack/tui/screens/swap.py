"""The swap dialog (`w` on a backing service): pick a provider, preview, apply; also undo (`u`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from devstack.api.kinds import provider_choices
from devstack.tui import format as fmt
from devstack.tui.api import JSON, ApiClient
from devstack.tui.screens.dialog import Answer, PreviewDialog


class SwapDialog(PreviewDialog):
    def __init__(
        self, client: ApiClient, row: JSON, declared: dict[str, str], undo: bool = False
    ) -> None:
        self.row = row
        self.undo = undo
        current = str(row.get("provider") or "")
        if undo:
            title = f"Undo the last swap of {row['name']} (now on {current or '-'})"
            choices: list[tuple[str, str]] = []
        else:
            title = f"Swap {row['name']} ({row['kind']}), now on {current or '-'}, to:"
            names = provider_choices(str(row["kind"]), current, declared)
            choices = [(n, f"{n} (current)" if n == current else n) for n in names]
        super().__init__(client, title, choices)

    def compose_extra(self) -> ComposeResult:
        if not self.undo:
            yield Input(placeholder="or type a provider name, then ⏎", compact=True, id="provider")

    def initial_index(self) -> int:
        current = self.row.get("provider")
        return next((i for i, (value, _) in enumerate(self.choices) if value != current), 0)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if name:
            self._advance = True
            self.ask(name)

    def request(self, choice: str) -> JSON:
        if self.undo:
            return {"backing": self.row["name"], "undo": True}
        return {"backing": self.row["name"], "provider": choice}

    def fetch(self, choice: str) -> JSON:
        return self.client.swap(**self.request(choice), dry_run=True)

    def render_preview(self, preview: JSON) -> str:
        return fmt.swap_preview(preview)

    def applicable(self, preview: JSON) -> bool:
        return preview.get("message") != "nothing to change"

    def answer(self, choice: str, preview: JSON, confirmed: bool) -> Answer:
        request = self.request(choice)
        if preview.get("real"):
            request["confirm_real"] = confirmed
        return request
