"""The provision runtime: a backing node "runs" once its resources exist on its provider.

Modelling provisioning as a runtime keeps the engine ignorant of it: a backing node
depends on its provider (healthy), consumers depend on the node, so the ordinary
dependency gating puts provisioning between the two; a swap changes the node's spec
(another provider), so the ordinary restart re-provisions on the new provider before the
consumers restart. Provisioning is idempotent, so a new daemon simply provisions again.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.engine.events import LogStore
from devstack.engine.ports import RuntimeError_
from devstack.model.desired import DesiredService, ProvisionSpec
from devstack.model.observed import Workload

if TYPE_CHECKING:
    from devstack.providers.aws import AwsTarget

READY_TIMEOUT = 60.0


class ProvisionRuntime:
    name = "provision"

    def __init__(self, logs: LogStore, changed: Callable[[], None]) -> None:
        self._logs = logs
        self._changed = changed
        self._lock = threading.Lock()
        self._records: dict[tuple[str, int], Workload] = {}
        # Provider workload -> its start time, as last observed; and per node, the start
        # time of the provider instance it was provisioned on.
        self._providers: dict[str, float] = {}
        self._provisioned_on: dict[tuple[str, int], tuple[str, float]] = {}

    def notice(self, workloads: list[Workload]) -> None:
        """The other runtimes' workloads: a provider that restarted needs provisioning again."""
        running = {w.service: w.started_at for w in workloads if w.state == "running"}
        restarted = []
        with self._lock:
            self._providers = running
            for key, (provider, started) in list(self._provisioned_on.items()):
                now = running.get(provider)
                record = self._records.get(key)
                if now is None or now == started or record is None or record.state != "running":
                    continue
                self._records[key] = replace(
                    record, state="exited", exit_code=1, exited_at=time.time()
                )
                del self._provisioned_on[key]
                restarted.append((key, provider))
        for (name, replica), provider in restarted:
            self._logs.emit(name, replica, "event", f"{provider} restarted: provisioning again")

    def observe(self) -> list[Workload]:
        with self._lock:
            return list(self._records.values())

    def prepare(self, service: DesiredService) -> DesiredService:
        return service

    def start(self, service: DesiredService, replica: int) -> Workload:
        spec = service.spec
        assert isinstance(spec, ProvisionSpec)
        started = time.time()
        try:
            lines = provision_spec(spec)
        except RuntimeError_ as exc:
            failed = Workload(
                service.name, replica, "exited", service.spec_hash, service.digests, started,
                exit_code=1, exited_at=time.time(), runtime=self.name,
            )  # fmt: skip
            with self._lock:
                self._records[failed.key] = failed
            self._logs.emit(service.name, replica, "stderr", str(exc))
            raise
        for line in lines:
            self._logs.emit(service.name, replica, "stdout", line)
        provider = spec.provider_workload
        workload = Workload(
            service.name, replica, "running", service.spec_hash, service.digests, started,
            runtime=self.name,
        )  # fmt: skip
        with self._lock:
            self._records[workload.key] = workload
            if provider is not None and provider in self._providers:
                self._provisioned_on[workload.key] = (provider, self._providers[provider])
        return workload

    def stop(self, service: str, replica: int, grace: float) -> None:
        # Never deletes anything: the resources (and their data) stay on the provider.
        with self._lock:
            self._records.pop((service, replica), None)
            self._provisioned_on.pop((service, replica), None)

    def remove(self, service: str, replica: int) -> None:
        self.stop(service, replica, 0.0)

    def present(self) -> set[tuple[str, int]]:
        with self._lock:
            return set(self._records)


def _aws_target(spec: ProvisionSpec) -> AwsTarget:
    from devstack.api.kinds import LOCALSTACK_COMPATIBLE
    from devstack.providers.aws import AwsTarget

    return AwsTarget(
        spec.endpoint_url,
        spec.region,
        spec.access_key_id,
        spec.secret_access_key,
        spec.profile,
        localstack=spec.provider_type in LOCALSTACK_COMPATIBLE,
    )


def prepare_client(spec: ProvisionSpec) -> None:
    """Make the client `provision_spec` will use, ahead: a swap calls it while the new
    provider starts (a client of a new endpoint loads its service model: 0.1-0.2 s that
    otherwise came after the provider was healthy). Best effort: provisioning makes it
    again, and says what is wrong, if this failed."""
    from devstack.api.kinds import AWS_KINDS  # each named as its boto3 client is

    if spec.kind in AWS_KINDS:
        with contextlib.suppress(Exception):
            _aws_target(spec).client(spec.kind)


def provision_spec(spec: ProvisionSpec, timeout: float = READY_TIMEOUT) -> list[str]:
    """Create what the spec declares; lines saying what was done. Raises RuntimeError_."""
    from pydantic import TypeAdapter

    from devstack.kinds import ProvisionError, provision
    from devstack.model.backing import Backing

    if spec.kind == "postgres":
        return _provision_postgres(spec)
    if spec.ready_url:
        wait_ready(spec.ready_url, spec.provider, timeout)
    adapter: TypeAdapter[Any] = TypeAdapter(Backing)
    backing = adapter.validate_python(spec.resources)
    others = {name: adapter.validate_python(data) for name, data in spec.others.items()}
    target = _aws_target(spec)
    try:
        result = provision(target, spec.backing, backing, Path(spec.root), others=others)
    except ProvisionError as exc:
        raise RuntimeError_(f"provisioning on {spec.provider}: {exc}") from None
    where = spec.endpoint_url or f"AWS ({spec.region})"
    return [f"[{spec.provider} {where}] {line}" for line in result.actions]


def _provision_postgres(spec: ProvisionSpec) -> list[str]:
    from urllib.parse import urlsplit

    from devstack.providers.sql import SqlError, provision_postgres

    where = urlsplit(spec.endpoint_url or "")
    seed = spec.resources.get("seed") or {}
    try:
        lines = provision_postgres(
            where.hostname or "127.0.0.1",
            where.port or 5432,
            spec.access_key_id or "postgres",
            spec.secret_access_key or "",
            str(spec.resources.get("database", "app")),
            seed.get("sql") if isinstance(seed, dict) else None,
            Path(spec.root),
        )
    except SqlError as exc:
        raise RuntimeError_(f"provisioning on {spec.provider}: {exc}") from None
    return [f"[{spec.provider}] {line}" for line in lines]


def wait_ready(url: str, provider: str, timeout: float) -> None:
    """LocalStack answers health before its init hooks ran: wait for the ready state."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                body = response.read().decode(errors="replace")
                if '"completed": true' in body or '"completed":true' in body:
                    return
                last = body[:200]
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError_(f"{provider} did not become ready within {timeout:g}s ({last})")
