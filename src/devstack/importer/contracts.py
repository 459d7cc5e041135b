"""A contract (`needs:`) proposed from a compose service's environment.

Compose has no contracts, but its templates say what a service expects: `${VAR:?msg}`
must be set (required), a bare `${VAR}` may be unset (optional: it becomes empty). The
type is guessed from the variable's name (`*_URL` a url, `*PORT` a port, a secret name a
secret), the rest are `str`; the user tightens them.
"""

from __future__ import annotations

import re
from typing import Any

from devstack.config.layers import is_secret_name

_REQUIRED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?\?")
_BARE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*")


def propose(env: dict[str, Any]) -> dict[str, Any]:
    """Variable -> proposed need, for the env values that are templates of those forms."""
    needs: dict[str, Any] = {}
    for name, value in env.items():
        if not isinstance(value, str):
            continue
        if _REQUIRED.search(value):
            needs[name] = _type(name)
        elif _BARE.fullmatch(value):
            needs[name] = {"type": _type(name), "optional": True}
    return needs


def _type(name: str) -> str:
    upper = name.upper()
    if upper == "URL" or upper.endswith(("_URL", "_URI")):
        return "url"
    if upper == "PORT" or upper.endswith("_PORT"):
        return "port"
    return "secret" if is_secret_name(name) else "str"
