"""`ports:` entries in compose's short syntax, ranges and a `/udp` or `/tcp` suffix included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def port_spec(value: Any) -> Any:
    """The pydantic check of one `ports:` entry (a number is taken as its text)."""
    if isinstance(value, bool):
        raise ValueError("a port is a number such as 8000")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        port_mappings(value)
    return value


@dataclass(frozen=True)
class PortMapping:
    """`"8080"`, `"18080:8080"` or `"0.0.0.0:18080:8080"` (compose's short syntax)."""

    container: int
    host: int | None = None  # None: a free host port is assigned (containers only)
    host_ip: str = "127.0.0.1"  # loopback unless the manifest says otherwise
    protocol: str = "tcp"  # or udp (`"514:514/udp"`), as compose writes it


def port_mappings(text: str) -> list[PortMapping]:
    """One entry of `ports:`, ranges expanded: `"8000-8001:9000-9001"` is two mappings.

    A host range must be as long as the container range (compose would pick one free
    port of a longer host range; devstack assigns free ports itself when none is given).
    """
    spec, _, protocol = text.partition("/")
    if protocol not in ("", "tcp", "udp"):
        raise ValueError(f"invalid port {text!r}: the protocol is tcp or udp, not {protocol!r}")
    protocol = protocol or "tcp"
    parts = spec.rsplit(":", 2)
    container = _port_range(parts[-1], text)
    host = _port_range(parts[-2], text) if len(parts) > 1 else None
    ip = parts[0] if len(parts) == 3 else "127.0.0.1"
    if not ip:
        raise ValueError(f"invalid port {text!r}: the IP before the host port is empty")
    if host is None:
        return [PortMapping(port, None, ip, protocol) for port in container]
    if len(host) != len(container):
        raise ValueError(
            f"invalid port {text!r}: the host range and the container range differ in length"
        )
    return [PortMapping(c, h, ip, protocol) for h, c in zip(host, container, strict=True)]


def parse_port(text: str) -> PortMapping:
    """A single-port entry (the first mapping of a range)."""
    return port_mappings(text)[0]


def _port_range(text: str, entry: str) -> list[int]:
    low, sep, high = text.partition("-")
    bounds = [low, high] if sep else [low]
    for bound in bounds:
        if not bound.isdigit() or not 1 <= int(bound) <= 65535:
            raise ValueError(
                f"invalid port {entry!r}: expected PORT, HOST:CONTAINER or IP:HOST:CONTAINER "
                "with numbers from 1 to 65535"
            )
    first, last = int(bounds[0]), int(bounds[-1])
    if last < first:
        raise ValueError(f"invalid port {entry!r}: the range {text} goes down")
    return list(range(first, last + 1))
