"""What every rule gets: the loaded stack, the environments to audit, and a place to report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.config.interpolate import InterpolationError, interpolate
from devstack.config.loader import LoadedStack
from devstack.config.yaml_loader import Location, format_path
from devstack.lint.findings import RULES, Finding
from devstack.lint.gitignore import GitIgnore
from devstack.model.manifest import BuildSpec, Environment, Service

FieldPath = tuple[str | int, ...]


@dataclass
class LintContext:
    loaded: LoadedStack
    environments: tuple[str, ...]  # the environments whose layers are audited
    host_env: Mapping[str, str]
    git: GitIgnore
    cwd: Path = field(default_factory=Path.cwd)
    findings: list[Finding] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.loaded.root

    def environment(self, name: str) -> Environment:
        return self.loaded.stack.environment(name)

    def report(
        self, rule: str, path: FieldPath, message: str, fix: str, *, at_key: bool = False
    ) -> None:
        """A finding in the manifest, at the value of `path` (or at its key: `at_key`)."""
        doc = self.loaded.doc
        where = doc.key_locations.get(path) if at_key else None
        self.findings.append(
            Finding(RULES[rule], where or doc.locate(path), format_path(path), message, fix)
        )

    def report_file(
        self, rule: str, file: Path, line: int, column: int, path: FieldPath, message: str, fix: str
    ) -> None:
        """A finding in a file the manifest leads to (a Dockerfile, an env file, ...)."""
        where = Location(self.display(file), line, column)
        self.findings.append(Finding(RULES[rule], where, format_path(path), message, fix))

    def display(self, file: Path) -> str:
        """As the loader names the manifest: relative to the working folder when inside it."""
        resolved = file.resolve()
        try:
            return str(resolved.relative_to(self.cwd.resolve()))
        except ValueError:
            return str(resolved)

    def expand(self, text: str, environment: str | None = None) -> str | None:
        """`text` with `${...}` filled from the environment's vars, then the host; None if
        it cannot be (a malformed template is `validate`'s business, not lint's)."""
        layer = self.environment(environment).vars if environment else {}

        def lookup(name: str) -> str | None:
            if name in layer:
                value = layer[name]
                return value if isinstance(value, str) else value.value
            return self.host_env.get(name)

        try:
            return interpolate(text, lookup)
        except InterpolationError:
            return None


def build_path(service_name: str, service: Service) -> FieldPath:
    """The manifest field that names a service's build context."""
    if isinstance(service.build, BuildSpec) and "context" in service.build.model_fields_set:
        return ("services", service_name, "build", "context")
    return ("services", service_name, "build")
