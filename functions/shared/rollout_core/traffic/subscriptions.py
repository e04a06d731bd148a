"""SNS subscriptions: a topic invokes the function ARN its subscription's endpoint names.

The topics are the ones the function's permissions name (an SNS subscription can't invoke
a function without one), read with ListSubscriptionsByTopic, at most MAX_TOPICS of them.
"""

from __future__ import annotations

from typing import Any

from .. import clients
from ..models import TrafficSource
from .reading import Reading, attempt
from .subject import Subject

MAX_TOPICS = 10


def read(subject: Subject, reading: Reading, topics: list[str]) -> None:
    """Adds each lambda subscription on the function."""
    for topic in sorted(set(topics))[:MAX_TOPICS]:
        what = f"subscriptions of SNS topic {topic} (ListSubscriptionsByTopic)"
        found = attempt(reading.unread, what, lambda t=topic: _subscriptions(t))
        for subscription in found or []:
            if subscription.get("Protocol") != "lambda":
                continue
            qualifier = subject.qualifier_in(str(subscription.get("Endpoint", "")))
            if qualifier is not None:
                reading.add(
                    TrafficSource(kind="SNS subscription", source=topic, qualifier=qualifier)
                )
    if len(set(topics)) > MAX_TOPICS:
        reading.unread.append(
            f"SNS: the subscriptions of {len(set(topics)) - MAX_TOPICS} more topics were not read"
        )


def _subscriptions(topic: str) -> list[dict[str, Any]]:
    pages = clients.sns().get_paginator("list_subscriptions_by_topic")
    return [s for page in pages.paginate(TopicArn=topic) for s in page.get("Subscriptions", [])]
