"""What an import could not carry over, or carried over only approximately.

Every note names the compose path it is about (`services.web.deploy.resources`), so the
list on stderr and the comments in the generated manifest point at the same place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from devstack.config.yaml_loader import format_path

Path = tuple[str | int, ...]
NoteKind = Literal["not mapped", "approximated"]


@dataclass(frozen=True)
class Note:
    path: Path  # in the compose file
    kind: NoteKind
    reason: str
    target: Path | None = None  # where the comment goes in the manifest (None: header)

    def __str__(self) -> str:
        # A file beside the compose file (`.env`) is named as such, not as a quoted key.
        file = len(self.path) == 1 and "." in str(self.path[0])
        where = str(self.path[0]) if file else format_path(self.path)
        return f"{where}: {self.kind} ({self.reason})"


@dataclass
class Notes:
    items: list[Note] = field(default_factory=list)

    def unmapped(self, path: Path, reason: str, target: Path | None = None) -> None:
        self.items.append(Note(path, "not mapped", reason, target))

    def approximated(self, path: Path, reason: str, target: Path | None = None) -> None:
        self.items.append(Note(path, "approximated", reason, target))
