"""The Docker engine of a stack's containers, as the daemon holds it: the one kept with
the stack, the one an `up` asks for, and moving the containers from one to the other.

See runtimes/engine_target.py for how the choice is made and kept. Moving means stopping
and removing every container of the stack on the old engine, and its network, before
anything starts on the new one: no stack is ever split across two engines, and nothing of
it is left behind on the first (named volumes are data, and stay, as with `down`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from devstack.api.models import EngineInfo
from devstack.config.backing import BackingResolution
from devstack.daemon.failures import BadRequest
from devstack.engine.events import LogStore
from devstack.engine.ports import Runtime, RuntimeError_
from devstack.model.desired import DesiredState
from devstack.runtimes import engine_target
from devstack.runtimes.engine_target import EngineChoiceError, EngineTarget
from devstack.state.paths import StackPaths

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime
    from devstack.runtimes.remote_engine import RemoteEngine

THIS_MACHINE = "this machine"
MOVE_TIMEOUT = 300.0  # the longest a start on the new engine waits for the old one to empty


class Engines:
    def __init__(
        self,
        stack: Callable[[], str],
        paths: StackPaths,
        host_env: Mapping[str, str],
        logs: LogStore,
        on_change: Callable[[], None],
        persist: Callable[[str, Callable[[], None]], None],
    ) -> None:
        self._stack = stack
        # The daemon's state writes: on a full disk kept and retried, said in status.
        self._persist = persist
        self._paths = paths
        self._logs = logs
        self._changed = on_change
        # The engine kept with the stack, else the one this daemon's environment names.
        self.target: EngineTarget = engine_target.from_environment(paths.state_dir, host_env)
        self._remote: RemoteEngine | None = None
        # Clear while the stack moves: a start on the new engine waits until nothing of
        # the stack is left on the old one (its ports may be the same).
        self._settled = threading.Event()
        self._settled.set()

    def make_runtime(self) -> Runtime:
        """The docker runtime on the current engine (the composite runtime's factory)."""
        from devstack.runtimes.docker import DockerRuntime
        from devstack.runtimes.docker_engine import connect

        self._settled.wait(MOVE_TIMEOUT)
        target = self.target
        remote = None
        if target.kind == "ssh":
            from devstack.runtimes.remote_engine import RemoteEngine

            remote = RemoteEngine(target, self._logs.event, self._changed)
        self._remote = remote
        return DockerRuntime(
            self._stack(), self._paths.stack_id, self._logs, self._changed,
            connector=lambda: connect(target), remote=remote,
        )  # fmt: skip

    def choose(
        self,
        asked: Mapping[str, object] | None,
        desired: DesiredState,
        discard_docker: Callable[[], None],
        docker: DockerRuntime | None,
    ) -> None:
        """At `up`, before anything starts: take the engine this `up` asks for, moving the
        stack's containers there if it asked explicitly for another one. Raises BadRequest
        (nothing changed) for a choice that cannot work."""
        if asked is None:
            return  # a client that does not say: the stack stays where it is
        has_containers = any(s.runtime == "docker" for s in desired.services.values())
        try:
            target = engine_target.from_request(asked)
        except EngineChoiceError as exc:
            if asked.get("context") or has_containers:
                raise BadRequest(str(exc)) from None
            return  # a bad DOCKER_HOST does not concern a stack of host processes
        saved = engine_target.load(self._paths.state_dir)
        if saved is not None and not target.explicit:
            target = saved  # a default never moves a stack that has its engine
        if has_containers:
            try:
                engine_target.require_ssh_support(target)
            except EngineChoiceError as exc:
                raise BadRequest(str(exc)) from None
        if not target.same_engine(self.target):
            # Forgotten first: a controller pass under way from now on can only see (and
            # start on) the new engine, and its starts wait for the move to finish.
            previous = self.target
            self._settled.clear()
            try:
                discard_docker()
                self.target = target
                if saved is not None and docker is not None:
                    self._move_off(docker, saved, target, desired)
                elif docker is not None:
                    docker.close()  # never used for this stack: nothing there to stop
            except BadRequest:
                self.target = previous  # the stack stays (its runtime is made again)
                raise
            finally:
                self._settled.set()
        self.target = target
        if saved != target:
            dest = self._paths.state_dir
            self._persist("the engine", lambda: engine_target.save(dest, target))

    def _move_off(
        self, docker: DockerRuntime, old: EngineTarget, new: EngineTarget, desired: DesiredState
    ) -> None:
        try:
            instances = [w for w in docker.observe() if w.runtime == "docker"]
            for w in instances:
                service = desired.services.get(w.service)
                docker.stop(w.service, w.replica, service.stop_grace if service else 10.0)
            docker.remove_network()
        except RuntimeError_ as exc:
            raise BadRequest(
                f"cannot move the stack to {new.host}: its containers on {old.host} cannot be "
                f"stopped ({exc}); bring that engine back, or stop them there by hand "
                f"(label devstack.stack={self._paths.stack_id})"
            ) from None
        finally:
            docker.close()
        self._logs.event(
            f"moved to the engine {new.shown()}: {len(instances)} container(s) stopped and "
            f"removed on {old.host}"
        )

    def forget(self) -> None:
        """After `down`: the next `up` chooses afresh."""
        engine_target.forget(self._paths.state_dir)

    def info(self, desired: DesiredState) -> EngineInfo | None:
        if not any(s.runtime == "docker" for s in desired.services.values()):
            return None
        remote = self._remote
        forwards = (
            [
                f"{address}:{port} -> engine 127.0.0.1:{remote_port}"
                for (address, port), remote_port in sorted(remote.forwards.listening().items())
            ]
            if remote is not None
            else []
        )
        return EngineInfo(
            host=self.target.host,
            kind=self.target.kind,
            source=self.target.source,
            connected=remote.connected() if remote is not None else not self.target.remote,
            forwards=forwards,
        )

    def problems(self, resolution: BackingResolution | None = None) -> list[str]:
        """The lost connection, and emulators here that containers there cannot reach."""
        remote = self._remote
        problem = remote.problem() if remote is not None else None
        found = [problem] if problem else []
        if resolution is not None and self.target.remote:
            # A relay carries host.docker.internal to an emulator on this machine: on a
            # remote engine that name is the remote machine, where nothing answers.
            found.extend(
                f"{use.provider} runs on this machine; containers on the engine "
                f"{self.target.host} cannot reach it (give it a container provider, "
                "e.g. localstack)"
                for use in resolution.providers.values()
                if use.relay is not None
            )
        return found

    def runs_on(self, runtime: str | None) -> str | None:
        """Where a provider's workload runs, for `backing`."""
        if runtime == "docker":
            return THIS_MACHINE if not self.target.remote else self.target.host
        if runtime == "process":
            return THIS_MACHINE
        return None
