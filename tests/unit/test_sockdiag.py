"""Listening sockets asked of the kernel (sock_diag) agree with /proc/net/tcp, and the
port owner falls back to /proc where netlink cannot be used."""

from __future__ import annotations

import os
import socket

import pytest

from devstack.runtimes import portowner, sockdiag


def _listener(family: int, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen()
    return sock


def _inode(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_a_listener_is_found_by_its_port_as_proc_finds_it(family: int, host: str) -> None:
    try:
        sock = _listener(family, host)
    except OSError as exc:
        pytest.skip(f"no {host} here: {exc}")
    with sock:
        port = sock.getsockname()[1]
        asked = sockdiag.listening_inodes(port)
        if asked is None:
            pytest.skip("netlink sock_diag is not available in this kernel")
        assert asked == {_inode(sock)}
        assert asked == portowner.proc_listening_inodes(port)
    assert sockdiag.listening_inodes(port) == set()  # closed: no longer listed


def test_a_connected_socket_is_not_a_listener() -> None:
    with _listener(socket.AF_INET, "127.0.0.1") as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            asked = sockdiag.listening_inodes(client.getsockname()[1])
            if asked is None:
                pytest.skip("netlink sock_diag is not available in this kernel")
            assert asked == set()  # the client's own port carries no listener


def test_the_owner_reads_proc_where_netlink_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sockdiag, "listening_inodes", lambda port: None)
    with _listener(socket.AF_INET, "127.0.0.1") as sock:
        port = sock.getsockname()[1]
        assert portowner.listening_inodes(port) == {_inode(sock)}
        holders = portowner.holders(port)
        assert [h.pid for h in holders] == [os.getpid()]
