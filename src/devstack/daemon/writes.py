"""State writes that outlive a full disk: tried at once, kept and retried when they fail.

A request that changed the state must not fail because the disk is full: the write is
kept (the latest per kind), `status` says so, and a retry saves it once there is room.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from devstack.daemon.disk import DiskTrouble, describe


class StateWrites:
    def __init__(self, disk: DiskTrouble) -> None:
        self._disk = disk
        self._lock = threading.Lock()
        self._unwritten: dict[str, Callable[[], None]] = {}  # what: the write to retry

    def persist(self, what: str, write: Callable[[], None]) -> None:
        """Run a state write; on a full disk keep it to retry (the latest per `what`) and
        say so in status, rather than fail the request that changed the state."""
        try:
            write()
        except OSError as exc:
            with self._lock:
                self._unwritten[what] = write
            self._disk.failed(what, unsaved(what, exc))
            return
        with self._lock:
            retried = self._unwritten.pop(what, None)
        if retried is not None:
            self._disk.recovered(what, f"{what} saved again")

    def retry(self) -> None:
        with self._lock:
            pending = list(self._unwritten.items())
        for what, write in pending:
            self.persist(what, write)

    def state_file(self, error: OSError | None) -> None:
        """The process runtime's state file could not be written (error) or could again."""
        if error is None:
            self._disk.recovered("state", "process state saved again")
        else:
            self._disk.failed("state", unsaved("the process state", error))


def unsaved(what: str, error: OSError) -> str:
    return f"{describe(error)}: cannot save {what} ({error.strerror or error}); retrying"
