"""`devstack status --json` with N containers, against one label-filtered SDK list call.

Usage: python benchmarks/docker_status.py [--services 100] [--samples 10]
Target (issue 3): status with 100 containers <= 150 ms.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).parent))
from common import devstack, emit, summary
from docker_up import write_stack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    cli: list[float] = []
    sdk: list[float] = []
    with tempfile.TemporaryDirectory(prefix="devstack-dstatus-") as tmp:
        root = Path(tmp)
        write_stack(root, args.services)
        try:
            devstack(root, "up", "-d", "--wait", "--wait-timeout", "600")
            api = docker.APIClient(version="auto")
            for _ in range(args.samples):
                start = time.perf_counter()
                devstack(root, "status", "--json")
                cli.append(time.perf_counter() - start)
                start = time.perf_counter()
                api.containers(filters={"label": "devstack.stack-name=dbench"})
                sdk.append(time.perf_counter() - start)
        finally:
            subprocess.run([sys.executable, "-m", "devstack.cli.main", "down"], cwd=root,
                           capture_output=True, check=False)  # fmt: skip
    ours, raw = summary(cli), summary(sdk)
    emit("docker_status", {"containers": args.services, "status_p50_s": ours["p50"],
         "status_p95_s": ours["p95"], "sdk_list_p50_s": raw["p50"], "target_s": 0.15})  # fmt: skip


if __name__ == "__main__":
    main()
