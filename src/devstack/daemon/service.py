"""The daemon's core: wires manifest, controller, runtime and logs; the API calls into it."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.api.models import (
    BackingStatus,
    EngineInfo,
    PlanResponse,
    ServiceConfig,
    StackStatus,
    SwapRequest,
    SwapResponse,
)
from devstack.config.backing import BackingResolution
from devstack.config.extras import MissingExtra
from devstack.config.loader import LoadedStack, load_stack
from devstack.config.ports import PortAllocator
from devstack.config.problems import ManifestError
from devstack.config.servers import data_home
from devstack.daemon.disk import DiskTrouble
from devstack.daemon.engines import Engines
from devstack.daemon.failures import BadRequest
from devstack.daemon.linger import linger_seconds
from devstack.daemon.logbuffer import buffer_bytes
from devstack.daemon.logfiles import LogFiles
from devstack.daemon.portcheck import check_ports
from devstack.daemon.reload import LiveReload
from devstack.daemon.resolutions import BackingResolutions
from devstack.daemon.restarts import load_restarts, save_restarts
from devstack.daemon.stack_runtime import HostRuntime, StackRuntime, Wiring
from devstack.daemon.swap import Swapper
from devstack.daemon.tuning import backoff_reset_after
from devstack.daemon.views import Views, render_plan
from devstack.daemon.waiting import wait_until
from devstack.daemon.writes import StateWrites
from devstack.engine.causes import Requested
from devstack.engine.controller import PENDING_RECHECK, Controller
from devstack.engine.events import LogStore
from devstack.engine.plan import Operation
from devstack.engine.reconcile import completes, project
from devstack.engine.supervise import spawn
from devstack.intent.desired import DEFAULT_ENVIRONMENT, desired_state
from devstack.intent.value import Intent
from devstack.model.desired import DesiredState
from devstack.model.names import UnknownName
from devstack.model.observed import RestartRecord
from devstack.providers.secrets import SecretsCache
from devstack.state.paths import StackPaths
from devstack.trace import mark

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime

MAX_REPLICAS = 100  # the manifest's bound too
DISK_RETRY_SECONDS = 1.0  # how often writes that failed (a full disk) are tried again


Clock = Callable[[], float]


class Daemon:
    """One stack's daemon. `runtime` makes what it runs services on (HostRuntime: real
    processes and containers); `clock` is the wall clock of plans, backoff and health."""

    def __init__(
        self,
        manifest: Path,
        environment: str | None,
        host_env: Mapping[str, str] | None = None,
        *,
        runtime: Callable[[Wiring], StackRuntime] = HostRuntime,
        clock: Clock = time.time,
    ) -> None:
        self.manifest = manifest
        self.paths = StackPaths(manifest.parent)
        self.paths.ensure()
        self.host_env = dict(os.environ if host_env is None else host_env)
        self.clock = clock
        self.logs = LogStore(buffer_bytes(self.host_env))
        # Writes that fail for a full or failing disk: shown in status, retried.
        self.disk = DiskTrouble(self.logs)
        self.writes = StateWrites(self.disk)
        self._closing = threading.Event()
        self._files = LogFiles(self.paths.logs_dir, trouble=self.disk)
        self.logs.subscribe(self._files)
        self._lock = threading.Lock()  # guards the fields below; never held during a pass
        self.loaded: LoadedStack = load_stack(manifest)
        # State files found corrupt (moved aside, rebuilt), shown by `status` until `down`.
        self.recovered: list[str] = []
        # The intent survives a daemon restart: the environment in use, user stops, swaps,
        # scale, a pinned release. Changed only by `apply_intent`, as a whole new value.
        saved = Intent.load(self.paths.overrides, self._state_refused)
        self.intent = saved.but(environment=environment or saved.environment or DEFAULT_ENVIRONMENT)
        self.secrets = SecretsCache()  # read at `up`, kept in memory only
        self.ports = PortAllocator(self.paths.state_dir / "ports.json", self._state_refused)
        self._resolutions = BackingResolutions(self.host_env, self.ports)
        self._desired = self._resolve(self.intent, self.loaded)
        self._pending_retry_at = 0.0  # monotonic time of the next read of pending secrets
        # The Docker engine of the stack's containers: kept with the stack, moved by `up`.
        self.engines = Engines(
            lambda: self.loaded.stack.name, self.paths, self.host_env, self.logs, self._changed,
            self.writes.persist,
        )  # fmt: skip
        self.stack_runtime = runtime(
            Wiring(
                lambda: self.loaded.stack.name,
                self.paths,
                self.logs,
                self._changed,
                self.host_env,
                self.writes.state_file,
                self._state_refused,
                make_docker=self.engines.make_runtime,
            )
        )
        self.runtime = self.stack_runtime.runtime
        reset_after, bad_reset = backoff_reset_after(self.host_env)
        if bad_reset is not None:
            self.logs.event(bad_reset)
        self.controller = Controller(
            self.desired,
            self.runtime,
            self.logs,
            self.stack_runtime.probe,
            clock,
            reset_after,
            self.stack_runtime.owns,
            records=load_restarts(self.paths.restarts, self._state_refused),
            on_restart=self._save_restarts,
        )
        self._controller_started = False
        self.live = LiveReload(self)
        self.problems: list[str] = []  # why the last manifest edit was not applied
        self.swapper = Swapper(self, linger_seconds(self.host_env))
        self._views = Views(self)

    def _state_refused(self, message: str) -> None:
        """A state file was corrupt: an event in the log, a line in `status` (and on
        stderr, which is daemon.log, in case the log store is not read)."""
        self.recovered.append(message)
        self.logs.event(message)
        print(f"devstack: {message}", file=sys.stderr, flush=True)

    @property
    def docker(self) -> DockerRuntime | None:
        return self.stack_runtime.docker

    def _changed(self) -> None:
        self.controller.mark_dirty()

    def start(self) -> None:
        """Adopt what an earlier daemon left running; reconciling waits for the first `up`.

        The daemon is only ever launched by `up`, which calls the API right away: starting
        the controller there lets that first answer show the whole plan it executes.
        """
        if any(s.runtime == "docker" for s in self._desired.services.values()):
            self.stack_runtime.use_docker()  # observes (re-adopts) its containers from now on
        adopted = self.stack_runtime.adopt()
        if adopted:
            names = ", ".join(sorted({w.service for w in adopted}))
            self.logs.event(f"adopted running instances of {names}")
        spawn("disk-retry", self._retry_writes, self.logs, self._closing)

    # -- a full disk ---------------------------------------------------------------------

    def _save_restarts(self, records: dict[tuple[str, int], RestartRecord]) -> None:
        """After each counted restart: kept for the next daemon (retried on a full disk)."""
        self.writes.persist("restarts", lambda: save_restarts(self.paths.restarts, records))

    def _retry_writes(self) -> None:
        while not self._closing.wait(DISK_RETRY_SECONDS):
            self._files.retry()
            self.stack_runtime.retry_save()
            self.writes.retry()

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
        self.stack_runtime.close()
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
                    self._desired = self._resolve(self.intent, self.loaded)
                except ManifestError as exc:
                    self.problems = [str(p) for p in exc.problems]
                except (UnknownName, MissingExtra) as exc:
                    self.problems = [str(exc)]
            return self._desired

    def _resolve(self, intent: Intent, loaded: LoadedStack) -> DesiredState:
        desired = desired_state(
            loaded,
            intent,
            self.host_env,
            state_dir=self.paths.state_dir,
            ports=self.ports,
            secrets=self.secrets,
        )
        self.writes.persist("ports", self.ports.save)
        return desired

    def preview(self, intent: Intent) -> DesiredState:
        """The desired state `intent` would give, with nothing applied."""
        return self._resolve(intent, self.loaded)

    def apply_intent(
        self,
        intent: Intent | None = None,
        loaded: LoadedStack | None = None,
        resolved: DesiredState | None = None,
    ) -> DesiredState:
        """Change intent (and/or the manifest) atomically: resolved first, so a bad change
        raises and leaves everything as it was; only a good one replaces the values.
        `resolved`: the caller already resolved this very intent and manifest."""
        with self._lock:
            intent = self.intent if intent is None else intent
            loaded = self.loaded if loaded is None else loaded
            desired = self._resolve(intent, loaded) if resolved is None else resolved
            if loaded is not self.loaded:
                self._resolutions.forget()  # keyed by the manifest object's id
            self.intent, self.loaded, self._desired = intent, loaded, desired
            saved = intent
            self.writes.persist("overrides", lambda: saved.save(self.paths.overrides))
        self._ensure_controller()
        self.controller.mark_dirty()
        return desired

    def _candidate(
        self,
        environment: str | None,
        remove_orphans: bool,
        release: str | None = None,
        profiles: Sequence[str] | None = None,
    ) -> tuple[LoadedStack, Intent, DesiredState]:
        """What `up` would run: the manifest as it is on disk, stops cleared."""
        loaded = load_stack(self.manifest, self.loaded)  # unchanged bytes: the same stack
        if environment is not None:
            loaded.stack.environment(environment)  # UnknownName (404): the argument is wrong
        intent = self.intent.for_up(environment, remove_orphans, release, profiles)
        if profiles is not None and (unknown := intent.unknown_profiles(loaded.stack.services)):
            raise BadRequest(unknown)
        return loaded, intent, self._resolve(intent.but(warm=frozenset()), loaded)

    # -- commands --------------------------------------------------------------------------

    def scale_service(self, name: str, replicas: int) -> DesiredState:
        """Run `replicas` instances of a user service; an override, kept like a swap."""
        if name not in self.loaded.stack.services:
            raise UnknownName("service", name, self.loaded.stack.services)
        if not 0 <= replicas <= MAX_REPLICAS:
            raise BadRequest(f"replicas must be between 0 and {MAX_REPLICAS}, not {replicas}")
        desired = self.apply_intent(self.intent.scaled(name, replicas))
        self.logs.event(f"scale {name}={replicas}")
        return desired

    def plan(
        self,
        environment: str | None,
        remove_orphans: bool,
        release: str | None = None,
        profiles: Sequence[str] | None = None,
    ) -> PlanResponse:
        _, _, desired = self._candidate(environment, remove_orphans, release, profiles)
        observed = self.controller.observed()
        view = self.controller.prepared_view(desired)
        return render_plan(project(view, observed, self.clock()))

    def up(
        self,
        environment: str | None,
        remove_orphans: bool,
        build: bool = False,
        release: str | None = None,
        engine: Mapping[str, object] | None = None,
        profiles: Sequence[str] | None = None,
    ) -> PlanResponse:
        mark("daemon.up")
        self.secrets.clear()  # `up` reads the environment's secrets afresh
        loaded, intent, desired = self._candidate(environment, remove_orphans, release, profiles)
        # Before anything starts or stops: a port another process holds fails the whole `up`.
        check_ports(desired, self._desired, self.runtime.observe(), self.paths.stack_id)
        # May move the stack to another engine (its containers leave the old one first).
        self.engines.choose(engine, desired, self.stack_runtime.discard_docker, self.docker)
        if any(s.runtime == "docker" for s in desired.services.values()):
            self.stack_runtime.use_docker()
            if self.docker is not None:
                self.docker.invalidate(rebuild=build)
        self.controller.invalidate()
        # `up` means "everything running": clear user stops and let finished ones start again.
        for w in self.runtime.observe():
            # A one-shot that completed as a dependent asked (exit 0) stays done, as the
            # dry run says: a no-op `up` runs nothing again.
            done = w.exit_code == 0 and completes(desired, w.service)
            if w.state == "exited" and not done:
                self.runtime.remove(w.service, w.replica)
        # Images are built (or found) now, as compose does, so the plan below is exact.
        observed = self.controller.observed()
        view, _ = self.controller.prepare(desired, observed)
        # Planned before applying, so the answer shows what this `up` does, not what is left.
        plan = render_plan(project(view, observed, self.clock()))
        # A release runs the environment it was recorded for; the providers warming up
        # for a swap in progress stay warm.
        # The candidate was resolved without the providers kept warm for a swap; with none
        # warm it is this intent's state already (resolving 100 services again: 30 ms).
        again = desired if not intent.warm else None
        desired = self.apply_intent(intent.but(environment=desired.environment), loaded, again)
        pinned = f", release {release}" if release else ""
        self.logs.event(f"up ({desired.environment}{pinned}): {len(plan.steps)} step(s)")
        mark("daemon.up.answered")
        return plan.model_copy(update={"problems": self.disk.problems()})

    def down(self, timeout: float, volumes: bool = False) -> bool:
        services = set(self.loaded.stack.services) | set(self.desired().services)
        self.apply_intent(self.intent.stopping(services).but(remove_orphans=True))
        # A pass already under way (a restart, say) may create an instance after it looked
        # at the state: wait for a pass that starts from the new intent before checking.
        self.controller.wait_idle(timeout)
        ok = wait_until(self.stack_runtime.all_gone, timeout)
        # Swaps outlive `down` (until undone or reset); stops and the environment do not.
        kept = self.intent.after_down()
        self.writes.persist("overrides", lambda: kept.save(self.paths.overrides))
        if ok:  # the instances are gone: so are their restart counts, as with compose
            self.paths.restarts.unlink(missing_ok=True)
            self.engines.forget()
        if ok and volumes:
            # Emulator data (MiniStack's state, ...) lives here; containers' in volumes.
            shutil.rmtree(self.paths.state_dir / "data", ignore_errors=True)
            shutil.rmtree(data_home(self.paths.state_dir), ignore_errors=True)
        if ok and self.docker is not None:
            for failure in self.docker.clean_up(volumes):
                self.logs.event(f"down: {failure}")
        return ok

    def stop_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        self.apply_intent(self.intent.stopping([name]))

        def gone() -> bool:
            return not any(s == name for s, _ in self.stack_runtime.present()) and not any(
                w.service == name for w in self.runtime.observe()
            )

        return wait_until(gone, timeout)

    def start_service(self, name: str) -> None:
        self._require(name)
        for w in self.runtime.observe():
            if w.service == name and w.state == "exited":
                self.runtime.remove(w.service, w.replica)
        self.apply_intent(self.intent.starting([name]))

    def restart_service(self, name: str, timeout: float) -> bool:
        self._require(name)
        if name in self.intent.stopped:
            self.apply_intent(self.intent.starting([name]))
        desired = self.desired()
        self._ensure_controller()
        for replica in range(desired.services[name].replicas):
            self.controller.request(Operation("restart", name, replica, Requested()))
        return self.controller.wait_idle(timeout)

    def rebuild_service(self, name: str, timeout: float) -> bool:
        """Build the service's image again (no cache shortcut on our side), then restart it."""
        self._require(name)
        service = self.loaded.stack.services.get(name)
        if service is None or service.build is None:
            raise BadRequest(f"{name} has no build: to rebuild (restart it instead)")
        self.stack_runtime.use_docker()
        if self.docker is not None:
            self.docker.rebuild(name)
        self.controller.invalidate()
        return self.restart_service(name, timeout)

    def _require(self, name: str) -> None:
        if name not in self.loaded.stack.services and name not in self.desired().services:
            raise UnknownName("service", name, self.loaded.stack.services)

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

    # -- backing services --------------------------------------------------------------------

    def swap(self, request: SwapRequest) -> SwapResponse:
        """Move backing services to other providers by configuration only (see `Swapper`)."""
        return self.swapper.swap(request)

    def backing(self) -> list[BackingStatus]:
        return self._views.backing()

    def config(self, name: str, show_secrets: bool = False) -> ServiceConfig:
        """The effective environment of a service as it runs now, with each value's source."""
        return self._views.config(name, show_secrets)

    def backing_resolution(
        self, environment: str, swaps: Mapping[str, str] | None = None
    ) -> BackingResolution | None:
        """The backing services as resolved for `environment` with `swaps` (None: those
        in force), or None where they cannot resolve."""
        chosen = self.intent.active_swaps if swaps is None else swaps
        return self._resolutions.get(self.loaded, environment, chosen)

    def shown_problems(self) -> list[str]:
        engine = self.engines.problems(self.backing_resolution(self._desired.environment))
        return [*self.problems, *self.disk.problems(), *engine]

    def engine_info(self, desired: DesiredState) -> EngineInfo | None:
        return self.engines.info(desired)

    def runs_on(self, runtime: str | None) -> str | None:
        return self.engines.runs_on(runtime)

    # -- status ----------------------------------------------------------------------------

    def status(self) -> StackStatus:
        return self._views.status()
