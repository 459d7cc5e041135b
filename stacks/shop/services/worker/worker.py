"""worker: takes order jobs off SQS, reads each order from S3 and marks it done in DynamoDB.

Configured only by the environment devstack injects:
  JOBS_QUEUE_URL, UPLOADS_BUCKET, ORDERS_TABLE
  AWS_REGION                                passed to boto3 (it reads only AWS_DEFAULT_REGION)
  AWS_ENDPOINT_URL_{S3,SQS,DYNAMODB}, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                                            read by boto3 itself; never passed in code

One message at a time, long-polling for a second so that SIGTERM is noticed quickly; on
SIGTERM (or SIGINT) the current message is finished and the worker exits 0. An unreachable
endpoint (say, while devstack swaps the provider) is logged and the loop backs off (capped);
a message that failed comes back after the queue's visibility timeout, as SQS retries go.
A message that can never succeed (malformed, or its order is gone) is logged and left to the
queue's dead-letter queue when it has one (RedrivePolicy), deleted when it has none.
"""

import json
import os
import signal
import socket
import sys
import time
import traceback
from types import FrameType
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REQUIRED = ("AWS_REGION", "JOBS_QUEUE_URL", "UPLOADS_BUCKET", "ORDERS_TABLE")
POLL_SECONDS = 1  # WaitTimeSeconds: how long a receive may block, and so delay a stop
FIRST_DELAY, MAX_DELAY = 0.2, 5.0  # backoff between retries after a failure, in seconds
AWS_ERRORS = (BotoCoreError, ClientError)


def log(line: str) -> None:
    sys.stdout.write(f"worker: {line}\n")
    sys.stdout.flush()


def log_error(line: str) -> None:
    sys.stderr.write(f"worker: {line}\n")
    sys.stderr.flush()


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def read_env() -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        log_error(f"missing environment variables: {', '.join(missing)}")
        sys.exit(2)
    return {name: os.environ[name] for name in REQUIRED}


class Unprocessable(Exception):
    """The message can never succeed: retrying it is pointless."""


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.queue_url = env["JOBS_QUEUE_URL"]
        self.hostname = socket.gethostname()
        self.stopping = False
        self.delay = 0.0  # current backoff; 0 while things work
        self.redrive: bool | None = None  # whether the queue has a dead-letter queue
        # No botocore retries: the loop retries, with a backoff that a stop interrupts.
        config = Config(
            region_name=env["AWS_REGION"],
            connect_timeout=2,
            read_timeout=POLL_SECONDS + 4,
            retries={"mode": "standard", "total_max_attempts": 1},
        )
        path_style = Config(s3={"addressing_style": "path"})  # emulators serve no bucket hosts
        self.s3 = boto3.client("s3", config=config.merge(path_style))
        self.sqs = boto3.client("sqs", config=config)
        self.dynamodb = boto3.client("dynamodb", config=config)

    def stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log(f"{signal.Signals(signum).name}: stopping after the current message")
        self.stopping = True

    def run(self) -> None:
        log(
            f"polling {self.queue_url} (bucket {self.env['UPLOADS_BUCKET']}, "
            f"table {self.env['ORDERS_TABLE']}) as {self.hostname}"
        )
        while not self.stopping:
            try:
                reply = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=POLL_SECONDS
                )
            except AWS_ERRORS as exc:
                self.back_off(f"receive from {self.queue_url} failed: {describe(exc)}")
                continue
            messages = reply.get("Messages", [])
            if not messages:
                self.recovered()
            for message in messages:
                self.process(message)
        log("stopped")

    def process(self, message: dict[str, Any]) -> None:
        started = time.monotonic()
        try:
            order_id, order = self.handle(message)
        except Unprocessable as exc:
            self.give_up(message, str(exc))
        except AWS_ERRORS as exc:
            self.back_off(f"message {message.get('MessageId')} failed: {describe(exc)}")
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.back_off(f"message {message.get('MessageId')} failed unexpectedly")
        else:
            self.delete(message)
            self.recovered()
            elapsed = (time.monotonic() - started) * 1000
            log(
                f"order {order_id} done ({order.get('qty')} x {order.get('item')!r}) "
                f"in {elapsed:.0f} ms"
            )

    def handle(self, message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Do the job; raises Unprocessable, or an AWS error worth retrying."""
        try:
            order_id = json.loads(message["Body"])["id"]
        except (KeyError, TypeError, ValueError):
            order_id = None
        if not isinstance(order_id, str) or not order_id:
            raise Unprocessable(f"no order id in {message.get('Body')!r:.200}")
        key = f"orders/{order_id}.json"
        try:
            obj = self.s3.get_object(Bucket=self.env["UPLOADS_BUCKET"], Key=key)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise Unprocessable(f"order {order_id}: no object {key}") from exc
            raise
        try:
            order = json.loads(obj["Body"].read())
        except ValueError as exc:
            raise Unprocessable(f"order {order_id}: {key} is not JSON") from exc
        try:
            self.dynamodb.update_item(
                TableName=self.env["ORDERS_TABLE"],
                Key={"id": {"S": order_id}},
                UpdateExpression="SET #status = :done, processed_by = :host",
                ConditionExpression="attribute_exists(#id)",
                ExpressionAttributeNames={"#status": "status", "#id": "id"},
                ExpressionAttributeValues={":done": {"S": "done"}, ":host": {"S": self.hostname}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Unprocessable(f"order {order_id} is not in the table") from exc
            raise
        return order_id, order if isinstance(order, dict) else {}

    def delete(self, message: dict[str, Any]) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except AWS_ERRORS as exc:
            # The message comes back after its visibility timeout; redoing a job is harmless.
            log_error(f"could not delete message {message.get('MessageId')}: {describe(exc)}")

    def give_up(self, message: dict[str, Any], why: str) -> None:
        """Leave an unprocessable message to the dead-letter queue, or delete it if none."""
        if self.redrive is None:
            try:
                attributes = self.sqs.get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"]
                )
            except AWS_ERRORS as exc:
                log_error(
                    f"message {message.get('MessageId')}: {why}; left in the queue ({describe(exc)})"
                )
                return
            self.redrive = "RedrivePolicy" in attributes.get("Attributes", {})
        if self.redrive:
            log_error(f"message {message.get('MessageId')}: {why}; left for the dead-letter queue")
        else:
            log_error(f"message {message.get('MessageId')}: {why}; deleted (no dead-letter queue)")
            self.delete(message)

    def back_off(self, why: str) -> None:
        self.delay = min(MAX_DELAY, self.delay * 2) if self.delay else FIRST_DELAY
        log_error(f"{why}; retrying in {self.delay:.1f}s")
        deadline = time.monotonic() + self.delay
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.05)

    def recovered(self) -> None:
        if self.delay:
            log("AWS answers again")
        self.delay = 0.0


def main() -> None:
    worker = Worker(read_env())
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
