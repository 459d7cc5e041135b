"""The `Intent` value: what the user changed at run time, persisted so it outlives the daemon.

The environment in use, the services the user stopped, swaps (per backing service, the
providers it was swapped to, newest last, so `swap --undo` can step back one at a time),
replica counts from `devstack scale`, the release `up --release` pinned (until a
plain `up`), and the profiles `up --profile` enabled (compose's: a service with profiles
runs only when one of them is enabled). `remove_orphans` and `warm` (providers started ahead of a swap) belong to
the running daemon only and are never saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
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


@dataclass(frozen=True)
class Intent:
    environment: str | None = None  # None: the default ("dev"), or a release's own
    stopped: frozenset[str] = frozenset()
    swaps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scale: Mapping[str, int] = field(default_factory=dict)
    release: str | None = None  # a pinned release replaces the manifest
    remove_orphans: bool = False
    warm: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()  # enabled by the last `up`

    def __post_init__(self) -> None:
        # Frozen all the way down: callers may pass sets, dicts and lists; an intent that a
        # caller could still mutate would make the daemon's rollback-free updates unsafe.
        set_ = object.__setattr__
        set_(self, "stopped", frozenset(self.stopped))
        set_(self, "warm", frozenset(self.warm))
        set_(self, "profiles", frozenset(self.profiles))
        set_(
            self,
            "swaps",
            MappingProxyType({name: tuple(h) for name, h in self.swaps.items() if h}),
        )
        set_(self, "scale", MappingProxyType(dict(self.scale)))

    @property
    def active_swaps(self) -> dict[str, str]:
        """Backing service -> the provider it is swapped to now."""
        return {name: history[-1] for name, history in self.swaps.items()}

    def but(self, **changes: Any) -> Intent:
        """This intent with some fields changed (a new value; this one stays as it is)."""
        return replace(self, **changes)

    def stopping(self, names: Iterable[str]) -> Intent:
        return self.but(stopped=self.stopped | set(names))

    def starting(self, names: Iterable[str]) -> Intent:
        return self.but(stopped=self.stopped - set(names))

    def scaled(self, name: str, replicas: int) -> Intent:
        return self.but(scale={**self.scale, name: replicas})

    def for_up(
        self,
        environment: str | None,
        remove_orphans: bool,
        release: str | None,
        profiles: Iterable[str] | None = None,
    ) -> Intent:
        """What `up` asks for: everything running (stops cleared), in `environment` (None:
        the one in use), running `release` (None: a plain `up` returns to the manifest),
        with exactly `profiles` enabled (None: those in use). Swaps and scale carry over."""
        return self.but(
            environment=environment or self.environment,
            stopped=frozenset(),
            remove_orphans=remove_orphans,
            release=release,
            profiles=self.profiles if profiles is None else frozenset(profiles),
        )

    def for_config(self, environment: str | None, running: str | None = None) -> Intent:
        """Whose config `config show`, `run` and `exec` show: that of what runs, or of
        `environment` when one is named (the manifest's then, not a pinned release's).
        `running` is the running daemon's environment, if one answers. Stops do not
        matter here: a stopped service's config is the one it starts with."""
        if environment is not None:
            return self.but(environment=environment, release=None, stopped=frozenset())
        return self.but(environment=running or self.environment, stopped=frozenset())

    def inactive(self, loaded_services: Mapping[str, Any]) -> set[str]:
        """Services of `loaded_services` that do not run: all their profiles disabled."""
        return {
            name
            for name, service in loaded_services.items()
            if service.profiles and not self.profiles.intersection(service.profiles)
        }

    def unknown_profiles(self, loaded_services: Mapping[str, Any]) -> str | None:
        """One line naming the enabled profiles no service declares, else None."""
        declared = {p for service in loaded_services.values() for p in service.profiles}
        unknown = sorted(self.profiles - declared)
        if not unknown:
            return None
        known = ", ".join(sorted(declared)) or "none"
        return f"no service has profile {', '.join(unknown)} (profiles: {known})"

    def after_down(self) -> Intent:
        """What `down` keeps: swaps outlive it (until undone or reset); the rest does not."""
        return Intent(swaps=self.swaps)

    @classmethod
    def load(cls, path: Path, on_corrupt: OnCorrupt | None = None) -> Intent:
        """The saved intent; none for a missing file, or for one refused (moved aside)."""
        return read_state(path, cls.parse, cls(), on_corrupt)

    @classmethod
    def parse(cls, data: Any) -> Intent:
        """The shape `save` writes, checked field by field (StateError names the field)."""
        saved = need_dict(data, "the file")
        swaps = need_dict(saved.get("swaps") or {}, "swaps")
        scale = need_dict(saved.get("scale") or {}, "scale")
        return cls(
            environment=optional(saved.get("environment"), need_str, "environment"),
            stopped=frozenset(
                need_str(name, "stopped[]")
                for name in need_list(saved.get("stopped") or [], "stopped")
            ),
            swaps={
                name: tuple(
                    need_str(p, f"swaps.{name}[]") for p in need_list(history, f"swaps.{name}")
                )
                for name, history in swaps.items()
                if history != []  # an emptied history is as good as none
            },
            scale={
                name: need_int(count, f"scale.{name}", 0, MAX_SCALE)
                for name, count in scale.items()
            },
            release=optional(saved.get("release"), need_str, "release"),
            profiles=frozenset(
                need_str(name, "profiles[]")
                for name in need_list(saved.get("profiles") or [], "profiles")
            ),
        )

    def save(self, path: Path) -> None:
        saved: dict[str, Any] = {
            "environment": self.environment,
            "stopped": sorted(self.stopped),
            "swaps": {name: list(h) for name, h in self.swaps.items()},
            "scale": dict(self.scale),
            "release": self.release,
        }
        if self.profiles:  # older files have none: the shape stays the same without
            saved["profiles"] = sorted(self.profiles)
        write_json_atomic(path, saved)
