"""A real sshd on loopback, with keys made for the test, in front of the real dockerd.

Debian's openssh-server (scripts/servers-setup.sh installs it) runs in the foreground on a
free port of 127.0.0.1, with its own host key, one authorized client key and no password
login. The client side is a home folder of its own: `~/.ssh/id_ed25519` and a
`known_hosts` that names the server's key, which is exactly what the Docker SDK's paramiko
connection reads (it rejects unknown host keys). CLI calls get `HOME` pointed there.

`DOCKER_HOST=ssh://root@127.0.0.1:PORT` then reaches this machine's dockerd through the
server (`docker system dial-stdio` in a session), as it would reach a remote machine's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

from helpers import free_port, port_busy, wait_for

SSHD = Path("/usr/sbin/sshd")
START_TIMEOUT = 10.0


def sshd_missing() -> str | None:
    """Why no sshd can run here, or None."""
    if not SSHD.exists():
        return "openssh-server is not installed (scripts/servers-setup.sh installs it)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is not installed (openssh-client)"
    if os.geteuid() != 0:
        return "sshd tests log in as root through a server of their own: they run as root"
    return None


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return path.with_suffix(".pub").read_text().strip()


class Sshd:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.home = root / "home"  # the client's home: its key and known_hosts
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        server = root / "server"
        (server / "home").mkdir(parents=True)
        host_key = _keygen(server / "host_key")
        client_key = _keygen(ssh / "id_ed25519")
        (server / "authorized_keys").write_text(client_key + "\n")
        (ssh / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_key}\n")
        self.config = server / "sshd_config"
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {server / 'host_key'}",
                    f"AuthorizedKeysFile {server / 'authorized_keys'}",
                    f"PidFile {server / 'sshd.pid'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",  # the test's folders are not root's usual ones
                    "AllowTcpForwarding yes",  # the published ports' forwards
                    "ClientAliveInterval 5",
                    # The sessions (`docker system dial-stdio`) run in the login shell, which
                    # on Debian reads ~/.bashrc even for a command: an empty home here, so
                    # this machine's own shell set-up neither slows nor breaks them.
                    f"SetEnv HOME={server / 'home'}",
                    "",
                ]
            )
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def docker_host(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What a CLI call needs to use the engine through this server."""
        return {"HOME": str(self.home), "DOCKER_HOST": self.docker_host}

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation dir
        log = (self.root / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        process = self.process
        wait_for(
            lambda: process.poll() is not None or port_busy(self.port),
            START_TIMEOUT,
            f"sshd to listen on 127.0.0.1:{self.port}",
        )
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {self.log_tail()}")

    def kill(self) -> None:
        """Every process of this server, the listener and its sessions: the connections
        drop as they would with the network gone."""
        if self.process is None:
            return
        for pid in [*_descendants(self.process.pid), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        wait_for(lambda: not port_busy(self.port), 10, "sshd's port to close")
        self.process = None

    def log_tail(self) -> str:
        path = self.root / "sshd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found
