"""Fixtures of the reliability suite: several independent stacks per test, all cleaned up.

Long variants (marked `long`) run only with `pytest --long`; see docs/reliability.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from components import unavailable
from helpers import Stack

# The Docker variants reuse the docker tests' stack helpers (label queries, cleanup).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docker"))


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    """True under `pytest --long`: tests take more seeds or wait out real timeouts."""
    return bool(request.config.getoption("--long"))


@pytest.fixture
def make_stack() -> Iterator[Callable[[], Stack]]:
    """Stack folders on short paths (the control socket must fit in sun_path); each is
    brought down and emptied of processes at teardown."""
    made: list[Stack] = []

    def make() -> Stack:
        root = Path(tempfile.mkdtemp(prefix="dsr-"))
        made.append(Stack(root))
        return made[-1]

    try:
        yield make
    finally:
        for stack in made:
            try:
                stack.cleanup()
            finally:
                shutil.rmtree(stack.root, ignore_errors=True)


@pytest.fixture
def dstack(stack: Stack) -> Iterator[Any]:
    """A stack with a unique name whose containers run on the real engine (skipped, with
    the reason, when there is none); teardown removes every docker object it made."""
    import docker
    from dockerstack import DockerStack, remove_leftovers, unique_name

    from docker_images import BUSYBOX_IMAGE, ensure_engine, ensure_image

    reason = ensure_engine()
    if reason:
        unavailable(reason)
    ensure_image(BUSYBOX_IMAGE)
    engine = docker.from_env()
    created = DockerStack(stack.root, unique_name(), engine)
    try:
        yield created
    finally:
        try:
            created.cleanup()
        finally:
            remove_leftovers(engine, created.name, created.stack_id)
            engine.close()
