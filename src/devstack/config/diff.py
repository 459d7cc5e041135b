"""`config diff`: what changes for each service between two environments (factor X, parity).

Secrets are compared by a digest of their value, so a diff can say a password differs
between dev and staging without showing either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from devstack.model.desired import ContainerSpec, DesiredState, EnvVar


def fingerprint(value: str) -> str:
    """What a diff shows of a secret: enough to tell two values apart, nothing more."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def shown(var: EnvVar) -> str:
    return fingerprint(var.value) if var.secret else var.value


@dataclass
class ServiceDiff:
    added: dict[str, str] = field(default_factory=dict)  # only in the second environment
    removed: dict[str, str] = field(default_factory=dict)  # only in the first
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    secret: set[str] = field(default_factory=set)  # names whose values are fingerprints
    image: tuple[str, str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.image)

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": {k: {"from": a, "to": b} for k, (a, b) in self.changed.items()},
            "secrets": sorted(self.secret),
            "image": {"from": self.image[0], "to": self.image[1]} if self.image else None,
        }


def diff(first: DesiredState, second: DesiredState, services: list[str]) -> dict[str, ServiceDiff]:
    result: dict[str, ServiceDiff] = {}
    for name in services:
        a = {v.name: v for v in first.services[name].env} if name in first.services else {}
        b = {v.name: v for v in second.services[name].env} if name in second.services else {}
        entry = ServiceDiff()
        for key in sorted(a.keys() | b.keys()):
            old, new = a.get(key), b.get(key)
            if (old and old.secret) or (new and new.secret):
                entry.secret.add(key)
            if old is None and new is not None:
                entry.added[key] = shown(new)
            elif new is None and old is not None:
                entry.removed[key] = shown(old)
            elif old is not None and new is not None and old.value != new.value:
                # A secret stays masked on both sides even if only one side declares it so.
                secret = old.secret or new.secret
                before = fingerprint(old.value) if secret else old.value
                after = fingerprint(new.value) if secret else new.value
                entry.changed[key] = (before, after)
        image_a = _image(first, name)
        image_b = _image(second, name)
        if image_a != image_b:
            entry.image = (image_a, image_b)
        result[name] = entry
    return result


def _image(state: DesiredState, name: str) -> str:
    service = state.services.get(name)
    if service is None or not isinstance(service.spec, ContainerSpec):
        return ""
    if service.spec.build is not None and not service.spec.image:
        return f"build {service.spec.build.context}"
    return service.spec.image
