"""Reading a compose file: YAML (anchors and merge keys applied), located errors, variables.

The compose file is read with devstack's own YAML loader, so merge keys (`<<: *common`)
are expanded exactly as devstack would, every value has a file:line:column, and an alias
bomb is refused. Compose reads `.env` beside the file for interpolation; the few values
devstack does not interpolate itself (ports, volumes, commands, backing-service fields)
are evaluated at import time against that file and the shell, like compose would.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.config.envfile import EnvFileError, parse_env_file
from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.yaml_loader import LoadedDocument, LoaderError, Location, load_yaml
from devstack.config.yaml_loader import format_path as _format

DataPath = tuple[str | int, ...]


class ImportProblem(Exception):
    """A compose file that cannot be imported; the message names file, line and field."""


@dataclass
class ComposeSource:
    path: Path  # the compose file, absolute
    doc: LoadedDocument
    variables: Mapping[str, str]  # for import-time interpolation: shell over .env
    dotenv: Path | None = None  # the `.env` beside the file, when there is one

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.data
        return data

    def where(self, path: DataPath) -> str:
        """`compose.yaml:12:5: services.web.ports[0]` for a message."""
        location: Location | None = self.doc.locate(path)
        prefix = f"{location}: " if location else f"{self.doc.file}: "
        return prefix + _format(path)

    def problem(self, path: DataPath, message: str) -> ImportProblem:
        return ImportProblem(f"{self.where(path)}: {message}")

    def as_written(self, path: DataPath, value: Any) -> str:
        """A scalar as the user wrote it: `1.10` stays "1.10", `true` stays "true"."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return self.doc.raw_text.get(
            path, str(value).lower() if isinstance(value, bool) else str(value)
        )

    def evaluate(self, text: str, path: DataPath) -> str:
        """Compose interpolation now, for a field devstack does not interpolate."""
        try:
            return interpolate(text, self.variables.get)
        except InterpolationError as exc:
            raise self.problem(path, f"{exc.message} (needed at import time)") from None


def read_compose(path: Path, environ: Mapping[str, str] | None = None) -> ComposeSource:
    """Load a compose file; raises ImportProblem with a located message."""
    shown = _display(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportProblem(f"{shown}: no such file") from None
    except OSError as exc:
        raise ImportProblem(f"{shown}: cannot read: {exc.strerror}") from None
    try:
        doc = load_yaml(raw, shown)
    except LoaderError as exc:
        raise ImportProblem(str(exc)) from None
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("services"), dict):
        where = doc.locate(("services",)) or Location(shown, 1, 1)
        raise ImportProblem(f"{where}: a compose file is a mapping with `services:`")
    shell = dict(os.environ if environ is None else environ)
    dotenv = path.resolve().parent / ".env"
    variables: dict[str, str] = {}
    if dotenv.is_file():
        try:
            entries = parse_env_file(dotenv, shell.get)
        except EnvFileError as exc:
            raise ImportProblem(str(exc)) from None
        variables.update({entry.name: entry.value for entry in entries})
    variables.update(shell)  # compose: the shell wins over .env
    return ComposeSource(path.resolve(), doc, variables, dotenv if dotenv.is_file() else None)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
