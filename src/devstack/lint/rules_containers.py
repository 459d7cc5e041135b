"""DS101 (state in a writable bind mount) and DS106 (ports but no healthcheck)."""

from __future__ import annotations

from devstack.lint.context import LintContext
from devstack.model.manifest import parse_port

BIND_PREFIXES = (".", "/", "~")  # as config.resolve tells a bind mount from a named volume


def check(ctx: LintContext) -> None:
    for name, service in ctx.loaded.stack.services.items():
        for index, text in enumerate(service.volumes):
            if not isinstance(text, str):
                continue  # the long syntax says its type and read_only outright
            parts = text.split(":")
            if len(parts) not in (2, 3) or not parts[0].startswith(BIND_PREFIXES):
                continue  # a named volume, or a malformed entry `validate` reports
            modes = parts[2].split(",") if len(parts) == 3 else []
            if "ro" in modes:
                continue
            shared = f", shared by its {service.replicas} replicas" if service.replicas > 1 else ""
            ctx.report(
                "DS101",
                ("services", name, "volumes", index),
                f"{parts[0]} is mounted writable at {parts[1]}: what the service writes "
                f"there stays on this machine's disk{shared}, outside any backing service",
                "keep state in a backing service (postgres, redis, s3, ...); if the mount "
                f"only feeds code or config in, make it read-only: `{parts[0]}:{parts[1]}:ro`",
            )
        if service.ports and service.healthcheck is None:
            port = parse_port(service.ports[0]).container
            ctx.report(
                "DS106",
                ("services", name),
                f"{name} listens on port {port} but has no healthcheck: dependents and "
                "`up --wait` only learn that it started, not that it is ready",
                "add `healthcheck: {http: /health}` (or `tcp: PORT`, or `command: ...`)",
                at_key=True,
            )
