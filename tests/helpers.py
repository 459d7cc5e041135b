"""Helpers for tests that drive real stacks: free ports, polling, /proc scans, a stack dir.

Everything here runs the real CLI in a subprocess and looks at real processes; nothing is
mocked. A `Stack` is one manifest in its own folder; its processes are found by the
`DEVSTACK_OWNER` label the process runtime puts in every service's environment, and its
daemon by a marker variable the tests put in the environment of every CLI call.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PROC = Path("/proc")
OWNER_VAR = "DEVSTACK_OWNER"
# Set in the environment of every CLI call a test makes, so the daemon it spawns (which
# inherits the CLI's environment) can be found and, as a last resort, killed.
MARKER_VAR = "DEVSTACK_TEST_STACK"
CLI_TIMEOUT = 60.0

# The command as users run it (the console script's code path, with its daemon launched
# ahead for a cold `up`: api/prelaunch.py), whatever the venv's bin folder is.
DEVSTACK = [sys.executable, "-m", "devstack.cli.entry"]


# -- polling -----------------------------------------------------------------------------


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `predicate` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what} (last: {last!r})"
            )
        time.sleep(interval)
        last = predicate()
    return last


# -- ports -------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free on 127.0.0.1 a moment ago (bound to port 0)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def port_busy(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# -- /proc -------------------------------------------------------------------------------


def pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def environ(pid: int) -> dict[str, str]:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from field 3 (state) on: field N is at index N - 3."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = stat(pid)
    return int(fields[19]) if fields else None


def alive(pid: int, ticks: int | None = None) -> bool:
    """True while the process runs (a zombie counts as gone; so does a reused pid)."""
    fields = stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return False
    return ticks is None or int(fields[19]) == ticks


def _parent(pid: int) -> int | None:
    fields = stat(pid)
    return int(fields[1]) if fields else None


def pgid(pid: int) -> int | None:
    fields = stat(pid)
    return int(fields[2]) if fields else None


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            if table == "tcp":
                raw = bytes.fromhex(address)[::-1]
                found.add(".".join(str(b) for b in raw))
            else:
                found.add(address)
    return found


# -- a stack in a folder -----------------------------------------------------------------

SERVICE_SCRIPT = r'''
"""A tiny stdlib service whose behaviour the test picks with flags."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--name", required=True)
parser.add_argument("--ready-after", type=float, default=0.0)
parser.add_argument("--exit", type=int, default=None)
parser.add_argument("--on-term", choices=["exit", "ignore"], default="exit")
parser.add_argument("--term-delay", type=float, default=0.0)
parser.add_argument("--child", action="store_true")
parser.add_argument("--dump-env", action="store_true")
args = parser.parse_args()
name = args.name
started = time.time()


def write(suffix, data):
    path = Path(f"{name}.{suffix}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


print(f"{name}: started pid={os.getpid()}", flush=True)
print(f"{name}: to stderr", file=sys.stderr, flush=True)
if args.exit is not None:
    print(f"{name}: exiting with {args.exit}", flush=True)
    sys.exit(args.exit)
if args.dump_env:
    write("env", dict(os.environ))
    for key in sorted(os.environ):
        print(f"{name}: ENV {key}={os.environ[key]}", flush=True)
if args.child:
    child = subprocess.Popen(["sleep", "300"])
    write("child", child.pid)

if args.on_term == "ignore":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    def on_term(*_):
        write("term", time.time())
        print(f"{name}: SIGTERM, leaving in {args.term_delay}s", flush=True)
        time.sleep(args.term_delay)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)

ready = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health" and time.time() - started < args.ready_after:
            status, body = 503, b"not yet"
        else:
            status, body = 200, json.dumps({"name": name}).encode()
            if self.path == "/health" and not ready.is_set():
                ready.set()
                write("ready", time.time())
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


port = os.environ.get("PORT")
if port:
    server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    print(f"{name}: listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever(poll_interval=0.05)
else:
    while True:
        signal.pause()
'''


def service(
    name: str,
    *,
    port: int | None = None,
    flags: Iterable[str] = (),
    health: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A manifest entry running svc.py; an HTTP healthcheck by default when it has a port."""
    entry: dict[str, Any] = {"command": [sys.executable, "svc.py", "--name", name, *flags]}
    if port is not None:
        entry["ports"] = [str(port)]
    if health if health is not None else port is not None:
        entry["healthcheck"] = {
            "http": "/health",
            "interval": "200ms",
            "start_interval": "50ms",
            "retries": 50,
        }
    entry.update(extra)
    return entry


class Stack:
    """A stack folder with helpers to write its manifest and drive it through the CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    # -- files --

    @property
    def manifest(self) -> Path:
        return self.root / "devstack.yaml"

    @property
    def state_dir(self) -> Path:
        return self.root / ".devstack"

    @property
    def socket(self) -> Path:
        return self.state_dir / "daemon.sock"

    @property
    def stack_id(self) -> str:
        # As devstack.state.paths.StackPaths.stack_id: labels the stack's processes.
        return hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:12]

    def write_script(self) -> None:
        (self.root / "svc.py").write_text(SERVICE_SCRIPT)

    def write(self, services: dict[str, Any], name: str = "t", **top: Any) -> None:
        """Write devstack.yaml (and svc.py) for these services."""
        self.write_script()
        doc = {"name": name, **top, "services": services}
        self.manifest.write_text(yaml.safe_dump(doc, sort_keys=False))

    def write_text(self, text: str) -> None:
        self.write_script()
        self.manifest.write_text(text)

    def read_json(self, filename: str) -> Any:
        return json.loads((self.root / filename).read_text())

    def has_file(self, filename: str) -> bool:
        return (self.root / filename).exists()

    # -- the CLI --

    def cli_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DEVSTACK_TEST_LEAK", None)
        env["NO_COLOR"] = "1"
        # Most tests drive changes through `up` and check its plan: live reload would apply
        # a manifest edit before that `up`. Its own tests turn it back on.
        env["DEVSTACK_WATCH"] = "0"
        env[MARKER_VAR] = str(self.root)
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*DEVSTACK, *args],
            cwd=self.root,
            env=self.cli_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a command that must succeed; its output is in the assertion message if not."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, describe(result, self)
        return result

    def up(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """`up -d --wait`; then every declared service must run, healthy if it is checked."""
        result = self.ok("up", "-d", "--wait", *args, **kwargs)
        self.assert_healthy()
        return result

    def assert_healthy(self) -> None:
        checked = self.healthchecked()
        for name, s in self.live().items():
            if s["state"] == "orphan" or (s["state"] == "stopped" and s["replicas"] == 0):
                continue  # replicas: 0 (a compose profile, a scale to 0) is meant to be down
            assert s["state"] == "running", f"{name} is {s['state']} after `up --wait`: {s}"
            if name in checked:
                assert s["health"] == "healthy", f"{name} is not healthy after `up --wait`: {s}"

    def healthchecked(self) -> set[str]:
        """Names of the services the manifest gives a healthcheck."""
        doc = yaml.safe_load(self.manifest.read_text())
        return {name for name, s in doc["services"].items() if s.get("healthcheck")}

    def status(self) -> dict[str, Any]:
        result = self.ok("status", "--json")
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def services(self) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in self.status()["services"]}

    def pids(self) -> dict[str, int | None]:
        return {name: s["pid"] for name, s in self.services().items()}

    def live(self) -> dict[str, dict[str, Any]]:
        """Like services(), straight from the daemon's API: cheap enough to poll."""
        conn = _UnixHTTPConnection(str(self.socket))
        try:
            conn.request("GET", "/v1/status")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == 200, body
        return {s["name"]: s for s in json.loads(body)["services"]}

    # -- processes --

    def owned(self) -> dict[int, str]:
        """pid -> DEVSTACK_OWNER of every live process labelled with this stack's id."""
        prefix = f"{self.stack_id}:"
        found = {}
        for pid in pids():
            owner = environ(pid).get(OWNER_VAR, "")
            if owner.startswith(prefix) and alive(pid):
                found[pid] = owner
        return found

    def group_leaders(self) -> dict[int, str]:
        """The owned processes that lead their process group: one per service instance."""
        return {pid: owner for pid, owner in self.owned().items() if pgid(pid) == pid}

    def daemons(self) -> list[int]:
        """Live daemon processes started for this stack by the tests' CLI calls."""
        found = []
        for pid in pids():
            if environ(pid).get(MARKER_VAR) != str(self.root) or not alive(pid):
                continue
            try:
                cmdline = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"devstack.daemon" in cmdline:
                found.append(pid)
        # A child the daemon is forking (a service between fork and exec) still shows the
        # daemon's command line for a moment: it is not a second daemon.
        return [pid for pid in found if _parent(pid) not in found]

    def leftovers(self) -> list[int]:
        return sorted({*self.owned(), *self.daemons()})

    def kill_everything(self) -> None:
        """Last resort: SIGKILL the daemon and every process group of this stack."""
        for pid in self.daemons():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in self.owned():
            group = pgid(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if group and group > 1:
                    os.killpg(group, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """`devstack down` if a daemon answers, then kill whatever is left."""
        if self.socket.exists() or self.daemons():
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.run("down", timeout=30)
        with contextlib.suppress(AssertionError):
            wait_for(lambda: not self.leftovers(), 5.0, "the stack's processes to exit")
        if self.leftovers():
            self.kill_everything()
            wait_for(lambda: not self.leftovers(), 5.0, "killed processes to disappear")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("devstack", timeout=10)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def describe(result: subprocess.CompletedProcess[str], stack: Stack | None = None) -> str:
    text = (
        f"$ devstack {' '.join(result.args[3:])}\nexit code {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    if stack is not None:
        log = stack.state_dir / "daemon.log"
        if log.exists():
            text += f"\n--- daemon.log (tail)\n{log.read_text()[-2000:]}"
    return text
