"""A tcp healthcheck names the container's port; devstack dials the port it is published on."""

from __future__ import annotations

from dockerstack import HEALTH, DockerStack, busybox

from helpers import describe, wait_for


def test_tcp_check_on_a_free_host_port_container_turns_every_replica_healthy(
    dstack: DockerStack,
) -> None:
    # `ports: ["8080"]`: each replica gets a free host port, none of them 8080.
    dstack.write({"web": busybox(ports=["8080"], replicas=2, healthcheck={"tcp": 8080, **HEALTH})})
    result = dstack.run("up", "-d")
    assert result.returncode == 0, describe(result, dstack)
    web = wait_for(
        lambda: (s := dstack.live()["web"])["running"] == 2 and s["health"] == "healthy" and s,
        30.0,
        "both replicas of web healthy",
    )
    assert len(set(web["ports"])) == 2 and 8080 not in web["ports"]


def test_tcp_check_on_a_container_port_nothing_listens_on_stays_unhealthy(
    dstack: DockerStack,
) -> None:
    # httpd listens on 8080 only; 9090 is published but dead: the check must fail.
    dstack.write(
        {
            "web": busybox(
                ports=["8080", "9090"],
                healthcheck={**HEALTH, "tcp": 9090, "retries": 2, "start_period": "1s"},
            )
        }
    )
    assert dstack.run("up", "-d").returncode == 0
    wait_for(lambda: dstack.live()["web"]["health"] == "unhealthy", 30.0, "web unhealthy")
