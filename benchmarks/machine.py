"""What the figures were measured on: CPU, memory, kernel, tool versions, load average.

Figures from a shared or busy machine are noisy; the load average before and after a run
says how busy it was, so a reader can tell a regression from a neighbour's test suite.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(cmd: list[str]) -> str | None:
    """First line a tool prints about its version, None when absent or failing."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if done.returncode == 0 and text else None


def _distro() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _git_commit(tree: Path) -> str | None:
    got = _version(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"])
    if got is None:
        return None
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    return f"{got}{' (with uncommitted changes)' if dirty else ''}"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def describe(tree: Path) -> dict[str, Any]:
    """The machine and tools, taken once at the start of a run."""
    honcho = Path(sys.executable).with_name("honcho")
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": _distro(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker_server": _version(["docker", "version", "--format", "{{.Server.Version}}"]),
        "docker_compose": _version(["docker-compose", "version", "--short"]),
        "honcho": _version([str(honcho), "--version"]) if honcho.exists() else None,
        "devstack_commit": _git_commit(tree),
    }


def cache_bytecode(tree: Path) -> str:
    """Run devstack as users run it: with its modules' bytecode cached.

    An installed package has its .pyc files (pip writes them); an editable install writes
    them on first import. With PYTHONDONTWRITEBYTECODE set (some sandboxes and CI images
    set it), every CLI call and every daemon compiled devstack's ~200 modules from source
    while the baselines (honcho, docker-compose, the SDK, installed by pip) did not: up to
    0.2 s of a cold `up` that no user pays. The variable is dropped for everything this
    run starts, and the tree is compiled once up front so the first sample pays nothing.
    """
    dropped = os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(tree / "src")],
        check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return "compiled; PYTHONDONTWRITEBYTECODE was set and is dropped" if dropped else "compiled"
