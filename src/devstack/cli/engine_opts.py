"""`up --context NAME`, what `up` tells the daemon of the engine, and status's engine line.

The daemon makes the choice (it knows whether the stack has containers at all, and which
engine it already runs on: runtimes/engine_target.py); the CLI sends what the choice reads
and only checks a `--context` it was given, so a typo is one line before any daemon starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from devstack.api.client import JSON, Client
from devstack.cli.output import EXIT_USAGE, fail

F = TypeVar("F", bound=Callable[..., Any])


def context_option(command: F) -> F:
    option = click.option(
        "--context",
        metavar="NAME",
        default=None,
        help="Run the containers on this Docker context's engine (`docker context ls`); "
        "moves a running stack there.",
    )
    return option(command)


def engine_request(context: str | None) -> JSON:
    from devstack.runtimes.engine_request import request
    from devstack.runtimes.engine_target import EngineChoiceError, choose

    if context is not None:
        try:
            choose(context, os.environ)
        except EngineChoiceError as exc:
            fail(str(exc), EXIT_USAGE)
    return request(context, os.environ)


def ask_up(
    client: Client,
    environment: str | None,
    remove_orphans: bool,
    build: bool,
    release: str | None,
    engine: JSON,
    profiles: list[str] | None = None,
) -> JSON:
    """`up` through a running daemon, with the engine (and profiles) this `up` asks for."""
    return client.up(
        environment,
        remove_orphans,
        build=build,
        release=release,
        engine=engine,
        profiles=profiles,
    )
