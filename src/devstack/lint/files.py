"""Reading the user's files without letting an unreadable one stop the audit."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> str | None:
    """The file's text, or None when it is missing, unreadable or not UTF-8 (lint
    audits what it can read; `validate` and the build report the rest)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
