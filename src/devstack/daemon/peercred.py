"""Who may talk to the daemon: its own user and root, as the kernel says (SO_PEERCRED).

The socket's mode (0600) keeps other users out, except root, which bypasses file modes,
and except a socket that moved to a shared directory or was chmod-ed by hand. So the
daemon also asks the kernel who is at the other end of each connection and refuses any
uid other than its own and root's, before a byte of the request is read.

Wiring (uvicorn builds one protocol object per connection):

    uvicorn.Config(app, ..., http=guarded_http())
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any, Protocol

# struct ucred from <sys/socket.h>: pid_t pid; uid_t uid; gid_t gid (three 32-bit ints).
_UCRED = struct.Struct("3i")
ROOT_UID = 0
REFUSED_LINGER = 5.0  # seconds a refused client has to read the 403 before we close


class _HasSockopt(Protocol):
    """A socket, or asyncio's TransportSocket wrapper around one."""

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...


@dataclass(frozen=True)
class PeerCredentials:
    pid: int
    uid: int
    gid: int


def peer_credentials(sock: _HasSockopt) -> PeerCredentials:
    """The process at the other end of a connected Unix socket (as it was at connect())."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return PeerCredentials(pid, uid, gid)


def is_allowed(peer: PeerCredentials, owner_uid: int) -> bool:
    """Only the daemon's own user and root may drive it."""
    return peer.uid in (owner_uid, ROOT_UID)


def refusal(peer: PeerCredentials | None) -> bytes:
    """A complete HTTP 403 answer: the client then says why instead of "connection reset"."""
    who = "an unknown peer" if peer is None else f"uid {peer.uid}"
    body = (
        '{"error": "permission denied: this devstack daemon belongs to another user '
        f'({who} is not its owner)", "problems": []}}'
    ).encode()
    head = (
        "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


def check_transport(transport: asyncio.BaseTransport, owner_uid: int) -> PeerCredentials | None:
    """None if the peer may connect; otherwise what is known of it (for the refusal).

    Fails closed: a transport whose peer cannot be identified is refused."""
    sock = transport.get_extra_info("socket")
    try:
        peer = peer_credentials(sock)
    except (OSError, AttributeError, struct.error):
        return PeerCredentials(pid=0, uid=-1, gid=-1)
    return None if is_allowed(peer, owner_uid) else peer


def _refuse(transport: asyncio.BaseTransport, peer: PeerCredentials) -> None:
    """Answer 403 and half-close; the connection ends when the client closes its side.

    Closing at once would throw away the request the client already sent, and the kernel
    would then reset the connection: the client would see ECONNRESET, not the reason."""
    if isinstance(transport, asyncio.WriteTransport):
        transport.write(refusal(peer))
        if transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(REFUSED_LINGER, transport.close)
            return
    transport.close()


def guard(base: type[asyncio.Protocol], owner_uid: int | None = None) -> type[asyncio.Protocol]:
    """A subclass of a uvicorn HTTP protocol class that refuses other users' connections."""
    owner = os.geteuid() if owner_uid is None else owner_uid

    # `base` is only known at run time (h11 or httptools): mypy cannot check the subclass.
    class PeerChecked(base):  # type: ignore[valid-type,misc]
        _refused = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = check_transport(transport, owner)
            if peer is not None:
                self._refused = True
                print(
                    f"devstack: refused an API connection from uid {peer.uid} (pid {peer.pid})",
                    file=sys.stderr,
                    flush=True,
                )
                _refuse(transport, peer)
                return
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def eof_received(self) -> Any:
            # For a refused peer, None: asyncio then closes the transport.
            return None if self._refused else super().eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            # The base never saw this connection: it has nothing to clean up.
            if not self._refused:
                super().connection_lost(exc)

    PeerChecked.__name__ = PeerChecked.__qualname__ = f"PeerChecked{base.__name__}"
    return PeerChecked


def guarded_http(owner_uid: int | None = None) -> type[asyncio.Protocol]:
    """uvicorn's default HTTP protocol (httptools if installed, else h11), guarded."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return guard(AutoHTTPProtocol, owner_uid)
