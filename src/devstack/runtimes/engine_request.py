"""What `up` tells the daemon about the engine it asks for.

Apart from `engine_target.py` (which resolves the choice, with dataclasses and pathlib)
because a no-op `up` answered before click (`cli/fast_up.py`) sends this too.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see cli/fast.py
if TYPE_CHECKING:
    from collections.abc import Mapping

# What the choice depends on besides the flag: sent with `up`, since a daemon already
# running has the environment of the `up` that launched it, not of this one.
CHOICE_VARIABLES = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "HOME")


def request(context: str | None, env: Mapping[str, str]) -> dict[str, object]:
    """What `up` sends: the `--context` flag and the variables the choice reads."""
    return {"context": context, "env": {k: env[k] for k in CHOICE_VARIABLES if env.get(k)}}
