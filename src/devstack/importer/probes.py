"""Healthchecks that devstack probes itself (no curl needed in the image, no exec per
probe): an HTTP GET of the service's first port (a plain `curl`/`wget` of localhost, or
the probe `export compose` writes for devstack's own `http:` check), and the TCP connect
`export compose` writes for a `tcp:` check."""

from __future__ import annotations

import re
from typing import Any

# `curl -f http://localhost:8080/health` or `wget -q --spider http://127.0.0.1:8080/`.
_HTTP_TEST = re.compile(
    r"^(?:curl\s+(?:--?[a-zA-Z-]+\s+)*|wget\s+(?:--?[a-zA-Z-]+\s+)*)"
    r"[\"']?http://(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d+)(/[^\s\"']*)?[\"']?"
    r"(?:\s*\|\|\s*exit\s+1)?$"
)
# What export/health.py writes for `http: PATH`: curl, else wget, else python3, whose
# urlopen carries devstack's own timeout (the test's timeout has the programs' start on top).
_EXPORTED = re.compile(
    r"^curl -fsS -o /dev/null '?http://127\.0\.0\.1:(\d+)(/[^\s']*)'? "
    r"\|\| wget -q -O /dev/null \S+ "
    r"\|\| python3 -c '.*u\.urlopen\(\"[^\"]+\", timeout=(\d+(?:\.\d+)?)\)'$"
)


def http_probe(command: str | list[str], first_port: int) -> tuple[str, dict[str, Any]] | None:
    """(path, the check's fields it implies) when the healthcheck only GETs the first
    port, else None."""
    text = (command if isinstance(command, str) else " ".join(command)).strip()
    exported = _EXPORTED.match(text)
    if exported is not None and int(exported.group(1)) == first_port:
        return exported.group(2), {"timeout": f"{float(exported.group(3)):g}s"}
    found = _HTTP_TEST.match(text)
    if found is None or int(found.group(1)) != first_port:
        return None
    return found.group(2) or "/", {}


# What export/health.py writes for `tcp: PORT`: nc -z, else nc until EOF, else python3,
# whose create_connection carries devstack's own timeout.
_EXPORTED_TCP = re.compile(
    r"^nc -z -w \d+ 127\.0\.0\.1 (\d+) 2>/dev/null "
    r"\|\| nc -w \d+ 127\.0\.0\.1 \1 </dev/null 2>/dev/null "
    r"\|\| python3 -c 'import socket; socket\.create_connection\(\(\"127\.0\.0\.1\", \1\), "
    r"(\d+(?:\.\d+)?)\)'$"
)


def tcp_probe(command: str | list[str]) -> tuple[int, dict[str, Any]] | None:
    """(the container port, the check's fields it implies) for the exported TCP check."""
    text = (command if isinstance(command, str) else " ".join(command)).strip()
    found = _EXPORTED_TCP.match(text)
    if found is None:
        return None
    return int(found.group(1)), {"timeout": f"{float(found.group(2)):g}s"}
