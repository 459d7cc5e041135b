"""Forwards of published ports, on real loopback sockets: here the "channel" is a plain TCP
connection to a real server (over SSH it is a paramiko channel: tests/remote/ test that)."""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from devstack.runtimes.forwards import Channel, Forwards
from helpers import free_port, port_busy, wait_for


class SocketChannel:
    """A TCP connection with the few methods of a paramiko Channel a forward uses."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def fileno(self) -> int:
        return self._sock.fileno()

    def recv(self, nbytes: int) -> bytes:
        return self._sock.recv(nbytes)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)

    def shutdown_write(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._sock.close()


def open_socket(port: int, peer: tuple[str, int]) -> Channel:
    return SocketChannel(port)


@pytest.fixture
def upper_server() -> Iterator[int]:
    """Reads until the client finished sending, then answers it in capitals and closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def ask(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)  # the half-close must reach the server
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def test_a_forward_carries_both_ways(upper_server: int) -> None:
    events: list[str] = []
    forwards = Forwards(open_socket, events.append)
    local = ("127.0.0.1", free_port())
    try:
        forwards.ensure("c1", {local: upper_server})
        big = b"abc" * 200_000  # more than one chunk each way
        assert ask(local[1], big) == big.upper()
        assert forwards.listening() == {local: upper_server}
    finally:
        forwards.close()
    assert not port_busy(local[1])
    assert events == []


def test_forwards_follow_the_running_containers(upper_server: int) -> None:
    forwards = Forwards(open_socket, lambda _: None)
    a, b = ("127.0.0.1", free_port()), ("127.0.0.1", free_port())
    try:
        forwards.sync({"c1": {a: upper_server}, "c2": {b: upper_server}}, time.monotonic())
        assert port_busy(a[1]) and port_busy(b[1])
        listed_at = time.monotonic()
        # c2 stopped; c3 started while that listing was made: its forward stays.
        c = ("127.0.0.1", free_port())
        forwards.ensure("c3", {c: upper_server})
        forwards.sync({"c1": {a: upper_server}}, listed_at)
        wait_for(lambda: not port_busy(b[1]), 5, "c2's forward to close")
        assert set(forwards.listening()) == {a, c}
        assert ask(c[1], b"x") == b"X"
    finally:
        forwards.close()


def test_nothing_listening_there_hangs_up_at_once() -> None:
    forwards = Forwards(open_socket, lambda _: None)
    local = ("127.0.0.1", free_port())
    try:
        forwards.ensure("c1", {local: free_port()})  # nothing listens on the remote port
        # Closed at once (reset when the request it sent was not read), not left hanging.
        try:
            answer = ask(local[1], b"hello")
        except OSError as exc:
            # Reset, or hung up before our half-close could be sent: closed at once, either way.
            assert exc.errno in (errno.ECONNRESET, errno.ENOTCONN, errno.EPIPE), exc
            answer = b""
        assert answer == b""
    finally:
        forwards.close()


def test_a_port_taken_here_is_said_once_and_retried() -> None:
    events: list[str] = []
    forwards = Forwards(open_socket, events.append)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    local = ("127.0.0.1", holder.getsockname()[1])
    try:
        forwards.ensure("c1", {local: 1})
        forwards.ensure("c1", {local: 1})
        assert len(events) == 1
        assert events[0].startswith(f"cannot forward 127.0.0.1:{local[1]} from the engine:")
        holder.close()
        forwards.ensure("c1", {local: 1})
        assert events[-1] == f"forwarding 127.0.0.1:{local[1]} from the engine again"
        assert local in forwards.listening()
    finally:
        holder.close()
        forwards.close()
