"""devstack.daemon.peercred: the kernel's word on who connected, and a guarded uvicorn."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from asuser import connect_as, nobody

from devstack.daemon.peercred import (
    PeerCredentials,
    guarded_http,
    is_allowed,
    peer_credentials,
)
from devstack.daemon.server import bind_socket
from helpers import wait_for

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")


def test_peer_credentials_name_the_connecting_process() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        peer = peer_credentials(left)
    assert peer == PeerCredentials(os.getpid(), os.geteuid(), os.getegid())


def test_only_the_owner_and_root_are_allowed() -> None:
    assert is_allowed(PeerCredentials(1, 1000, 1000), owner_uid=1000)
    assert is_allowed(PeerCredentials(1, 0, 0), owner_uid=1000)
    assert not is_allowed(PeerCredentials(1, 1001, 1000), owner_uid=1000)
    assert not is_allowed(PeerCredentials(1, 65534, 65534), owner_uid=0)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"secret status"})


@pytest.fixture
def guarded_server() -> Iterator[Path]:
    """uvicorn on a world-connectable Unix socket, with the peer-credential guard."""
    folder = Path(tempfile.mkdtemp(prefix="dsp-"))
    folder.chmod(0o711)
    path = folder / "api.sock"
    sock = bind_socket(path)
    path.chmod(0o666)  # only the guard stands between another user and the app
    config = uvicorn.Config(_app, http=guarded_http(), lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10.0, "uvicorn to start")
        yield path
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        path.unlink(missing_ok=True)
        folder.rmdir()


def test_the_owner_is_served(guarded_server: Path) -> None:
    attempt = connect_as(os.geteuid(), os.getegid(), str(guarded_server))
    assert attempt.status == 200, attempt
    assert attempt.body == "secret status"


@needs_root
def test_another_user_gets_403_and_nothing_of_the_app(guarded_server: Path) -> None:
    attempt = connect_as(*nobody(), str(guarded_server))
    assert attempt.status == 403, attempt
    assert "permission denied" in attempt.body
    assert f"uid {nobody()[0]}" in attempt.body
    assert "secret" not in attempt.body


@needs_root
def test_the_server_keeps_serving_its_owner_after_a_refusal(guarded_server: Path) -> None:
    for _ in range(3):
        assert connect_as(*nobody(), str(guarded_server)).status == 403
    assert connect_as(os.geteuid(), os.getegid(), str(guarded_server)).status == 200
