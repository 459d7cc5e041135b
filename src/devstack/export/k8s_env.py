"""A service's variables in Kubernetes: a ConfigMap, Secrets, ExternalSecrets.

- Plain variables go in a ConfigMap `<service>-env`, read whole with `envFrom` (no `$(...)`
  expansion applies there, so values are written as devstack resolved them).
- A secret variable is a `secretKeyRef` to the Secret `<service>-secrets`. That Secret is
  written, with values, only under `--include-secrets`; otherwise the user creates it
  (the pod waits in CreateContainerConfigError until then, which shows).
- A variable an environment reads from SSM or Secrets Manager is a `secretKeyRef` to a
  Secret that an ExternalSecret (External Secrets Operator) fills from the store:
  `<service>-ssm` / `<service>-secretsmanager`. Those objects are a custom resource, so
  they are written beside the kustomization, not in it (a cluster without the operator
  would refuse the whole apply).
- The emulators' fixed key (`test`) is public, not a secret to keep: it stays a plain
  value, as the compose export writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devstack.config.endpoints import EMULATOR_CREDENTIALS
from devstack.model.desired import EnvVar

# Set by the binding of a real-AWS provider for a developer's machine; a pod gets its
# credentials from its service account (IRSA, Pod Identity) instead.
HOST_ONLY = ("AWS_PROFILE",)
EXTERNAL_SECRETS_API = "external-secrets.io/v1"
STORES = {"ssm": "ParameterStore", "secretsmanager": "SecretsManager"}


@dataclass
class ServiceEnv:
    """One container's variables, sorted into where Kubernetes reads them from."""

    plain: dict[str, str] = field(default_factory=dict)
    # name -> value: the value is written only under --include-secrets
    secret: dict[str, str] = field(default_factory=dict)
    stored: dict[str, dict[str, str]] = field(default_factory=dict)  # store -> name -> ref
    dropped: list[str] = field(default_factory=list)  # host-only variables left out


def split_env(env: tuple[EnvVar, ...]) -> ServiceEnv:
    out = ServiceEnv()
    for var in sorted(env, key=lambda v: v.name):
        if var.name in HOST_ONLY:
            out.dropped.append(var.name)
        elif var.source.layer == "secret":
            store, _, reference = var.source.detail.partition(":")
            out.stored.setdefault(store, {})[var.name] = reference
        elif var.secret and not _emulator_key(var):
            out.secret[var.name] = var.value
        else:
            out.plain[var.name] = var.value
    return out


def _emulator_key(var: EnvVar) -> bool:
    return var.source.layer == "binding" and (var.name, var.value) == (
        "AWS_SECRET_ACCESS_KEY",
        EMULATOR_CREDENTIALS[1],
    )


def secret_name(workload: str) -> str:
    return f"{workload}-secrets"


def store_secret_name(workload: str, store: str) -> str:
    return f"{workload}-{store}"


def env_entries(workload: str, env: ServiceEnv) -> list[dict[str, Any]]:
    """The container's `env`: one secretKeyRef per secret variable."""
    entries = [_ref(name, secret_name(workload)) for name in env.secret]  # sorted by name
    for store, names in sorted(env.stored.items()):
        entries.extend(_ref(name, store_secret_name(workload, store)) for name in names)
    return entries


def _ref(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": name}}}


def config_map(name: str, meta: dict[str, Any], data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {**meta, "name": name},
        "data": data,
    }


def secret(name: str, meta: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**meta, "name": name},
        "type": "Opaque",
        "stringData": values,
    }


def external_secret(
    workload: str, store: str, names: dict[str, str], meta: dict[str, Any], stack: str
) -> dict[str, Any]:
    """An ExternalSecret that fills `<workload>-<store>` from the store, one key a variable:
    `ssm:/a/b/NAME` -> parameter /a/b/NAME; `secretsmanager:S#KEY` -> JSON key KEY of S."""
    data = []
    for variable, reference in names.items():
        key, _, prop = reference.partition("#")
        remote = {"key": key, "property": prop} if prop else {"key": key}
        data.append({"secretKey": variable, "remoteRef": remote})
    return {
        "apiVersion": EXTERNAL_SECRETS_API,
        "kind": "ExternalSecret",
        "metadata": {**meta, "name": store_secret_name(workload, store)},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "SecretStore", "name": store_name(stack, store)},
            "target": {"name": store_secret_name(workload, store)},
            "data": data,
        },
    }


def store_name(stack: str, store: str) -> str:
    """The SecretStore the ExternalSecrets name; the user creates it (its credentials and
    region are the cluster's business, not the manifest's)."""
    return f"{stack}-{store}"
