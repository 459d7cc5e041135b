"""Replicas of a container service: distinct names and published ports; scaling is live."""

from __future__ import annotations

from dockerstack import DockerStack, web

from helpers import describe, wait_for


def _replicas(dstack: DockerStack) -> dict[str, str]:
    """container name -> id of the web service's containers."""
    return {c.name: c.id for c in dstack.containers("web")}


def test_container_replicas_get_names_and_ports_and_scale_live(dstack: DockerStack) -> None:
    dstack.write({"web": web(replicas=2)})
    dstack.up()
    names = _replicas(dstack)
    assert sorted(names) == [f"{dstack.name}-web-1", f"{dstack.name}-web-2"]
    ports = dstack.services()["web"]["ports"]
    assert len(set(ports)) == 2

    result = dstack.run("scale", "web=3")
    assert result.returncode == 0, describe(result, dstack)
    grown = _replicas(dstack)
    assert len(grown) == 3 and {k: grown[k] for k in names} == names  # none recreated
    assert len(set(dstack.services()["web"]["ports"])) == 3

    assert dstack.run("scale", "web=1").returncode == 0
    wait_for(lambda: list(_replicas(dstack)) == [f"{dstack.name}-web-1"], 30.0, "one replica")
    assert _replicas(dstack)[f"{dstack.name}-web-1"] == names[f"{dstack.name}-web-1"]
