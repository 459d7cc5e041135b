"""Lint rules on the manifest itself: each bad pattern gives one finding, located exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.config.loader import load_stack
from devstack.lint.findings import Finding
from devstack.lint.runner import lint
from devstack.model.names import UnknownName

HELLO = Path(__file__).resolve().parents[2] / "stacks" / "hello" / "devstack.yaml"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in the manifest's folder, so findings name it `devstack.yaml`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(
    text: str,
    host_env: dict[str, str] | None = None,
    *,
    environments: list[str] | None = None,
    rules: set[str] | None = None,
) -> list[Finding]:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(textwrap.dedent(text))
    return lint(load_stack(path), host_env or {}, environments=environments, rules=rules)


def where(found: list[Finding]) -> list[tuple[str, str, str]]:
    return [(str(f.location), f.rule.id, f.field) for f in found]


def test_a_clean_stack_has_no_findings() -> None:
    found = findings(
        """\
        name: shop
        environments:
          staging: {vars: {LOG_LEVEL: info}, images: {api: "shop/api:1.4.2"}}
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
        services:
          api:
            image: shop/api:1.4.1
            ports: ["8080"]
            uses: [uploads]
            volumes: ["./config:/etc/api:ro"]
            env:
              BUCKET: "${backing.uploads.bucket}"
              DB_PASSWORD: "${DB_PASSWORD}"
            healthcheck: {http: /health}
          worker:
            command: python3 worker.py
            env: {API_URL: "${services.api.url}"}
        """
    )
    assert found == []


def test_the_hello_example_has_only_its_committed_env_file_to_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(HELLO.parent)
    found = lint(load_stack(HELLO), {})
    assert [f.rule.id for f in found] in ([], ["DS107"])


def test_a_writable_bind_mount_is_local_state() -> None:
    found = findings(
        """\
        name: t
        services:
          db:
            image: postgres:16
            volumes:
              - ./data:/var/lib/postgresql/data
              - ./conf:/etc/postgresql:ro
        """
    )
    assert where(found) == [("devstack.yaml:6:9", "DS101", "services.db.volumes[0]")]
    assert found[0].rule.severity == "warning"
    assert found[0].rule.factor == "VI processes"
    assert "./data:/var/lib/postgresql/data:ro" in found[0].fix


def test_replicas_sharing_a_writable_bind_mount_are_named() -> None:
    found = findings(
        """\
        name: t
        services:
          web: {image: "web:1", replicas: 3, volumes: ["./uploads:/srv/uploads"]}
        """
    )
    assert where(found) == [("devstack.yaml:3:48", "DS101", "services.web.volumes[0]")]
    assert "shared by its 3 replicas" in found[0].message


def test_a_named_volume_is_not_a_bind_mount() -> None:
    found = findings(
        """\
        name: t
        volumes: {cache: {}}
        services:
          app: {image: "app:1", volumes: ["cache:/cache"]}
        """
    )
    assert found == []


def test_a_port_without_healthcheck_is_located_at_the_service() -> None:
    found = findings(
        """\
        name: t
        services:
          ok:
            command: python3 ok.py
            ports: ["8000"]
            healthcheck: {tcp: 8000}
          api:
            command: python3 api.py
            ports: ["8001"]
          worker:
            command: python3 worker.py
        """
    )
    assert where(found) == [("devstack.yaml:7:3", "DS106", "services.api")]
    assert "port 8001" in found[0].message


def test_a_hard_coded_aws_endpoint_should_be_a_binding() -> None:
    found = findings(
        """\
        name: t
        services:
          worker:
            command: python3 worker.py
            env:
              QUEUE: jobs
              AWS_ENDPOINT_URL: http://localhost:4566
        """
    )
    assert where(found) == [("devstack.yaml:7:25", "DS102", "services.worker.env.AWS_ENDPOINT_URL")]
    assert found[0].rule.factor == "IV backing services"
    assert "http://localhost:4566" in found[0].message
    assert "uses:" in found[0].fix


@pytest.mark.parametrize(
    ("value", "shown", "advice"),
    [
        (
            "https://sqs.eu-west-1.amazonaws.com/123/jobs",
            "https://sqs.eu-west-1.amazonaws.com",
            "uses:",
        ),
        ("postgres://db.internal:5432/shop", "postgres://db.internal:5432", "kind: postgres"),
        ("127.0.0.1:6379", "127.0.0.1:6379", "${services.NAME.url}"),
        ("http://localhost:${PORT}/api", "http://localhost:", "${services.NAME.url}"),
    ],
)
def test_endpoints_are_recognised_in_many_forms(value: str, shown: str, advice: str) -> None:
    found = findings(
        f"""\
        name: t
        environments:
          staging:
            vars:
              TARGET: "{value}"
        services:
          a: {{command: python3 a.py}}
        """
    )
    assert where(found) == [("devstack.yaml:5:15", "DS102", "environments.staging.vars.TARGET")]
    assert f"the endpoint {shown}" in found[0].message
    assert advice in found[0].fix


def test_references_to_services_and_bindings_are_not_hard_coded() -> None:
    found = findings(
        """\
        name: t
        backing:
          api-docs: {kind: url, url: "https://docs.example.com"}
        services:
          api: {command: python3 api.py, ports: ["8000"], healthcheck: {tcp: 8000}}
          front:
            command: python3 front.py
            env:
              API_URL: "${services.api.url}"
              API_HOST: "http://${services.api.host}:${services.api.port}/v1"
              DOCS: "${backing.api-docs.url}"
              GREETING: "hello: world"
        """
    )
    assert found == []


def test_a_password_written_in_env_is_an_error_and_is_not_printed() -> None:
    found = findings(
        """\
        name: t
        services:
          api:
            command: python3 api.py
            env:
              DB_USER: shop
              DB_PASSWORD: hunter2
        """
    )
    assert where(found) == [("devstack.yaml:7:20", "DS103", "services.api.env.DB_PASSWORD")]
    assert found[0].rule.severity == "error"
    assert found[0].rule.factor == "III config"
    assert "hunter2" not in str(found[0])
    assert "secrets" in found[0].fix


@pytest.mark.parametrize(
    ("var", "value", "reason"),
    [
        ("DATABASE_URL", "postgres://shop:s3cret@db:5432/shop", "a password inside a URL"),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
        ("API_TOKEN", "${API_TOKEN:-abc123}", "secret-named"),
    ],
)
def test_credentials_are_recognised_in_many_forms(var: str, value: str, reason: str) -> None:
    found = findings(
        f"""\
        name: t
        services:
          api:
            command: python3 api.py
            env: {{{var}: "{value}"}}
        """
    )
    assert [f.rule.id for f in found] == ["DS103"]
    assert reason in found[0].message
    assert str(found[0].location) == "devstack.yaml:5:" + str(13 + len(var))


def test_a_value_marked_secret_is_a_credential_whatever_its_name() -> None:
    found = findings(
        """\
        name: t
        environments:
          dev:
            vars:
              SIGNING: {value: abc, secret: true}
        services:
          a: {command: python3 a.py}
        """
    )
    assert where(found) == [("devstack.yaml:5:16", "DS103", "environments.dev.vars.SIGNING")]


def test_a_password_taken_from_a_reference_is_fine() -> None:
    found = findings(
        """\
        name: t
        services:
          api:
            command: python3 api.py
            env:
              DATABASE_URL: "postgres://shop:${DB_PASSWORD}@${DB_HOST}/shop"
              DB_PASSWORD: "${DB_PASSWORD}"
        """
    )
    assert found == []


def test_an_external_provider_key_for_a_remote_endpoint_is_a_credential() -> None:
    found = findings(
        """\
        name: t
        providers:
          local: {type: external, url: "http://127.0.0.1:9000", access_key_id: x, secret_access_key: y}
          remote:
            type: external
            url: https://s3.example.com
            access_key_id: minio
            secret_access_key: verysecret
        backing:
          files: {kind: s3, bucket: files, provider: remote}
        services:
          a: {command: python3 a.py, uses: [files]}
        """
    )
    assert where(found) == [("devstack.yaml:8:24", "DS103", "providers.remote.secret_access_key")]


@pytest.mark.parametrize(
    ("image", "reason"),
    [("redis", "has no tag"), ("redis:latest", ":latest"), ("localhost:5000/app", "has no tag")],
)
def test_an_unpinned_service_image_is_an_error(image: str, reason: str) -> None:
    found = findings(
        f"""\
        name: t
        services:
          cache:
            image: "{image}"
        """
    )
    assert where(found) == [("devstack.yaml:4:12", "DS104", "services.cache.image")]
    assert found[0].rule.severity == "error"
    assert reason in found[0].message


def test_images_pinned_by_tag_or_digest_are_fine() -> None:
    found = findings(
        """\
        name: t
        services:
          a: {image: "registry.local:5000/team/a:2.1"}
          b: {image: "b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
          c: {image: "c", build: ./c}
        """
    )
    assert found == []


def test_an_image_template_is_judged_by_what_the_host_gives_it() -> None:
    text = """\
        name: t
        providers:
          localstack: {type: localstack, image: "${LOCALSTACK_IMAGE:-localstack/localstack:4.14}"}
        services:
          a: {command: python3 a.py}
        """
    assert findings(text) == []
    found = findings(text, {"LOCALSTACK_IMAGE": "localstack/localstack"})
    assert where(found) == [("devstack.yaml:3:41", "DS104", "providers.localstack.image")]
    assert "localstack/localstack has no tag" in found[0].message


def test_an_environment_image_is_linted_with_that_environment() -> None:
    text = """\
        name: t
        environments:
          staging:
            images: {api: "shop/api:latest"}
        services:
          api: {build: ./api}
        """
    found = findings(text)
    assert where(found) == [("devstack.yaml:4:19", "DS104", "environments.staging.images.api")]
    assert findings(text, environments=["dev"]) == []


def test_services_sharing_one_image_share_a_codebase() -> None:
    found = findings(
        """\
        name: t
        services:
          web: {image: "shop:1.0", command: [web]}
          jobs: {image: "shop:1.0", command: [jobs]}
        """
    )
    assert where(found) == [("devstack.yaml:4:17", "DS110", "services.jobs.image")]
    assert found[0].rule.factor == "I codebase"
    assert "jobs runs the same image as web" in found[0].message


def test_an_environment_can_make_two_services_share_an_image() -> None:
    found = findings(
        """\
        name: t
        environments:
          prod:
            images:
              web: "shop:2.0"
              jobs: "shop:2.0"
        services:
          web: {build: ./web}
          jobs: {build: ./jobs}
        """
    )
    assert where(found) == [("devstack.yaml:6:13", "DS110", "environments.prod.images.jobs")]
    assert "in prod" in found[0].message


def test_services_sharing_one_build_context_share_a_codebase(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    found = findings(
        """\
        name: t
        services:
          web:
            build: ./app
          jobs:
            build: {context: app, dockerfile: Dockerfile.jobs}
        """
    )
    assert where(found) == [("devstack.yaml:6:22", "DS109", "services.jobs.build.context")]
    assert "jobs builds from the same context as web" in found[0].message


def test_findings_are_sorted_by_location_and_filtered_by_rule() -> None:
    text = """\
        name: t
        services:
          api:
            image: api
            ports: ["8080"]
            env: {TOKEN: abc}
        """
    assert [f.rule.id for f in findings(text)] == ["DS106", "DS104", "DS103"]
    assert [f.rule.id for f in findings(text, rules={"DS103"})] == ["DS103"]


def test_an_unknown_environment_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownName, match="known: dev, staging"):
        findings(
            """\
            name: t
            environments: {staging: {}}
            services: {a: {command: python3 a.py}}
            """,
            environments=["prod"],
        )
