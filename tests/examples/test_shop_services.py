"""The shop stack's api and worker against a real MiniStack, as plain subprocesses.

Each service gets only the environment devstack's contract gives it (no inherited AWS_*
variables, HOME in the test's folder), so a variable the services read without being
given it shows up here as a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from helpers import free_port, wait_for

SERVICES = Path(__file__).resolve().parents[2] / "stacks" / "shop" / "services"
API = SERVICES / "api" / "api.py"
WORKER = SERVICES / "worker" / "worker.py"
REGION = "eu-west-1"  # not boto3's fallback: shows AWS_REGION is what the services use
SECRET = "shop-test-secret"
STOP_WITHIN = 3.0

pytestmark = pytest.mark.timeout(60)


@dataclass
class Emulator:
    url: str


@dataclass
class Resources:
    bucket: str
    queue_url: str
    table: str
    flags_path: str


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        return f"stdout:\n{self.stdout.read_text()}\nstderr:\n{self.stderr.read_text()}"

    def terminate(self) -> int:
        return _terminate(self)[0]


Start = Callable[[Path, dict[str, str]], Service]


def _terminate(*services: Service) -> list[int]:
    """SIGTERM all at once, then their exit statuses; fails unless all exit within STOP_WITHIN."""
    deadline = time.monotonic() + STOP_WITHIN
    for service in services:
        service.proc.send_signal(signal.SIGTERM)
    codes = []
    for service in services:
        try:
            codes.append(service.proc.wait(timeout=max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"{service.proc.args!r} ignored SIGTERM for {STOP_WITHIN}s\n{service.logs()}"
            )
    return codes


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _ministack(root: Path, port: int) -> Iterator[Emulator]:
    """A MiniStack on 127.0.0.1:port, healthy, with its state and pid file under root."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "TMPDIR": str(root),  # its pid file
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "STATE_DIR": str(root / "state"),
        "S3_DATA_DIR": str(root / "s3"),
    }
    log = root / f"ministack-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ministack"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _health(url):
            assert proc.poll() is None, f"ministack exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"ministack not healthy:\n{log.read_text()}"
            time.sleep(0.1)
        yield Emulator(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with _ministack(tmp_path_factory.mktemp("ministack"), free_port()) as running:
        yield running


def _client(emulator: Emulator, name: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=emulator.url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )


def _create(emulator: Emulator, suffix: str, queue: str) -> Resources:
    bucket, table, flags_path = f"uploads-{suffix}", f"orders-{suffix}", f"/shop-{suffix}/flags/"
    _client(emulator, "s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    attributes = {"FifoQueue": "true"} if queue.endswith(".fifo") else {}
    queue_url = _client(emulator, "sqs").create_queue(QueueName=queue, Attributes=attributes)[
        "QueueUrl"
    ]
    dynamodb = _client(emulator, "dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    _client(emulator, "ssm").put_parameter(
        Name=f"{flags_path}new-checkout", Value="true", Type="String"
    )
    return Resources(bucket, queue_url, table, flags_path)


def _contract(endpoint: str, resources: Resources, home: Path) -> dict[str, str]:
    """The environment devstack gives the shop's services, and nothing else of the host's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ENDPOINT_URL_SQS": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_SSM": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "UPLOADS_BUCKET": resources.bucket,
        "JOBS_QUEUE_URL": resources.queue_url,
        "ORDERS_TABLE": resources.table,
        "FLAGS_PATH": resources.flags_path,
    }


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """start(script, env) runs a service; whatever is still running at teardown is killed."""
    started: list[Service] = []

    def run(script: Path, env: dict[str, str]) -> Service:
        name = f"{script.stem}-{len(started)}"
        stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, str(script)],
                env=env,
                cwd=script.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        service = Service(proc, stdout, stderr)
        started.append(service)
        return service

    yield run
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
        service.proc.wait()


def _request(method: str, url: str, body: object = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def _start_api(start: Start, env: dict[str, str]) -> tuple[Service, str]:
    port = free_port()
    api = start(API, {**env, "PORT": str(port)})
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert api.proc.poll() is None, f"api exited:\n{api.logs()}"
        try:
            _request("GET", f"{base}/config")
        except OSError:
            return False
        return True

    wait_for(answers, timeout=10, what="the api to answer")
    return api, base


def test_order_goes_from_api_through_worker_to_done(
    emulator: Emulator, start: Start, tmp_path: Path
) -> None:
    resources = _create(emulator, "jobs", "jobs")
    env = _contract(emulator.url, resources, tmp_path)
    api, base = _start_api(start, env)
    worker = start(WORKER, env)

    assert _request("GET", f"{base}/health") == (200, {"ok": True})

    status, config = _request("GET", f"{base}/config")
    assert status == 200
    assert config["endpoints"] == dict.fromkeys(("s3", "sqs", "dynamodb", "ssm"), emulator.url)
    assert config["region"] == REGION
    assert config["uploads_bucket"] == resources.bucket
    assert config["jobs_queue_url"] == resources.queue_url
    assert config["orders_table"] == resources.table
    assert config["flags_path"] == resources.flags_path
    assert SECRET not in json.dumps(config)

    assert _request("GET", f"{base}/flags") == (200, {"new-checkout": True})
    _client(emulator, "ssm").delete_parameter(Name=f"{resources.flags_path}new-checkout")
    assert _request("GET", f"{base}/flags") == (200, {"new-checkout": False})

    assert _request("POST", f"{base}/orders", {"qty": 1})[0] == 400
    assert _request("GET", f"{base}/orders/{'0' * 32}")[0] == 404

    status, created = _request("POST", f"{base}/orders", {"item": "teapot", "qty": 2})
    assert status == 201, created
    order_id = created["id"]
    assert created == {"id": order_id, "status": "pending"}
    assert len(order_id) == 32
    stored = _client(emulator, "s3").get_object(
        Bucket=resources.bucket, Key=f"orders/{order_id}.json"
    )
    assert json.loads(stored["Body"].read()) == {"item": "teapot", "qty": 2}

    def done() -> dict[str, Any] | None:
        assert worker.proc.poll() is None, f"worker exited:\n{worker.logs()}"
        status, order = _request("GET", f"{base}/orders/{order_id}")
        assert status == 200, order
        return order if order["status"] == "done" else None

    order = wait_for(done, timeout=15, what=f"order {order_id} to be done", interval=0.1)
    assert order == {
        "id": order_id,
        "item": "teapot",
        "qty": 2,
        "status": "done",
        "processed_by": socket.gethostname(),
    }

    assert _terminate(api, worker) == [0, 0], f"{api.logs()}\n{worker.logs()}"
    assert f"order {order_id} done" in worker.stdout.read_text()
    assert worker.stderr.read_text() == "", worker.logs()
    api_lines = api.stdout.read_text().splitlines()
    assert any('"POST /orders HTTP/1.1" 201' in line for line in api_lines), api.logs()
    assert any(f'"GET /orders/{order_id} HTTP/1.1" 200' in line for line in api_lines)


def test_fifo_jobs_and_a_failing_health_check(
    emulator: Emulator, start: Start, tmp_path: Path
) -> None:
    resources = _create(emulator, "fifo", "jobs.fifo")
    api, base = _start_api(start, _contract(emulator.url, resources, tmp_path))

    status, created = _request("POST", f"{base}/orders", {"item": "cup"})
    assert status == 201, created
    sqs = _client(emulator, "sqs")
    messages = sqs.receive_message(
        QueueUrl=resources.queue_url, AttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"id": created["id"]}]
    assert messages[0]["Attributes"]["MessageGroupId"] == created["id"]
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == created["id"]

    _client(emulator, "dynamodb").delete_table(TableName=resources.table)
    status, body = _request("GET", f"{base}/health")
    assert status == 503, body
    assert body["ok"] is False
    assert set(body["failing"]) == {"dynamodb"}
    assert api.terminate() == 0, api.logs()


def test_worker_rides_out_an_unreachable_endpoint(start: Start, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    resources = Resources("uploads", f"{dead}/000000000000/jobs", "orders", "/shop/flags/")
    worker = start(WORKER, _contract(dead, resources, tmp_path))

    def retried() -> bool:
        assert worker.proc.poll() is None, f"worker exited:\n{worker.logs()}"
        return worker.stderr.read_text().count("retrying in") >= 2

    wait_for(retried, timeout=10, what="the worker to retry twice")
    assert worker.terminate() == 0, worker.logs()


def test_services_refuse_to_start_without_their_variables(start: Start, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    for service in [start(API, env), start(WORKER, env)]:
        assert service.proc.wait(timeout=10) == 2
        assert "missing environment variables" in service.stderr.read_text()


def test_worker_picks_up_once_the_endpoint_comes_back(start: Start, tmp_path: Path) -> None:
    """A provider swap as the worker sees it: nothing answers, then a fresh emulator does."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    resources = Resources("uploads-late", f"{endpoint}/000000000000/late", "orders-late", "/f/")
    worker = start(WORKER, _contract(endpoint, resources, tmp_path))
    wait_for(
        lambda: "retrying in" in worker.stderr.read_text(),
        timeout=10,
        what="the worker to fail a receive",
    )

    with _ministack(tmp_path, port) as emulator:
        created = _create(emulator, "late", "late")
        assert created.queue_url == resources.queue_url
        order_id = "late0001"
        _client(emulator, "s3").put_object(
            Bucket=created.bucket, Key=f"orders/{order_id}.json", Body=b'{"item": "kettle"}'
        )
        dynamodb = _client(emulator, "dynamodb")
        dynamodb.put_item(
            TableName=created.table,
            Item={"id": {"S": order_id}, "status": {"S": "pending"}},
        )
        _client(emulator, "sqs").send_message(
            QueueUrl=created.queue_url, MessageBody=json.dumps({"id": order_id})
        )

        def done() -> bool:
            assert worker.proc.poll() is None, f"worker exited:\n{worker.logs()}"
            item = dynamodb.get_item(
                TableName=created.table, Key={"id": {"S": order_id}}, ConsistentRead=True
            )["Item"]
            return bool(item["status"]["S"] == "done")

        wait_for(done, timeout=15, what=f"order {order_id} to be done", interval=0.1)
        assert worker.terminate() == 0, worker.logs()
    assert "AWS answers again" in worker.stdout.read_text()
    assert f"order {order_id} done" in worker.stdout.read_text()


def test_worker_sets_aside_a_message_it_can_never_process(
    emulator: Emulator, start: Start, tmp_path: Path
) -> None:
    """Deleted when the queue has no dead-letter queue, left for it when it has one."""
    sqs = _client(emulator, "sqs")
    plain = _create(emulator, "poison", "poison")
    dlq_url = sqs.create_queue(QueueName="poison-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    redriven_url = sqs.create_queue(
        QueueName="poison-redriven", Attributes={"RedrivePolicy": policy}
    )["QueueUrl"]
    redriven = Resources(plain.bucket, redriven_url, plain.table, plain.flags_path)

    workers = []
    for resources in (plain, redriven):
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody="not json")
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=json.dumps({"id": "gone"}))
        workers.append(start(WORKER, _contract(emulator.url, resources, tmp_path)))

    def handled(worker: Service, outcome: str) -> bool:
        assert worker.proc.poll() is None, f"worker exited:\n{worker.logs()}"
        return worker.stderr.read_text().count(outcome) == 2

    wait_for(lambda: handled(workers[0], "; deleted (no dead-letter queue)"), 10, "deletes")
    wait_for(lambda: handled(workers[1], "; left for the dead-letter queue"), 10, "set-asides")
    assert _terminate(*workers) == [0, 0], "\n".join(w.logs() for w in workers)
    assert "no order id in 'not json'" in workers[0].stderr.read_text()
    assert "order gone: no object orders/gone.json" in workers[0].stderr.read_text()
    attributes = sqs.get_queue_attributes(
        QueueUrl=plain.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
