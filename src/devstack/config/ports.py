"""Host ports for container ports declared without one (`ports: ["8080"]`).

A free port is picked once and remembered in `.devstack/ports.json`, so a service keeps its
URL across `up`s and daemon restarts, and the spec hash (which covers ports) stays stable.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from devstack.statefile import OnCorrupt, need_dict, need_int, read_state


def parse_ports(data: Any) -> dict[str, int]:
    """`{"<service>:<container port>": host port, ...}`, as `save` writes it."""
    return {key: need_int(port, key, 1, 65535) for key, port in need_dict(data, "the file").items()}


class PortAllocator:
    def __init__(self, path: Path | None = None, on_corrupt: OnCorrupt | None = None) -> None:
        """`on_corrupt`: the daemon moves a refused file aside (and the ports are picked
        again); readers without it only look."""
        self._path = path
        self._ports: dict[str, int] = {}
        self._dirty = False
        if path is not None:
            self._ports = read_state(path, parse_ports, {}, on_corrupt)

    def __call__(self, service: str, container_port: int) -> int:
        key = f"{service}:{container_port}"
        if key not in self._ports:
            self._ports[key] = _free_port(set(self._ports.values()))
            self._dirty = True
        return self._ports[key]

    def save(self) -> None:
        if self._path is None or not self._dirty:
            return
        from devstack.fsutil import write_json_atomic

        write_json_atomic(self._path, self._ports)
        self._dirty = False


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
