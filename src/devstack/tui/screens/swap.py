"""The swap dialog (`w` on a backing service): pick a provider, preview, apply; also undo (`u`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input

from devstack.api.kinds import DATA_KINDS, provider_choices
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
        if self.row.get("kind") in DATA_KINDS:
            label = "carry data back" if self.undo else "carry data to the new provider"
            yield Checkbox(label, id="carry", compact=True)

    @property
    def carry(self) -> bool:
        found = self.query("#carry")
        return bool(found and found.first(Checkbox).value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "carry":
            event.stop()
            if self.choice is not None:
                self.ask(self.choice)  # the preview then says what would be copied
            return
        super().on_checkbox_changed(event)

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
        request: JSON = {"backing": self.row["name"]}
        request.update({"undo": True} if self.undo else {"provider": choice})
        if self.carry:  # sent only when ticked: the requests stay as they were without it
            request["carry"] = True
        return request

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
