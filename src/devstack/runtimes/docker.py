"""The docker runtime: one container per service instance, owned by labels.

Only this module and its helpers (docker_engine, docker_objects, docker_output,
docker_options, docker_sync, build) talk to the Docker SDK, and every docker error is
translated into RuntimeError_ with a message a user can act on. It keeps no table of its
own: `observe()` lists containers by the `devstack.stack` label (the SDK's sparse list, one API call), and
an events thread only marks the stack dirty, so a restarted daemon re-adopts for free.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
from docker import APIClient

from devstack.engine.events import LogStore
from devstack.engine.ports import RuntimeError_
from devstack.model.desired import ContainerSpec, DesiredService, spec_digests
from devstack.model.observed import Workload, WorkloadState
from devstack.runtimes import docker_options
from devstack.runtimes.build import build_image, context_tag
from devstack.runtimes.docker_engine import (
    LABEL,
    connect,
    engine_hint,
    exit_code_of,
    json_dict,
    parse_time,
    translated,
)
from devstack.runtimes.docker_listing import Listing
from devstack.runtimes.docker_objects import StackObjects
from devstack.runtimes.docker_output import ContainerOutput
from devstack.runtimes.docker_sync import sync_batch

if TYPE_CHECKING:
    from devstack.runtimes.remote_engine import RemoteEngine
    from devstack.watch.sync import SyncBatch

EVENTS_RETRY = 2.0
SETTLE_TIMEOUT = 5.0  # how long to wait for a died container to be listed as exited
CREATED_GRACE = 30.0  # a container still "created" this long after its start never started


class DockerRuntime:
    name = "docker"

    def __init__(
        self,
        stack: str,
        stack_id: str,
        logs: LogStore,
        on_change: Callable[[], None],
        clock: Callable[[], float] = time.time,
        connector: Callable[[], APIClient] = connect,
        remote: RemoteEngine | None = None,
    ) -> None:
        self.stack, self.stack_id = stack, stack_id
        self._logs = logs
        self._on_change = on_change
        self._clock = clock
        self._connector = connector
        # An engine over SSH: its connection, and the forwards of the published ports.
        self._remote = remote
        self._seen: list[Workload] = []  # running at the last listing (remote engines)
        self._lock = threading.Lock()
        self._client: APIClient | None = None
        self._output = (
            ContainerOutput(remote.stream_client, logs, clock, remote.release_stream)
            if remote is not None
            else ContainerOutput(self.api, logs, clock)
        )
        self.objects = StackObjects(stack, stack_id, self.api)
        self._stopping: set[str] = set()  # container ids we are stopping: their death is ours
        self._starting: set[tuple[str, int]] = set()  # their output is followed from the start
        # Starts that failed before a container existed: shown as exited (code 127) so the
        # restart policy backs off, as for a host process whose command is missing.
        self._failed: dict[tuple[str, int], Workload] = {}
        self._finished: dict[str, float] = {}  # container id -> when it exited
        self._images: dict[str, str] = {}  # reference -> image id, for this `up`
        self._rebuild = False
        self._rebuild_only: set[str] = set()  # services to rebuild once (a `rebuild` request)
        self._closed = threading.Event()
        self._listing = Listing(enabled=remote is None, wall=clock)

    @property
    def network(self) -> str:
        return self.objects.network

    def api(self) -> APIClient:
        if self._remote is not None:
            # Asked every time: a lost connection raises, a new one replaces the client.
            client = self._remote.api()
            with self._lock:
                first, self._client = self._client is None, client
            if first:
                threading.Thread(target=self._events, name="docker-events", daemon=True).start()
            return client
        with self._lock:
            if self._client is None:
                self._client = self._connector()
                threading.Thread(target=self._events, name="docker-events", daemon=True).start()
            return self._client

    # -- the Runtime port ------------------------------------------------------------

    def running(self, workload: Workload) -> bool:
        """True while the container of this instance (same key and start) still runs: a
        published port answered after the container died is not this instance's health."""

        def runs(found: list[Workload]) -> bool:
            return any(
                w.key == workload.key and w.started_at == workload.started_at
                and w.state == "running"
                for w in found
            )  # fmt: skip

        # A shared listing can only say "it ran then, and nothing exited since"; one that
        # saw it still starting ("created") says nothing: then list afresh.
        return runs(self.observe(workload.started_at)) or runs(self.observe())

    def observe(self, started_at: float | None = None) -> list[Workload]:
        """The stack's instances; `started_at`: only one instance started then is asked
        about (a probe), which may reuse a listing others may not (docker_listing.py)."""
        listed_at = time.monotonic()
        try:
            api = self.api()
            with translated("listing containers"):
                found = self._listing.get(
                    lambda: api.containers(
                        all=True, filters={"label": f"{LABEL}.stack={self.stack_id}"}
                    ),
                    started_at,
                )
        except RuntimeError_:
            # No engine: nothing of ours is observable but the starts that failed, which
            # carry the reason and make the restart policy back off. A remote engine whose
            # connection is lost still runs what it ran: shown as last seen, not restarted.
            with self._lock:
                seen = {w.key for w in self._seen} if self._remote is not None else set()
                failed = [w for k, w in self._failed.items() if k not in seen]
                return [*self._seen, *failed] if self._remote is not None else failed
        if self._remote is not None:
            self._remote.observed(found, listed_at)
        workloads = []
        orphans = docker_options.network_orphans(found)
        for item in found:
            labels = item.get("Labels") or {}
            cid = item["Id"]
            running = item.get("State") == "running" and cid not in orphans
            state: WorkloadState = "running" if running else "exited"
            key = (labels.get(f"{LABEL}.service", "?"), int(labels.get(f"{LABEL}.replica", "0")))
            if key in self._starting or cid in self._stopping:
                continue  # created and not started yet, or on its way out: not an exit
            started = float(labels.get(f"{LABEL}.started-at", "0") or 0)
            if item.get("State") == "created" and self._clock() - started < CREATED_GRACE:
                continue  # the engine may list a just-started container as created for a while
            if state == "running":
                self._output.follow(cid, labels, from_now=True)
            workloads.append(
                Workload(
                    service=labels.get(f"{LABEL}.service", "?"),
                    replica=int(labels.get(f"{LABEL}.replica", "0")),
                    state=state,
                    spec_hash=labels.get(f"{LABEL}.spec-hash", ""),
                    digests=json_dict(labels.get(f"{LABEL}.spec", "{}")),
                    started_at=float(labels.get(f"{LABEL}.started-at", "0") or 0),
                    exit_code=None if state == "running" else exit_code_of(item.get("Status", "")),
                    exited_at=None if running else self._exited_at(api, cid, cid in orphans),
                    runtime="docker",
                    pid=None,
                )
            )
        seen = {w.key for w in workloads}
        with self._lock:
            self._seen = [w for w in workloads if w.state == "running"]
            workloads.extend(w for k, w in self._failed.items() if k not in seen)
        return workloads

    def present(self) -> bool:
        """True while any container of this stack exists, including ones being stopped."""
        try:
            api = self.api()
            with translated("listing containers"):
                return bool(
                    api.containers(all=True, filters={"label": f"{LABEL}.stack={self.stack_id}"})
                )
        except RuntimeError_:
            return False

    def prepare(self, service: DesiredService) -> DesiredService:
        """Build (when the context changed) or find the image, and pin its id in the spec."""
        spec = service.spec
        if not isinstance(spec, ContainerSpec):
            return service
        api = self.api()
        image = spec.image
        if spec.build is not None:
            image = context_tag(self.stack, service.name, spec.build)
            forced = self._rebuild or service.name in self._rebuild_only
            self._rebuild_only.discard(service.name)
            if forced or not self._image_id(api, image):
                self._logs.event(f"building {image}", service=service.name)
                build_image(
                    api, spec.build, image, lambda line: self._build_line(service.name, line)
                )
                self._images.pop(image, None)
        image_id = self._image_id(api, image)
        if not image_id:
            raise RuntimeError_(
                f"image {image} is not available locally (devstack does not pull; "
                "build it, or `docker pull` it)"
            )
        pinned = replace(spec, image=image, image_id=image_id)
        prepared = replace(service, spec=pinned, digests=spec_digests(pinned))
        return docker_options.with_image_health(api, prepared)

    def start(self, service: DesiredService, replica: int) -> Workload:
        spec = service.spec
        if not isinstance(spec, ContainerSpec):
            raise RuntimeError_(f"{service.name} is not a container service")
        key = (service.name, replica)
        with self._lock:
            self._starting.add(key)
            self._failed.pop(key, None)
        started = False
        try:
            workload = self._start(self.api(), service, spec, replica)
            started = True
            return workload
        except RuntimeError_:
            now = self._clock()
            failed = Workload(service.name, replica, "exited", service.spec_hash, service.digests,
                              now, exit_code=127, exited_at=now, runtime="docker")  # fmt: skip
            with self._lock:
                self._failed[key] = failed
            raise
        finally:
            # A container started: a probe of another instance may keep its listing. One
            # that failed was removed again (an exit); a replaced one is (_remove_key).
            self._listing.changed(exited=not started)
            with self._lock:
                self._starting.discard((service.name, replica))

    def _start(
        self, api: APIClient, service: DesiredService, spec: ContainerSpec, replica: int
    ) -> Workload:
        name = f"{self.stack}-{service.name}-{replica + 1}"
        self._remove_key(api, service.name, replica)
        self.objects.check_name_free(name)
        self.objects.ensure_network()
        self.objects.ensure_volumes(docker_options.volumes_to_create(spec))
        started = self._clock()
        labels = {
            f"{LABEL}.stack": self.stack_id,
            f"{LABEL}.stack-name": self.stack,
            f"{LABEL}.service": service.name,
            f"{LABEL}.replica": str(replica),
            f"{LABEL}.spec-hash": service.spec_hash,
            f"{LABEL}.spec": json.dumps(service.digests, sort_keys=True),
            f"{LABEL}.started-at": repr(started),
            **docker_options.labels(spec.options),
        }
        bindings: dict[int | str, Any] = {p.key(): (p.host_ip, p.host) for p in spec.ports}
        if self._remote is not None:  # published on the engine's loopback, forwarded here
            bindings = self._remote.bindings(spec.ports)
            labels.update(self._remote.labels(spec.ports))
        with translated(f"starting {service.name}"):
            host_args, create_args, joins = docker_options.create_arguments(
                api, spec, self.network, bindings,
                lambda other: self._containers(api, other, 0), self._remote is None,
            )  # fmt: skip
            host_config = api.create_host_config(**host_args)
            aliases = [service.name, *spec.options.aliases]
            endpoint = api.create_endpoint_config(aliases=aliases)
            # types-docker says one EndpointConfig; the engine (and the SDK) take a mapping.
            networking = api.create_networking_config({self.network: endpoint})  # type: ignore[arg-type]
            create = functools.partial(
                api.create_container,
                image=spec.image_id or spec.image,
                command=list(spec.command) if spec.command is not None else None,
                environment=dict(spec.env),
                labels=labels,
                name=name,
                host_config=host_config,
                networking_config=networking if joins else None,
                **create_args,
            )
            for attempt in (1, 2):
                cid = create()["Id"]
                try:
                    docker_options.copy_files(api, cid, spec.options.files)
                    api.start(cid)
                    break
                except (docker.errors.APIError, RuntimeError_) as exc:
                    api.remove_container(cid, force=True, v=True)
                    if attempt == 2 or not _network_gone(exc):
                        raise
                    # Removed behind our back since we ensured it: ensure it again.
                    self.objects.forget_network()
                    self.objects.ensure_network()
            failed = docker_options.run_hooks(api, cid, spec.options.post_start, "post_start",
                                              docker_options.POST_START_TIMEOUT)  # fmt: skip
            if failed is not None:
                api.remove_container(cid, force=True, v=True)
                raise RuntimeError_(failed)
        if self._remote is not None:
            self._remote.started(api, cid)
        self._output.follow(cid, labels, from_now=False)
        return Workload(service.name, replica, "running", service.spec_hash, service.digests,
                        started, runtime="docker")  # fmt: skip

    def stop(self, service: str, replica: int, grace: float) -> None:
        with self._lock:
            self._failed.pop((service, replica), None)
        api = self.api()
        for item in self._containers(api, service, replica):
            cid = item["Id"]
            with self._lock:
                self._stopping.add(cid)
            try:
                with translated(f"stopping {service}"):
                    if item.get("State") == "running":
                        hooks = docker_options.pre_stop_hooks(item)
                        failed = docker_options.run_hooks(api, cid, hooks, "pre_stop", grace)
                        if failed is not None:  # compose stops it all the same
                            self._logs.event(f"{service}: {failed}", service=service)
                        api.stop(cid, timeout=max(1, math.ceil(grace)))
                    api.remove_container(cid, force=True, v=True)
            finally:
                self._listing.changed(exited=True)
                with self._lock:
                    self._stopping.discard(cid)

    def remove(self, service: str, replica: int) -> None:
        with self._lock:
            self._failed.pop((service, replica), None)
        try:
            self._remove_key(self.api(), service, replica)
        finally:
            self._listing.changed(exited=True)

    def exec_probe(self, service: str, replica: int, argv: list[str]) -> Callable[[float], bool]:
        """A command healthcheck run inside the container (docker exec), exit 0 = healthy."""
        return docker_options.exec_check(self._finder(service, replica), argv)

    def health_probe(self, service: str, replica: int) -> Callable[[float], bool]:
        """Readiness from the engine's health status (the image's own HEALTHCHECK)."""
        return docker_options.engine_health(self._finder(service, replica))

    def sync(self, service: str, batch: SyncBatch, target: str) -> None:
        """Apply a `sync` rule's batch to the service's running containers."""
        if not batch.empty:
            sync_batch(self.api(), self.stack_id, service, batch, target)

    def remove_network(self) -> None:
        self.objects.remove_network()

    def remove_volumes(self) -> None:
        self.objects.remove_volumes()

    def clean_up(self, volumes: bool) -> list[str]:
        """After `down`: remove the network, and the named volumes if asked. Returns what
        failed: `down` reports it and succeeds, since the services are gone anyway."""
        failures = []
        for cleanup in (self.remove_network, *([self.remove_volumes] if volumes else [])):
            try:
                cleanup()
            except RuntimeError_ as exc:
                failures.append(str(exc))
        return failures

    def invalidate(self, rebuild: bool = False) -> None:
        """Forget resolved image ids (each `up` looks again); `rebuild` forces builds."""
        self._images.clear()
        self._rebuild = rebuild

    def rebuild(self, service: str) -> None:
        """Build this service's image again at its next prepare, even if nothing changed."""
        self._rebuild_only.add(service)

    def close(self) -> None:
        self._closed.set()
        if self._remote is not None:
            self._remote.close()

    # -- internals -------------------------------------------------------------------

    def _finder(self, service: str, replica: int) -> docker_options.Find:
        def find() -> tuple[APIClient, list[dict[str, Any]]]:
            api = self.api()
            return api, self._containers(api, service, replica)

        return find

    def _containers(self, api: APIClient, service: str, replica: int) -> list[dict[str, Any]]:
        filters = {"label": [f"{LABEL}.stack={self.stack_id}", f"{LABEL}.service={service}",
                             f"{LABEL}.replica={replica}"]}  # fmt: skip
        with translated(f"finding {service}"):
            return list(api.containers(all=True, filters=filters))

    def _remove_key(self, api: APIClient, service: str, replica: int) -> None:
        for item in self._containers(api, service, replica):
            with translated(f"removing {service}"):
                api.remove_container(item["Id"], force=True, v=True)
            self._listing.changed(exited=True)

    def _image_id(self, api: APIClient, reference: str) -> str:
        if reference not in self._images:
            try:
                image = api.inspect_image(reference)  # type: ignore[no-untyped-call]
                self._images[reference] = str(image["Id"])
            except docker.errors.ImageNotFound:
                return ""
            except docker.errors.DockerException as exc:
                raise RuntimeError_(engine_hint()) from exc
        return self._images[reference]

    def _exited_at(self, api: APIClient, cid: str, orphan: bool = False) -> float:
        if orphan:  # still running, without a network: "exited" as it is seen cut off
            self._finished.setdefault(cid, self._clock())
        if cid not in self._finished:
            try:
                finished = api.inspect_container(cid)["State"]["FinishedAt"]
                self._finished[cid] = parse_time(finished) or self._clock()
            except docker.errors.DockerException:
                return self._clock()
        return self._finished[cid]

    def _build_line(self, service: str, line: str) -> None:
        self._logs.emit(service, 0, "event", f"build: {line}")

    def _settle(self, client: APIClient, cid: str) -> None:
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline and not self._closed.is_set():
            try:
                running = client.inspect_container(cid)["State"]["Running"]
            except docker.errors.DockerException:
                break  # removed: gone is visible too
            if not running:
                break
            self._closed.wait(0.05)
        self._listing.changed(exited=True)  # a listing asked before this may show it running
        self._on_change()

    def _events(self) -> None:
        """Container starts and deaths only mark the stack dirty (level-triggered)."""
        filters = {"type": "container", "label": f"{LABEL}.stack={self.stack_id}",
                   "event": ["start", "die", "destroy", "oom"]}  # fmt: skip
        while not self._closed.is_set():
            try:
                client = self._client
                if client is None:
                    return
                events = client.events(decode=True, filters=filters)
                self._listing.hearing(True)
                for event in events:
                    cid = str(event.get("id", ""))
                    self._listing.changed(exited=event.get("status") != "start")
                    if event.get("status") == "die" and cid not in self._stopping:
                        attrs = event.get("Actor", {}).get("Attributes", {})
                        name = attrs.get(f"{LABEL}.service", "?")
                        code = attrs.get("exitCode", "?")
                        # Stamped with the engine's time of the death, as the process
                        # runtime stamps its exits: the backoff counts from it.
                        nanos = event.get("timeNano")
                        when = nanos / 1e9 if isinstance(nanos, int) else None
                        self._logs.event(f"{name} exited with code {code}", name, when)
                        # The engine may list the container as running for a moment after
                        # `die`: mark dirty again once the exit is visible.
                        threading.Thread(
                            target=self._settle, args=(client, cid), daemon=True
                        ).start()
                    self._on_change()
            except Exception:  # the engine, or the SSH connection to it, went away: again
                pass
            self._listing.hearing(False)
            self._closed.wait(EVENTS_RETRY)


def _network_gone(exc: Exception) -> bool:
    """A start failed because the stack network no longer exists (removed by hand)."""
    return (
        isinstance(exc, docker.errors.APIError) and exc.status_code == 404 and "network" in str(exc)
    )
