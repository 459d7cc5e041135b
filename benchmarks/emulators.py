"""Emulator start to ready, for each provider present: MiniStack, moto, LocalStack.

Each run starts the emulator as devstack's providers do, polls its readiness until a
deadline, records the seconds from spawn to ready and the memory it then holds, and stops it:

- ministack: `python -m ministack` (GATEWAY_PORT, BIND_HOST=127.0.0.1, state in a fresh
  folder), ready when /_ministack/health answers 200;
- moto: `python -m moto.server -H 127.0.0.1 -p PORT`, ready when /moto-api/ answers 200;
- localstack: `docker run -d -p 127.0.0.1:PORT:4566 -e SERVICES=s3,sqs` of the local test
  image, ready when /_localstack/health answers 200 and /_localstack/init/ready says
  completed (what devstack waits for before provisioning).
RSS: VmRSS of the process and its children from /proc; the container's `docker stats`.
"1st S3": the first S3 request after ready (services load lazily; provisioning pays it).
Baseline, in the same run: `python -c pass` with the same interpreter (the ratio says how
many bare interpreter starts an emulator start costs). A provider that is not installed
(or, for LocalStack, no engine or no image) is skipped with the reason.
Usage: python benchmarks/emulators.py [--rounds 5] [--only ministack,moto,localstack]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import emit, free_ports, summary

LOCALSTACK_IMAGE = "devstack-test/localstack:2026.3.0"
PROCESS_DEADLINE = 60.0
CONTAINER_DEADLINE = 180.0
S3_AUTH = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=00",
    "x-amz-date": "20260101T000000Z",
}
Run = tuple[float, float, float]  # seconds to ready, RSS MiB once ready, first S3 call s


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, str] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def answers(port: int, path: str) -> bool:
    got = get(port, path)
    return got is not None and got[0] == 200


def localstack_ready(port: int) -> bool:
    if not answers(port, "/_localstack/health"):
        return False
    got = get(port, "/_localstack/init/ready")
    return got is not None and got[0] == 200 and '"completed": true' in got[1].replace('":true', '": true')  # fmt: skip


def first_call(port: int) -> float:
    """Seconds for the first S3 request once ready (ListBuckets, `GET /`): emulators load a
    service's code lazily, and devstack's provisioning pays that. The signature is not
    checked, but LocalStack routes by the Authorization header's credential scope."""
    start = time.perf_counter()
    # LocalStack loads S3 on this call: 4 s on a quiet machine, over 5 s on a busy one.
    got = get(port, "/", S3_AUTH, timeout=60.0)
    took = time.perf_counter() - start
    return took if got is not None and "ListAllMyBucketsResult" in got[1] else float("nan")


def poll(ready: Callable[[], bool], deadline: float, alive: Callable[[], str | None],
         interval: float) -> None:  # fmt: skip
    """Until `ready()`; `alive()` returns why the emulator is gone (or None while it runs)."""
    end = time.monotonic() + deadline
    while not ready():
        gone = alive()
        if gone is not None:
            raise SystemExit(gone)
        if time.monotonic() >= end:
            raise SystemExit(f"not ready within {deadline:g}s")
        time.sleep(interval)


# -- processes ---------------------------------------------------------------------------


def tree_rss_kib(root: int) -> int:
    """VmRSS of `root` and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def run_process(name: str, work: Path) -> Run:
    """One start of a host-process emulator."""
    port = free_ports(1)[0]
    if name == "ministack":
        cmd = [sys.executable, "-m", "ministack"]
        state = work / f"state-{uuid.uuid4().hex[:8]}"
        env = {"GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "WARNING",
               "PERSIST_STATE": "1", "STATE_DIR": str(state / "state"),
               "S3_PERSIST": "1", "S3_DATA_DIR": str(state / "s3")}  # fmt: skip
        path = "/_ministack/health"
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        env, path = {}, "/moto-api/"
    log = work / f"{name}.log"
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=work, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:

        def alive() -> str | None:
            if proc.poll() is None:
                return None
            return f"{name} exited ({proc.returncode}) before ready:\n{log.read_text()[-2000:]}"

        poll(lambda: answers(port, path), PROCESS_DEADLINE, alive, 0.01)
        took = time.perf_counter() - start
        rss = tree_rss_kib(proc.pid) / 1024
        return took, rss, first_call(port)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the emulator's own process group, SIGKILL after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- the LocalStack container ------------------------------------------------------------


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=120)  # fmt: skip


def run_localstack() -> Run:
    port = free_ports(1)[0]
    name = f"emubench-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    docker("run", "-d", "--name", name, "--label", "devstack-bench=emulators",
           "-p", f"127.0.0.1:{port}:4566", "-e", "SERVICES=s3,sqs", LOCALSTACK_IMAGE)  # fmt: skip
    try:

        def alive() -> str | None:
            state = docker("inspect", "-f", "{{.State.Status}}", name, check=False).stdout.strip()
            if state in {"running", "created"}:
                return None
            tail = docker("logs", "--tail", "30", name, check=False)
            return f"localstack container {state} before ready:\n{tail.stdout}{tail.stderr}"

        poll(lambda: localstack_ready(port), CONTAINER_DEADLINE, alive, 0.05)
        took = time.perf_counter() - start
        usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).stdout
        rss = mib(usage.split("/")[0].strip())
        return took, rss, first_call(port)
    finally:
        docker("rm", "-f", "-v", name, check=False)  # -v: its anonymous data volume too


def mib(text: str) -> float:
    """`123.4MiB` (docker stats) in MiB."""
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "kB": 1e3 / 2**20,
             "MB": 1e6 / 2**20, "GB": 1e9 / 2**20}  # fmt: skip
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float("nan")


# -- what is present ---------------------------------------------------------------------


def missing(name: str) -> str | None:
    """Why this provider cannot run here, or None."""
    if name == "ministack":
        found = importlib.util.find_spec("ministack") is not None
        return None if found else "ministack is not installed (pip install ministack)"
    if name == "moto":
        found = all(importlib.util.find_spec(m) is not None for m in ("moto", "flask"))
        return None if found else "moto's server is not installed (pip install 'moto[server]')"
    if shutil.which("docker") is None:
        return "no docker CLI"
    if docker("version", "--format", "{{.Server.Version}}", check=False).returncode != 0:
        return "no Docker engine answers"
    if docker("image", "inspect", LOCALSTACK_IMAGE, check=False).returncode != 0:
        return f"{LOCALSTACK_IMAGE} is missing (scripts/test-images.sh --localstack builds it)"
    return None


def python_pass() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def loads(started: tuple[float, float, float]) -> None:
    """Other work on the machine moves these figures: say how busy it was."""
    now = os.getloadavg()
    print(f"load average (1/5/15 min) at start {started[0]:.2f}/{started[1]:.2f}/{started[2]:.2f}, "
          f"at end {now[0]:.2f}/{now[1]:.2f}/{now[2]:.2f}, on {os.cpu_count()} CPUs\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="ministack,moto,localstack",
                        help="comma-separated providers to measure")  # fmt: skip
    args = parser.parse_args()
    started_load = os.getloadavg()
    baseline = summary([python_pass() for _ in range(max(args.rounds, 5))])["p50"]
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="devstack-emubench-") as tmp:
        for name in args.only.split(","):
            why = missing(name)
            if why is not None:
                print(f"{name}: skipped: {why}")
                continue
            results[name] = [
                run_localstack() if name == "localstack" else run_process(name, Path(tmp))
                for _ in range(args.rounds)
            ]
    print(f"\n{'provider':<12}{'n':>4}{'ready p50 s':>13}{'p95 s':>8}{'max s':>8}"
          f"{'x python':>10}{'RSS MiB':>9}{'1st S3 s':>10}")  # fmt: skip
    print(f"{'python -c pass':<16}{baseline:>13.3f}{'':>16}{1.0:>10.1f}")
    for name, runs in results.items():
        times, rss, first = ([r[i] for r in runs] for i in range(3))
        s = summary(times)
        print(f"{name:<12}{s['n']:>4}{s['p50']:>13.3f}{s['p95']:>8.3f}{max(times):>8.3f}"
              f"{s['p50'] / baseline:>10.1f}{summary(rss)['p50']:>9.0f}"
              f"{summary(first)['p50']:>10.3f}")  # fmt: skip
    print()
    loads(started_load)
    for name, runs in results.items():
        times, rss, first = ([r[i] for r in runs] for i in range(3))
        s = summary(times)
        emit(f"emulator_ready_{name}", {"n": s["n"], "p50_s": s["p50"], "p95_s": s["p95"],
             "max_s": max(times), "python_pass_p50_s": baseline,
             "ratio_p50": s["p50"] / baseline, "rss_mib_p50": summary(rss)["p50"],
             "first_s3_call_p50_s": summary(first)["p50"]})  # fmt: skip


if __name__ == "__main__":
    main()
