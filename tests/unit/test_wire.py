"""The CLI's HTTP/1.1 reader against a real Unix-socket peer sending what uvicorn sends."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest

from devstack.api.client import _query
from devstack.api.wire import Connection, ProtocolError


def serve_once(path: Path, reply: bytes) -> list[bytes]:
    """Listen at `path`; answer one connection with `reply`; the request lands in the list."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            seen.append(data)
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return seen


def test_a_sized_answer_is_read_whole_and_the_request_is_http_1_1(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    seen = serve_once(path, b'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"ok": true}')
    conn = Connection(path, 5.0)
    response = conn.request("POST", "/v1/up", b"{}", "application/json")
    assert response.status == 200
    assert response.read() == b'{"ok": true'  # exactly Content-Length bytes, no more
    conn.close()
    head = seen[0].decode()
    assert head.startswith("POST /v1/up HTTP/1.1\r\n")
    assert "Content-Length: 2\r\n" in head and "Connection: close\r\n" in head


def test_a_chunked_stream_comes_line_by_line_across_chunk_borders(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    body = b'{"a": 1}\n{"b"' + b": 2}\n"
    chunked = b"9\r\n" + body[:9] + b"\r\n" + f"{len(body) - 9:x}".encode() + b"\r\n"
    chunked += body[9:] + b"\r\n0\r\n\r\n"
    serve_once(path, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    conn = Connection(path, 5.0)
    lines = list(conn.request("GET", "/v1/logs").lines())
    conn.close()
    assert lines == [b'{"a": 1}\n', b'{"b": 2}\n']


def test_an_answer_cut_short_is_a_protocol_error_not_a_short_read(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    serve_once(path, b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this")
    conn = Connection(path, 5.0)
    response = conn.request("GET", "/v1/status")
    with pytest.raises(ProtocolError, match="closed the connection"):
        response.read()
    conn.close()


def test_something_else_than_http_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    serve_once(path, b"SSH-2.0-OpenSSH\r\n\r\n")
    conn = Connection(path, 5.0)
    with pytest.raises(ProtocolError, match="not an HTTP answer"):
        conn.request("GET", "/v1/health")
    conn.close()


def test_everyday_cli_commands_load_neither_http_client_nor_email() -> None:
    """The reason this module exists: `status` must not pay for http.client's imports."""
    code = (
        "import sys\n"
        "import devstack.cli.main, devstack.cli.stack_cmds, devstack.cli.up_cmd\n"
        "import devstack.api.client\n"
        "print(sorted(m for m in sys.modules if m in ('http.client', 'email.parser', 'ssl')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_daemon_runs_a_cold_up_before_it_imports_its_api() -> None:
    """What a cold `up` waits for (daemon/boot.py): the daemon's wiring must not pull in
    FastAPI or uvicorn, which only the API server imports, after the first `up`."""
    code = (
        "import sys\n"
        "import devstack.daemon.__main__, devstack.daemon.service, devstack.daemon.listen\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "params",
    [
        [("follow", "true"), ("since", repr(1765135034.123456)), ("tail", "20")],
        [("service", "web-1_x"), ("service", "api")],
        [("service", "a b&c=d")],
        [("service", "café")],
        [("since", "1e+20")],
        [("tail", "")],
    ],
)
def test_a_query_is_what_urlencode_writes(params: list[tuple[str, str]]) -> None:
    # Written by hand when nothing needs quoting (urllib.parse is 7 ms of `logs -n`).
    assert _query(params) == urlencode(params)
