"""Loading manifests: located problems, YAML 1.2 reading, extensions and the JSON Schema."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import LoadedStack, load_stack
from devstack.config.problems import ManifestError
from devstack.model.manifest import json_schema

HELLO = Path(__file__).resolve().parents[2] / "stacks" / "hello" / "devstack.yaml"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in the manifest's folder, so problems name it `devstack.yaml`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(text: str) -> Path:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def load(text: str) -> LoadedStack:
    return load_stack(write(text))


def problems(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load(text)
    error = info.value
    assert str(error) == "\n".join(str(p) for p in error.problems)
    return [str(p) for p in error.problems]


# --- located problems ------------------------------------------------------------------


def test_an_unknown_key_is_located_at_the_key() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: python3 front.py
            prots: ["8000"]
        """
    )

    assert found == [
        "devstack.yaml:5:5: services.front.prots: unknown key 'prots' (extensions must start with 'x-')"
    ]


def test_an_unknown_top_level_key_is_located_at_the_key() -> None:
    found = problems("name: shop\nservces: {}\n")

    assert found == [
        "devstack.yaml:2:1: servces: unknown key 'servces' (extensions must start with 'x-')"
    ]


def test_a_wrong_type_names_the_expected_type() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: python3 front.py
            ports: 8000
        """
    )

    assert found == ["devstack.yaml:5:12: services.front.ports: Input should be a valid list"]


def test_a_service_without_command_image_or_build_is_located_at_the_service() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            ports: ["8000"]
        """
    )

    assert found == [
        "devstack.yaml:4:5: services.front: "
        "a service needs a command (host process) or an image or build (container)"
    ]


@pytest.mark.parametrize("port", ['"99999"', "0", '"http"'])
def test_a_bad_port_is_located_at_the_list_item(port: str) -> None:
    found = problems(
        f"""\
        name: shop
        services:
          front:
            command: python3 front.py
            ports: [{port}]
        """
    )

    shown = port.strip('"')
    assert found == [
        f"devstack.yaml:5:13: services.front.ports[0]: invalid port '{shown}': "
        "expected PORT, HOST:CONTAINER or IP:HOST:CONTAINER with numbers from 1 to 65535"
    ]


def test_a_bad_duration_says_which_forms_work() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: python3 front.py
            stop_grace: soon
        """
    )

    assert found == [
        "devstack.yaml:5:17: services.front.stop_grace: invalid duration 'soon': "
        "use forms like 500ms, 1s, 2m, 1m30s"
    ]


def test_a_bad_duration_inside_a_healthcheck_is_located() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: python3 front.py
            ports: ["8000"]
            healthcheck:
              http: /health
              interval: 5x
        """
    )

    assert found == [
        "devstack.yaml:8:17: services.front.healthcheck.interval: invalid duration '5x': "
        "use forms like 500ms, 1s, 2m, 1m30s"
    ]


def test_an_unknown_dependency_names_the_known_services() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: python3 front.py
            depends_on: [greeter, nope]
          greeter:
            command: python3 greeter.py
        """
    )

    assert found == [
        "devstack.yaml:5:27: services.front.depends_on[1]: "
        "unknown service 'nope' (known: front, greeter)"
    ]


def test_a_dependency_cycle_is_reported_with_the_cycle() -> None:
    found = problems(
        """\
        name: shop
        services:
          a: {command: x, depends_on: [b]}
          b: {command: x, depends_on: [a]}
        """
    )

    assert found == ["devstack.yaml:3:31: services.a.depends_on: dependency cycle: a -> b -> a"]


def test_a_longer_dependency_cycle_is_reported_whole() -> None:
    found = problems(
        """\
        name: shop
        services:
          a: {command: x, depends_on: [b]}
          b: {command: x, depends_on: [c]}
          c: {command: x, depends_on: [a]}
          d: {command: x, depends_on: [a]}
        """
    )

    assert found == [
        "devstack.yaml:3:31: services.a.depends_on: dependency cycle: a -> b -> c -> a"
    ]


def test_an_unknown_service_reference_is_located_at_the_variable() -> None:
    found = problems(
        """\
        name: shop
        services:
          greeter: {command: x, ports: ["8000"]}
          front:
            command: x
            env:
              GREETER_URL: "${services.nope.url}"
        """
    )

    assert found == [
        "devstack.yaml:7:20: services.front.env.GREETER_URL: ${services.nope.url}: "
        "unknown service 'nope' (known: front, greeter)"
    ]


def test_a_reference_to_a_service_without_ports_is_an_error() -> None:
    found = problems(
        """\
        name: shop
        services:
          greeter: {command: x}
          front: {command: x, env: {URL: "${services.greeter.url}"}}
        """
    )

    assert found == [
        "devstack.yaml:4:34: services.front.env.URL: ${services.greeter.url}: "
        "service 'greeter' declares no ports"
    ]


def test_a_reference_to_an_unknown_service_field_is_an_error() -> None:
    found = problems(
        """\
        name: shop
        services:
          greeter: {command: x, ports: ["8000"]}
          front: {command: x, env: {URL: "${services.greeter.address}"}}
        """
    )

    assert found == [
        "devstack.yaml:4:34: services.front.env.URL: ${services.greeter.address}: "
        "expected ${services.NAME.url|port|host}"
    ]


def test_a_reference_to_an_undeclared_backing_service_is_an_error() -> None:
    found = problems(
        """\
        name: shop
        environments:
          dev:
            vars: {BUCKET: "${backing.uploads.bucket}"}
        services:
          front: {command: x}
        """
    )

    assert found == [
        "devstack.yaml:4:20: environments.dev.vars.BUCKET: ${backing.uploads.bucket}: "
        "unknown backing service 'uploads'"
    ]


def test_a_malformed_template_is_located_at_the_variable() -> None:
    found = problems(
        """\
        name: shop
        services:
          front: {command: x, env: {A: "${X"}}
        """
    )

    assert found == [
        "devstack.yaml:3:32: services.front.env.A: invalid interpolation format for '${X'"
    ]


def test_a_port_used_twice_names_its_first_owner() -> None:
    found = problems(
        """\
        name: shop
        services:
          greeter: {command: x, ports: [8000]}
          front: {command: x, ports: ["8001", "8000"]}
        """
    )

    assert found == [
        "devstack.yaml:4:39: services.front.ports[1]: host port 8000 is already used by service 'greeter'"
    ]


def test_a_bad_variable_name_is_located_at_the_name() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: x
            env:
              -dash-first: x
        """
    )

    assert found == [
        "devstack.yaml:6:7: services.front.env.-dash-first: "
        "'-dash-first' is not a valid variable name: use letters, digits, '_', '.' and '-' "
        "(not first)"
    ]


def test_a_service_variable_may_hold_dots_as_in_compose(tmp_path: Path) -> None:
    (tmp_path / "devstack.yaml").write_text(
        "name: shop\nservices:\n  es:\n    image: es:8\n    env:\n      discovery.type: single-node\n"
    )

    loaded = load_stack(tmp_path / "devstack.yaml")

    assert loaded.stack.services["es"].env == {"discovery.type": "single-node"}


def test_a_yaml_syntax_error_is_located() -> None:
    with pytest.raises(ManifestError) as info:
        load("name: shop\nservices:\n  front: {command: x\n")

    [problem] = info.value.problems
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == ("devstack.yaml", 4)
    assert problem.field == ""
    assert "while parsing a flow mapping at line 3" in problem.message
    assert str(problem).startswith("devstack.yaml:4:1: ")


def test_a_duplicate_key_is_located_at_the_second_one() -> None:
    found = problems("name: shop\nservices: {}\nname: other\n")

    assert found == ["devstack.yaml:3:1: duplicate key 'name' (first at line 1)"]


def test_several_schema_errors_are_reported_at_once_in_file_order() -> None:
    found = problems(
        """\
        name: Shop
        services:
          front:
            command: ""
            ports: ["99999"]
            restart: sometimes
            stop_grace: soon
        """
    )

    assert found == [
        "devstack.yaml:1:7: name: 'Shop' is not a valid name: "
        "use lowercase letters, digits, '-' and '_'",
        "devstack.yaml:4:14: services.front.command: command cannot be empty",
        "devstack.yaml:5:13: services.front.ports[0]: invalid port '99999': "
        "expected PORT, HOST:CONTAINER or IP:HOST:CONTAINER with numbers from 1 to 65535",
        "devstack.yaml:6:14: services.front.restart: "
        "Input should be 'no', 'on-failure' or 'always'",
        "devstack.yaml:7:17: services.front.stop_grace: invalid duration 'soon': "
        "use forms like 500ms, 1s, 2m, 1m30s",
    ]


def test_several_cross_field_errors_are_reported_at_once() -> None:
    found = problems(
        """\
        name: shop
        services:
          a: {command: x, ports: ["80"], depends_on: [b, ghost]}
          b: {command: x, ports: ["80"], depends_on: [a]}
          c: {command: x, env: {U: "${services.nope.url}", B: "${backing.x.y}"}}
        """
    )

    assert len(found) == 5
    assert any("a -> b -> a" in p for p in found)
    assert any("unknown service 'ghost'" in p for p in found)
    assert any("port 80 is already used by service 'a'" in p for p in found)
    assert any("${services.nope.url}: unknown service 'nope'" in p for p in found)
    assert any("${backing.x.y}: unknown backing service 'x'" in p for p in found)


def test_a_missing_file_gives_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_stack(tmp_path / "nowhere.yaml")

    assert [str(p) for p in info.value.problems] == [
        "nowhere.yaml: no such file (use -f to name the manifest)"
    ]


def test_a_manifest_that_is_not_a_mapping_is_refused() -> None:
    assert problems("- a\n- b\n") == [
        "devstack.yaml:1:1: the manifest must be a mapping with name and services"
    ]


def test_an_empty_manifest_is_refused() -> None:
    assert problems("") == [
        "devstack.yaml:1:1: the manifest must be a mapping with name and services"
    ]


def test_a_bad_dependency_condition_is_reported_once_at_the_condition() -> None:
    found = problems(
        """\
        name: shop
        services:
          front:
            command: x
            depends_on:
              back: {condition: service_ready}
          back: {command: y}
        """
    )

    assert found == [
        "devstack.yaml:6:25: services.front.depends_on.back.condition: "
        "Input should be 'service_started', 'service_healthy' or "
        "'service_completed_successfully'"
    ]


# --- accepted manifests ----------------------------------------------------------------


def test_the_hello_stack_loads() -> None:
    loaded = load_stack(HELLO)

    assert loaded.stack.name == "hello"
    assert list(loaded.stack.services) == ["greeter", "front"]
    assert loaded.stack.services["front"].dependencies() == {"greeter": "service_healthy"}
    assert loaded.root == HELLO.parent


def test_extension_keys_are_accepted_at_top_level_and_inside_services() -> None:
    loaded = load(
        """\
        name: shop
        x-defaults: &defaults
          restart: always
          stop_grace: 2s
        services:
          front:
            <<: *defaults
            command: python3 front.py
            x-owner: team-web
            healthcheck: {command: "true", x-note: fast}
        environments:
          dev: {x-comment: local, vars: {A: b}}
        """
    )

    front = loaded.stack.services["front"]
    assert front.restart == "always"
    assert front.stop_grace == 2.0
    assert front.healthcheck is not None and front.healthcheck.command == "true"
    assert loaded.stack.environments["dev"].vars == {"A": "b"}


def test_restart_no_is_the_string_no() -> None:
    loaded = load("name: shop\nservices:\n  job: {command: x, restart: no}\n")

    assert loaded.stack.services["job"].restart == "no"


def test_env_values_keep_the_text_as_written() -> None:
    loaded = load(
        """\
        name: shop
        environments:
          dev:
            vars: {VERSION: 1.10, SECRET_NUMBER: {value: 007, secret: true}}
        services:
          front:
            command: x
            env:
              VERSION: 1.10
              MODE: 0755
              DEBUG: true
              ANSWER: on
              HEX: 0x1F
              EMPTY:
              QUOTED: "1.10"
        """
    )

    assert loaded.stack.services["front"].env == {
        "VERSION": "1.10",
        "MODE": "0755",
        "DEBUG": "true",
        "ANSWER": "on",
        "HEX": "0x1F",
        "EMPTY": "",
        "QUOTED": "1.10",
    }
    dev = loaded.stack.environments["dev"].vars
    assert dev["VERSION"] == "1.10"
    secret = dev["SECRET_NUMBER"]
    assert not isinstance(secret, str)
    assert (secret.value, secret.secret) == ("007", True)


def test_durations_accept_compose_forms_and_numbers() -> None:
    loaded = load(
        """\
        name: shop
        services:
          a: {command: x, stop_grace: 1m30s}
          b: {command: x, stop_grace: 500ms}
          c: {command: x, stop_grace: 3}
        """
    )

    graces = {name: s.stop_grace for name, s in loaded.stack.services.items()}
    assert graces == {"a": 90.0, "b": 0.5, "c": 3.0}


# --- JSON Schema -----------------------------------------------------------------------


def test_the_schema_validates_the_hello_manifest() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    data = yaml.safe_load(HELLO.read_text())

    jsonschema.validate(data, json_schema())


def test_the_schema_allows_extensions_and_rejects_unknown_keys() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    ok = {"name": "s", "x-top": 1, "services": {"a": {"command": "x", "x-note": "n"}}}
    typo = {"name": "s", "services": {"a": {"command": "x", "prots": []}}}

    jsonschema.validate(ok, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(typo, schema)


def test_the_schema_declares_x_keys_wherever_unknown_keys_are_forbidden() -> None:
    schema = json_schema()
    closed = [
        name
        for name, node in {"Stack": schema, **schema["$defs"]}.items()
        if node.get("additionalProperties") is False
    ]

    assert {"Stack", "Service", "Environment", "HealthCheck"} <= set(closed)
    for name in closed:
        node = schema if name == "Stack" else schema["$defs"][name]
        assert node["patternProperties"] == {"^x-": {}}, name
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_same_bytes_give_the_previous_stack_and_an_edit_a_new_one() -> None:
    path = write("name: s\nservices:\n  web:\n    command: sleep 1\n")
    first = load_stack(path)
    assert load_stack(path, first) is first  # the daemon's no-op `up`: nothing re-parsed
    path.write_text("name: s\nservices:\n  web:\n    command: sleep 2\n")
    edited = load_stack(path, first)
    assert edited is not first
    assert edited.stack.services["web"].command == "sleep 2"
    path.write_text("name: s\nservices:\n  web: {command: sleep 2, bogus: 1}\n")
    with pytest.raises(ManifestError, match="bogus"):
        load_stack(path, edited)  # a bad edit is still reported, not hidden by the reuse
