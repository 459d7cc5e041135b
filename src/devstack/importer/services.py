"""One compose service -> one devstack service entry, key by key, in the compose order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.importer import fields, passthrough
from devstack.importer.contracts import propose
from devstack.importer.notes import Notes
from devstack.importer.probes import http_probe, tcp_probe
from devstack.importer.service_run_keys import RunKeys
from devstack.importer.source import ComposeSource, DataPath
from devstack.model.manifest import parse_port

# Compose keys devstack drops, and why that makes no difference on a developer's machine.
NO_EFFECT_REASONS = {
    "container_name": "devstack names containers <stack>-<service>-<n>; the service name "
    "still resolves on the stack network",
    "hostname": "the container is reachable by its service name on the stack network",
    "links": "services reach each other by name on the stack network",
    "expose": "every port is reachable on the stack network",
    "labels": "devstack labels its containers itself",
    "annotations": "devstack labels its containers itself",
    "logging": "devstack captures every service's logs itself",
    "mem_limit": "devstack does not limit resources",
    "mem_reservation": "devstack does not limit resources",
    "memswap_limit": "devstack does not limit resources",
    "cpus": "devstack does not limit resources",
    "cpu_shares": "devstack does not limit resources",
    "pids_limit": "devstack does not limit resources",
    "platform": "devstack builds and runs for the host's platform",
    "pull_policy": "devstack never pulls images it can build",
    "stdin_open": "devstack captures the output; nothing types into a service",
    "tty": "devstack captures the output; nothing types into a service",
    "security_opt": "Docker's default security options apply (less confinement)",
    "restart_policy": "use restart:",
}
# Dropped keys that do change what runs, and what happens instead.
CHANGES_REASONS = {
    "external_links": "containers outside the stack are not linked",
    "volumes_from": "the other container's volumes are not mounted",
    "ipc": "the container gets its own IPC namespace",
    "pid": "the container gets its own PID namespace",
    "userns_mode": "Docker's default user namespace applies",
    "dns": "Docker's default DNS applies",
}


_TMPFS_KEYS = {"type", "target"}


@dataclass
class MappedService:
    name: str  # devstack name
    entry: dict[str, Any]
    depends: dict[str, str] = field(default_factory=dict)  # compose name -> condition
    env_files: list[tuple[str, bool, DataPath]] = field(default_factory=list)
    named_volumes: set[str] = field(default_factory=set)


# The shapes compose allows for the keys we read; anything else is the user's mistake.
EXPECTED: dict[str, tuple[type, ...]] = {
    "image": (str,),
    "build": (str, dict),
    "command": (str, list),
    "environment": (dict, list),
    "env_file": (str, list),
    "ports": (list,),
    "volumes": (list,),
    "depends_on": (list, dict),
    "healthcheck": (dict,),
    "restart": (str,),
    "profiles": (list,),
    "scale": (int,),
    "deploy": (dict,),
    "develop": (dict,),
}
_SHAPES = {str: "a string", dict: "a mapping", list: "a list", int: "a number"}


class ServiceMapper(RunKeys):
    def __init__(self, src: ComposeSource, notes: Notes, out_dir: Path) -> None:
        self.src = src
        self.notes = notes
        self.out_dir = out_dir

    def map(self, compose_name: str, name: str, body: dict[str, Any]) -> MappedService:
        base: DataPath = ("services", compose_name)
        target: DataPath = ("services", name)
        mapped = MappedService(name, {})
        entry = mapped.entry
        if "image" not in body and "build" not in body:
            raise self.src.problem(base, "a service needs an image or a build")
        for key, value in body.items():
            path = (*base, key)
            expected = EXPECTED.get(key)
            if expected and value is not None and not isinstance(value, expected):
                shapes = " or ".join(_SHAPES[t] for t in expected)
                raise self.src.problem(path, f"expected {shapes}")
            if key.startswith("x-"):
                entry[key] = value  # the user's own data: devstack keeps x- keys too
            elif key == "image":
                if "build" in body:
                    self.notes.no_effect(
                        path, "devstack tags the images it builds itself; build: is used", target
                    )
                else:
                    entry["image"] = self.src.as_written(path, value)
            elif key == "build":
                entry["build"] = self.build(value, path, target)
            elif key == "command":
                command = self.command(value, path, target)
                if command is not None:
                    entry["command"] = command
            elif key == "environment":
                env = fields.environment(self.src, value, path, self.notes)
                entry["env"] = {**entry.get("env", {}), **env}
            elif key == "env_file":
                mapped.env_files = self.env_files(value, path)
            elif key == "ports":
                ports = [
                    p
                    for i, item in enumerate(value or [])
                    if (p := fields.port(self.src, item, (*path, i), self.notes, target))
                ]
                if ports:
                    entry["ports"] = ports
            elif key == "volumes":
                volumes = [
                    v
                    for i, item in enumerate(value or [])
                    if (
                        v := fields.volume(
                            self.src,
                            item,
                            (*path, i),
                            self.notes,
                            target,
                            self.out_dir,
                            mapped.named_volumes,
                        )
                    )
                ]
                # A bare tmpfs mount is the service's `tmpfs:` list, as compose also has it.
                plain = [v for v in volumes if isinstance(v, dict) and set(v) == _TMPFS_KEYS]
                if plain and passthrough.accepts("tmpfs", [v["target"] for v in plain]):
                    entry["tmpfs"] = [*entry.get("tmpfs", []), *(v["target"] for v in plain)]
                    volumes = [v for v in volumes if v not in plain]
                if volumes:
                    entry["volumes"] = volumes
            elif key == "depends_on":
                mapped.depends = self.depends_on(value, path, target)
                entry["depends_on"] = {}  # filled in once backing services are known
            elif key == "healthcheck":
                check = self.healthcheck(value, path, target)
                if check:
                    entry["healthcheck"] = check
            elif key == "restart":
                restart = self.restart(value, path, target)
                if restart:
                    entry["restart"] = restart
            elif key == "stop_grace_period":
                entry["stop_grace"] = fields.duration(self.src, value, path)
            elif key == "profiles":
                self.profiles(value, path, target, entry)
            elif key == "scale":
                entry.setdefault("replicas", int(value))
            elif key == "deploy":
                self.deploy(value, path, target, entry)
            elif key == "develop":
                self.develop(value, path, target, entry)
            elif key in passthrough.SERVICE_KEYS:
                carried = passthrough.carry(
                    self.src, key, value, path, self.notes, target, self.out_dir
                )
                if carried is not None:
                    entry[key] = carried
            elif key == "networks":
                self.networks(value, path, target, entry)
            elif key in NO_EFFECT_REASONS:
                self.notes.no_effect(path, NO_EFFECT_REASONS[key], target)
            else:
                reason = CHANGES_REASONS.get(key, "devstack has no equivalent")
                self.notes.changes(path, f"dropped: {reason}", target)
        self.probe_healthcheck(entry, (*base, "healthcheck", "test"), target)
        needs = propose(entry.get("env", {}))
        if needs:
            entry["needs"] = needs  # from `${VAR:?}` and bare `${VAR}`: checked before it runs
        return mapped

    def profiles(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        names = [str(p) for p in value or []]
        if passthrough.accepts("profiles", names):
            entry["profiles"] = names  # `devstack up --profile NAME`, as in compose
            return
        entry["replicas"] = 0
        self.notes.changes(
            path,
            f"only in profile(s) {', '.join(names)}: replicas 0, so `up` does not start it; "
            f"`devstack scale {target[-1]}=1` starts it",
            target,
        )

    def networks(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        """One stack network is the same as compose's per-project networks, unless a
        service relies on a fixed address; its aliases on any network are its aliases on
        the stack network."""
        if isinstance(value, dict):
            for net, spec in value.items():
                given = spec.get("aliases") if isinstance(spec, dict) else None
                if given and passthrough.accepts("aliases", [str(a) for a in given]):
                    known = entry.setdefault("aliases", [])
                    known.extend(str(a) for a in given if str(a) not in known)
                    given = None
                for key in ("aliases", "ipv4_address", "ipv6_address"):
                    if key == "aliases" and not given:
                        continue
                    if isinstance(spec, dict) and spec.get(key):
                        self.notes.changes(
                            (*path, net, key),
                            f"dropped: devstack puts every container on one stack network "
                            f"without {key}",
                            target,
                        )
        self.notes.no_effect(
            path, "every container joins the stack network <stack>_default", target
        )

    def probe_healthcheck(self, entry: dict[str, Any], path: DataPath, target: DataPath) -> None:
        """A check that only GETs the first port becomes devstack's own HTTP probe: no curl
        needed in the image, no exec per probe. The TCP check `export compose` writes
        becomes `tcp:` again."""
        check, ports = entry.get("healthcheck"), entry.get("ports") or []
        key = next((k for k in ("command", "test") if k in (check or {})), None)
        if not check or key is None:
            return
        given = check[key]
        if key == "test" and isinstance(given, list):
            if given[0] == "NONE":
                return
            given = given[1:] if given[0] == "CMD" else given[1]
        tcp = tcp_probe(given)
        if tcp is not None:
            del check[key]
            entry["healthcheck"] = {"tcp": _probed_port(tcp[0], ports), **check, **tcp[1]}
            self.notes.no_effect(path, f"a TCP connect to port {tcp[0]}, from devstack", target)
            return
        first = parse_port(ports[0]) if ports else None
        probe = http_probe(given, first.container) if first and first.protocol == "tcp" else None
        if probe is None:
            return
        del check[key]
        entry["healthcheck"] = {"http": probe[0], **check, **probe[1]}
        self.notes.no_effect(
            path, f"an HTTP GET of {probe[0]} on the first port, from devstack", target
        )

    def build(self, value: Any, path: DataPath, target: DataPath) -> str | dict[str, Any]:
        if isinstance(value, str):
            return fields.relative_path(
                self.src, fields.fixed(self.src, value, path, self.notes, target), self.out_dir
            )
        spec: dict[str, Any] = {}
        for key, item in value.items():
            item_path = (*path, key)
            if key == "context":
                text = fields.fixed(
                    self.src, self.src.as_written(item_path, item), item_path, self.notes, target
                )
                spec["context"] = fields.relative_path(self.src, text, self.out_dir)
            elif key in ("dockerfile", "target"):
                spec[key] = self.src.as_written(item_path, item)
            elif key == "args":
                spec["args"] = fields.environment(self.src, item, item_path, self.notes)
            elif key == "additional_contexts" and (
                contexts := fields.build_contexts(
                    self.src, item, item_path, self.notes, target, self.out_dir
                )
            ):
                spec[key] = contexts
            elif key in ("additional_contexts", "secrets", "ssh"):
                self.notes.changes(
                    item_path, f"dropped: devstack builds without build {key}", target
                )
            else:
                self.notes.no_effect(
                    item_path,
                    "devstack builds with context, dockerfile, args and target only",
                    target,
                )
        spec.setdefault("context", fields.relative_path(self.src, ".", self.out_dir))
        return spec

    def command(self, value: Any, path: DataPath, target: DataPath) -> str | list[str] | None:
        if value is None:
            return None
        if isinstance(value, list):
            return [
                fields.fixed(
                    self.src, self.src.as_written((*path, i), v), (*path, i), self.notes, target
                )
                for i, v in enumerate(value)
            ]
        return fields.fixed(self.src, self.src.as_written(path, value), path, self.notes, target)

    def env_files(self, value: Any, path: DataPath) -> list[tuple[str, bool, DataPath]]:
        items = value if isinstance(value, list) else [value]
        found = []
        for index, item in enumerate(items):
            item_path = (*path, index) if isinstance(value, list) else path
            if isinstance(item, dict):
                found.append((str(item.get("path")), bool(item.get("required", True)), item_path))
            else:
                found.append((str(item), True, item_path))
        return found

    def depends_on(self, value: Any, path: DataPath, target: DataPath) -> dict[str, str]:
        if isinstance(value, list):
            # Compose's list form only waits for a start; devstack's list form waits for health.
            return {str(name): "service_started" for name in value}
        out = {}
        for name, given in (value or {}).items():
            spec = given or {}
            condition = spec.get("condition", "service_started")
            if condition == "service_completed_successfully":
                if passthrough.condition_accepted(condition):
                    out[str(name)] = condition
                    continue
                self.notes.changes(
                    (*path, name, "condition"),
                    "waits until it started, not until it exited: devstack has no one-shot "
                    "dependency",
                    target,
                )
                condition = "service_started"
            if spec.get("restart"):
                self.notes.changes(
                    (*path, name, "restart"),
                    "dropped: it is not restarted when its dependency restarts",
                    target,
                )
            if spec.get("required") is False:
                self.notes.no_effect(
                    (*path, name, "required"), "the dependency is part of the stack", target
                )
            out[str(name)] = condition
        return out

    def healthcheck(self, value: Any, path: DataPath, target: DataPath) -> dict[str, Any] | None:
        compose_test = passthrough.image_healthcheck_fallback()
        if value.get("disable") is True:
            # Without a healthcheck devstack would use the image's own: say "none" instead.
            return {"test": ["NONE"]} if compose_test else None
        test = value.get("test")
        command: str | list[str]
        if test is None and compose_test:
            if any(k in value for k in ("interval", "timeout", "retries", "start_period")):
                self.notes.no_effect(
                    path, "the image's own healthcheck runs, with its own timings", target
                )
            return None
        if test is None:
            # The image's own HEALTHCHECK applies when no test is given, as in compose.
            if passthrough.image_healthcheck_fallback():
                return None
            self.notes.changes(
                path, "a healthcheck without test: devstack does not read the image's", target
            )
            return None
        if isinstance(test, str):
            command = fields.fixed(self.src, test, (*path, "test"), self.notes, target)
        else:
            head, *rest = [str(t) for t in test]
            if head == "NONE":
                return {"test": ["NONE"]} if compose_test else None
            rest = [fields.fixed(self.src, t, (*path, "test"), self.notes, target) for t in rest]
            command = " ".join(rest) if head == "CMD-SHELL" else rest
        check: dict[str, Any] = {"command": command}
        for key in ("interval", "timeout", "start_period", "start_interval"):
            if key in value:
                check[key] = fields.duration(self.src, value[key], (*path, key))
        if "retries" in value:
            check["retries"] = max(1, int(value["retries"]))
        return check


def _probed_port(container: int, ports: list[Any]) -> int:
    """The port `tcp:` names for a check of `container` inside: devstack probes from the
    host, so a container port published on a fixed host port is named by that host port
    (export/health.py's probe_port maps it back)."""
    for entry in ports:
        mapping = parse_port(str(entry))
        if mapping.container == container and mapping.host is not None:
            return mapping.host
    return container
