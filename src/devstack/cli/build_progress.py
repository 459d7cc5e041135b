"""While `up` builds images (before the daemon answers), its build steps on stderr.

Click-free: the full `up` and the one answered before click (`cli/fast_up.py`) both show
them, so an `up` that turns out to need a build is never silent.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from devstack.api.client import ApiError, Client, DaemonNotRunning
from devstack.cli.render import say, style

TYPE_CHECKING = False  # not typing's: see cli/fast.py
if TYPE_CHECKING:
    from collections.abc import Iterator


FOLLOW_AFTER = 0.25  # seconds an `up` runs before its build steps are followed


@contextmanager
def build_progress(client: Client, since: float, enabled: bool = True) -> Iterator[None]:
    """Show the daemon's build steps logged from `since` until the block ends."""
    if not enabled:  # a booting daemon reports its build steps itself
        yield
        return
    done = threading.Event()

    def show() -> None:
        # Followed only once the `up` takes a while: an `up` with nothing to build is
        # answered in tens of milliseconds, and a log stream opened for it cost the daemon
        # (and the call) more than the answer. Lines are read from `since`, so a build
        # that began meanwhile is shown whole.
        if done.wait(FOLLOW_AFTER):
            return
        try:
            for line in client.logs(since=since, follow=True):
                if done.is_set():
                    return
                text = line["text"]
                if line["stream"] == "event" and text.startswith(("build: ", "building ")):
                    say(style(f"{line['service']} | {text}", "bright_black", err=True))
        except (DaemonNotRunning, ApiError, OSError):
            return

    threading.Thread(target=show, name="build-progress", daemon=True).start()
    try:
        yield
    finally:
        done.set()
