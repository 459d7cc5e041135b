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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.yaml_loader import LoadedDocument, Location
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
    # The document that wrote a service, when not the main file (an included file).
    origins: dict[str, LoadedDocument] = field(default_factory=dict)
    included_evaluated: list[str] = field(default_factory=list)  # interpolated at import
    overrides: list[str] = field(default_factory=list)  # compose.override.yaml, merged
    dotenv_values: Mapping[str, str] = field(default_factory=dict)  # `.env` alone

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.doc.data
        return data

    def document(self, path: DataPath) -> LoadedDocument:
        """The document `path` was written in (an included file's, or the main one)."""
        if len(path) > 1 and path[0] == "services":
            return self.origins.get(str(path[1]), self.doc)
        return self.doc

    def where(self, path: DataPath) -> str:
        """`compose.yaml:12:5: services.web.ports[0]` for a message."""
        doc = self.document(path)
        location: Location | None = doc.locate(path)
        prefix = f"{location}: " if location else f"{doc.file}: "
        return prefix + _format(path)

    def problem(self, path: DataPath, message: str) -> ImportProblem:
        return ImportProblem(f"{self.where(path)}: {message}")

    def as_written(self, path: DataPath, value: Any) -> str:
        """A scalar as the user wrote it: `1.10` stays "1.10", `true` stays "true"."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return self.document(path).raw_text.get(
            path, str(value).lower() if isinstance(value, bool) else str(value)
        )

    def evaluate(self, text: str, path: DataPath) -> str:
        """Compose interpolation now, for a field devstack does not interpolate."""
        try:
            return interpolate(text, self.variables.get)
        except InterpolationError as exc:
            raise self.problem(path, f"{exc.message} (needed at import time)") from None


def read_compose(path: Path, environ: Mapping[str, str] | None = None) -> ComposeSource:
    """Load a compose file with what it extends and includes; raises ImportProblem with a
    located message."""
    from devstack.importer.project import Project, env_variables, read_file

    shown = _display(path)
    shell = dict(os.environ if environ is None else environ)
    dotenv = path.resolve().parent / ".env"
    variables = env_variables([dotenv] if dotenv.is_file() else [], shell, shown)
    main = read_file(path, variables, shown)
    project = Project(main)
    data = project.resolve()
    doc = main.doc
    if not isinstance(data.get("services"), dict):
        where = doc.locate(("services",)) or Location(shown, 1, 1)
        raise ImportProblem(f"{where}: a compose file is a mapping with `services:`")
    doc.data = data
    return ComposeSource(
        path.resolve(),
        doc,
        variables,
        dotenv if dotenv.is_file() else None,
        project.origins,
        project.evaluated,
        project.overrides,
        env_variables([dotenv], {}, shown) if dotenv.is_file() else {},
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
