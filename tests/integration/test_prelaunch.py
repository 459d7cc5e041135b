"""A cold `up` launches its daemon before the CLI parses its arguments (api/prelaunch.py).

The daemon launched ahead imports, then waits for the intent. These tests run the command
as users do (the console script's entry point) and check what a user would notice: the
stack comes up as before, and a daemon the CLI ends up not needing leaves nothing behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import Stack, alive, free_port, pids, service, wait_for

pytestmark = pytest.mark.timeout(60)


def waiting_daemons(root: Path) -> list[int]:
    """Daemons launched ahead from `root` that still wait for an intent."""
    found = []
    for pid in pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            cwd = str(Path(f"/proc/{pid}/cwd").readlink())
        except OSError:
            continue
        if b"--intent-fd" in cmdline and cwd == str(root) and alive(pid):
            found.append(pid)
    return found


def test_a_cold_up_runs_on_the_daemon_launched_ahead(stack: Stack) -> None:
    stack.write({"a": service("a", port=free_port())})
    stack.ok("up", "-d", "--wait")
    (daemon,) = stack.daemons()
    cmdline = Path(f"/proc/{daemon}/cmdline").read_bytes()
    assert b"--intent-fd" in cmdline, "the daemon was not the one launched ahead"
    # It settled in as an ordinary launch would: the stack's folder, its log file.
    assert str(Path(f"/proc/{daemon}/cwd").readlink()) == str(stack.root)
    assert str(Path(f"/proc/{daemon}/fd/2").readlink()) == str(stack.state_dir / "daemon.log")
    assert stack.services()["a"]["state"] == "running"


def test_a_daemon_launched_ahead_but_not_needed_exits_having_touched_nothing(
    stack: Stack,
) -> None:
    stack.write({"a": service("a", port=free_port())})
    # The peek before click takes `abc` as the option's value; click then refuses it.
    result = stack.run("up", "-d", "--wait-timeout", "abc")
    assert result.returncode == 2, result
    assert "abc" in result.stderr
    wait_for(lambda: not waiting_daemons(stack.root), 10.0, "the waiting daemon to exit")
    assert not stack.state_dir.exists(), "a daemon that got no intent created .devstack/"


def test_a_bad_manifest_is_reported_through_the_daemon_launched_ahead(stack: Stack) -> None:
    stack.write_text("name: bad\nservices:\n  x:\n    command: python3 x.py\n    restrat: 1\n")
    result = stack.run("up", "-d")
    assert result.returncode == 2, result
    assert "devstack.yaml:5:5: services.x.restrat: " in result.stderr
    assert stack.daemons() == [], "the daemon stayed after refusing the manifest"
    assert not stack.socket.exists()


def test_while_the_first_up_waits_another_client_is_answered(stack: Stack) -> None:
    # The daemon imports its API only once the first `up --wait` settled, or as soon as a
    # client connects (daemon/boot.py, `until_settled`): `status` from another terminal
    # must not wait for the slow service.
    slow = service("slow", port=free_port())
    slow["command"] = ["sh", "-c", 'sleep 8 && exec "$0" "$@"', *slow["command"]]
    stack.write({"slow": slow})
    upping = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli.main", "up", "-d", "--wait", "--wait-timeout", "30"],
        cwd=stack.root, env=stack.cli_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(stack.socket.exists, 10.0, "the daemon's socket")
        answered = stack.ok("status", "--json")
        assert upping.poll() is None, "the first `up` finished already: nothing was tested"
        [row] = json.loads(answered.stdout)["services"]
        assert (row["name"], row["health"]) == ("slow", "starting"), row
        out, err = upping.communicate(timeout=40)
        assert upping.returncode == 0, f"{out}\n{err}"
    finally:
        if upping.poll() is None:
            upping.kill()
            upping.wait()
