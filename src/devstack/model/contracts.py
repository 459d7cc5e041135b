"""A service's config contract (`needs:`): the variables it needs, each with a type and
rules, as the manifest declares them; the rules one value must meet (`first_broken_rule`,
here because a `default` is checked when the manifest loads); and the typed violations a
resolved env can have.

Checking a service's whole resolved environment (provenance, masking) is
config/contracts.py's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from devstack.model.manifest_base import Model

TYPE_PATTERN = r"^(url|port|int|bool|secret|str|enum:[^,]+(,[^,]+)*)$"
TYPE_HELP = "url, port, int, bool, secret, str, or enum:A,B,..."
BOOL_WORDS = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off"})
NUMERIC = ("int", "port")
PATTERNED = ("str", "secret", "url")


def _type(value: Any) -> Any:
    if isinstance(value, str) and not re.match(TYPE_PATTERN, value):
        raise ValueError(f"unknown type {value!r}: expected {TYPE_HELP}")
    return value


NeedType = Annotated[
    str,
    BeforeValidator(_type),
    WithJsonSchema({"type": "string", "pattern": TYPE_PATTERN, "description": TYPE_HELP}),
]


class Need(Model):
    """One variable of a contract in its long form."""

    type: NeedType = Field(description=TYPE_HELP)
    pattern: str | None = Field(
        default=None, description="str, secret, url: a regular expression the whole value matches"
    )
    min: int | None = Field(default=None, description="int, port: the smallest value allowed")
    max: int | None = Field(default=None, description="int, port: the largest value allowed")
    optional: bool = Field(default=False, description="May be unset (or empty)")
    default: str | None = Field(
        default=None, description="Value injected when unset; makes the variable optional"
    )

    @model_validator(mode="after")
    def _coherent(self) -> Need:
        if self.pattern is not None:
            if self.base not in PATTERNED:
                raise ValueError(f"pattern applies to {', '.join(PATTERNED)}, not {self.type}")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {self.pattern!r} is not a regular expression: {exc}"
                ) from None
        for bound in ("min", "max"):
            if getattr(self, bound) is not None and self.base not in NUMERIC:
                raise ValueError(f"{bound} applies to int and port, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.default is not None:
            broken = first_broken_rule(self, self.default)
            if broken is not None:
                raise ValueError(f"default {self.default!r} {broken[1]}")
        return self

    @property
    def base(self) -> str:
        """The type without its choices: `enum` for `enum:a,b`."""
        return "enum" if self.type.startswith("enum:") else self.type

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.type[len("enum:") :].split(",")) if self.base == "enum" else ()

    @property
    def required(self) -> bool:
        return not self.optional and self.default is None


def first_broken_rule(need: Need, value: str) -> tuple[Rule, str] | None:
    """The first rule `value` (set, non-empty) breaks, with what is wrong, else None.
    The text never quotes the value: the caller decides whether it may be shown."""
    base = need.base
    if base == "url":
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$", value):
            return "type", "is not a url (scheme://...)"
    elif base in NUMERIC:
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            return "type", "is not an int" if base == "int" else "is not a port (1-65535)"
        number = int(value)
        if base == "port" and not 1 <= number <= 65535:
            return "type", "is not a port (1-65535)"
        if need.min is not None and number < need.min:
            return "min", f"is below the minimum {need.min}"
        if need.max is not None and number > need.max:
            return "max", f"is above the maximum {need.max}"
    elif base == "bool":
        if value.strip().lower() not in BOOL_WORDS:
            return "type", "is not a bool (true/false, 1/0, yes/no, on/off)"
    elif base == "enum" and value not in need.choices:
        return "type", f"is not one of {', '.join(need.choices)}"
    if need.pattern is not None and not re.fullmatch(need.pattern, value):
        return "pattern", f"does not match the pattern {need.pattern!r}"
    return None


def _short_form(value: Any) -> Any:
    # `PORT: port` is `PORT: {type: port}`: one model to check against.
    if isinstance(value, str):
        return {"type": value}
    if not isinstance(value, dict | Need):
        raise ValueError(f"expected a type ({TYPE_HELP}) or {{type: ..., ...}}")
    return value


# The JSON Schema's short form is added by manifest.json_schema() (see short_form_schema).
NeedSpec = Annotated[Need, BeforeValidator(_short_form)]


def short_form_schema(long_form: dict[str, Any]) -> dict[str, Any]:
    """The schema of one contract entry: the short form (a type) or the long one."""
    return {"anyOf": [{"type": "string", "pattern": TYPE_PATTERN}, long_form]}


Rule = Literal["required", "type", "pattern", "min", "max"]


@dataclass(frozen=True)
class Violation:
    """A variable of a resolved environment that breaks the service's contract.

    `problem` never holds a secret's value; `source` is where the value came from, as
    `config show` renders it (`devstack.yaml:3 (environments.dev.vars)`), and `layer` its
    layer (`env_file`, `secret`, ...); both empty when the variable is set nowhere.
    """

    variable: str
    rule: Rule
    problem: str
    environment: str
    source: str = ""
    layer: str = ""

    def __str__(self) -> str:
        text = f"{self.variable}: {self.problem} in environment {self.environment}"
        if not self.layer:
            return text
        where = f": {self.source}" if self.source and self.source != self.layer else ""
        return f"{text} (from the {self.layer} layer{where})"
