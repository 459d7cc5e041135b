"""What the host sees: a private control socket, loopback-only ports, a minimal process env."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from helpers import PROC, Stack, free_ports, listening_addresses, service, wait_for

pytestmark = pytest.mark.timeout(60)


def _tcp_listen_inodes() -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in (PROC / str(pid) / "fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def test_control_socket_is_private_and_services_listen_on_loopback(stack: Stack) -> None:
    a_port, b_port = free_ports(2)
    stack.write({"a": service("a", port=a_port), "b": service("b", port=b_port)})
    stack.up()

    mode = stack.socket.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600, oct(stat.S_IMODE(mode))
    assert stat.S_IMODE(stack.state_dir.stat().st_mode) & 0o077 == 0

    for port in (a_port, b_port):
        assert listening_addresses(port) == {"127.0.0.1"}

    # The daemon serves its API on the Unix socket only: no TCP listener of its own.
    daemon = stack.status()["daemon_pid"]
    assert not _socket_inodes(daemon) & _tcp_listen_inodes()


def test_host_process_sees_a_minimal_environment(stack: Stack, tmp_path: Path) -> None:
    plain_port, inheriting_port = free_ports(2)
    stack.write(
        {
            "plain": service(
                "plain", port=plain_port, env={"DECLARED": "yes"}, flags=["--dump-env"]
            ),
            "inheriting": service(
                "inheriting",
                port=inheriting_port,
                inherit_env=["DEVSTACK_TEST_LEAK"],
                flags=["--dump-env"],
            ),
        }
    )
    home = str(tmp_path / "home")
    stack.up(env={"DEVSTACK_TEST_LEAK": "1", "HOME": home})

    plain = wait_for(
        lambda: stack.has_file("plain.env") and stack.read_json("plain.env"), 5.0, "plain's env"
    )
    assert plain["DECLARED"] == "yes"
    assert plain["PORT"] == str(plain_port)
    assert plain["HOME"] == home
    assert plain["PATH"] == os.environ["PATH"]
    assert "DEVSTACK_TEST_LEAK" not in plain
    assert "DEVSTACK_TEST_STACK" not in plain  # nor anything else from the daemon's env
    assert plain["DEVSTACK_OWNER"].startswith(f"{stack.stack_id}:plain:")

    inheriting = wait_for(
        lambda: stack.has_file("inheriting.env") and stack.read_json("inheriting.env"),
        5.0,
        "inheriting's env",
    )
    assert inheriting["DEVSTACK_TEST_LEAK"] == "1"
    assert inheriting["PORT"] == str(inheriting_port)
    assert "DECLARED" not in inheriting

    shown = stack.ok("logs", "plain").stdout
    assert "plain: ENV DECLARED=yes" in shown
    assert "DEVSTACK_TEST_LEAK" not in shown
