"""Live reload's `sync` action on the docker runtime: a batch of changed and removed files
applied to a service's running containers, without a restart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docker import APIClient

from devstack.engine.ports import RuntimeError_
from devstack.runtimes.docker_engine import LABEL, translated

if TYPE_CHECKING:
    from devstack.watch.sync import SyncBatch


def sync_batch(api: APIClient, stack_id: str, service: str, batch: SyncBatch, target: str) -> None:
    """Remove the paths that are gone, then unpack the changed files at `target` (layout
    kept), in every running container of the service."""
    if batch.empty:
        return
    with translated(f"syncing files into {service}"):
        filters = {"label": [f"{LABEL}.stack={stack_id}", f"{LABEL}.service={service}"],
                   "status": "running"}  # fmt: skip
        for item in api.containers(filters=filters):
            if batch.removed:
                argv = ["rm", "-rf", "--", *batch.removed]
                exec_id = api.exec_create(item["Id"], argv, stdout=True, stderr=True)["Id"]
                output = api.exec_start(exec_id)
                code = api.exec_inspect(exec_id).get("ExitCode")
                if code != 0:
                    shown = output.decode(errors="replace").strip() if output else ""
                    raise RuntimeError_(f"removing deleted files failed ({code}): {shown}")
            if batch.archive:
                api.put_archive(item["Id"], target, batch.archive)
