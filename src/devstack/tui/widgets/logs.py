"""View 2: every service's log lines in one stream, or one service's; filtered, paused.

Memory is bounded: the view keeps the last `limit` lines (a deque) and the Log widget
shows at most as many. Lines arrive in batches (one message per ~50 ms from the event
worker) and are appended with one `write_lines` call; a filter or a timestamps toggle
re-renders from the deque. Paused, the widget stays as it is while new lines are still
kept; following again catches up.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Log, Select, Static

from devstack.api.palette import PALETTE
from devstack.tui import format as fmt
from devstack.tui.api import JSON

LIMIT = 10_000
ALL = "*all*"


class PrefixHighlighter(Highlighter):
    """Colours the `service |` prefix per service, events dim, like `devstack logs`."""

    def __init__(self) -> None:
        self.colours: dict[str, str] = {}

    def colour(self, service: str) -> str:
        return self.colours.setdefault(service, PALETTE[len(self.colours) % len(PALETTE)])

    def highlight(self, text: Text) -> None:
        plain = text.plain
        bar = plain.find(" | ")
        if bar < 0:
            return
        name = plain[:bar].strip().split("#", 1)[0]
        text.stylize(self.colour(name), 0, bar + 2)
        rest = plain[bar + 3 :]
        if rest[:1].isdigit() and len(rest) > 12 and rest[12] == " ":
            text.stylize("dim", bar + 3, bar + 15)  # the timestamp
            rest, start = rest[13:], bar + 16
        else:
            start = bar + 3
        if rest.startswith("» "):
            text.stylize("dim italic", start)


class LogsView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause/Follow", tooltip="pause the view (lines are kept) or follow"),
        Binding(
            "slash",
            "search",
            "Filter",
            key_display="/",
            tooltip="filter lines by text or regex, service name included (case-insensitive)",
        ),
        Binding("t", "timestamps", "Time", tooltip="timestamps on/off"),
        Binding("f", "next_service", "Service", tooltip="next service (then: all services)"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="clear the filter"),
    ]
    KEYS_HELP: ClassVar[list[tuple[str, str]]] = [
        ("⏎ (in the filter)", "keep the filter, back to the lines"),
        ("↑/↓ pgup/pgdn", "scroll (scrolled up, new lines do not pull the view down)"),
    ]

    def __init__(self, *, limit: int = LIMIT, id: str | None = None) -> None:
        super().__init__(id=id)
        self.limit = limit
        self.lines: deque[JSON] = deque(maxlen=limit)
        self.service: str | None = None
        self.pattern: re.Pattern[str] | None = None
        self.filter_text = ""
        self.timestamps = False
        self.following = True
        self.unseen = 0
        self.held = 0  # lines that arrived while paused (kept, not shown yet)
        self.width = 8
        self.names: list[str] = []
        self.highlighter = PrefixHighlighter()

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-bar"):
            yield Select(
                [("all services", ALL)],
                value=ALL,
                allow_blank=False,
                compact=True,
                id="log-service",
            )
            yield Input(
                placeholder="/ filter: text or service (regex or plain)",
                compact=True,
                id="log-filter",
            )
            yield Static("", id="log-state", markup=False)
        log = Log(max_lines=self.limit, highlight=True, id="log")
        log.highlighter = self.highlighter
        yield log

    def on_mount(self) -> None:
        self._show_state()

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log", Log)

    # -- data --

    def set_services(self, names: Iterable[str]) -> None:
        """The services to offer in the service filter (and to size the prefix for)."""
        names = list(names)
        if names == self.names:
            return
        self.names = names
        for name in names:
            self.highlighter.colour(name)
        width = max((len(n) for n in [*names, "devstack"]), default=8)
        select = self.query_one("#log-service", Select)
        select.set_options([("all services", ALL), *((n, n) for n in names)])
        select.value = self.service if self.service in names else ALL
        if width != self.width:
            self.width = width
            self.rerender()

    def add_lines(self, lines: list[JSON]) -> None:
        self.lines.extend(lines)
        if not self.following:
            self.held += len(lines)
            self.unseen += sum(1 for line in lines if self._matches(line))
            self._show_state()
            return
        # A batch bigger than the view keeps (a UI catching up on a flood): only its end shows.
        shown = [self._format(line) for line in lines[-self.limit :] if self._matches(line)]
        if shown:
            self.log_widget.write_lines(shown)

    def rerender(self) -> None:
        log = self.log_widget
        log.clear()
        log.write_lines([self._format(line) for line in self.lines if self._matches(line)])
        if self.following:
            log.scroll_end(animate=False)
        self.unseen = self.held = 0  # the widget shows every kept line now
        self._show_state()

    def _format(self, line: JSON) -> str:
        return fmt.log_line(line, self.width, self.timestamps)

    def _matches(self, line: JSON) -> bool:
        if self.service is not None and line["service"] != self.service:
            return False
        if self.pattern is None:
            return True
        # The name as shown (`api#1`) counts too: typing a service's name filters to it.
        search = self.pattern.search
        return search(str(line["text"])) is not None or search(fmt.log_name(line)) is not None

    # -- filters --

    def show_service(self, name: str | None) -> None:
        self.service = name
        select = self.query_one("#log-service", Select)
        if name is None:
            select.value = ALL
        elif name in self.names:
            select.value = name
        self.rerender()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        if not text:
            self.pattern = None
        else:
            try:
                self.pattern = re.compile(text, re.IGNORECASE)
            except re.error:
                self.pattern = re.compile(re.escape(text), re.IGNORECASE)
        self.rerender()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        # The select's value now, not the event's: options reset posts stale values.
        value = event.select.value
        name = value if isinstance(value, str) and value != ALL else None
        if name != self.service:
            self.service = name
            self.rerender()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self.filter_text:
            self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.log_widget.focus()

    def _show_state(self) -> None:
        parts = ["following" if self.following else f"paused · {self.unseen} new"]
        if self.timestamps:
            parts.append("time")
        self.query_one("#log-state", Static).update(" · ".join(parts))

    # -- actions --

    def action_pause(self) -> None:
        self.following = not self.following
        self.log_widget.auto_scroll = self.following
        if not self.following:
            self.unseen = self.held = 0
            self._show_state()
        elif self.held < self.limit:
            # Following again: the widget still shows what it showed when paused, so only
            # the lines held since go in (a full re-render of 10,000 lines took ~0.2 s).
            held = list(self.lines)[-self.held :] if self.held else []
            self.held = 0
            shown = [self._format(line) for line in held if self._matches(line)]
            if shown:
                self.log_widget.write_lines(shown)
            self.log_widget.scroll_end(animate=False)
            self.unseen = 0
            self._show_state()
        else:
            self.held = 0
            self.rerender()

    def action_search(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def action_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self.rerender()

    def action_next_service(self) -> None:
        choices: list[str | None] = [None, *self.names]
        index = choices.index(self.service) if self.service in choices else 0
        self.show_service(choices[(index + 1) % len(choices)])

    def action_clear_filter(self) -> None:
        field = self.query_one("#log-filter", Input)
        if field.value:
            field.value = ""  # Input.Changed clears the filter
        self.log_widget.focus()
