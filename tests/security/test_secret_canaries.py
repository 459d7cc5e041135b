"""Secret canaries: values devstack knows are secret never leave the service's environment.

One stack carries three canaries: a `*_PASSWORD` in its env file, a variable declared
`secret: true` in the manifest, and an SSM SecureString on the stack's own MiniStack read
into the environment at `up` (`environments.dev.secrets`). A real daemon runs it; then
every surface a user or a tool sees is searched for each canary as written, URL-encoded
and base64-encoded: CLI output, API answers, the files under .devstack/ (the emulator's
own data store aside: it *is* the secret store), a TUI screenshot of every view, a
crashed service's status and failure output, and `devstack export compose|ecs|k8s`.

A service that prints its own secret is the user's choice: devstack shows such a line as
printed, by design (docs/security.md), and the last test asserts exactly that.
"""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from devstack.api.client import Client
from helpers import Stack, _UnixHTTPConnection, environ, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def canary(label: str) -> str:
    # `+/=&?` change under URL encoding and sit next to base64's own alphabet.
    return f"cnry-{label}-{secrets.token_hex(8)}+/=&?"


ENV_FILE = canary("envfile")
MANIFEST = canary("manifest")
SSM = canary("ssm")
VAULT = canary("secretsmanager")
CANARIES = {
    "env file": ENV_FILE,
    "secret: true": MANIFEST,
    "SSM SecureString": SSM,
    "Secrets Manager secret": VAULT,
}
# Printed by `leaky` on purpose, so kept out of CANARIES: the search is about devstack.
PRINTED = canary("printed")


def variants(value: str) -> dict[str, bytes]:
    """The canary as it could leak: raw, URL-encoded, base64 at every byte alignment."""
    raw = value.encode()
    found = {"raw": raw, "url": quote(value, safe="").encode(), "url+": quote_plus(value).encode()}
    for shift in range(3):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            # Inside a longer encoded text the canary's first and last 4-char groups mix
            # with its neighbours' bytes; the groups between depend on the canary alone.
            encoded = encode(b"\0" * shift + raw)
            found[f"{name}@{shift}"] = encoded[4:-4]
    return found


def leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [
        f"{what} ({form})"
        for what, value in CANARIES.items()
        for form, needle in variants(value).items()
        if needle in data
    ]


def assert_clean(where: str, text: str | bytes) -> None:
    found = leaks(text)
    assert not found, f"{where} shows {', '.join(found)}"


def assert_all_clean(surfaces: Iterable[tuple[str, str | bytes]]) -> None:
    """Every surface searched before failing, so one run lists every leak."""
    found = [
        f"{where} shows {', '.join(leaked)}" for where, text in surfaces if (leaked := leaks(text))
    ]
    assert not found, "\n".join(found)


APP = r'''
"""Holds secrets in its environment and never prints them."""
import signal, sys
print("app: up", flush=True)
signal.pause()
'''

CRASHER = r'''
"""Starts with the same secrets, then crashes with a traceback (which names no secret)."""
import sys
print("crasher: starting", flush=True)
raise RuntimeError("crasher: boom")
'''

LEAKY = r'''
"""The user's choice: prints its own secret, to see what devstack does with that line."""
import os, signal
print(f"leaky: my password is {os.environ['LEAKY_PASSWORD']}", flush=True)
signal.pause()
'''


def write_stack(stack: Stack, image: str | None = None) -> None:
    """The canary stack; with `image`, its services are containers (what exports cover)."""
    for name, script in (("app.py", APP), ("crasher.py", CRASHER), ("leaky.py", LEAKY)):
        (stack.root / name).write_text(script)
    runs_on = {"image": image} if image else {}
    (stack.root / ".env").write_text(
        f"DB_PASSWORD={ENV_FILE}\nLEAKY_PASSWORD={PRINTED}\nLOG_LEVEL=debug\n"
    )
    env = {"SIGNING_SEED": {"value": MANIFEST, "secret": True}, "MODE": "plain"}
    python = "python3" if image else sys.executable
    stack.write(
        {
            "app": {"command": [python, "app.py"], "env": env, **runs_on},
            "crasher": {"command": [python, "crasher.py"], "env": env, "restart": "no", **runs_on},
            "leaky": {"command": [python, "leaky.py"], **runs_on},
        },
        name="canary",
        backing={
            "settings": {
                "kind": "ssm",
                "path": "/canary/dev/",
                "parameters": {"DB_ROOT_PASSWORD": {"value": SSM, "secure": True}},
            },
            "vault": {"kind": "secretsmanager", "secrets": {"canary/api": VAULT}},
        },
        environments={
            "dev": {
                "env_file": [".env"],
                "secrets": {"from": ["ssm:/canary/dev/", "secretsmanager:canary/api"]},
            },
        },
    )


@pytest.fixture(scope="module")
def running() -> Iterator[Stack]:
    """The canary stack, up, with every canary checked to have reached `app`."""
    # The socket path must fit in sun_path: a short folder, as tests/conftest.py does.
    stack = Stack(Path(tempfile.mkdtemp(prefix="ds-canary-")))
    try:
        write_stack(stack)
        stack.ok("up", "-d", timeout=180)
        wait_for(lambda: stack.live()["app"]["state"] == "running", 120.0, "app running")
        wait_for(lambda: stack.live()["crasher"]["state"] == "exited", 60.0, "crasher exited")
        pid = stack.live()["app"]["pid"]
        env = environ(pid)
        # Not vacuous: the values searched for are the ones the service really got.
        assert env.get("DB_PASSWORD") == ENV_FILE
        assert env.get("SIGNING_SEED") == MANIFEST
        assert env.get("DB_ROOT_PASSWORD") == SSM
        assert VAULT in env.values()
        yield stack
    finally:
        stack.cleanup()
        shutil.rmtree(stack.root, ignore_errors=True)


def cli_outputs(stack: Stack) -> Iterable[tuple[str, str]]:
    commands = [
        ("status",),
        ("status", "--json"),
        ("config", "show", "app"),
        ("config", "show", "app", "--json"),
        ("config", "show", "crasher"),
        ("logs", "-n", "500"),
        ("logs", "app", "crasher"),
        ("backing",),
        ("backing", "--json"),
        ("up", "--dry-run"),
        ("validate",),
    ]
    for args in commands:
        result = stack.run(*args)
        assert result.returncode == 0, f"devstack {' '.join(args)}: {result.stderr}"
        yield " ".join(args), result.stdout + result.stderr


def test_the_cli_never_prints_a_canary(running: Stack) -> None:
    assert_all_clean((f"`devstack {command}`", output) for command, output in cli_outputs(running))
    # The control: the values are there to be found when the user asks for them.
    revealed = running.ok("config", "show", "app", "--show-secrets").stdout
    assert ENV_FILE in revealed and MANIFEST in revealed and SSM in revealed


def api_get(stack: Stack, path: str) -> bytes:
    conn = _UnixHTTPConnection(str(stack.socket))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, (path, body[:500])
    return body


def test_api_answers_never_carry_a_canary(running: Stack) -> None:
    paths = [
        "/v1/status",
        "/v1/config/app",
        "/v1/config/crasher",
        "/v1/backing",
        "/v1/logs",
        "/v1/logs?service=crasher",
        "/openapi.json",
    ]
    surfaces: list[tuple[str, str | bytes]] = [(f"GET {p}", api_get(running, p)) for p in paths]
    plan = Client(running.socket).up(dry_run=True)
    surfaces.append(("POST /v1/up (dry run)", json.dumps(plan)))
    events = Client(running.socket).events(tail=500)
    seen: list[dict[str, Any]] = []
    for event in events:  # the snapshot part: status, backing, then the backlog
        seen.append(event)
        if len(seen) >= 2 and event.get("type") != "log":
            break
        if len(seen) > 400:
            break
    events.close()  # type: ignore[attr-defined]
    surfaces.append(("GET /v1/events", json.dumps(seen)))
    assert_all_clean(surfaces)


def test_files_under_dot_devstack_never_hold_a_canary(running: Stack) -> None:
    checked: list[str] = []
    surfaces: list[tuple[str, str | bytes]] = []
    for path in sorted(running.state_dir.rglob("*")):
        relative = path.relative_to(running.state_dir)
        if not path.is_file() or path.is_socket() or relative.parts[0] == "data":
            continue  # data/: the emulator's own store, where the SecureString lives
        surfaces.append((f".devstack/{relative}", path.read_bytes()))
        checked.append(str(relative))
    assert_all_clean(surfaces)
    assert "daemon.log" in checked and any(p.startswith("logs/") for p in checked), checked
    assert any(p in checked for p in ("processes.json", "overrides.json")), checked


def test_a_crashed_service_shows_no_canary(running: Stack) -> None:
    crashed = running.live()["crasher"]
    assert crashed["exit_code"] not in (0, None)
    assert_clean("the crashed service's status", json.dumps(crashed))
    # `up --wait` explains a failed service with its last log lines.
    result = running.run("up", "-d", "--wait", "--wait-timeout", "20", timeout=120)
    assert "crasher" in result.stdout + result.stderr
    assert_clean("`up --wait` on a crashed service", result.stdout + result.stderr)
    logs = running.ok("logs", "crasher").stdout
    assert "RuntimeError: crasher: boom" in logs
    assert_clean("the crash's traceback in the logs", logs)


def screen_text(svg: str) -> str:
    """A screenshot's text as a user reads it. Textual's SVG writes each styled run of a
    row as its own <text> element, in order, with spaces as &#160;: joined, a row reads whole."""
    runs = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(runs)).replace("\xa0", " ")


def test_tui_screens_never_show_a_canary(running: Stack) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))
    from tui_pilot import SIZE, run, until

    from devstack.tui.api import StackInfo
    from devstack.tui.app import DevstackApp

    screens: dict[str, str] = {}

    async def scenario() -> None:
        app = DevstackApp(Client(running.socket, timeout=30), StackInfo())

        async def capture(name: str, control: str) -> None:
            # The positive control: a known, non-secret text must be on screen before the
            # capture counts, so a view that rendered nothing cannot pass the search.
            try:
                await until(
                    pilot,
                    lambda: control in screen_text(app.export_screenshot()),
                    f"{control!r} on the {name} screen",
                    timeout=30.0,
                )
            except AssertionError as exc:
                shown = screen_text(app.export_screenshot())
                raise AssertionError(f"{exc}; the screen showed: {shown!r}") from None
            screens[name] = app.export_screenshot()

        async with app.run_test(size=SIZE) as pilot:
            table = app.services_view.table
            await until(pilot, lambda: "app" in table.shown_keys, "the services listed")
            await capture("services", "crasher")
            assert table.select_key("app")
            await pilot.press("c")
            config = app.config_view.table
            await until(pilot, lambda: "SIGNING_SEED" in config.shown_keys, "app's config")
            await capture("config", "SIGNING_SEED")
            await pilot.press("2")
            await capture("logs (all services)", " | ")
            for service, line in (
                ("app", "app: up"),
                ("crasher", "RuntimeError: crasher: boom"),
                ("leaky", "leaky: my password is"),
            ):
                app.logs_view.show_service(service)
                await capture(f"logs of {service}", line)
            await pilot.press("4")
            await until(
                pilot,
                lambda: {"settings", "vault"} <= set(app.backing_view.table.shown_keys),
                "the backing services listed",
            )
            await capture("backing", "secretsmanager")
            await pilot.press("q")

    run(scenario)
    assert_all_clean((f"the TUI's {name} view", svg) for name, svg in screens.items())
    # Documented (docs/security.md): a line a service prints is shown as printed.
    assert PRINTED in screen_text(screens["logs of leaky"])


@pytest.mark.parametrize("target", ["compose", "ecs", "k8s"])
def test_exports_never_carry_a_canary(stack: Stack, target: str) -> None:
    # Exports cover container services and need no daemon: the same stack, on an image.
    write_stack(stack, image="devstack-test/python:1")
    result = stack.run("export", target)
    assert result.returncode == 0, result.stderr
    assert "app" in result.stdout, f"`devstack export {target}` left app out:\n{result.stdout}"
    assert_clean(f"`devstack export {target}`", result.stdout + result.stderr)
    # The variables are named, so the export is usable: only their values are withheld.
    assert "DB_PASSWORD" in result.stdout


def test_a_service_printing_its_secret_is_shown_as_printed(running: Stack) -> None:
    """Documented in docs/security.md: devstack does not mask what a service itself prints.
    Its line reaches `devstack logs`, the API and the rotated log file unchanged."""
    line = wait_for(
        lambda: next(
            (x for x in running.ok("logs", "leaky").stdout.splitlines() if "my password" in x),
            None,
        ),
        30.0,
        "leaky's line",
    )
    assert line.endswith(f"leaky: my password is {PRINTED}"), line
    api_lines = [json.loads(x) for x in api_get(running, "/v1/logs?service=leaky").splitlines()]
    assert f"leaky: my password is {PRINTED}" in [x["text"] for x in api_lines], api_lines
    files = sorted((running.state_dir / "logs").glob("leaky*.log*"))
    assert files, sorted(p.name for p in (running.state_dir / "logs").iterdir())
    assert any(PRINTED.encode() in f.read_bytes() for f in files), files
