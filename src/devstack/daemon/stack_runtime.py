"""What the daemon runs its services on: the seam `Daemon` takes by injection.

`StackRuntime` is all the daemon asks of its runtimes; `HostRuntime` is the real one (host
processes, provisioning, and Docker once a service needs it), and devstack.testing has a
fake on `FakeRuntime`, so the daemon's behaviour is testable without a process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from devstack.config.container_options import docker_test, probe_argv
from devstack.engine.events import LogStore
from devstack.engine.ports import Probe, Runtime
from devstack.model.desired import ContainerSpec, DesiredService
from devstack.model.manifest import HealthCheck
from devstack.model.observed import Workload
from devstack.runtimes.composite import CompositeRuntime
from devstack.runtimes.probes import FunctionProbe, probe_for
from devstack.runtimes.process import ProcessRuntime
from devstack.runtimes.provision import ProvisionRuntime
from devstack.state.paths import StackPaths
from devstack.statefile import OnCorrupt

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime


class StackRuntime(Protocol):
    @property
    def runtime(self) -> Runtime:
        """What the controller drives: every runtime of the stack behind one."""
        ...

    @property
    def docker(self) -> DockerRuntime | None:
        """The container runtime, once made (None: no container has been needed)."""
        ...

    def use_docker(self) -> None:
        """Make the container runtime (it observes, and re-adopts, containers from then)."""
        ...

    def discard_docker(self) -> None:
        """Forget the container runtime (its owner closed it: the stack moved to another
        engine); the next use makes it again."""
        ...

    def probe(self, service: DesiredService, check: HealthCheck) -> Probe: ...

    def owns(self, workload: Workload, service: DesiredService) -> bool:
        """A probe success counts only for the live instance devstack started."""
        ...

    def adopt(self) -> list[Workload]:
        """Take over the instances an earlier daemon left running."""
        ...

    def present(self) -> set[tuple[str, int]]:
        """Instances that still exist in some form (stopping ones included)."""
        ...

    def all_gone(self) -> bool: ...

    def retry_save(self) -> None:
        """Write again what a full disk refused."""
        ...

    def close(self) -> None:
        """Let go of the instances (they keep running for the next daemon)."""
        ...


@dataclass(frozen=True)
class Wiring:
    """What a stack runtime is made with: the daemon's logs, paths and callbacks."""

    stack_name: Callable[[], str]  # read when containers are first needed
    paths: StackPaths
    logs: LogStore
    changed: Callable[[], None]  # something observed changed: reconcile again
    host_env: Mapping[str, str]
    on_disk: Callable[[OSError | None], None]  # the state file failed (or works again)
    on_corrupt: OnCorrupt
    # Makes the container runtime on the stack's engine (daemon/engines.py); None: the
    # engine DOCKER_HOST or the current context names.
    make_docker: Callable[[], Runtime] | None = None


class HostRuntime:
    """Host processes and provisioning from the start; Docker when a service needs it."""

    def __init__(self, wiring: Wiring) -> None:
        self._wiring = wiring
        self.process = ProcessRuntime(
            wiring.paths.stack_id,
            wiring.paths.state_dir,
            wiring.logs,
            wiring.changed,
            dict(wiring.host_env),
            on_disk=wiring.on_disk,
            on_corrupt=wiring.on_corrupt,
        )
        self.provisioner = ProvisionRuntime(wiring.logs, wiring.changed)
        self._composite = CompositeRuntime(
            {
                "process": lambda: self.process,
                "docker": self._make_docker,
                "provision": lambda: self.provisioner,
            }
        )
        self._composite.runtime("process")
        self._composite.runtime("provision")

    @property
    def runtime(self) -> Runtime:
        return self._composite

    def _make_docker(self) -> Runtime:
        # Imported here: a stack of host processes never loads the Docker SDK.
        from devstack.runtimes.docker import DockerRuntime

        w = self._wiring
        if w.make_docker is not None:
            return w.make_docker()
        return DockerRuntime(w.stack_name(), w.paths.stack_id, w.logs, w.changed)

    @property
    def docker(self) -> DockerRuntime | None:
        made = self._composite.made().get("docker")
        if made is None:
            return None  # checked before the import: host processes never load the Docker SDK
        from devstack.runtimes.docker import DockerRuntime

        return made if isinstance(made, DockerRuntime) else None

    def use_docker(self) -> None:
        self._composite.runtime("docker")

    def discard_docker(self) -> None:
        self._composite.discard("docker")

    def probe(self, service: DesiredService, check: HealthCheck) -> Probe:
        if service.runtime == "docker" and (check.command or check.test) is not None:
            self.use_docker()
            docker = self.docker
            assert docker is not None
            spec = service.spec
            if isinstance(spec, ContainerSpec) and spec.options.image_health:
                return FunctionProbe(docker.health_probe(service.name, service.replica))
            if check.test is not None:  # compose's form, run by devstack for its timing
                argv = probe_argv(docker_test(check) or ())
            else:
                command = check.command or ""
                argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
            return FunctionProbe(docker.exec_probe(service.name, service.replica, argv))
        return probe_for(service, check)

    def owns(self, workload: Workload, service: DesiredService) -> bool:
        if workload.runtime == "process":
            return self.process.owns(workload, _probed_port(service))
        if workload.runtime == "docker" and self.docker is not None:
            return self.docker.running(workload)
        return True

    def adopt(self) -> list[Workload]:
        return self.process.adopt()

    def present(self) -> set[tuple[str, int]]:
        return self.process.present() | self.provisioner.present()

    def all_gone(self) -> bool:
        if self.present():
            return False
        return not (self.docker and self.docker.present())

    def retry_save(self) -> None:
        self.process.retry_save()

    def close(self) -> None:
        self.process.close()
        if self.docker is not None:
            self.docker.close()


def _probed_port(service: DesiredService) -> int | None:
    """The host port an http or tcp healthcheck of this service instance connects to."""
    check = service.healthcheck
    if check is None:
        return None
    if check.http is not None and service.host_ports:
        return service.host_ports[0]
    if check.tcp is not None:
        return service.host_port_of(check.tcp)
    return None
