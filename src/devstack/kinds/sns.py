"""sns: a topic and its subscriptions to the stack's sqs queues (with the queue policy AWS needs)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.kinds.run import Run
from devstack.kinds.sqs import queue_arn, queue_url
from devstack.model.backing import SnsBacking, SqsBacking, Subscription


def provision(run: Run, b: SnsBacking, root: Path, others: Mapping[str, Any]) -> bool:
    resource = f"topic {b.topic}"
    with run.guard(resource):
        sns = run.target.client("sns")
        arn = _find_topic(sns, b.topic)
        created = arn is None
        if arn is None:
            attributes = (
                {"FifoTopic": "true", "ContentBasedDeduplication": "true"}
                if b.topic.endswith(".fifo")
                else {}
            )
            arn = str(sns.create_topic(Name=b.topic, Attributes=attributes)["TopicArn"])
        run.say(f"created topic {b.topic}" if created else f"topic {b.topic} exists")
    for subscription in b.subscriptions:
        _subscribe(run, sns, b.topic, arn, subscription, others)
    return created


def missing(run: Run, b: SnsBacking) -> list[str]:
    resource = f"topic {b.topic}"
    with run.guard(resource):
        arn = _find_topic(run.target.client("sns"), b.topic)
    return [] if arn else [resource]


def _find_topic(sns: Any, topic: str) -> str | None:
    for page in sns.get_paginator("list_topics").paginate():
        for entry in page.get("Topics", []):
            arn = str(entry.get("TopicArn", ""))
            if arn.rsplit(":", 1)[-1] == topic:
                return arn
    return None


def _subscribe(
    run: Run,
    sns: Any,
    topic: str,
    topic_arn: str,
    subscription: Subscription,
    others: Mapping[str, Any],
) -> None:
    resource = f"subscription of topic {topic} to {subscription.queue}"
    backing = others.get(subscription.queue)
    if not isinstance(backing, SqsBacking):
        raise run.error(resource, f"{subscription.queue!r} is not an sqs backing service")
    queue = backing.queue
    with run.guard(resource):
        sqs = run.target.client("sqs")
        url = queue_url(sqs, queue)
        if url is None:
            raise run.error(
                resource,
                f"queue {queue} not found on {run.target.where}: provision "
                f"{subscription.queue} first, on the same provider",
            )
        arn = queue_arn(sqs, url)
        if _allow_topic(sqs, url, arn, topic_arn):
            run.say(f"allowed topic {topic} to send to queue {queue}")
        pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        if any(
            s.get("Protocol") == "sqs" and s.get("Endpoint") == arn
            for page in pages
            for s in page.get("Subscriptions", [])
        ):
            run.say(f"topic {topic} already delivers to queue {queue}")
            return
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true" if subscription.raw else "false"},
            ReturnSubscriptionArn=True,
        )
        run.say(
            f"subscribed queue {queue} to topic {topic}" + (" (raw)" if subscription.raw else "")
        )


def _allow_topic(sqs: Any, url: str, queue_arn: str, topic_arn: str) -> bool:
    """Adds the queue-policy statement AWS needs to deliver from the topic; True if added.

    Emulators deliver without it, AWS does not; the statement is added next to whatever
    policy the queue has, never replacing it (a policy that is not readable JSON is left
    alone).
    """
    reply = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    current = reply.get("Attributes", {}).get("Policy")
    try:
        policy = json.loads(current) if current else {}
    except ValueError:
        return False
    if not isinstance(policy, dict):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        condition = statement.get("Condition", {}).get("ArnEquals", {})
        if statement.get("Effect") == "Allow" and condition.get("aws:SourceArn") == topic_arn:
            return False
    statements.append(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }
    )
    policy = {"Version": policy.get("Version", "2012-10-17"), **policy, "Statement": statements}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return True
