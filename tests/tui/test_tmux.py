"""`devstack ui` in a real terminal: tmux runs it on the hello example; keys go in with
`send-keys`, the screen comes back with `capture-pane`. Quitting leaves the stack running.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import needs
from helpers import Stack, port_busy

HELLO = Path(__file__).resolve().parents[2] / "stacks" / "hello"
FILES = ("devstack.yaml", ".env", "greeter.py", "front.py")
PORTS = (8000, 8001)

pytestmark = [
    needs(shutil.which("tmux") is None, "tmux is not installed"),
    pytest.mark.skipif(
        any(port_busy(p) for p in PORTS),
        reason="port 8000 or 8001 is busy on 127.0.0.1 (another hello stack?)",
    ),
]


class Tmux:
    """One tmux server of our own (its own socket), with one 100x30 window."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"devstack-test-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd
        self.path: Path | None = None  # the server's socket file

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> None:
        size = ("-x", str(width), "-y", str(height))
        self.tmux("new-session", "-d", *size, "-s", "ui", "-c", str(self.cwd), command)
        self.path = Path(self.tmux("display", "-p", "#{socket_path}").strip())

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "ui", key)
            time.sleep(0.3)  # a lone Escape must not merge with the next key (alt+key)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ui")

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() >= deadline:
                raise AssertionError(f"{texts} not on screen after {timeout:g}s:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        if self.path is not None:
            self.path.unlink(missing_ok=True)  # tmux may leave its socket file behind


@pytest.fixture
def hello(hello_ports: None, stack: Stack) -> Stack:
    for name in FILES:
        shutil.copy2(HELLO / name, stack.root / name)
    return stack


@pytest.fixture
def tmux(hello: Stack) -> Iterator[Tmux]:
    session = Tmux(hello.root)
    try:
        yield session
    finally:
        session.kill()


def test_devstack_ui_in_tmux_shows_the_stack_and_quits_leaving_it_running(
    hello: Stack, tmux: Tmux
) -> None:
    hello.up()
    pids = hello.pids()
    # The pane's shell may export COLUMNS/LINES from before the pane had its size.
    ui = f"env -u COLUMNS -u LINES {sys.executable} -m devstack.cli.main ui"
    tmux.start(f"{ui}; echo EXIT=$?; sleep 60")

    screen = tmux.wait_for("hello", "2/2 running", "connected", "greeter", "front", "q Quit")
    assert max(len(line) for line in screen.splitlines()) == 100  # drawn at the pane's size
    rows = {
        cells[0]: cells
        for cells in map(str.split, screen.splitlines())
        if cells[1:2] == ["process"]
    }
    assert rows["greeter"][1:5] == ["process", "running", "1/1", "healthy"]  # 1/1: replicas
    assert rows["front"][1:5] == ["process", "running", "1/1", "healthy"]
    assert "8000" in rows["greeter"] and "8001" in rows["front"]
    assert "r Restart" in screen and "? Help" in screen  # the footer's key hints

    tmux.keys("2")
    tmux.wait_for("following", "greeter  |", "front    |")

    # `c` belongs to the Services view: on a busy machine a `c` sent before the view (and
    # its focus) is back would reach the Logs view and do nothing.
    tmux.keys("1")
    tmux.wait_for("RESTARTS")
    tmux.keys("c")
    tmux.wait_for("MESSAGE", "hello, world", "LOG_LEVEL", ".env:")

    tmux.keys("4")
    tmux.wait_for("no backing services declared")

    tmux.keys("?")
    tmux.wait_for("Keys", "Everywhere", "1 Services", "scale up", "a shell in")
    tmux.keys("Escape")

    tmux.keys("e")
    tmux.wait_for("Switch the stack's environment", "plan for staging", "env.GREETING")
    tmux.keys("Escape")

    tmux.keys("1", "q")
    tmux.wait_for("EXIT=0")

    assert {n: s["state"] for n, s in hello.live().items()} == {
        "greeter": "running",
        "front": "running",
    }
    assert hello.pids() == pids
