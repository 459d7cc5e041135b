"""HTTP/1.1 over the daemon's Unix socket, as small as the daemon's answers need.

Why not the standard library's `http.client`: it imports `email.parser` and `ssl`, about
a quarter of what an everyday CLI call (`devstack status`) spends before it does anything
(measured in docs/performance.md); `h11` costs as much. The daemon is ours and speaks
one dialect (uvicorn): a request with `Connection: close`, an answer with Content-Length
or chunked transfer coding. That is all this module reads; anything else is a
ProtocolError, never a silent misread.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

TYPE_CHECKING = False  # not typing's, nor pathlib: see cli/fast.py
if TYPE_CHECKING:
    from os import PathLike

MAX_HEAD = 64 * 1024  # status line + headers: the daemon's are a few hundred bytes
READ = 65536


class ProtocolError(ConnectionError):
    """The answer was cut short or is not HTTP/1.1 as the daemon speaks it."""


class Response:
    """One answer: `status`, `headers` (lower-case names), then its body, read once."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        head = self._head()
        status_line, *lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP answer: {status_line[:80]!r}")
        self.status = int(parts[1])
        self.headers: dict[str, str] = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                self.headers[name.strip().lower()] = value.strip()
        self._chunks = self._body()

    def read(self) -> bytes:
        """The whole (rest of the) body."""
        return b"".join(self._chunks)

    def lines(self) -> Iterator[bytes]:
        """The body line by line as it arrives (NDJSON streams), the last one unended."""
        pending = b""
        for chunk in self._chunks:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line + b"\n"
        if pending:
            yield pending

    # -- parsing -------------------------------------------------------------------------

    def _recv(self) -> bytes:
        data = self._sock.recv(READ)
        if not data:
            raise ProtocolError("the daemon closed the connection mid-answer")
        return data

    def _head(self) -> bytes:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD:
                raise ProtocolError("answer headers too large")
            self._buffer += self._recv()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        return head

    def _body(self) -> Iterator[bytes]:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            yield from self._chunked()
        elif "content-length" in self.headers:
            yield from self._sized(int(self.headers["content-length"]))
        else:  # no length: the body runs until the daemon closes the connection
            if self._buffer:
                yield self._buffer
                self._buffer = b""
            while data := self._sock.recv(READ):
                yield data

    def _sized(self, length: int) -> Iterator[bytes]:
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        yield body

    def _chunked(self) -> Iterator[bytes]:
        while True:
            while b"\r\n" not in self._buffer:
                self._buffer += self._recv()
            size_line, _, self._buffer = self._buffer.partition(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_line[:20]!r}") from None
            if size == 0:
                return  # trailers, if any, are not read: the connection closes after this
            while len(self._buffer) < size + 2:
                self._buffer += self._recv()
            yield self._buffer[:size]
            self._buffer = self._buffer[size + 2 :]


class Connection:
    """One request and its answer on a fresh Unix-socket connection (`Connection: close`)."""

    def __init__(self, path: str | PathLike[str], timeout: float | None) -> None:
        self._path = str(path)
        self._timeout = timeout
        self.sock: socket.socket | None = None

    def request(
        self, method: str, target: str, body: bytes | None = None, content_type: str = ""
    ) -> Response:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        head = [f"{method} {target} HTTP/1.1", "Host: devstack", "Connection: close"]
        if body is not None:
            head += [f"Content-Length: {len(body)}"]
            if content_type:
                head += [f"Content-Type: {content_type}"]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b""))
        return Response(sock)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
