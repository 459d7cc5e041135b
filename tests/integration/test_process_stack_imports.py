"""A stack of host processes never loads the Docker SDK nor boto3: importing it (with requests and,
where the `remote` extra is installed, paramiko) cost a cold `up` 0.3 s on an idle machine,
paid before the first service started."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from devstack.daemon.service import Daemon

    daemon = Daemon(Path(sys.argv[1]), None)
    daemon.start()
    try:
        daemon.up(None, False)
        assert daemon.controller.wait_idle(20), "the up did not settle"
        print(daemon.status().services[0].state)
        print("docker" in sys.modules)
        print("boto3" in sys.modules)
    finally:
        daemon.down(5.0)
        daemon.close()
    """
)


def test_up_of_host_processes_does_not_import_docker(tmp_path: Path) -> None:
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(
        "name: plain\nservices:\n  sleeper:\n    command: sleep 30\n    stop_grace: 1s\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(manifest)],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "DEVSTACK_WATCH": "0", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    state, docker_loaded, boto3_loaded = done.stdout.split()
    assert state == "running"
    assert docker_loaded == "False"
    assert boto3_loaded == "False"  # 0.25 s: loaded by swap's data carry until it was lazy
