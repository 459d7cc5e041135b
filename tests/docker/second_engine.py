"""A second real dockerd beside the first: its own data root, exec root, pid file, socket
and containerd namespace, no default bridge and no iptables rules (so it cannot clash with
the first engine's). The busybox test image is copied in from the first engine (nothing is
pulled). Started by the test, stopped (and its folder removed) after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import docker

from helpers import wait_for

START_TIMEOUT = 60.0


class SecondEngine:
    def __init__(self) -> None:
        # Short: containerd's sockets live under the exec root (sun_path is 108 bytes).
        self.root = Path(tempfile.mkdtemp(prefix="dsb-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        log = (self.root / "dockerd.log").open("ab")
        namespace = f"devstack-test-{self.root.name}"
        self.process = subprocess.Popen(
            [
                "dockerd",
                f"--data-root={self.root / 'data'}",
                f"--exec-root={self.root / 'exec'}",
                f"--pidfile={self.root / 'docker.pid'}",
                f"--host={self.host}",
                f"--containerd-namespace={namespace}",
                f"--containerd-plugins-namespace={namespace}-plugins",
                "--bridge=none",
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

    def log_tail(self) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
