"""Compose's `build.additional_contexts` on the engine's classic builder, which has no named
contexts: each one becomes an image (a folder copied into an empty image, another service's
build, or an image as it is), and the Dockerfile's `FROM NAME` and `COPY --from=NAME` are
pointed at that image in a copy of the Dockerfile the build reads instead."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from docker import APIClient

from devstack.model.desired import BuildContext, BuildPlan

# An image holding a folder's files at its root, for COPY --from=NAME to take them from.
FOLDER_IMAGE = "FROM scratch\nCOPY . /\n"
Build = Callable[[APIClient, BuildPlan, str, Callable[[str], None]], None]
Tag = Callable[[str, str, BuildPlan], str]  # (stack, service, plan) -> tag


@contextmanager
def dockerfile_with_contexts(
    api: APIClient,
    plan: BuildPlan,
    tag: str,
    progress: Callable[[str], None],
    build: Build,
    tag_of: Tag,
) -> Iterator[str]:
    """The path of a Dockerfile for `plan` whose named contexts are images built (or found)
    now; removed after the build."""
    stack, _, rest = tag.partition("/")
    service = rest.rsplit(":", 1)[0]
    images = {
        c.name: _image(api, c, stack, service, progress, build, tag_of) for c in plan.contexts
    }
    text = rewritten(Path(plan.context, plan.dockerfile or "Dockerfile").read_text(), images)
    with tempfile.TemporaryDirectory(prefix="devstack-build-") as folder:
        # Outside the context: the SDK sends it along under a name of its own.
        path = Path(folder, "Dockerfile")
        path.write_text(text)
        yield str(path)


def rewritten(dockerfile: str, images: dict[str, str]) -> str:
    """`FROM NAME` and `--from=NAME` (COPY, ADD) pointed at each named context's image."""
    for name, image in images.items():
        quoted, into = re.escape(name), "\\g<1>" + image.replace("\\", "\\\\")
        flags = re.IGNORECASE | re.MULTILINE
        dockerfile = re.sub(
            rf"^(\s*FROM\s+(?:--\S+\s+)*){quoted}(?=\s|$)", into, dockerfile, flags=flags
        )
        dockerfile = re.sub(rf"(--from=){quoted}(?=\s|$)", into, dockerfile)
    return dockerfile


def _image(
    api: APIClient,
    context: BuildContext,
    stack: str,
    service: str,
    progress: Callable[[str], None],
    build: Build,
    tag_of: Tag,
) -> str:
    if context.image:
        return context.image
    if context.plan is not None:
        tag = tag_of(stack, context.service, context.plan)
        if not api.images(name=tag):
            progress(f"building {tag} (additional context {context.name})")
            build(api, context.plan, tag, progress)
        return tag
    # Named by the folder's content alone; built from a Dockerfile outside it.
    tag = tag_of(stack, f"{service}-context-{context.name}", folder_plan(context.folder))
    if not api.images(name=tag):
        progress(f"building {tag} (additional context {context.name})")
        with tempfile.TemporaryDirectory(prefix="devstack-build-") as folder:
            path = Path(folder, "Dockerfile")
            path.write_text(FOLDER_IMAGE)
            build(api, replace(folder_plan(context.folder), dockerfile=str(path)), tag, progress)
    return tag


def folder_plan(folder: str) -> BuildPlan:
    return BuildPlan(folder, None, (), None)


def digest_parts(plan: BuildPlan, tree: Callable[[BuildPlan], str]) -> list[str]:
    """What each named context adds to the build's identity: its image reference, or the
    content hash of its folder or of the other service's build."""
    parts = []
    for context in plan.contexts:
        if context.image:
            parts.append(f"{context.name}=image:{context.image}")
        elif context.plan is not None:
            parts.append(f"{context.name}=service:{tree(context.plan)}")
        else:
            parts.append(f"{context.name}=folder:{tree(folder_plan(context.folder))}")
    return parts
