"""Listening TCP sockets by port, asked of the kernel over netlink (sock_diag).

/proc/net/tcp prints every TCP socket of the machine: with the TIME_WAIT sockets that
health probes leave behind (hundreds while 50 services start), one read took 35 ms of
kernel time, once per service that turns healthy. A sock_diag dump asked for listening
sockets only walks the kernel's listening hash: the same answer for a fraction of the
cost. `listening_inodes` returns None where netlink sock_diag is not available (no
`inet_diag` in the kernel, a sandbox that forbids it): the caller then reads /proc.
"""

from __future__ import annotations

import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
TCP_LISTEN = 10

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
# inet_diag_req_v2: family, protocol, extensions, pad, states, then an inet_diag_sockid
# (ports, addresses, interface, cookie: 48 bytes) left zero for a dump.
_REQUEST = struct.Struct("=BBBBI48x")
# inet_diag_msg: family, state, timer, retransmits (4 bytes); the sockid (48 bytes, its
# source port first, big-endian); expires, rqueue, wqueue, uid (16 bytes); the inode.
_STATE = struct.Struct("=xB")
_PORT = struct.Struct("!4xH")
_INODE = struct.Struct("=68xI")


def listening_inodes(port: int) -> set[int] | None:
    """Inodes of the TCP sockets listening on `port` (IPv4 and IPv6), or None when the
    kernel cannot be asked this way."""
    found: set[int] = set()
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1.0)
            for family in (socket.AF_INET, socket.AF_INET6):
                found |= _dump(nl, family, port)
    except (OSError, ValueError, AttributeError):  # AttributeError: no AF_NETLINK (not Linux)
        return None
    return found


def _dump(nl: socket.socket, family: int, port: int) -> set[int]:
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN)
    header = _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY,
                          NLM_F_REQUEST | NLM_F_DUMP, family, 0)  # fmt: skip
    nl.send(header + body)
    found: set[int] = set()
    while True:
        data = nl.recv(65536)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
            if length < _HEADER.size:
                raise ValueError("malformed netlink message")
            if kind == NLMSG_DONE:
                return found
            if kind == NLMSG_ERROR:
                raise OSError("sock_diag refused the dump")
            if kind == SOCK_DIAG_BY_FAMILY:
                at = offset + _HEADER.size
                (state,) = _STATE.unpack_from(data, at)
                (sport,) = _PORT.unpack_from(data, at)
                if state == TCP_LISTEN and sport == port:
                    found.add(_INODE.unpack_from(data, at)[0])
            offset += (length + 3) & ~3  # NLMSG_ALIGN
