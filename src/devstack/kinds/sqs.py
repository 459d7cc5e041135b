"""sqs: a queue and its dead-letter queue, settings kept in line, messages seeded on creation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from devstack.kinds.run import Run, count, error_code
from devstack.model.backing import SqsBacking

_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
# SQS queue attributes AWS refuses to change after creation.
_IMMUTABLE_QUEUE_ATTRIBUTES = frozenset({"FifoQueue"})


def provision(run: Run, b: SqsBacking, root: Path, others: Mapping[str, Any]) -> bool:
    attributes: dict[str, str] = {}
    if b.fifo:
        # Content-based deduplication lets producers send without a deduplication id.
        attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    if b.dead_letter_queue and b.dead_letter:
        resource = f"dead-letter queue {b.dead_letter_queue}"
        with run.guard(resource):
            sqs = run.target.client("sqs")
            url, _ = _ensure_queue(run, sqs, b.dead_letter_queue, dict(attributes), resource)
            target_arn = queue_arn(sqs, url)
        policy = {"deadLetterTargetArn": target_arn, "maxReceiveCount": b.dead_letter.max_receives}
        attributes["RedrivePolicy"] = json.dumps(policy)
    if b.visibility_timeout is not None:
        attributes["VisibilityTimeout"] = str(b.visibility_timeout)
    resource = f"queue {b.queue}"
    with run.guard(resource):
        sqs = run.target.client("sqs")
        url, created = _ensure_queue(run, sqs, b.queue, attributes, resource)
    messages = b.seed.messages if b.seed else []
    if messages and created:
        for index, body in enumerate(messages):
            extra = (
                {"MessageGroupId": "devstack-seed", "MessageDeduplicationId": f"seed-{index}"}
                if b.fifo
                else {}
            )
            with run.guard(f"seed message {index + 1} of queue {b.queue}"):
                sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
        run.say(f"seeded {count(len(messages), 'message')} into queue {b.queue}")
    elif messages:
        run.say(f"seed of queue {b.queue} skipped: applied only when the queue is created")
    return created


def missing(run: Run, b: SqsBacking) -> list[str]:
    queues = [("dead-letter queue", b.dead_letter_queue), ("queue", b.queue)]
    absent = []
    for what, queue in queues:
        if queue is None:
            continue
        with run.guard(f"{what} {queue}"):
            if queue_url(run.target.client("sqs"), queue) is None:
                absent.append(f"{what} {queue}")
    return absent


def _ensure_queue(
    run: Run, sqs: Any, name: str, attributes: dict[str, str], what: str
) -> tuple[str, bool]:
    """The queue's URL, and whether this call created it.

    An existing queue whose settings differ from the manifest gets the mutable ones set:
    they hold no data, and a consumer behind a swap must see the declared visibility
    timeout and redrive policy. Its messages are never touched.
    """
    url = queue_url(sqs, name)
    if url is None:
        try:
            url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        except ClientError as exc:
            if error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            url = queue_url(sqs, name)  # created meanwhile, with other settings
        else:
            run.say(f"created {what}")
            return url, True
    if url is None:
        raise run.error(what, "created and then gone")
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    changed = {
        key: value
        for key, value in attributes.items()
        if key not in _IMMUTABLE_QUEUE_ATTRIBUTES and not _same(key, current.get(key), value)
    }
    if changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        run.say(f"{what} exists; set {', '.join(sorted(changed))} as declared")
    else:
        run.say(f"{what} exists")
    return url, False


def _same(key: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if key == "RedrivePolicy":
        try:
            have, want = json.loads(current), json.loads(wanted)
        except ValueError:
            return False
        return bool(
            have.get("deadLetterTargetArn") == want.get("deadLetterTargetArn")
            and str(have.get("maxReceiveCount")) == str(want.get("maxReceiveCount"))
        )
    return str(current).lower() == wanted.lower()


def queue_url(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in _NO_QUEUE:
            return None
        raise


def queue_arn(sqs: Any, url: str) -> str:
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(reply["Attributes"]["QueueArn"])
