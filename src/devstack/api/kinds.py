"""The vocabulary of backing services: kinds, provider types, and what serves what.

One table, read by the manifest models, the resolution, the CLI and the TUI alike: the
CLI's and the TUI's copies of these facts had drifted apart (the CLI showed no resource
for a redis backing service). It lives in `api/` because the TUI may import nothing else
of devstack, and it imports nothing itself, so every layer can read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

TYPE_CHECKING = False  # not typing's: `devstack backing` imports this module (see below)
if TYPE_CHECKING:
    from typing import Any

# Plain classes, not dataclasses: `dataclasses` imports `inspect`, about 17 ms of the
# 90 ms an everyday `devstack backing` takes (docs/performance.md); `typing` is 6 more.


class Kind:
    __slots__ = ("aws", "default_provider", "name", "resource_key")

    def __init__(
        self, name: str, aws: bool, resource_key: str, default_provider: str | None
    ) -> None:
        self.name = name
        self.aws = aws  # provisioned through the AWS API, bound with AWS_* variables
        # The resource field that names a backing service of this kind in `devstack backing`
        # and the TUI (a mapping, such as ssm's parameters, is shown as its keys).
        self.resource_key = resource_key
        self.default_provider = default_provider


class ProviderType:
    __slots__ = (
        "account", "builtin", "install_hint", "localstack_compatible", "module", "name",
        "serves",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        serves: tuple[str, ...],
        builtin: bool,
        localstack_compatible: bool = False,
        module: str | None = None,
        install_hint: str | None = None,
        account: str | None = None,
    ) -> None:
        self.name = name
        self.serves = serves
        self.builtin = builtin  # usable without declaring it: `swap uploads moto` just works
        # Answers every AWS service on one LocalStack-style edge endpoint: code written with
        # `import localstack_client.session as boto3` reaches it through LOCALSTACK_HOST, and
        # devstack provisions it through localstack-client too.
        self.localstack_compatible = localstack_compatible
        self.module = module  # a pip-installable emulator run as `python -m <module>`
        self.install_hint = install_hint  # what to install when `module` is missing
        self.account = account  # the account id it puts in ARNs (with the `test` key)


_KINDS = (
    # MiniStack for AWS kinds: pip-installable, no Docker, ready in a quarter second.
    Kind("s3", True, "bucket", "ministack"),
    Kind("sqs", True, "queue", "ministack"),
    Kind("dynamodb", True, "table", "ministack"),
    Kind("ssm", True, "parameters", "ministack"),
    Kind("secretsmanager", True, "secrets", "ministack"),
    Kind("sns", True, "topic", "ministack"),
    Kind("postgres", False, "database", "container"),
    Kind("redis", False, "database", "container"),
    Kind("url", False, "url", None),
)
KIND: Mapping[str, Kind] = MappingProxyType({k.name: k for k in _KINDS})
KINDS = tuple(KIND)
AWS_KINDS = tuple(k.name for k in _KINDS if k.aws)
SERVER_KINDS = ("postgres", "redis")

_PROVIDERS = (
    ProviderType("localstack", AWS_KINDS, True, True, account="000000000000"),
    ProviderType(
        "ministack",
        AWS_KINDS,
        True,
        True,
        module="ministack",
        install_hint="pip install 'devstack[ministack]' (or: pip install ministack)",
        account="000000000000",
    ),
    ProviderType(
        "moto",
        AWS_KINDS,
        True,
        module="moto.server",
        install_hint="pip install 'devstack[moto]' (or: pip install 'moto[server]')",
        account="123456789012",
    ),
    ProviderType("container", SERVER_KINDS, True),
    ProviderType("process", SERVER_KINDS, True),
    ProviderType("external", KINDS, False),
    ProviderType("aws", AWS_KINDS, False),
)
PROVIDER: Mapping[str, ProviderType] = MappingProxyType({p.name: p for p in _PROVIDERS})
PROVIDER_KINDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {p.name: p.serves for p in _PROVIDERS}
)
BUILTIN_PROVIDERS = tuple(p.name for p in _PROVIDERS if p.builtin)
LOCALSTACK_COMPATIBLE = frozenset(p.name for p in _PROVIDERS if p.localstack_compatible)
# Kinds whose data `devstack data` and `swap --carry` copy (devstack/data/registry.py has
# one adapter for each): the TUI offers "carry data" for these only.
DATA_KINDS = frozenset({"s3", "dynamodb", "ssm", "secretsmanager", "sqs", "postgres", "redis"})


def default_provider(kind: str) -> str | None:
    found = KIND.get(kind)
    return found.default_provider if found else None


def resources_text(kind: str, resources: Mapping[str, Any]) -> str:
    """The resource that names a backing service, as `devstack backing` and the TUI show it."""
    found = KIND.get(kind)
    value = resources.get(found.resource_key) if found else None
    if isinstance(value, dict):
        return ", ".join(value) or "-"
    return str(value) if value not in (None, "") else "-"


def provider_choices(kind: str, current: str, declared: Mapping[str, str]) -> list[str]:
    """Providers that can serve `kind`: the built-in ones, then the declared ones
    (`declared` maps a declared provider's name to its type)."""
    types = {p.name for p in _PROVIDERS if kind in p.serves}
    builtin = [p.name for p in _PROVIDERS if p.builtin and p.name in types]
    names = builtin + sorted(n for n, t in declared.items() if t in types and n not in builtin)
    if current and current not in names:
        names.append(current)
    return names
