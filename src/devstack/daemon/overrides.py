"""Overrides: what the user changed at run time, persisted so it outlives the daemon.

The environment in use, the services the user stopped, swaps (per backing service, the
providers it was swapped to, newest last, so `swap --undo` can step back one at a time),
replica counts from `devstack scale`, and the release `up --release` pinned (until a
plain `up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.fsutil import write_json_atomic
from devstack.statefile import (
    OnCorrupt,
    need_dict,
    need_int,
    need_list,
    need_str,
    optional,
    read_state,
)

MAX_SCALE = 100  # the manifest's bound on replicas


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
    def load(cls, path: Path, on_corrupt: OnCorrupt | None = None) -> Overrides:
        """The saved overrides; none for a missing file, or for one refused (moved aside)."""
        return read_state(path, cls.parse, cls(), on_corrupt)

    @classmethod
    def parse(cls, data: Any) -> Overrides:
        """The shape `save` writes, checked field by field (StateError names the field)."""
        saved = need_dict(data, "the file")
        swaps = need_dict(saved.get("swaps") or {}, "swaps")
        scale = need_dict(saved.get("scale") or {}, "scale")
        return cls(
            environment=optional(saved.get("environment"), need_str, "environment"),
            stopped={
                need_str(name, "stopped[]")
                for name in need_list(saved.get("stopped") or [], "stopped")
            },
            swaps={
                name: [need_str(p, f"swaps.{name}[]") for p in need_list(history, f"swaps.{name}")]
                for name, history in swaps.items()
                if history != []  # an emptied history is as good as none
            },
            scale={
                name: need_int(count, f"scale.{name}", 0, MAX_SCALE)
                for name, count in scale.items()
            },
            release=optional(saved.get("release"), need_str, "release"),
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
