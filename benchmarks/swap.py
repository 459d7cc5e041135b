"""Swap of one backing service with 10 consumers, from the command to all 10 healthy again.

Each sample is the full CLI: `devstack swap uploads moto` (or `swap uploads --undo` to go
back; both directions count), which starts the other emulator, provisions the bucket there,
restarts exactly the consumers with the new env and waits until they are all healthy.
After each sample (outside the timing) the benchmark checks that every consumer runs with
the new AWS_ENDPOINT_URL_S3 and answers HTTP, and that the non-consumer was not restarted.

- process: 10 stdlib HTTP services on the host (plus 1 that uses nothing);
- docker: the same with 10 busybox httpd containers (they reach the host emulator through
  devstack's relay), skipped with a reason when no engine answers;
- compose baselines: the equivalent change in a docker-compose.yml (AWS_ENDPOINT_URL_S3 of
  the 10 containers moves to another port), timed from rewriting the file through
  `docker-compose up -d` to all 10 recreated and healthy. No emulator: it measures what
  compose does for the same change. Healthy is the engine's healthcheck (a `docker exec`
  every --compose-interval; shorter intervals load a small engine enough to slow compose
  itself: 10 containers at 100ms took ~15 s here, at 1s ~6.5 s), and, as a second
  baseline without that cost, answering HTTP on the published port (as devstack probes).
Usage: python benchmarks/swap.py [--consumers 10] [--rounds 5] [--compose-interval 1s]
Targets: <= 2 s on the process runtime, <= 5 s on Docker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import CLI, SERVICE, emit, free_ports, healthy, summary

IMAGE = "devstack-test/busybox:1"
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/www"]  # the image's /www/health says "ok"
BACKING = "  uploads: {kind: s3, bucket: b-uploads}"
HEALTH = "{http: /health, interval: 5s, start_interval: 50ms}"
CLI_TIMEOUT = 120.0
SWAP_TIMEOUT = "60"
COMPOSE_DEADLINE = 60.0
TARGETS = {"process": 2.0, "docker": 5.0}
Series = dict[str, list[float]]  # "all" and its breakdowns, in seconds


# -- running the CLI ---------------------------------------------------------------------


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess; on failure, its output and the daemon log tail."""
    cmd = [*CLI, *args]
    try:
        done = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, check=False, timeout=CLI_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"devstack {' '.join(args)}: no answer in {CLI_TIMEOUT:g}s\n"
                         f"{exc.stdout}\n{exc.stderr}\n{daemon_log(root)}") from None  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"devstack {' '.join(args)} failed ({done.returncode}):\n"
                         f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
                         f"{daemon_log(root)}")  # fmt: skip
    return done


def daemon_log(root: Path, lines: int = 40) -> str:
    """The tails of the daemon's own log and of its event log (what it did, when)."""
    text = ""
    for name in ("daemon.log", "logs/devstack.log"):
        log = root / ".devstack" / name
        tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
        text += f"--- .devstack/{name} tail\n" + ("\n".join(tail) or "(empty)") + "\n"
    return text


def down(root: Path) -> None:
    if (root / "devstack.yaml").exists():
        cmd = [sys.executable, "-m", "devstack.cli.main", "down"]
        subprocess.run(cmd, cwd=root, capture_output=True, check=False, timeout=CLI_TIMEOUT)


def status(root: Path) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in json.loads(cli(root, "status", "--json").stdout)["services"]}


def endpoint(root: Path) -> str:
    rows = json.loads(cli(root, "backing", "--json").stdout)
    return str(next(r for r in rows if r["name"] == "uploads")["endpoint"])


# -- the stacks --------------------------------------------------------------------------


def write_process_stack(root: Path, name: str, consumers: int) -> list[int]:
    """`consumers` HTTP services that use `uploads`, plus `plain` that uses nothing."""
    (root / "svc.py").write_text(SERVICE)
    ports = free_ports(consumers + 1)
    lines = [f"name: {name}", "backing:", BACKING, "services:"]
    for index, port in enumerate(ports):
        lines += [
            f"  {'plain' if index == consumers else f'c{index}'}:",
            f"    command: {sys.executable} svc.py",
            f'    ports: ["{port}"]',
            f"    healthcheck: {HEALTH}",
            "    stop_grace: 2s",
        ]
        if index < consumers:
            lines.append("    uses: [uploads]")
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")
    return ports[:consumers]


def write_docker_stack(root: Path, name: str, consumers: int) -> None:
    lines = [f"name: {name}", "backing:", BACKING, "services:"]
    for index in range(consumers + 1):
        lines += [
            f"  {'plain' if index == consumers else f'c{index}'}:",
            f"    image: {IMAGE}",
            f"    command: {json.dumps(HTTPD)}",
            '    ports: ["8080"]',
            f"    healthcheck: {HEALTH}",
            "    stop_grace: 1s",
        ]
        if index < consumers:
            lines.append("    uses: [uploads]")
    (root / "devstack.yaml").write_text("\n".join(lines) + "\n")


# -- checks after a swap (not timed) -----------------------------------------------------


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").partition("=") for item in raw if item)
    return {k: v for k, _, v in pairs}


def check_process(root: Path, consumers: int, plain_pid: int) -> None:
    want = endpoint(root)
    services = status(root)
    for index in range(consumers):
        svc = services[f"c{index}"]
        got = environ(svc["pid"]).get("AWS_ENDPOINT_URL_S3")
        if got != want or svc["state"] != "running" or not healthy(svc["ports"][0]):
            raise SystemExit(f"c{index} after the swap: AWS_ENDPOINT_URL_S3={got} (want {want}),"
                             f" state {svc['state']}\n{daemon_log(root)}")  # fmt: skip
    if services["plain"]["pid"] != plain_pid:
        raise SystemExit(f"the non-consumer was restarted by the swap\n{daemon_log(root)}")


def check_docker(root: Path, api: Any, stack: str, consumers: int, plain_id: str) -> None:
    port = endpoint(root).rsplit(":", 1)[1]
    want = f"http://host.docker.internal:{port}"
    found = containers(api, stack)
    services = status(root)
    for index in range(consumers):
        name = f"c{index}"
        env = dict(e.partition("=")[::2] for e in api.inspect_container(found[name])["Config"]["Env"])  # fmt: skip
        got = env.get("AWS_ENDPOINT_URL_S3")
        if got != want or services[name]["state"] != "running":
            raise SystemExit(f"{name} after the swap: AWS_ENDPOINT_URL_S3={got} (want {want}), "
                             f"state {services[name]['state']}\n{daemon_log(root)}")  # fmt: skip
        if not healthy(services[name]["ports"][0]):
            raise SystemExit(f"{name} does not answer after the swap\n{daemon_log(root)}")
    if found["plain"] != plain_id:
        raise SystemExit(f"the non-consumer was recreated by the swap\n{daemon_log(root)}")


def containers(api: Any, stack: str) -> dict[str, str]:
    """Service -> container id, by devstack's labels (running ones only)."""
    listed = api.containers(filters={"label": f"devstack.stack-name={stack}"})
    return {c["Labels"]["devstack.service"]: c["Id"] for c in listed}


# -- the devstack variants ---------------------------------------------------------------


def swap_rounds(root: Path, rounds: int, consumers: int, check: Any) -> Series:
    """`rounds` x (swap to moto, swap back): every command timed, every result checked."""
    series: Series = {"all": [], "moto": [], "undo": [], "reported": []}
    for _ in range(rounds):
        for key, args in (("moto", ("uploads", "moto")), ("undo", ("uploads", "--undo"))):
            start = time.perf_counter()
            done = cli(root, "swap", *args, "--timeout", SWAP_TIMEOUT)
            took = time.perf_counter() - start
            said = re.search(rf"{consumers} service\(s\) healthy in ([0-9.]+)s", done.stderr)
            if said is None:
                raise SystemExit(f"devstack swap {' '.join(args)}: unexpected output:\n"
                                 f"{done.stdout}{done.stderr}{daemon_log(root)}")  # fmt: skip
            series["all"].append(took)
            series[key].append(took)
            series["reported"].append(float(said.group(1)))
            check()
    return series


def process_variant(base: Path, rounds: int, consumers: int) -> Series:
    root = base / "process"
    root.mkdir()
    write_process_stack(root, f"swp{uuid.uuid4().hex[:8]}", consumers)
    try:
        cli(root, "up", "-d", "--wait")
        plain = status(root)["plain"]["pid"]
        return swap_rounds(root, rounds, consumers, lambda: check_process(root, consumers, plain))
    finally:
        down(root)


def docker_client() -> tuple[Any, str | None]:
    """A low-level client for the engine devstack uses (DOCKER_HOST, context), or None and why."""
    try:
        import docker

        from devstack.runtimes.docker_engine import connect
    except ImportError:
        return None, "the docker SDK is not installed"
    try:
        api = connect()
        api.inspect_image(IMAGE)
    except docker.errors.ImageNotFound:
        return None, f"{IMAGE} is missing (scripts/test-images.sh builds it)"
    except Exception as exc:  # any failure to reach the engine means "skip"
        return None, f"no Docker engine ({type(exc).__name__}: {exc})"
    return api, None


def docker_variant(base: Path, api: Any, rounds: int, consumers: int) -> Series:
    root = base / "docker"
    root.mkdir()
    stack = f"swd{uuid.uuid4().hex[:8]}"
    write_docker_stack(root, stack, consumers)
    try:
        cli(root, "up", "-d", "--wait")
        plain = containers(api, stack)["plain"]
        check = lambda: check_docker(root, api, stack, consumers, plain)  # noqa: E731
        return swap_rounds(root, rounds, consumers, check)
    finally:
        down(root)
        leftover = api.containers(all=True, filters={"label": f"devstack.stack-name={stack}"})
        if leftover:
            print(f"warning: {len(leftover)} container(s) of {stack} left after `down`")


# -- the compose baseline ----------------------------------------------------------------


def compose_file(
    folder: Path, consumers: int, ports: list[int], emulator_port: int, interval: str | None
) -> None:
    """The same containers; `interval`: a docker healthcheck probing that often, or none."""
    url = f"http://host.docker.internal:{emulator_port}"
    services = {}
    for index, port in enumerate(ports):
        entry: dict[str, Any] = {
            "image": IMAGE,
            "command": HTTPD,
            "init": True,
            "stop_grace_period": "1s",
            "ports": [f"127.0.0.1:{port}:8080"],
            # The engine's bridge, not a project network: on Docker 20.10 recreating
            # containers in parallel can leave a project network with a phantom endpoint
            # that `down` cannot remove (seen here), leaking one network per run.
            "network_mode": "bridge",
            "extra_hosts": ["host.docker.internal:host-gateway"],
        }
        if interval is not None:
            probe = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
            entry["healthcheck"] = {"test": probe, "interval": interval, "timeout": "2s",
                                    "retries": 100}  # fmt: skip
        if index < consumers:
            entry["environment"] = {"AWS_ENDPOINT_URL_S3": url, "AWS_ENDPOINT_URL": url}
        services["plain" if index == consumers else f"c{index}"] = entry
    text = json.dumps({"version": "2.4", "services": services}, indent=1)
    (folder / "docker-compose.yml").write_text(text)


def compose_state(api: Any, project: str) -> dict[str, tuple[str, str, str | None]]:
    """Service -> (container id, health, AWS_ENDPOINT_URL_S3) of the project's containers."""
    found = {}
    for c in api.containers(all=True, filters={"label": f"com.docker.compose.project={project}"}):
        info = api.inspect_container(c["Id"])
        env = dict(e.partition("=")[::2] for e in info["Config"]["Env"] or [])
        health = (info["State"].get("Health") or {}).get("Status", info["State"]["Status"])
        service = c["Labels"]["com.docker.compose.service"]
        found[service] = (c["Id"], health, env.get("AWS_ENDPOINT_URL_S3"))
    return found


def compose_wait(
    api: Any, project: str, url: str, old: dict[str, Any], ports: dict[str, int] | None
) -> None:
    """Until every consumer is a new container with `url`, healthy (by the engine's
    healthcheck, or by answering HTTP on its port when `ports` is given)."""
    names = list(ports) if ports else [n for n in old if n != "plain"]
    deadline = time.monotonic() + COMPOSE_DEADLINE
    while True:
        state = compose_state(api, project)
        fresh = [n for n in names if n in state and state[n][2] == url and state[n][0] != old[n][0]]  # fmt: skip
        if len(fresh) == len(names):
            if ports is None and all(state[n][1] == "healthy" for n in names):
                return
            if ports is not None and all(healthy(ports[n]) for n in names):
                return
        if time.monotonic() >= deadline:
            raise SystemExit(f"compose: not all recreated and healthy in {COMPOSE_DEADLINE:g}s: "
                             f"{state}")  # fmt: skip
        time.sleep(0.02)


def compose_baseline(
    base: Path,
    api: Any,
    rounds: int,
    consumers: int,
    interval: str | None,
    binary: str = "docker-compose",
) -> Series:
    """Rewrite the consumers' AWS_ENDPOINT_URL_S3 + `docker-compose up -d` to all healthy."""
    folder = base / f"compose-{interval or 'http'}-{Path(binary).parent.name or 'v1'}"
    folder.mkdir()
    project = f"swc{uuid.uuid4().hex[:8]}"
    cmd = [binary, "-p", project]
    ports = free_ports(consumers + 1)
    by_name = None if interval else {f"c{i}": ports[i] for i in range(consumers)}
    emulator = free_ports(2)  # two ports to move between; nothing listens there
    series: Series = {"all": [], "command": []}
    try:
        compose_file(folder, consumers, ports, emulator[0], interval)
        run = lambda *a: subprocess.run([*cmd, *a], cwd=folder, capture_output=True,  # noqa: E731
                                        text=True, check=True, timeout=CLI_TIMEOUT)  # fmt: skip
        run("up", "-d")
        old = {f"c{i}": ("",) for i in range(consumers)}
        compose_wait(api, project, f"http://host.docker.internal:{emulator[0]}", old, by_name)
        for index in range(2 * rounds):
            port = emulator[(index + 1) % 2]
            old = compose_state(api, project)
            start = time.perf_counter()
            compose_file(folder, consumers, ports, port, interval)
            run("up", "-d")
            series["command"].append(time.perf_counter() - start)
            compose_wait(api, project, f"http://host.docker.internal:{port}", old, by_name)
            series["all"].append(time.perf_counter() - start)
            if compose_state(api, project)["plain"][0] != old["plain"][0]:
                raise SystemExit("compose recreated the container whose env did not change")
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"{' '.join(exc.cmd)} failed:\n{exc.stderr}") from None
    finally:
        gone = subprocess.run([*cmd, "down", "-t", "1", "--remove-orphans"], cwd=folder,
                              capture_output=True, text=True, check=False, timeout=CLI_TIMEOUT)  # fmt: skip
        if gone.returncode != 0:
            print(f"warning: docker-compose down failed ({gone.returncode}): "
                  f"{gone.stderr.strip().splitlines()[-1:]}")  # fmt: skip
    return series


# -- main --------------------------------------------------------------------------------


def figures(samples: list[float]) -> dict[str, float]:
    s = summary(samples)
    return {"p50_s": s["p50"], "p95_s": s["p95"], "max_s": max(samples), "n": s["n"]}


ROWS = {
    "all": "",
    "moto": "  swap uploads moto",
    "undo": "  swap uploads --undo",
    "reported": "  (CLI: commit->healthy)",
    "command": "  `up -d` returned",
}


def table(results: dict[str, Series], labels: dict[str, str]) -> None:
    print(f"\n{'variant':<32}{'n':>4}{'p50 s':>9}{'p95 s':>9}{'max s':>9}{'target':>8}")
    for name, series in results.items():
        for key, samples in series.items():
            if key == "all":
                label = labels[name]
                target = f"{TARGETS[name]:.1f}" if name in TARGETS else "-"
            else:
                label, target = ROWS[key], ""
            s = summary(samples)
            print(f"{label:<32}{s['n']:>4}{s['p50']:>9.3f}{s['p95']:>9.3f}{max(samples):>9.3f}"
                  f"{target:>8}")  # fmt: skip
    print()


def loads(started: tuple[float, float, float]) -> None:
    """Other work on the machine moves these figures: say how busy it was."""
    now = os.getloadavg()
    print(f"load average (1/5/15 min) at start {started[0]:.2f}/{started[1]:.2f}/{started[2]:.2f}, "
          f"at end {now[0]:.2f}/{now[1]:.2f}/{now[2]:.2f}, on {os.cpu_count()} CPUs\n")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="swap there and back N times")
    parser.add_argument("--skip-docker", action="store_true")
    parser.add_argument("--compose-interval", default="1s",
                        help="docker healthcheck interval of the compose baseline (each probe "
                             "is a `docker exec`: shorter ones load the engine and slow it)")  # fmt: skip
    args = parser.parse_args()
    started_load = os.getloadavg()
    n = args.consumers
    results: dict[str, Series] = {}
    with tempfile.TemporaryDirectory(prefix="devstack-swapbench-") as tmp:
        base = Path(tmp)
        results["process"] = process_variant(base, args.rounds, n)
        api, why = (None, "--skip-docker") if args.skip_docker else docker_client()
        if api is None:
            print(f"docker: skipped: {why}")
        else:
            results["docker"] = docker_variant(base, api, args.rounds, n)
            if shutil.which("docker-compose") is None:
                print("compose baseline: skipped (docker-compose is not installed): no ratios")
            else:
                interval = args.compose_interval
                results["compose"] = compose_baseline(base, api, args.rounds, n, interval)
                results["compose_http"] = compose_baseline(base, api, args.rounds, n, None)
    labels = {
        "process": "devstack, processes",
        "docker": "devstack, docker",
        "compose": f"compose, healthcheck {args.compose_interval}",
        "compose_http": "compose, no healthcheck, HTTP",
    }
    table(results, labels)
    loads(started_load)
    baselines = {b: summary(results[b]["all"])["p50"] for b in ("compose", "compose_http")
                 if b in results}  # fmt: skip
    for name in ("process", "docker"):
        if name not in results:
            continue
        out: dict[str, object] = {"consumers": n, **figures(results[name]["all"])}
        out["target_s"] = TARGETS[name]
        out["cli_reported_p50_s"] = summary(results[name]["reported"])["p50"]
        for baseline, p50 in baselines.items():
            out[f"ratio_vs_{baseline}_p50"] = out["p50_s"] / p50  # type: ignore[operator]
        emit(f"swap_{name}", out)
    for baseline in baselines:
        extra = {"healthcheck_interval": args.compose_interval} if baseline == "compose" else {}
        emit(f"swap_{baseline}", {"consumers": n, **extra, **figures(results[baseline]["all"])})


if __name__ == "__main__":
    main()
