"""One exported service as Kubernetes objects: a Deployment and (with ports) a Service.

The manifest's `command` overrides the image's CMD, so it is the container's `args` (a
Kubernetes `command` would replace the ENTRYPOINT). Kubernetes expands `$(NAME)` in
`command`, `args` and `env` values, so every `$` there is doubled (`$$` reads as `$`).
"""

from __future__ import annotations

import math
from typing import Any

from devstack.export.health import probe_port
from devstack.model.desired import PortBinding
from devstack.model.manifest import HealthCheck

NAME_LABEL = "app.kubernetes.io/name"
STACK_LABEL = "app.kubernetes.io/part-of"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
CLAIM_SIZE = "1Gi"  # a named volume has no size in the manifest; this is a start


def escape(text: str) -> str:
    """Literal text for a field Kubernetes expands `$(NAME)` in."""
    return text.replace("$", "$$")


def labels(stack: str, name: str | None = None) -> dict[str, str]:
    out = {STACK_LABEL: stack, MANAGED_LABEL: "devstack"}
    if name is not None:
        out[NAME_LABEL] = name
    return out


def selector(stack: str, name: str) -> dict[str, str]:
    return {NAME_LABEL: name, STACK_LABEL: stack}


def seconds(value: float, low: int = 1) -> int:
    """Probe and grace periods are whole seconds: rounded up, never below `low`."""
    return max(low, math.ceil(value))


def probe(check: HealthCheck, ports: tuple[PortBinding, ...]) -> dict[str, Any]:
    """devstack's check as a probe the kubelet runs against the pod, as devstack probes
    a container from the host: HTTP and TCP need nothing in the image."""
    action: dict[str, Any]
    if check.test is not None:  # compose's form: CMD runs as is, a shell line in sh
        test = [check.test] if isinstance(check.test, str) else check.test
        argv = test[1:] if test[0] == "CMD" else ["sh", "-c", test[-1]]
        action = {"exec": {"command": argv}}
    elif check.command is not None:
        command = check.command
        action = {
            "exec": {"command": ["sh", "-c", command] if isinstance(command, str) else command}
        }
    elif check.http is not None:
        action = {"httpGet": {"path": check.http, "port": ports[0].container if ports else 80}}
    else:
        assert check.tcp is not None
        action = {"tcpSocket": {"port": probe_port(check.tcp, ports)}}
    return {
        **action,
        "periodSeconds": seconds(check.interval),
        "timeoutSeconds": seconds(check.timeout),
        "failureThreshold": check.retries,
    }


def container(
    name: str,
    image: str,
    args: tuple[str, ...] | None,
    ports: tuple[PortBinding, ...],
    check: HealthCheck | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "image": image}
    if args is not None:
        out["args"] = [escape(part) for part in args]
    if ports:
        out["ports"] = [
            {
                "name": port_name(p.container, p.protocol),
                "containerPort": p.container,
                "protocol": p.protocol.upper(),
            }
            for p in _unique(ports)
        ]
    if check is not None:
        out["startupProbe"] = startup_probe(check, ports)
        out["readinessProbe"] = probe(check, ports)
        out["livenessProbe"] = probe(check, ports)
    return out


def startup_probe(check: HealthCheck, ports: tuple[PortBinding, ...]) -> dict[str, Any]:
    """devstack probes every `start_interval` until the first success, and counts failures
    only after `start_period`: a startup probe (which holds readiness and liveness back
    until it succeeds) allowed as long as devstack would wait."""
    period = seconds(check.start_interval)
    allowed = check.start_period + check.interval * check.retries
    return {
        **probe(check, ports),
        "periodSeconds": period,
        "failureThreshold": max(1, math.ceil(allowed / period)),
    }


def port_name(port: int, protocol: str = "tcp") -> str:
    return f"{protocol}-{port}"  # an IANA_SVC_NAME: at most 15 characters, a letter in it


def _unique(ports: tuple[PortBinding, ...]) -> list[PortBinding]:
    seen: dict[tuple[int, str], PortBinding] = {}
    for port in ports:
        seen.setdefault((port.container, port.protocol), port)
    return list(seen.values())


def deployment(
    meta: dict[str, Any],
    stack: str,
    name: str,
    replicas: int,
    pod: dict[str, Any],
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**meta, "name": name, "labels": labels(stack, name)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector(stack, name)},
            "template": {"metadata": {"labels": labels(stack, name)}, "spec": pod},
        },
    }


def service(
    meta: dict[str, Any], stack: str, name: str, ports: tuple[PortBinding, ...]
) -> dict[str, Any]:
    """A ClusterIP Service named like the service, so `http://NAME:PORT` (what devstack
    resolves `${services.NAME.url}` to between containers) reaches it in the namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {**meta, "name": name, "labels": labels(stack, name)},
        "spec": {
            "selector": selector(stack, name),
            "ports": [
                {
                    "name": port_name(p.container, p.protocol),
                    "port": p.container,
                    "targetPort": p.container,
                    "protocol": p.protocol.upper(),
                }
                for p in _unique(ports)
            ],
        },
    }


def claim(meta: dict[str, Any], stack: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {**meta, "name": name, "labels": labels(stack)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": CLAIM_SIZE}},
        },
    }


def job(
    meta: dict[str, Any], stack: str, name: str, pod_container: dict[str, Any]
) -> dict[str, Any]:
    """A Job that runs once to completion; it retries (with the kubelet's backoff) while
    the emulator it provisions is still starting."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {**meta, "name": name, "labels": labels(stack, name)},
        "spec": {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": labels(stack, name)},
                "spec": {"restartPolicy": "OnFailure", "containers": [pod_container]},
            },
        },
    }
