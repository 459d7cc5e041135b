"""The Docker engine at the border: connecting, translating SDK errors, reading its formats.

Only the docker runtime modules import this; nothing else sees a docker exception.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import docker
import docker.errors
from docker import APIClient
from docker.utils import kwargs_from_env

from devstack.engine.ports import RuntimeError_
from devstack.runtimes import docker_sdk
from devstack.runtimes.engine_target import (
    EngineChoiceError,
    EngineTarget,
    require_ssh_support,
)

LABEL = "devstack"
# Over SSH each HTTP connection to the engine is an SSH session, and sshd allows 10 per
# connection (MaxSessions): a client keeps at most this many, and waits for a free one.
SSH_SESSIONS = 8


def engine_hint(host: str | None = None) -> str:
    where = host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if where.startswith("ssh://"):
        return (
            f"cannot reach the Docker engine at {where}: check that `ssh` to that host works "
            "without a password prompt and that dockerd runs there"
        )
    return (
        f"cannot reach the Docker engine at {where}: start it (`sudo systemctl start docker`, "
        "or `sudo dockerd &`) or point DOCKER_HOST at one"
    )


def ssh_errors() -> tuple[type[Exception], ...]:
    """paramiko's errors, once something imported it (an ssh:// engine): they are not
    OSErrors, and must read as a lost engine, not crash a thread."""
    paramiko = sys.modules.get("paramiko")
    return (paramiko.SSHException,) if paramiko is not None else ()


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
    except ssh_errors() as exc:  # an ssh:// engine: the session or the login failed
        raise RuntimeError_(f"{action}: {exc}; {engine_hint()}") from exc


def connect(target: EngineTarget | None = None) -> APIClient:
    """A client for the stack's engine (`target`); without one, for DOCKER_HOST, else the
    current Docker context, else the default socket."""
    if target is None:
        with translated("connecting to Docker"):
            host = os.environ.get("DOCKER_HOST") or _context_host()
            if host and host.startswith("ssh://"):
                docker_sdk.enable_ssh()
            if os.environ.get("DOCKER_HOST"):
                client = APIClient(version="auto", **kwargs_from_env())
            else:
                client = APIClient(base_url=host, version="auto")
            client.ping()
            return client
    try:
        require_ssh_support(target)
    except EngineChoiceError as exc:
        raise RuntimeError_(str(exc)) from None
    unreachable: tuple[type[Exception], ...] = (OSError, *ssh_errors())
    try:
        client = client_for(target)
        client.ping()
    except docker.errors.DockerException as exc:
        raise RuntimeError_(f"{engine_hint(target.host)} ({exc})") from exc
    except unreachable as exc:  # refused, unknown host key, login failed
        raise RuntimeError_(f"{engine_hint(target.host)} ({exc})") from exc
    return client


def client_for(target: EngineTarget, timeout: int | None = None) -> APIClient:
    """A client of `target`, not yet used (for an ssh:// engine it is logged in already)."""
    kwargs: dict[str, Any] = {"base_url": target.host, "version": "auto"}
    if timeout is not None:
        kwargs["timeout"] = timeout
    if target.source == "DOCKER_HOST" and target.host == os.environ.get("DOCKER_HOST"):
        kwargs = {**kwargs_from_env(), **kwargs}  # DOCKER_TLS_VERIFY, DOCKER_CERT_PATH
    elif target.context:
        tls = _context_tls(target.context)
        if tls is not None:
            kwargs["tls"] = tls
    if target.kind == "ssh":
        docker_sdk.enable_ssh()
        # paramiko, not the ssh binary: the same connection carries the port forwards.
        kwargs["use_ssh_client"] = False
        kwargs["max_pool_size"] = SSH_SESSIONS
        client = APIClient(**kwargs)
        _one_pool(client)
        return client
    return APIClient(**kwargs)


def _one_pool(client: APIClient) -> None:
    """The SDK's ssh adapter keeps a connection pool per request URL (each container's
    URLs, each exec's...), each pool holding SSH sessions open: a few calls exhaust sshd's
    sessions ("no more sessions"). One pool for the engine, blocking when all its sessions
    are in use, keeps the count bounded (a long stream holds one session for its life)."""
    adapter: Any = client.get_adapter("http+docker://ssh")
    unbounded = type(adapter).get_connection

    def get_connection(url: str, proxies: Any = None) -> Any:
        pool = unbounded(adapter, "http+docker://ssh/engine", proxies)
        pool.block = True
        return pool

    adapter.get_connection = get_connection


def has_containers(stack_id: str, target: EngineTarget | None = None) -> bool:
    """Whether any container carries the stack's label (running or not): `down` without a
    daemon asks, as containers outlive a daemon that died. Raises RuntimeError_ when the
    engine cannot be reached."""
    client = connect(target)
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


def _context_tls(name: str) -> Any:
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_context(name)
        return context.TLSConfig if context is not None else None
    except Exception:  # no TLS material, or none readable: plain connection, as the CLI
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
