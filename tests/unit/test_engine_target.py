"""Which Docker engine `up` asks for: the flag, the variables, the Docker CLI's contexts, and
the engine kept with the stack. Real files in a Docker config folder of the test's own."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from devstack.runtimes import engine_target
from devstack.runtimes.engine_request import request
from devstack.runtimes.engine_target import (
    DEFAULT_HOST,
    EngineChoiceError,
    EngineTarget,
    choose,
    from_request,
)


def add_context(config: Path, name: str, host: str) -> None:
    """As `docker context create NAME --docker host=HOST` writes it."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    endpoints = {"docker": {"Host": host, "SkipTLSVerify": False}}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": endpoints}))


def use_context(config: Path, name: str) -> None:
    (config / "config.json").write_text(json.dumps({"currentContext": name}))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "docker-config"
    folder.mkdir()
    add_context(folder, "box", "ssh://dev@box.example:2222")
    add_context(folder, "other", "tcp://10.0.0.9:2375")
    return folder


def test_nothing_said_is_the_default_socket(config: Path) -> None:
    target = choose(None, {"DOCKER_CONFIG": str(config)})
    assert (target.host, target.kind, target.source, target.explicit) == (
        DEFAULT_HOST, "local", "default", False,
    )  # fmt: skip


def test_the_order_is_the_docker_clis(config: Path) -> None:
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "ssh://me@a", "DOCKER_CONTEXT": "other"}
    use_context(config, "other")
    flagged = choose("box", env)
    assert (flagged.host, flagged.source, flagged.context) == (
        "ssh://dev@box.example:2222", "--context box", "box",
    )  # fmt: skip
    assert choose(None, env).host == "ssh://me@a"
    del env["DOCKER_HOST"]
    assert choose(None, env).source == "DOCKER_CONTEXT=other"
    del env["DOCKER_CONTEXT"]
    current = choose(None, env)
    assert (current.host, current.explicit) == ("tcp://10.0.0.9:2375", False)
    assert current.kind == "tcp"


def test_an_unknown_context_is_one_line(config: Path) -> None:
    with pytest.raises(EngineChoiceError) as caught:
        choose("nope", {"DOCKER_CONFIG": str(config)})
    assert str(caught.value) == "no Docker context named 'nope' (`docker context ls` lists them)"


def test_a_stale_current_context_falls_back_to_the_default(config: Path) -> None:
    use_context(config, "gone")
    assert choose(None, {"DOCKER_CONFIG": str(config)}).host == DEFAULT_HOST


def test_a_docker_host_that_is_not_one_is_refused(config: Path) -> None:
    with pytest.raises(EngineChoiceError, match="is not a Docker host"):
        choose(None, {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "ftp://x"})


def test_the_request_carries_what_the_choice_reads(config: Path) -> None:
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "ssh://me@b:22", "PATH": "/bin"}
    sent = json.loads(json.dumps(request(None, env)))  # it crosses the wire as JSON
    assert sent["env"] == {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "ssh://me@b:22"}
    target = from_request(sent)
    assert (target.kind, target.explicit) == ("ssh", True)
    assert target.same_engine(EngineTarget("ssh://me@b", "saved"))  # port 22 is the default


def test_kept_with_the_stack(tmp_path: Path) -> None:
    assert engine_target.load(tmp_path) is None
    target = EngineTarget("ssh://me@box", "--context box", "box", explicit=True)
    engine_target.save(tmp_path, target)
    assert engine_target.load(tmp_path) == target
    assert json.loads((tmp_path / "engine.json").read_text())["kind"] == "ssh"
    # A daemon that restarts uses it, whatever its own environment says.
    assert engine_target.from_environment(tmp_path, {"DOCKER_HOST": "unix:///x"}) == target
    engine_target.forget(tmp_path)
    assert engine_target.from_environment(tmp_path, {"DOCKER_HOST": "unix:///x"}).host == (
        "unix:///x"
    )


def test_a_broken_kept_file_is_no_choice(tmp_path: Path) -> None:
    (tmp_path / "engine.json").write_text("{not json")
    assert engine_target.load(tmp_path) is None
    (tmp_path / "engine.json").write_text('["a list"]')
    assert engine_target.load(tmp_path) is None
