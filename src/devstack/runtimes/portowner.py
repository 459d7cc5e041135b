"""Is a TCP port free to listen on, and if not, which process holds it?

The kernel decides whether a port is in use, so the check is a bind() (SO_REUSEADDR, as
servers set it, so a connection lingering in TIME_WAIT does not count). Only to name the
holder do we read the socket tables: /proc/net/tcp{,6} give each listening socket's inode,
and /proc/PID/fd links to `socket:[INODE]` for the sockets a process holds. A process of
another user (or a container engine's proxy running as root) cannot be read: it has no
known owner.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.runtimes import sockdiag

PROC = Path("/proc")
LISTEN = "0A"  # TCP_LISTEN in include/net/tcp_states.h
CMDLINE_LIMIT = 80  # characters of the holder's command line a message quotes


@dataclass(frozen=True)
class Holder:
    """A process listening on a port: its pid and command line."""

    pid: int
    command: str


def in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing may listen on host:port now (another socket listens there)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def listening_inodes(port: int) -> set[int]:
    """Inodes of the sockets listening on `port`, on any address, IPv4 or IPv6."""
    asked = sockdiag.listening_inodes(port)
    return asked if asked is not None else proc_listening_inodes(port)


def proc_listening_inodes(port: int) -> set[int]:
    """The same, read from /proc/net/tcp{,6}: where netlink sock_diag is unavailable."""
    found: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(int(fields[9]))
    return found


def holders(port: int) -> list[Holder]:
    """The processes we can see holding a listening socket on `port` (lowest pid first)."""
    return holders_of(listening_inodes(port))


def holders_of(inodes: set[int]) -> list[Holder]:
    """The processes we can see holding one of these sockets (lowest pid first)."""
    if not inodes:
        return []
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        if _socket_inodes(entry) & inodes:
            found.append(Holder(int(entry.name), command_line(int(entry.name))))
    return sorted(found, key=lambda h: h.pid)


def describe(holder: Holder | None) -> str:
    """`pid 13361 (python3 -m http.server)`, or `another process` when unknown."""
    if holder is None:
        return "another process"
    command = holder.command
    if len(command) > CMDLINE_LIMIT:
        command = command[: CMDLINE_LIMIT - 1] + "…"
    return f"pid {holder.pid} ({command})" if command else f"pid {holder.pid}"


def command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def socket_fd(pid: int, inodes: set[int]) -> tuple[int, int] | None:
    """(fd, inode) of the first of these sockets that `pid` holds, if it holds one."""
    return next((held for held in _sockets(PROC / str(pid)) if held[1] in inodes), None)


def still_holds(pid: int, fd: int, inode: int) -> bool:
    """Does `pid` still hold socket `inode` as `fd`? One readlink: a listening socket keeps
    its port while it is open, so this re-checks a traced listener without reading the
    socket tables (the kernel walks every socket to print /proc/net/tcp)."""
    try:
        return str((PROC / str(pid) / "fd" / str(fd)).readlink()) == f"socket:[{inode}]"
    except OSError:
        return False


def _socket_inodes(proc_dir: Path) -> set[int]:
    return {inode for _, inode in _sockets(proc_dir)}


def _sockets(proc_dir: Path) -> Iterator[tuple[int, int]]:
    """(fd, inode) of each socket the process holds."""
    try:
        fds = list((proc_dir / "fd").iterdir())
    except OSError:  # gone, or another user's: not ours to read
        return
    for fd in fds:
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            yield int(fd.name), int(target[8:-1])


class TracedListeners:
    """Whether a port's listener belongs to an instance, remembered once traced.

    A healthy probe re-checks ownership every interval. Tracing a port to its holder reads
    the socket tables (the kernel walks every socket to print /proc/net/tcp) and every
    process's fds: 30 services doing that made an idle daemon use a fifth of a core. A
    listening socket keeps its port while it is open, so the holder pid, fd and inode once
    traced are re-checked with one readlink; any other socket is traced again.
    """

    def __init__(self) -> None:
        self._known: dict[Hashable, tuple[object, int, int, int]] = {}

    def held_by(
        self,
        key: Hashable,
        generation: object,
        port: int,
        ours: Callable[[int], bool],
        likely: int | None = None,
    ) -> bool:
        """True if a process `ours` accepts listens on `port`, or no holder can be seen
        (another user's). `generation` (an instance's start time) invalidates what was
        traced for an earlier instance under the same key. `likely` (the instance's own
        pid) is looked at first: usually it holds the port, and then no other process's
        fds are read (50 services starting at once each walked every process's fds)."""
        known = self._known.get(key)
        if known and known[0] == generation and still_holds(*known[1:]):
            return True
        inodes = listening_inodes(port)
        if likely is not None and inodes:
            held = socket_fd(likely, inodes)
            if held and ours(likely):
                self._known[key] = (generation, likely, *held)
                return True
        found = holders_of(inodes)
        if not found:
            return True
        for holder in found:
            if ours(holder.pid):
                held = socket_fd(holder.pid, inodes)
                if held:
                    self._known[key] = (generation, holder.pid, *held)
                return True
        return False

    def forget(self, key: Hashable) -> None:
        self._known.pop(key, None)
