"""One compose service -> one devstack service entry, key by key, in the compose order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.importer import fields
from devstack.importer.contracts import propose
from devstack.importer.notes import Notes
from devstack.importer.source import ComposeSource, DataPath
from devstack.model.manifest import parse_port

# Why a compose key has no devstack equivalent (the default: "devstack has no equivalent").
UNMAPPED_REASONS = {
    "container_name": "devstack names containers <stack>-<service>-<n>",
    "hostname": "a container is reachable by its service name on the stack network",
    "networks": "every container joins the stack network <stack>_default",
    "network_mode": "every container joins the stack network <stack>_default",
    "links": "services reach each other by name on the stack network",
    "external_links": "services reach each other by name on the stack network",
    "expose": "every port is reachable on the stack network",
    "labels": "devstack labels its containers itself",
    "logging": "devstack captures every service's logs itself",
    "entrypoint": "devstack cannot replace an image's entrypoint; put it in the image",
    "working_dir": "devstack cannot set a container's working directory; put it in the image",
    "init": "devstack always runs containers with an init process",
    "mem_limit": "devstack does not limit resources",
    "memswap_limit": "devstack does not limit resources",
    "cpus": "devstack does not limit resources",
    "cpu_shares": "devstack does not limit resources",
    "pids_limit": "devstack does not limit resources",
    "secrets": "use environment variables or environments.ENV.secrets",
    "configs": "use a bind mount under volumes",
    "platform": "devstack builds and runs for the host's platform",
    "pull_policy": "devstack never pulls images",
    "stop_signal": "devstack stops with SIGTERM, then SIGKILL",
    "extends": "not resolved: import the output of `docker compose config` instead",
}


@dataclass
class MappedService:
    name: str  # devstack name
    entry: dict[str, Any]
    depends: dict[str, str] = field(default_factory=dict)  # compose name -> condition
    env_files: list[tuple[str, bool, DataPath]] = field(default_factory=list)
    named_volumes: set[str] = field(default_factory=set)


# `curl -f http://localhost:8080/health` or `wget -q --spider http://127.0.0.1:8080/`.
_HTTP_TEST = re.compile(
    r"^(?:curl\s+(?:-[a-zA-Z]+\s+)*|wget\s+(?:-[a-zA-Z-]+\s+)*)"
    r"[\"']?http://(?:localhost|127\.0\.0\.1|0\.0\.0\.0):(\d+)(/[^\s\"']*)?[\"']?"
    r"(?:\s*\|\|\s*exit\s+1)?$"
)


def http_probe(command: str | list[str], first_port: int) -> str | None:
    """The path of a healthcheck that is just an HTTP GET on the first port, else None."""
    text = command if isinstance(command, str) else " ".join(command)
    found = _HTTP_TEST.match(text.strip())
    if found is None or int(found.group(1)) != first_port:
        return None
    return found.group(2) or "/"


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


class ServiceMapper:
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
                    self.notes.approximated(
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
                entry["replicas"] = 0
                names = ", ".join(str(p) for p in value or [])
                self.notes.approximated(
                    path,
                    f"only in profile(s) {names}: replicas 0, so `up` does not start it, as in "
                    f"compose; `devstack scale {name}=1` starts it",
                    target,
                )
            elif key == "scale":
                entry.setdefault("replicas", int(value))
            elif key == "deploy":
                self.deploy(value, path, target, entry)
            elif key == "develop":
                self.develop(value, path, target, entry)
            else:
                reason = UNMAPPED_REASONS.get(key, "devstack has no equivalent")
                self.notes.unmapped(path, reason, target)
        self.http_healthcheck(entry, (*base, "healthcheck", "test"), target)
        needs = propose(entry.get("env", {}))
        if needs:
            entry["needs"] = needs  # from `${VAR:?}` and bare `${VAR}`: checked before it runs
        return mapped

    def http_healthcheck(self, entry: dict[str, Any], path: DataPath, target: DataPath) -> None:
        """A check that only GETs the first port becomes devstack's own HTTP probe: no curl
        needed in the image, no exec per probe."""
        check, ports = entry.get("healthcheck"), entry.get("ports")
        if not check or "command" not in check or not ports:
            return
        probe = http_probe(check["command"], parse_port(ports[0]).container)
        if probe is None:
            return
        del check["command"]
        entry["healthcheck"] = {"http": probe, **check}
        self.notes.approximated(
            path, f"an HTTP GET of {probe} on the first port, from devstack", target
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
            else:
                self.notes.unmapped(
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
                self.notes.approximated(
                    (*path, name, "condition"),
                    "devstack has no one-shot services; waits until it started",
                    target,
                )
                condition = "service_started"
            for extra in ("restart", "required"):
                if extra in spec:
                    self.notes.unmapped((*path, name, extra), "devstack has no equivalent", target)
            out[str(name)] = condition
        return out

    def healthcheck(self, value: Any, path: DataPath, target: DataPath) -> dict[str, Any] | None:
        if value.get("disable") is True:
            return None
        test = value.get("test")
        command: str | list[str]
        if test is None:
            self.notes.unmapped(
                path, "a healthcheck without test: devstack does not read the image's", target
            )
            return None
        if isinstance(test, str):
            command = fields.fixed(self.src, test, (*path, "test"), self.notes, target)
        else:
            head, *rest = [str(t) for t in test]
            if head == "NONE":
                return None
            rest = [fields.fixed(self.src, t, (*path, "test"), self.notes, target) for t in rest]
            command = " ".join(rest) if head == "CMD-SHELL" else rest
        check: dict[str, Any] = {"command": command}
        for key in ("interval", "timeout", "start_period", "start_interval"):
            if key in value:
                check[key] = fields.duration(self.src, value[key], (*path, key))
        if "retries" in value:
            check["retries"] = max(1, int(value["retries"]))
        return check

    def restart(self, value: Any, path: DataPath, target: DataPath) -> str | None:
        text = self.src.as_written(path, value)
        if text in ("no", "always"):
            return text
        if text.startswith("on-failure"):
            if ":" in text:
                self.notes.approximated(
                    path, "devstack retries with backoff, without a limit", target
                )
            return "on-failure"
        if text == "unless-stopped":
            self.notes.approximated(path, "always: `devstack stop` keeps it stopped", target)
            return "always"
        self.notes.unmapped(path, f"unknown restart policy {text!r}", target)
        return None

    def deploy(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        for key, item in (value or {}).items():
            item_path = (*path, key)
            if key == "replicas":
                entry.setdefault("replicas", int(item))
            elif key == "resources":
                self.notes.unmapped(item_path, "devstack does not limit resources", target)
            elif key == "restart_policy":
                self.notes.unmapped(item_path, "use restart:", target)
            else:
                self.notes.unmapped(item_path, "devstack has no equivalent", target)

    def develop(self, value: Any, path: DataPath, target: DataPath, entry: dict[str, Any]) -> None:
        rules = []
        for index, rule in enumerate((value or {}).get("watch", [])):
            rule_path = (*path, "watch", index)
            action = rule.get("action")
            out: dict[str, Any] = {
                "path": fields.relative_path(self.src, str(rule.get("path")), self.out_dir)
            }
            if action == "rebuild":
                out["action"] = "rebuild"
            elif action == "sync" and rule.get("target"):
                out.update(action="sync", target=rule["target"])
            elif action in ("sync+restart", "restart"):
                self.notes.approximated(
                    rule_path, "the service restarts; files are not copied first", target
                )
            else:
                self.notes.unmapped(rule_path, f"watch action {action!r} has no equivalent", target)
                continue
            if rule.get("ignore"):
                out["ignore"] = [str(i) for i in rule["ignore"]]
            rules.append(out)
        for key in value or {}:
            if key != "watch":
                self.notes.unmapped((*path, key), "devstack has no equivalent", target)
        if rules:
            entry["watch"] = rules
