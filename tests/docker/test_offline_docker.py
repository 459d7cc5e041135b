"""Containers outlive their daemon: without it, `status` still lists them from their labels
and `down` stops and removes them, as compose does without any daemon."""

from __future__ import annotations

import json
import os
import signal

from dockerstack import DockerStack, web

from helpers import alive, wait_for


def test_without_its_daemon_a_container_stack_is_visible_and_stoppable(
    dstack: DockerStack,
) -> None:
    dstack.write({"web": web(stop_grace="1s")})
    dstack.up()
    (container_id,) = dstack.ids().values()
    (daemon,) = dstack.daemons()
    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: not alive(daemon), 5.0, "the daemon to die")

    table = dstack.ok("status").stdout
    assert table.splitlines()[0] == (
        "daemon not running; 1 service still running (run `devstack up` to manage them again)"
    )
    assert "web" in table and "docker" in table, table
    as_json = json.loads(dstack.ok("status", "--json").stdout)
    assert as_json["daemon_running"] is False
    assert [s["name"] for s in as_json["services"]] == ["web"]

    down = dstack.run("down", timeout=60)

    assert down.returncode == 0, down.stderr
    assert "stack stopped" in down.stderr
    labels = {"label": f"devstack.stack={dstack.stack_id}"}
    assert dstack.engine.api.containers(all=True, filters=labels) == [], (
        f"container {container_id} left behind"
    )
    assert not dstack.daemons(), "down without a daemon started one"
