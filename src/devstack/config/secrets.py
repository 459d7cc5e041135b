"""An environment's secrets from SSM / Secrets Manager: which provider, and their variables.

Pure: the reading itself (boto3) is `devstack.providers.secrets`, handed to `resolve` as a
`SecretReader`, so `validate` and the engine's tests never touch the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from devstack.api.kinds import default_provider

if TYPE_CHECKING:
    from devstack.config.endpoints import Endpoint
    from devstack.model.manifest import Stack

_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


class SecretsUnavailable(Exception):
    """The store could not be read (unreachable, denied, missing): one line, no secret."""


@dataclass(frozen=True)
class CloudSecret:
    name: str  # the variable's name
    value: str = field(repr=False)
    reference: str  # where it came from, e.g. ssm:/shop/staging/DB_PASSWORD
    secure: bool = True  # False only for a plain SSM String parameter


# (sources, endpoint as a host process reaches it) -> secrets; raises SecretsUnavailable.
SecretReader = Callable[[tuple[str, ...], "Endpoint"], list[CloudSecret]]


def variable_name(text: str) -> str:
    """`db/password` -> `DB_PASSWORD`: an environment variable name for a stored key."""
    name = _NOT_NAME.sub("_", text.strip("/")).upper()
    return f"_{name}" if name[:1].isdigit() else name


def secrets_provider(
    stack: Stack, sources: tuple[str, ...], explicit: str | None, provider_of: Mapping[str, str]
) -> str:
    """The provider an environment's secrets are read from.

    Named explicitly, or the provider serving the stack's own ssm / secretsmanager backing
    service (so a swap of that backing service moves the secrets with it), else the
    default AWS emulator.
    """
    if explicit:
        return explicit
    wanted = {"ssm" if s.startswith("ssm:") else "secretsmanager" for s in sources}
    for name, backing in stack.backing.items():
        if backing.kind in wanted and provider_of.get(name):
            return provider_of[name]
    return default_provider("ssm") or "ministack"
