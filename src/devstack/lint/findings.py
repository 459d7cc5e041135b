"""What lint reports: the rules it knows and the findings they produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from devstack.config.yaml_loader import Location

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    """One check. `factor` is the twelve-factor principle it protects."""

    id: str
    severity: Severity
    factor: str
    title: str


# Errors are what leaks a secret or makes a release unreproducible; the rest are
# warnings, which a team may accept for a dev stack (exit code 0).
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("DS101", "warning", "VI processes", "writable bind mount: state on local disk"),
        Rule("DS102", "warning", "IV backing services", "hard-coded endpoint in env"),
        Rule("DS103", "error", "III config", "hard-coded credential in the manifest"),
        Rule("DS104", "error", "V build, release, run", "image without a pinned tag"),
        Rule("DS105", "error", "V build, release, run", "Dockerfile base image without a tag"),
        Rule("DS106", "warning", "IX disposability", "service with ports and no healthcheck"),
        Rule("DS107", "warning", "III config", "env file not ignored by git"),
        Rule("DS108", "error", "III config", "credential in an env file not ignored by git"),
        Rule("DS109", "warning", "I codebase", "services share one build context"),
        Rule("DS110", "warning", "I codebase", "services share one image"),
        Rule("DS111", "warning", "II dependencies", "unpinned requirement"),
        Rule("DS112", "warning", "II dependencies", "dependencies without a lock file"),
        Rule("DS113", "warning", "III config", "a variable read but not in the contract"),
    )
}


@dataclass(frozen=True)
class Finding:
    """A rule broken at one place: where, which manifest field, what, and how to fix it."""

    rule: Rule
    location: Location | None
    field: str
    message: str
    fix: str

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        where = self.location
        return (
            where.file if where else "",
            where.line if where else 0,
            where.column if where else 0,
            self.rule.id,
            self.field,
        )

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.field}: " if self.field else ""
        rule = self.rule
        return f"{where}{rule.id} {rule.severity} [{rule.factor}] {field}{self.message}; fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        where = self.location
        return {
            "rule": self.rule.id,
            "severity": self.rule.severity,
            "factor": self.rule.factor,
            "location": str(where) if where else None,
            "file": where.file if where else None,
            "line": where.line if where else None,
            "column": where.column if where else None,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Summary:
    errors: int
    warnings: int

    @classmethod
    def of(cls, findings: list[Finding]) -> Summary:
        errors = sum(1 for f in findings if f.rule.severity == "error")
        return cls(errors, len(findings) - errors)

    @property
    def total(self) -> int:
        return self.errors + self.warnings

    def __str__(self) -> str:
        if not self.total:
            return "no findings"
        parts = [_count(self.errors, "error"), _count(self.warnings, "warning")]
        return f"{_count(self.total, 'finding')} ({', '.join(parts)})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def select_rules(select: list[str], ignore: list[str]) -> set[str]:
    """Rule ids kept by `--select`/`--ignore`; a code may be a prefix (`DS1`, `DS10`).

    Raises ValueError naming a code that matches no rule.
    """

    def matching(code: str) -> set[str]:
        found = {rule for rule in RULES if rule.startswith(code.strip().upper())}
        if not code.strip() or not found:
            raise ValueError(f"unknown rule {code!r} (rules: {', '.join(RULES)})")
        return found

    chosen = set().union(*(matching(c) for c in select)) if select else set(RULES)
    for code in ignore:
        chosen -= matching(code)
    return chosen
