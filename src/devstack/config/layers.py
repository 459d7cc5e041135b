"""The layers of a service's environment below its own `env`: the environment's env files
(in order), then its `vars`; each value kept with its source and whether it is secret."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from devstack.config.envfile import EnvFileError, parse_env_file
from devstack.config.loader import LoadedStack
from devstack.model.desired import EnvVar, Source
from devstack.model.manifest import EnvFileRef, EnvValue, SecretValue

SECRET_NAME = re.compile(r"(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)$", re.IGNORECASE)

ReportProblem = Callable[..., None]  # problem(message, *path)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def env_file_layer(
    loaded: LoadedStack,
    environment: str,
    env_files: list[str | EnvFileRef],
    host_env: Mapping[str, str],
    problem: ReportProblem,
) -> dict[str, EnvVar]:
    """The environment's env files, later files overriding earlier ones. A missing
    required file, or one that does not parse, is a problem (located in the manifest)."""
    layer: dict[str, EnvVar] = {}
    base_path = ("environments", environment)
    for index, item in enumerate(env_files):
        ref = EnvFileRef(path=item) if isinstance(item, str) else item
        path = loaded.root / ref.path
        try:
            entries = parse_env_file(path, host_env.get)
        except FileNotFoundError:
            if ref.required:
                problem(
                    f"env file {ref.path} not found (in {loaded.root})",
                    *base_path,
                    "env_file",
                    index,
                )
            continue
        except EnvFileError as exc:
            problem(str(exc), *base_path, "env_file", index)
            continue
        except OSError as exc:
            problem(
                f"cannot read env file {ref.path}: {exc.strerror}", *base_path, "env_file", index
            )
            continue
        shown = _relative(path, loaded.root)
        for entry in entries:
            source = Source("env_file", shown, entry.line, f"environments.{environment}")
            layer[entry.name] = EnvVar(entry.name, entry.value, source, is_secret_name(entry.name))
    return layer


def declared_var(
    loaded: LoadedStack,
    name: str,
    raw: EnvValue,
    value: str,
    path: tuple[str | int, ...],
    kind: str,
    previous: EnvVar | None,
) -> EnvVar:
    """A variable the manifest declares (an environment's `vars`, a service's `env`), with
    where it is declared; secret if so marked, so named, or secret in a lower layer."""
    location = loaded.doc.locate(path)
    declared = isinstance(raw, SecretValue) and raw.secret
    # Once a name is secret in a lower layer it stays secret when overridden.
    secret = declared or is_secret_name(name) or bool(previous and previous.secret)
    detail = ".".join(str(p) for p in path[:-1])
    layer = "environment" if kind == "environment" else "service"
    source = Source(
        layer,  # type: ignore[arg-type]
        loaded.display_name,
        location.line if location else None,
        detail,
    )
    return EnvVar(name, value, source, secret)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
