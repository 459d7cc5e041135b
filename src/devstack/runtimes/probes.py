"""Health probes that speak to the real thing: HTTP GET, TCP connect, or a command's exit code.

HTTP is preferred for web services: a TCP connect can succeed before the application is up
(a proxy or a listening socket without a ready app), an HTTP answer cannot.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
from collections.abc import Callable

from devstack.engine.ports import Probe
from devstack.model.desired import ContainerSpec, DesiredService, ProcessSpec
from devstack.model.manifest import HealthCheck

HOST = "127.0.0.1"
# How long a tcp check of a container waits for Docker's proxy to hang up (see TcpProbe);
# the proxy closes within a few ms when the container's port refuses.
PROXY_SETTLE = 0.1


class FunctionProbe:
    """A probe from a plain function (a container's exec check, say)."""

    def __init__(self, check: Callable[[float], bool]) -> None:
        self._check = check

    def check(self, timeout: float) -> bool:
        return self._check(timeout)


class HttpProbe:
    def __init__(self, port: int, path: str) -> None:
        self.port, self.path = port, path

    def check(self, timeout: float) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request("GET", self.path, headers={"User-Agent": "devstack-healthcheck"})
            status = conn.getresponse().status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
        return 200 <= status < 400


class TcpProbe:
    """Connects; with `settle`, also waits that long for the peer not to hang up at once.

    A published container port is answered by Docker's proxy, which accepts the
    connection even when nothing listens in the container and then closes it within
    milliseconds: a bare connect would call a dead container healthy.
    """

    def __init__(self, port: int, settle: float = 0.0) -> None:
        self.port, self.settle = port, settle

    def check(self, timeout: float) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=timeout) as conn:
                if self.settle <= 0:
                    return True
                conn.settimeout(min(self.settle, timeout))
                try:
                    # A peek leaves any greeting for nobody; b"" means the peer closed.
                    return conn.recv(1, socket.MSG_PEEK) != b""
                except TimeoutError:
                    return True  # still open and quiet: a listener took it
        except OSError:
            return False


class CommandProbe:
    def __init__(self, argv: list[str], cwd: str, env: dict[str, str]) -> None:
        self.argv, self.cwd, self.env = argv, cwd, env

    def check(self, timeout: float) -> bool:
        try:
            done = subprocess.run(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0


def probe_for(service: DesiredService, check: HealthCheck) -> Probe:
    spec = service.spec
    if check.http is not None:
        return HttpProbe(service.host_ports[0], check.http)
    if check.tcp is not None:
        settle = PROXY_SETTLE if isinstance(spec, ContainerSpec) else 0.0
        return TcpProbe(service.host_port_of(check.tcp), settle)
    command = check.command
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command or [])
    if not isinstance(spec, ProcessSpec):
        raise ValueError("a command healthcheck of a container runs inside it: use the runtime's")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **spec.env}
    return CommandProbe(argv, spec.workdir, env)
