"""Messages the worker threads and the views send the app (Textual's message queue is
thread-safe: workers post, the app's handlers run on the UI thread)."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from devstack.tui.api import JSON


class StatusUpdated(Message):
    def __init__(self, status: JSON) -> None:
        super().__init__()
        self.status = status


class BackingUpdated(Message):
    def __init__(self, rows: list[JSON]) -> None:
        super().__init__()
        self.rows = rows


class LogBatch(Message):
    """Log lines are waiting, oldest first: `take()` them when handling the message.

    Posted with `take` (by the event pump's sink), the message carries no lines of its
    own: the handler takes every line that arrived until then, and only one such message
    is in the app's queue at a time. So a UI that falls behind a flood catches up with one
    big batch instead of a queue of small ones, and a keypress never waits behind them.
    """

    def __init__(self, lines: list[JSON], take: Callable[[], list[JSON]] | None = None) -> None:
        super().__init__()
        self.lines = lines
        self._take = take

    def take(self) -> list[JSON]:
        return self._take() if self._take is not None else self.lines


class ConnectionChanged(Message):
    def __init__(self, connected: bool, detail: str) -> None:
        super().__init__()
        self.connected = connected
        self.detail = detail


class ConfigLoaded(Message):
    def __init__(self, config: JSON, show_secrets: bool) -> None:
        super().__init__()
        self.config = config
        self.show_secrets = show_secrets


class ServiceAction(Message):
    """A view asks for `verb` (restart, stop, start) on a service."""

    def __init__(self, name: str, verb: str) -> None:
        super().__init__()
        self.name = name
        self.verb = verb


class ShowLogs(Message):
    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = name


class ShowConfig(Message):
    def __init__(self, name: str, show_secrets: bool = False) -> None:
        super().__init__()
        self.name = name
        self.show_secrets = show_secrets


class SwapRequested(Message):
    """The backing view asks for the swap dialog (`undo`: the undo preview) on a row."""

    def __init__(self, backing: str, undo: bool = False) -> None:
        super().__init__()
        self.backing = backing
        self.undo = undo


class DataRequested(Message):
    """The backing view asks for the snapshot or the restore dialog (`verb`) on a row."""

    def __init__(self, backing: str, verb: str) -> None:
        super().__init__()
        self.backing = backing
        self.verb = verb


class ScaleRequested(Message):
    """A view asks to run `replicas` instances of a service (the desired count)."""

    def __init__(self, name: str, replicas: int) -> None:
        super().__init__()
        self.name = name
        self.replicas = replicas


class OpenShell(Message):
    """A view asks for an interactive shell in a service (`devstack exec SERVICE`)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
