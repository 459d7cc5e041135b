"""A stack's shared Docker objects: its network, its named volumes, its container names."""

from __future__ import annotations

import threading
from collections.abc import Callable

from docker import APIClient

from devstack.engine.ports import RuntimeError_
from devstack.runtimes.docker_engine import LABEL, translated


class StackObjects:
    def __init__(self, stack: str, stack_id: str, api: Callable[[], APIClient]) -> None:
        self.stack, self.stack_id = stack, stack_id
        self._api = api
        # Starts run in parallel, and Docker allows several networks with one name.
        self._lock = threading.Lock()
        # Once ensured, the network is not listed again for every start (parallel starts
        # queued on the lock for it); `forget_network` after `down` or a start that found
        # it gone (removed behind our back) makes the next start look again.
        self._network_ready = False

    @property
    def network(self) -> str:
        return f"{self.stack}_default"

    def ensure_network(self) -> None:
        """Create the network under a lock; drop duplicates an earlier run may have left."""
        if self._network_ready:
            return
        api = self._api()
        with self._lock, translated("creating the stack network"):
            if self._network_ready:  # another start ensured it while this one waited
                return
            found = [n for n in api.networks(names=[self.network]) if n["Name"] == self.network]
            for extra in found[1:]:
                api.remove_network(extra["Id"])
            if not found:
                api.create_network(self.network, labels={f"{LABEL}.stack": self.stack_id})
            self._network_ready = True

    def forget_network(self) -> None:
        with self._lock:
            self._network_ready = False

    def remove_network(self) -> None:
        """After `down`: the stack network goes too (as with compose); volumes stay."""
        api = self._api()
        with self._lock, translated("removing the stack network"):
            self._network_ready = False
            for network in api.networks(names=[self.network]):
                if network["Name"] == self.network:
                    api.remove_network(network["Id"])

    def ensure_volumes(self, binds: tuple[str, ...]) -> None:
        """Create the stack's named volumes a container mounts, labelled as ours."""
        api = self._api()
        prefix = f"{self.stack}_"
        for bind in binds:
            source = bind.split(":", 1)[0]
            if source.startswith(prefix) and not source.startswith("/"):
                # Volume names are unique: creating an existing one is a no-op.
                with self._lock, translated(f"creating volume {source}"):
                    api.create_volume(source, labels={f"{LABEL}.stack": self.stack_id})

    def volumes(self) -> list[str]:
        with translated("listing volumes"):
            found = self._api().volumes(filters={"label": f"{LABEL}.stack={self.stack_id}"})
        return [v["Name"] for v in (found or {}).get("Volumes") or []]

    def remove_volumes(self) -> None:
        api = self._api()
        for name in self.volumes():
            with translated(f"removing volume {name}"):
                api.remove_volume(name)

    def check_name_free(self, name: str) -> None:
        """Container names are global: another stack with the same `name:` may hold it."""
        with translated(f"checking the container name {name}"):
            holders = self._api().containers(all=True, filters={"name": f"^/{name}$"})
        for holder in holders:
            labels = holder.get("Labels") or {}
            if labels.get(f"{LABEL}.stack") != self.stack_id:
                owner = labels.get(f"{LABEL}.stack-name")
                who = (
                    f"another devstack stack named {owner!r}"
                    if owner
                    else "a container not of this stack"
                )
                raise RuntimeError_(
                    f"the container name {name} is taken by {who}; stop it "
                    "(`devstack down` in its folder) or give this stack another name"
                )
