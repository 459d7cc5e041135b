"""Image builds: a tag named by the build context's content, and a streamed build.

The tag `<stack>/<service>:<content hash>` changes exactly when something the build reads
changes (files not excluded by .dockerignore, the Dockerfile, args, target), so "rebuild
only when the context changed" is "build when the tag is missing".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker.errors
from docker import APIClient
from docker.utils.build import exclude_paths

from devstack.engine.ports import RuntimeError_
from devstack.model.desired import BuildPlan
from devstack.runtimes import build_contexts

# Never part of a context's identity: devstack's own state (logs change all the time) and VCS.
ALWAYS_IGNORED = [".devstack", ".git"]


def context_hash(plan: BuildPlan) -> str:
    root = Path(plan.context)
    dockerfile = plan.dockerfile or "Dockerfile"
    patterns = [*_dockerignore(root), *ALWAYS_IGNORED]
    digest = hashlib.sha256()
    digest.update(repr((dockerfile, plan.args, plan.target)).encode())
    for part in build_contexts.digest_parts(plan, context_hash):
        digest.update(part.encode())  # none without additional contexts: the same tag
    for relative in sorted(exclude_paths(str(root), patterns, dockerfile=dockerfile)):
        path = root / relative
        if path.is_symlink():
            digest.update(f"L {relative} {path.readlink()}\n".encode())
        elif path.is_file():
            digest.update(f"F {relative} {path.stat().st_mode & 0o777:o}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def context_tag(stack: str, service: str, plan: BuildPlan) -> str:
    return f"{stack}/{service}:{context_hash(plan)}"


def build_image(api: APIClient, plan: BuildPlan, tag: str, progress: Callable[[str], None]) -> None:
    """Build and tag; every step streams to `progress`; a failure names the failing step."""
    if plan.contexts:
        with build_contexts.dockerfile_with_contexts(
            api, plan, tag, progress, build_image, context_tag
        ) as dockerfile:
            plain = replace(plan, dockerfile=dockerfile, contexts=())
            build_image(api, plain, tag, progress)
        return
    last_step = ""
    output: list[str] = []
    try:
        stream = api.build(
            path=plan.context,
            dockerfile=plan.dockerfile,
            tag=tag,
            buildargs=dict(plan.args),
            target=plan.target,
            rm=True,
            forcerm=True,
            decode=True,
            labels={"devstack.build": "1"},
        )
        for chunk in stream:
            _take(chunk, progress, output)
            for line in chunk.get("stream", "").splitlines():
                if line.startswith("Step "):
                    last_step, output = line, []
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                tail = "\n".join(output[-15:])
                raise RuntimeError_(f"build failed at {last_step or 'the start'}: {detail}\n{tail}")
    except docker.errors.BuildError as exc:
        raise RuntimeError_(f"build failed: {exc.msg}") from exc
    except docker.errors.APIError as exc:
        raise RuntimeError_(f"build failed: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        raise RuntimeError_(f"build failed: {exc}") from exc


def _take(chunk: dict[str, Any], progress: Callable[[str], None], output: list[str]) -> None:
    for line in str(chunk.get("stream", "")).splitlines():
        if line.strip():
            output.append(line)
            progress(line)


def _dockerignore(root: Path) -> list[str]:
    try:
        text = (root / ".dockerignore").read_text()
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
