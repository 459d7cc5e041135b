"""Host ports for container ports declared without one (`ports: ["8080"]`).

A free port is picked once and remembered in `.devstack/ports.json`, so a service keeps its
URL across `up`s and daemon restarts, and the spec hash (which covers ports) stays stable.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path


class PortAllocator:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._ports: dict[str, int] = {}
        self._dirty = False
        if path is not None:
            try:
                loaded = json.loads(path.read_text())
            except (OSError, ValueError):
                loaded = {}
            if isinstance(loaded, dict):
                self._ports = {k: v for k, v in loaded.items() if isinstance(v, int)}

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
