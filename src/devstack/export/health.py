"""A devstack healthcheck as a command run inside the container (compose and ECS both
check health that way, while devstack probes from the host).

Which HTTP client an image has is unknown, so the HTTP and TCP checks try the usual ones
in turn: curl, then wget (busybox has it), then python3. A probe that none of them can
run reports unhealthy, which is visible, rather than healthy, which would hide it.
"""

from __future__ import annotations

import json
import math
import shlex

from devstack.model.desired import PortBinding
from devstack.model.manifest import HealthCheck

# devstack's timeout bounds one request from the host; inside the container the check also
# starts a program (python3 takes seconds on a loaded machine), so it gets this much more.
START_OVERHEAD = 5.0


def check_timeout(check: HealthCheck) -> float:
    """The timeout of the in-container check: for an HTTP or TCP probe (devstack's runs
    from the host), devstack's plus the start of the program that probes in its stead; a
    command or test runs in the container under devstack too, so its timeout is kept."""
    if check.http is None and check.tcp is None:
        return check.timeout
    return check.timeout + START_OVERHEAD


def health_test(check: HealthCheck, ports: tuple[PortBinding, ...]) -> list[str]:
    """The check as a Docker healthcheck `test` (`CMD` / `CMD-SHELL` form)."""
    if check.test is not None:  # compose's own form, as written
        return ["CMD-SHELL", check.test] if isinstance(check.test, str) else list(check.test)
    if check.command is not None:
        if isinstance(check.command, str):
            return ["CMD-SHELL", check.command]
        return ["CMD", *check.command]
    if check.http is not None:
        port = ports[0].container if ports else 80
        url = f"http://127.0.0.1:{port}{check.http}"
        # urlopen raises on a 4xx/5xx answer (exit 1), follows redirects like devstack's probe.
        python = (
            f"import urllib.request as u; u.urlopen({json.dumps(url)}, timeout={check.timeout:g})"
        )
        quoted = shlex.quote(url)
        return [
            "CMD-SHELL",
            f"curl -fsS -o /dev/null {quoted} || wget -q -O /dev/null {quoted} "
            f"|| python3 -c {shlex.quote(python)}",
        ]
    assert check.tcp is not None
    port = probe_port(check.tcp, ports)
    python = f'import socket; socket.create_connection(("127.0.0.1", {port}), {check.timeout:g})'
    wait = max(1, math.ceil(check.timeout))
    # `nc -z` (OpenBSD, GNU); busybox's nc has no -z but connects and exits on EOF.
    return [
        "CMD-SHELL",
        f"nc -z -w {wait} 127.0.0.1 {port} 2>/dev/null "
        f"|| nc -w {wait} 127.0.0.1 {port} </dev/null 2>/dev/null "
        f"|| python3 -c {shlex.quote(python)}",
    ]


def probe_port(port: int, ports: tuple[PortBinding, ...]) -> int:
    """devstack probes a container's TCP port from the host: a published host port is
    checked inside the container at the container port it maps to."""
    for binding in ports:
        if binding.host == port and binding.host != binding.container:
            return binding.container
    return port


def compose_duration(seconds: float) -> str:
    """`5s`, `1m30s`, `100ms`: compose's duration format."""
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    minutes, secs = divmod(whole, 60)
    if minutes and secs:
        return f"{minutes}m{secs}s"
    return f"{minutes}m" if minutes else f"{secs}s"


def whole_seconds(seconds: float, low: int, high: int) -> int:
    """Rounded up and clamped to what ECS accepts for a health-check field."""
    return max(low, min(high, math.ceil(seconds)))
