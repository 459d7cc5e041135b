"""The control socket: mode 0600, and the daemon refuses other users (peer credentials).

The file mode stops other users, except root and except a socket whose mode or folder was
opened up (a shared directory, a chmod by hand). So the daemon also asks the kernel who
connected (SO_PEERCRED) and serves only its own uid and root (devstack.daemon.peercred).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

import pytest
from asuser import connect_as, nobody

from helpers import Stack, service

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")


def test_the_socket_is_0600_in_a_private_folder(stack: Stack) -> None:
    stack.write({"a": service("a")})
    stack.up()

    info = stack.socket.stat()
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    assert info.st_uid == os.geteuid()
    assert stat.S_IMODE(stack.state_dir.stat().st_mode) == 0o700


@needs_root
def test_another_user_cannot_connect(stack: Stack) -> None:
    stack.write({"a": service("a")})
    stack.up()

    attempt = connect_as(*nobody(), str(stack.socket))

    assert attempt.error == "EACCES", attempt
    assert not attempt.served


@needs_root
def test_the_daemon_refuses_another_user_even_through_an_opened_socket(
    make_stack: Callable[[], Stack],
) -> None:
    stack = make_stack()
    stack.write({"a": service("a")})
    stack.up()
    # Open every door the file system has: only the daemon's own check is left.
    for folder in (stack.root, stack.state_dir):
        folder.chmod(0o711)
    stack.socket.chmod(0o666)

    attempt = connect_as(*nobody(), str(stack.socket))

    assert not attempt.served, f"uid nobody was served the stack's status: {attempt.body[:200]}"
    assert attempt.status == 403, attempt
    assert "permission denied" in attempt.body, attempt
    # The owner (root here) is still served.
    assert stack.live()["a"]["state"] == "running"
