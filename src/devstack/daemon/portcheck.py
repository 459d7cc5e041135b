"""`up` names a host port another process holds before it starts anything.

Without this check a service would start, fail to bind and crash-loop with the real cause
buried in its log; compose-like tools fail only halfway through. Ports that instances of
this very stack hold (running processes, published container ports) are of course not
"in use by another process".
"""

from __future__ import annotations

from collections.abc import Iterable

from devstack.model.desired import ContainerSpec, DesiredService, DesiredState, ProcessSpec
from devstack.model.observed import Workload
from devstack.runtimes import portowner
from devstack.runtimes.process import OWNER_VAR
from devstack.runtimes.procfs import environ


class PortsInUse(Exception):
    """One line per port held by another process: `api: port 8080 is in use by pid 1 (x)`."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0])
        self.lines = lines


def check_ports(
    wanted: DesiredState, running: DesiredState, workloads: Iterable[Workload], stack_id: str
) -> None:
    """Raise PortsInUse if a host port of `wanted` is held by a process not of this stack."""
    ours = _held_by_us(wanted, running, workloads)
    problems: list[str] = []
    checked: set[int] = set()
    for name in wanted.order:
        service = wanted.services[name]
        for replica in range(service.replicas):
            for port, host in _bindings(service.instance(replica)):
                if port in ours or port in checked:
                    continue
                checked.add(port)
                if not portowner.in_use(port, host):
                    continue
                holders = portowner.holders(port)
                if any(_is_ours(h.pid, stack_id) for h in holders):
                    continue
                who = portowner.describe(holders[0] if holders else None)
                problems.append(f"{name}: port {port} is in use by {who}")
    if problems:
        raise PortsInUse(problems)


def _bindings(service: DesiredService) -> list[tuple[int, str]]:
    """(host port, address it is bound on) of one instance."""
    if isinstance(service.spec, ContainerSpec):
        # TCP only: a udp port shares no number space with tcp listeners, and the engine
        # itself refuses a udp port that is taken.
        return [(b.host, b.host_ip) for b in service.spec.ports if b.protocol == "tcp"]
    if isinstance(service.spec, ProcessSpec):
        # A host process binds where it likes; the loopback address is what its URL names.
        return [(port, "127.0.0.1") for port in service.spec.ports]
    return []


def _held_by_us(
    wanted: DesiredState, running: DesiredState, workloads: Iterable[Workload]
) -> set[int]:
    """Host ports of the instances of this stack that run now (as they were started)."""
    ports: set[int] = set()
    for w in workloads:
        if w.state != "running":
            continue
        service = running.services.get(w.service) or wanted.services.get(w.service)
        if service is not None:
            ports.update(service.instance(w.replica).host_ports)
    return ports


def _is_ours(pid: int, stack_id: str) -> bool:
    # Every process devstack starts (and its children) carries the owner label.
    return environ(pid).get(OWNER_VAR, "").startswith(f"{stack_id}:")
