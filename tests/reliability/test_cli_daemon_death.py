"""A CLI command whose daemon dies in the middle of its request says so in one line.

Found by the fault injection (any command in flight when the daemon is SIGKILLed): the
client's connection is reset, and the CLI printed a Python traceback instead of an error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from helpers import Stack, service, wait_for


def test_a_command_in_flight_when_the_daemon_dies_fails_with_one_clear_line(
    stack: Stack,
) -> None:
    # `stop` waits in the daemon while the service takes its time to leave after SIGTERM:
    # the request is surely in flight when the daemon is killed.
    stack.write(
        {"slow": service("slow", flags=["--term-delay", "20"], stop_grace="30s", health=False)}
    )
    stack.up()
    cli = subprocess.Popen(
        [sys.executable, "-m", "devstack.cli.main", "stop", "slow"],
        cwd=stack.root,
        env=stack.cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: stack.has_file("slow.term"), 20.0, "slow to get SIGTERM")
    for pid in stack.daemons():
        os.kill(pid, signal.SIGKILL)

    _, err = cli.communicate(timeout=30)

    assert cli.returncode == 1, err
    assert "Traceback" not in err, err
    assert err.startswith("error: "), err
    assert len(err.strip().splitlines()) <= 3, err
