"""Where a stack keeps its state: `.devstack/` beside the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack.state import daemon_socket
from devstack.state.daemon_socket import STATE_DIR


@dataclass(frozen=True)
class StackPaths:
    root: Path  # the manifest's folder

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def stack_id(self) -> str:
        """Stable id of this stack on this machine: labels its processes."""
        return daemon_socket.stack_id(str(self.root))

    @property
    def socket(self) -> Path:
        return Path(daemon_socket.socket_path(str(self.root)))

    @property
    def lock(self) -> Path:
        return self.state_dir / "daemon.lock"

    @property
    def daemon_log(self) -> Path:
        return self.state_dir / "daemon.log"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def overrides(self) -> Path:
        return self.state_dir / "overrides.json"

    @property
    def restarts(self) -> Path:
        return self.state_dir / "restarts.json"

    @property
    def processes(self) -> Path:
        return self.state_dir / "processes.json"

    def ensure(self) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
