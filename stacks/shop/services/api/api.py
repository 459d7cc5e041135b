"""api: the shop's HTTP front door. An order lands in S3, DynamoDB and SQS; flags come from SSM.

Configured only by the environment devstack injects:
  PORT, HOST (default 127.0.0.1)            where to listen
  UPLOADS_BUCKET, JOBS_QUEUE_URL, ORDERS_TABLE, FLAGS_PATH
  AWS_REGION                                passed to boto3 (it reads only AWS_DEFAULT_REGION)
  AWS_ENDPOINT_URL_{S3,SQS,DYNAMODB,SSM}, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                                            read by boto3 itself; never passed in code

  GET  /health        200 {"ok": true} when S3, SQS and DynamoDB answer; 503 names the failing ones
  POST /orders        {"item": "...", "qty": 1} -> 201 {"id": ..., "status": "pending"}
  GET  /orders/<id>   the DynamoDB item (404 if absent)
  GET  /flags         {"new-checkout": true|false} from SSM ${FLAGS_PATH}new-checkout
  GET  /config        the endpoints and resource names in use (no secrets)
"""

import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REQUIRED = ("PORT", "AWS_REGION", "UPLOADS_BUCKET", "JOBS_QUEUE_URL", "ORDERS_TABLE", "FLAGS_PATH")
FLAG = "new-checkout"
MAX_BODY = 64 * 1024
HEALTHY_FOR = 2.0  # seconds a passing health check is reused
ORDER_ID = re.compile(r"[\w-]{1,128}")
AWS_ERRORS = (BotoCoreError, ClientError)


def log(line: str) -> None:
    sys.stdout.write(f"api: {line}\n")
    sys.stdout.flush()


def log_error(line: str) -> None:
    sys.stderr.write(f"api: {line}\n")
    sys.stderr.flush()


def describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__


def read_env() -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        log_error(f"missing environment variables: {', '.join(missing)}")
        sys.exit(2)
    env = {name: os.environ[name] for name in REQUIRED}
    if not env["FLAGS_PATH"].endswith("/"):
        env["FLAGS_PATH"] += "/"
    return env


def to_json(value: object) -> object:
    """json.dumps default: DynamoDB numbers come back as Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class Shop:
    """The AWS side of the api. boto3 clients are thread-safe once created (here, up front)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        region = env["AWS_REGION"]
        path_style = Config(s3={"addressing_style": "path"})  # emulators serve no bucket hosts
        calls = Config(
            region_name=region,
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "total_max_attempts": 2},
        )
        probes = Config(
            region_name=region,
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        self.s3 = boto3.client("s3", config=calls.merge(path_style))
        self.sqs = boto3.client("sqs", config=calls)
        self.dynamodb = boto3.client("dynamodb", config=calls)
        self.ssm = boto3.client("ssm", config=calls)
        s3 = boto3.client("s3", config=probes.merge(path_style))
        sqs = boto3.client("sqs", config=probes)
        dynamodb = boto3.client("dynamodb", config=probes)
        self.probes: dict[str, Callable[[], object]] = {
            "s3": lambda: s3.head_bucket(Bucket=env["UPLOADS_BUCKET"]),
            "sqs": lambda: sqs.get_queue_attributes(
                QueueUrl=env["JOBS_QUEUE_URL"], AttributeNames=["QueueArn"]
            ),
            "dynamodb": lambda: dynamodb.describe_table(TableName=env["ORDERS_TABLE"]),
        }
        self.healthy_until = 0.0

    def health(self) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        if now < self.healthy_until:
            return 200, {"ok": True}
        failing = {}
        for name, probe in self.probes.items():
            try:
                probe()
            except AWS_ERRORS as exc:
                failing[name] = describe(exc)
        if failing:
            return 503, {"ok": False, "failing": failing}
        self.healthy_until = now + HEALTHY_FOR
        return 200, {"ok": True}

    def create_order(self, raw: bytes, item: str, qty: int) -> str:
        order_id = uuid.uuid4().hex
        self.s3.put_object(
            Bucket=self.env["UPLOADS_BUCKET"],
            Key=f"orders/{order_id}.json",
            Body=raw,
            ContentType="application/json",
        )
        self.dynamodb.put_item(
            TableName=self.env["ORDERS_TABLE"],
            Item={
                "id": {"S": order_id},
                "item": {"S": item},
                "qty": {"N": str(qty)},
                "status": {"S": "pending"},
            },
        )
        queue_url = self.env["JOBS_QUEUE_URL"]
        fifo = (
            {"MessageGroupId": order_id, "MessageDeduplicationId": order_id}
            if queue_url.endswith(".fifo")
            else {}
        )
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": order_id}), **fifo)
        return order_id

    def order(self, order_id: str) -> dict[str, Any] | None:
        reply = self.dynamodb.get_item(
            TableName=self.env["ORDERS_TABLE"], Key={"id": {"S": order_id}}, ConsistentRead=True
        )
        if "Item" not in reply:
            return None
        deserialize = TypeDeserializer().deserialize
        return {key: deserialize(value) for key, value in reply["Item"].items()}

    def flags(self) -> dict[str, bool]:
        try:
            reply = self.ssm.get_parameter(Name=f"{self.env['FLAGS_PATH']}{FLAG}")
        except self.ssm.exceptions.ParameterNotFound:
            return {FLAG: False}
        return {FLAG: reply["Parameter"]["Value"].strip().lower() == "true"}

    def config(self) -> dict[str, Any]:
        clients = {"s3": self.s3, "sqs": self.sqs, "dynamodb": self.dynamodb, "ssm": self.ssm}
        return {
            # What boto3 resolved from AWS_ENDPOINT_URL_*: shows a provider swap took effect.
            "endpoints": {name: client.meta.endpoint_url for name, client in clients.items()},
            "region": self.env["AWS_REGION"],
            "uploads_bucket": self.env["UPLOADS_BUCKET"],
            "jobs_queue_url": self.env["JOBS_QUEUE_URL"],
            "orders_table": self.env["ORDERS_TABLE"],
            "flags_path": self.env["FLAGS_PATH"],
            "hostname": socket.gethostname(),
        }


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], shop: Shop) -> None:
        super().__init__(address, Handler)
        self.shop = shop


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        shop = self.server.shop
        if path == "/health":
            self.reply(*shop.health())
        elif path == "/config":
            self.reply(200, shop.config())
        elif path == "/flags":
            self.call_aws(lambda: (200, shop.flags()))
        elif path.startswith("/orders/"):
            order_id = path.removeprefix("/orders/")
            if not ORDER_ID.fullmatch(order_id):
                self.reply(404, {"error": f"no order {order_id!r}"})
                return
            self.call_aws(lambda: self.found(shop.order(order_id), order_id))
        else:
            self.reply(404, {"error": f"no route GET {path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path != "/orders":
            self.reply(404, {"error": f"no route POST {path}"})
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.reply(411, {"error": "Content-Length required"})
            return
        if int(length) > MAX_BODY:
            self.reply(413, {"error": f"body larger than {MAX_BODY} bytes"})
            return
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.reply(400, {"error": "body must be a JSON object"})
            return
        item, qty = body.get("item"), body.get("qty", 1)
        if not isinstance(item, str) or not item.strip():
            self.reply(400, {"error": "item must be a non-empty string"})
            return
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            self.reply(400, {"error": "qty must be a positive integer"})
            return
        shop = self.server.shop
        self.call_aws(lambda: (201, {"id": shop.create_order(raw, item, qty), "status": "pending"}))

    def found(self, order: dict[str, Any] | None, order_id: str) -> tuple[int, dict[str, Any]]:
        return (200, order) if order is not None else (404, {"error": f"no order {order_id!r}"})

    def call_aws(self, action: Callable[[], tuple[int, dict[str, Any]]]) -> None:
        """Reply with what `action` returns, or 503 when AWS (or its emulator) fails it."""
        try:
            status, body = action()
        except AWS_ERRORS as exc:
            log_error(f"{self.command} {self.path} failed: {describe(exc)}")
            status, body = 503, {"error": describe(exc)}
        self.reply(status, body)

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body, default=to_json).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log(format % args)

    def log_error(self, format: str, *args: object) -> None:
        log_error(format % args)


def main() -> None:
    env = read_env()
    host = os.environ.get("HOST", "127.0.0.1")  # 0.0.0.0 inside a container
    server = Server((host, int(env["PORT"])), Shop(env))

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"listening on {host}:{env['PORT']}; {json.dumps(server.shop.config())}")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
