"""The compose application model of a file: `extends:` and `include:` resolved.

Compose builds one model from a file, the files its services extend and the files it
includes; the importer converts that model. Extended and included services keep their
paths meaning what they meant: a relative path is rebased from the file that wrote it to
the main file's folder. An included file read with other variables than the main file
(its own `env_file:` or `.env`) is interpolated here, with its `$` escaped again, since
devstack would otherwise read its `${VAR}`s with the main file's variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.config.envfile import EnvFileError, parse_env_file
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.yaml_loader import LoadedDocument, LoaderError, load_yaml
from devstack.importer.merge import merge, strip
from devstack.importer.source import ImportProblem

_MAX_DEPTH = 20  # extends/include chains deeper than this are a cycle in practice
_RESOURCES = ("services", "volumes", "secrets", "configs", "networks")
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)


@dataclass
class ComposeFile:
    path: Path  # absolute
    doc: LoadedDocument
    variables: Mapping[str, str]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.data
        return data

    def where(self, *path: str | int) -> str:
        location = self.doc.locate(path)
        return f"{location}: " if location else f"{self.doc.file}: "


def read_file(path: Path, variables: Mapping[str, str], shown: str | None = None) -> ComposeFile:
    shown = shown or _display(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportProblem(f"{shown}: no such file") from None
    except OSError as exc:
        raise ImportProblem(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        doc = load_yaml(raw, shown, compose_tags=True)
    except LoaderError as exc:
        raise ImportProblem(str(exc)) from None
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ImportProblem(f"{shown}:1:1: a compose file is a mapping")
    return ComposeFile(path.resolve(), doc, variables)


def env_variables(files: list[Path], shell: Mapping[str, str], shown: str) -> dict[str, str]:
    """Variables for interpolation: the env files in order, then the shell over them."""
    variables: dict[str, str] = {}
    for file in files:
        try:
            entries = parse_env_file(file, {**variables, **shell}.get)
        except FileNotFoundError:
            raise ImportProblem(f"{shown}: env file {_display(file)} not found") from None
        except EnvFileError as exc:
            raise ImportProblem(str(exc)) from None
        variables.update({entry.name: entry.value for entry in entries})
    variables.update(shell)
    return variables


@dataclass
class Project:
    """Resolves one main file; `origins` says which document wrote each service."""

    main: ComposeFile
    origins: dict[str, LoadedDocument] = field(default_factory=dict)
    evaluated: list[str] = field(default_factory=list)  # included files interpolated here
    overrides: list[str] = field(default_factory=list)  # override files merged, as compose

    def resolve(self) -> dict[str, Any]:
        data = dict(self.main.data)
        if self.main.path.name in DEFAULT_FILES:
            # `docker compose up` without -f reads the override file too, silently.
            for name in OVERRIDE_FILES:
                path = self.main.root / name
                if path.is_file():
                    over = read_file(path, self.main.variables)
                    data = merge(data, over.data)
                    self.overrides.append(name)
                    break
        services = _mapping(self.main, data.get("services"), "services")
        data["services"] = self.extended(self.main, services, 0)
        for index, item in enumerate(data.pop("include", None) or []):
            self.include(data, item, index)
        return strip(data)  # type: ignore[no-any-return]

    # -- extends -------------------------------------------------------------------------

    def extended(self, file: ComposeFile, services: dict[str, Any], depth: int) -> dict[str, Any]:
        return {
            name: self.service(file, services, name, depth, ())
            for name in services
            if isinstance(name, str)
        }

    def service(
        self,
        file: ComposeFile,
        services: dict[str, Any],
        name: str,
        depth: int,
        chain: tuple[tuple[Path, str], ...],
    ) -> Any:
        body = services.get(name)
        if not isinstance(body, dict) or "extends" not in body:
            return body
        where = file.where("services", name, "extends")
        if (file.path, name) in chain or depth > _MAX_DEPTH:
            raise ImportProblem(f"{where}services.{name}.extends: extends itself (a cycle)")
        spec = strip(body["extends"])
        if isinstance(spec, str):
            spec = {"service": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("service"), str):
            raise ImportProblem(f"{where}services.{name}.extends: needs service: NAME")
        base_file, base_services = file, services
        if spec.get("file"):
            text = self.evaluate(file, str(spec["file"]), where)
            base_file = self.read(file.root / text, file.variables, where)
            base_services = _mapping(base_file, base_file.data.get("services"), "services")
        wanted = spec["service"]
        if wanted not in base_services:
            raise ImportProblem(
                f"{where}services.{name}.extends: no service {wanted!r} in {base_file.doc.file}"
            )
        base = self.service(
            base_file, base_services, wanted, depth + 1, (*chain, (file.path, name))
        )
        if not isinstance(base, dict):
            raise ImportProblem(f"{where}services.{name}.extends: {wanted!r} is not a mapping")
        base = rebase(base, base_file, file.root, self)
        own = {k: v for k, v in body.items() if k != "extends"}
        merged: dict[str, Any] = merge(base, own)
        return merged

    # -- include -------------------------------------------------------------------------

    def include(self, data: dict[str, Any], item: Any, index: int) -> None:
        where = self.main.where("include", index)
        spec = strip(item)
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict) or "path" not in spec:
            raise ImportProblem(f"{where}include[{index}]: needs path:")
        paths = spec["path"] if isinstance(spec["path"], list) else [spec["path"]]
        texts = [self.evaluate(self.main, str(p), where) for p in paths]
        first = (self.main.root / texts[0]).resolve()
        project_dir = (
            (self.main.root / self.evaluate(self.main, str(spec["project_directory"]), where))
            if spec.get("project_directory")
            else first.parent
        ).resolve()
        env_files = spec.get("env_file")
        if env_files is None:
            dotenv = project_dir / ".env"
            files = [dotenv] if dotenv.is_file() else []
        else:
            listed = env_files if isinstance(env_files, list) else [env_files]
            files = [(self.main.root / self.evaluate(self.main, str(f), where)) for f in listed]
        # The including project's own variables win (compose: "the local project's
        # environment has precedence").
        variables = {**env_variables(files, {}, where.rstrip(": ")), **self.main.variables}
        included = self.read(first, variables, where)
        for extra in texts[1:]:  # several paths: later files override the first
            over = self.read(self.main.root / extra, variables, where)
            included.doc.data = merge(included.data, over.data)
        sub = Project(included)
        resolved = sub.resolve()
        self.origins.update(dict.fromkeys(resolved.get("services") or {}, included.doc))
        self.origins.update(sub.origins)
        evaluate_here = variables != dict(self.main.variables)
        if evaluate_here:
            self.evaluated.append(os.path.relpath(included.path, self.main.root))
            resolved = _interpolated(resolved, variables, where)
        for service in (resolved.get("services") or {}).values():
            if isinstance(service, dict):
                service.update(rebase(service, included, self.main.root, self, project_dir))
        for kind in ("secrets", "configs"):
            for spec_item in (resolved.get(kind) or {}).values():
                if isinstance(spec_item, dict) and isinstance(spec_item.get("file"), str):
                    spec_item["file"] = _moved(spec_item["file"], project_dir, self.main.root)
        for kind in _RESOURCES:
            theirs = resolved.get(kind) or {}
            if not theirs:
                continue
            if not isinstance(data.get(kind), dict):
                data[kind] = {}  # `volumes:` left empty in the including file
            ours = data[kind]
            for name, value in theirs.items():
                if name in ours:
                    if kind == "services":
                        raise ImportProblem(
                            f"{where}include[{index}]: service {name!r} of {included.doc.file} "
                            "conflicts with a service of the including file"
                        )
                    continue  # compose: the same volume/network declared twice is one
                ours[name] = value

    # -- helpers -------------------------------------------------------------------------

    def read(self, path: Path, variables: Mapping[str, str], where: str) -> ComposeFile:
        if not path.is_file():
            raise ImportProblem(f"{where}{_display(path)}: no such file")
        return read_file(path, variables)

    def evaluate(self, file: ComposeFile, text: str, where: str) -> str:
        try:
            return interpolate(text, file.variables.get)
        except InterpolationError as exc:
            raise ImportProblem(f"{where}{exc.message} (needed at import time)") from None


def rebase(
    service: dict[str, Any],
    file: ComposeFile,
    to_dir: Path,
    project: Project,
    from_dir: Path | None = None,
) -> dict[str, Any]:
    """`service` (written in `file`) with its relative paths made relative to `to_dir`."""
    base = (from_dir or file.root).resolve()
    if base == to_dir.resolve():
        return service
    out = dict(service)

    def moved(text: str) -> str:
        if "$" in text:
            text = project.evaluate(file, text, file.where("services"))
        return _moved(text, base, to_dir)

    build = out.get("build")
    if isinstance(build, str):
        out["build"] = moved(build)
    elif isinstance(build, dict):
        out["build"] = {**build, "context": moved(str(build.get("context", ".")))}
    volumes: list[Any] = []
    for volume in out.get("volumes") or []:
        if isinstance(volume, str) and volume.startswith("."):
            source, sep, rest = volume.partition(":")
            volumes.append(moved(source) + sep + rest)
        elif isinstance(volume, dict) and volume.get("type") == "bind" and volume.get("source"):
            volumes.append({**volume, "source": moved(str(volume["source"]))})
        else:
            volumes.append(volume)
    if volumes:
        out["volumes"] = volumes
    env_file = out.get("env_file")
    if env_file is not None:
        items = env_file if isinstance(env_file, list) else [env_file]
        out["env_file"] = [
            {**item, "path": moved(str(item.get("path")))}
            if isinstance(item, dict)
            else moved(str(item))
            for item in items
        ]
    develop = out.get("develop")
    if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
        out["develop"] = {
            **develop,
            "watch": [
                {**rule, "path": moved(str(rule.get("path", ".")))}
                if isinstance(rule, dict)
                else rule
                for rule in develop["watch"]
            ],
        }
    return out


def _moved(text: str, from_dir: Path, to_dir: Path) -> str:
    if text.startswith(("/", "~")) or "://" in text:
        return text
    rel = os.path.relpath((from_dir / text).resolve(), to_dir.resolve())
    return rel if rel.startswith(".") else f"./{rel}"


def _interpolated(value: Any, variables: Mapping[str, str], where: str) -> Any:
    """Every string interpolated now, its `$` doubled again: a literal for devstack."""
    if isinstance(value, dict):
        return {k: _interpolated(v, variables, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolated(v, variables, where) for v in value]
    if isinstance(value, str) and "$" in value:
        try:
            return interpolate(value, variables.get).replace("$", "$$")
        except InterpolationError as exc:
            raise ImportProblem(f"{where}{exc.message} (an included file)") from None
    return value


def _mapping(file: ComposeFile, value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportProblem(f"{file.where(key)}{key}: expected a mapping")
    return value


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
