"""Runtimes: where a service's instances run (host processes, Docker containers)."""

from devstack.runtimes import docker_sdk

# Before any module of this package imports the Docker SDK (see docker_sdk.py).
docker_sdk.install()
