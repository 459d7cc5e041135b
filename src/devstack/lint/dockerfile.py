"""The base images of a Dockerfile: its FROM lines with ARGs and build args applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devstack.config.interpolate import InterpolationError, interpolate


@dataclass(frozen=True)
class BaseImage:
    ref: str  # with ARGs substituted
    written: str  # as the FROM line has it
    line: int
    column: int


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each instruction, continuations joined.

    The joined text begins with the first line as written, so a token found on that
    line (the image of a FROM) keeps its column.
    """
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending:
            if not stripped or stripped.startswith("#"):
                continue
            start = number
        elif stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        out.append((start, " ".join(pending)))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def base_images(text: str, build_args: Mapping[str, str]) -> list[BaseImage]:
    """External base images (not `scratch`, not an earlier stage), ARGs filled in."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    found: list[BaseImage] = []
    seen_from = False
    for number, line in logical_lines(text):
        words = line.split()
        instruction = words[0].upper()
        if instruction == "ARG" and not seen_from:
            for word in words[1:]:
                name, _, default = word.partition("=")
                args[name] = build_args.get(name, default.strip("\"'"))
        elif instruction == "FROM":
            seen_from = True
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                continue
            written = rest[0]
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2].lower())
            try:
                ref = interpolate(written, args.get)
            except InterpolationError:
                continue
            if not ref or ref.lower() in stages or ref.lower() == "scratch":
                continue
            column = line.find(written) + 1
            found.append(BaseImage(ref, written, number, column))
    return found
