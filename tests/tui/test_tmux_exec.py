"""`devstack exec SERVICE` in a real terminal: tmux runs it against a container service;
an interactive shell opens inside the container, reads what is typed, and its exit code
comes back as devstack's."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from test_tmux import Tmux

from components import needs, unavailable
from docker_images import BUSYBOX_IMAGE, ensure_engine, ensure_image
from helpers import Stack

pytestmark = [
    needs(shutil.which("tmux") is None, "tmux is not installed"),
    pytest.mark.timeout(120),
]

CONTAINER_PORT = "8123"


@pytest.fixture
def container_stack(stack: Stack) -> Iterator[Stack]:
    """A stack whose `web` runs busybox httpd in a container on port 8123; teardown
    removes whatever of it `down` left (containers, network)."""
    reason = ensure_engine()
    if reason:
        unavailable(reason)
    ensure_image(BUSYBOX_IMAGE)
    name = f"tx{uuid.uuid4().hex[:10]}"
    stack.write(
        {
            "web": {
                "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", 'exec httpd -f -p "$PORT" -h /www'],
                "ports": [CONTAINER_PORT],
                "healthcheck": {"http": "/health", "interval": "200ms", "retries": 100},
            }
        },
        name=name,
    )
    try:
        yield stack
    finally:
        stack.cleanup()
        for kind, lister in (("rm", "ps"), ("network rm", "network ls")):
            found = subprocess.run(
                ["docker", *lister.split(), "-aq" if lister == "ps" else "-q",
                 "--filter", f"label=devstack.stack={stack.stack_id}"],
                capture_output=True, text=True, check=False,
            ).stdout.split()  # fmt: skip
            if found:
                args = ["docker", *kind.split(), *(["-f"] if kind == "rm" else []), *found]
                subprocess.run(args, capture_output=True, check=False)


@pytest.fixture
def tmux(container_stack: Stack) -> Iterator[Tmux]:
    session = Tmux(container_stack.root)
    try:
        yield session
    finally:
        session.kill()


def test_exec_opens_an_interactive_shell_in_the_container(
    container_stack: Stack, tmux: Tmux
) -> None:
    container_stack.up()
    # The pane's shell gets the tests' CLI environment (no colour, the daemon marker).
    env = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in container_stack.cli_env().items()
        if k in ("NO_COLOR", "DEVSTACK_WATCH", "DEVSTACK_TEST_STACK", "PATH", "DOCKER_HOST")
    )
    exec_ = f"env -u COLUMNS -u LINES {env} {sys.executable} -m devstack.cli.main exec web"
    tmux.start(f"{exec_}; echo EXIT=$?; sleep 60")

    tmux.wait_for("#")  # busybox sh's prompt, as root
    tmux.keys("echo $PORT", "Enter")
    screen = tmux.wait_for("echo $PORT", CONTAINER_PORT + "\n")
    assert CONTAINER_PORT in [line.strip() for line in screen.splitlines()], screen

    tmux.keys("cat /proc/1/cmdline | tr '\\0' ' '; echo", "Enter")
    tmux.wait_for("httpd -f -p")  # inside the service's own container

    tmux.keys("exit 7", "Enter")
    tmux.wait_for("EXIT=7")
    assert container_stack.live()["web"]["state"] == "running"
