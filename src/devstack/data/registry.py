"""Which adapter serves each kind. Modules are imported on first use: a `data list` or a
stack without postgres never imports an adapter it does not need."""

from __future__ import annotations

import importlib
from types import MappingProxyType

from devstack.api.kinds import DATA_KINDS
from devstack.data.adapter import Adapter, DataError

# kind -> module exposing `ADAPTER`. Adding a kind is one module and one line here.
MODULES = MappingProxyType(
    {
        "s3": "devstack.data.s3",
        "dynamodb": "devstack.data.dynamodb",
        "ssm": "devstack.data.ssm",
        "secretsmanager": "devstack.data.secretsmanager",
        "sqs": "devstack.data.sqs",
        "postgres": "devstack.data.postgres",
        "redis": "devstack.data.redis",
    }
)


assert set(MODULES) <= DATA_KINDS, "api/kinds.py's DATA_KINDS lists every kind with an adapter"


def supported(kind: str) -> bool:
    return kind in MODULES


def adapter_for(kind: str) -> Adapter:
    module = MODULES.get(kind)
    if module is None:
        known = ", ".join(sorted(MODULES))
        raise DataError(f"kind {kind} holds no data devstack can copy (it can: {known})")
    adapter: Adapter = importlib.import_module(module).ADAPTER
    return adapter
