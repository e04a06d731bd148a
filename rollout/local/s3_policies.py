"""The S3 bucket-policy seam: policy conditions evaluated against the request, as S3 does.

moto 5.2.5 evaluates bucket policies on object requests but reads every `Condition` as a
trust-policy condition with no request context, so a statement whose condition doesn't
match is still applied. The bucket `sam deploy --resolve-s3` creates carries AWS's usual
deny-unless-TLS statement (`"Deny" ... "Condition": {"Bool": {"aws:SecureTransport":
"false"}}`); under moto it denied every upload, over TLS or not.

Here, before moto evaluates a bucket policy, each statement's conditions are checked
against the request context and a statement applies only when they hold ("Condition",
IAM JSON policy elements reference: a key absent from the context makes its condition
false, unless the operator ends in IfExists). The context is what AWS's endpoints give
an SDK call: `aws:SecureTransport` is true, because AWS serves S3 over HTTPS and the local
cloud stands in for that endpoint. An operator this seam can't evaluate is read the
strict way: a Deny applies, an Allow doesn't.
"""

from __future__ import annotations

import json
from typing import Any

from moto.s3.models import FakeBucket

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

REQUEST_CONTEXT = {"aws:securetransport": "true"}
_EQUALS = {"Bool", "StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "ArnLike"}
_NOT_EQUALS = {"StringNotEquals", "StringNotEqualsIgnoreCase", "ArnNotEquals", "ArnNotLike"}


def condition_holds(condition: dict[str, Any], deny: bool) -> bool:
    for operator, pairs in condition.items():
        base = operator.removesuffix("IfExists")
        for key, expected in pairs.items():
            actual = REQUEST_CONTEXT.get(key.lower())
            if actual is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            wanted = [
                str(v).lower() for v in (expected if isinstance(expected, list) else [expected])
            ]
            if base in _EQUALS:
                holds = actual in wanted
            elif base in _NOT_EQUALS:
                holds = actual not in wanted
            else:
                holds = deny
            if not holds:
                return False
    return True


def applicable(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with the statements that apply to this request, conditions resolved."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = []
    for statement in statements:
        condition = statement.get("Condition")
        if condition and not condition_holds(condition, statement.get("Effect") == "Deny"):
            continue
        kept.append({k: v for k, v in statement.items() if k != "Condition"})
    return {**policy, "Statement": kept}


class BucketPolicyConditions:
    """Installed by every LocalCloud: `sam deploy --resolve-s3` depends on it."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        get_permission = FakeBucket.get_permission

        def with_conditions(bucket: FakeBucket, action: str, resource: str) -> Any:
            if bucket.policy is None:
                return get_permission(bucket, action, resource)
            policy = bucket.policy
            try:
                bucket.policy = json.dumps(applicable(json.loads(policy))).encode()
                return get_permission(bucket, action, resource)
            finally:
                bucket.policy = policy

        self._patches.replace(FakeBucket, "get_permission", with_conditions)

    def uninstall(self) -> None:
        self._patches.undo()
