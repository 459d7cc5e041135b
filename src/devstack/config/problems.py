"""Located problems in a manifest: every error names file, line, column and field path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from devstack.config.yaml_loader import Location


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest or env file."""

    message: str
    field: str = ""
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ManifestError(Exception):
    """A manifest that cannot be used; holds every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
