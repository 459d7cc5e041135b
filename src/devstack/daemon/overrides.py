"""Overrides: what the user changed at run time, persisted so it outlives the daemon.

The environment in use, the services the user stopped, swaps (per backing service, the
providers it was swapped to, newest last, so `swap --undo` can step back one at a time),
replica counts from `devstack scale`, and the release `up --release` pinned (until a
plain `up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devstack.fsutil import read_json, write_json_atomic


@dataclass
class Overrides:
    environment: str | None = None
    stopped: set[str] = field(default_factory=set)
    swaps: dict[str, list[str]] = field(default_factory=dict)
    scale: dict[str, int] = field(default_factory=dict)
    release: str | None = None

    @property
    def active_swaps(self) -> dict[str, str]:
        """Backing service -> the provider it is swapped to now."""
        return {name: history[-1] for name, history in self.swaps.items() if history}

    @classmethod
    def load(cls, path: Path) -> Overrides:
        saved = read_json(path) or {}
        swaps = saved.get("swaps") or {}
        scale = saved.get("scale") or {}
        release = saved.get("release")
        return cls(
            environment=saved.get("environment"),
            stopped=set(saved.get("stopped") or []),
            swaps={
                str(k): [str(p) for p in v] for k, v in swaps.items() if isinstance(v, list) and v
            },
            scale={str(k): v for k, v in scale.items() if isinstance(v, int) and v >= 0},
            release=release if isinstance(release, str) else None,
        )

    def save(self, path: Path) -> None:
        write_json_atomic(
            path,
            {
                "environment": self.environment,
                "stopped": sorted(self.stopped),
                "swaps": self.swaps,
                "scale": self.scale,
                "release": self.release,
            },
        )
