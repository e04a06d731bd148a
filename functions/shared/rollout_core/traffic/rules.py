"""EventBridge rule targets: a rule invokes the function ARN its target names.

ListRuleNamesByTarget takes one exact target ARN, so it is asked once per qualifier read
(subject.qualifiers) and event bus: the default bus, where every scheduled rule lives, and
any other bus a permission's source ARN names. EventBridge's control plane allows 50
requests per second.
"""

from __future__ import annotations

from .. import clients
from ..models import TrafficSource
from .reading import Reading, attempt
from .subject import Subject

DEFAULT_BUS = "default"


def bus_of(rule_arn: str) -> str:
    """`arn:…:rule/NAME` is on the default bus, `arn:…:rule/BUS/NAME` on BUS."""
    path = rule_arn.split(":rule/", 1)[-1]
    return path.split("/", 1)[0] if "/" in path else DEFAULT_BUS


def rule_arn(subject: Subject, bus: str, name: str) -> str:
    where = f"{subject.partition}:events:{subject.region}:{subject.account}"
    return f"arn:{where}:rule/{name}" if bus == DEFAULT_BUS else f"arn:{where}:rule/{bus}/{name}"


def read(subject: Subject, reading: Reading, buses: set[str]) -> None:
    """Adds each rule that targets one of the qualifiers read."""
    for bus in sorted({DEFAULT_BUS, *buses}):
        for qualifier in subject.qualifiers:
            what = f"EventBridge rules on bus {bus} targeting {subject.arn(qualifier)}"
            names = attempt(reading.unread, what, lambda b=bus, q=qualifier: _names(subject, b, q))
            for name in names or []:
                source = rule_arn(subject, bus, name)
                reading.add(
                    TrafficSource(kind="EventBridge rule", source=source, qualifier=qualifier)
                )


def _names(subject: Subject, bus: str, qualifier: str) -> list[str]:
    pages = clients.events().get_paginator("list_rule_names_by_target")
    return [
        name
        for page in pages.paginate(TargetArn=subject.arn(qualifier), EventBusName=bus)
        for name in page.get("RuleNames", [])
    ]
