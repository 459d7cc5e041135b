"""A second real dockerd beside the first: its own data root, exec root, pid file, socket,
containerd namespace and default bridge, and no iptables rules, so it cannot clash with the
first engine. The busybox test image is copied in from the first engine (nothing is
pulled). Started by the test, stopped (and its folder and bridge removed) after it.

Not `--bridge=none`: a dockerd without a default bridge deletes the `docker0` interface,
which is the first engine's (same network namespace). The bridge is made here instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import docker

from helpers import wait_for

START_TIMEOUT = 60.0


class SecondEngine:
    def __init__(self) -> None:
        # Short: containerd's sockets live under the exec root (sun_path is 108 bytes).
        self.root = Path(tempfile.mkdtemp(prefix="dsb-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.bridge = f"dsb{uuid.uuid4().hex[:8]}"  # interface names: at most 15 characters
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", _free_subnet(), "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        log = (self.root / "dockerd.log").open("ab")
        # The bridge's hex id, not mkdtemp's suffix: that may hold "_", which containerd
        # refuses at the end of a namespace (a CI run failed on "devstack-test-dsb-18wsapl_").
        namespace = f"devstack-test-{self.bridge}"
        self.process = subprocess.Popen(
            [
                "dockerd",
                f"--data-root={self.root / 'data'}",
                f"--exec-root={self.root / 'exec'}",
                f"--pidfile={self.root / 'docker.pid'}",
                f"--host={self.host}",
                f"--containerd-namespace={namespace}",
                f"--containerd-plugins-namespace={namespace}-plugins",
                f"--bridge={self.bridge}",
                "--iptables=false",
                "--storage-driver=vfs",  # any filesystem; the test image is a few MB
            ],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        wait_for(self._answers, START_TIMEOUT, f"the second dockerd at {self.host}")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"the second dockerd exited: {self.log_tail()}")
        if not self.socket.exists():
            return False
        try:
            with contextlib.closing(docker.DockerClient(base_url=self.host, timeout=5)) as c:
                return bool(c.ping())
        except docker.errors.DockerException:
            return False

    def client(self) -> contextlib.closing[docker.DockerClient]:
        """`with engine.client() as client:` a client of this engine, closed after."""
        return contextlib.closing(docker.DockerClient(base_url=self.host, timeout=60))

    def load_image(self, source: docker.DockerClient, name: str) -> None:
        """Copy an image of the first engine into this one (`docker save | docker load`)."""
        data = b"".join(source.images.get(name).save(named=True))
        with self.client() as client:
            client.images.load(data)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Its containers' mounts live under the exec and data roots: unmount before removing.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            mounts = Path("/proc/mounts").read_text().splitlines()
            for line in reversed(mounts):
                point = line.split()[1]
                if point.startswith(str(self.root)):
                    subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        subprocess.run(["ip", "link", "del", self.bridge], check=False, capture_output=True)

    def log_tail(self) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _free_subnet() -> str:
    """An address for the bridge in a /24 of 10.213.0.0/16 that no route uses yet."""
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    for third in range(256):
        if f"10.213.{third}." not in routes:
            return f"10.213.{third}.1/24"
    raise RuntimeError("no free /24 in 10.213.0.0/16 for the second engine's bridge")
