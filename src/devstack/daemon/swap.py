"""Swapping backing services between providers: the `Swapper` behind `Daemon.swap`.

Holds the whole swap (validate, preview, warm up the new providers, commit), plus
`env_changes`, which describes what a swap would change. `SwapError` (defined with the
other API errors in errors.py) is re-exported here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from devstack.api.models import (
    MASK,
    CarryOutcome,
    EnvChange,
    StackStatus,
    SwapRequest,
    SwapResponse,
)
from devstack.config.backing import BackingResolution, declared_providers, provider_mismatch
from devstack.daemon.failures import BadRequest, SwapError
from devstack.daemon.linger import DEFAULT_SECONDS, Linger
from devstack.daemon.seams import StackState
from devstack.data.adapter import DataTarget
from devstack.engine.ports import RuntimeError_
from devstack.engine.reconcile import project
from devstack.intent.value import Intent
from devstack.model.desired import DesiredState, ProvisionSpec
from devstack.model.names import UnknownName
from devstack.runtimes.provision import prepare_client, provision_spec
from devstack.state.paths import StackPaths
from devstack.trace import mark

__all__ = ["SwapError", "SwapHost", "Swapper", "env_changes"]


class SwapHost(StackState, Protocol):
    """What a swap reads and changes of the daemon: its intent, through `apply_intent`."""

    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def paths(self) -> StackPaths: ...
    def preview(self, intent: Intent) -> DesiredState:
        """The desired state `intent` would give, nothing applied."""
        ...

    def apply_intent(self, intent: Intent) -> DesiredState: ...
    def backing_resolution(
        self, environment: str, swaps: Mapping[str, str] | None = None
    ) -> BackingResolution | None: ...
    def status(self) -> StackStatus: ...


class Swapper:
    """Makes `Daemon.swap`'s swaps, one at a time."""

    def __init__(self, host: SwapHost, linger: float = DEFAULT_SECONDS) -> None:
        self.host = host
        self._lock = threading.Lock()  # one swap at a time
        # The providers a swap left unused, kept warm so that swapping back is instant.
        self.linger = Linger(linger, self._let_go, host.clock)

    def _let_go(self, names: frozenset[str]) -> None:
        """Their linger is over: unused providers are retired (stopped, data kept)."""
        with self._lock:
            intent = self.host.intent
            if intent.warm & names:
                self.host.apply_intent(intent.but(warm=intent.warm - names))

    def swap(self, request: SwapRequest) -> SwapResponse:
        """Move backing services to other providers by configuration only.

        The new provider is started and provisioned *before* anything is committed, so a
        swap that cannot work changes nothing; then the override is saved and the ordinary
        reconcile restarts exactly the consumers (their env changed), in dependency order.
        """
        with self._lock:
            return self._swap(request)

    def _swap(self, request: SwapRequest) -> SwapResponse:
        if self.host.intent.release is not None:
            raise SwapError(
                f"release {self.host.intent.release} is running, and a release is immutable: "
                "`devstack up` (without --release) returns to the manifest, then swap"
            )
        stack = self.host.loaded.stack
        intent = self.host.intent
        history = {name: list(h) for name, h in intent.swaps.items()}
        if request.reset:
            history = {}
        else:
            name = request.backing or ""
            if name not in stack.backing:
                raise UnknownName("backing service", name, stack.backing)
            if request.undo:
                if not history.get(name):
                    raise SwapError(f"backing service {name!r} has no swap to undo")
                history[name].pop()
                if not history[name]:
                    del history[name]
            else:
                if not request.provider:
                    raise BadRequest("name the provider to swap to (or use --undo / --reset)")
                kind = stack.backing[name].kind
                mismatch = provider_mismatch(kind, request.provider, declared_providers(stack))
                if mismatch is not None:
                    # The argument is wrong, not the manifest: say so, naming the swap.
                    raise BadRequest(f"cannot swap {name} to {request.provider}: {mismatch}")
                history.setdefault(name, []).append(request.provider)
        active = {name: h[-1] for name, h in history.items()}
        current = self.host.desired()
        wanted = intent.but(swaps=history, warm=self.linger.names())
        candidate = self.host.preview(wanted)
        moves = self._moves(current.environment, intent.active_swaps, active)
        restarts = [
            name
            for name in candidate.order
            if name in stack.services
            and name in current.services
            and current.services[name].spec_hash != candidate.services[name].spec_hash
        ]
        response = SwapResponse(
            applied=False,
            message="",
            swaps=active,
            moves={b: [old, new] for b, (old, new) in moves.items()},
            restarts=restarts,
            env_changes=env_changes(current, candidate),
            real=self._real_targets(candidate, moves),
            notes=[note for name in restarts for note in candidate.services[name].notes],
        )
        if not moves and wanted.swaps == intent.swaps:
            response.message = "nothing to change"
            return response
        if response.real and not request.confirm_real and not request.dry_run:
            response.message = "confirmation needed: this swap points at something real"
            return response
        carried = self._carried(current, candidate, moves) if request.carry else None
        if request.dry_run:
            if carried is not None:
                from devstack.daemon.carry import preview

                response.carry = preview(*carried)
            observed = self.host.controller.observed()
            view = self.host.controller.prepared_view(candidate)
            response.plan = project(view, observed, self.host.clock()).render()
            response.message = "dry run: nothing changed"
            return response
        mark("swap.resolved")
        self._warm_up(candidate, active, moves, request.timeout)
        mark("swap.warm")
        if carried is not None:
            response.carry = self._carry(*carried)
            mark("swap.carried")
        before = self._providers_in_use(current.environment, intent.active_swaps)
        after = self._providers_in_use(current.environment, active)
        warm = self.linger.keep(before - after)
        self.host.apply_intent(self.host.intent.but(swaps=history, warm=warm))
        mark("swap.applied")
        what = ", ".join(f"{b}: {old} -> {new}" for b, (old, new) in moves.items())
        self.host.logs.event(f"swap {what}; restarting {', '.join(restarts) or 'nothing'}")
        response.applied = True
        response.message = f"swapped {what}" if what else "swaps saved"
        return response

    def _providers_in_use(self, environment: str, swaps: dict[str, str]) -> set[str]:
        """The provider workloads the backing services use with these swaps."""
        resolution = self.host.backing_resolution(environment, swaps)
        if resolution is None:
            return set()
        return {use.workload.name for use in resolution.providers.values() if use.workload}

    def _moves(
        self, environment: str, before: dict[str, str], after: dict[str, str]
    ) -> dict[str, tuple[str, str]]:
        """Backing service -> (old provider, new provider), for those a swap moves."""
        old = self.host.backing_resolution(environment, before)
        new = self.host.backing_resolution(environment, after)
        if old is None or new is None:
            return {}
        return {
            b: (old.provider_of.get(b, ""), p)
            for b, p in new.provider_of.items()
            if old.provider_of.get(b) != p
        }

    def _carried(
        self, current: DesiredState, candidate: DesiredState, moves: dict[str, tuple[str, str]]
    ) -> tuple[dict[str, DataTarget], dict[str, DataTarget]]:
        from devstack.daemon.carry import carried_targets
        from devstack.data.run import REAL

        declared = self.host.loaded.stack.backing
        sources, destinations = carried_targets(current, candidate, moves, declared)
        for name, target in destinations.items():
            # A restore deletes what the snapshot lacks: never on a real account or server.
            if target.provider_type in REAL:
                raise BadRequest(
                    f"cannot carry {name}'s data to {target.provider}: --carry copies only "
                    "to a provider devstack runs (a real endpoint is never written to)"
                )
        return sources, destinations

    def _carry(
        self, sources: dict[str, DataTarget], destinations: dict[str, DataTarget]
    ) -> list[CarryOutcome]:
        """The data copied to the warmed-up providers; on failure the warm-up is undone
        and nothing changed for the consumers (they still use the old provider)."""
        from devstack.daemon.carry import DataError, carry_data

        try:
            return carry_data(self.host.paths, self.host.logs, sources, destinations)
        except (DataError, OSError) as exc:  # OSError: the snapshot's disk (full, read-only)
            self.host.apply_intent(self.host.intent.but(warm=self.linger.names()))
            why = str(exc) if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
            raise SwapError(
                f"swap not made, nothing changed: carrying the data failed: {why}"
            ) from None

    def _real_targets(
        self, candidate: DesiredState, moves: dict[str, tuple[str, str]]
    ) -> list[str]:
        """What a swap would point at outside this machine: asked for confirmation."""
        real = []
        declared = self.host.loaded.stack.providers
        for backing, (_, provider) in moves.items():
            spec = declared.get(provider)
            if spec is None or spec.type not in ("external", "aws"):
                continue
            if spec.type == "aws":
                profile = getattr(spec, "profile", None) or "default credentials"
                real.append(f"{backing}: real AWS account (profile {profile}, {spec.region})")
            else:
                real.append(f"{backing}: external endpoint {getattr(spec, 'url', '')}")
        return real

    def _warm_up(
        self,
        candidate: DesiredState,
        swaps: dict[str, str],
        moves: dict[str, tuple[str, str]],
        timeout: float,
    ) -> None:
        """Start the new providers and provision them; on failure undo that and raise."""
        resolution = self.host.backing_resolution(candidate.environment, swaps)
        running = self.host.desired().services
        to_start = set()
        for backing in moves:
            use = (
                resolution.providers.get(resolution.use_key.get(backing, ""))
                if resolution
                else None
            )
            if use is not None and use.workload is not None and use.workload.name not in running:
                to_start.add(use.workload.name)
        if to_start:  # the provisioning clients are made while the providers start
            specs = [
                node.spec
                for backing in moves
                if (node := candidate.services.get(backing)) is not None
                and isinstance(node.spec, ProvisionSpec)
            ]
            for spec in specs:
                threading.Thread(target=prepare_client, args=(spec,), daemon=True).start()
        try:
            if to_start:
                warm = self.linger.names() | to_start
                self.host.apply_intent(self.host.intent.but(warm=warm))
                for provider in sorted(to_start):
                    self._wait_healthy(provider, timeout)
                mark("swap.providers.healthy")
            for backing in moves:
                node = candidate.services.get(backing)
                if node is not None and isinstance(node.spec, ProvisionSpec):
                    for line in provision_spec(node.spec, timeout):
                        self.host.logs.emit(backing, 0, "stdout", line)
        except (RuntimeError_, SwapError) as exc:
            if to_start:
                self.host.apply_intent(self.host.intent.but(warm=self.linger.names()))
            raise SwapError(f"swap not made, nothing changed: {exc}") from None

    def _wait_healthy(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = next((s for s in self.host.status().services if s.name == name), None)
            if status is not None:
                if status.state == "running":
                    return
                if status.state in ("failed", "exited") or (
                    status.state == "restarting" and status.restarts >= 1
                ):
                    tail = " | ".join(line.text for line in self.host.logs.last_lines(name, 3))
                    raise SwapError(
                        f"provider {name} did not start: {status.reason or status.state}"
                        + (f" ({tail})" if tail else "")
                    )
            time.sleep(0.05)
        raise SwapError(f"provider {name} was not healthy within {timeout:g}s")


def env_changes(before: DesiredState, after: DesiredState) -> list[EnvChange]:
    """Variables that differ per service between two desired states (secrets masked)."""
    changes = []
    for name, new in after.services.items():
        old = before.services.get(name)
        if old is None or new.runtime == "provision":
            continue
        old_vars = {v.name: v for v in old.env}
        new_vars = {v.name: v for v in new.env}
        for var in sorted(old_vars.keys() | new_vars.keys()):
            a, b = old_vars.get(var), new_vars.get(var)
            if (a.value if a else None) == (b.value if b else None):
                continue
            secret = bool((a and a.secret) or (b and b.secret))
            changes.append(
                EnvChange(
                    service=name,
                    name=var,
                    old=(MASK if secret else a.value) if a else None,
                    new=(MASK if secret else b.value) if b else None,
                )
            )
    return changes
