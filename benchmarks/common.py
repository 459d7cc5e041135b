"""Shared pieces of the benchmarks: a stack of N stdlib HTTP services, timing, free ports."""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The command users run: the venv's console script (with its daemon launched ahead on a
# cold `up`), else the same entry point through -m.
# DEVSTACK_BENCH_CLI overrides it, to measure another build with the same harness (e.g.
# "python -m devstack.cli.main" with PYTHONPATH at an older checkout's src/).
_SCRIPT = Path(sys.executable).with_name("devstack")
CLI = (
    shlex.split(os.environ["DEVSTACK_BENCH_CLI"])
    if os.environ.get("DEVSTACK_BENCH_CLI")
    else [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-m", "devstack.cli.entry"]
)

SERVICE = """
import os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def free_ports(count: int) -> list[int]:
    socks, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def write_stack(root: Path, count: int) -> list[int]:
    """A manifest with `count` independent HTTP services with http healthchecks."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "svc.py").write_text(SERVICE)
    ports = free_ports(count)
    lines = ["name: bench", "services:"]
    for index, port in enumerate(ports):
        lines += [
            f"  s{index}:",
            f"    command: {sys.executable} svc.py",
            f'    ports: ["{port}"]',
            "    healthcheck: {http: /health, interval: 5s, start_interval: 50ms}",
            "    stop_grace: 2s",
        ]
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")
    return ports


def healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def devstack(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [*CLI, *args]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"devstack {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


def timed(func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    return time.perf_counter() - start


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def emit(name: str, figures: dict[str, object]) -> None:
    """Print a human line and a JSON line (for the harness that collects results)."""
    print(f"{name}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in figures.items()))
    print("JSON " + json.dumps({"benchmark": name, **figures}))


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def process_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def env_without_color() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}
