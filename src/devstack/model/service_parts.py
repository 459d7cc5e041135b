"""Parts of a service's manifest entry: its healthcheck, dependency conditions, build and
watch rules (out of model/manifest.py, which re-exports them, to keep it small)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from devstack.model.durations import parse_duration
from devstack.model.manifest_base import Model

# A build stage or context name, as a Dockerfile's FROM ... AS NAME takes it.
CONTEXT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda v: f"{v:g}s", return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h))+$"},
                {"type": "number", "minimum": 0},
            ],
            "description": "A duration: 500ms, 1s, 2m, 1m30s, or a number of seconds.",
        }
    ),
]


class HealthCheck(Model):
    """How to tell a service is ready: exactly one of `http`, `tcp`, `command` or `test`."""

    http: str | None = Field(default=None, description="Path for an HTTP GET on the first port")
    tcp: int | None = Field(default=None, ge=1, le=65535, description="Port to connect to")
    command: str | list[str] | None = Field(
        default=None, description="Runs in the service's workdir with its env; exit 0 = healthy"
    )
    test: str | list[str] | None = Field(
        default=None,
        description="Containers, compose's form: [CMD, prog, args...], [CMD-SHELL, line], "
        "a shell line, or [NONE] (no check, not even the image's HEALTHCHECK)",
    )
    interval: Duration = 5.0
    timeout: Duration = 2.0
    retries: int = Field(default=3, ge=1)
    start_period: Duration = 0.0
    start_interval: Duration = Field(
        default=0.1, description="Probe interval until the first success"
    )

    @model_validator(mode="after")
    def _exactly_one_probe(self) -> HealthCheck:
        given = [n for n in ("http", "tcp", "command", "test") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a healthcheck needs exactly one of http, tcp, command or test")
        if isinstance(self.test, list):
            if not self.test or self.test[0] not in ("CMD", "CMD-SHELL", "NONE"):
                raise ValueError("healthcheck.test starts with CMD, CMD-SHELL or NONE")
            if self.test[0] != "NONE" and len(self.test) < 2:
                raise ValueError(f"healthcheck.test [{self.test[0]}] needs a command after it")
            if self.test[0] == "CMD-SHELL" and len(self.test) != 2:
                raise ValueError("healthcheck.test [CMD-SHELL, line] takes one shell line")
        elif self.test is not None and not self.test.strip():
            raise ValueError("healthcheck.test cannot be empty")
        if self.http is not None and not self.http.startswith("/"):
            raise ValueError("healthcheck.http is a path and must start with '/'")
        return self


class DependsOnCondition(Model):
    # service_completed_successfully: a one-shot (a migration, an init job) that must have
    # exited 0 before the dependent starts, as compose has it.
    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = (
        "service_healthy"
    )


class BuildSpec(Model):
    """How to build a service's image (compose's `build:`)."""

    context: str = Field(default=".", description="Relative to the manifest's folder")
    dockerfile: str | None = Field(default=None, description="Relative to the context")
    args: dict[str, str] = Field(default_factory=dict)
    target: str | None = None
    additional_contexts: dict[Annotated[str, Field(pattern=CONTEXT_NAME_PATTERN)], str] = Field(
        default_factory=dict,
        description="Name -> a folder (relative to the manifest), service:NAME (that "
        "service's image) or docker-image://REF; the Dockerfile's FROM NAME and "
        "COPY --from=NAME use it, as in compose",
    )

    @field_validator("additional_contexts")
    @classmethod
    def _sources(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if "://" in source and not source.startswith("docker-image://"):
                raise ValueError(
                    f"additional context {name!r}: {source!r} is a URL; devstack builds from "
                    "a folder, service:NAME or docker-image://REF"
                )
        return value


class WatchRule(Model):
    """Live reload: what to do when files under `path` change."""

    path: str = Field(description="File or folder, relative to the manifest")
    action: Literal["restart", "rebuild", "sync"] = Field(
        default="restart",
        description="restart the service; rebuild its image and restart; or sync the "
        "changed files into the running container at `target`",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Glob patterns to ignore, besides .git, node_modules, __pycache__",
    )
    target: str | None = Field(default=None, description="sync: the folder in the container")

    @model_validator(mode="after")
    def _sync_needs_target(self) -> WatchRule:
        if self.action == "sync" and not (self.target and self.target.startswith("/")):
            raise ValueError("a sync rule needs target: an absolute path in the container")
        return self
