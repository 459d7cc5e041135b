"""Resolving backing services: provider choice, provider workloads, relays, backing nodes
and the variables each consumer gets, as seen from where it runs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from devstack.config.loader import load_stack
from devstack.config.problems import ManifestError
from devstack.config.resolve import resolve
from devstack.model.desired import ContainerSpec, DesiredState, EnvVar, ProcessSpec, ProvisionSpec

PORTS = {"ministack": 45001, "moto": 45002, "localstack": 45003}
AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS")

SHOP = """\
name: shop
backing:
  uploads: {kind: s3, bucket: shop-uploads}
services:
  api: {command: python3 api.py, uses: [uploads]}
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ports(name: str, container_port: int) -> int:
    return PORTS.get(name, 46000)


def stack(
    manifest: str = SHOP,
    environment: str = "dev",
    host_env: dict[str, str] | None = None,
    **kwargs: Any,
) -> DesiredState:
    path = Path.cwd() / "devstack.yaml"
    path.write_text(textwrap.dedent(manifest))
    return resolve(load_stack(path), environment, host_env or {}, ports=ports, **kwargs)


def values(state: DesiredState, service: str) -> dict[str, str]:
    spec = state.services[service].spec
    assert isinstance(spec, ProcessSpec | ContainerSpec)
    return dict(spec.env)


def var(state: DesiredState, service: str, name: str) -> EnvVar:
    [found] = [v for v in state.services[service].env if v.name == name]
    return found


def provision(state: DesiredState, backing: str) -> ProvisionSpec:
    spec = state.services[backing].spec
    assert isinstance(spec, ProvisionSpec)
    return spec


def hashes(state: DesiredState) -> dict[str, str]:
    return {name: s.spec_hash for name, s in state.services.items()}


# --- what a consumer gets ----------------------------------------------------------------


def test_a_host_process_reaches_ministack_on_the_loopback_with_emulator_credentials() -> None:
    state = stack()

    assert values(state, "api") == {
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:45001",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:45001",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "LOCALSTACK_HOST": "127.0.0.1:45001",  # for localstack-client code
        "UPLOADS_BUCKET": "shop-uploads",
    }
    assert var(state, "api", "AWS_SECRET_ACCESS_KEY").secret
    assert not var(state, "api", "AWS_ACCESS_KEY_ID").secret
    assert not var(state, "api", "UPLOADS_BUCKET").secret


def test_ministack_runs_as_a_host_process_on_the_loopback_at_the_allocated_port() -> None:
    state = stack()

    ministack = state.services["ministack"]
    assert isinstance(ministack.spec, ProcessSpec)
    assert ministack.spec.command[1:] == ("-m", "ministack")
    assert ministack.spec.ports == (45001,)
    assert ministack.spec.env["GATEWAY_PORT"] == "45001"
    assert ministack.spec.env["BIND_HOST"] == "127.0.0.1"  # never 0.0.0.0
    assert ministack.healthcheck is not None and ministack.healthcheck.http


def test_emulator_data_lives_in_the_state_folder(tmp_path: Path) -> None:
    state = stack(state_dir=tmp_path / "state")

    env = values(state, "ministack")
    assert env["STATE_DIR"] == str(tmp_path / "state" / "data" / "ministack" / "state")
    assert env["S3_DATA_DIR"] == str(tmp_path / "state" / "data" / "ministack" / "s3")


def test_a_container_reaches_a_host_emulator_through_a_relay_on_the_same_port() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
        services:
          api: {command: python3 api.py, uses: [uploads]}
          web: {image: "nginx:1.27", uses: [uploads]}
        """
    )

    assert values(state, "web")["AWS_ENDPOINT_URL_S3"] == "http://host.docker.internal:45001"
    assert values(state, "web")["AWS_ENDPOINT_URL"] == "http://host.docker.internal:45001"
    assert values(state, "api")["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:45001"
    relay = state.services["ministack-relay"]
    assert isinstance(relay.spec, ProcessSpec)
    assert relay.spec.command[-2:] == ("45001", "127.0.0.1:45001")
    assert relay.depends_on == {"ministack": "service_healthy"}
    assert "ministack-relay" not in state.retired


def test_no_relay_runs_without_a_container_consumer() -> None:
    state = stack()

    assert "ministack-relay" not in state.services
    assert "ministack-relay" in state.retired  # one left from an earlier run is stopped


def test_localstack_is_a_container_reached_by_name_from_containers_and_by_port_from_the_host() -> (
    None
):
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: localstack}
          jobs: {kind: sqs, queue: jobs, provider: localstack}
          orders: {kind: dynamodb, table: orders, key: {id: S}}
        services:
          api: {command: python3 api.py, uses: [uploads, jobs]}
          web: {image: "nginx:1.27", uses: [uploads, jobs]}
        """
    )

    assert values(state, "api")["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:45003"
    assert values(state, "api")["JOBS_QUEUE_URL"] == "http://127.0.0.1:45003/000000000000/jobs"
    assert values(state, "web")["AWS_ENDPOINT_URL_S3"] == "http://localstack:4566"
    assert values(state, "web")["JOBS_QUEUE_URL"] == "http://localstack:4566/000000000000/jobs"
    localstack = state.services["localstack"]
    assert isinstance(localstack.spec, ContainerSpec)
    assert localstack.spec.image == "localstack/localstack:4.14"  # pinned: latest needs a token
    assert [(p.container, p.host) for p in localstack.spec.ports] == [(4566, 45003)]
    # Only AWS kinds the stack declares (ssm, sns... stay off), including dynamodb although
    # orders is on MiniStack now: swapping orders here must not restart LocalStack.
    assert localstack.spec.env["SERVICES"] == "dynamodb,s3,sqs"
    assert "LOCALSTACK_AUTH_TOKEN" not in localstack.spec.env
    assert "localstack-relay" not in state.services  # a container needs no relay
    assert provision(state, "uploads").ready_url == "http://127.0.0.1:45003/_localstack/init/ready"
    assert provision(state, "orders").provider == "ministack"


def test_the_localstack_auth_token_is_passed_only_when_the_host_has_one() -> None:
    manifest = """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: localstack}
        """

    without = stack(manifest, host_env={"HOME": "/home/me"})
    with_token = stack(manifest, host_env={"LOCALSTACK_AUTH_TOKEN": "ls-abc"})

    assert "LOCALSTACK_AUTH_TOKEN" not in values(without, "localstack")
    assert values(with_token, "localstack")["LOCALSTACK_AUTH_TOKEN"] == "ls-abc"
    assert var(with_token, "localstack", "LOCALSTACK_AUTH_TOKEN").secret


def test_a_running_localstack_url_is_used_instead_of_a_container() -> None:
    state = stack(
        """\
        name: shop
        providers:
          shared: {type: localstack, url: "http://localhost:4566/"}
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: shared}
        services:
          api: {command: python3 api.py, uses: [uploads]}
          web: {image: "nginx:1.27", uses: [uploads]}
        """
    )

    assert "shared" not in state.services
    assert values(state, "api")["AWS_ENDPOINT_URL_S3"] == "http://localhost:4566"
    assert values(state, "web")["AWS_ENDPOINT_URL_S3"] == "http://host.docker.internal:4566"


def test_bindings_on_two_providers_get_their_own_endpoints_and_no_shared_one() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
          jobs: {kind: sqs, queue: jobs, provider: moto}
        services:
          api: {command: python3 api.py, uses: [uploads, jobs]}
        """
    )

    env = values(state, "api")
    assert env["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:45001"
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:45002"
    assert "AWS_ENDPOINT_URL" not in env  # it would send S3 calls to moto or SQS to ministack


def test_bindings_on_one_provider_also_get_the_shared_endpoint() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
          jobs: {kind: sqs, queue: jobs}
        services:
          api: {command: python3 api.py, uses: [uploads, jobs]}
        """
    )

    env = values(state, "api")
    assert env["AWS_ENDPOINT_URL_S3"] == env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:45001"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:45001"


def test_a_binding_on_real_aws_gets_no_endpoint_and_no_emulator_credentials() -> None:
    state = stack(
        """\
        name: shop
        providers:
          prod: {type: aws, profile: dev-account, region: eu-west-1}
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: prod}
        services:
          api: {command: python3 api.py, uses: [uploads]}
        """
    )

    assert values(state, "api") == {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_PROFILE": "dev-account",
        "UPLOADS_BUCKET": "shop-uploads",
    }


def test_a_real_account_named_in_the_manifest_gives_queue_urls_and_arns() -> None:
    state = stack(
        """\
        name: shop
        providers:
          prod: {type: aws, profile: dev-account, region: eu-west-1, account: "210987654321"}
          stage: {type: external, url: "https://sqs.staging.example", account: "111122223333"}
        backing:
          jobs: {kind: sqs, queue: jobs, provider: prod, dead_letter: {}}
          news: {kind: sns, topic: news, provider: prod}
          mail: {kind: sqs, queue: mail, provider: stage}
        services:
          api: {command: python3 api.py, uses: [jobs, news, mail]}
        """
    )

    env = values(state, "api")
    assert env["JOBS_QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/210987654321/jobs"
    assert env["JOBS_DLQ_URL"] == "https://sqs.eu-west-1.amazonaws.com/210987654321/jobs-dlq"
    assert env["NEWS_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:210987654321:news"
    assert env["MAIL_QUEUE_URL"] == "https://sqs.staging.example/111122223333/mail"


def test_an_account_id_that_is_not_twelve_digits_is_a_located_error(tmp_path: Path) -> None:
    manifest = tmp_path / "devstack.yaml"
    manifest.write_text(
        "name: shop\nproviders:\n  prod: {type: aws, account: 12345}\n"
        "services:\n  api: {command: python3 api.py}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_stack(manifest)
    assert "devstack.yaml:3" in str(caught.value)
    assert "providers.prod.aws.account" in str(caught.value) or "account" in str(caught.value)


@pytest.mark.parametrize(
    ("provider", "account"), [("moto", "123456789012"), ("ministack", "000000000000")]
)
def test_queue_urls_use_the_providers_account(provider: str, account: str) -> None:
    state = stack(
        f"""\
        name: shop
        backing:
          jobs: {{kind: sqs, queue: jobs, provider: {provider}, dead_letter: {{}}}}
        services:
          worker: {{command: python3 worker.py, uses: [jobs]}}
          web: {{image: "nginx:1.27", uses: [jobs]}}
        """
    )

    port = PORTS[provider]
    assert values(state, "worker")["JOBS_QUEUE_URL"] == f"http://127.0.0.1:{port}/{account}/jobs"
    assert values(state, "worker")["JOBS_DLQ_URL"] == f"http://127.0.0.1:{port}/{account}/jobs-dlq"
    assert (
        values(state, "web")["JOBS_QUEUE_URL"]
        == f"http://host.docker.internal:{port}/{account}/jobs"
    )


def test_a_queue_without_a_dead_letter_queue_gets_no_dlq_variable() -> None:
    state = stack(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs}
        services:
          worker: {command: python3 worker.py, uses: [jobs]}
        """
    )

    assert "JOBS_DLQ_URL" not in values(state, "worker")


def test_every_aws_kind_binds_its_sdk_endpoint_and_resource_name() -> None:
    state = stack(
        """\
        name: shop
        backing:
          user-files: {kind: s3, bucket: user-files}
          orders: {kind: dynamodb, table: orders, key: {id: S}}
          config: {kind: ssm, path: /shop, parameters: {greeting: hi}}
          keys: {kind: secretsmanager, secrets: {shop/api-key: xyz, shop/other: abc}}
          news: {kind: sns, topic: news}
          docs: {kind: url, url: "https://docs.example.com"}
        services:
          api:
            command: python3 api.py
            uses: [user-files, orders, config, keys, news, docs]
        """
    )

    env = values(state, "api")
    url = "http://127.0.0.1:45001"
    assert {k: v for k, v in env.items() if k.startswith("AWS_ENDPOINT_URL")} == {
        "AWS_ENDPOINT_URL_S3": url,
        "AWS_ENDPOINT_URL_DYNAMODB": url,
        "AWS_ENDPOINT_URL_SSM": url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
        "AWS_ENDPOINT_URL_SNS": url,
        "AWS_ENDPOINT_URL": url,
    }
    assert env["USER_FILES_BUCKET"] == "user-files"
    assert env["ORDERS_TABLE"] == "orders"
    assert env["CONFIG_PATH"] == "/shop/"
    assert env["KEYS_SECRET_ID"] == "shop/api-key"
    assert env["NEWS_TOPIC_ARN"] == "arn:aws:sns:us-east-1:000000000000:news"
    assert env["DOCS_URL"] == "https://docs.example.com"


def test_a_providers_region_reaches_its_consumers() -> None:
    state = stack(
        """\
        name: shop
        providers:
          moto: {type: moto, region: eu-central-1}
        backing:
          jobs: {kind: sqs, queue: jobs, provider: moto}
        services:
          worker: {command: python3 worker.py, uses: [jobs]}
        """
    )

    env = values(state, "worker")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert provision(state, "jobs").region == "eu-central-1"


def test_a_backing_template_resolves_for_where_each_consumer_runs() -> None:
    state = stack(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs}
        services:
          worker: {command: python3 worker.py, env: {QUEUE: "${backing.jobs.queue_url}"}}
          web:
            image: "nginx:1.27"
            env: {QUEUE: "${backing.jobs.queue_url}", ARN: "${backing.jobs.arn}"}
        """
    )

    assert values(state, "worker")["QUEUE"] == "http://127.0.0.1:45001/000000000000/jobs"
    assert values(state, "web")["QUEUE"] == "http://host.docker.internal:45001/000000000000/jobs"
    assert values(state, "web")["ARN"] == "arn:aws:sqs:us-east-1:000000000000:jobs"
    # A template is not a binding: no binding variables, but it waits for the queue.
    assert "JOBS_QUEUE_URL" not in values(state, "worker")
    assert state.services["worker"].depends_on == {"jobs": "service_started"}
    # A container also waits for the relay that carries it to the host emulator.
    assert state.services["web"].depends_on == {
        "jobs": "service_started",
        "ministack-relay": "service_started",
    }


def test_the_services_own_env_overrides_a_binding_variable() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
        services:
          api:
            command: python3 api.py
            uses: [uploads]
            env: {AWS_REGION: eu-west-1, UPLOADS_BUCKET: "${UPLOADS_BUCKET}-tmp"}
        """
    )

    region = var(state, "api", "AWS_REGION")
    assert (region.value, region.source.layer) == ("eu-west-1", "service")
    assert values(state, "api")["UPLOADS_BUCKET"] == "shop-uploads-tmp"  # built on the binding
    assert values(state, "api")["AWS_DEFAULT_REGION"] == "us-east-1"


def test_binding_variables_name_their_backing_service_and_provider() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
          jobs: {kind: sqs, queue: jobs, provider: moto}
        services:
          api: {command: python3 api.py, uses: [uploads, jobs]}
        """
    )

    bucket = var(state, "api", "UPLOADS_BUCKET")
    queue = var(state, "api", "JOBS_QUEUE_URL")
    assert bucket.source.layer == queue.source.layer == "binding"
    assert str(bucket.source) == "uses uploads (ministack)"
    assert str(queue.source) == "uses jobs (moto)"
    assert str(var(state, "api", "AWS_ENDPOINT_URL_SQS").source) == "uses jobs (moto)"


def test_a_consumer_waits_for_its_resources_to_be_created() -> None:
    state = stack(
        """\
        name: shop
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
          docs: {kind: url, url: "https://docs.example.com"}
        services:
          api: {command: python3 api.py, uses: [uploads, docs]}
        """
    )

    assert state.services["api"].depends_on == {"uploads": "service_started"}
    assert state.services["uploads"].depends_on == {"ministack": "service_healthy"}
    assert state.services["uploads"].runtime == "provision"
    assert state.order.index("ministack") < state.order.index("uploads")
    assert state.order.index("uploads") < state.order.index("api")
    assert "docs" not in state.services  # a URL needs nothing run or created


def test_an_sns_topic_is_provisioned_after_the_queues_it_feeds() -> None:
    state = stack(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs}
          news:
            kind: sns
            topic: news
            subscriptions: [{queue: jobs}]
        """
    )

    assert state.services["news"].depends_on == {
        "ministack": "service_healthy",
        "jobs": "service_started",
    }
    assert provision(state, "news").others["jobs"]["queue"] == "jobs"


# --- which provider serves a backing service ---------------------------------------------

PRECEDENCE = """\
name: shop
environments:
  dev:
    providers: {uploads: moto}
  ci: {}
backing:
  uploads: {kind: s3, bucket: shop-uploads, provider: localstack}
  files: {kind: s3, bucket: shop-files}
services:
  api: {command: python3 api.py, uses: [uploads]}
"""


@pytest.mark.parametrize(
    ("environment", "swaps", "expected"),
    [
        ("dev", {"uploads": "ministack"}, "ministack"),  # a swap beats everything
        ("dev", {}, "moto"),  # the environment beats the entry's provider
        ("ci", {}, "localstack"),  # the entry's provider beats the default
        ("ci", {"uploads": "moto"}, "moto"),
    ],
)
def test_provider_precedence(environment: str, swaps: dict[str, str], expected: str) -> None:
    state = stack(PRECEDENCE, environment=environment, swaps=swaps)

    assert provision(state, "uploads").provider == expected
    assert str(var(state, "api", "UPLOADS_BUCKET").source) == f"uses uploads ({expected})"
    assert provision(state, "files").provider == "ministack"  # the default for AWS kinds


def test_an_environment_that_does_not_bind_a_backing_service_leaves_it_alone() -> None:
    state = stack(
        """\
        name: shop
        environments:
          dev: {}
          staging: {providers: {uploads: moto}}
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
        """
    )

    assert provision(state, "uploads").provider == "ministack"
    assert "moto" not in state.services


SWAP = """\
name: shop
backing:
  uploads: {kind: s3, bucket: shop-uploads}
  jobs: {kind: sqs, queue: jobs}
services:
  api: {command: python3 api.py, uses: [uploads]}
  web: {image: "nginx:1.27", uses: [uploads]}
  worker: {command: python3 worker.py, uses: [jobs]}
  plain: {command: python3 plain.py}
"""


def test_swapping_a_backing_service_changes_exactly_its_consumers_and_its_node() -> None:
    before = stack(SWAP)
    after = stack(SWAP, swaps={"uploads": "moto"})

    old, new = hashes(before), hashes(after)
    changed = {name for name in old.keys() & new.keys() if old[name] != new[name]}
    assert changed == {"api", "web", "uploads"}
    assert new.keys() - old.keys() == {"moto", "moto-relay"}
    assert old.keys() - new.keys() == {"ministack-relay"}  # jobs keeps ministack; web moved
    assert {"ministack-relay"} <= after.retired and "ministack" not in after.retired
    assert values(after, "api")["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:45002"
    assert values(after, "web")["AWS_ENDPOINT_URL_S3"] == "http://host.docker.internal:45002"


def test_resolving_twice_gives_the_same_hashes() -> None:
    assert hashes(stack(SWAP)) == hashes(stack(SWAP))


def test_a_warm_provider_runs_although_nothing_uses_it_yet() -> None:
    state = stack(warm=frozenset({"moto"}))

    moto = state.services["moto"]
    assert isinstance(moto.spec, ProcessSpec)
    assert moto.spec.command[1:] == ("-m", "moto.server", "-H", "127.0.0.1", "-p", "45002")
    assert "moto" not in state.retired
    assert provision(state, "uploads").provider == "ministack"  # nothing moved yet
    assert values(state, "api")["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:45001"


def test_unused_providers_are_retired() -> None:
    state = stack()

    assert {"moto", "localstack", "moto-relay"} <= state.retired
    assert not {"ministack", "uploads", "api"} & state.retired
    assert not state.retired & set(state.services)


def test_the_provider_a_swap_left_is_retired() -> None:
    state = stack(swaps={"uploads": "moto"})

    assert "ministack" in state.retired
    assert "ministack" not in state.services
    assert "moto" not in state.retired


# --- existing endpoints: devstack creates nothing unless asked ---------------------------


@pytest.mark.parametrize(
    "provider",
    [
        "{type: external, url: 'https://s3.example.com', access_key_id: ak, "
        "secret_access_key: sk, provision: PROVISION}",
        "{type: aws, profile: dev-account, provision: PROVISION}",
    ],
    ids=["external", "aws"],
)
@pytest.mark.parametrize("provision_", [False, True], ids=["no-provision", "provision"])
def test_an_existing_endpoint_gets_a_backing_node_only_with_provision(
    provider: str, provision_: bool
) -> None:
    state = stack(
        f"""\
        name: shop
        providers:
          real: {provider.replace("PROVISION", str(provision_).lower())}
        backing:
          uploads: {{kind: s3, bucket: shop-uploads, provider: real}}
        services:
          api: {{command: python3 api.py, uses: [uploads]}}
        """
    )

    assert "real" not in state.services  # nothing to run
    assert ("uploads" in state.services) is provision_
    expected = {"uploads": "service_started"} if provision_ else {}
    assert state.services["api"].depends_on == expected
    assert values(state, "api")["UPLOADS_BUCKET"] == "shop-uploads"


def test_an_external_endpoint_and_its_credentials_reach_the_consumer() -> None:
    state = stack(
        """\
        name: shop
        providers:
          minio: {type: external, url: "https://s3.example.com/", access_key_id: ak,
                  secret_access_key: sk, provision: true}
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: minio}
        services:
          api: {command: python3 api.py, uses: [uploads]}
        """
    )

    env = values(state, "api")
    assert env["AWS_ENDPOINT_URL_S3"] == "https://s3.example.com"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("ak", "sk")
    spec = provision(state, "uploads")
    assert (spec.endpoint_url, spec.access_key_id, spec.secret_access_key) == (
        "https://s3.example.com",
        "ak",
        "sk",
    )


# --- bugs found ---------------------------------------------------------------------------


def test_an_environment_var_can_use_a_backing_template() -> None:
    state = stack(
        """\
        name: shop
        environments:
          dev:
            vars: {BUCKET: "${backing.uploads.bucket}"}
        backing:
          uploads: {kind: s3, bucket: shop-uploads}
        services:
          api: {command: python3 api.py}
        """
    )

    assert values(state, "api")["BUCKET"] == "shop-uploads"


def test_a_container_reaches_an_external_endpoint_on_the_host_loopback() -> None:
    state = stack(
        """\
        name: shop
        providers:
          minio: {type: external, url: "http://127.0.0.1:9000"}
        backing:
          uploads: {kind: s3, bucket: shop-uploads, provider: minio}
        services:
          api: {command: python3 api.py, uses: [uploads]}
          web: {image: "nginx:1.27", uses: [uploads]}
        """
    )

    assert values(state, "api")["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9000"
    assert values(state, "web")["AWS_ENDPOINT_URL_S3"] == "http://host.docker.internal:9000"


def test_a_container_using_a_backing_template_gets_the_relay_it_needs() -> None:
    state = stack(
        """\
        name: shop
        backing:
          jobs: {kind: sqs, queue: jobs}
        services:
          web: {image: "nginx:1.27", env: {QUEUE: "${backing.jobs.queue_url}"}}
        """
    )

    assert values(state, "web")["QUEUE"].startswith("http://host.docker.internal:45001/")
    assert "ministack-relay" in state.services
