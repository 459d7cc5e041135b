"""Naming something that does not exist: the one "unknown X" message every command uses.

A typo gets "did you mean ..." (difflib's close matches); otherwise the message lists the
names that do exist, so the user never has to go and look them up.
"""

from __future__ import annotations

from collections.abc import Iterable


def known_names(names: Iterable[str], name: str | None = None) -> str:
    """` (did you mean 'api'?)` when `name` is close to one of `names`, else
    ` (known: a, b)`, or `` when there is nothing to list."""
    listed = sorted(names)
    if name is not None:
        import difflib  # only when a name is unknown: the CLI's start stays fast

        close = difflib.get_close_matches(name, listed, n=3, cutoff=0.6)
        # The closest first; equally close ones in alphabetical order (difflib reverses them).
        close.sort(key=lambda c: (-difflib.SequenceMatcher(None, name, c).ratio(), c))
        if close:
            return f" (did you mean {' or '.join(repr(c) for c in close)}?)"
    return f" (known: {', '.join(listed)})" if listed else " (none declared)"


def unknown(what: str, name: str, names: Iterable[str]) -> str:
    """`unknown service 'apx' (did you mean 'api'?)`."""
    return f"unknown {what} {name!r}{known_names(names, name)}"


class UnknownName(LookupError):
    """A name given by the user (a service, environment, provider, backing service...) that
    the stack does not declare. The daemon answers it with 404, the CLI exits 2.

    Not a KeyError on purpose: a KeyError is a bug, and must not pass for "not found"."""

    def __init__(self, what: str, name: str, names: Iterable[str]) -> None:
        self.what, self.name = what, name
        super().__init__(unknown(what, name, names))

    def __str__(self) -> str:
        return str(self.args[0])
