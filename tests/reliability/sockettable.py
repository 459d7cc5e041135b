"""The machine's TCP listening sockets, from the kernel's tables, mapped to processes.

/proc/net/tcp and /proc/net/tcp6 list every socket of this network namespace with its
local address and inode; /proc/PID/fd links to `socket:[INODE]` for the sockets a process
holds. Together they say which process listens where, whatever the process claims.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # TCP_LISTEN in include/net/tcp_states.h

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Listener:
    host: Address
    port: int
    inode: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.host.version == 6 else str(self.host)
        return f"{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        host = self.host
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
            return host.ipv4_mapped.is_loopback
        return host.is_loopback


def _address(hex_address: str) -> Address:
    raw = bytes.fromhex(hex_address)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listeners() -> list[Listener]:
    """Every TCP socket in LISTEN state, IPv4 and IPv6."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != LISTEN:
                continue
            hex_address, hex_port = fields[1].split(":")
            found.append(Listener(_address(hex_address), int(hex_port, 16), int(fields[9])))
    return found


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open (empty if it is gone)."""
    inodes = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listeners_of(pids: set[int]) -> dict[int, list[Listener]]:
    """pid -> the TCP sockets it listens on, for the given processes."""
    table = {listener.inode: listener for listener in listeners()}
    result = {}
    for pid in pids:
        held = [table[inode] for inode in socket_inodes(pid) if inode in table]
        if held:
            result[pid] = held
    return result


def listening_on(port: int) -> list[Listener]:
    return [listener for listener in listeners() if listener.port == port]


def cmdline(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
