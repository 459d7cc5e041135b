"""Cross-field rules of the container-only keys (compose's): a host process cannot honour
them, and the secrets, configs and shared networks they name must exist."""

from __future__ import annotations

from collections.abc import Callable

from devstack.model.container import ObjectRef
from devstack.model.manifest import Stack

At = Callable[..., None]  # at(message, *path)


def check_container_keys(stack: Stack, at: At) -> None:
    for name, service in stack.services.items():
        if service.runtime == "process":
            for key in service.container_keys():
                at(
                    f"{key} applies to containers; a host process cannot honour it "
                    "(give the service an image or build, or remove the key)",
                    "services",
                    name,
                    key,
                )
            if service.healthcheck is not None and service.healthcheck.test is not None:
                at(
                    "healthcheck.test runs in a container; a host process uses command",
                    "services",
                    name,
                    "healthcheck",
                    "test",
                )
            continue
        if service.network_mode == "none" and service.ports:
            at("a service without a network (network_mode: none) publishes no ports",
               "services", name, "ports")  # fmt: skip
        for index, text in enumerate(service.ports if service.network_mode == "host" else []):
            if ":" in text:
                at(f"port {text!r}: on the host's network a container listens on the host "
                   "directly; write just the port number", "services", name, "ports", index)  # fmt: skip
        shared = service.network_service()
        if shared is not None:
            target = stack.services.get(shared)
            if shared == name:
                at("a service cannot share its own network", "services", name, "network_mode")
            elif target is None:
                known = ", ".join(sorted(stack.services))
                at(f"unknown service {shared!r} (known: {known})", "services", name, "network_mode")
            elif target.runtime != "docker":
                at(
                    f"service {shared!r} is a host process: only a container's network "
                    "can be shared",
                    "services",
                    name,
                    "network_mode",
                )
            elif service.ports:
                at(
                    "a service sharing another's network publishes no ports of its own "
                    f"(publish them on {shared!r})",
                    "services",
                    name,
                    "ports",
                )
        for section, declared in (("secrets", stack.secrets), ("configs", stack.configs)):
            for index, use in enumerate(getattr(service, section)):
                source = use.source if isinstance(use, ObjectRef) else use
                if source not in declared:
                    known = ", ".join(sorted(declared)) or "none declared"
                    at(
                        f"unknown {section[:-1]} {source!r} (declare it under top-level "
                        f"{section}; known: {known})",
                        "services",
                        name,
                        section,
                        index,
                    )
