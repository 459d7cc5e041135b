"""sqs: the queued messages, only with --include-messages.

Reading a queue without losing it: every message is received with a visibility timeout
long enough to read them all, then its visibility is set back to 0, so it is on the queue
again at once. The cost, documented in docs/backing-data.md: each message's receive count
goes up by one (a dead-letter redrive may fire), a consumer polling meanwhile does not
see the messages being read, and a FIFO queue's groups are blocked while they are.

A restore empties the target queue and sends the snapshot's messages (so running it
again converges).
"""

from __future__ import annotations

import uuid
from typing import Any

from devstack.data.adapter import DataError, DataOptions, DataTarget, RestorePlan
from devstack.data.snapshot import BackingReader, BackingWriter

READ_VISIBILITY = 120  # seconds a message stays hidden while the queue is read
_EMPTY_RECEIVES = 3  # receives in a row that find nothing: the queue has been read
_NOT_COPIED = "queued messages not copied (take the snapshot with --include-messages)"


def _client(target: DataTarget) -> Any:
    assert target.aws is not None
    return target.aws.client("sqs", max_attempts=4)


def _queue(target: DataTarget) -> str:
    return str(target.resources["queue"])


def _url(sqs: Any, target: DataTarget) -> str:
    try:
        return str(sqs.get_queue_url(QueueName=_queue(target))["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise DataError(
            f"{target.backing}: queue {_queue(target)} does not exist on {target.provider}"
        ) from None


def _depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(n, 0)) for n in names)


class SqsAdapter:
    kind = "sqs"

    def snapshot(self, target: DataTarget, out: BackingWriter, options: DataOptions) -> None:
        out.info["messages"] = options.include_messages
        if not options.include_messages:
            out.notes.append(_NOT_COPIED)
            return
        sqs = _client(target)
        url = _url(sqs, target)
        fifo = url.endswith(".fifo")
        handles: list[dict[str, str]] = []
        empty = 0
        try:
            while empty < _EMPTY_RECEIVES:
                reply = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=READ_VISIBILITY,
                    WaitTimeSeconds=0,
                    AttributeNames=["MessageGroupId", "MessageDeduplicationId"],
                    MessageAttributeNames=["All"],
                )
                messages = reply.get("Messages", [])
                empty = 0 if messages else empty + 1
                for m in messages:
                    record: dict[str, Any] = {"body": m["Body"]}
                    if m.get("MessageAttributes"):
                        record["attributes"] = _attributes(m["MessageAttributes"])
                    if fifo:
                        record["group_id"] = m.get("Attributes", {}).get("MessageGroupId", "")
                    stored = out.put_record(f"{len(handles):08d}", record)
                    handles.append({"Id": str(len(handles)), "ReceiptHandle": m["ReceiptHandle"]})
                    options.progress.advance(1, stored.size)
        finally:
            # Back on the queue at once, read or not (an error above included).
            for start in range(0, len(handles), 10):
                batch = [{**h, "VisibilityTimeout": 0} for h in handles[start : start + 10]]
                sqs.change_message_visibility_batch(QueueUrl=url, Entries=batch)

    def plan(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> RestorePlan:
        plan = RestorePlan(snap.name, self.kind)
        if not snap.info.get("messages"):
            plan.notes.append("messages were not copied into this snapshot: queue left as it is")
            plan.work = None
            return plan
        sqs = _client(target)
        url = _url(sqs, target)
        plan.delete = _depth(sqs, url)
        plan.add = len(snap.items)
        plan.work = url
        return plan

    def apply(
        self, target: DataTarget, snap: BackingReader, plan: RestorePlan, options: DataOptions
    ) -> None:
        if plan.work is None:
            return
        sqs, url = _client(target), str(plan.work)
        if plan.delete:
            sqs.purge_queue(QueueUrl=url)
        fifo = url.endswith(".fifo")
        # Fresh deduplication ids: a restore run again within the queue's 5-minute window
        # must not see its messages dropped as duplicates of the first run's.
        run = uuid.uuid4().hex
        batch: list[dict[str, Any]] = []
        for item, record in snap.records():
            entry: dict[str, Any] = {"Id": str(len(batch)), "MessageBody": record["body"]}
            if record.get("attributes"):
                entry["MessageAttributes"] = record["attributes"]
            if fifo:
                entry["MessageGroupId"] = record.get("group_id") or "default"
                entry["MessageDeduplicationId"] = f"{run}-{item.key}"
            batch.append(entry)
            if len(batch) == 10:
                sqs.send_message_batch(QueueUrl=url, Entries=batch)
                options.progress.advance(len(batch))
                batch = []
        if batch:
            sqs.send_message_batch(QueueUrl=url, Entries=batch)
            options.progress.advance(len(batch))

    def check(self, target: DataTarget, snap: BackingReader, options: DataOptions) -> list[str]:
        if not snap.info.get("messages"):
            return []
        sqs = _client(target)
        depth = _depth(sqs, _url(sqs, target))
        if depth != len(snap.items):
            return [f"queue {_queue(target)}: {depth} messages, the snapshot has {len(snap.items)}"]
        return []


def _attributes(raw: dict[str, Any]) -> dict[str, Any]:
    """Message attributes as send_message takes them (string and number values only:
    binary attributes are rare and would need base64 in the snapshot)."""
    out = {}
    for name, value in raw.items():
        if "StringValue" in value:
            out[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    return out


ADAPTER = SqsAdapter()
