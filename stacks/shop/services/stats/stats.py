"""stats: order counts by status and the checkout flag, read through localstack-client.

Written as LocalStack's own docs suggest, `import localstack_client.session as boto3`: the
library finds the emulator itself and sends every AWS service there. It reads
AWS_ENDPOINT_URL first, then LOCALSTACK_HOST (host:port), both of which devstack injects
for a consumer of LocalStack or MiniStack, as that consumer reaches it. So nothing here
names an endpoint.

Configured only by the environment devstack injects:
  PORT, HOST (default 127.0.0.1)            where to listen
  ORDERS_TABLE, FLAGS_PATH
  AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                                            passed to the Session (it has its own defaults)
  AWS_ENDPOINT_URL / LOCALSTACK_HOST        read by localstack-client itself

  GET /health   200 {"ok": true} when the orders table answers; 503 says why
  GET /stats    {"orders": {"pending": 1, "done": 2}, "new_checkout": true,
                 "endpoint": "<where localstack-client sent the calls>"}
"""

import json
import os
import signal
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import localstack_client.session as boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REQUIRED = ("PORT", "AWS_REGION", "ORDERS_TABLE", "FLAGS_PATH")
FLAG = "new-checkout"
AWS_ERRORS = (BotoCoreError, ClientError)


def log(line: str) -> None:
    sys.stdout.write(f"stats: {line}\n")
    sys.stdout.flush()


def describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__


def read_env() -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        sys.stderr.write(f"stats: missing environment variables: {', '.join(missing)}\n")
        sys.exit(2)
    env = {name: os.environ[name] for name in REQUIRED}
    if not env["FLAGS_PATH"].endswith("/"):
        env["FLAGS_PATH"] += "/"
    return env


class Stats:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        # The Session defaults to us-east-1 and dummy keys: pass what devstack gives.
        session = boto3.Session(
            region_name=env["AWS_REGION"],
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        )
        calls = Config(
            connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}
        )
        self.dynamodb = session.client("dynamodb", config=calls)
        self.ssm = session.client("ssm", config=calls)

    @property
    def endpoint(self) -> str:
        return str(self.dynamodb.meta.endpoint_url)

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            self.dynamodb.describe_table(TableName=self.env["ORDERS_TABLE"])
        except AWS_ERRORS as exc:
            return 503, {"ok": False, "error": describe(exc), "endpoint": self.endpoint}
        return 200, {"ok": True}

    def stats(self) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.env["ORDERS_TABLE"],
            ProjectionExpression="#status",
            ExpressionAttributeNames={"#status": "status"},
        )
        for page in pages:
            for item in page.get("Items", []):
                counts[item.get("status", {}).get("S", "unknown")] += 1
        try:
            flag = self.ssm.get_parameter(Name=f"{self.env['FLAGS_PATH']}{FLAG}")
            checkout = flag["Parameter"]["Value"].strip().lower() == "true"
        except self.ssm.exceptions.ParameterNotFound:
            checkout = False
        return {"orders": dict(counts), "new_checkout": checkout, "endpoint": self.endpoint}


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], stats: Stats) -> None:
        super().__init__(address, Handler)
        self.stats = stats


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/health":
            self.reply(*self.server.stats.health())
        elif path == "/stats":
            try:
                self.reply(200, self.server.stats.stats())
            except AWS_ERRORS as exc:
                self.reply(503, {"error": describe(exc)})
        else:
            self.reply(404, {"error": f"no route GET {path}"})

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log(format % args)


def main() -> None:
    env = read_env()
    host = os.environ.get("HOST", "127.0.0.1")
    stats = Stats(env)
    server = Server((host, int(env["PORT"])), stats)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"listening on {host}:{env['PORT']}; AWS calls go to {stats.endpoint} (localstack-client)")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
