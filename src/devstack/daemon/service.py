"""The daemon's core: wires manifest, controller, runtime and logs; the API calls into it."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.api.models import (
    BackingStatus,
    PlanResponse,
    PlanStep,
    ServiceConfig,
    StackStatus,
    SwapRequest,
    SwapResponse,
)
from devstack.config.backing import BackingProblem, BackingResolution, resolve_backing
from devstack.config.extras import MissingExtra
from devstack.config.loader import LoadedStack, load_stack
from devstack.config.ports import PortAllocator
from devstack.config.problems import ManifestError, Problem
from devstack.config.resolve import resolve
from devstack.config.servers import data_home
from devstack.daemon.disk import DiskTrouble, describe
from devstack.daemon.engines import Engines
from devstack.daemon.failures import BadRequest
from devstack.daemon.logbuffer import buffer_bytes
from devstack.daemon.logfiles import LogFiles
from devstack.daemon.overrides import Overrides
from devstack.daemon.portcheck import check_ports
from devstack.daemon.reload import LiveReload
from devstack.daemon.restarts import load_restarts, save_restarts
from devstack.daemon.swap import Swapper
from devstack.daemon.tuning import backoff_reset_after
from devstack.daemon.views import Views
from devstack.engine.controller import PENDING_RECHECK, Controller
from devstack.engine.events import LogStore
from devstack.engine.plan import Operation, ProjectedPlan
from devstack.engine.ports import Probe, Runtime, RuntimeError_
from devstack.engine.reconcile import project
from devstack.engine.supervise import spawn
from devstack.model.desired import ContainerSpec, DesiredService, DesiredState, ProvisionSpec
from devstack.model.manifest import HealthCheck, WatchRule
from devstack.model.names import UnknownName
from devstack.model.observed import RestartRecord, Workload
from devstack.providers.secrets import SecretsCache
from devstack.release import store as release_store
from devstack.release.record import ReleaseError, thaw
from devstack.runtimes.composite import CompositeRuntime
from devstack.runtimes.probes import FunctionProbe, probe_for
from devstack.runtimes.process import ProcessRuntime
from devstack.runtimes.provision import ProvisionRuntime
from devstack.state.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime

MAX_REPLICAS = 100  # the manifest's bound too
DISK_RETRY_SECONDS = 1.0  # how often writes that failed (a full disk) are tried again


class Daemon:
    def __init__(
        self, manifest: Path, environment: str | None, host_env: Mapping[str, str] | None = None
    ) -> None:
        self.manifest = manifest
        self.paths = StackPaths(manifest.parent)
        self.paths.ensure()
        self.host_env = dict(os.environ if host_env is None else host_env)
        self.logs = LogStore(buffer_bytes(self.host_env))
        # Writes that fail for a full or failing disk: shown in status, retried.
        self.disk = DiskTrouble(self.logs)
        self._unwritten: dict[str, Callable[[], None]] = {}  # what: the write to retry
        self._closing = threading.Event()
        self._files = LogFiles(self.paths.logs_dir, trouble=self.disk)
        self.logs.subscribe(self._files)
        self._lock = threading.Lock()  # guards the fields below; never held during a pass
        self._unwritten_lock = threading.Lock()
        self._resolutions: dict[tuple[object, ...], BackingResolution | None] = {}
        self.loaded: LoadedStack = load_stack(manifest)
        # State files found corrupt (moved aside, rebuilt), shown by `status` until `down`.
        self.recovered: list[str] = []
        # Overrides survive a daemon restart: the environment in use, user stops, swaps.
        saved = Overrides.load(self.paths.overrides, self._state_refused)
        self.environment: str = environment or saved.environment or "dev"
        self.stopped: set[str] = saved.stopped
        self.swaps: dict[str, list[str]] = saved.swaps
        self.scale: dict[str, int] = saved.scale
        self.release: str | None = saved.release  # a pinned release replaces the manifest
        self.secrets = SecretsCache()  # read at `up`, kept in memory only
        self.warm: frozenset[str] = frozenset()  # providers started ahead of a swap
        self.remove_orphans = False
        self.ports = PortAllocator(self.paths.state_dir / "ports.json", self._state_refused)
        self._desired = self._resolve()
        self._pending_retry_at = 0.0  # monotonic time of the next read of pending secrets
        self.process = ProcessRuntime(
            self.paths.stack_id,
            self.paths.state_dir,
            self.logs,
            self._changed,
            self.host_env,
            on_disk=self._state_write,
            on_corrupt=self._state_refused,
        )
        self.provisioner = ProvisionRuntime(self.logs, self._changed)
        self.engines = Engines(
            lambda: self.loaded.stack.name, self.paths, self.host_env, self.logs, self._changed,
            self._persist,
        )  # fmt: skip
        self.runtime = CompositeRuntime(
            {
                "process": lambda: self.process,
                "docker": self._docker,
                "provision": lambda: self.provisioner,
            }
        )
        self.runtime.runtime("process")
        self.runtime.runtime("provision")
        reset_after, bad_reset = backoff_reset_after(self.host_env)
        if bad_reset is not None:
            self.logs.event(bad_reset)
        self.controller = Controller(
            self.desired,
            self.runtime,
            self.logs,
            self._probe,
            time.time,
            reset_after,
            self._owns,
            records=load_restarts(self.paths.restarts, self._state_refused),
            on_restart=self._save_restarts,
        )
        self._controller_started = False
        self.live = LiveReload(self)
        self.problems: list[str] = []  # why the last manifest edit was not applied
        self._swapper = Swapper(self)
        self._views = Views(self)

    def _state_refused(self, message: str) -> None:
        """A state file was corrupt: an event in the log, a line in `status` (and on
        stderr, which is daemon.log, in case the log store is not read)."""
        self.recovered.append(message)
        self.logs.event(message)
        print(f"devstack: {message}", file=sys.stderr, flush=True)

    def _docker(self) -> Runtime:
        # Imported here: a stack of host processes never loads the Docker SDK.
        return self.engines.make_runtime()

    def _probe(self, service: DesiredService, check: HealthCheck) -> Probe:
        if service.runtime == "docker" and check.command is not None:
            self.runtime.runtime("docker")
            docker = self.docker
            assert docker is not None
            command = check.command
            argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
            return FunctionProbe(docker.exec_probe(service.name, service.replica, argv))
        return probe_for(service, check)

    def _owns(self, workload: Workload, service: DesiredService) -> bool:
        """A probe success counts only for the live instance devstack started (InstanceProbe)."""
        if workload.runtime == "process":
            return self.process.owns(workload, _probed_port(service))
        if workload.runtime == "docker" and self.docker is not None:
            return self.docker.running(workload)
        return True

    @property
    def docker(self) -> DockerRuntime | None:
        made = self.runtime.made().get("docker")
        from devstack.runtimes.docker import DockerRuntime

        return made if isinstance(made, DockerRuntime) else None

    def _changed(self) -> None:
        self.controller.mark_dirty()

    def start(self) -> None:
        """Adopt what an earlier daemon left running; reconciling waits for the first `up`.

        The daemon is only ever launched by `up`, which calls the API right away: starting
        the controller there lets that first answer show the whole plan it executes.
        """
        if any(s.runtime == "docker" for s in self._desired.services.values()):
            self.runtime.runtime("docker")  # observes (re-adopts) its containers from now on
        adopted = self.process.adopt()
        if adopted:
            names = ", ".join(sorted({w.service for w in adopted}))
            self.logs.event(f"adopted running instances of {names}")
        spawn("disk-retry", self._retry_writes, self.logs, self._closing)

    # -- a full disk ---------------------------------------------------------------------

    def _state_write(self, error: OSError | None) -> None:
        """The process runtime's state file could not be written (error) or could again."""
        if error is None:
            self.disk.recovered("state", "process state saved again")
        else:
            self.disk.failed("state", _unsaved("the process state", error))

    def _save_restarts(self, records: dict[tuple[str, int], RestartRecord]) -> None:
        """After each counted restart: kept for the next daemon (retried on a full disk)."""
        self._persist("restarts", lambda: save_restarts(self.paths.restarts, records))

    def _persist(self, what: str, write: Callable[[], None]) -> None:
        """Run a state write; on a full disk keep it to retry (the latest per `what`) and
        say so in status, rather than fail the request that changed the state."""
        try:
            write()
        except OSError as exc:
            with self._unwritten_lock:
                self._unwritten[what] = write
            self.disk.failed(what, _unsaved(what, exc))
            return
        with self._unwritten_lock:
            retried = self._unwritten.pop(what, None)
        if retried is not None:
            self.disk.recovered(what, f"{what} saved again")

    def _retry_writes(self) -> None:
        while not self._closing.wait(DISK_RETRY_SECONDS):
            self._files.retry()
            self.process.retry_save()
            with self._unwritten_lock:
                pending = list(self._unwritten.items())
            for what, write in pending:
                self._persist(what, write)

    def resume(self) -> None:
        """Supervise at once, with the saved overrides: this daemon replaces one that lost
        its socket, and the stack was already up (no `up` will come to start it)."""
        self._ensure_controller()

    def _ensure_controller(self) -> None:
        with self._lock:
            if self._controller_started:
                return
            self._controller_started = True
        self.controller.start()
        if self.host_env.get("DEVSTACK_WATCH", "1") == "0":
            self.logs.event("live reload is off (DEVSTACK_WATCH=0)")
            return
        try:
            self.live.start()
        except Exception as exc:  # live reload is a convenience: never fail `up` for it
            self.logs.event(f"live reload unavailable: {exc}")

    def close(self) -> None:
        """Stop the daemon, not the stack: services keep running for the next daemon."""
        self._closing.set()
        self.live.close()
        self.controller.close()
        self.process.close()
        if self.docker is not None:
            self.docker.close()
        self._files.close()

    # -- desired state -------------------------------------------------------------------

    def desired(self) -> DesiredState:
        with self._lock:
            now = time.monotonic()
            if self._desired.pending and now >= self._pending_retry_at:
                # Secrets live on a provider the stack is starting: read them once it is
                # up (controller passes and API calls ask), and only then let the services
                # start. At most every PENDING_RECHECK (the controller's own pace), so a UI
                # polling status while the store starts does not ask it on every call.
                self._pending_retry_at = now + PENDING_RECHECK
                try:
                    self._desired = self._resolve()
                except ManifestError as exc:
                    self.problems = [str(p) for p in exc.problems]
                except (UnknownName, MissingExtra) as exc:
                    self.problems = [str(exc)]
            return self._desired

    def _resolve(self) -> DesiredState:
        if self.release is not None:
            return self._released(self.release, self.loaded, self.stopped, self.remove_orphans)
        desired = resolve(
            self.loaded,
            self.environment,
            self.host_env,
            stopped=frozenset(self.stopped),
            remove_orphans=self.remove_orphans,
            ports=self.ports,
            swaps=self.active_swaps,
            warm=self.warm,
            secrets=self.secrets,
            scale=self.scale,
        )
        self._persist("ports", self.ports.save)
        return desired

    @property
    def active_swaps(self) -> dict[str, str]:
        return {name: history[-1] for name, history in self.swaps.items() if history}

    def _save_overrides(self) -> None:
        saved = Overrides(self.environment, set(self.stopped), self.swaps, self.scale, self.release)
        self._persist("overrides", lambda: saved.save(self.paths.overrides))

    def apply_intent(self, **changes: object) -> DesiredState:
        """Change intent atomically: resolve first, so a bad change leaves everything as it was."""
        with self._lock:
            fields = (
                "loaded", "environment", "stopped", "remove_orphans", "swaps", "warm", "scale",
                "release",
            )  # fmt: skip
            before = {name: getattr(self, name) for name in fields}
            for name, value in changes.items():
                setattr(self, name, value)
            if "loaded" in changes:
                self._resolutions.clear()  # keyed by the manifest object's id
            try:
                self._desired = self._resolve()
            except Exception:
                for name, value in before.items():
                    setattr(self, name, value)
                raise
            self._save_overrides()
            desired = self._desired
        self._ensure_controller()
        self.controller.mark_dirty()
        return desired

    def _candidate(
        self, environment: str | None, remove_orphans: bool, release: str | None = None
    ) -> tuple[LoadedStack, DesiredState]:
        loaded = load_stack(self.manifest)
        if environment is not None:
            loaded.stack.environment(environment)  # UnknownName (404): the argument is wrong
        if release is not None:
            return loaded, self._released(release, loaded, set(), remove_orphans)
        desired = resolve(
            loaded,
            environment or self.environment,
            self.host_env,
            remove_orphans=remove_orphans,
            ports=self.ports,
            swaps=self.active_swaps,
            secrets=self.secrets,
            scale=self.scale,
        )
        self._persist("ports", self.ports.save)
        return loaded, desired

    # -- commands --------------------------------------------------------------------------

    def scale_service(self, name: str, replicas: int) -> DesiredState:
        """Run `replicas` instances of a user service; an override, kept like a swap."""
        if name not in self.loaded.stack.services:
            raise UnknownName("service", name, self.loaded.stack.services)
        if not 0 <= replicas <= MAX_REPLICAS:
            raise BadRequest(f"replicas must be between 0 and {MAX_REPLICAS}, not {replicas}")
        desired = self.apply_intent(scale={**self.scale, name: replicas})
        self.logs.event(f"scale {name}={replicas}")
        return desired

    def _released(
        self, release: str, loaded: LoadedStack, stopped: set[str], remove_orphans: bool
    ) -> DesiredState:
        """A recorded release, its secrets read from today's sources and checked against
        their recorded digests; scale and stops still apply. Errors read as manifest
        problems (exit 2), naming the release."""
        try:
            record = release_store.load(self.paths.state_dir, release)
            current = resolve(
                loaded, record["environment"], self.host_env, ports=self.ports,
                secrets=self.secrets,
            )  # fmt: skip
            state = thaw(record["state"], current)
        except ReleaseError as exc:
            raise ManifestError([Problem(str(exc), f"release {release}")]) from None
        services = {}
        for name, service in state.services.items():
            count = 0 if name in stopped else self.scale.get(name, service.replicas)
            services[name] = replace(
                service, replicas=count, replica_ports=self._more_ports(service, count)
            )
        return replace(state, services=services, remove_orphans=remove_orphans, release=release)

    def _more_ports(self, service: DesiredService, replicas: int) -> tuple[tuple[int, ...], ...]:
        """Scaling a release past its recorded replicas: free ports for the extra ones."""
        known = service.replica_ports
        spec = service.spec
        if replicas - 1 <= len(known) or isinstance(spec, ProvisionSpec) or not spec.ports:
            return known
        targets = (
            [p.container for p in spec.ports]
            if isinstance(spec, ContainerSpec)
            else list(spec.ports)
        )
        extra = tuple(
            tuple(self.ports(f"{service.name}#{k}", port) for port in targets)
            for k in range(len(known) + 1, replicas)
        )
        self._persist("ports", self.ports.save)
        return known + extra

    def plan(
        self, environment: str | None, remove_orphans: bool, release: str | None = None
    ) -> PlanResponse:
        _, desired = self._candidate(environment, remove_orphans, release)
        observed = self.controller.observed()
        return render_plan(project(self.controller.prepared_view(desired), observed, time.time()))

    def up(
        self,
        environment: str | None,
        remove_orphans: bool,
        build: bool = False,
        release: str | None = None,
        engine: Mapping[str, object] | None = None,
    ) -> PlanResponse:
        mark("daemon.up")
        self.secrets.clear()  # `up` reads the environment's secrets afresh
        loaded, desired = self._candidate(environment, remove_orphans, release)
        # Before anything starts or stops: a port another process holds fails the whole `up`.
        check_ports(desired, self._desired, self.runtime.observe(), self.paths.stack_id)
        self.engines.choose(engine, desired, self.runtime, self.docker)  # may move the stack
        if any(s.runtime == "docker" for s in desired.services.values()):
            self.runtime.runtime("docker")
            if self.docker is not None:
                self.docker.invalidate(rebuild=build)
        self.controller.invalidate()
        # `up` means "everything running": clear user stops and let finished ones start again.
        for w in self.runtime.observe():
            if w.state == "exited":
                self.runtime.remove(w.service, w.replica)
        # Images are built (or found) now, as compose does, so the plan below is exact.
        observed = self.controller.observed()
        view, _ = self.controller.prepare(desired, observed)
        # Planned before applying, so the answer shows what this `up` does, not what is left.
        plan = render_plan(project(view, observed, time.time()))
        desired = self.apply_intent(
            loaded=loaded,
            environment=desired.environment if release else environment or self.environment,
            stopped=set(),
            remove_orphans=remove_orphans,
            release=release,  # a plain `up` returns to the manifest
        )
        pinned = f", release {release}" if release else ""
        self.logs.event(f"up ({desired.environment}{pinned}): {len(plan.steps)} step(s)")
        mark("daemon.up.answered")
        return plan.model_copy(update={"problems": self.disk.problems()})

    def down(self, timeout: float, volumes: bool = False) -> bool:
        services = set(self.loaded.stack.services) | set(self.desired().services)
        self.apply_intent(stopped=services, remove_orphans=True)
        # A pass already under way (a restart, say) may create an instance after it looked
        # at the state: wait for a pass that starts from the new intent before checking.
        self.controller.wait_idle(timeout)
        ok = self._wait(self._all_gone, timeout)
        # Swaps outlive `down` (until undone or reset); stops and the environment do not.
        kept = Overrides(swaps=self.swaps)
        self._persist("overrides", lambda: kept.save(self.paths.overrides))
        if ok:  # the instances are gone: so are their restart counts, as with compose
            self.paths.restarts.unlink(missing_ok=True)
            self.engines.forget()
        if ok and volumes:
            # Emulator data (MiniStack's state, ...) lives here; containers' in volumes.
            shutil.rmtree(self.paths.state_dir / "data", ignore_errors=True)
            shutil.rmtree(data_home(self.paths.state_dir), ignore_errors=True)
        if ok and self.docker is not None:
            cleanups = [
                self.docker.remove_network,
                *([self.docker.remove_volumes] if volumes else []),
            ]
            for cleanup in cleanups:
                try:
                    cleanup()
                except RuntimeError_ as exc:
                    self.logs.event(f"down: {exc}")
        return ok

    def _all_gone(self) -> bool:
        if self.process.present() or self.provisioner.present():
            return False
        return not (self.docker and self.docker.present())

    def stop_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        self.apply_intent(stopped=self.stopped | {name})

        def gone() -> bool:
            return not any(s == name for s, _ in self.process.present()) and not any(
                w.service == name for w in self.runtime.observe()
            )

        return self._wait(gone, timeout)

    def start_service(self, name: str) -> None:
        self._require(name)
        for w in self.runtime.observe():
            if w.service == name and w.state == "exited":
                self.runtime.remove(w.service, w.replica)
        self.apply_intent(stopped=self.stopped - {name})

    def restart_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        if name in self.stopped:
            self.apply_intent(stopped=self.stopped - {name})
        desired = self.desired()
        self._ensure_controller()
        for replica in range(desired.services[name].replicas):
            self.controller.request(Operation("restart", name, replica, "restart requested"))
        return self.controller.wait_idle(timeout)

    def rebuild_service(self, name: str, timeout: float) -> bool:
        """Build the service's image again (no cache shortcut on our side), then restart it."""
        self._require(name)
        service = self.loaded.stack.services.get(name)
        if service is None or service.build is None:
            raise BadRequest(f"{name} has no build: to rebuild (restart it instead)")
        self.runtime.runtime("docker")
        if self.docker is not None:
            self.docker.rebuild(name)
        self.controller.invalidate()
        return self.restart_service(name, timeout)

    def _require(self, name: str) -> None:
        if name not in self.loaded.stack.services and name not in self.desired().services:
            raise UnknownName("service", name, self.loaded.stack.services)

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    # -- live reload -------------------------------------------------------------------------

    def reload(self) -> bool:
        """Apply the manifest (and env files) as they are on disk now, like `up` does.

        An invalid edit changes nothing: the problems are logged and shown in `status`,
        and the stack keeps running its last good configuration.
        """
        try:
            loaded = load_stack(self.manifest)
            self.apply_intent(loaded=loaded)
        except (ManifestError, UnknownName, MissingExtra) as exc:
            # UnknownName: the edit removed the running environment; MissingExtra: it
            # chose a provider whose extra is not installed here.
            self.problems = (
                [str(p) for p in exc.problems] if isinstance(exc, ManifestError) else [str(exc)]
            )
            count = len(self.problems)
            self.logs.event(
                f"manifest edit not applied ({count} problem{'s' if count != 1 else ''}); "
                "the stack keeps its last good configuration"
            )
            for problem in self.problems:
                self.logs.event(f"  {problem}")
            return False
        if self.problems:
            self.logs.event("manifest fixed: applied")
        self.problems = []
        self.logs.event("manifest change applied")
        return True

    def on_source_change(
        self, service: str, rule: WatchRule, root: Path, paths: frozenset[Path]
    ) -> None:
        """A `watch:` rule fired: restart, rebuild, or sync into the container."""
        desired = self.desired()
        target = desired.services.get(service)
        if target is None or target.replicas == 0:
            return
        first = sorted(paths)[0] if paths else root
        shown = _relative(first, self.loaded.root)
        more = f" (+{len(paths) - 1})" if len(paths) > 1 else ""
        if rule.action == "restart":
            for replica in range(target.replicas):
                cause = f"watched files changed: {shown}{more}"
                self.controller.request(Operation("restart", service, replica, cause))
        elif rule.action == "rebuild":
            # A changed build context hashes to a new tag: re-preparing rebuilds, and the
            # new image id changes the spec hash, so the reconcile restarts it.
            self.logs.event(f"{service}: rebuilding, {shown}{more} changed", service)
            self.controller.invalidate()
            if self.docker is not None:
                self.docker.invalidate()
            self.controller.mark_dirty()
        elif self.docker is not None and rule.target:
            from devstack.watch.sync import sync_batch

            batch = sync_batch(root, paths, rule.target, rule.ignore)
            if batch.empty:
                return
            try:
                self.docker.sync(service, batch, rule.target)
            except RuntimeError_ as exc:
                self.logs.event(f"{service}: sync failed: {exc}", service)
                return
            self.logs.event(f"{service}: synced {batch.describe()} into {rule.target}", service)

    # -- backing services --------------------------------------------------------------------

    def swap(self, request: SwapRequest) -> SwapResponse:
        """Move backing services to other providers by configuration only (see `Swapper`)."""
        return self._swapper.swap(request)

    def backing(self) -> list[BackingStatus]:
        return self._views.backing()

    def config(self, name: str, show_secrets: bool = False) -> ServiceConfig:
        """The effective environment of a service as it runs now, with each value's source."""
        return self._views.config(name, show_secrets)

    def backing_resolution(
        self, environment: str, swaps: dict[str, str] | None = None
    ) -> BackingResolution | None:
        # Memoized per manifest, environment and swaps: event streams ask for the backing
        # view several times a second, and resolving touches the port allocator and disk.
        chosen = self.active_swaps if swaps is None else swaps
        key = (id(self.loaded), environment, tuple(sorted(chosen.items())))
        if key in self._resolutions:
            return self._resolutions[key]
        try:
            found: BackingResolution | None = resolve_backing(
                self.loaded.stack,
                self.loaded.root,
                self._environment_providers(environment),
                chosen,
                self.host_env,
                self.ports,
            )
        except BackingProblem:
            found = None
        if len(self._resolutions) > 16:
            self._resolutions.clear()
        self._resolutions[key] = found
        return found

    def _environment_providers(self, environment: str) -> dict[str, str]:
        env = self.loaded.stack.environments.get(environment)
        return dict(env.providers) if env else {}

    # -- status ----------------------------------------------------------------------------

    def status(self) -> StackStatus:
        return self._views.status()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


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


def _unsaved(what: str, error: OSError) -> str:
    return f"{describe(error)}: cannot save {what} ({error.strerror or error}); retrying"


def render_plan(projected: ProjectedPlan) -> PlanResponse:
    steps = [
        PlanStep(kind=op.kind, target=op.target, cause=op.cause, after=list(op.after))
        for op in projected.operations
    ]
    waiting = [f"{w.service}: {w.reason}" for w in projected.waiting]
    return PlanResponse(steps=steps, waiting=waiting, text=projected.render())
