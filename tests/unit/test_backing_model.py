"""Backing services in the manifest: the problems `devstack validate` reports, located.

Schema rules (kinds, AWS naming rules) come from the model, cross-references (`uses:`,
providers, subscriptions, `${backing...}` fields) from the loader's semantic checks, and
what only resolution can tell (a provider that cannot serve a kind, an emulator that is
not installed) from `resolve`.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from typing import Any

import pytest

from devstack.config.extras import MissingExtra
from devstack.config.loader import LoadedStack, load_stack
from devstack.config.problems import ManifestError, Problem
from devstack.config.resolve import resolve
from devstack.model.backing import SqsBacking, check_bucket_name

PORTS = {"ministack": 45001, "moto": 45002, "localstack": 45003}

RULE_CHARS = (
    "3-63 characters of lowercase letters, digits, '.' and '-', "
    "starting and ending with a letter or digit"
)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in the manifest's folder, so problems name `devstack.yaml`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(text: str) -> LoadedStack:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(textwrap.dedent(text))
    return load_stack(path)


def load_problems(text: str) -> list[Problem]:
    with pytest.raises(ManifestError) as info:
        load(text)
    return info.value.problems


def problems(text: str) -> list[str]:
    return [str(p) for p in load_problems(text)]


def resolve_problems(text: str, environment: str = "dev", **kwargs: Any) -> list[str]:
    loaded = load(text)
    with pytest.raises(ManifestError) as info:
        resolve(loaded, environment, {}, ports=lambda name, _: PORTS.get(name, 46000), **kwargs)
    return [str(p) for p in info.value.problems]


# --- kinds ------------------------------------------------------------------------------


def test_an_unknown_kind_is_located_at_the_entry_and_lists_the_valid_kinds() -> None:
    found = problems(
        """\
        name: shop
        backing:
          events: {kind: kafka}
        """
    )

    assert found == [
        "devstack.yaml:3:11: backing.events: Input tag 'kafka' found using 'kind' does not "
        "match any of the expected tags: 's3', 'sqs', 'dynamodb', 'ssm', 'secretsmanager', "
        "'sns', 'postgres', 'redis', 'url'"
    ]


def test_a_backing_service_without_a_kind_is_refused() -> None:
    [problem] = load_problems(
        """\
        name: shop
        backing:
          uploads: {bucket: uploads}
        """
    )

    assert problem.field.startswith("backing.uploads")
    assert "kind" in problem.message


# --- S3 bucket names: AWS's rules, so what works locally works on AWS --------------------


@pytest.mark.parametrize(
    ("bucket", "rule"),
    [
        ("Uploads", RULE_CHARS),
        ("ab", RULE_CHARS),
        ("-uploads", RULE_CHARS),
        ("uploads_2", RULE_CHARS),
        ("a" * 64, RULE_CHARS),
        ("my..uploads", "no '..', '.-' or '-.'"),
        ("my-.uploads", "no '..', '.-' or '-.'"),
        ("192.168.1.1", "must not look like an IP address"),
        ("xn--uploads", "uses a prefix or suffix AWS reserves"),
        ("sthree-uploads", "uses a prefix or suffix AWS reserves"),
        ("uploads-s3alias", "uses a prefix or suffix AWS reserves"),
        ("uploads--ol-s3", "uses a prefix or suffix AWS reserves"),
    ],
)
def test_an_invalid_bucket_name_is_refused_with_the_aws_rule(bucket: str, rule: str) -> None:
    [problem] = load_problems(
        f"""\
        name: shop
        backing:
          uploads: {{kind: s3, bucket: "{bucket}"}}
        """
    )

    assert problem.message == f"invalid bucket name {bucket!r}: {rule}"
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == ("devstack.yaml", 3)
    assert problem.field.startswith("backing.uploads")


@pytest.mark.parametrize("bucket", ["abc", "my-uploads", "uploads.v2", "a" * 63, "1uploads9"])
def test_a_valid_bucket_name_is_accepted(bucket: str) -> None:
    loaded = load(
        f"""\
        name: shop
        backing:
          uploads: {{kind: s3, bucket: "{bucket}"}}
        """
    )

    assert check_bucket_name(bucket) == bucket
    assert loaded.stack.backing["uploads"].bucket == bucket  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            'backing:\n  uploads: {kind: s3, bucket: "Uploads"}',
            f"devstack.yaml:3:31: backing.uploads.bucket: invalid bucket name 'Uploads': "
            f"{RULE_CHARS}",
        ),
        (
            "backing:\n  jobs: {kind: sqs, queue: jobs, fifo: true}",
            "devstack.yaml:3:9: backing.jobs: queue 'jobs': "
            "a FIFO queue's name ends in .fifo and needs fifo: true",
        ),
        (
            "backing:\n  orders: {kind: dynamodb, table: orders, key: {a: S, b: S, c: N}}",
            "devstack.yaml:3:48: backing.orders.key: "
            "Dictionary should have at most 2 items after validation, not more",
        ),
        (
            "providers:\n  fake: {type: moto, port: 0}",
            "devstack.yaml:3:28: providers.fake.port: Input should be greater than or equal to 1",
        ),
    ],
    ids=["s3-bucket", "sqs-fifo", "dynamodb-key", "moto-port"],
)
def test_a_schema_error_inside_a_backing_or_provider_names_the_field(
    entry: str, expected: str
) -> None:
    assert problems(f"name: shop\n{entry}\n") == [expected]


# --- SQS and DynamoDB -------------------------------------------------------------------


def test_a_fifo_queue_must_end_in_fifo() -> None:
    [problem] = load_problems(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs, fifo: true}
        """
    )

    assert problem.message == (
        "queue 'jobs': a FIFO queue's name ends in .fifo and needs fifo: true"
    )
    assert problem.location is not None and problem.location.line == 3
    assert problem.field.startswith("backing.jobs")


def test_a_queue_named_fifo_must_be_declared_fifo() -> None:
    [problem] = load_problems(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs.fifo}
        """
    )

    assert "queue 'jobs.fifo': a FIFO queue's name ends in .fifo" in problem.message


def test_a_fifo_queue_gets_a_fifo_dead_letter_queue() -> None:
    loaded = load(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs.fifo, fifo: true, dead_letter: {max_receives: 5}}
          mail: {kind: sqs, queue: mail, dead_letter: {}}
        """
    )

    jobs, mail = loaded.stack.backing["jobs"], loaded.stack.backing["mail"]
    assert isinstance(jobs, SqsBacking) and isinstance(mail, SqsBacking)
    assert jobs.dead_letter_queue == "jobs-dlq.fifo"
    assert mail.dead_letter_queue == "mail-dlq"


def test_an_explicit_dead_letter_queue_must_follow_the_fifo_rule_too() -> None:
    [problem] = load_problems(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs.fifo, fifo: true, dead_letter: {queue: failed}}
        """
    )

    assert "queue 'failed': a FIFO queue's name ends in .fifo" in problem.message


def test_a_queue_visibility_timeout_takes_a_duration() -> None:
    loaded = load(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs, visibility_timeout: 1m30s}
        """
    )

    jobs = loaded.stack.backing["jobs"]
    assert isinstance(jobs, SqsBacking) and jobs.visibility_timeout == 90


def test_a_dynamodb_key_has_at_most_a_partition_and_a_sort_key() -> None:
    [problem] = load_problems(
        """\
        name: shop
        backing:
          orders: {kind: dynamodb, table: orders, key: {a: S, b: S, c: N}}
        """
    )

    assert problem.message == "Dictionary should have at most 2 items after validation, not more"
    assert problem.location is not None and problem.location.line == 3
    assert problem.field.startswith("backing.orders")


def test_a_dynamodb_key_with_partition_and_sort_key_is_accepted() -> None:
    loaded = load(
        """\
        name: shop
        backing:
          orders: {kind: dynamodb, table: orders, key: {customer: S, placed: N}}
        """
    )

    assert loaded.stack.backing["orders"].key == {"customer": "S", "placed": "N"}  # type: ignore[union-attr]


# --- cross-references -------------------------------------------------------------------


def test_using_an_unknown_backing_service_lists_the_known_ones() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          api: {command: x, uses: [uploads, nope]}
        """
    )

    assert found == [
        "devstack.yaml:5:37: services.api.uses[1]: unknown backing service 'nope' (known: uploads)"
    ]


def test_an_unknown_provider_is_located_at_the_backing_services_provider() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads, provider: nope}
        """
    )

    assert found == [
        "devstack.yaml:3:50: backing.uploads.provider: unknown provider 'nope' "
        "(known: container, localstack, ministack, moto, process)"
    ]


def test_a_declared_provider_is_known() -> None:
    found = problems(
        """\
        name: shop
        providers:
          minio: {type: external, url: "http://127.0.0.1:9000"}
        backing:
          uploads: {kind: s3, bucket: uploads, provider: minio}
          files: {kind: s3, bucket: files, provider: s3proxy}
        """
    )

    assert found == [
        "devstack.yaml:6:46: backing.files.provider: unknown provider 's3proxy' "
        "(known: container, localstack, minio, ministack, moto, process)"
    ]


def test_an_environment_binding_an_unknown_backing_service_is_located_at_it() -> None:
    found = problems(
        """\
        name: shop
        environments:
          dev:
            providers: {ghost: moto}
        backing:
          uploads: {kind: s3, bucket: uploads}
        """
    )

    assert found == [
        "devstack.yaml:4:24: environments.dev.providers.ghost: "
        "unknown backing service 'ghost' (known: uploads)"
    ]


def test_an_environment_naming_an_unknown_provider_is_located_at_it() -> None:
    found = problems(
        """\
        name: shop
        environments:
          staging:
            providers: {uploads: s3proxy}
        backing:
          uploads: {kind: s3, bucket: uploads}
        """
    )

    assert found == [
        "devstack.yaml:4:26: environments.staging.providers.uploads: unknown provider "
        "'s3proxy' (known: container, localstack, ministack, moto, process)"
    ]


def test_an_sns_subscription_must_name_an_sqs_backing_service() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
          jobs: {kind: sqs, queue: jobs}
          news:
            kind: sns
            topic: news
            subscriptions:
              - queue: jobs
              - queue: uploads
              - queue: nowhere
        """
    )

    assert found == [
        "devstack.yaml:10:16: backing.news.subscriptions[1].queue: "
        "subscription to 'uploads': not an sqs backing service (known: jobs)",
        "devstack.yaml:11:16: backing.news.subscriptions[2].queue: "
        "subscription to 'nowhere': not an sqs backing service (known: jobs)",
    ]


def test_an_unknown_backing_field_lists_the_fields_of_its_kind() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
          jobs: {kind: sqs, queue: jobs}
        services:
          api:
            command: x
            env:
              B: "${backing.uploads.nope}"
              Q: "${backing.jobs.url}"
              OK: "${backing.jobs.queue_url} ${backing.uploads.bucket}"
        """
    )

    assert found == [
        "devstack.yaml:9:10: services.api.env.B: ${backing.uploads.nope}: a s3 backing "
        "service has no field 'nope' (fields: endpoint, region, provider, bucket, arn)",
        "devstack.yaml:10:10: services.api.env.Q: ${backing.jobs.url}: a sqs backing "
        "service has no field 'url' (fields: endpoint, region, provider, queue, queue_url, "
        "dlq_url, arn)",
    ]


def test_a_backing_reference_needs_name_and_field() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          api: {command: x, env: {B: "${backing.uploads}"}}
        """
    )

    assert found == [
        "devstack.yaml:5:30: services.api.env.B: ${backing.uploads}: expected ${backing.NAME.FIELD}"
    ]


def test_a_service_may_not_share_its_name_with_a_backing_service() -> None:
    found = problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          uploads: {command: x}
        """
    )

    assert found == [
        "devstack.yaml:5:12: services.uploads: "
        "a service and a backing service are both named 'uploads'"
    ]


def test_every_backing_cross_reference_problem_is_reported_at_once() -> None:
    found = problems(
        """\
        name: shop
        environments:
          dev: {providers: {ghost: moto}}
        backing:
          uploads: {kind: s3, bucket: uploads, provider: nope}
        services:
          api: {command: x, uses: [missing]}
        """
    )

    assert len(found) == 3
    assert any("services.api.uses[0]: unknown backing service 'missing'" in p for p in found)
    assert any("backing.uploads.provider: unknown provider 'nope'" in p for p in found)
    assert any("environments.dev.providers.ghost: unknown backing service" in p for p in found)


# --- what only resolution can tell ------------------------------------------------------


def test_a_kind_the_provider_cannot_serve_is_located_at_the_backing_services_provider() -> None:
    found = resolve_problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads, provider: container}
        services:
          api: {command: x, uses: [uploads]}
        """
    )

    assert found == [
        "devstack.yaml:3:50: backing.uploads.provider: backing service 'uploads' is of kind "
        "s3, which provider 'container' (container) cannot serve (it serves: postgres, redis)"
    ]


def test_a_kind_a_declared_provider_cannot_serve_names_its_type() -> None:
    found = resolve_problems(
        """\
        name: shop
        providers:
          cache: {type: process}
        backing:
          jobs: {kind: sqs, queue: jobs, provider: cache}
        """
    )

    assert found == [
        "devstack.yaml:5:44: backing.jobs.provider: backing service 'jobs' is of kind sqs, "
        "which provider 'cache' (process) cannot serve (it serves: postgres, redis)"
    ]


def test_an_environment_provider_that_cannot_serve_the_kind_is_located_at_the_environment() -> None:
    manifest = """\
        name: shop
        environments:
          dev: {}
          ci:
            providers: {uploads: container}
        backing:
          uploads: {kind: s3, bucket: uploads}
        """

    found = resolve_problems(manifest, environment="ci")

    assert len(found) == 1
    assert found[0].startswith("devstack.yaml:5:")
    assert "environments.ci.providers: backing service 'uploads' is of kind s3" in found[0]
    resolve(load(manifest), "dev", {}, ports=lambda name, _: PORTS[name])  # dev is fine


def test_a_swap_to_an_unknown_provider_is_located_at_the_backing_service() -> None:
    found = resolve_problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        """,
        swaps={"uploads": "ghost"},
    )

    assert found == [
        "devstack.yaml:3:12: backing.uploads: backing service 'uploads': unknown provider "
        "'ghost' (known: container, localstack, ministack, moto, process)"
    ]


def test_a_service_named_like_a_provider_in_use_is_refused() -> None:
    found = resolve_problems(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          ministack: {command: x, uses: [uploads]}
        """
    )

    assert found == [
        "devstack.yaml:5:14: services.ministack: service 'ministack' has the name of a "
        "provider or backing service devstack runs; rename one of them"
    ]


def test_a_service_named_like_an_unused_provider_is_left_alone() -> None:
    loaded = load(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          moto: {command: x, uses: [uploads]}
        """
    )

    state = resolve(loaded, "dev", {}, ports=lambda name, _: PORTS[name])

    assert state.services["moto"].runtime == "process"
    assert "moto" not in state.retired  # it is the user's service: never stopped as retired


def test_a_missing_emulator_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "ministack" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    manifest = """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: uploads}
        services:
          api: {command: x, uses: [uploads]}
        """

    # Not a manifest problem (the manifest works where ministack is installed): its own
    # error, naming the install command.
    with pytest.raises(MissingExtra) as raised:
        resolve(load(manifest), "dev", {}, ports=lambda name, _: PORTS[name])

    assert str(raised.value) == (
        "backing service 'uploads': provider 'ministack' needs ministack, which is not "
        "installed here: pip install 'devstack[ministack]' (or: pip install ministack)"
    )
    # Only the chosen provider must be installed: swapped to moto, the stack resolves.
    state = resolve(
        load(manifest), "dev", {}, ports=lambda name, _: PORTS[name], swaps={"uploads": "moto"}
    )
    assert "moto" in state.services and "ministack" not in state.services
