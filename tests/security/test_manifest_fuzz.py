"""Property: any manifest text either loads or is refused with located problems, quickly.

Hypothesis feeds the loader (and the resolver `devstack validate` runs over every
environment) three kinds of input: plausible manifests with random mutations (wrong types,
unknown keys, bad names, bad ports, bad templates), YAML-looking token soup, and raw junk
text and bytes. Whatever comes in, the only exception allowed out is ManifestError; every
problem it carries names a file, a line and a column inside that file, and, once the
YAML itself parsed, a field path; no case takes a second.

CI runs CI_EXAMPLES cases per strategy; `--long` runs LONG_EXAMPLES (>= 10k in total).
"""

from __future__ import annotations

import copy
import gc
import math
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.config.yaml_loader import LoaderError, load_yaml

# Wall time on a shared 2-core machine is several times the CPU time: a generous timeout.
pytestmark = pytest.mark.timeout(900)

CI_EXAMPLES = 3_400  # per strategy: 10,200 cases over the three in CI
LONG_EXAMPLES = 10_000  # per strategy: the issue's >= 10k cases, three times over
CASE_BUDGET = 1.0  # CPU seconds per case, load and resolve together
BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


class Timings:
    """The slowest case seen per strategy, for the report and the docs."""

    slowest: dict[str, tuple[float, bytes]] = {}  # noqa: RUF012 - one table per test session
    count: dict[str, int] = {}  # noqa: RUF012
    total: dict[str, float] = {}  # noqa: RUF012

    @classmethod
    def record(cls, strategy: str, elapsed: float, raw: bytes) -> None:
        cls.count[strategy] = cls.count.get(strategy, 0) + 1
        cls.total[strategy] = cls.total.get(strategy, 0.0) + elapsed
        if elapsed > cls.slowest.get(strategy, (0.0, b""))[0]:
            cls.slowest[strategy] = (elapsed, raw)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # One folder for the whole module: hypothesis refuses function-scoped fixtures, and
    # rewriting one file is what an editor saving a manifest does anyway.
    with tempfile.TemporaryDirectory(prefix="ds-fuzz-") as name:
        root = Path(name)
        (root / ".env").write_text("A=1\nB_PASSWORD=hunter2\n")
        yield root


def check(root: Path, raw: bytes, strategy: str) -> None:
    """Load (and resolve every environment of) `raw`; assert the property; time it."""
    path = root / "devstack.yaml"
    path.write_bytes(raw)
    # CPU time, not wall time: on a shared CI machine a loaded neighbour can stretch any
    # wall-clock figure tenfold, while what this guards against (a quadratic path, a hang)
    # shows in the CPU the loader itself burns.
    # The collector off while timing: a full collection walks hypothesis' own objects
    # (seconds, once in a while, in a 10k-case run) and says nothing about the loader.
    gc.disable()
    started = time.process_time()
    try:
        loaded = load_stack(path)
        for environment in sorted(set(loaded.stack.environments) | {"dev"}):
            resolve(loaded, environment, {"HOME": "/home/x"})
    except ManifestError as exc:
        elapsed = time.process_time() - started
        gc.enable()
        assert_located(exc, raw, root)
    else:
        elapsed = time.process_time() - started
    finally:
        gc.enable()
    Timings.record(strategy, elapsed, raw)
    assert elapsed < CASE_BUDGET, f"{elapsed:.2f} s of CPU for {raw[:300]!r}"


def assert_located(exc: ManifestError, raw: bytes, root: Path) -> None:
    assert exc.problems, "a ManifestError without problems"
    try:
        parsed = load_yaml(raw, "devstack.yaml").data
    except LoaderError:
        parsed = None  # a YAML-level error: located, but there is no field to name
    # Line breaks as YAML counts them, plus one: libyaml puts an error at the end of the
    # stream on the line after the last one, even without a final line break.
    lines = len(BREAKS.findall(raw.decode("utf-8", "replace"))) + 2
    for problem in exc.problems:
        where = problem.location
        assert where is not None, f"unlocated problem {problem} for {raw[:300]!r}"
        assert problem.message.strip(), f"empty message at {where}"
        assert where.line >= 1 and where.column >= 1, f"{problem} for {raw[:300]!r}"
        if Path(where.file).name == "devstack.yaml":
            assert where.line <= lines, f"{problem}: past the end ({lines} lines)"
        else:  # an env file: it must exist in the stack's folder
            assert (root / where.file).is_file() or Path(where.file).is_file(), str(problem)
        if isinstance(parsed, dict):
            assert problem.field, f"no field path in {problem} for {raw[:300]!r}"


# -- strategies ---------------------------------------------------------------------------

BAD_NAMES = st.sampled_from(["", "Api", "-x", "a b", "a.b", "ü", "x/y", "_x", "A" * 300])
TEMPLATES = st.sampled_from(
    [
        "${A}",
        "$A",
        "$$",
        "${A:-x}",
        "${A:?boom}",
        "${NOPE?unset}",
        "${A:-${B:-${C:-deep}}}",
        "${",
        "${}",
        "${ A }",
        "${A:-",
        "${services.web.url}",
        "${services.web.port}",
        "${services.nope.url}",
        "${services.web}",
        "${services.web.url.x}",
        "${backing.files.bucket}",
        "${backing.files.nope}",
        "${backing.nope.bucket}",
        "${backing.files}",
        "${foo.bar}",
        "$" * 50,
        "${" * 40,
    ]
)
PORTS = st.one_of(
    st.integers(-5, 70000).map(str),
    st.sampled_from(["8080", "0", "65536", "http", "1:2:3:4", ":80", "0.0.0.0:80:80", "80:"]),
    st.integers(-5, 70000),
    st.booleans(),
)
DURATIONS = st.sampled_from(["1s", "500ms", "1m30s", "forever", "-1s", "", "1x", 0.5, -3, True])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    TEMPLATES,
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


# Built once, at import: a strategy made inside a composite is looked up in hypothesis'
# cache on every draw, and regex strategies cost a third of the generation; together they
# doubled the time of the 3,400 structured cases (tests/security, docs/development.md).
NAMES = st.builds(
    str.__add__,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", max_size=8),
)
VAR_NAMES = st.builds(
    str.__add__,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", max_size=10),
)
SERVICE = st.fixed_dictionaries(
    {"command": st.sampled_from(["python3 app.py", ["python3", "-c", "1"], "", "a 'b"])},
    optional={
        "ports": st.lists(PORTS, max_size=3),
        "env": st.dictionaries(
            VAR_NAMES,
            TEMPLATES
            | st.text(max_size=20)
            | st.fixed_dictionaries({"value": TEMPLATES, "secret": st.booleans()}),
            max_size=4,
        ),
        "healthcheck": st.fixed_dictionaries(
            {},
            optional={
                "http": st.sampled_from(["/health", "health", ""]),
                "tcp": PORTS,
                "command": st.just("true"),
                "interval": DURATIONS,
                "retries": st.integers(-1, 5),
            },
        ),
        "depends_on": st.lists(NAMES | st.just("web"), max_size=3),
        "uses": st.lists(st.sampled_from(["files", "jobs", "nope"]), max_size=2),
        "restart": st.sampled_from(["no", "always", "on-failure", "sometimes"]),
        "replicas": st.integers(-2, 200),
        "image": st.sampled_from(["busybox:1", "", "x" * 10]),
        "stop_grace": DURATIONS,
    },
)
SERVICES = st.dictionaries(NAMES | st.just("web"), SERVICE, min_size=1, max_size=4)
BACKING = st.builds(
    lambda kind, queue: {
        "files": {"kind": kind, "bucket": "t-files"},
        "jobs": {"kind": "sqs", "queue": queue},
    },
    st.sampled_from(["s3", "sqs", "nope"]),
    st.sampled_from(["t-jobs", "", "a" * 90]),
)
ENVIRONMENTS = st.dictionaries(
    NAMES,
    st.fixed_dictionaries(
        {},
        optional={
            "vars": st.dictionaries(VAR_NAMES, TEMPLATES | SCALARS, max_size=3),
            "env_file": st.sampled_from([".env", ["missing.env"], [{"path": ".env"}]]),
            "providers": st.just({"files": "moto"}),
            "secrets": st.sampled_from([{"from": "ssm:/t/"}, {"from": "nope:x"}, {"from": []}]),
        },
    ),
    min_size=1,
    max_size=1,
)
MANIFEST = st.fixed_dictionaries(
    {"name": NAMES | BAD_NAMES, "services": SERVICES},
    optional={"backing": BACKING, "environments": ENVIRONMENTS},
)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    # Strategies such as st.just() hand out the same object every time: mutate a copy.
    doc = copy.deepcopy(draw(MANIFEST))
    for _ in range(draw(st.integers(0, 3))):
        mutate(doc, draw)
    return doc


def paths(node: Any, base: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield base
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*base, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*base, index))


def mutate(doc: dict[str, Any], draw: st.DrawFn) -> None:
    """One random edit at a random place: a wrong type, an unknown key, a bad name, a removal."""
    targets = [p for p in paths(doc) if p]
    if not targets:  # an earlier mutation deleted everything: nothing left to edit
        return
    target = draw(st.sampled_from(targets))
    parent: Any = doc
    for part in target[:-1]:
        parent = parent[part]
    key = target[-1]
    action = draw(st.sampled_from(["replace", "unknown-key", "rename", "delete"]))
    if action == "replace":
        parent[key] = draw(JUNK)
    elif action == "unknown-key" and isinstance(parent[key], dict):
        parent[key][draw(st.sampled_from(["restrat", "x-ok", "Name", "", "0"]))] = draw(SCALARS)
    elif action == "rename" and isinstance(parent, dict):
        parent[draw(BAD_NAMES | st.integers())] = parent.pop(key)
    elif action == "delete" and isinstance(parent, dict):
        del parent[key]


def dump(doc: Any, flow: bool, unicode: bool) -> bytes:
    # libyaml's emitter: the pure-Python one was a fifth of the time of a case.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(
        doc, Dumper=dumper, default_flow_style=flow, allow_unicode=unicode, sort_keys=False
    )
    return text.encode("utf-8", "surrogatepass")


YAML_TOKENS = st.sampled_from(
    [
        "name: t\n",
        "services:\n",
        "  web:\n",
        "    command: x\n",
        "    ports: [",
        "]",
        "{",
        "}",
        ": ",
        "- ",
        "\n",
        "  ",
        "\t",
        "&a ",
        "*a",
        "*b",
        "<<: ",
        "!!str ",
        "!!python/object:os.system ",
        "!custom ",
        "'",
        '"',
        "#",
        "|\n",
        ">-\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "? ",
        ",",
        "~",
        "${A}",
        "0x1F",
        ".inf",
        "\ufeff",
        "\x85",
        "\u2028",
        "é",
        "0" * 5000,
    ]
)


# -- the properties -----------------------------------------------------------------------


def run_property(long_run: bool, strategy: Any, name: str, test: Any) -> None:
    wrapped = settings(
        max_examples=LONG_EXAMPLES if long_run else CI_EXAMPLES,
        deadline=None,  # timed explicitly: hypothesis' deadline re-runs and flakes on CI
        database=None,  # no .hypothesis/ folder left in the tree
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(strategy)(test))
    wrapped()
    slowest, raw = Timings.slowest.get(name, (math.nan, b""))
    count, total = Timings.count.get(name, 0), Timings.total.get(name, 0.0)
    print(
        f"\n{name}: {count} cases, {total:.1f} s in the loader, "
        f"slowest {slowest * 1000:.1f} ms: {raw[:200]!r}"
    )


def test_mutated_manifests_load_or_fail_located(long_run: bool, workdir: Path) -> None:
    strategy = st.tuples(manifests(), st.booleans(), st.booleans())

    def case(drawn: tuple[dict[str, Any], bool, bool]) -> None:
        doc, flow, unicode = drawn
        check(workdir, dump(doc, flow, unicode), "structured")

    run_property(long_run, strategy, "structured", case)


def test_yaml_token_soup_loads_or_fails_located(long_run: bool, workdir: Path) -> None:
    strategy = st.lists(YAML_TOKENS, max_size=60).map(lambda parts: "".join(parts).encode())

    def case(raw: bytes) -> None:
        check(workdir, raw, "token-soup")

    run_property(long_run, strategy, "token-soup", case)


def test_junk_text_and_bytes_load_or_fail_located(long_run: bool, workdir: Path) -> None:
    strategy = st.binary(max_size=2000) | st.text(max_size=500).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    )

    def case(raw: bytes) -> None:
        check(workdir, raw, "junk")

    run_property(long_run, strategy, "junk", case)
