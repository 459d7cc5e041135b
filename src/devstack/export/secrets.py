"""Which variables an environment's `secrets:` sources hold, for an export.

An export needs their names and references (`ssm:/shop/staging/DB_PASSWORD`), never their
values. By default they come from what the stack itself declares in its `ssm` and
`secretsmanager` backing services (what devstack provisions on an emulator); `--read-secrets`
asks the store instead, as `up` does, and drops the values at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from devstack.config.endpoints import Endpoint
from devstack.config.loader import LoadedStack
from devstack.config.secrets import CloudSecret, SecretReader, variable_name
from devstack.model.backing import SecretsManagerBacking, SecretSpec, SsmBacking
from devstack.model.manifest import Stack


def declared_reader(stack: Stack) -> SecretReader:
    """A reader that answers from the manifest's declared parameters and secrets, with the
    names the real reader (providers/secrets.py) gives them."""

    def read(sources: tuple[str, ...], _endpoint: Endpoint) -> list[CloudSecret]:
        found: list[CloudSecret] = []
        for source in sources:
            if source.startswith("ssm:"):
                found.extend(_ssm(stack, source[len("ssm:") :]))
            else:
                found.extend(_secretsmanager(stack, source[len("secretsmanager:") :]))
        return found

    return read


def stored_reader(
    loaded: LoadedStack,
    environment: str,
    host_env: Mapping[str, str],
    ports: Callable[[str, int], int],
) -> SecretReader:
    """A reader that answers with what the environment's store holds now (values blanked).

    It resolves the environment as `up` does, which reads the store through the provider
    the environment uses (`ports`: the stack's remembered ports, where a running emulator
    listens); raises ManifestError when that cannot be read.
    """
    from devstack.config.resolve import resolve
    from devstack.providers.secrets import read

    seen: list[CloudSecret] = []

    def capture(sources: tuple[str, ...], endpoint: Endpoint) -> list[CloudSecret]:
        for secret in read(sources, endpoint):
            seen.append(CloudSecret(secret.name, "", secret.reference))
        return []

    desired = resolve(loaded, environment, host_env, ports=ports, secrets=capture)
    if desired.pending:
        from devstack.config.problems import ManifestError, Problem

        message = f"cannot read the environment's secrets: {desired.pending} (is it running?)"
        raise ManifestError([Problem(message, f"environments.{environment}.secrets")])
    names = list(seen)
    return lambda _sources, _endpoint: names


def _ssm(stack: Stack, path: str) -> list[CloudSecret]:
    declared = {
        backing.full_name(name): value
        for backing in stack.backing.values()
        if isinstance(backing, SsmBacking)
        for name, value in backing.parameters.items()
    }
    if not path.endswith("/") and path in declared:
        return [CloudSecret(variable_name(path.rsplit("/", 1)[-1]), "", f"ssm:{path}")]
    prefix = path if path.endswith("/") else path + "/"
    return [
        CloudSecret(variable_name(full[len(prefix) :]), "", f"ssm:{full}")
        for full in sorted(declared)
        if full.startswith(prefix)
    ]


def _secretsmanager(stack: Stack, name: str) -> list[CloudSecret]:
    for backing in stack.backing.values():
        if isinstance(backing, SecretsManagerBacking) and name in backing.secrets:
            value = backing.secrets[name]
            text = value.value if isinstance(value, SecretSpec) else value
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                # Only the keys are kept: the values are what a task reads at start.
                return [
                    CloudSecret(variable_name(str(key)), "", f"secretsmanager:{name}#{key}")
                    for key in data
                ]
            last = name.rsplit("/", 1)[-1]
            return [CloudSecret(variable_name(last), "", f"secretsmanager:{name}")]
    return []
