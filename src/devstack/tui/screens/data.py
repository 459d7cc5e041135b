"""The data dialogs of the Backing view: `s` snapshots the selected backing service, `r`
restores it from a snapshot (docs/backing-data.md).

Both run in the daemon (`/v1/data/...`), and both stay open while it works: a restore
shows the counts to add, change and delete first (the dry run), and Apply only then;
while it runs, the dialog shows the time and the last progress line of the backing
service's log, then the outcome. Closing it early stops nothing: the toast still says
how it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Input, OptionList, Static

from devstack.tui.api import CALL_ERRORS, JSON, ApiClient, describe_error
from devstack.tui.screens.dialog import QUIT, Answer, PreviewDialog

SECRET_KINDS = frozenset({"ssm", "secretsmanager", "postgres"})  # what --include-secrets keeps
PROGRESS_EVERY = 0.5  # seconds between looks at the backing service's log


def counts(outcome: JSON) -> str:
    return f"{outcome['add']} to add, {outcome['change']} to change, {outcome['delete']} to delete"


def outcome_lines(result: JSON, restored: bool) -> list[str]:
    """One line per backing service of a DataResponse, then its notes (counts, no value)."""
    lines = []
    for o in result.get("backings") or []:
        where = f"{o['backing']} ({o['kind']} on {o['provider']})"
        if restored:
            lines.append(f"{where}: {counts(o)}")
        else:
            lines.append(f"{where}: {o['items']} item(s) in {o['seconds']:.1f}s")
        if o.get("omitted"):
            lines.append(f"  {o['omitted']} secret value(s) left out")
        lines.extend(f"  note: {note}" for note in o.get("notes") or [])
    return lines


class RunStatus(Static):
    """A snapshot or restore running in the daemon: the time and the backing service's
    last progress line, then the outcome. Posts `Finished` to its screen."""

    class Finished(Message):
        def __init__(self, result: JSON | None, error: str | None) -> None:
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, client: ApiClient, backing: str) -> None:
        super().__init__("", id="run-status", markup=False)
        self.client, self.backing = client, backing
        self.doing = ""
        self.restored = False
        self.progress = ""
        self._started = self._since = 0.0
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.display = False  # no blank line in the dialog before anything runs

    def start(self, doing: str, call: Callable[[], JSON], restored: bool) -> None:
        """Run `call` (a restore's when `restored`: its outcome is counts, not items)."""
        self.display = True
        self.restored = restored
        self.doing, self._started, self._since = doing, time.monotonic(), time.time()
        self._timer = self.set_interval(PROGRESS_EVERY, self._tick)
        self._tick()
        self._run(call)

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        self.update(
            f"{self.doing}… {elapsed:.0f}s" + (f"\n{self.progress}" if self.progress else "")
        )
        self._look()

    @work(thread=True, exclusive=True, group="data-progress", exit_on_error=False)
    def _look(self) -> None:
        try:
            lines = list(self.client.logs(services=[self.backing], since=self._since, tail=5))
        except CALL_ERRORS:
            return  # progress is a nicety: the outcome still comes
        shown = [str(line["text"]) for line in lines if line.get("stream") == "stdout"]
        if shown:
            self.progress = shown[-1]

    @work(thread=True, group="data-run", exit_on_error=False)
    def _run(self, call: Callable[[], JSON]) -> None:
        result: JSON | None = None
        error: str | None = None
        try:
            result = call()
        except CALL_ERRORS as exc:
            error = describe_error(exc)
        # The toast first: seen even when the dialog was closed meanwhile.
        if result is None:
            self.app.notify(
                error or "failed", title=f"{self.doing} failed", severity="error", markup=False
            )
        else:
            self.app.notify(str(result.get("message") or f"{self.doing}: done"), markup=False)
        if self.is_attached:
            self.app.call_from_thread(self._finish, result, error)

    def _finish(self, result: JSON | None, error: str | None) -> None:
        if self._timer is not None:
            self._timer.stop()
        if result is None:
            self.update(f"error: {error}")
        else:
            lines = outcome_lines(result, self.restored)
            self.update("\n".join([str(result["message"]), *lines]))
        self.post_message(self.Finished(result, error))


class SnapshotDialog(ModalScreen[None]):
    """`s`: name the snapshot, choose what it keeps, take it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="close (a snapshot being taken goes on)"),
        QUIT,
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("⏎", "in the name: take the snapshot"),
        ("space", "tick keeping secret values (or queued messages)"),
    ]

    def __init__(self, client: ApiClient, row: JSON) -> None:
        super().__init__()
        self.client, self.row = client, row
        self.backing = str(row["name"])
        self.result: JSON | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        kind = str(self.row["kind"])
        with Vertical(id="dialog"):
            yield Static(
                f"Snapshot {self.backing} ({kind} on {self.row.get('provider') or '-'}) as:",
                id="dialog-title",
                markup=False,
            )
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            yield Input(f"{self.backing}-{stamp}", id="snapshot-name", compact=True)
            if kind in SECRET_KINDS:
                yield Checkbox(
                    "keep secret values (the files are 0600)", id="secrets", compact=True
                )
            if kind == "sqs":
                yield Checkbox("copy queued messages", id="messages", compact=True)
            yield RunStatus(self.client, self.backing)
            with Horizontal(id="buttons"):
                yield Button("Take", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _ticked(self, name: str) -> bool:
        found = self.query(f"#{name}")
        return bool(found and found.first(Checkbox).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._take()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self._take()
        else:
            self.dismiss(None)

    def _take(self) -> None:
        apply = self.query_one("#apply", Button)
        if apply.disabled:
            return
        name = self.query_one("#snapshot-name", Input).value.strip()
        request: JSON = {"backings": [self.backing]}
        if name:
            request["name"] = name
        if self._ticked("secrets"):
            request["include_secrets"] = True
        if self._ticked("messages"):
            request["include_messages"] = True
        apply.disabled = True
        self.query_one("#snapshot-name", Input).disabled = True
        self.query_one("#cancel", Button).label = "Close"
        doing = f"snapshot {name or 'of ' + self.backing}"
        self.query_one(RunStatus).start(doing, lambda: self.client.snapshot(**request), False)

    def on_run_status_finished(self, event: RunStatus.Finished) -> None:
        event.stop()
        self.result, self.error = event.result, event.error
        if event.result is None:
            self.query_one("#apply", Button).disabled = False  # another name, say
            self.query_one("#snapshot-name", Input).disabled = False
            return
        self.query_one("#cancel", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class RestoreDialog(PreviewDialog):
    """`r`: pick a snapshot holding the backing service, see the counts, restore."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", tooltip="close (a restore under way goes on)"),
        QUIT,
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("↑/↓", "pick a snapshot (the counts follow)"),
        ("⏎", "on the list: go to Apply; on Apply: restore (the dialog shows it run)"),
    ]

    def __init__(self, client: ApiClient, row: JSON, snapshots: list[JSON]) -> None:
        self.row = row
        self.backing = str(row["name"])
        self.result: JSON | None = None
        self.error: str | None = None
        choices = [
            (str(s["name"]), f"{s['name']}  {s['created']}  {s['items']} item(s)")
            for s in reversed(snapshots)  # the newest first
        ]
        where = f"{row['kind']} on {row.get('provider') or '-'}"
        super().__init__(client, f"Restore {self.backing} ({where}) from snapshot:", choices)

    def compose_extra(self) -> ComposeResult:
        yield RunStatus(self.client, self.backing)

    def fetch(self, choice: str) -> JSON:
        return self.client.restore(choice, backings=[self.backing], dry_run=True)

    def render_preview(self, preview: JSON) -> str:
        lines = outcome_lines(preview, True)
        if self.applicable(preview):
            lines.append(
                f"Apply makes {self.backing} equal to {self.choice} on the provider serving "
                "it now: it deletes what the snapshot lacks."
            )
        else:
            lines.append(f"nothing to change: {self.backing} equals {self.choice}")
        return "\n".join(lines)

    def applicable(self, preview: JSON) -> bool:
        return any(o["add"] or o["change"] or o["delete"] for o in preview.get("backings") or [])

    def answer(self, choice: str, preview: JSON, confirmed: bool) -> Answer:
        return {"snapshot": choice, "backings": [self.backing]}

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "apply" or self.preview is None or self.choice is None:
            return  # PreviewDialog's handler runs next (Textual calls each class's)
        event.stop()
        event.prevent_default()  # not PreviewDialog's: that one would dismiss
        # Not dismissed: the dialog shows the restore running, then its outcome.
        answer = self.answer(self.choice, self.preview, False)
        self.query_one("#apply", Button).disabled = True
        self.query_one("#choices", OptionList).disabled = True
        self.query_one("#cancel", Button).label = "Close"
        name = str(answer.pop("snapshot"))
        doing = f"restore {self.backing} from {name}"
        self.query_one(RunStatus).start(doing, lambda: self.client.restore(name, **answer), True)

    def on_run_status_finished(self, event: RunStatus.Finished) -> None:
        event.stop()
        self.result, self.error = event.result, event.error
        self.query_one("#cancel", Button).focus()


def open_data_dialog(app: App[Any], client: ApiClient, row: JSON, verb: str) -> None:
    """Push `verb`'s dialog for backing service `row`; a restore lists the snapshots first
    (off the UI thread), and says so when none holds the backing service."""
    if verb == "snapshot":
        app.push_screen(SnapshotDialog(client, row))
        return
    backing = str(row["name"])

    def listed() -> None:
        try:
            found = [s for s in client.snapshots() if backing in (s.get("backings") or {})]
        except CALL_ERRORS as exc:
            app.notify(describe_error(exc), title="snapshots", severity="error", markup=False)
            return
        if not found:
            app.notify(
                f"no snapshot holds {backing}: take one with `s`", severity="warning", markup=False
            )
            return
        app.call_from_thread(app.push_screen, RestoreDialog(client, row, found))

    app.run_worker(listed, thread=True, group="calls", exit_on_error=False)
