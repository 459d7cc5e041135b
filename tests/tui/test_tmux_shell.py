"""In a real terminal (tmux): `!` hands the terminal to `devstack exec SERVICE`, a shell
with the service's environment, and the UI comes back when the shell exits."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import needs
from helpers import Stack, free_port, service, wait_for

pytestmark = [
    needs(shutil.which("tmux") is None, "tmux is not installed"),
    pytest.mark.timeout(120),
]


class Terminal:
    """A tmux server of our own (its own socket) with one 100x30 pane."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.socket = f"devstack-shell-{uuid.uuid4().hex[:8]}"
        self.path: Path | None = None  # the server's socket file

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=self.stack.cli_env(),  # the server (and so the pane) gets the test's marker
        )
        return done.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "ui",
                  "-c", str(self.stack.root), command)  # fmt: skip
        self.path = Path(self.tmux("display", "-p", "#{socket_path}").strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ui")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "ui", *keys)

    def showing(self, *texts: str, timeout: float = 20.0) -> str:
        def shown() -> str | None:
            screen = self.screen()
            return screen if all(t in screen for t in texts) else None

        try:
            return wait_for(shown, timeout, repr(texts))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- the screen:\n{self.screen()}") from None

    def kill(self) -> None:
        self.tmux("kill-server")
        if self.path is not None:
            self.path.unlink(missing_ok=True)  # tmux may leave its socket file behind


@pytest.fixture
def terminal(stack: Stack) -> Iterator[Terminal]:
    session = Terminal(stack)
    try:
        yield session
    finally:
        session.kill()


def test_bang_opens_a_shell_in_the_service_and_exit_returns_to_the_ui(
    stack: Stack, terminal: Terminal
) -> None:
    port = free_port()
    stack.write({"web": service("web", port=port), "jobs": service("jobs")})
    stack.up()
    pids = stack.pids()
    # The pane's shell may export COLUMNS/LINES from before the pane had its size.
    ui = f"env -u COLUMNS -u LINES SHELL=/bin/sh {sys.executable} -m devstack.cli.main ui"
    terminal.start(f"{ui}; echo EXIT=$?; sleep 60")
    terminal.showing("web", "jobs", "2/2 running", "connected", "! Shell")

    terminal.keys("s", "Down")  # sorted by name: jobs, then web under the cursor
    terminal.showing("web · pid")
    terminal.keys("!")
    terminal.showing("a shell in web")
    terminal.keys("echo PORT=$PORT IN=$(pwd)", "Enter")
    screen = terminal.showing(f"PORT={port} IN={stack.root}")
    assert "1 Services" not in screen  # the UI is not drawn while the shell runs

    terminal.keys("exit", "Enter")
    terminal.showing("1 Services", "back from the shell in web", "2/2 running")
    terminal.keys("Up")  # the UI reads keys again
    terminal.showing("jobs · pid")

    terminal.keys("q")
    terminal.showing("EXIT=0")
    assert stack.pids() == pids  # neither the shell nor the UI touched the services
