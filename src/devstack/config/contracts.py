"""Checking a service's resolved environment against its contract (`needs:`). Pure.

`apply_contract` completes the environment the contract speaks about (defaults of unset
optional variables, `secret` variables marked secret so every view masks them); `check`
lists the violations, each naming the variable, the rule, where the value came from and
the environment. A secret's value never reaches a violation's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from devstack.config.loader import LoadedStack
from devstack.model.contracts import Need, Violation, first_broken_rule
from devstack.model.desired import DesiredService, EnvVar, Source

_PASSWORD_IN_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@/\s]*@")


def apply_contract(
    loaded: LoadedStack, service: str, needs: Mapping[str, Need], env: dict[str, EnvVar]
) -> dict[str, EnvVar]:
    """`env` with the contract's defaults for unset variables (below every other layer,
    so any layer that sets the variable wins) and its `secret` variables marked secret."""
    result = dict(env)
    for name, need in needs.items():
        var = result.get(name)
        if var is None and need.default is not None:
            path = ("services", service, "needs", name)
            location = loaded.doc.locate(path)
            source = Source(
                "contract",
                loaded.display_name,
                location.line if location else None,
                ".".join(path),
            )
            var = result[name] = EnvVar(name, need.default, source)
        if var is not None and need.base == "secret" and not var.secret:
            result[name] = EnvVar(var.name, var.value, var.source, secret=True)
    return result


def check(
    needs: Mapping[str, Need], env: Mapping[str, EnvVar], environment: str
) -> tuple[Violation, ...]:
    """Every variable of the contract that `env` (a service's resolved environment in
    `environment`) leaves unset or sets wrongly. Empty counts as unset, as with `${VAR:?}`."""
    found = []
    for name, need in needs.items():
        var = env.get(name)
        if var is None or var.value == "":
            if need.required:
                where = "empty" if var is not None else "not set"
                found.append(
                    Violation(
                        name,
                        "required",
                        f"required ({need.type}) but {where}",
                        environment,
                        str(var.source) if var is not None else "",
                        var.source.layer if var is not None else "",
                    )
                )
            continue
        broken = first_broken_rule(need, var.value)
        if broken is None:
            continue
        rule, problem = broken
        shown = _shown(var, need)
        text = f"{shown} {problem}" if shown else f"the value {problem} (secret, not shown)"
        found.append(Violation(name, rule, text, environment, str(var.source), var.source.layer))
    return tuple(found)


class ContractBreach(Exception):
    """Services whose resolved env breaks their contract, for a command that must not go
    on with them (`run`, `release`, `export`): one line per service."""

    def __init__(self, broken: Mapping[str, tuple[Violation, ...]]) -> None:
        self.broken = dict(broken)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        found = []
        for name, violations in self.broken.items():
            line = f"{name} breaks its contract: {violations[0]}"
            more = len(violations) - 1
            found.append(f"{line} (and {more} more: devstack config check)" if more else line)
        return found


def require_contracts(
    services: Mapping[str, DesiredService], *, ignore_layers: frozenset[str] = frozenset()
) -> None:
    """Raise ContractBreach if one of `services` breaks its contract. `ignore_layers`:
    violations of values from these layers do not count (an export reads secrets blanked,
    so their values say nothing)."""
    broken = {}
    for name in sorted(services):
        found = tuple(v for v in services[name].violations if v.layer not in ignore_layers)
        if found:
            broken[name] = found
    if broken:
        raise ContractBreach(broken)


def _shown(var: EnvVar, need: Need) -> str:
    """The value as a violation may quote it: nothing for a secret, a URL's password
    masked (a `url` variable often carries one without being named like a secret)."""
    if var.secret or need.base == "secret":
        return ""
    return repr(_PASSWORD_IN_URL.sub(r"\1****@", var.value))
