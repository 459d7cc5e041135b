"""ssm: parameters under a path, created once and never overwritten (a value edited by hand stays)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from devstack.kinds.run import Run, error_code
from devstack.model.backing import SsmBacking


def provision(run: Run, b: SsmBacking, root: Path, others: Mapping[str, Any]) -> bool:
    created = False
    for relative, spec in b.parameters.items():
        name = b.full_name(relative)
        value, secure = (spec, False) if isinstance(spec, str) else (spec.value, spec.secure)
        kind = "SecureString" if secure else "String"
        with run.guard(f"parameter {name}", hide=(value,)):
            try:
                # Overwrite=False: a value a developer changed by hand survives every `up`.
                run.target.client("ssm").put_parameter(
                    Name=name, Value=value, Type=kind, Overwrite=False
                )
            except ClientError as exc:
                if error_code(exc) != "ParameterAlreadyExists":
                    raise
                run.say(f"parameter {name} exists (value kept)")
            else:
                created = True
                run.say(f"created parameter {name} ({kind})")
    if not b.parameters:
        run.say("no parameters declared")
    return created


def missing(run: Run, b: SsmBacking) -> list[str]:
    names = [b.full_name(n) for n in b.parameters]
    absent: set[str] = set()
    # GetParameters takes at most 10 names per call.
    for start in range(0, len(names), 10):
        batch = names[start : start + 10]
        with run.guard(f"parameters {', '.join(batch)}"):
            reply = run.target.client("ssm").get_parameters(Names=batch, WithDecryption=False)
        absent.update(reply.get("InvalidParameters", []))
    return [f"parameter {n}" for n in names if n in absent]
