"""Resource-based policy statements: who may invoke which qualifier.

A permission applies to the qualifier it was added on ("Using Lambda aliases in event
sources and permissions policies": a permission on helloworld:PROD allows invoking the alias
ARN; invoking the function unqualified, or the version behind the alias, needs its own), so
GetPolicy is read per qualifier: the unqualified function ($LATEST), every alias, the stable
and target versions. A qualifier without a policy answers ResourceNotFoundException: no
statement, not a note. Permissions on other published versions are not read (each is one
more call at GetPolicy's 15 requests per second); an event source mapping on any version is
found by mappings.py.

Each statement is a `Grant`: its principal, source ARN and qualifier. discover.py hands the
grants of EventBridge, SNS and API Gateway to the modules that read what they name, and
lists the others (S3, CloudWatch Logs, IoT, accounts, ...) as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .. import clients
from ..models import LATEST
from .reading import Reading, attempt, not_found
from .subject import Subject

FUNCTION_URL_ACTION = "lambda:InvokeFunctionUrl"


@dataclass(frozen=True)
class Grant:
    qualifier: str
    principal: str  # a service ("sns.amazonaws.com"), an ARN, an account, or "*"
    source_arn: str | None  # the AWS:SourceArn condition, when there is one
    function_url: bool  # a statement for the function URL (its auth type or action)

    @property
    def service(self) -> str:
        return self.principal.split(".", 1)[0] if self.principal.endswith(".amazonaws.com") else ""


def read(subject: Subject, reading: Reading) -> list[Grant]:
    grants: list[Grant] = []
    for qualifier in subject.qualifiers:
        what = f"permissions of {subject.function_name}:{qualifier} (GetPolicy)"
        statements = attempt(reading.unread, what, lambda q=qualifier: _statements(subject, q))
        grants += [_grant(qualifier, statement) for statement in statements or []]
    return grants


def _statements(subject: Subject, qualifier: str) -> list[dict[str, Any]]:
    args = {"FunctionName": subject.function_name}
    if qualifier != LATEST:
        args["Qualifier"] = qualifier
    try:
        policy = clients.lambda_().get_policy(**args)
    except ClientError as error:
        if not_found(error):
            return []
        raise
    statements = json.loads(policy.get("Policy") or "{}").get("Statement") or []
    return [s for s in statements if isinstance(s, dict) and s.get("Effect", "Allow") == "Allow"]


def _grant(qualifier: str, statement: dict[str, Any]) -> Grant:
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = principal.get("Service") or principal.get("AWS") or json.dumps(principal)
    conditions = statement.get("Condition") or {}
    found = {
        key.lower(): value
        for condition in conditions.values()
        if isinstance(condition, dict)
        for key, value in condition.items()
    }
    source = found.get("aws:sourcearn")
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    return Grant(
        qualifier=qualifier,
        principal=str(principal),
        source_arn=str(source[0] if isinstance(source, list) else source) if source else None,
        function_url=FUNCTION_URL_ACTION in actions
        or "lambda:functionurlauthtype" in found
        or "lambda:invokedviafunctionurl" in found,
    )
