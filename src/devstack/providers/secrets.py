"""Reading an environment's secrets from SSM Parameter Store and Secrets Manager.

`environments.ENV.secrets.from` names where they live: `ssm:/shop/staging/` (every
parameter under the path, decrypted) or `secretsmanager:NAME` (a JSON object's keys, or
one value). The values live in memory only: the daemon injects them into the services'
environments and keeps references (`ssm:/shop/staging/DB_PASSWORD`) everywhere else.

The same boto3 code reads from an emulator and from a real account (a profile), so
reproducing staging locally reads staging's real secrets without copying them to disk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from devstack.config.endpoints import Endpoint
from devstack.config.secrets import CloudSecret, SecretsUnavailable, variable_name

if TYPE_CHECKING:  # aws imports boto3, which a daemon without secrets never needs
    from devstack.providers.aws import AwsTarget

# Short: while a local emulator is still starting, the daemon asks again on its next pass.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0


def fetch(sources: Iterable[str], target: AwsTarget) -> list[CloudSecret]:
    """Every secret the sources name, in order; later sources win on a name clash."""
    from botocore.exceptions import BotoCoreError, ClientError  # a daemon without secrets
    # never loads boto3 (it costs a third of a second)

    found: dict[str, CloudSecret] = {}
    for source in sources:
        kind, _, rest = source.partition(":")
        try:
            items = _ssm(rest, target) if kind == "ssm" else _secretsmanager(rest, target)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SecretsUnavailable(
                f"{source} on {target.where}: {error.get('Code', 'error')}: "
                f"{error.get('Message', '')}".rstrip(": ")
            ) from None
        except BotoCoreError as exc:
            raise SecretsUnavailable(f"{source} on {target.where}: {exc}") from None
        for secret in items:
            found[secret.name] = secret
    return list(found.values())


def _client(target: AwsTarget, service: str) -> Any:
    # One attempt with short timeouts: a store that does not answer is asked again on the
    # daemon's next pass, not retried here while `up` waits.
    return target.client(
        service, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, max_attempts=1
    )


def _ssm(path: str, target: AwsTarget) -> list[CloudSecret]:
    from botocore.exceptions import ClientError

    client = _client(target, "ssm")
    prefix = path if path.endswith("/") else path + "/"
    found: list[CloudSecret] = []
    if not path.endswith("/"):
        # `ssm:/shop/staging/DB_PASSWORD`: one parameter, not a path.
        try:
            answer = client.get_parameter(Name=path, WithDecryption=True)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise
        else:
            name = path.rsplit("/", 1)[-1]
            parameter = answer["Parameter"]
            secure = parameter.get("Type") == "SecureString"
            return [CloudSecret(variable_name(name), parameter["Value"], f"ssm:{path}", secure)]
    paginator = client.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix.rstrip("/") or "/", Recursive=True,
                                   WithDecryption=True):  # fmt: skip
        for parameter in page.get("Parameters", []):
            name = str(parameter["Name"])
            relative = name[len(prefix) :] if name.startswith(prefix) else name.rsplit("/", 1)[-1]
            secure = parameter.get("Type") == "SecureString"
            found.append(
                CloudSecret(variable_name(relative), parameter["Value"], f"ssm:{name}", secure)
            )
    if not found:
        raise SecretsUnavailable(f"ssm:{path} on {target.where}: no parameter under this path")
    return sorted(found, key=lambda s: s.reference)


def _secretsmanager(name: str, target: AwsTarget) -> list[CloudSecret]:
    client = _client(target, "secretsmanager")
    answer = client.get_secret_value(SecretId=name)
    text = answer.get("SecretString")
    if text is None:
        raise SecretsUnavailable(f"secretsmanager:{name}: a binary secret cannot be a variable")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return [
            CloudSecret(variable_name(str(key)), _text(value), f"secretsmanager:{name}#{key}")
            for key, value in data.items()
        ]
    last = name.rsplit("/", 1)[-1]
    return [CloudSecret(variable_name(last), text, f"secretsmanager:{name}")]


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def target_of(endpoint: Endpoint) -> AwsTarget:
    from devstack.providers.aws import AwsTarget

    return AwsTarget(
        endpoint.host_url,
        endpoint.region,
        endpoint.access_key_id,
        endpoint.secret_access_key,
        endpoint.profile,
    )


def read(sources: tuple[str, ...], endpoint: Endpoint) -> list[CloudSecret]:
    """A SecretReader that always asks the store (the CLI's one-shot commands)."""
    return fetch(sources, target_of(endpoint))


class SecretsCache:
    """A SecretReader for the daemon: one read per source and target until the next `up`.

    Re-reading on every resolution (each manifest edit) would call AWS for nothing, and a
    value that changes must not restart services behind the developer's back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: dict[tuple[tuple[str, ...], Endpoint], list[CloudSecret]] = {}

    def __call__(self, sources: tuple[str, ...], endpoint: Endpoint) -> list[CloudSecret]:
        key = (sources, endpoint)
        with self._lock:
            if key in self._read:
                return self._read[key]
        values = fetch(sources, target_of(endpoint))
        with self._lock:
            self._read[key] = values
        return values

    def clear(self) -> None:
        with self._lock:
            self._read.clear()
