"""README.md's links: mkdocs --strict checks docs/, but the README lives outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor MkDocs' toc extension gives a heading (and GitHub, for these headings)."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[\s]+", "-", text)


def anchors(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {slug(line.lstrip("#")) for line in lines if re.match(r"#{1,6} ", line)}


def test_every_relative_link_and_anchor_of_the_readme_exists() -> None:
    readme = ROOT / "README.md"
    broken = []
    for target in LINK.findall(readme.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        path = ROOT / file if file else readme
        if not path.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and path.is_file() and anchor not in anchors(path):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file or 'README.md'}")
    assert not broken, "README.md links:\n" + "\n".join(broken)


def test_slug() -> None:
    assert slug(" The user's install is tested") == "the-users-install-is-tested"
    assert slug(" Environments: reproduce staging") == "environments-reproduce-staging"
