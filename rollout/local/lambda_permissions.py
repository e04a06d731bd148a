"""Whether a function's resource-based policy lets an AWS service invoke it.

AWS services invoke a function only when its resource-based policy allows their service
principal ("Lambda resource-based policies",
https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html). A
permission belongs to what AddPermission named: "Qualifier: Specify a version or alias
to add permissions to a published version of the function" (AddPermission API
reference), so a statement allows exactly the ARN in its `Resource` (the unqualified ARN
for the function itself). `SourceArn` and `SourceAccount` become the conditions
`ArnLike aws:SourceArn` and `StringEquals aws:SourceAccount`, checked against the
service's request. A condition this module does not know is read strictly: the
statement does not allow.

The statements are read with `LambdaBackend.get_policy(function_name, qualifier)`, the
qualifier's own policy: with the LambdaPolicies seam (lambda_policies.py) installed, each
qualifier's; with moto alone, the one `Policy.statements` list moto 5.2.5 shares between a
function's versions, with the qualifier appended to `Resource` (`moto/awslambda/policy.py`,
pinned by tests/local/test_log_subscriptions.py). Either way `Resource` says which ARN a
statement allows. A qualifier with no statement answers GenericResourcNotFound: nothing
allowed.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from moto.awslambda.exceptions import GenericResourcNotFound
from moto.awslambda.models import LambdaBackend

INVOKE_ACTIONS = ("lambda:invokefunction", "lambda:*", "*")


def service_may_invoke(
    backend: LambdaBackend,
    function_arn: str,
    service: str,
    source_arn: str,
    source_account: str,
) -> bool:
    """True when `service` (e.g. "logs") may invoke `function_arn`, qualified or not."""
    resource = function_arn.removesuffix(":$LATEST")
    statements = _statements(backend, resource)
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account}
    principals = {f"{service}.amazonaws.com", f"{service}.{_region(function_arn)}.amazonaws.com"}
    return any(_allows(statement, resource, principals, context) for statement in list(statements))


def _statements(backend: LambdaBackend, function_arn: str) -> list[dict[str, Any]]:
    """The statements of the resource-based policy of the qualifier the ARN names."""
    name, _, qualifier = function_arn.split(":function:", 1)[1].partition(":")
    try:
        policy = json.loads(backend.get_policy(name, qualifier or None))["Policy"]
    except GenericResourcNotFound:
        return []
    return list(json.loads(policy)["Statement"])


def _region(arn: str) -> str:
    return arn.split(":")[3]


def _allows(
    statement: dict[str, Any], resource: str, principals: set[str], context: dict[str, str]
) -> bool:
    return (
        statement.get("Effect", "Allow") == "Allow"
        and any(fnmatchcase(resource, pattern) for pattern in _listed(statement.get("Resource")))
        and any(action.lower() in INVOKE_ACTIONS for action in _listed(statement.get("Action")))
        and _names_principal(statement.get("Principal"), principals)
        and _conditions_hold(statement.get("Condition") or {}, context)
    )


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def _names_principal(principal: Any, principals: set[str]) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(name in principals for name in _listed(principal.get("Service")))


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            actual = context.get(key.lower())
            if actual is None or not _condition_holds(operator, actual, _listed(expected)):
                return False
    return True


def _condition_holds(operator: str, actual: str, expected: list[str]) -> bool:
    if operator in ("ArnLike", "StringLike"):
        return any(fnmatchcase(actual, pattern) for pattern in expected)
    if operator in ("ArnEquals", "StringEquals"):
        return actual in expected
    return False  # an operator not emulated never grants
