"""`devstack ui` in a real 80x24 terminal: the footer keeps `e`, `?` and `q`; q quits from help."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator

import pytest
from test_tmux import Tmux

from components import needs
from helpers import Stack

pytestmark = needs(shutil.which("tmux") is None, "tmux is not installed")


@pytest.fixture
def tmux(stack: Stack) -> Iterator[Tmux]:
    session = Tmux(stack.root)
    try:
        yield session
    finally:
        session.kill()


def test_at_80x24_the_footer_fits_and_q_quits_from_the_help(stack: Stack, tmux: Tmux) -> None:
    stack.write({"worker": {"command": ["sleep", "600"]}, "api": {"command": ["sleep", "600"]}})
    stack.up()
    ui = f"env -u COLUMNS -u LINES {sys.executable} -m devstack.cli.main ui"
    tmux.start(f"{ui}; echo EXIT=$?; sleep 60", width=80, height=24)

    screen = tmux.wait_for("2/2 running", "connected", "worker", "r Restart")
    footer = next(line for line in screen.splitlines() if "r Restart" in line)
    for key in ("r Restart", "c Config", "e Env", "? Help", "q Quit"):
        assert key in footer, f"{key!r} missing from the 80-column footer: {footer!r}"

    # Config opens on the selected service (the first row), not on "pick a service".
    tmux.keys("3")
    tmux.wait_for("VARIABLE", "environment dev · ")
    assert "pick a service" not in tmux.screen()

    tmux.keys("?")
    tmux.wait_for("Keys", "Everywhere")
    tmux.keys("q")
    tmux.wait_for("EXIT=0")
    assert {n: s["state"] for n, s in stack.live().items()} == {
        "worker": "running",
        "api": "running",
    }
