"""Where a stack keeps its state: `.devstack/` beside the manifest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# sun_path holds 108 bytes on Linux; leave room for the terminating NUL and some margin.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class StackPaths:
    root: Path  # the manifest's folder

    @property
    def state_dir(self) -> Path:
        return self.root / ".devstack"

    @property
    def stack_id(self) -> str:
        """Stable id of this stack on this machine: labels its processes."""
        import hashlib

        return hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]

    @property
    def socket(self) -> Path:
        preferred = self.state_dir / "daemon.sock"
        if len(str(preferred)) <= MAX_SOCKET_PATH:
            return preferred
        import tempfile

        # A deep checkout: fall back to a short private path keyed by the stack id.
        base = os.environ.get("XDG_RUNTIME_DIR") or str(
            Path(tempfile.gettempdir()) / f"devstack-{os.getuid()}"
        )
        return Path(base) / f"devstack-{self.stack_id}.sock"

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
