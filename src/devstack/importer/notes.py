"""What an import changed, or could not carry over, each said honestly.

Every note says whether the imported stack behaves differently from `docker compose up`
("changes behaviour") or not, run on this machine ("no effect locally"); `import
--strict` refuses the first kind. Every note names the compose path it is about
(`services.web.deploy.resources`), so the list on stderr and the comments in the
generated manifest point at the same place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from devstack.config.yaml_loader import format_path

Path = tuple[str | int, ...]
NoteKind = Literal["changes behaviour", "no effect locally"]
CHANGES: NoteKind = "changes behaviour"
NO_EFFECT: NoteKind = "no effect locally"


@dataclass(frozen=True)
class Note:
    path: Path  # in the compose file
    kind: NoteKind
    reason: str
    target: Path | None = None  # where the comment goes in the manifest (None: header)

    @property
    def changes_behaviour(self) -> bool:
        return self.kind == CHANGES

    def __str__(self) -> str:
        # A file beside the compose file (`.env`) is named as such, not as a quoted key.
        file = len(self.path) == 1 and "." in str(self.path[0])
        where = str(self.path[0]) if file else format_path(self.path)
        return f"{self.kind}: {where}: {self.reason}"


@dataclass
class Notes:
    items: list[Note] = field(default_factory=list)

    def changes(self, path: Path, reason: str, target: Path | None = None) -> None:
        """The imported service behaves differently from compose's."""
        self.items.append(Note(path, CHANGES, reason, target))

    def no_effect(self, path: Path, reason: str, target: Path | None = None) -> None:
        """Dropped or rewritten, with no difference on a developer's machine."""
        self.items.append(Note(path, NO_EFFECT, reason, target))
