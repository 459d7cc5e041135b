"""Docker runtime tests: a real engine and the local test images, nothing pulled or mocked.

The whole folder is skipped, with the reason, only when `ensure_engine()` cannot get a
working engine; under CI (`CI=true`) it fails instead (tests/components.py). The busybox test image is made sure of once, at the start of the session.
Every test's stack has a name of its own, so its containers, network, volumes and images
(all named after the stack) never meet another test's; teardown removes all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from dockerstack import DockerStack, cleaned, unique_name

from components import needs
from docker_images import BUSYBOX_IMAGE, ensure_engine, ensure_image
from helpers import Stack

HERE = Path(__file__).resolve().parent


def _in_this_folder(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item: act on this folder's tests only, and ask
    # for the engine only when at least one of them is about to run.
    ours = [item for item in items if _in_this_folder(item)]
    if not ours:
        return
    reason = ensure_engine()
    if reason:
        marker = needs(True, reason)
        for item in ours:
            item.add_marker(marker)


@pytest.fixture(scope="session", autouse=True)
def _test_images() -> None:
    ensure_image(BUSYBOX_IMAGE)


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def dstack(stack: Stack, engine: docker.DockerClient) -> Iterator[DockerStack]:
    """A stack folder with a unique stack name; teardown runs `down`, then removes every
    container, network, volume and image that carries the stack's id or name."""
    with cleaned(DockerStack(stack.root, unique_name(), engine)) as created:
        yield created
