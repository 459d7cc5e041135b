"""One Runtime over several: each service goes to the runtime its manifest entry selects.

The docker runtime is created lazily, so a stack of host processes never touches the
Docker SDK, and an unreachable engine only fails the container services.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from devstack.engine.ports import Runtime, RuntimeError_
from devstack.model.desired import DesiredService
from devstack.model.observed import Workload


class CompositeRuntime:
    name = "composite"

    def __init__(self, runtimes: dict[str, Callable[[], Runtime]]) -> None:
        self._factories = runtimes
        self._made: dict[str, Runtime] = {}
        self._owner: dict[tuple[str, int], str] = {}
        # Parallel starts may ask for a runtime not made yet (the docker one, after a
        # move to another engine): it is made once.
        self._making = threading.Lock()

    def runtime(self, name: str) -> Runtime:
        made = self._made.get(name)
        if made is not None:
            return made
        with self._making:
            if name not in self._made:
                if name not in self._factories:
                    raise RuntimeError_(f"unknown runtime {name!r}")
                self._made[name] = self._factories[name]()
            return self._made[name]

    def discard(self, name: str) -> None:
        """Forget a runtime (closed by its owner): the next use makes it again (the docker
        runtime, once the stack moved to another engine)."""
        self._made.pop(name, None)

    def made(self) -> dict[str, Runtime]:
        return dict(self._made)

    def observe(self) -> list[Workload]:
        found: list[Workload] = []
        made = list(self._made.items())
        # Runtimes that depend on the others' workloads (provisioning follows its provider)
        # see them first.
        made.sort(key=lambda item: hasattr(item[1], "notice"))
        for name, runtime in made:
            notice = getattr(runtime, "notice", None)
            if notice is not None:
                notice(list(found))
            for w in runtime.observe():
                self._owner[w.key] = name
                found.append(w)
        return found

    def prepare(self, service: DesiredService) -> DesiredService:
        return self.runtime(service.runtime).prepare(service)

    def start(self, service: DesiredService, replica: int) -> Workload:
        workload = self.runtime(service.runtime).start(service, replica)
        self._owner[workload.key] = service.runtime
        return workload

    def stop(self, service: str, replica: int, grace: float) -> None:
        self._owned(service, replica).stop(service, replica, grace)

    def remove(self, service: str, replica: int) -> None:
        self._owned(service, replica).remove(service, replica)

    def _owned(self, service: str, replica: int) -> Runtime:
        name = self._owner.get((service, replica))
        if name is None:
            self.observe()
            name = self._owner.get((service, replica), "process")
        return self.runtime(name)


# Here rather than in engine/: the engine defines the port and imports no runtime.
def _typecheck_protocol() -> None:  # pragma: no cover - a static check, never called
    from devstack.runtimes.process import ProcessRuntime
    from devstack.testing import FakeRuntime

    _: Runtime = FakeRuntime()
    __: type[Runtime] = ProcessRuntime
