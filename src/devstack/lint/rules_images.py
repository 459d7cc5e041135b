"""DS104/DS105 (images that are not pinned) and DS109/DS110 (services sharing a build)."""

from __future__ import annotations

from pathlib import Path

from devstack.lint.context import FieldPath, LintContext, build_path
from devstack.lint.dockerfile import base_images
from devstack.lint.files import read_text
from devstack.lint.images import unpinned
from devstack.model.backing import ContainerProvider, LocalstackProvider

PIN_FIX = (
    "pin a version tag (`{name}:1.4.2`), or a digest (`{name}@sha256:...`), so every build "
    "and release runs the same image"
)
SHARE_FIX = (
    "give each service its own codebase (its own folder and Dockerfile); code they share "
    "belongs in a library that each one declares as a dependency"
)


def check(ctx: LintContext) -> None:
    _manifest_images(ctx)
    _dockerfiles(ctx)
    _shared_contexts(ctx)
    _shared_images(ctx)


def _pin_fix(ref: str) -> str:
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return PIN_FIX.format(name=name)


def _manifest_images(ctx: LintContext) -> None:
    stack = ctx.loaded.stack
    written: list[tuple[FieldPath, str, str | None]] = []
    for name, service in stack.services.items():
        # With a build, `image` is only the name the build is tagged with (DS105 checks
        # what the build starts from).
        if service.image is not None and service.build is None:
            written += [(("services", name, "image"), service.image, e) for e in ctx.environments]
    for env_name in ctx.environments:
        if env_name in stack.environments:
            for name, text in stack.environments[env_name].images.items():
                written.append((("environments", env_name, "images", name), text, env_name))
    for name, provider in stack.providers.items():
        if isinstance(provider, LocalstackProvider | ContainerProvider) and provider.image:
            written.append((("providers", name, "image"), provider.image, None))
    for path, written_ref, layer in written:
        ref = ctx.expand(written_ref, layer)
        reason = unpinned(ref) if ref else None
        if ref and reason:
            ctx.report("DS104", path, f"image {ref} {reason}", _pin_fix(ref))


def _dockerfiles(ctx: LintContext) -> None:
    for name, service in ctx.loaded.stack.services.items():
        build = service.build_spec()
        if build is None:
            continue
        dockerfile = ctx.root / build.context / (build.dockerfile or "Dockerfile")
        text = read_text(dockerfile)
        if text is None:
            continue  # a missing Dockerfile is the build's error to report
        args = {key: ctx.expand(value) or "" for key, value in build.args.items()}
        for image in base_images(text, args):
            reason = unpinned(image.ref)
            if reason is None:
                continue
            via = f" ({image.written})" if image.written != image.ref else ""
            ctx.report_file(
                "DS105",
                dockerfile,
                image.line,
                image.column,
                build_path(name, service),
                f"base image {image.ref}{via} {reason}",
                _pin_fix(image.ref),
            )


def _shared_contexts(ctx: LintContext) -> None:
    first: dict[Path, str] = {}
    for name, service in ctx.loaded.stack.services.items():
        build = service.build_spec()
        if build is None:
            continue
        context = (ctx.root / build.context).resolve()
        owner = first.setdefault(context, name)
        if owner != name:
            ctx.report(
                "DS109",
                build_path(name, service),
                f"{name} builds from the same context as {owner} ({build.context})",
                SHARE_FIX,
            )


def _shared_images(ctx: LintContext) -> None:
    """Services running one image: in the manifest, and in each environment's `images`."""
    stack = ctx.loaded.stack
    layers: list[tuple[str | None, dict[str, str]]] = [(None, {})]
    layers += [
        (env_name, stack.environments[env_name].images)
        for env_name in ctx.environments
        if env_name in stack.environments and stack.environments[env_name].images
    ]
    for env_name, overrides in layers:
        first: dict[str, tuple[str, FieldPath]] = {}
        for name, service in stack.services.items():
            if name in overrides:
                path: FieldPath = ("environments", str(env_name), "images", name)
                text = overrides[name]
            elif service.image is not None and service.build is None:
                path, text = ("services", name, "image"), service.image
            else:
                continue
            ref = ctx.expand(text, env_name)
            if not ref:
                continue
            owner, owner_path = first.setdefault(ref, (name, path))
            if owner == name:
                continue
            if env_name is None:
                message = f"{name} runs the same image as {owner} ({ref})"
                ctx.report("DS110", path, message, SHARE_FIX)
            elif name in overrides or owner in overrides:
                # Pairs made by the manifest alone were reported above; this environment
                # made this one: point at its `images` entry.
                where = path if name in overrides else owner_path
                message = f"{name} runs the same image as {owner} in {env_name} ({ref})"
                ctx.report("DS110", where, message, SHARE_FIX)
