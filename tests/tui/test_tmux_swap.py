"""In a real terminal (tmux): `devstack up` on the shop example opens the UI; every
service runs; a swap made from the UI restarts exactly the backing service's consumers."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import needs
from helpers import Stack, free_port, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed")
pytest.importorskip("moto.server", reason="moto is not installed")
pytestmark = [
    needs(shutil.which("tmux") is None, "tmux is not installed"),
    pytest.mark.timeout(120),
]

SHOP = Path(__file__).resolve().parents[2] / "stacks" / "shop"


class Terminal:
    def __init__(self) -> None:
        self.socket = f"devstack-swap-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def screen(self, styles: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if styles else []), "-t", "ui")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "ui", *keys)

    def showing(self, text: str, timeout: float = 20.0) -> str:
        def shown() -> str | None:
            screen = self.screen()
            return screen if text in screen else None

        try:
            return wait_for(shown, timeout, repr(text))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- the screen:\n{self.screen()}") from None


@pytest.fixture
def shop(stack: Stack) -> Stack:
    port = free_port()
    text = (SHOP / "devstack.yaml").read_text().replace('"8080"', f'"{port}"')
    text = text.replace('"8081"', f'"{free_port()}"')  # stats
    stack.manifest.write_text(text)
    shutil.copytree(SHOP / "seed", stack.root / "seed")
    for name in ("api", "worker", "stats"):
        shutil.copytree(
            SHOP / "services" / name,
            stack.root / "services" / name,
            ignore=shutil.ignore_patterns("vendor", "__pycache__"),
        )
    return stack


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    try:
        yield term
    finally:
        term.tmux("kill-server")


def pids(stack: Stack) -> dict[str, int | None]:
    status = json.loads(stack.ok("status", "--json").stdout)
    return {s["name"]: s["pid"] for s in status["services"]}


def test_up_opens_the_ui_and_a_swap_from_it_restarts_exactly_the_consumers(
    shop: Stack, terminal: Terminal
) -> None:
    env = {
        **shop.cli_env(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    # tmux runs the command through a login shell, whose profile may put another python3
    # first in PATH (one without localstack-client, which `stats` needs): set it again.
    command = f"env PATH={shlex.quote(env['PATH'])} {sys.executable} -m devstack.cli.main up"
    terminal.tmux(
        "new-session", "-d", "-s", "ui", "-x", "100", "-y", "30", "-c", str(shop.root),
        *[arg for key, value in env.items() for arg in ("-e", f"{key}={value}")],
        command,
    )  # fmt: skip
    # Keep the pane once `up` exits, so its last words can be read (it exits at once).
    terminal.tmux("set-option", "-t", "ui", "remain-on-exit", "on")
    terminal.showing("8/8 running", timeout=60)
    before = pids(shop)

    terminal.keys("4")
    terminal.showing("BACKING  KIND")
    terminal.keys("w")
    terminal.showing("Swap uploads (s3), now on ministack")
    terminal.keys("Down", "Down")
    terminal.showing("uploads: ministack -> moto")
    drawn = terminal.screen(styles=True)
    terminal.keys("Enter")  # on the list: go to Apply (only its highlight changes)
    wait_for(lambda: terminal.screen(styles=True) != drawn, 10.0, "the focus to move to Apply")
    terminal.keys("Enter")  # apply
    terminal.showing("moto (swapped)", timeout=30)

    def consumers_restarted() -> dict[str, int | None] | None:
        now = pids(shop)
        moved = now["api"] != before["api"] and now["worker"] != before["worker"]
        return now if moved and all(now[n] for n in ("api", "worker")) else None

    after = wait_for(consumers_restarted, 30.0, "api and worker to restart")
    assert after["ministack"] == before["ministack"]  # still serves jobs, orders, flags
    assert after["stats"] == before["stats"]  # it does not use uploads
    terminal.keys("q")
    terminal.showing("the UI closed", timeout=10)
    assert pids(shop)["api"] == after["api"]  # quitting left the stack running
