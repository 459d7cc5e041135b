"""DS107/DS108: env files that git would commit, and the credentials they would leak.

Only when git can tell: outside a repository (or without git) there is nothing to ignore.
"""

from __future__ import annotations

from devstack.config.envfile import EnvFileError, parse_env_text
from devstack.lint.context import FieldPath, LintContext
from devstack.lint.files import read_text
from devstack.lint.values import find_credential
from devstack.model.manifest import EnvFileRef


def check(ctx: LintContext) -> None:
    stack = ctx.loaded.stack
    for env_name in ctx.environments:
        if env_name not in stack.environments:
            continue
        for index, item in enumerate(stack.environments[env_name].env_file):
            ref = EnvFileRef(path=item) if isinstance(item, str) else item
            field: FieldPath = ("environments", env_name, "env_file", index)
            if isinstance(item, EnvFileRef):
                field = (*field, "path")
            path = ctx.root / ref.path
            state = ctx.git.state(path) if path.is_file() else None
            if state is None or state == "ignored":
                continue
            ignore_fix = f"add {path.name} to .gitignore"
            if state == "tracked":
                ignore_fix += f" and stop tracking it (`git rm --cached {ref.path}`)"
            ignore_fix += "; commit an example file without values instead"
            fate = (
                "is committed to git"
                if state == "tracked"
                else "is not ignored by git: the next `git add .` commits it"
            )
            ctx.report("DS107", field, f"env file {ref.path} {fate}", ignore_fix)
            text = read_text(path)
            if text is None:
                continue
            try:
                # No lookup: only what the file itself writes counts, not inherited values.
                entries = parse_env_text(text, str(path), lambda _name: None)
            except EnvFileError:
                continue  # `validate` reports it
            lines = text.removeprefix("\ufeff").splitlines()
            for entry in entries:
                # Judge the text the line writes: a `${DB_PASSWORD}` reusing a value from
                # an earlier line is not a second copy of it.
                written = lines[entry.line - 1].split("=", 1)[-1].strip().strip("\"'")
                reason = find_credential(entry.name, written)
                if reason is None:
                    continue
                ctx.report_file(
                    "DS108",
                    path,
                    entry.line,
                    1,
                    field,
                    f"{entry.name} holds {reason}, in a file that {'is' if state == 'tracked' else 'may be'} committed",
                    ignore_fix + ", or read it from a secret store (`environments.ENV.secrets`)",
                )
