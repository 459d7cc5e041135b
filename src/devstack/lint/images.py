"""Image references: is one pinned?"""

from __future__ import annotations


def unpinned(ref: str) -> str | None:
    """Why an image reference does not name one build, or None when it does.

    `name@sha256:...` is pinned; `name:tag` is, unless the tag is `latest`; a bare name
    means `latest`. A registry port (`localhost:5000/app`) is not a tag.
    """
    if "@" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it means :latest"
    if last.split(":", 1)[1] == "latest":
        return "uses the :latest tag"
    return None
