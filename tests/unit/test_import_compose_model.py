"""`import compose` reads the whole compose model: extends, include, merge tags, env files,
interpolation; rewires variables onto bindings; `--strict`, `--keep-services`, profiles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.cli.main import cli
from devstack.config.loader import load_stack
from devstack.config.yaml_loader import RESET, Override, load_yaml
from devstack.importer import ImportProblem, convert
from devstack.importer.merge import merge

SHELL = {"HOME": "/home/dev"}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / next(iter(files))


def services(root: Path, files: dict[str, str], **kw: object) -> dict[str, dict[str, object]]:
    result = convert(write(root, files), root, SHELL, **kw)  # type: ignore[arg-type]
    (root / "devstack.yaml").write_text(result.text)
    load_stack(root / "devstack.yaml")  # every case imports to a valid manifest
    found: dict[str, dict[str, object]] = result.data["services"]
    return found


# -- extends ---------------------------------------------------------------------------


def test_extends_another_file_merges_and_rebases_its_paths(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              web:
                extends: {file: common/base.yaml, service: app}
                environment: {MODE: web}
                ports: ["8080:80"]
            """,
            "common/base.yaml": """\
            services:
              app:
                build: ./src
                command: ["serve", "--base"]
                environment: {MODE: base, SHARED: "1"}
                volumes: ["./data:/data"]
            """,
            "common/src/Dockerfile": "FROM scratch\n",
        },
    )
    web = found["web"]
    assert web["build"] == "./common/src"  # relative to the file that wrote it
    assert web["volumes"] == ["./common/data:/data"]
    assert web["env"] == {"MODE": "web", "SHARED": "1"}  # the extending service wins
    assert web["command"] == ["serve", "--base"]


def test_extends_in_the_same_file_and_chains(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              base: {image: app:1, environment: [A=1], cap_add: [NET_ADMIN]}
              mid: {extends: base, environment: [B=2]}
              top: {extends: {service: mid}, environment: [A=3]}
            """,
        },
    )
    assert found["top"]["env"] == {"A": "3", "B": "2"}
    assert found["top"]["cap_add"] == ["NET_ADMIN"]
    assert found["top"]["image"] == "app:1"


def test_an_extends_cycle_or_a_missing_base_is_one_located_line(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yaml": "services:\n  a: {extends: b}\n  b: {extends: a}\n"})
    with pytest.raises(ImportProblem, match=r"compose.yaml:\d+:\d+: services\.\w\.extends"):
        convert(tmp_path / "compose.yaml", tmp_path, SHELL)
    write(tmp_path, {"compose.yaml": "services:\n  a: {extends: {service: nope}}\n"})
    with pytest.raises(ImportProblem, match="no service 'nope'"):
        convert(tmp_path / "compose.yaml", tmp_path, SHELL)


# -- merge rules and tags ---------------------------------------------------------------


def test_reset_and_override_tags_are_read_only_when_asked() -> None:
    text = "a: !reset []\nb: !override [1]\n"
    doc = load_yaml(text, "x.yaml", compose_tags=True)
    assert doc.data == {"a": RESET, "b": Override([1])}
    with pytest.raises(Exception, match="unsupported tag !reset"):
        load_yaml(text, "x.yaml")  # a manifest still refuses them


def test_merge_follows_compose_rules() -> None:
    base = {
        "command": ["a", "b"],
        "ports": ["80:80"],
        "volumes": ["v:/data", "./x:/x"],
        "environment": ["A=1", "B=2"],
        "depends_on": ["db"],
        "healthcheck": {"test": ["CMD", "old"], "interval": "5s"},
    }
    over = {
        "command": ["c"],
        "ports": ["81:81"],
        "volumes": ["w:/data"],
        "environment": {"B": "3"},
        "depends_on": {"cache": {"condition": "service_healthy"}},
        "healthcheck": {"test": ["CMD", "new"]},
    }
    merged = merge(base, over)
    assert merged["command"] == ["c"]  # shell commands are replaced
    assert merged["ports"] == ["80:80", "81:81"]  # appended
    assert merged["volumes"] == ["./x:/x", "w:/data"]  # unique by target
    assert merged["environment"] == {"A": "1", "B": "3"}
    assert merged["depends_on"] == {
        "db": {"condition": "service_started"},
        "cache": {"condition": "service_healthy"},
    }
    assert merged["healthcheck"] == {"test": ["CMD", "new"], "interval": "5s"}
    assert "ports" not in merge(base, {"ports": RESET})
    assert merge(base, {"ports": Override(["9:9"])})["ports"] == ["9:9"]


def test_reset_and_override_in_an_extending_service(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              base: {image: a:1, ports: ["8080:80"], environment: {A: "1", B: "2"}}
              web:
                extends: base
                ports: !reset []
                environment: !override {C: "3"}
            """,
        },
    )
    assert "ports" not in found["web"]
    assert found["web"]["env"] == {"C": "3"}


# -- include ------------------------------------------------------------------------------


def test_include_with_its_own_env_file_and_project_directory(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            include:
              - path: infra/compose.yaml
                env_file: infra/infra.env
              - other.yaml
            services:
              app: {image: app:1, depends_on: [queue]}
            """,
            "infra/compose.yaml": """\
            services:
              queue:
                image: "rabbitmq:${RABBIT_TAG}"
                volumes: ["./conf:/etc/rabbitmq:ro"]
                env_file: {path: ./rabbit.env, required: false}
            """,
            "infra/infra.env": "RABBIT_TAG=3-management\n",
            "other.yaml": "services:\n  side: {image: side:1}\n",
        },
    )
    assert set(found) == {"app", "queue", "side"}
    # Read with the include's variables, so evaluated here ($ escaped again for devstack).
    assert found["queue"]["image"] == "rabbitmq:3-management"
    assert found["queue"]["volumes"] == ["./infra/conf:/etc/rabbitmq:ro"]


def test_an_included_service_that_clashes_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": "include: [other.yaml]\nservices:\n  a: {image: a:1}\n",
            "other.yaml": "services:\n  a: {image: b:1}\n",
        },
    )
    with pytest.raises(ImportProblem, match=r"service 'a' of .*other\.yaml conflicts"):
        convert(tmp_path / "compose.yaml", tmp_path, SHELL)


# -- env files and interpolation ---------------------------------------------------------


def test_env_file_long_form_and_every_interpolation_form(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              a:
                image: a:1
                env_file:
                  - {path: ./a.env, required: true}
                  - {path: ./missing.env, required: false}
                command: ["echo", "$$HOME", "${UNSET:-d1}", "${EMPTY-d2}", "${SET:+alt}",
                          "${SET+alt2}", "${SET:?err}", "${SET?err}", "${UNSET:-${SET}}"]
              b: {image: b:1}
            """,
            "a.env": "FROM_FILE=1\n",
            ".env": "SET=value\nEMPTY=\n",
        },
    )
    assert found["a"]["command"] == [
        "echo", "$HOME", "d1", "", "alt", "alt2", "value", "value", "value",
    ]  # fmt: skip
    assert found["a"]["env"] == {"FROM_FILE": "1"}


# -- variables that pointed at a converted service ----------------------------------------


def test_hosts_and_urls_of_a_converted_service_are_rewritten(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              app:
                image: app:1
                environment:
                  REDIS_HOST: cache
                  REDIS_ADDR: cache:6379
                  DB_HOST: db
                  ALEMBIC_URL: postgresql+psycopg2://u:p@db:5432/x
                  BROKER: redis://cache:6379/1
              db: {image: "postgres:16", environment: {POSTGRES_USER: u, POSTGRES_PASSWORD: p, POSTGRES_DB: x}}
              cache: {image: "redis:7"}
            """,
        },
    )
    env = found["app"]["env"]
    assert isinstance(env, dict)
    assert env["REDIS_HOST"] == "${backing.cache.host}"
    assert env["REDIS_ADDR"] == "${backing.cache.host}:${backing.cache.port}"
    assert env["DB_HOST"] == "${backing.db.host}"
    assert env["ALEMBIC_URL"] == {
        "value": "postgresql+psycopg2://u:p@${backing.db.host}:${backing.db.port}/x",
        "secret": True,
    }
    assert env["BROKER"] == "${CACHE_URL}"  # exactly the binding's URL: its variable
    assert set(found["app"]["uses"]) == {"cache", "db"}  # type: ignore[call-overload]


def test_keep_services_keeps_a_database_a_container(tmp_path: Path) -> None:
    files = {
        "compose.yaml": """\
        services:
          app: {image: app:1, environment: {DB_HOST: db}}
          db: {image: "postgres:16"}
        """,
    }
    found = services(tmp_path, files, keep=frozenset({"db"}))
    assert found["db"]["image"] == "postgres:16"
    assert found["app"]["env"] == {"DB_HOST": "db"}
    with pytest.raises(ImportProblem, match="--keep-services nope: no service 'nope'"):
        convert(tmp_path / "compose.yaml", tmp_path, SHELL, keep=frozenset({"nope"}))


# -- the command --------------------------------------------------------------------------


def test_strict_exits_1_and_writes_nothing_when_behaviour_changes(tmp_path: Path) -> None:
    compose = write(
        tmp_path, {"compose.yaml": "services:\n  a: {image: a:1, ports: ['7000/sctp']}\n"}
    )

    strict = CliRunner().invoke(cli, ["import", "compose", str(compose), "--strict"])
    assert strict.exit_code == 1
    assert "changes behaviour: services.a.ports[0]" in strict.stderr
    assert "1 note(s) change behaviour (--strict)" in strict.stderr
    assert not (tmp_path / "devstack.yaml").exists()

    plain = CliRunner().invoke(cli, ["import", "compose", str(compose)])
    assert plain.exit_code == 0
    clean = write(tmp_path / "c", {"compose.yaml": "services:\n  a: {image: a:1}\n"})
    assert CliRunner().invoke(cli, ["import", "compose", str(clean), "--strict"]).exit_code == 0


def test_up_profile_enables_profiled_services_in_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(
        "name: p\nservices:\n"
        "  api: {command: [sleep, '60']}\n"
        "  debug: {command: [sleep, '61'], profiles: [debug]}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEVSTACK_WATCH", "0")
    monkeypatch.delenv("DEVSTACK_PROFILES", raising=False)

    def plan(*args: str) -> str:
        result = CliRunner().invoke(cli, ["-f", str(manifest), "up", "--dry-run", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "service:debug" not in plan() and "service:api" in plan()
    assert "service:debug" in plan("--profile", "debug")
    monkeypatch.setenv("DEVSTACK_PROFILES", "debug")
    assert "service:debug" in plan()
    unknown = CliRunner().invoke(cli, ["-f", str(manifest), "up", "--dry-run", "--profile", "x"])
    assert unknown.exit_code == 2
    assert "no service has profile x (profiles: debug)" in unknown.stderr


def test_a_database_whose_password_is_a_secret_file_stays_a_container(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            services:
              app:
                image: app:1
                environment: {PG_HOST: db, PG_PASSWORD_FILE: /run/secrets/pw}
                secrets: [pw]
              db:
                image: "postgres:16"
                environment: {POSTGRES_PASSWORD_FILE: /run/secrets/pw}
                secrets: [pw]
              unnamed: {image: "redis:7"}
            secrets:
              pw: {file: ./pw.txt}
            """,
            "pw.txt": "s3cret\n",
        },
    )
    # Its consumers read the same secret: converted, the server would not know it.
    assert found["db"]["secrets"] == ["pw"]
    assert found["app"]["env"] == {"PG_HOST": "db", "PG_PASSWORD_FILE": "/run/secrets/pw"}
    assert found["unnamed"]["image"] == "redis:7"  # no environment names it: kept too
    assert "s3cret" not in (tmp_path / "devstack.yaml").read_text()


def test_include_project_directory_is_where_its_relative_paths_start(tmp_path: Path) -> None:
    found = services(
        tmp_path,
        {
            "compose.yaml": """\
            include:
              - path: stacks/db/compose.yaml
                project_directory: .
            services:
              app: {image: app:1}
            """,
            "stacks/db/compose.yaml": """\
            services:
              search: {image: "search:1", volumes: ["./data:/data"]}
            """,
        },
    )
    assert found["search"]["volumes"] == ["./data:/data"]  # from project_directory, not stacks/db
