"""Hostile manifests are refused quickly with one located error, and never crash the CLI.

Each case is written to a real devstack.yaml and loaded the way `devstack validate` loads
it (load, then resolve every environment); the slowest ones also go through the real CLI
to show the user sees a located message and exit code 2, not a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from helpers import Stack

HEAD = b"name: t\nservices:\n  web:\n    command: python3 app.py\n"
BUDGET = 1.0  # CPU seconds to refuse (or accept) any of these


def bomb(levels: int, fan_out: int) -> bytes:
    """Billion laughs: each level's list holds `fan_out` aliases of the previous one."""
    lines = [b"a0: &a0 [" + b",".join([b"lol"] * fan_out) + b"]"]
    for level in range(1, levels):
        refs = b",".join([b"*a%d" % (level - 1)] * fan_out)
        lines.append(b"a%d: &a%d [%s]" % (level, level, refs))
    return b"\n".join(lines) + b"\n"


# (id, manifest bytes, what the one problem says, its line or None)
CASES = [
    ("100k-open-brackets", b"[" * 100_000, "nesting", 1),
    ("100k-open-braces", b"{" * 100_000, "nesting", 1),
    ("100k-balanced-brackets", b"a: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nesting", 1),
    (
        "deep-block-mappings",
        b"".join(b"  " * i + b"k%d:\n" % i for i in range(400)),
        "nesting deeper than 200 levels",
        202,
    ),
    ("billion-laughs", bomb(10, 10), "alias bomb", None),  # where the cap is hit
    ("50MB-string", b"name: " + b"x" * (50 * 1024 * 1024) + b"\n", "byte limit", 1),
    ("nul-byte", HEAD.replace(b"app.py", b"app\0.py"), "invalid character U+0000", 4),
    ("invalid-utf8", HEAD + b"    env: {A: \xff\xfe}\n", "not valid UTF-8", 5),
    ("utf16-file", HEAD.decode().encode("utf-16"), "", 1),
    ("bare-binary", bytes(range(256)) * 64, "not valid UTF-8", 3),
    ("huge-integer", HEAD + b"    replicas: " + b"9" * 5000 + b"\n", "integer too large", 5),
    (
        "python-tag",
        HEAD + b"    restart: !!python/object/apply:os.system [id]\n",
        "unsupported tag",
        5,
    ),
    (
        "nested-templates-open",
        HEAD + b"    env:\n      A: '" + b"${A:-" * 20_000 + b"'\n",
        "",
        6,
    ),
    (
        "nested-templates-closed",
        HEAD + b"    env:\n      A: '" + b"${A:-" * 5_000 + b"x" + b"}" * 5_000 + b"'\n",
        "",
        6,
    ),
]


def load_all(path: Path) -> None:
    loaded = load_stack(path)
    for environment in sorted(set(loaded.stack.environments) | {"dev"}):
        resolve(loaded, environment, {})


@pytest.mark.parametrize(("raw", "says", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_manifest_is_refused_quickly_with_a_located_problem(
    tmp_path: Path, raw: bytes, says: str, line: int | None
) -> None:
    path = tmp_path / "devstack.yaml"
    path.write_bytes(raw)
    started = time.process_time()
    with pytest.raises(ManifestError) as info:
        load_all(path)
    elapsed = time.process_time() - started
    assert elapsed < BUDGET, f"{elapsed:.2f} s of CPU to refuse it"
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.location is not None, str(problem)
    assert Path(problem.location.file).name == "devstack.yaml"
    assert problem.location.line == line or line is None, str(problem)
    assert says in problem.message
    assert len(str(problem)) < 500, "the message must not echo the hostile input back"


def test_a_large_but_legal_value_still_loads_within_the_budget(tmp_path: Path) -> None:
    """4 MB in one variable (under the 5 MiB file limit): slow input, not hostile."""
    path = tmp_path / "devstack.yaml"
    path.write_bytes(HEAD + b"    env:\n      BLOB: " + b"x" * 4_000_000 + b"\n")
    started = time.process_time()
    load_all(path)
    assert time.process_time() - started < BUDGET * 2


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(bomb(10, 10), id="billion-laughs"),
        pytest.param(HEAD + b"    env:\n      A: '" + b"${A:-" * 20_000 + b"'\n", id="templates"),
        pytest.param(b"\x00\xff" * 1000, id="binary"),
    ],
)
def test_validate_reports_a_hostile_manifest_without_a_traceback(stack: Stack, raw: bytes) -> None:
    stack.manifest.write_bytes(raw)
    result = stack.run("validate")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "devstack.yaml:" in result.stderr
    assert len(result.stderr) < 2000
