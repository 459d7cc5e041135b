"""secretsmanager: secrets, created once and never overwritten."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from devstack.kinds.run import Run, error_code
from devstack.model.backing import SecretsManagerBacking


def provision(run: Run, b: SecretsManagerBacking, root: Path, others: Mapping[str, Any]) -> bool:
    created = False
    for name, spec in b.secrets.items():
        value, description = (spec, "") if isinstance(spec, str) else (spec.value, spec.description)
        resource = f"secret {name}"
        with run.guard(resource, hide=(value,)):
            client = run.target.client("secretsmanager")
            extra = {"Description": description} if description else {}
            try:
                client.create_secret(Name=name, SecretString=value, **extra)
            except ClientError as exc:
                # AWS answers InvalidRequestException for a name scheduled for deletion;
                # MiniStack and moto answer ResourceExistsException.
                if error_code(exc) not in ("ResourceExistsException", "InvalidRequestException"):
                    raise
                found = _describe_secret(client, name)
                if found is not None and "DeletedDate" in found:
                    # Neither way out is provisioning's to take: restoring brings back a
                    # value someone deleted, deleting for good destroys it.
                    raise run.error(
                        resource,
                        "scheduled for deletion: restore it (aws secretsmanager restore-secret) "
                        "or delete it for good (--force-delete-without-recovery)",
                    ) from None
                if error_code(exc) != "ResourceExistsException":
                    raise
                run.say(f"secret {name} exists (value kept)")
            else:
                created = True
                run.say(f"created secret {name}")
    return created


def missing(run: Run, b: SecretsManagerBacking) -> list[str]:
    return [f"secret {secret}" for secret in b.secrets if not _secret_exists(run, secret)]


def _describe_secret(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_secret(SecretId=name))
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _secret_exists(run: Run, name: str) -> bool:
    with run.guard(f"secret {name}"):
        found = _describe_secret(run.target.client("secretsmanager"), name)
    # A secret scheduled for deletion still answers, but nothing can read it.
    return found is not None and "DeletedDate" not in found
