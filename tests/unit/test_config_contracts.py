"""Config contracts (`needs:`): the manifest's form, every type and rule, the exact texts
of violations, masking, provenance, defaults, and what the reconciler does with a breach."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from devstack.config.contracts import ContractBreach, check, require_contracts
from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.config.validation import validate_manifest
from devstack.engine.causes import HELD, Blocked, ContractBroken, Unsettled
from devstack.engine.plan import Waiting
from devstack.engine.reconcile import project, reconcile
from devstack.model.contracts import Need, Violation
from devstack.model.desired import DesiredState, EnvVar, Source
from devstack.model.manifest import Service, json_schema
from devstack.model.observed import ObservedState, Workload
from devstack.testing import desired, service


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the manifest's folder, so sources name `devstack.yaml` as a user sees it."""
    monkeypatch.chdir(tmp_path)


ENV_FILE = Source("env_file", ".env.staging", 3, "environments.staging")


def need(spec: object) -> Need:
    return Service.model_validate({"command": "x", "needs": {"V": spec}}).needs["V"]


def violations(spec: object, value: str | None, secret: bool = False) -> list[str]:
    env = {} if value is None else {"V": EnvVar("V", value, ENV_FILE, secret)}
    return [f"{v.rule}: {v.problem}" for v in check({"V": need(spec)}, env, "staging")]


# -- every type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "good", "bad", "problem"),
    [
        ("url", "postgresql://db:5432/shop", "db:5432", "is not a url (scheme://...)"),
        ("port", "8080", "70000", "is not a port (1-65535)"),
        ("port", "1", "http", "is not a port (1-65535)"),
        ("int", "-3", "3.5", "is not an int"),
        ("bool", "Yes", "maybe", "is not a bool (true/false, 1/0, yes/no, on/off)"),
        ("enum:fast,safe", "safe", "Fast", "is not one of fast, safe"),
    ],
)
def test_each_type_accepts_its_values_and_names_a_wrong_one(
    spec: str, good: str, bad: str, problem: str
) -> None:
    assert violations(spec, good) == []
    assert violations(spec, bad) == [f"type: {bad!r} {problem}"]


@pytest.mark.parametrize("spec", ["str", "secret"])
def test_str_and_secret_take_any_value(spec: str) -> None:
    assert violations(spec, "anything at all") == []


@pytest.mark.parametrize("spec", ["url", "port", "int", "bool", "secret", "str", "enum:a,b"])
def test_every_type_is_required_unless_optional(spec: str) -> None:
    assert violations(spec, None) == [f"required: required ({spec}) but not set"]
    assert violations(spec, "") == [f"required: required ({spec}) but empty"]
    assert violations({"type": spec, "optional": True}, None) == []
    assert violations({"type": spec, "optional": True}, "") == []


# -- rules -----------------------------------------------------------------------------------


def test_min_and_max_bound_ints_and_ports() -> None:
    workers = {"type": "int", "min": 1, "max": 16}
    assert violations(workers, "1") == violations(workers, "16") == []
    assert violations(workers, "0") == ["min: '0' is below the minimum 1"]
    assert violations(workers, "17") == ["max: '17' is above the maximum 16"]
    assert violations({"type": "port", "min": 1024}, "80") == [
        "min: '80' is below the minimum 1024"
    ]


def test_a_pattern_must_match_the_whole_value() -> None:
    region = {"type": "str", "pattern": "eu-[a-z]+-[0-9]"}
    assert violations(region, "eu-west-1") == []
    assert violations(region, "eu-west-1x") == [
        "pattern: 'eu-west-1x' does not match the pattern 'eu-[a-z]+-[0-9]'"
    ]
    url = {"type": "url", "pattern": "postgresql://.*"}
    assert violations(url, "mysql://db/x") == [
        "pattern: 'mysql://db/x' does not match the pattern 'postgresql://.*'"
    ]


def test_the_type_is_checked_before_the_pattern() -> None:
    assert violations({"type": "url", "pattern": "x.*"}, "xyz") == [
        "type: 'xyz' is not a url (scheme://...)"
    ]


def test_a_default_makes_a_variable_optional() -> None:
    assert not need({"type": "int", "default": "4"}).required
    assert violations({"type": "int", "default": "4"}, None) == []


# -- the manifest's form ---------------------------------------------------------------------


def test_short_and_long_forms_are_one_model() -> None:
    assert need("port") == need({"type": "port"})
    assert need("enum:a,b").choices == ("a", "b")


MANIFEST_ERRORS = """\
name: t
services:
  api:
    command: x
    needs:
      A: nope
      B: {type: bool, min: 1}
      C: {type: int, default: x}
      D: {type: str, pattern: "("}
      E: {type: int, min: 5, max: 1}
      F: {type: enum:a, pattern: a}
      G: 3
      H: {type: int, default: 8, oops: 1}
"""


def test_a_bad_contract_is_one_located_line_per_mistake(tmp_path: Path) -> None:
    (tmp_path / "devstack.yaml").write_text(MANIFEST_ERRORS)
    with pytest.raises(ManifestError) as caught:
        load_stack(tmp_path / "devstack.yaml")
    lines = [str(p).split("devstack.yaml:", 1)[1] for p in caught.value.problems]
    assert lines == [
        "6:10: services.api.needs.A: unknown type 'nope': expected url, port, int, bool, "
        "secret, str, or enum:A,B,...",
        "7:10: services.api.needs.B: min applies to int and port, not bool",
        "8:10: services.api.needs.C: default 'x' is not an int",
        "9:10: services.api.needs.D: pattern '(' is not a regular expression: missing ), "
        "unterminated subpattern at position 0",
        "10:10: services.api.needs.E: min 5 is greater than max 1",
        "11:10: services.api.needs.F: pattern applies to str, secret, url, not enum:a",
        "12:10: services.api.needs.G: expected a type (url, port, int, bool, secret, str, "
        "or enum:A,B,...) or {type: ..., ...}",
        "13:34: services.api.needs.H.oops: unknown key 'oops' (extensions must start with 'x-')",
    ]


def test_an_unquoted_default_keeps_the_text_written(tmp_path: Path) -> None:
    (tmp_path / "devstack.yaml").write_text(
        "name: t\nservices:\n  api:\n    command: x\n    needs: {V: {type: str, default: 1.10}}\n"
    )
    assert load_stack(tmp_path / "devstack.yaml").stack.services["api"].needs["V"].default == "1.10"


def test_the_json_schema_offers_both_forms() -> None:
    schema = json_schema()
    entry = schema["$defs"]["Service"]["properties"]["needs"]["patternProperties"]
    (forms,) = entry.values()
    assert forms["anyOf"][0]["pattern"].startswith("^(url|port|int|bool|secret|str|enum:")
    assert forms["anyOf"][1] == {"$ref": "#/$defs/Need"}
    assert set(schema["$defs"]["Need"]["properties"]) == {
        "type",
        "pattern",
        "min",
        "max",
        "optional",
        "default",
    }
    json.dumps(schema)  # serialisable as printed by `devstack schema`


# -- texts: provenance, environment, masking -------------------------------------------------


def test_a_violation_names_variable_value_source_and_environment() -> None:
    env = {"V": EnvVar("V", "many", ENV_FILE)}
    (found,) = check({"V": need("int")}, env, "staging")
    assert str(found) == (
        "V: 'many' is not an int in environment staging "
        "(from the env_file layer: .env.staging:3 (environments.staging))"
    )
    runtime = {"V": EnvVar("V", "x", Source("runtime", detail="services.api.ports[0]"))}
    (found,) = check({"V": need("port")}, runtime, "dev")
    assert str(found).endswith("(from the runtime layer: services.api.ports[0])")


def test_an_unset_variable_says_so_without_a_source() -> None:
    (found,) = check({"V": need("url")}, {}, "dev")
    assert str(found) == "V: required (url) but not set in environment dev"


@pytest.mark.parametrize("spec", [{"type": "secret", "pattern": "sk_.*"}, "int"])
def test_a_secret_value_never_appears(spec: object) -> None:
    env = {"V": EnvVar("V", "hunter2", ENV_FILE, secret=True)}
    (found,) = check({"V": need(spec)}, env, "staging")
    assert "hunter2" not in str(found)
    assert "(secret, not shown)" in found.problem


def test_a_password_in_a_url_is_masked() -> None:
    env = {"V": EnvVar("V", "postgres://app:hunter2@db/shop", ENV_FILE)}
    (found,) = check({"V": need({"type": "url", "pattern": "mysql://.*"})}, env, "dev")
    assert "hunter2" not in str(found)
    assert "'postgres://app:****@db/shop'" in found.problem


# -- resolution: defaults, secret marks, violations on the desired state ---------------------

STACK = """\
name: t
environments:
  dev: {vars: {WORKERS: "4", TOKEN: abc}}
  staging: {vars: {WORKERS: many}}
services:
  api:
    command: python3 api.py
    ports: ["8000"]
    needs:
      PORT: port
      WORKERS: {type: int, min: 1}
      TOKEN: secret
      MODE: {type: "enum:fast,safe", default: fast}
"""


def resolved(tmp_path: Path, environment: str) -> DesiredState:
    (tmp_path / "devstack.yaml").write_text(textwrap.dedent(STACK))
    return resolve(load_stack(tmp_path / "devstack.yaml"), environment, {})


def test_resolution_applies_defaults_and_masks_declared_secrets(tmp_path: Path) -> None:
    api = resolved(tmp_path, "dev").services["api"]
    env = {v.name: v for v in api.env}
    assert api.violations == ()
    assert env["MODE"].value == "fast" and api.spec.env["MODE"] == "fast"  # type: ignore[union-attr]
    assert env["MODE"].source.layer == "contract"
    assert str(env["MODE"].source).endswith(":13 (services.api.needs.MODE)")
    assert env["TOKEN"].secret  # named like no secret, but the contract says it is one


def test_resolution_records_every_violation_of_the_environment(tmp_path: Path) -> None:
    api = resolved(tmp_path, "staging").services["api"]
    assert [(v.variable, v.rule, v.environment) for v in api.violations] == [
        ("WORKERS", "type", "staging"),
        ("TOKEN", "required", "staging"),
    ]
    assert api.replicas == 1  # still wanted: held by the reconciler, not stopped


def test_a_command_refuses_a_breach_with_one_line_per_service(tmp_path: Path) -> None:
    state = resolved(tmp_path, "staging")
    with pytest.raises(ContractBreach) as caught:
        require_contracts(state.services)
    assert caught.value.lines() == [
        "api breaks its contract: WORKERS: 'many' is not an int in environment staging "
        "(from the environment layer: devstack.yaml:4 (environments.staging.vars)) "
        "(and 1 more: devstack config check)"
    ]
    require_contracts(resolved(tmp_path, "dev").services)  # nothing to refuse


# -- the reconciler holds a breach -----------------------------------------------------------

BROKEN = (Violation("V", "type", "'x' is not an int", "dev", "devstack.yaml:9", "service"),)


def test_a_breach_is_held_and_its_dependents_wait_for_it() -> None:
    api = replace(service("api"), violations=BROKEN)
    web = service("web", depends_on={"api": "service_started"})
    db = service("db")
    state = desired(api, web, db)

    plan = reconcile(state, ObservedState(), 0.0)

    assert [op.service for op in plan.operations] == ["db"]
    assert Waiting("api", ContractBroken(BROKEN)) in plan.waiting
    assert Waiting("web", Blocked((Unsettled("api", HELD),))) in plan.waiting
    assert str(ContractBroken(BROKEN)) == (
        "contract broken: V: 'x' is not an int in environment dev "
        "(from the service layer: devstack.yaml:9)"
    )
    waiting = {w.service for w in project(state, ObservedState(), 0.0).waiting}
    assert waiting == {"api", "web"}  # `up --dry-run` says both stay down


def test_what_runs_keeps_running_when_an_edit_breaks_the_contract() -> None:
    good = service("api", env={"V": "1"})
    running = Workload("api", 0, "running", good.spec_hash, good.digests, 0.0, pid=7)
    edited = replace(service("api", env={"V": "x"}), violations=BROKEN)

    plan = reconcile(desired(edited), ObservedState(workloads=(running,)), 1.0)

    assert plan.operations == ()
    assert [w.reason for w in plan.waiting] == [ContractBroken(BROKEN)]


STORED = """\
name: t
providers:
  vault: {type: external, url: "http://127.0.0.1:9"}
environments:
  staging:
    secrets: {from: "ssm:/t/staging/", provider: vault}
    vars: {WORKERS: many}
services:
  api:
    command: python3 api.py
    needs: {DB_PASSWORD: secret, WORKERS: int}
"""


def test_unread_secrets_leave_unset_variables_unjudged(tmp_path: Path) -> None:
    """`validate` does not read the store: DB_PASSWORD may be there; WORKERS is wrong."""
    (tmp_path / "devstack.yaml").write_text(STORED)
    api = resolve(load_stack(tmp_path / "devstack.yaml"), "staging", {}).services["api"]
    assert [(v.variable, v.rule) for v in api.violations] == [("WORKERS", "type")]


def test_validate_notes_the_breaches_of_each_environment(tmp_path: Path) -> None:
    (tmp_path / "devstack.yaml").write_text(textwrap.dedent(STACK))
    report = validate_manifest(tmp_path / "devstack.yaml", {})
    assert report.problems == []  # a breach is not a problem of the manifest
    assert report.breaches == {"staging": 2}
