"""One intent, one resolution: the daemon, `up --dry-run` without a daemon, `config show`,
`run` and `status` see the same swaps, scale and pinned release."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from devstack.cli.main import cli
from devstack.config.loader import load_stack
from devstack.daemon.service import Daemon
from devstack.intent.value import Intent
from devstack.oneoff.config import effective_state, target
from devstack.state.paths import StackPaths
from devstack.testing import FakeStackRuntime

MANIFEST = """\
name: shop
providers:
  outside: {type: external, url: "http://127.0.0.1:9002"}
backing:
  uploads: {kind: s3, bucket: shop-uploads}
services:
  api:
    command: python3 api.py
    uses: [uploads]
    env: {GREETING: GREETING_VALUE}
"""


def write(root: Path, greeting: str = "hello") -> Path:
    path = root / "devstack.yaml"
    path.write_text(textwrap.dedent(MANIFEST).replace("GREETING_VALUE", greeting))
    return path


def persist(root: Path, **saved: Any) -> None:
    """Overrides as a daemon saved them (it may be gone since)."""
    state = root / ".devstack"
    state.mkdir(exist_ok=True)
    (state / "overrides.json").write_text(json.dumps(saved))


def devstack(manifest: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-f", str(manifest), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEVSTACK_WATCH", "0")
    return write(tmp_path)


# -- the value ------------------------------------------------------------------------------


def test_an_intent_cannot_be_changed_in_place() -> None:
    intent = Intent(swaps={"uploads": ["outside"]}, scale={"api": 2}, stopped={"api"})

    with pytest.raises(FrozenInstanceError):
        intent.release = "r1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        intent.scale["api"] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        intent.swaps["uploads"] = ("x",)  # type: ignore[index]
    changed = intent.scaled("api", 3)
    assert (intent.scale["api"], changed.scale["api"]) == (2, 3)
    assert intent.stopped == frozenset({"api"})


def test_an_intent_is_saved_in_the_shape_it_always_had(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    intent = Intent("staging", {"web"}, {"db": ["moto", "ministack"]}, {"web": 3}, "r2")

    intent.save(path)

    assert json.loads(path.read_text()) == {
        "environment": "staging",
        "stopped": ["web"],
        "swaps": {"db": ["moto", "ministack"]},
        "scale": {"web": 3},
        "release": "r2",
    }
    assert Intent.load(path) == intent
    # What `down` keeps: the swaps only.
    assert Intent.load(path).after_down() == Intent(swaps={"db": ["moto", "ministack"]})


def test_up_asks_for_everything_running_with_swaps_and_scale_kept() -> None:
    saved = Intent("staging", {"api"}, {"uploads": ["outside"]}, {"api": 2}, "r1")

    plain = saved.for_up(None, remove_orphans=True, release=None)

    assert plain == Intent("staging", set(), {"uploads": ["outside"]}, {"api": 2}, None, True)
    assert saved.for_up("dev", False, "r2").environment == "dev"
    assert saved.for_up("dev", False, "r2").release == "r2"


# -- the drift bugs -------------------------------------------------------------------------


def test_up_dry_run_without_a_daemon_honours_persisted_swaps_and_scale(manifest: Path) -> None:
    before = devstack(manifest, "up", "--dry-run")
    assert "start service:ministack" in before and "service:api#1" not in before

    persist(manifest.parent, swaps={"uploads": ["outside"]}, scale={"api": 2})
    after = devstack(manifest, "up", "--dry-run")

    # Swapped to the external endpoint: no emulator to start; scaled: a second instance.
    assert "ministack" not in after
    assert "start service:api#1, not running" in after


def test_config_show_honours_a_pinned_release_as_run_does(manifest: Path) -> None:
    assert devstack(manifest, "release").strip() == "r1"
    write(manifest.parent, greeting="bonjour")  # the manifest moves on; r1 does not
    persist(manifest.parent, environment="dev", release="r1")

    shown = devstack(manifest, "config", "show", "api", "--json")
    run = target(load_stack(manifest), StackPaths(manifest.parent), "api", None, {})

    assert _vars(shown)["GREETING"] == "hello"
    assert dict(run.service.spec.env)["GREETING"] == "hello"  # type: ignore[union-attr]
    # Naming the environment shows the manifest's config, not the release's.
    named = devstack(manifest, "config", "show", "api", "--json", "--env", "dev")
    assert _vars(named)["GREETING"] == "bonjour"


def _vars(shown: str) -> dict[str, str]:
    return {v["name"]: v["value"] for v in json.loads(shown)["variables"]}


# -- everyone agrees ------------------------------------------------------------------------


@pytest.fixture
def daemon(manifest: Path) -> Iterator[Daemon]:
    persist(manifest.parent, swaps={"uploads": ["outside"]}, scale={"api": 2})
    made = Daemon(manifest, None, runtime=lambda _: FakeStackRuntime())
    try:
        yield made
    finally:
        made.close()


def test_dry_run_config_show_run_status_and_the_daemon_agree_on_the_intent(
    manifest: Path, daemon: Daemon
) -> None:
    desired = daemon.desired()
    assert desired.services["api"].replicas == 2
    assert "ministack" not in desired.services

    # `up --dry-run` with no daemon answering plans what the daemon plans.
    assert devstack(manifest, "up", "--dry-run").strip() == daemon.plan(None, False).text
    # `config show` (no daemon answering) shows the config the daemon runs api with.
    shown = json.loads(devstack(manifest, "config", "show", "api", "--json"))
    assert shown == json.loads(daemon.config("api").model_dump_json())
    # `run` resolves the same service, and `status` shows the scale.
    paths = StackPaths(manifest.parent)
    one_off = effective_state(load_stack(manifest), paths, None, {**_environ()})
    assert one_off.services["api"].spec_hash == desired.services["api"].spec_hash
    [api] = [s for s in daemon.status().services if s.name == "api"]
    assert api.replicas == 2


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_up_enables_exactly_the_profiles_it_names_and_keeps_them_otherwise(
    tmp_path: Path,
) -> None:
    saved = Intent(profiles={"debug"})
    path = tmp_path / "overrides.json"
    saved.save(path)

    assert Intent.load(path).profiles == {"debug"}
    assert saved.for_up(None, False, None).profiles == {"debug"}  # a client that says nothing
    assert saved.for_up(None, False, None, ["flower"]).profiles == {"flower"}
    assert saved.for_up(None, False, None, []).profiles == frozenset()  # a plain `up`
