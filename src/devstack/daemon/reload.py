"""Live reload: edits to the manifest, its env files and watched sources apply themselves.

- The manifest and the env files of the running environment are watched as one unit: an
  edit is validated and applied like `up` (only what changed restarts); an invalid edit
  is reported (logs, `status.problems`) and the stack keeps its last good state.
- A service's `watch:` rules restart it, rebuild its image (a changed build context gives
  a new tag, so the ordinary reconcile rebuilds and restarts), or sync the changed files
  into its container.

The watches are re-established after every applied reload, since the env files or the
rules may have changed with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from devstack.daemon.seams import StackState
from devstack.engine.causes import Requested
from devstack.engine.plan import Operation
from devstack.engine.ports import RuntimeError_
from devstack.model.manifest import EnvFileRef, WatchRule

if TYPE_CHECKING:
    from devstack.runtimes.docker import DockerRuntime
    from devstack.watch.watcher import Watcher

MANIFEST_KEY = "manifest"
DEBOUNCE = 0.02  # an editor's save is a burst of events within a few milliseconds
# A change that lasts longer (a checkout, a generator, a writer slowed by a loaded
# machine) waits for this much quiet, so it restarts a service once, not per pause.
BURST_DEBOUNCE = 0.2
# The longest a watched tree's burst is held back. The daemon may process a big burst's
# events seconds after they were written (a loaded machine), and cutting the batch at
# 1 s restarted a service twice for one checkout. A writer that never stops (a log
# inside the tree) still restarts it every MAX_WAIT.
MAX_WAIT = 5.0


class ReloadHost(StackState, Protocol):
    """What live reload reads and asks of the daemon."""

    @property
    def manifest(self) -> Path: ...
    @property
    def docker(self) -> DockerRuntime | None: ...
    def reload(self) -> bool:
        """Apply the manifest as it is on disk now; False if the edit was not applied."""
        ...


class LiveReload:
    def __init__(self, host: ReloadHost) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._watcher: Watcher | None = None
        self._keys: dict[str, object] = {}  # watch key -> what it watches, to skip no-ops

    def start(self) -> None:
        from devstack.watch.watcher import Watcher

        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(on_error=self._error)
        self.refresh()

    def close(self) -> None:
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()

    def refresh(self) -> None:
        """Watch what the current manifest names: itself, its env files, `watch:` rules."""
        with self._lock:
            watcher = self._watcher
        if watcher is None:
            return
        wanted: dict[str, tuple[list[Path], Callable[[frozenset[Path]], None], list[str]]] = {}
        wanted[MANIFEST_KEY] = (self._config_files(), self._manifest_changed, [])
        loaded = self.host.loaded
        for name, service in loaded.stack.services.items():
            for index, rule in enumerate(service.watch):
                key = f"service:{name}:{index}"
                path = (loaded.root / rule.path).resolve()
                wanted[key] = ([path], self._source_changed(name, rule, path), list(rule.ignore))
        for key in self._keys.keys() - wanted.keys():
            watcher.unwatch(key)
        current: dict[str, object] = {}
        for key, (paths, callback, ignore) in wanted.items():
            # Unchanged watches stay as they are (no gap, no repeated "missing" notices).
            signature = (paths, ignore, self._rule_of(key))
            if self._keys.get(key) != signature:
                watcher.watch(
                    key,
                    paths,
                    callback,
                    ignore,
                    debounce=DEBOUNCE,
                    # Sources only: the manifest and env files are saved one at a time.
                    burst_debounce=None if key == MANIFEST_KEY else BURST_DEBOUNCE,
                    max_wait=None if key == MANIFEST_KEY else MAX_WAIT,
                )
            current[key] = signature
        self._keys = current

    def _rule_of(self, key: str) -> object:
        if not key.startswith("service:"):
            return None
        _, name, index = key.split(":")
        service = self.host.loaded.stack.services.get(name)
        return service.watch[int(index)] if service else None

    def _config_files(self) -> list[Path]:
        loaded = self.host.loaded
        files = [self.host.manifest.resolve()]
        environment = loaded.stack.environments.get(self.host.intent.environment or "")
        for item in environment.env_file if environment else []:
            ref = EnvFileRef(path=item) if isinstance(item, str) else item
            files.append((loaded.root / ref.path).resolve())
        return files

    def _manifest_changed(self, _: frozenset[Path]) -> None:
        if self.host.reload():
            self.refresh()

    def _source_changed(
        self, service: str, rule: WatchRule, root: Path
    ) -> Callable[[frozenset[Path]], None]:
        def changed(paths: frozenset[Path]) -> None:
            self.on_source_change(service, rule, root, paths)

        return changed

    def on_source_change(
        self, service: str, rule: WatchRule, root: Path, paths: frozenset[Path]
    ) -> None:
        """A `watch:` rule fired: restart, rebuild, or sync into the container."""
        desired = self.host.desired()
        target = desired.services.get(service)
        if target is None or target.replicas == 0:
            return
        first = sorted(paths)[0] if paths else root
        shown = _relative(first, self.host.loaded.root)
        more = f" (+{len(paths) - 1})" if len(paths) > 1 else ""
        docker = self.host.docker
        if rule.action == "restart":
            for replica in range(target.replicas):
                cause = Requested(f"watched files changed: {shown}{more}")
                self.host.controller.request(Operation("restart", service, replica, cause))
        elif rule.action == "rebuild":
            # A changed build context hashes to a new tag: re-preparing rebuilds, and the
            # new image id changes the spec hash, so the reconcile restarts it.
            self.host.logs.event(f"{service}: rebuilding, {shown}{more} changed", service)
            self.host.controller.invalidate()
            if docker is not None:
                docker.invalidate()
            self.host.controller.mark_dirty()
        elif docker is not None and rule.target:
            from devstack.watch.sync import sync_batch

            batch = sync_batch(root, paths, rule.target, rule.ignore)
            if batch.empty:
                return
            try:
                docker.sync(service, batch, rule.target)
            except RuntimeError_ as exc:
                self.host.logs.event(f"{service}: sync failed: {exc}", service)
                return
            self.host.logs.event(
                f"{service}: synced {batch.describe()} into {rule.target}", service
            )

    def _error(self, message: str) -> None:
        self.host.logs.event(f"watch: {message}")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
