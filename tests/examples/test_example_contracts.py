"""The example stacks declare their contracts: they hold in every environment, and each
declared variable, set wrong in each environment, is named with its rule, its source and
the environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from devstack.config.loader import load_stack
from devstack.config.resolve import resolve
from devstack.model.contracts import Need

STACKS = Path(__file__).resolve().parents[2] / "stacks"
EXAMPLES = [
    ("hello", "devstack.yaml"),
    ("hello", "docker/devstack.yaml"),
    ("shop", "devstack.yaml"),
    ("shop", "docker/devstack.yaml"),
]
# A value each type rejects, and the rule that says so ("" is unset: required).
WRONG = {
    "url": ("localhost:8000", "type", "is not a url (scheme://...)"),
    "port": ("99999", "type", "is not a port (1-65535)"),
    "int": ("many", "type", "is not an int"),
    "bool": ("maybe", "type", "is not a bool"),
    "enum": ("loud", "type", "is not one of"),
    "str": ("", "required", "but empty"),
    "secret": ("", "required", "but empty"),
}


def copy(tmp_path: Path, stack: str) -> Path:
    """The example's folder (the docker variants build from its parent), without vendored
    wheels or state."""
    target = tmp_path / stack
    ignore = shutil.ignore_patterns("vendor", "vendor.tmp", ".devstack", "__pycache__")
    shutil.copytree(STACKS / stack, target, ignore=ignore)
    return target


def wrong_value(need: Need) -> tuple[str, str, str] | None:
    """A value `need` rejects, its rule and what the violation says; None if any will do."""
    if need.pattern is not None and need.base == "str":
        return "!", "pattern", f"does not match the pattern {need.pattern!r}"
    if not need.required and need.base in ("str", "secret"):
        return None  # optional, and any text is a str
    return WRONG[need.base]


@pytest.mark.parametrize(("stack", "manifest"), EXAMPLES)
def test_every_example_declares_a_contract_that_holds(stack: str, manifest: str) -> None:
    loaded = load_stack(STACKS / stack / manifest)
    assert all(s.needs for s in loaded.stack.services.values()), "a service without needs:"
    for environment in sorted({*loaded.stack.environments, "dev"}):
        state = resolve(loaded, environment, {})
        assert {n: s.violations for n, s in state.services.items() if s.violations} == {}


@pytest.mark.parametrize(("stack", "manifest"), EXAMPLES)
def test_breaking_each_variable_in_each_environment_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stack: str, manifest: str
) -> None:
    path = copy(tmp_path, stack) / manifest
    monkeypatch.chdir(path.parent)
    original = yaml.safe_load(path.read_text())
    contracts = load_stack(path).stack
    environments = sorted({*contracts.environments, "dev"})
    checked = 0
    for name, service in contracts.services.items():
        for variable, need in service.needs.items():
            wrong = wrong_value(need)
            if wrong is None:
                continue
            value, rule, problem = wrong
            doc = yaml.safe_load(yaml.safe_dump(original))
            doc["services"][name].setdefault("env", {})[variable] = value
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            loaded = load_stack(path)
            for environment in environments:
                state = resolve(loaded, environment, {})
                (found,) = state.services[name].violations
                text = str(found)
                assert (found.variable, found.rule) == (variable, rule), text
                assert text.startswith(f"{variable}: ") and problem in text
                assert f"in environment {environment} (from the service layer: " in text
                assert text.endswith(f" (services.{name}.env))")
                assert "devstack.yaml:" in text
                checked += 1
    assert checked >= len(environments) * 2
