"""`devstack import compose`: compose files in, valid manifests with the same meaning out.

The fixtures under tests/data/compose are realistic projects; each import is loaded back
with devstack's own loader and resolved, so these tests check what a service would get.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from devstack.cli.main import cli
from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.config.yaml_loader import load_yaml
from devstack.importer import Conversion, ImportProblem, convert
from devstack.importer.emit import scalar
from devstack.intent.desired import desired_state
from devstack.intent.value import Intent
from devstack.model.desired import DesiredState

DATA = Path(__file__).resolve().parents[1] / "data" / "compose"
HOST_ENV = {"PATH": "/usr/bin:/bin"}


def project(name: str, tmp_path: Path) -> Path:
    """A copy of a fixture project, so that imports write beside it freely."""
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    return target / "compose.yaml"


def imported(
    name: str, tmp_path: Path, environ: dict[str, str] | None = None
) -> tuple[Conversion, Path]:
    compose = project(name, tmp_path)
    result = convert(compose, compose.parent, dict(environ or HOST_ENV))
    manifest = compose.parent / "devstack.yaml"
    manifest.write_text(result.text)
    return result, manifest


def resolved(manifest: Path, host_env: dict[str, str] | None = None) -> DesiredState:
    return resolve(load_stack(manifest), "dev", dict(host_env or HOST_ENV))


def env_of(desired: DesiredState, service: str) -> dict[str, str]:
    return {v.name: v.value for v in desired.services[service].env}


def notes(result: Conversion) -> list[str]:
    return [str(n) for n in result.notes]


# -- web + worker + Postgres + Redis ---------------------------------------------------


def test_postgres_and_redis_become_backing_services_with_the_compose_credentials(
    tmp_path: Path,
) -> None:
    _, manifest = imported("webapp", tmp_path)

    stack = load_stack(manifest).stack
    assert set(stack.services) == {"web", "worker"}
    db = stack.backing["db"]
    assert (db.kind, db.database, db.user, db.password) == ("postgres", "shop", "shop", "s3cret")  # type: ignore[union-attr]
    assert db.seed is not None and db.seed.sql == "./db/init.sql"  # type: ignore[union-attr]
    assert stack.backing["cache"].kind == "redis"
    # The compose image is kept (not devstack's default postgres:16); redis:7 is the default.
    assert stack.providers["postgres"].image == "postgres:16-alpine"  # type: ignore[union-attr]
    assert stack.backing["db"].provider == "postgres"
    assert stack.backing["cache"].provider is None


def test_consumers_bind_to_the_database_instead_of_hard_coded_urls(tmp_path: Path) -> None:
    _, manifest = imported("webapp", tmp_path)

    stack = load_stack(manifest).stack
    assert stack.services["web"].uses == ["db", "cache"]
    assert stack.services["worker"].uses == ["db", "cache"]
    desired = resolved(manifest)
    web = env_of(desired, "web")
    assert web["DATABASE_URL"].startswith("postgresql://shop:s3cret@")
    assert web["DATABASE_URL"].endswith("/shop")
    assert web["REDIS_URL"].startswith("redis://") and web["REDIS_URL"].endswith("/0")
    assert web["LOG_LEVEL"] == "info" and web["WORKERS"] == "2"
    worker = env_of(desired, "worker")
    # CACHE_URL is what the binding of `cache` injects: same name, so it is not repeated.
    assert worker["CACHE_URL"] == worker["REDIS_URL"]
    assert worker["QUEUE"] == "default"


def test_depends_on_keeps_compose_conditions_and_waits_for_backing_through_bindings(
    tmp_path: Path,
) -> None:
    _, manifest = imported("webapp", tmp_path)

    services = load_stack(manifest).stack.services
    # Compose's list form waits for a start only (devstack's list form would wait for health).
    assert services["worker"].dependencies() == {"web": "service_started"}
    assert services["web"].dependencies() == {}
    desired = resolved(manifest)
    assert "db" in desired.services["web"].depends_on  # the backing node, through `uses`


def test_what_cannot_be_mapped_is_listed_with_its_compose_path(tmp_path: Path) -> None:
    result, manifest = imported("webapp", tmp_path)

    listed = notes(result)
    assert (
        "no effect locally: services.web.deploy.resources: devstack does not limit resources"
        in listed
    )
    assert any(n.startswith("no effect locally: services.cache.ports:") for n in listed)
    assert any(n.startswith("no effect locally: services.db.healthcheck:") for n in listed)
    assert any(n.startswith("no effect locally: services.web.restart:") for n in listed)
    # Every note says whether behaviour changes; none does here.
    assert all(n.startswith(("changes behaviour: ", "no effect locally: ")) for n in listed)
    assert not [n for n in result.notes if n.changes_behaviour]
    text = manifest.read_text()
    # The same lines are comments in the manifest, above what they concern.
    assert "# no effect locally: services.web.deploy.resources" in text
    assert text.index("# no effect locally: services.web.deploy.resources") < text.index("\n  web:")


def test_urls_with_other_names_become_templates_and_bare_hosts_are_listed(
    tmp_path: Path,
) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        textwrap.dedent("""\
        services:
          app:
            image: app:1
            environment:
              DB_HOST: pg
              DB_DSN: postgresql://app:pw@pg:5432/app
              OTHER_DB: postgresql+asyncpg://app:pw@pg/app
              SESSIONS: redis://sessions:6379/2
          pg:
            image: postgres:16
            environment: {POSTGRES_USER: app, POSTGRES_PASSWORD: pw, POSTGRES_DB: app}
          sessions:
            image: redis:7-alpine
        """)
    )
    result = convert(compose, tmp_path, HOST_ENV)
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(result.text)

    stack = load_stack(manifest).stack
    assert stack.services["app"].uses == ["pg", "sessions"]
    assert stack.backing["sessions"].database == 2  # type: ignore[union-attr]
    assert stack.providers["redis"].image == "redis:7-alpine"  # type: ignore[union-attr]
    assert "postgres" not in stack.providers  # postgres:16 is devstack's default image
    desired = resolved(manifest)
    env = env_of(desired, "app")
    assert next(v for v in desired.services["app"].env if v.name == "DB_DSN").secret
    assert env["DB_DSN"] == env["DATABASE_URL"]
    assert env["DB_DSN"].startswith("postgresql://app:pw@")
    assert env["SESSIONS"] == env["REDIS_URL"] and env["SESSIONS"].endswith("/2")
    # A bare host and a URL of another scheme are rewritten onto the binding, not dropped.
    server = urlsplit(env["DATABASE_URL"])
    assert env["DB_HOST"] == server.hostname
    other = urlsplit(env["OTHER_DB"])
    assert (other.scheme, other.username, other.password) == ("postgresql+asyncpg", "app", "pw")
    assert (other.hostname, other.port, other.path) == (server.hostname, server.port, "/app")
    assert not [n for n in result.notes if n.changes_behaviour]


def test_a_password_from_the_shell_is_neither_written_nor_printed(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  app: {image: app:1, environment: {DB_HOST: db}}\n"
        "  db:\n"
        "    image: postgres:16\n"
        "    environment: {POSTGRES_PASSWORD: '${PGPASS:-local-default}'}\n"
    )

    result = convert(compose, tmp_path, {**HOST_ENV, "PGPASS": "from-the-shell"})

    assert result.data["backing"]["db"]["password"] == "local-default"
    assert "from-the-shell" not in result.text
    assert not any("from-the-shell" in n for n in notes(result))


# -- LocalStack ------------------------------------------------------------------------


def test_localstack_becomes_a_provider_with_the_resources_its_init_script_creates(
    tmp_path: Path,
) -> None:
    result, manifest = imported("localstack", tmp_path)

    stack = load_stack(manifest).stack
    assert stack.providers["localstack"].image == "devstack-test/localstack:2026.3.0"  # type: ignore[union-attr]
    assert set(stack.services) == {"api", "poller"}
    kinds = {name: b.kind for name, b in stack.backing.items()}
    assert kinds == {"uploads-bucket": "s3", "jobs": "sqs", "parameters": "ssm"}
    assert all(b.provider == "localstack" for b in stack.backing.values())
    assert stack.backing["jobs"].visibility_timeout == 30  # type: ignore[union-attr]
    params = stack.backing["parameters"]
    assert params.path == "/lsapp/flags/"  # type: ignore[union-attr]
    assert params.parameters["checkout"] == "on"  # type: ignore[union-attr]
    assert params.parameters["api-key"].secure is True  # type: ignore[union-attr]
    listed = notes(result)
    assert any(
        n.startswith(
            "changes behaviour: services.localstack.volumes[0]: not run: init/01-resources.sh:9"
        )
        and "put-bucket-cors" in n
        for n in listed
    ), listed
    assert any(n.startswith("changes behaviour: services.localstack.volumes[1]") for n in listed)


def test_init_script_commands_for_every_aws_kind(tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "setup.sh").write_text(
        textwrap.dedent("""\
        #!/bin/sh
        aws --endpoint-url=http://localhost:4566 sns create-topic --name events
        awslocal sqs create-queue --queue-name orders.fifo --attributes FifoQueue=true
        awslocal secretsmanager create-secret --name shop/db --secret-string '{"user":"u"}'
        awslocal dynamodb create-table --table-name carts \\
            --attribute-definitions AttributeName=id,AttributeType=S AttributeName=at,AttributeType=N \\
            --key-schema AttributeName=id,KeyType=HASH AttributeName=at,KeyType=RANGE \\
            --billing-mode PAY_PER_REQUEST
        awslocal s3 mb "s3://$BUCKET"
        """)
    )
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  aws:\n"
        "    image: localstack/localstack:4.14\n"
        "    volumes: ['./init:/etc/localstack/init/ready.d']\n"
    )
    result = convert(compose, tmp_path, HOST_ENV)
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(result.text)

    backing = load_stack(manifest).stack.backing
    assert {name: b.kind for name, b in backing.items()} == {
        "events": "sns",
        "orders": "sqs",
        "carts": "dynamodb",
        "secrets": "secretsmanager",
    }
    assert backing["orders"].fifo is True  # type: ignore[union-attr]
    assert backing["carts"].key == {"id": "S", "at": "N"}  # type: ignore[union-attr]
    assert backing["secrets"].secrets == {"shop/db": '{"user":"u"}'}  # type: ignore[union-attr]
    # A shell variable's value is unknown at import: the line is listed, not guessed.
    assert any(
        n.startswith("changes behaviour: services.aws.volumes[0]: not run: init/setup.sh:9")
        for n in notes(result)
    )


def test_aws_endpoint_variables_become_bindings_to_localstack(tmp_path: Path) -> None:
    _, manifest = imported("localstack", tmp_path)

    stack = load_stack(manifest).stack
    assert stack.services["api"].uses == ["uploads-bucket", "jobs", "parameters"]
    assert "AWS_ENDPOINT_URL" not in stack.services["api"].env
    env = env_of(resolved(manifest), "api")
    # A container reaches LocalStack on the stack network, as in compose.
    assert env["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert env["AWS_ENDPOINT_URL_S3"] == "http://localstack:4566"
    assert env["JOBS_QUEUE_URL"] == "http://localstack:4566/000000000000/jobs"
    assert env["S3_ENDPOINT"] == "http://localstack:4566"
    assert env["UPLOAD_BUCKET"] == "uploads-bucket"
    assert env["GREETING"] == "hello"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_a_localstack_service_without_known_resources_stays_a_container(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        textwrap.dedent("""\
        services:
          aws:
            image: localstack/localstack:4.14
            ports: ["4566"]
          app:
            image: app:1
            environment: {AWS_ENDPOINT_URL: "http://aws:4566"}
        """)
    )
    result = convert(compose, tmp_path, HOST_ENV)

    assert set(result.data["services"]) == {"aws", "app"}
    assert result.data["services"]["aws"]["image"] == "localstack/localstack:4.14"
    assert result.data["services"]["app"]["env"] == {"AWS_ENDPOINT_URL": "http://aws:4566"}
    assert any("kept as a container" in n for n in notes(result))


# -- anchors, profiles, env files, interpolation ---------------------------------------


def test_anchors_and_merge_keys_are_expanded_with_compose_precedence(tmp_path: Path) -> None:
    result, manifest = imported("profiles", tmp_path)

    services = load_stack(manifest).stack.services
    api = services["api"]
    # From the anchored environment, merged under the service's own keys.
    assert api.env["LOG_LEVEL"] == "${LOG_LEVEL:-info}"
    assert api.env["APP_ENV"] == "dev"
    assert api.restart == "on-failure"
    assert api.healthcheck is not None
    assert (api.healthcheck.interval, api.healthcheck.timeout) == (1.0, 2.0)
    assert (api.healthcheck.retries, api.healthcheck.start_period) == (30, 1.0)
    assert api.stop_grace == 90.0
    assert any(n.startswith("no effect locally: x-common:") for n in notes(result))


def test_interpolation_is_kept_where_devstack_interpolates(tmp_path: Path) -> None:
    _, manifest = imported("profiles", tmp_path)

    api = load_stack(manifest).stack.services["api"]
    assert api.env["API_TOKEN"] == "${API_TOKEN:?set API_TOKEN in .env}"
    build = api.build_spec()
    assert build is not None
    assert build.args == {"BASE": "${BASE_IMAGE:-devstack-test/python:1}", "APP_VERSION": "1.4"}
    assert build.context == "./services/api"
    assert api.env["RATIO"] == "1.10"  # as written, not the float 1.1
    # Resolved, the values come from .env (a `dev` env file) as compose reads them.
    env = env_of(resolved(manifest), "api")
    assert env["API_TOKEN"] == "t0ken-from-dotenv"
    assert env["LOG_LEVEL"] == "debug"


def test_a_required_variable_fails_like_in_compose_when_unset(tmp_path: Path) -> None:
    _, manifest = imported("profiles", tmp_path)
    (manifest.parent / ".env").write_text("LOG_LEVEL=debug\n")

    with pytest.raises(ManifestError) as caught:
        resolved(manifest)

    assert "set API_TOKEN in .env" in str(caught.value)


def test_ports_are_interpolated_at_import_from_the_shell_and_noted(tmp_path: Path) -> None:
    result, manifest = imported("profiles", tmp_path, {**HOST_ENV, "API_PORT": "28080"})

    assert load_stack(manifest).stack.services["api"].ports == ["28080:8080"]
    assert any(
        n.startswith("no effect locally: services.api.ports[0]:") and "28080:8080" in n
        for n in notes(result)
    )


def test_a_required_variable_in_a_field_evaluated_at_import_is_a_located_error(
    tmp_path: Path,
) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        'services:\n  web:\n    image: web:1\n    ports: ["${WEB_PORT:?pick a port}:80"]\n'
    )

    with pytest.raises(ImportProblem) as caught:
        convert(compose, tmp_path, HOST_ENV)

    message = str(caught.value)
    assert "compose.yaml:4:" in message
    assert "services.web.ports[0]" in message
    assert "pick a port" in message


def test_per_service_env_files_are_inlined_and_dotenv_becomes_the_dev_env_file(
    tmp_path: Path,
) -> None:
    result, manifest = imported("profiles", tmp_path)

    stack = load_stack(manifest).stack
    assert stack.environments["dev"].env_file[0].path == ".env"  # type: ignore[union-attr]
    worker = env_of(resolved(manifest), "worker")
    assert worker["SHARED_SETTING"] == "from-common-env"
    assert worker["WORKER_CONCURRENCY"] == "4"  # worker.env, optional and present
    assert worker["COMMON_URL"] == "http://example.invalid/$path"  # `$$` stays a literal $
    assert any(
        n.startswith("no effect locally: services.worker.env_file[1]:") for n in notes(result)
    )


def test_an_env_file_every_service_reads_becomes_the_environments_env_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.env").write_text("MODE=shared\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  a: {image: a:1, env_file: app.env}\n"
        "  b: {image: b:1, env_file: [app.env], environment: [MODE=own]}\n"
    )
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(convert(compose, tmp_path, HOST_ENV).text)

    assert load_stack(manifest).stack.environments["dev"].env_file == ["./app.env"]
    desired = resolved(manifest)
    assert env_of(desired, "a")["MODE"] == "shared"
    assert env_of(desired, "b")["MODE"] == "own"  # environment: wins over env_file, as in compose


def test_profiled_services_keep_their_profiles_and_do_not_start_by_default(
    tmp_path: Path,
) -> None:
    result, manifest = imported("profiles", tmp_path)

    loaded = load_stack(manifest)
    services = loaded.stack.services
    assert services["debug"].profiles == ["debug"]
    assert services["api"].profiles == []
    assert not any(n.path[-1] == "profiles" for n in result.notes)
    # As with compose: not started unless its profile is enabled.
    plain = desired_state(loaded, Intent(), {}, state_dir=tmp_path / "state")
    assert plain.services["debug"].replicas == 0
    assert plain.services["api"].replicas == 1
    enabled = Intent(profiles=frozenset({"debug"}))
    assert (
        desired_state(loaded, enabled, {}, state_dir=tmp_path / "s").services["debug"].replicas == 1
    )


def test_named_volumes_health_conditions_and_unmapped_keys(tmp_path: Path) -> None:
    result, manifest = imported("profiles", tmp_path)

    stack = load_stack(manifest).stack
    assert stack.volumes["uploads"] is not None
    assert stack.volumes["uploads"].labels == {"team": "shop"}
    assert stack.services["api"].volumes == ["uploads:/data/uploads", "./config:/etc/api:ro"]
    assert stack.services["worker"].dependencies() == {"api": "service_healthy"}
    listed = notes(result)
    assert any(n.startswith("no effect locally: services.worker.container_name:") for n in listed)
    assert any(n.startswith("no effect locally: services.debug.networks:") for n in listed)
    assert any(n.startswith("no effect locally: networks:") for n in listed)


@pytest.mark.parametrize("name", ["webapp", "localstack", "profiles"])
def test_every_fixture_imports_to_a_manifest_that_validates_in_every_environment(
    name: str, tmp_path: Path
) -> None:
    _, manifest = imported(name, tmp_path)

    loaded = load_stack(manifest)
    for environment in {"dev", *loaded.stack.environments}:
        resolve(loaded, environment, HOST_ENV)
    assert manifest.read_text().startswith("# Generated by `devstack import compose`")


def test_paths_are_rewritten_relative_to_the_output_folder(tmp_path: Path) -> None:
    compose = project("profiles", tmp_path)
    out = tmp_path / "elsewhere" / "deeper"
    out.mkdir(parents=True)
    manifest = out / "devstack.yaml"
    manifest.write_text(convert(compose, out, HOST_ENV).text)

    stack = load_stack(manifest).stack
    api = stack.services["api"]
    assert api.build_spec().context == "../../profiles/services/api"  # type: ignore[union-attr]
    assert api.volumes[1] == "../../profiles/config:/etc/api:ro"
    resolved(manifest)  # the build context and env files are found from there


# -- healthchecks and small mappings ---------------------------------------------------


def _one_service(tmp_path: Path, body: str) -> tuple[dict[str, Any], list[str]]:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  s:\n" + textwrap.indent(textwrap.dedent(body), "    "))
    result = convert(compose, tmp_path, HOST_ENV)
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(result.text)
    load_stack(manifest)
    return result.data["services"]["s"], notes(result)


def test_healthcheck_forms(tmp_path: Path) -> None:
    shell, _ = _one_service(
        tmp_path,
        """\
        image: s:1
        healthcheck: {test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval: 500ms, start_interval: 2us}
        """,
    )
    assert shell["healthcheck"] == {
        "command": "curl -f http://localhost/ || exit 1",
        "interval": "500ms",
        "start_interval": "0ms",
    }
    # No check at all, not even the image's own HEALTHCHECK (which runs when none is given).
    disabled, _ = _one_service(tmp_path, "image: s:1\nhealthcheck: {disable: true}\n")
    assert disabled["healthcheck"] == {"test": ["NONE"]}
    none, _ = _one_service(tmp_path, 'image: s:1\nhealthcheck: {test: ["NONE"]}\n')
    assert none["healthcheck"] == {"test": ["NONE"]}
    image_own, listed = _one_service(tmp_path, "image: s:1\nhealthcheck: {interval: 5s}\n")
    assert "healthcheck" not in image_own
    assert any(n.startswith("no effect locally: services.s.healthcheck:") for n in listed)


def test_a_curl_healthcheck_on_the_first_port_becomes_an_http_probe(tmp_path: Path) -> None:
    result, manifest = imported("profiles", tmp_path)

    api = load_stack(manifest).stack.services["api"]
    assert api.healthcheck is not None and api.healthcheck.http == "/"
    assert any(
        n.startswith("no effect locally: services.api.healthcheck.test:") for n in notes(result)
    )


def test_a_curl_healthcheck_with_long_flags_becomes_an_http_probe(tmp_path: Path) -> None:
    entry, _ = _one_service(
        tmp_path,
        """\
        image: s:1
        ports: ["8080:8080"]
        healthcheck: {test: ["CMD", "curl", "--fail", "http://localhost:8080/health"]}
        """,
    )
    assert entry["healthcheck"] == {"http": "/health"}


def test_a_curl_healthcheck_stays_a_command_when_its_port_is_not_published(
    tmp_path: Path,
) -> None:
    entry, _ = _one_service(
        tmp_path,
        """\
        image: s:1
        ports: ["8080/udp"]
        healthcheck: {test: ["CMD", "curl", "-f", "http://localhost:8080/"]}
        """,
    )
    assert entry["healthcheck"] == {"command": ["curl", "-f", "http://localhost:8080/"]}


def test_a_command_healthcheck_is_kept_as_a_command(tmp_path: Path) -> None:
    _, manifest = imported("webapp", tmp_path)

    check = load_stack(manifest).stack.services["web"].healthcheck
    assert check is not None
    assert check.command == [
        "python3",
        "-c",
        "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/')",
    ]
    assert (check.interval, check.start_period) == (10.0, 5.0)


def test_environment_without_a_value_passes_the_shell_variable(tmp_path: Path) -> None:
    entry, listed = _one_service(tmp_path, "image: s:1\nenvironment: [HOME, 'A=1=2']\n")

    assert entry["env"] == {"HOME": "${HOME}", "A": "1=2"}
    assert any(n.startswith("no effect locally: services.s.environment[0]:") for n in listed)


def test_ports_long_syntax_udp_and_ranges(tmp_path: Path) -> None:
    entry, listed = _one_service(
        tmp_path,
        """\
        image: s:1
        ports:
          - {target: 80, published: 8080, host_ip: 0.0.0.0}
          - "53:53/udp"
          - "9000-9001:9000-9001"
          - 3000
          - {target: 514, published: 5514, protocol: udp}
          - "7000/sctp"
        """,
    )
    # A range and a udp port are kept as compose writes them; sctp is not published.
    assert entry["ports"] == [
        "0.0.0.0:8080:80",
        "53:53/udp",
        "9000-9001:9000-9001",
        "3000",
        "5514:514/udp",
    ]
    assert [n for n in listed if n.startswith("changes behaviour")] == [
        "changes behaviour: services.s.ports[5]: dropped: sctp ports are not published by devstack"
    ]


# -- the writer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.10",
        "0755",
        "yes",
        "no",
        "on",
        "22:22",
        "1e3",
        "",
        "~",
        "null",
        "-c",
        "a: b",
        "#x",
        "a:",
        "2026-11-29",
        'say "hi"',
        "C:\\dir",
        "it's",
        "devstack-test/busybox:1",
    ],
)
def test_scalars_that_yaml_would_retype_are_quoted(text: str) -> None:
    assert load_yaml(f"k: {scalar(text)}\n", "t").data == {"k": text}
    # Older YAML 1.1 readers (PyYAML, compose v1) read the same string too.
    assert yaml.safe_load(f"k: {scalar(text)}\n") == {"k": text}


@given(st.text())
def test_any_string_survives_the_writer(text: str) -> None:
    assert load_yaml(f"k: {scalar(text)}\n", "t").data == {"k": text}


# -- the command -----------------------------------------------------------------------


def test_cli_writes_beside_the_file_and_never_overwrites_without_force(tmp_path: Path) -> None:
    compose = project("webapp", tmp_path)
    runner = CliRunner()

    first = runner.invoke(cli, ["import", "compose", str(compose)])
    assert first.exit_code == 0, first.output
    written = compose.parent / "devstack.yaml"
    assert "name: webapp" in written.read_text()
    assert "no effect locally: services.web.deploy.resources" in first.stderr

    written.write_text("# mine\n")
    again = runner.invoke(cli, ["import", "compose", str(compose)])
    assert again.exit_code == 2
    assert f"{written} already exists; pass --force" in again.stderr
    assert written.read_text() == "# mine\n"

    forced = runner.invoke(cli, ["import", "compose", str(compose), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "name: webapp" in written.read_text()


def test_cli_prints_to_stdout_with_dash(tmp_path: Path) -> None:
    compose = project("localstack", tmp_path)

    result = CliRunner().invoke(cli, ["import", "compose", str(compose), "-o", "-"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Generated by `devstack import compose`")
    assert "warning: changes behaviour: services.localstack.volumes[1]" in result.stderr
    assert not (compose.parent / "devstack.yaml").exists()


def test_cli_reports_a_broken_compose_file_with_its_location_and_no_traceback(
    tmp_path: Path,
) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: [unclosed\n")

    result = CliRunner().invoke(cli, ["import", "compose", str(compose), "-o", "-"])

    assert result.exit_code == 2
    assert "compose.yaml:" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_key_of_the_wrong_shape_is_a_located_error(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  a:\n    image: a:1\n    ports: 8080\n")

    with pytest.raises(
        ImportProblem, match=r"compose.yaml:4:12: services.a.ports: expected a list"
    ):
        convert(compose, tmp_path, HOST_ENV)


def test_an_override_file_is_merged_as_compose_up_does(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  a:\n    image: a:1\n    environment: {X: '1'}\n")
    (tmp_path / "compose.override.yaml").write_text(
        "services: {a: {image: b:1, environment: {Y: '2'}}}\n"
    )

    result = convert(compose, tmp_path, HOST_ENV)

    assert result.data["services"]["a"]["image"] == "b:1"
    assert result.data["services"]["a"]["env"] == {"X": "1", "Y": "2"}
    assert any(n.startswith("no effect locally: compose.override.yaml") for n in notes(result))


def test_cli_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["import", "compose", str(tmp_path / "nope.yaml")])

    assert result.exit_code == 2
    assert "nope.yaml: no such file" in result.stderr


def test_the_importer_loads_no_runtime_or_ui_library() -> None:
    """An import reads files and writes text: it needs no docker, daemon or UI code."""
    code = (
        "import json, sys, devstack.importer, devstack.cli.import_cmd\n"
        "print(json.dumps([m for m in ('docker', 'textual', 'watchdog', 'fastapi', 'subprocess')"
        " if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
