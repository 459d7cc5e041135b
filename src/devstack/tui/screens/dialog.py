"""A modal that previews a change before making it: pick, see the plan, then apply.

Subclasses say what there is to pick, how to ask the daemon for a dry run of it, and
what the dialog answers when applied. The dry run runs in a thread worker; its answer
comes back as a message tagged with the choice it belongs to, so a late answer for a
choice the user already moved away from is dropped. A change that points at something
real (an external endpoint, a real AWS account) can only be applied once the checkbox
that names it is ticked.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, OptionList, Static
from textual.widgets.option_list import Option

from devstack.tui.api import CALL_ERRORS, JSON, ApiClient, describe_error

Answer = dict[str, Any]
# q quits from every screen; in a text field it is just a letter.
QUIT = Binding("q", "app.quit", "Quit", show=False, tooltip="quit (the stack keeps running)")


class PreviewReady(Message):
    def __init__(self, choice: str, preview: JSON | None, error: str | None) -> None:
        super().__init__()
        self.choice = choice
        self.preview = preview
        self.error = error


class PreviewDialog(ModalScreen[Answer | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="close without changing anything"),
        QUIT,
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("↑/↓", "pick (the preview follows)"),
        ("⏎", "on the list: go to Apply; on Apply: apply"),
        ("space", "tick the confirmation for something real"),
        ("tab", "next field"),
    ]

    def __init__(self, client: ApiClient, title: str, choices: list[tuple[str, str]]) -> None:
        """`choices`: (value, label) pairs; none for a dialog with a single preview."""
        super().__init__()
        self.client = client
        self.title_text = title
        self.choices = choices
        self.choice: str | None = None
        self.preview: JSON | None = None
        self._advance = False  # chosen with enter: go on to Apply once the preview is in

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            if self.choices:
                yield OptionList(
                    *(Option(label, id=value) for value, label in self.choices), id="choices"
                )
            yield from self.compose_extra()
            with VerticalScroll(id="preview"):
                yield Static("", id="preview-text", markup=False)
            yield Checkbox("", id="confirm-real")
            with Horizontal(id="buttons"):
                yield Button("Apply", id="apply", variant="primary", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#confirm-real", Checkbox).display = False
        if self.choices:
            options = self.query_one("#choices", OptionList)
            options.highlighted = self.initial_index()
            options.focus()
        else:
            self.ask("")

    def initial_index(self) -> int:
        return 0

    # -- the dry run --

    def fetch(self, choice: str) -> JSON:
        """The daemon's dry run for `choice` (called in a worker thread)."""
        raise NotImplementedError

    def render_preview(self, preview: JSON) -> str:
        raise NotImplementedError

    def answer(self, choice: str, preview: JSON, confirmed: bool) -> Answer:
        raise NotImplementedError

    def applicable(self, preview: JSON) -> bool:
        return True

    def ask(self, choice: str) -> None:
        self.choice = choice
        self.preview = None
        self.query_one("#apply", Button).disabled = True
        self.query_one("#confirm-real", Checkbox).display = False
        self.query_one("#preview-text", Static).update("previewing…")
        self._fetch(choice)

    @work(thread=True, exclusive=True, group="preview")
    def _fetch(self, choice: str) -> None:
        try:
            preview = self.fetch(choice)
        except CALL_ERRORS as exc:
            self.post_message(PreviewReady(choice, None, describe_error(exc)))
            return
        self.post_message(PreviewReady(choice, preview, None))

    def on_preview_ready(self, event: PreviewReady) -> None:
        if event.choice != self.choice:
            return  # a late answer for an earlier choice
        text = self.query_one("#preview-text", Static)
        if event.preview is None:
            text.update(f"error: {event.error}")
            self.app.notify(event.error or "preview failed", severity="error", markup=False)
            return
        self.preview = event.preview
        text.update(self.render_preview(event.preview))
        real = list(event.preview.get("real") or [])
        checkbox = self.query_one("#confirm-real", Checkbox)
        checkbox.value = False
        checkbox.display = bool(real)
        if real:
            checkbox.label = f"I confirm: this points at {'; '.join(real)}"
        self._update_apply()
        if self._advance:
            self._advance = False
            self.focus_next_step()

    def _update_apply(self) -> None:
        checkbox = self.query_one("#confirm-real", Checkbox)
        ok = self.preview is not None and self.applicable(self.preview)
        if checkbox.display and not checkbox.value:
            ok = False
        self.query_one("#apply", Button).disabled = not ok

    # -- events --

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index != event.option_list.highlighted:
            return  # stale: the highlight moved on (the initial one, say) before this ran
        if event.option.id is not None and event.option.id != self.choice:
            self.ask(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None and event.option.id != self.choice:
            self.ask(event.option.id)
        if self.preview is None:
            self._advance = True
        else:
            self.focus_next_step()

    def focus_next_step(self) -> None:
        checkbox = self.query_one("#confirm-real", Checkbox)
        apply = self.query_one("#apply", Button)
        if checkbox.display:
            checkbox.focus()
        elif not apply.disabled:
            apply.focus()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._update_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "apply" and self.preview is not None and self.choice is not None:
            confirmed = bool(self.query_one("#confirm-real", Checkbox).value)
            self.dismiss(self.answer(self.choice, self.preview, confirmed))

    def action_cancel(self) -> None:
        self.dismiss(None)
