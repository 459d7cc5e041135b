"""Which Docker engine a stack's containers run on: chosen at `up`, kept with the stack.

The choice follows the Docker CLI's order: `up --context NAME`, then `DOCKER_HOST`, then
`DOCKER_CONTEXT`, then the current context of ~/.docker/config.json (`docker context use`),
then the default socket. The first three are explicit: `up` with one of them moves the
stack to that engine. The current context and the default only pick the engine of a stack
that has none yet, so a plain `up` in another terminal never moves a running stack.

The choice is saved in `.devstack/engine.json` at `up` and removed at `down`: a daemon that
restarts (or a `down` without a daemon) finds the engine the containers run on, whatever
its own environment says. No Docker SDK import here: the CLI resolves the choice itself, so
a bad context name is one line before any daemon starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

DEFAULT_HOST = "unix:///var/run/docker.sock"
FILE_NAME = "engine.json"
REMOTE_EXTRA = "pip install 'devstack[remote]' (or: pip install 'docker[ssh]')"

EngineKind = Literal["local", "ssh", "tcp"]


class EngineChoiceError(Exception):
    """The engine asked for cannot be used as given: one line saying why."""


@dataclass(frozen=True)
class EngineTarget:
    host: str  # unix:///..., ssh://user@host:port, tcp://host:port
    source: str  # where the choice came from: "--context NAME", "DOCKER_HOST", "default"...
    context: str | None = None  # the Docker context named, for its TLS material
    explicit: bool = False  # chosen for this `up` (flag or variable), not a default

    @property
    def kind(self) -> EngineKind:
        scheme = urlsplit(self.host).scheme
        if scheme == "ssh":
            return "ssh"
        if scheme in ("tcp", "http", "https"):
            return "tcp"
        return "local"  # unix:// and npipe:// reach an engine on this machine

    @property
    def remote(self) -> bool:
        return self.kind != "local"

    def shown(self) -> str:
        """`ssh://root@10.0.0.5 (ssh, from --context big)`: for status and messages."""
        return f"{self.host} ({self.kind}, from {self.source})"

    def same_engine(self, other: EngineTarget | None) -> bool:
        return other is not None and _normal(self.host) == _normal(other.host)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "kind": self.kind}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> EngineTarget:
        host, source, context = data.get("host"), data.get("source"), data.get("context")
        if not isinstance(host, str) or not host:
            raise ValueError("no engine host")
        return cls(
            host,
            str(source or "saved"),
            str(context) if isinstance(context, str) else None,
            bool(data.get("explicit")),
        )


def choose(context: str | None, env: Mapping[str, str]) -> EngineTarget:
    """The engine this `up` asks for (see the module docstring). Raises EngineChoiceError
    for an unknown context or a DOCKER_HOST devstack cannot use."""
    if context:
        return _from_context(context, f"--context {context}", env, explicit=True)
    if env.get("DOCKER_HOST"):
        return _checked(EngineTarget(env["DOCKER_HOST"], "DOCKER_HOST", explicit=True))
    if env.get("DOCKER_CONTEXT"):
        name = env["DOCKER_CONTEXT"]
        return _from_context(name, f"DOCKER_CONTEXT={name}", env, explicit=True)
    current = current_context(env)
    if current:
        try:
            return _from_context(current, f"current context {current}", env, explicit=False)
        except EngineChoiceError:
            pass  # a stale currentContext must not hide the default socket (as before)
    return EngineTarget(DEFAULT_HOST, "default")


def current_context(env: Mapping[str, str]) -> str | None:
    """The `currentContext` of the Docker CLI's config.json, unless it is `default`."""
    try:
        data = json.loads((_config_dir(env) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name and name != "default" else None


def _from_context(name: str, source: str, env: Mapping[str, str], explicit: bool) -> EngineTarget:
    if name == "default":
        host = env.get("DOCKER_HOST") or DEFAULT_HOST
        return _checked(EngineTarget(host, source, None, explicit))
    # The Docker CLI keeps each context in contexts/meta/<sha256 of its name>/meta.json.
    meta = _config_dir(env) / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    try:
        data = json.loads((meta / "meta.json").read_text())
        host = data["Endpoints"]["docker"]["Host"]
    except FileNotFoundError:
        raise EngineChoiceError(
            f"no Docker context named {name!r} (`docker context ls` lists them)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineChoiceError(
            f"the Docker context {name!r} is unreadable ({meta / 'meta.json'}: {exc})"
        ) from None
    if not isinstance(host, str) or not host:
        raise EngineChoiceError(f"the Docker context {name!r} names no Docker host")
    return _checked(EngineTarget(host, source, name, explicit))


def _checked(target: EngineTarget) -> EngineTarget:
    parts = urlsplit(target.host)
    if parts.scheme not in ("unix", "npipe", "ssh", "tcp", "http", "https"):
        raise EngineChoiceError(
            f"{target.source}: {target.host!r} is not a Docker host "
            "(unix:///path, ssh://user@host[:port] or tcp://host:port)"
        )
    if parts.scheme == "ssh" and not parts.hostname:
        raise EngineChoiceError(f"{target.source}: {target.host!r} names no host")
    return target


def require_ssh_support(target: EngineTarget) -> None:
    """An ssh:// engine needs paramiko (the `remote` extra): one line naming the install."""
    if target.kind != "ssh":
        return
    try:
        import paramiko  # noqa: F401
    except ImportError:
        raise EngineChoiceError(
            f"{target.source} names an engine over SSH ({target.host}), which needs "
            f"paramiko, not installed here: {REMOTE_EXTRA}"
        ) from None


def _config_dir(env: Mapping[str, str]) -> Path:
    configured = env.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path(env.get("HOME") or Path.home()) / ".docker"


def _normal(host: str) -> str:
    parts = urlsplit(host)
    if parts.scheme == "ssh" and parts.port == 22:
        return host.replace(":22", "", 1)
    return host.rstrip("/")


# -- from the CLI to the daemon ------------------------------------------------------------


def from_request(data: Mapping[str, object]) -> EngineTarget:
    """The engine an `up` request asks for. Raises EngineChoiceError (bad input)."""
    context, env = data.get("context"), data.get("env")
    if context is not None and not isinstance(context, str):
        raise EngineChoiceError("the engine request's context must be a name")
    if not isinstance(env, dict):
        env = {}
    return choose(context, {str(k): str(v) for k, v in env.items()})


# -- kept with the stack -------------------------------------------------------------------


def load(state_dir: Path) -> EngineTarget | None:
    """The engine the stack's containers run on, or None (never chosen, or a broken file:
    the caller's own choice then applies, as before engines were kept)."""
    try:
        return EngineTarget.from_json(json.loads((state_dir / FILE_NAME).read_text()))
    except (OSError, ValueError, AttributeError):
        return None


def save(state_dir: Path, target: EngineTarget) -> None:
    path = state_dir / FILE_NAME
    tmp = path.with_name(f"{FILE_NAME}.tmp")
    tmp.write_text(json.dumps(target.to_json(), indent=2) + "\n")
    tmp.replace(path)


def forget(state_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (state_dir / FILE_NAME).unlink()


def from_environment(state_dir: Path, env: Mapping[str, str] | None = None) -> EngineTarget:
    """The engine a command without `up` uses: the stack's own, else the one `up` would
    pick (a bad choice falls back to the default socket: there is nothing of ours there to
    find, and `up` reports the choice)."""
    saved = load(state_dir)
    if saved is not None:
        return saved
    try:
        return choose(None, os.environ if env is None else env)
    except EngineChoiceError:
        return EngineTarget(DEFAULT_HOST, "default")
