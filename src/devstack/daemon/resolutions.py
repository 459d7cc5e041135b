"""The backing services' resolution, memoized: event streams ask for the backing view
several times a second, and resolving touches the port allocator and disk."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from devstack.config.backing import BackingProblem, BackingResolution, resolve_backing
from devstack.config.loader import LoadedStack

MEMO_SIZE = 16


class BackingResolutions:
    def __init__(self, host_env: Mapping[str, str], ports: Callable[[str, int], int]) -> None:
        self._host_env = host_env
        self._ports = ports
        self._memo: dict[tuple[object, ...], BackingResolution | None] = {}

    def get(
        self, loaded: LoadedStack, environment: str, swaps: Mapping[str, str]
    ) -> BackingResolution | None:
        """Per manifest, environment and swaps; None where the backing cannot resolve."""
        # Keyed by the manifest object's id: `forget` when it is replaced.
        key = (id(loaded), environment, tuple(sorted(swaps.items())))
        if key in self._memo:
            return self._memo[key]
        env = loaded.stack.environments.get(environment)
        try:
            found: BackingResolution | None = resolve_backing(
                loaded.stack,
                loaded.root,
                dict(env.providers) if env else {},
                dict(swaps),
                self._host_env,
                self._ports,
            )
        except BackingProblem:
            found = None
        if len(self._memo) > MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = found
        return found

    def forget(self) -> None:
        self._memo.clear()
