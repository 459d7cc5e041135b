"""Backing services end to end: real daemon, real MiniStack and moto processes, boto3 checks."""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any

import pytest

from helpers import Stack, describe, service, wait_for

pytest.importorskip("ministack", reason="MiniStack is not installed (pip install ministack)")
pytest.importorskip("moto.server", reason="moto is not installed (pip install 'moto[server]')")
boto3 = pytest.importorskip("boto3")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BACKING = {
    "uploads": {"kind": "s3", "bucket": "t-uploads"},
    "jobs": {"kind": "sqs", "queue": "t-jobs"},
}


def consumer(name: str, uses: list[str], **extra: Any) -> dict[str, Any]:
    return service(name, flags=["--dump-env"], uses=uses, **extra)


def write(stack: Stack, services: dict[str, Any], **top: Any) -> None:
    stack.write(services, backing=top.pop("backing", BACKING), **top)


def client(kind: str, endpoint: str) -> Any:
    return boto3.client(
        kind,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def env_of(stack: Stack, name: str) -> dict[str, str]:
    """The env the service's current process started with (svc.py writes it at start)."""

    def dumped() -> dict[str, str] | None:
        try:
            return dict(stack.read_json(f"{name}.env"))
        except (OSError, ValueError):
            return None

    return wait_for(dumped, 10.0, f"{name}.env")


def wait_env(stack: Stack, name: str, var: str, different_from: str | None) -> str:
    """The value `var` has in the service's current process, once it is not the old one."""

    def fresh() -> str | None:
        try:
            value = env_of(stack, name).get(var)
        except (OSError, ValueError):
            return None
        return value if value != different_from else None

    return wait_for(fresh, 20.0, f"{name} to run with a new {var}")


def provider_endpoint(stack: Stack, backing: str) -> str:
    rows = json.loads(stack.ok("backing", "--json").stdout)
    return str(next(r for r in rows if r["name"] == backing)["endpoint"])


def test_up_starts_the_provider_provisions_and_injects_the_binding(stack: Stack) -> None:
    write(stack, {"api": consumer("api", ["uploads", "jobs"]), "plain": service("plain")})

    stack.up()

    env = env_of(stack, "api")
    endpoint = env["AWS_ENDPOINT_URL_S3"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert env["AWS_ENDPOINT_URL_SQS"] == endpoint == env["AWS_ENDPOINT_URL"]
    assert env["UPLOADS_BUCKET"] == "t-uploads"
    assert env["JOBS_QUEUE_URL"] == f"{endpoint}/000000000000/t-jobs"
    assert env["AWS_ACCESS_KEY_ID"] == "test"
    assert "AWS_ENDPOINT_URL_S3" not in stack.ok("config", "show", "plain").stdout
    # The resources exist on the provider before the consumer started.
    client("s3", endpoint).head_bucket(Bucket="t-uploads")
    client("sqs", endpoint).get_queue_url(QueueName="t-jobs")
    status = stack.services()
    assert status["ministack"]["state"] == "running"
    assert status["uploads"]["runtime"] == "provision"


def test_swap_restarts_exactly_the_consumers_with_their_new_env(stack: Stack) -> None:
    write(
        stack,
        {
            "api": consumer("api", ["uploads", "jobs"], port=None),
            "worker": consumer("worker", ["uploads"]),
            "mailer": consumer("mailer", ["jobs"]),
            "plain": service("plain"),
        },
    )
    stack.up(env={"DEVSTACK_PROVIDER_LINGER": "2"})  # the daemon's: unused providers linger 2 s
    before = stack.pids()
    old = env_of(stack, "api")["AWS_ENDPOINT_URL_S3"]

    result = stack.ok("swap", "uploads", "moto")

    assert "restarts: api, worker" in result.stdout, describe(result, stack)
    after = stack.pids()
    assert after["api"] != before["api"]
    assert after["worker"] != before["worker"]
    assert after["mailer"] == before["mailer"]
    assert after["plain"] == before["plain"]
    new = wait_env(stack, "api", "AWS_ENDPOINT_URL_S3", old)
    assert new != old
    assert env_of(stack, "api")["AWS_ENDPOINT_URL_SQS"] == old  # jobs stayed on MiniStack
    assert "AWS_ENDPOINT_URL" not in env_of(stack, "api")  # two providers now
    client("s3", new).head_bucket(Bucket="t-uploads")  # provisioned on moto
    shown = stack.ok("config", "show", "api").stdout
    assert f"AWS_ENDPOINT_URL_S3={new}" in shown
    assert "uses uploads (moto)" in shown
    rows = {r["name"]: r for r in json.loads(stack.ok("backing", "--json").stdout)}
    assert rows["uploads"]["provider"] == "moto"
    assert rows["uploads"]["swapped"] is True
    assert rows["uploads"]["consumers"] == ["api", "worker"]

    moto = stack.pids()["moto"]
    stack.ok("swap", "uploads", "--undo")

    assert wait_env(stack, "api", "AWS_ENDPOINT_URL_S3", new) == old
    assert stack.pids()["mailer"] == before["mailer"]
    # Nothing uses moto any more: it lingers (a swap back would find it warm), then it is
    # stopped (its data kept).
    assert stack.pids().get("moto") == moto
    wait_for(lambda: "moto" not in stack.services(), 15.0, "moto to be retired")


def test_dry_run_shows_the_restarts_and_changes_nothing(stack: Stack) -> None:
    write(stack, {"api": consumer("api", ["uploads"]), "plain": service("plain")})
    stack.up()
    before = stack.pids()

    result = stack.ok("swap", "uploads", "moto", "--dry-run")

    assert "uploads: ministack -> moto" in result.stdout
    assert "restarts: api" in result.stdout
    assert "api: AWS_ENDPOINT_URL_S3: http://127.0.0.1:" in result.stdout
    assert "start service:moto" in result.stdout
    assert stack.pids() == before
    assert "moto" not in stack.services()
    assert not stack.read_json(".devstack/overrides.json").get("swaps")


def test_a_swap_outlives_down_and_up_until_reset(stack: Stack) -> None:
    write(stack, {"api": consumer("api", ["uploads"])})
    stack.up()
    stack.ok("swap", "uploads", "moto")
    on_moto = provider_endpoint(stack, "uploads")

    stack.ok("down")
    stack.up()

    assert env_of(stack, "api")["AWS_ENDPOINT_URL_S3"] == on_moto
    stack.ok("swap", "--reset")
    assert wait_env(stack, "api", "AWS_ENDPOINT_URL_S3", on_moto) != on_moto


def test_a_swap_whose_provider_cannot_start_changes_nothing(stack: Stack) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        write(
            stack,
            {"api": consumer("api", ["uploads"])},
            providers={"broken": {"type": "moto", "port": port}},
        )
        stack.up()
        before = stack.pids()

        result = stack.run("swap", "uploads", "broken", "--timeout", "20")

    assert result.returncode == 1, describe(result, stack)
    assert "swap not made, nothing changed" in result.stderr
    assert "broken" in result.stderr
    assert stack.pids() == before
    assert stack.read_json(".devstack/overrides.json").get("swaps") == {}
    wait_for(lambda: "broken" not in stack.services(), 15.0, "the failed provider to go")
    assert json.loads(stack.ok("backing", "--json").stdout)[0]["provider"] == "ministack"


def test_swap_to_an_unknown_provider_is_a_usage_error(stack: Stack) -> None:
    write(stack, {"api": consumer("api", ["uploads"])})
    stack.up()

    result = stack.run("swap", "uploads", "nope")

    assert result.returncode == 2, describe(result, stack)
    assert "unknown provider 'nope'" in result.stderr
    assert "moto" in result.stderr  # lists what is known


def test_provider_data_survives_down_and_down_volumes_removes_it(stack: Stack) -> None:
    write(stack, {"api": consumer("api", ["uploads"])})
    stack.up()
    endpoint = provider_endpoint(stack, "uploads")
    client("s3", endpoint).put_object(Bucket="t-uploads", Key="kept.txt", Body=b"data")

    stack.ok("down")
    stack.up()
    body = client("s3", endpoint).get_object(Bucket="t-uploads", Key="kept.txt")["Body"].read()
    assert body == b"data"

    stack.ok("down", "--volumes")
    stack.up()
    listed = client("s3", endpoint).list_objects_v2(Bucket="t-uploads")
    assert listed.get("KeyCount", 0) == 0


def test_seed_files_are_uploaded_when_the_bucket_is_created(stack: Stack) -> None:
    (stack.root / "hello.txt").write_text("seeded")
    backing = {
        "uploads": {
            "kind": "s3",
            "bucket": "t-seeded",
            "seed": {"files": {"a/hello.txt": "hello.txt"}},
        }
    }
    write(stack, {"api": consumer("api", ["uploads"])}, backing=backing)

    stack.up()

    endpoint = provider_endpoint(stack, "uploads")
    got = client("s3", endpoint).get_object(Bucket="t-seeded", Key="a/hello.txt")["Body"].read()
    assert got == b"seeded"


def test_resources_are_provisioned_again_when_the_provider_restarts(stack: Stack) -> None:
    backing = {"uploads": {"kind": "s3", "bucket": "t-again", "provider": "moto"}}
    write(stack, {"api": consumer("api", ["uploads"])}, backing=backing)
    stack.up()
    endpoint = provider_endpoint(stack, "uploads")
    moto = stack.pids()["moto"]
    assert moto is not None

    os.kill(moto, signal.SIGKILL)  # moto keeps everything in memory: the bucket is gone

    def bucket_back() -> bool:
        try:
            client("s3", endpoint).head_bucket(Bucket="t-again")
        except Exception:  # connection refused, or 404 until it is provisioned again
            return False
        return True

    wait_for(bucket_back, 30.0, "the bucket to be provisioned again on the restarted moto")
    assert "moto restarted: provisioning again" in stack.ok("logs", "uploads").stdout


def test_a_swap_to_a_real_endpoint_needs_confirmation(stack: Stack) -> None:
    write(
        stack,
        {"api": consumer("api", ["uploads"])},
        providers={"staging": {"type": "external", "url": "http://127.0.0.1:9"}},
    )
    stack.up()
    before = stack.pids()
    old = env_of(stack, "api")["AWS_ENDPOINT_URL_S3"]

    refused = stack.run("swap", "uploads", "staging")

    assert refused.returncode == 2, describe(refused, stack)
    assert "external endpoint http://127.0.0.1:9" in refused.stdout
    assert "--yes" in refused.stderr
    assert stack.pids() == before

    stack.ok("swap", "uploads", "staging", "--yes")

    # devstack creates nothing on a real endpoint (no `provision: true`): it only rebinds.
    assert wait_env(stack, "api", "AWS_ENDPOINT_URL_S3", old) == "http://127.0.0.1:9"


def test_backing_names_the_resource_of_a_redis_backing_service_as_the_tui_does(
    stack: Stack,
) -> None:
    """Regression: the CLI's copy of the per-kind resource keys lacked redis ("-")."""
    from devstack.api.kinds import resources_text

    write(
        stack,
        {"api": consumer("api", ["cache"])},
        backing={"cache": {"kind": "redis", "database": 3, "provider": "shared"}},
        providers={"shared": {"type": "external", "url": "redis://127.0.0.1:6390"}},
    )
    stack.up()

    (row,) = json.loads(stack.ok("backing", "--json").stdout)
    line = next(x for x in stack.ok("backing").stdout.splitlines() if x.startswith("cache "))
    assert line.split()[:3] == ["cache", "redis", "shared"]
    assert "  3  " in line  # the RESOURCES column: the database number
    # The TUI's backing view renders the same function over the same row.
    assert resources_text(row["kind"], row["resources"]) == "3"
