"""Connect to a Unix socket as another user: a forked child that drops to that uid first.

The tests run as root in CI. Root bypasses file modes, so the child gives up root
(setgroups, setgid, setuid) before it connects; the kernel then records the new uid as
the connection's peer credentials. The child only makes system calls and reports back
through a pipe, so forking from the (threaded) test process is safe.
"""

from __future__ import annotations

import errno
import os
import pwd
import socket
from dataclasses import dataclass

REQUEST = b"GET /v1/status HTTP/1.0\r\nHost: devstack\r\n\r\n"


@dataclass(frozen=True)
class Attempt:
    error: str | None  # errno name when connect/send failed, e.g. EACCES
    status: int | None  # HTTP status of the answer, if one came
    body: str

    @property
    def served(self) -> bool:
        return self.status == 200


def nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def connect_as(uid: int, gid: int, path: str, timeout: float = 10.0) -> Attempt:
    """Connect as uid:gid, send `GET /v1/status`, and say what came back."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.write(write_end, _attempt(path, timeout))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise AssertionError("the child could not switch user or report back")
    return _parse(b"".join(chunks))


def _attempt(path: str, timeout: float) -> bytes:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(REQUEST)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        return f"error {name}".encode()
    finally:
        sock.close()
    return data or b"error EOF"


def _parse(raw: bytes) -> Attempt:
    if raw.startswith(b"error "):
        return Attempt(raw[6:].decode(), None, "")
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    return Attempt(None, int(status_line[1]), body.decode(errors="replace"))
