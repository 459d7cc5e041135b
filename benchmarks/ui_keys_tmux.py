"""The TUI in a real terminal under a log flood: keypress -> the change on screen.

A real daemon runs `--services` host processes that together print `--rate` lines/s
(5,000 by default) once a flag file exists, and nothing before. `devstack ui` runs in a
tmux pane of 120x40. Keys go in with `tmux send-keys`; after each, `tmux capture-pane -p`
is polled in a tight, bounded loop until the screen shows what the key changes:

    2  Services -> Logs         until the log bar says "following"
    p  pause the log view       until it says "paused"
    p  follow again             until it says "following" (re-renders the kept lines)
    1  Logs -> Services         until the table header ("RESTARTS") is back

Keys come 0.3 s apart (after the change showed). The cycle runs first with the services
quiet (the baseline: tmux's own round trip, the app idle) and then for at least
`--seconds` of flood and at least `--presses` keys. It
prints p50/p95 per key kind and overall, the flood/quiet ratio, the flood's real rate
(lines the services wrote), and the UI process's RSS at start, after the baseline, and
at the end of the flood, its CPU use in each phase, and the machine's load average.

Usage: python benchmarks/ui_keys_tmux.py [--rate 5000] [--seconds 30] [--presses 60]
Target (issue 5): keypress -> repaint <= 100 ms p95 under 5,000 lines/s; memory bounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, summary

COLUMNS, ROWS = 120, 40
POLL_LIMIT = 10.0  # a key whose change does not show within this is reported as lost
PACE = 0.3  # between keys: a brisk user's pace; the next key starts from a settled screen
FLAG = "flood.on"

# Prints nothing until the flag file exists; then its share of the rate, in 10 ms batches.
FLOOD = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
name, rate, flag = os.environ["NAME"], float(os.environ["RATE"]), os.environ["FLAG"]
seq = 0
while True:
    if not os.path.exists(flag):
        time.sleep(0.05)
        continue
    started, written = time.monotonic(), 0
    while os.path.exists(flag):
        due = int((time.monotonic() - started) * rate)
        if due > written:
            lines = []
            for _ in range(due - written):
                seq += 1
                lines.append(f"{name} GET /orders/{seq} 200 in 3 ms (request {seq})\\n")
            sys.stdout.write("".join(lines))
            sys.stdout.flush()
            written = due
        time.sleep(0.01)
"""

# key, what the screen shows once the key took effect, kind
CYCLE = (
    ("2", "following", "view switch"),
    ("p", "paused", "pause"),
    ("p", "following", "follow (re-render)"),
    ("1", "RESTARTS", "view switch"),
)


@dataclass
class Phase:
    name: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    lost: int = 0
    rss: list[float] = field(default_factory=list)  # the UI's, after each cycle

    def add(self, kind: str, seconds: float) -> None:
        self.samples.setdefault(kind, []).append(seconds)

    @property
    def all(self) -> list[float]:
        return [s for values in self.samples.values() for s in values]

    @property
    def count(self) -> int:
        return len(self.all)


class Pane:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"devstack-bench-{uuid.uuid4().hex[:8]}"
        self.cwd, self.env = cwd, env
        self.path: Path | None = None  # the server's socket file

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True, text=True, timeout=10, check=False, env=self.env,
        )  # fmt: skip
        return done.stdout

    def start(self, command: str) -> int:
        self.tmux("new-session", "-d", "-x", str(COLUMNS), "-y", str(ROWS), "-s", "ui",
                  "-c", str(self.cwd), command)  # fmt: skip
        self.path = Path(self.tmux("display", "-p", "#{socket_path}").strip())
        return int(self.tmux("display", "-p", "-t", "ui", "#{pane_pid}").strip())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ui")

    def wait_for(self, text: str, limit: float = POLL_LIMIT) -> float | None:
        """Seconds until `text` is on screen (None past `limit`); a tight loop of captures."""
        began = time.perf_counter()
        while time.perf_counter() - began < limit:
            if text in self.screen():
                return time.perf_counter() - began
        return None

    def press(self, key: str, shows: str) -> float | None:
        """Send `key`; seconds until the screen shows `shows` (None if it never did)."""
        began = time.perf_counter()
        self.tmux("send-keys", "-t", "ui", key)
        waited = self.wait_for(shows)
        return None if waited is None else time.perf_counter() - began

    def kill(self) -> None:
        self.tmux("kill-server")
        if self.path is not None:
            self.path.unlink(missing_ok=True)  # tmux may leave its socket file behind


def write_stack(root: Path, services: int, rate: int) -> None:
    (root / "flood.py").write_text(FLOOD)
    lines = ["name: flood", "services:"]
    for index in range(services):
        lines += [
            f"  f{index}:",
            f"    command: {sys.executable} -u flood.py",
            f"    env: {{NAME: f{index}, RATE: '{rate / services}', FLAG: '{root / FLAG}'}}",
            "    stop_grace: 2s",
        ]
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (/proc/PID/stat fields 14 and 15)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lines_written(root: Path) -> int:
    """Lines the flood services wrote so far (their raw output files)."""
    total = 0
    for path in (root / ".devstack" / "run").glob("f*.out"):
        with path.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return total


def run_cycles(pane: Pane, pid: int, phase: Phase, presses: int, seconds: float) -> None:
    """Whole cycles until both `presses` keys and `seconds` have gone by."""
    began = time.monotonic()
    while phase.count < presses or time.monotonic() - began < seconds:
        for key, shows, kind in CYCLE:
            took = pane.press(key, shows)
            if took is None:
                phase.lost += 1
                print(f"  {phase.name}: {key!r} never showed {shows!r}", file=sys.stderr)
            else:
                phase.add(kind, took)
            time.sleep(PACE)
        phase.rss.append(rss_mb(pid))


def figures(phase: Phase) -> dict[str, object]:
    out: dict[str, object] = {}
    overall = summary(phase.all)
    out[f"{phase.name}_presses"] = phase.count
    out[f"{phase.name}_lost"] = phase.lost
    out[f"{phase.name}_p50_ms"] = overall["p50"] * 1000
    out[f"{phase.name}_p95_ms"] = overall["p95"] * 1000
    for kind, values in phase.samples.items():
        stats = summary(values)
        slug = kind.split(" (")[0].replace(" ", "_")
        out[f"{phase.name}_{slug}_p50_ms"] = stats["p50"] * 1000
        out[f"{phase.name}_{slug}_p95_ms"] = stats["p95"] * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000, help="lines/s, all services together")
    parser.add_argument("--services", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0, help="of flood, at least")
    parser.add_argument("--presses", type=int, default=60, help="per phase, at least")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed")

    root = Path(tempfile.mkdtemp(prefix="ds-uikeys-"))  # short: the socket path must fit
    env = {**os.environ, "DEVSTACK_WATCH": "0"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    write_stack(root, args.services, args.rate)
    pane = Pane(root, env)
    try:
        devstack(root, "up", "-d", "--wait")
        pid = pane.start(f"exec {sys.executable} -m devstack.cli.main ui")
        if pane.wait_for("connected", 30.0) is None or pane.wait_for("RESTARTS", 30.0) is None:
            raise SystemExit(f"the UI did not come up:\n{pane.screen()}")
        time.sleep(1.0)
        rss_start = rss_mb(pid)

        quiet = Phase("quiet")
        cpu, wall = cpu_seconds(pid), time.monotonic()
        run_cycles(pane, pid, quiet, args.presses, 0.0)
        quiet_cpu = (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)

        (root / FLAG).touch()
        time.sleep(3.0)  # the flood under way: the log view holds its full 10,000 lines
        written_before, flood_began = lines_written(root), time.monotonic()
        flood = Phase("flood")
        rss_flood_start = rss_mb(pid)
        cpu = cpu_seconds(pid)
        run_cycles(pane, pid, flood, args.presses, args.seconds)
        flood_seconds = time.monotonic() - flood_began
        flood_cpu = (cpu_seconds(pid) - cpu) / flood_seconds
        rate = (lines_written(root) - written_before) / flood_seconds
        (root / FLAG).unlink()

        results: dict[str, object] = {
            "rate_asked_lines_s": args.rate,
            "rate_measured_lines_s": round(rate),
            "pane": f"{COLUMNS}x{ROWS}",
            **figures(quiet),
            **figures(flood),
            "ratio_p50_flood_vs_quiet": summary(flood.all)["p50"] / summary(quiet.all)["p50"],
            "ratio_p95_flood_vs_quiet": summary(flood.all)["p95"] / summary(quiet.all)["p95"],
            "target_p95_ms": 100.0,
            "flood_seconds": round(flood_seconds, 1),
            "ui_cpu_quiet_pct": quiet_cpu * 100,
            "ui_cpu_flood_pct": flood_cpu * 100,
            "load_average_1m": os.getloadavg()[0],
            "ui_rss_start_mb": rss_start,
            "ui_rss_after_quiet_mb": quiet.rss[-1],
            "ui_rss_flood_start_mb": rss_flood_start,
            "ui_rss_flood_max_mb": max(flood.rss),
            "ui_rss_end_mb": flood.rss[-1],
            # Bounded memory levels off: the UI keeps 10,000 lines, whatever the flood's length.
            "ui_rss_flood_quartiles_mb": [
                round(flood.rss[min(len(flood.rss) - 1, len(flood.rss) * q // 4)], 1)
                for q in (1, 2, 3, 4)
            ],
        }
        emit("ui_keys_tmux", results)
    finally:
        pane.tmux("send-keys", "-t", "ui", "q")
        pane.kill()
        subprocess.run(
            [sys.executable, "-m", "devstack.cli.main", "down"],
            cwd=root, env=env, capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
