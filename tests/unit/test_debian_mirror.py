"""scripts/lib/debian-mirror.sh: the Debian mirror test-images.sh builds from is the one the
machine's apt uses, read from a fake apt tree (APT_SOURCES_ROOT); no host is built in."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib" / "debian-mirror.sh"
MIRROR = "http://mirror.example.invalid/debian"


def mirror_of(root: Path, suite: str = "bookworm", **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "DEBIAN_MIRROR"}
    return subprocess.run(
        ["bash", "-c", f'source "{LIB}"; debian_mirror "$1"', "bash", suite],
        env={**clean, "APT_SOURCES_ROOT": str(root), **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def apt_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "sources.list": f"# deb http://old.example.invalid/debian bookworm main\n"
                f"deb-src {MIRROR}-src bookworm main\n"
                f"deb [arch=amd64 signed-by=/k.gpg] {MIRROR} bookworm main\n"
            },
            MIRROR,
            id="one-line, options skipped, comments and deb-src ignored",
        ),
        pytest.param(
            {
                "sources.list": "deb http://other.example.invalid/debian trixie main\n",
                "sources.list.d/extra.list": f"deb {MIRROR} bookworm main contrib\n",
            },
            MIRROR,
            id="suite must match; sources.list.d/*.list read too",
        ),
        pytest.param(
            {
                "sources.list.d/debian.sources": (
                    "# a disabled stanza first\n"
                    "Types: deb\nURIs: http://off.example.invalid/debian\nSuites: bookworm\n"
                    "Components: main\nEnabled: no\n\n"
                    "Types: deb-src\nURIs: http://src.example.invalid/debian\nSuites: bookworm\n\n"
                    f"Types: deb deb-src\nURIs: {MIRROR} http://second.example.invalid/debian\n"
                    "Suites: bookworm bookworm-updates\nComponents: main\n"
                )
            },
            MIRROR,
            id="deb822: enabled deb stanza listing the suite, first URI",
        ),
    ],
)
def test_mirror_is_read_from_apt_sources(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    result = mirror_of(apt_tree(tmp_path, files))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_debian_mirror_variable_wins(tmp_path: Path) -> None:
    root = apt_tree(tmp_path, {"sources.list": f"deb {MIRROR} bookworm main\n"})
    result = mirror_of(root, DEBIAN_MIRROR="http://override.example.invalid/debian")
    assert result.stdout.strip() == "http://override.example.invalid/debian"


def test_no_mirror_is_one_clear_line_and_status_1(tmp_path: Path) -> None:
    root = apt_tree(
        tmp_path, {"sources.list": "deb http://other.example.invalid/debian trixie main\n"}
    )
    result = mirror_of(root)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no Debian mirror for 'bookworm'" in lines[0]
    assert f"{root}/sources.list" in lines[0]
    assert "DEBIAN_MIRROR" in lines[0]
