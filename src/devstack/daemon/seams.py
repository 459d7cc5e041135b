"""What the daemon's collaborators (swap, live reload, the views) read of it: the state
all three share. Each extends it with the little more it needs, in its own module, so
none of them depends on `Daemon` and `service` imports them without a cycle."""

from __future__ import annotations

from typing import Protocol

from devstack.config.loader import LoadedStack
from devstack.engine.controller import Controller
from devstack.engine.events import LogStore
from devstack.intent.value import Intent
from devstack.model.desired import DesiredState


class StackState(Protocol):
    @property
    def loaded(self) -> LoadedStack:
        """The manifest as last applied."""
        ...

    @property
    def intent(self) -> Intent: ...
    @property
    def controller(self) -> Controller: ...
    @property
    def logs(self) -> LogStore: ...
    def desired(self) -> DesiredState: ...
