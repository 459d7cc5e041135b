"""The Docker engine at the border: connecting, translating SDK errors, reading its formats.

Only the docker runtime modules import this; nothing else sees a docker exception.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import docker
import docker.errors
from docker import APIClient
from docker.utils import kwargs_from_env

from devstack.engine.ports import RuntimeError_

LABEL = "devstack"


def engine_hint() -> str:
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return (
        f"cannot reach the Docker engine at {where}: start it (`sudo systemctl start docker`, "
        "or `sudo dockerd &`) or point DOCKER_HOST at one"
    )


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Docker SDK errors become RuntimeError_ naming what devstack was doing."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise RuntimeError_(f"{action}: image not found locally ({exc.explanation})") from exc
    except docker.errors.APIError as exc:
        raise RuntimeError_(f"{action}: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise RuntimeError_(engine_hint()) from exc
    except OSError as exc:  # connection reset mid-call, socket gone
        raise RuntimeError_(f"{action}: {exc}; {engine_hint()}") from exc


def connect() -> APIClient:
    """A client for DOCKER_HOST, else the current Docker context, else the default socket."""
    with translated("connecting to Docker"):
        if os.environ.get("DOCKER_HOST"):
            client = APIClient(version="auto", **kwargs_from_env())
        else:
            client = APIClient(base_url=_context_host(), version="auto")
        client.ping()
        return client


def has_containers(stack_id: str) -> bool:
    """Whether any container carries the stack's label (running or not): `down` without a
    daemon asks, as containers outlive a daemon that died. Raises RuntimeError_ when the
    engine cannot be reached."""
    client = connect()
    try:
        with translated("listing the stack's containers"):
            found = client.containers(
                all=True, quiet=True, filters={"label": f"{LABEL}.stack={stack_id}"}
            )
    finally:
        client.close()
    return bool(found)


def _context_host() -> str | None:
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
        return str(context.Host) if context and context.Host else None
    except Exception:  # a broken ~/.docker/config.json must not hide the default socket
        return None


def json_dict(text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def exit_code_of(status: str) -> int | None:
    """`Exited (137) 2 minutes ago` -> 137."""
    if "(" in status and ")" in status:
        inner = status[status.index("(") + 1 : status.index(")")]
        if inner.lstrip("-").isdigit():
            return int(inner)
    return None


def parse_time(text: str) -> float | None:
    if not text or text.startswith("0001-"):
        return None
    try:
        # Docker writes nanoseconds; Python's parser takes at most microseconds.
        head, _, rest = text.partition(".")
        zone = rest[rest.find("Z") :] if "Z" in rest else rest[-6:]
        micros = "".join(ch for ch in rest if ch.isdigit())[:6]
        return datetime.fromisoformat(
            f"{head}.{micros or '0'}{zone.replace('Z', '+00:00')}"
        ).timestamp()
    except ValueError:
        return None
