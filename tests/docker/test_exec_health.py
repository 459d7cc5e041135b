"""A command healthcheck runs inside the container and waits for the command's exit code."""

from __future__ import annotations

from dockerstack import DockerStack, busybox

from helpers import wait_for

FAST = {"interval": "200ms", "start_interval": "100ms", "timeout": "2s", "retries": 3}


def test_command_healthchecks_in_containers_report_the_commands_result(
    dstack: DockerStack,
) -> None:
    dstack.write(
        {
            # Healthy only once the file exists, and the probe itself takes a while.
            "ready": busybox(
                "sleep 1; touch /tmp/ready; exec sleep 3600",
                healthcheck={"command": "sleep 0.3; test -f /tmp/ready", **FAST},
            ),
            "never": busybox(
                "exec sleep 3600", healthcheck={"command": "exit 1", "start_period": "1s", **FAST}
            ),
        }
    )
    dstack.run("up", "-d")
    wait_for(lambda: dstack.services()["ready"]["health"] == "healthy", 30.0, "ready healthy")
    wait_for(lambda: dstack.services()["never"]["health"] == "unhealthy", 30.0, "never unhealthy")
