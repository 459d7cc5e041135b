"""Resolution: layers and precedence, provenance, references, secrets and spec digests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.config.layers import is_secret_name
from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.model.desired import DesiredState, EnvVar, changed_fields
from devstack.model.names import UnknownName

HELLO = """\
name: hello
environments:
  dev:
    env_file: [.env]
    vars:
      SHARED: from-vars
      LEVEL: "${LOG_LEVEL}-verbose"
  staging: {vars: {SHARED: from-staging}}
services:
  greeter:
    command: python3 greeter.py
    ports: ["8000"]
    env: {MESSAGE: "${SHARED}, world"}
  front:
    command: python3 front.py
    ports: ["8001"]
    depends_on: [greeter]
    env:
      GREETER_URL: "${services.greeter.url}"
      GREETER_PORT: "${services.greeter.port}"
"""

ENV_FILE = """\
# loaded by dev
LOG_LEVEL=debug
SHARED=from-env-file
PORT=1
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in the manifest's folder, so sources name `devstack.yaml` and `.env`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stack(
    manifest: str = HELLO,
    env_file: str | None = ENV_FILE,
    environment: str = "dev",
    host_env: dict[str, str] | None = None,
    **files: str,
) -> DesiredState:
    root = Path.cwd()
    (root / "devstack.yaml").write_text(textwrap.dedent(manifest))
    if env_file is not None:
        (root / ".env").write_text(env_file)
    for name, text in files.items():
        (root / name.replace("_", ".")).write_text(text)
    return resolve(load_stack(root / "devstack.yaml"), environment, host_env or {})


def problems(manifest: str, environment: str = "dev", env_file: str | None = ENV_FILE) -> list[str]:
    with pytest.raises(ManifestError) as info:
        stack(manifest, env_file=env_file, environment=environment)
    return [str(p) for p in info.value.problems]


def var(state: DesiredState, service: str, name: str) -> EnvVar:
    [found] = [v for v in state.services[service].env if v.name == name]
    return found


def values(state: DesiredState, service: str) -> dict[str, str]:
    return dict(state.services[service].spec.env)


# --- layers, precedence and provenance --------------------------------------------------


def test_each_service_gets_every_layer_merged() -> None:
    state = stack()

    assert values(state, "greeter") == {
        "LOG_LEVEL": "debug",
        "SHARED": "from-vars",
        "PORT": "8000",
        "LEVEL": "debug-verbose",
        "MESSAGE": "from-vars, world",
    }
    assert values(state, "front") == {
        "LOG_LEVEL": "debug",
        "SHARED": "from-vars",
        "PORT": "8001",
        "LEVEL": "debug-verbose",
        "GREETER_URL": "http://127.0.0.1:8000",
        "GREETER_PORT": "8000",
    }


def test_every_variable_names_where_it_came_from() -> None:
    state = stack()

    sources = {v.name: str(v.source) for v in state.services["greeter"].env}

    assert sources == {
        "LOG_LEVEL": ".env:2 (environments.dev)",
        "SHARED": "devstack.yaml:6 (environments.dev.vars)",
        "PORT": "services.greeter.ports[0]",
        "LEVEL": "devstack.yaml:7 (environments.dev.vars)",
        "MESSAGE": "devstack.yaml:13 (services.greeter.env)",
    }
    assert [v.source.layer for v in state.services["greeter"].env] == [
        "env_file",
        "environment",
        "runtime",
        "environment",
        "service",
    ]


def test_vars_override_the_env_file() -> None:
    shared = var(stack(), "greeter", "SHARED")

    assert shared.value == "from-vars"
    assert shared.source.layer == "environment"


def test_port_overrides_the_environment_layers() -> None:
    port = var(stack(), "front", "PORT")

    assert port.value == "8001"
    assert port.source.layer == "runtime"


def test_service_env_overrides_port() -> None:
    manifest = HELLO.replace('env: {MESSAGE: "${SHARED}, world"}', 'env: {PORT: "9000"}')

    port = var(stack(manifest), "greeter", "PORT")

    assert port.value == "9000"
    assert str(port.source) == "devstack.yaml:13 (services.greeter.env)"


def test_service_env_overrides_vars() -> None:
    manifest = HELLO.replace('env: {MESSAGE: "${SHARED}, world"}', "env: {SHARED: mine}")

    state = stack(manifest)

    assert var(state, "greeter", "SHARED").value == "mine"
    assert var(state, "front", "SHARED").value == "from-vars"


def test_a_service_without_ports_gets_no_port_from_devstack() -> None:
    manifest = HELLO + "  worker: {command: python3 worker.py}\n"

    state = stack(manifest, env_file="")

    assert "PORT" not in values(state, "worker")


def test_the_last_duplicate_in_an_env_file_wins_with_its_line() -> None:
    state = stack(env_file="LOG_LEVEL=debug\nLOG_LEVEL=info\n")

    level = var(state, "greeter", "LOG_LEVEL")

    assert level.value == "info"
    assert str(level.source) == ".env:2 (environments.dev)"


def test_env_files_are_layered_in_order() -> None:
    manifest = HELLO.replace("env_file: [.env]", "env_file: [.env, .env.local]")

    state = stack(manifest, _env_local="LOG_LEVEL=trace\n")

    level = var(state, "greeter", "LOG_LEVEL")
    assert level.value == "trace"
    assert str(level.source) == ".env.local:1 (environments.dev)"


def test_another_environment_takes_its_own_layers() -> None:
    state = stack(environment="staging")

    assert state.environment == "staging"
    assert values(state, "greeter") == {
        "SHARED": "from-staging",
        "PORT": "8000",
        "MESSAGE": "from-staging, world",
    }


def test_dev_exists_without_being_declared() -> None:
    state = stack("name: s\nservices:\n  a: {command: x}\n", env_file=None)

    assert state.environment == "dev"
    assert values(state, "a") == {}


def test_an_unknown_environment_is_an_error_naming_the_known_ones() -> None:
    # The caller's argument is wrong, not the manifest: not a located manifest problem.
    with pytest.raises(UnknownName) as raised:
        problems(HELLO, environment="prod")
    assert str(raised.value) == "unknown environment 'prod' (known: dev, staging)"
    with pytest.raises(
        UnknownName, match=r"unknown environment 'stagin' \(did you mean 'staging'\?\)"
    ):
        problems(HELLO, environment="stagin")


# --- references and interpolation -------------------------------------------------------


def test_service_references_give_the_local_url_port_and_host() -> None:
    manifest = HELLO.replace(
        'GREETER_PORT: "${services.greeter.port}"',
        'GREETER_PORT: "${services.greeter.port}"\n      GREETER_HOST: "${services.greeter.host}"',
    )

    env = values(stack(manifest), "front")

    assert env["GREETER_URL"] == "http://127.0.0.1:8000"
    assert env["GREETER_PORT"] == "8000"
    assert env["GREETER_HOST"] == "127.0.0.1"


def test_a_name_the_stack_does_not_define_falls_back_to_the_host_environment() -> None:
    manifest = HELLO.replace('"${SHARED}, world"', '"${HOME}/greetings"')

    state = stack(manifest, host_env={"HOME": "/home/dev", "UNUSED": "x"})

    assert values(state, "greeter")["MESSAGE"] == "/home/dev/greetings"
    assert "HOME" not in values(state, "greeter")
    assert "UNUSED" not in values(state, "greeter")


def test_the_stack_wins_over_the_host_environment() -> None:
    state = stack(host_env={"SHARED": "from-host", "LOG_LEVEL": "error"})

    assert values(state, "greeter")["MESSAGE"] == "from-vars, world"
    assert values(state, "greeter")["LEVEL"] == "debug-verbose"


def test_a_default_applies_only_when_nobody_defines_the_name() -> None:
    manifest = HELLO.replace('"${SHARED}, world"', '"${GREETING:-hi}, world"')

    assert values(stack(manifest), "greeter")["MESSAGE"] == "hi, world"
    hosted = stack(manifest, host_env={"GREETING": "hey"})
    assert values(hosted, "greeter")["MESSAGE"] == "hey, world"


def test_a_value_that_looks_like_a_template_is_not_interpolated_twice() -> None:
    state = stack(env_file="RAW='${NOT_A_REF}'\n")

    assert var(state, "greeter", "RAW").value == "${NOT_A_REF}"


def test_a_required_variable_without_value_is_located_at_the_variable() -> None:
    manifest = HELLO.replace('"${SHARED}, world"', '"${GREETING:?set GREETING in .env}"')

    assert problems(manifest) == [
        "devstack.yaml:13:20: services.greeter.env.MESSAGE: "
        "required variable GREETING is missing a value: set GREETING in .env"
    ]


def test_every_missing_required_variable_is_reported_at_once() -> None:
    manifest = HELLO.replace('"${SHARED}, world"', '"${A:?}"').replace(
        '"${LOG_LEVEL}-verbose"', '"${B:?need B}"'
    )

    found = problems(manifest)

    assert found == [
        "devstack.yaml:7:14: environments.dev.vars.LEVEL: required variable B is missing a value: need B",
        "devstack.yaml:13:20: services.greeter.env.MESSAGE: required variable A is missing a value",
    ]


def test_a_service_env_value_can_use_its_own_port() -> None:
    manifest = HELLO.replace('"${SHARED}, world"', '"http://127.0.0.1:${PORT}/"')

    state = stack(manifest, env_file="")

    assert values(state, "greeter")["MESSAGE"] == "http://127.0.0.1:8000/"


# --- env files --------------------------------------------------------------------------


def test_a_missing_required_env_file_is_located_at_its_entry() -> None:
    found = problems(HELLO, env_file=None)

    assert found == [
        f"devstack.yaml:4:16: environments.dev.env_file[0]: env file .env not found (in {Path.cwd()})"
    ]


def test_an_optional_env_file_may_be_missing() -> None:
    manifest = HELLO.replace(
        "env_file: [.env]", "env_file: [.env, {path: .env.local, required: false}]"
    )

    state = stack(manifest)

    assert values(state, "greeter")["LOG_LEVEL"] == "debug"


def test_an_env_file_syntax_error_is_reported() -> None:
    found = problems(HELLO, env_file="GOOD=1\nBAD: yaml\n")

    assert len(found) == 1
    assert found[0].startswith("devstack.yaml:4:16: environments.dev.env_file[0]: ")
    assert ".env:2" in found[0]


# --- secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("CLIENT_SECRET", True),
        ("DB_PASSWORD", True),
        ("GITHUB_TOKEN", True),
        ("API_KEY", True),
        ("KEY", True),
        ("SECRET", True),
        ("api_token", True),
        ("MONKEY", False),
        ("KEYBOARD", False),
        ("TOKEN_URL", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_names_are_recognised(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_variables_with_secret_names_are_flagged_in_every_layer() -> None:
    manifest = HELLO.replace("SHARED: from-vars", "SHARED: from-vars\n      DB_PASSWORD: pw")
    manifest = manifest.replace('"${SHARED}, world"', '"${SHARED}", SIGNING_KEY: k')

    state = stack(manifest, env_file="API_TOKEN=t\nLOG_LEVEL=debug\n")

    flagged = {v.name for v in state.services["greeter"].env if v.secret}
    assert flagged == {"API_TOKEN", "DB_PASSWORD", "SIGNING_KEY"}


def test_a_variable_declared_secret_is_flagged_and_keeps_its_value() -> None:
    manifest = HELLO.replace("SHARED: from-vars", "SHARED: {value: from-vars, secret: true}")

    shared = var(stack(manifest), "greeter", "SHARED")

    assert shared.secret
    assert shared.value == "from-vars"
    assert str(shared.source) == "devstack.yaml:6 (environments.dev.vars)"


def test_a_secret_stays_secret_when_a_higher_layer_overrides_it() -> None:
    manifest = HELLO.replace("SHARED: from-vars", "DSN: {value: postgres://u:pw@db, secret: true}")
    manifest = manifest.replace('"${SHARED}, world"', '"hi", DSN: "postgres://other"')

    state = stack(manifest)

    dsn = var(state, "greeter", "DSN")
    assert dsn.value == "postgres://other"
    assert dsn.source.layer == "service"
    assert dsn.secret
    assert var(state, "front", "DSN").secret


def test_a_secret_named_env_file_value_overridden_by_vars_is_still_secret() -> None:
    manifest = HELLO.replace("SHARED: from-vars", "API_TOKEN: override")

    token = var(stack(manifest, env_file="API_TOKEN=t\n"), "greeter", "API_TOKEN")

    assert token.value == "override"
    assert token.secret


def test_ordinary_variables_are_not_secret() -> None:
    state = stack()

    assert not any(v.secret for v in state.services["front"].env)


# --- the desired state and its digests --------------------------------------------------


def test_the_desired_state_orders_dependencies_first() -> None:
    state = stack()

    assert state.stack == "hello"
    assert state.order == ("greeter", "front")
    assert state.services["front"].depends_on == {"greeter": "service_healthy"}
    assert state.services["greeter"].spec.command == ("python3", "greeter.py")
    assert state.services["greeter"].spec.workdir == str(Path.cwd())
    assert state.services["greeter"].spec.ports == (8000,)


def test_stopped_services_want_no_replicas() -> None:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(HELLO)
    (Path.cwd() / ".env").write_text(ENV_FILE)

    state = resolve(load_stack(path), "dev", {}, stopped=frozenset({"front"}))

    assert state.services["front"].replicas == 0
    assert state.services["greeter"].replicas == 1


def test_resolving_twice_gives_the_same_spec_hash() -> None:
    first, second = stack(), stack()

    for name in ("greeter", "front"):
        assert first.services[name].spec_hash == second.services[name].spec_hash


def test_changing_one_env_var_changes_exactly_that_field() -> None:
    before = stack()
    after = stack(HELLO.replace('"${SHARED}, world"', '"${SHARED}, planet"'))

    old, new = before.services["greeter"], after.services["greeter"]

    assert changed_fields(old.digests, new.digests) == ["env.MESSAGE"]
    assert old.spec_hash != new.spec_hash
    assert before.services["front"].spec_hash == after.services["front"].spec_hash


def test_changing_an_env_file_value_changes_every_service_that_gets_it() -> None:
    before = stack()
    after = stack(env_file=ENV_FILE.replace("debug", "info"))

    for name in ("greeter", "front"):
        old, new = before.services[name].digests, after.services[name].digests
        assert changed_fields(old, new) == ["env.LEVEL", "env.LOG_LEVEL"]


def test_changing_a_port_changes_the_services_that_reference_it() -> None:
    before = stack()
    after = stack(HELLO.replace('ports: ["8000"]', 'ports: ["8100"]'))

    greeter = changed_fields(before.services["greeter"].digests, after.services["greeter"].digests)
    front = changed_fields(before.services["front"].digests, after.services["front"].digests)

    assert greeter == ["env.PORT", "ports"]
    assert front == ["env.GREETER_PORT", "env.GREETER_URL"]
    assert values(after, "front")["GREETER_URL"] == "http://127.0.0.1:8100"


def test_changing_a_var_only_one_service_reads_leaves_the_others_alone() -> None:
    manifest = HELLO.replace("env: {MESSAGE:", "env: {ONLY_GREETER: one, MESSAGE:")

    before = stack(manifest)
    after = stack(manifest.replace("ONLY_GREETER: one", "ONLY_GREETER: two"))

    assert changed_fields(
        before.services["greeter"].digests, after.services["greeter"].digests
    ) == ["env.ONLY_GREETER"]
    assert before.services["front"].digests == after.services["front"].digests


def test_digests_do_not_hold_secret_values_in_clear() -> None:
    manifest = HELLO.replace("SHARED: from-vars", "DB_PASSWORD: hunter2-very-secret")

    digests = stack(manifest).services["greeter"].digests

    assert not any("hunter2" in d for d in digests.values())
