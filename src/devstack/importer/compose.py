"""A docker-compose file -> a devstack manifest (text), and what could not be carried over.

The order of the compose file is kept (services, then volumes). Postgres, Redis and
LocalStack services become backing services; everything else becomes a service. Each
note is printed by the CLI and written as a comment above the entry it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.config.envfile import EnvFileError, parse_env_file
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.importer import fields, passthrough
from devstack.importer.backing import BackingBuilder, detect, host_of, safe_name
from devstack.importer.emit import Document
from devstack.importer.localstack import absorb_localstack, queue_url_names
from devstack.importer.notes import Note, Notes
from devstack.importer.services import MappedService, ServiceMapper
from devstack.importer.source import ComposeSource, ImportProblem, read_compose

TOP_LEVEL_REASONS = {
    "version": "obsolete, compose ignores it too",
    "networks": "every container joins the stack network <stack>_default",
}


@dataclass(frozen=True)
class Conversion:
    text: str  # the manifest
    notes: list[Note]
    data: dict[str, Any]


def convert(
    compose_file: Path,
    out_dir: Path,
    environ: Mapping[str, str] | None = None,
    keep: frozenset[str] = frozenset(),
) -> Conversion:
    """Import `compose_file` as a manifest to be written in `out_dir` (paths relative to it).

    `keep`: compose services to keep as plain containers even if they are a database,
    cache or LocalStack."""
    src = read_compose(compose_file, environ)
    unknown = sorted(keep - set(src.data["services"]))
    if unknown:
        raise ImportProblem(
            f"--keep-services {unknown[0]}: no service {unknown[0]!r} in {src.doc.file} "
            f"(services: {', '.join(src.data['services'])})"
        )
    try:
        return _Converter(src, out_dir, keep).run()
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # A shape compose would reject that no check above caught: still no traceback.
        raise ImportProblem(f"{src.doc.file}: cannot import: {exc!r}") from exc


class _Converter:
    def __init__(self, src: ComposeSource, out_dir: Path, keep: frozenset[str]) -> None:
        self.src = src
        self.keep = keep
        self.out_dir = out_dir
        self.notes = Notes()
        self.compose: dict[str, Any] = src.data["services"]
        for name, body in self.compose.items():
            if not isinstance(body, dict):
                raise src.problem(("services", name), "a service is a mapping")
        self.names = {c: safe_name(c) for c in self.compose}
        for compose_name, name in self.names.items():
            if name != compose_name:
                self.notes.no_effect(
                    ("services", compose_name), f"renamed {name!r}: devstack names are lowercase"
                )
        self.backing = BackingBuilder(src, self.notes, out_dir, set(self.names.values()))

    def run(self) -> Conversion:
        self.absorb_backing_services()
        mapped = self.map_services()
        environments = self.environments(mapped)
        volumes = self.volumes(mapped)
        data: dict[str, Any] = {"name": self.stack_name()}
        if environments:
            data["environments"] = environments
        if self.backing.providers:
            data["providers"] = self.backing.providers
        if self.backing.backing:
            data["backing"] = self.backing.backing
        data["services"] = {m.name: m.entry for m in mapped}
        if volumes:
            data["volumes"] = volumes
        for kind in ("secrets", "configs"):
            top = passthrough.top_level(self.src, kind, self.notes, self.out_dir)
            if top:
                data[kind] = top
        for key in self.src.data:
            if key.startswith("x-"):
                self.notes.no_effect(
                    (key,), "a compose extension; its anchors are expanded where used"
                )
            elif key == "networks":
                self.top_networks()
            elif key not in ("services", "volumes", "name", "secrets", "configs"):
                reason = TOP_LEVEL_REASONS.get(key)
                if reason is None:
                    self.notes.changes((key,), "dropped: devstack has no equivalent")
                else:
                    self.notes.no_effect((key,), reason)
        for file in self.src.overrides:
            self.notes.no_effect((file,), "merged, as `docker compose up` does")
        for file in self.src.included_evaluated:
            self.notes.no_effect(
                (file,),
                "included with its own variables: its ${VAR}s were evaluated at import",
            )
        return Conversion(self.render(data), list(self.notes.items), data)

    def top_networks(self) -> None:
        for name, spec in (self.src.data.get("networks") or {}).items():
            path = ("networks", name)
            if isinstance(spec, dict) and (spec.get("external") or spec.get("ipam")):
                what = "external" if spec.get("external") else "ipam"
                self.notes.changes(
                    (*path, what), f"dropped: devstack creates its own network, without {what}"
                )
        self.notes.no_effect(("networks",), TOP_LEVEL_REASONS["networks"])

    def stack_name(self) -> str:
        raw = self.src.data.get("name")
        if isinstance(raw, str) and raw:
            return safe_name(fields.fixed(self.src, raw, ("name",), self.notes, ("name",)))
        return safe_name(self.src.root.name) or "stack"

    def absorb_backing_services(self) -> None:
        for compose_name, body in self.compose.items():
            if compose_name in self.keep:
                continue  # --keep-services: a plain container, as in compose
            kind = None if "build" in body else detect(body.get("image"))
            name = self.names[compose_name]
            kept = self._kept_as_container(compose_name, kind, body)
            if kept:
                self.notes.no_effect(
                    ("services", compose_name), f"kept as a container: {kept}", ("services", name)
                )
            elif kind in ("postgres", "redis") and not self._named_by_a_consumer(compose_name):
                # Nothing we can rewrite points at it: a program that connects to it by a
                # name written in its code would lose it. Kept as compose runs it.
                self.notes.no_effect(
                    ("services", compose_name),
                    f"kept as a container: no service's environment names {compose_name!r}, "
                    "so none could be rewired to a backing service (see --keep-services)",
                    ("services", name),
                )
            elif kind in ("postgres", "redis"):
                self.backing.server(compose_name, name, kind, body)
            elif kind == "localstack":
                queues = [
                    queue
                    for other, other_body in self.compose.items()
                    if other != compose_name
                    for value in self._env_values(other, other_body)
                    if (queue := queue_url_names(value, compose_name))
                ]
                if not absorb_localstack(self.backing, compose_name, name, body, queues):
                    self.notes.no_effect(
                        ("services", compose_name),
                        "kept as a container: no bucket, queue, topic, parameter or secret found "
                        "to declare as a backing service (see docs/import.md)",
                        ("services", name),
                    )

    def _kept_as_container(self, compose_name: str, kind: str | None, body: dict[str, Any]) -> str:
        """Why a database or cache is better left a container (empty: it is not): its
        password is a secret file, or set on its command line, which devstack's server
        would not know, and its consumers read the same secret."""
        env = body.get("environment") or {}
        names = env if isinstance(env, dict) else [str(e).partition("=")[0] for e in env]
        if kind == "postgres" and "POSTGRES_PASSWORD_FILE" in names:
            return "its password comes from a secret file, which its consumers read too"
        if kind == "redis" and "requirepass" in str(body.get("command", "")):
            return "it requires a password (requirepass), which devstack's redis has not"
        return ""

    def _named_by_a_consumer(self, compose_name: str) -> bool:
        """Does another service's environment (or env file) hold its name as a host?"""
        for other, body in self.compose.items():
            if other == compose_name:
                continue
            path = ("services", other, "environment")
            env = fields.environment(self.src, body.get("environment") or {}, path, Notes())
            texts = [*env.values(), *self._env_file_values(body)]
            for text in texts:
                # Unset variables read as a placeholder: only the host matters here.
                try:
                    value = interpolate(text, lambda n: self.src.variables.get(n, "x"))
                except InterpolationError:
                    continue
                if host_of(value) == compose_name:
                    return True
        return False

    def _env_values(self, compose_name: str, body: dict[str, Any]) -> list[str]:
        path = ("services", compose_name, "environment")
        env = fields.environment(self.src, body.get("environment") or {}, path, Notes())
        values = self._env_file_values(body)
        for key, value in env.items():
            try:
                values.append(self.src.evaluate(value, (*path, key)))
            except ImportProblem:  # a `${X:?}` unset now: not a queue URL we can see
                continue
        return values

    def _env_file_values(self, body: dict[str, Any]) -> list[str]:
        given = body.get("env_file") or []
        values = []
        for item in given if isinstance(given, list) else [given]:
            text = str(item.get("path") if isinstance(item, dict) else item)
            try:
                entries = parse_env_file(
                    (self.src.root / self.src.evaluate(text, ("services",))).resolve(),
                    self.src.variables.get,
                )
            except (ImportProblem, EnvFileError, OSError):
                continue  # reported where the service's env files are read
            values += [entry.value for entry in entries]
        return values

    def map_services(self) -> list[MappedService]:
        mapper = ServiceMapper(self.src, self.notes, self.out_dir)
        out = []
        for compose_name, body in self.compose.items():
            if compose_name in self.backing.absorbed:
                continue
            mapped = mapper.map(compose_name, self.names[compose_name], body)
            entry = mapped.entry
            env = entry.get("env", {})
            uses = self.backing.bind(mapped.name, compose_name, env, mapped.depends)
            if "depends_on" in entry:
                entry["depends_on"] = self.depends_on(compose_name, mapped.depends)
                if not entry["depends_on"]:
                    del entry["depends_on"]
            if "env" in entry and not env:
                del entry["env"]
            if uses:
                mapped.entry = _insert_after(
                    entry, ("env", "ports", "command", "build", "image"), "uses", uses
                )
            out.append(mapped)
        return out

    def depends_on(self, compose_name: str, depends: dict[str, str]) -> Any:
        deps: dict[str, str] = {}
        for dep, condition in depends.items():
            if dep not in self.compose:
                raise self.src.problem(
                    ("services", compose_name, "depends_on"), f"unknown service {dep!r}"
                )
            deps[self.names[dep]] = condition
        if all(c == "service_healthy" for c in deps.values()):
            return list(deps)  # devstack's list form waits for health
        return {name: {"condition": c} for name, c in deps.items()}

    def environments(self, mapped: list[MappedService]) -> dict[str, Any]:
        env_files: list[Any] = []
        if self.src.dotenv is not None:
            env_files.append(
                {"path": fields.relative_path(self.src, ".env", self.out_dir), "required": False}
            )
            self.notes.no_effect(
                (".env",),
                "an env file of `dev`, so ${VAR}s find its values as in compose; its "
                "variables also reach every service's environment (compose uses them only "
                "for interpolation)",
                ("environments", "dev", "env_file"),
            )
        shared = {tuple((p, r) for p, r, _ in m.env_files) for m in mapped}
        if len(shared) == 1 and (common := next(iter(shared))):
            # Every service reads the same files: exactly an environment's env_file.
            for path, required in common:
                rel = fields.relative_path(self.src, path, self.out_dir)
                env_files.append(rel if required else {"path": rel, "required": False})
        else:
            for m in mapped:
                self.inline_env_files(m)
        return {"dev": {"env_file": env_files}} if env_files else {}

    def inline_env_files(self, mapped: MappedService) -> None:
        inlined: dict[str, str] = {}
        for path, required, data_path in mapped.env_files:
            file = (self.src.root / path).resolve()
            target = ("services", mapped.name, "env")
            try:
                entries = parse_env_file(file, self.src.variables.get)
            except FileNotFoundError:
                if required:
                    self.notes.changes(
                        data_path,
                        f"{path} not found at import: its variables are missing",
                        ("services", mapped.name),
                    )
                continue
            except (EnvFileError, OSError) as exc:
                raise self.src.problem(data_path, str(exc)) from None
            # `$` doubled: the values were interpolated once already, by the env-file parser.
            inlined.update({e.name: e.value.replace("$", "$$") for e in entries})
            self.notes.no_effect(
                data_path,
                f"{path} inlined into env: devstack reads env files per environment, not per service",
                target,
            )
        if inlined:
            env = {**inlined, **mapped.entry.get("env", {})}
            mapped.entry = _insert_after(
                mapped.entry, ("ports", "command", "build", "image"), "env", env
            )

    def volumes(self, mapped: list[MappedService]) -> dict[str, Any]:
        used = set().union(*(m.named_volumes for m in mapped)) if mapped else set()
        declared = self.src.data.get("volumes") or {}
        out: dict[str, Any] = {}
        for name, spec in declared.items():
            path = ("volumes", name)
            driver = fields.volume_driver(self.src, name)
            if driver is not None and name not in used:
                self.notes.no_effect(
                    path,
                    f"mounted as the {driver[0]} its driver_opts describe, where services use it",
                )
                continue
            if name not in used:
                self.notes.no_effect(
                    path, "used by no service devstack runs; backing services keep their own data"
                )
                continue
            entry: dict[str, Any] = {}
            for key, value in (spec or {}).items():
                if key == "labels" and isinstance(value, dict):
                    entry["labels"] = {str(k): str(v) for k, v in value.items()}
                elif key == "labels":
                    entry["labels"] = dict(str(v).partition("=")[::2] for v in value)
                elif key == "name" or (key == "driver" and value == "local"):
                    self.notes.no_effect(
                        (*path, key),
                        "devstack creates plain local volumes <stack>_<name>",
                        ("volumes", name),
                    )
                else:
                    self.notes.changes(
                        (*path, key),
                        "dropped: devstack creates plain local volumes <stack>_<name>",
                        ("volumes", name),
                    )
            out[name] = entry
        for name in sorted(used - set(out)):
            out[name] = {}
        return out

    def render(self, data: dict[str, Any]) -> str:
        header = [
            f"Generated by `devstack import compose` from {self.src.path.name}.",
            "Anchors and merge keys are expanded. ${VAR} expressions are kept where devstack",
            "interpolates (env, build args, image), evaluated at import elsewhere (see notes).",
            "Ports are published on 127.0.0.1 unless an IP is given; services restart on failure",
            "unless restart: says otherwise (compose's default is never).",
        ]
        doc = Document(data, header)
        loose = []
        for note in self.notes.items:
            if note.target is not None and _exists(data, note.target):
                doc.comment(note.target, str(note))
            else:
                loose.append(str(note))
        if loose:
            header += ["", "Import notes:", *(f"  {line}" for line in loose)]
        return doc.render()


def _exists(data: Any, path: tuple[str | int, ...]) -> bool:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _insert_after(
    entry: dict[str, Any], after: tuple[str, ...], key: str, value: Any
) -> dict[str, Any]:
    """`entry` with `key` placed after the first of `after` it has (else at the end)."""
    anchor = next((a for a in after if a in entry and a != key), None)
    out: dict[str, Any] = {}
    for k, v in entry.items():
        if k == key:
            continue
        out[k] = v
        if k == anchor:
            out[key] = value
    if key not in out:
        out[key] = value
    return out
