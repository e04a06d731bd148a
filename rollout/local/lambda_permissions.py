"""Whether a function's resource-based policy lets an AWS service, or a function URL's
caller, invoke it.

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

A function URL's request ("Control access to Lambda function URLs",
https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html): "Starting in October 2025, new
function URLs will require both lambda:InvokeFunctionUrl and lambda:InvokeFunction
permissions." With AuthType NONE "your function's resource-based policy is always in effect
and must grant public access": both actions to the principal `*`, the request carrying the
condition keys `lambda:FunctionUrlAuthType` (the URL's auth type) and
`lambda:InvokedViaFunctionUrl` (true), which SAM's FunctionUrlConfig and AddPermission's
`--function-url-auth-type` / `--invoked-via-function-url` write. With AWS_IAM a caller in
another account needs the same two grants naming its account or itself; one in the
function's own account may be allowed by its identity policy alone, which the local cloud
does not evaluate (no API call it serves does).

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
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from moto.awslambda.exceptions import GenericResourcNotFound
from moto.awslambda.models import LambdaBackend

INVOKE_FUNCTION = "lambda:InvokeFunction"
INVOKE_FUNCTION_URL = "lambda:InvokeFunctionUrl"
EVERYONE = "*"


@dataclass(frozen=True)
class Principal:
    """Who asks: the names a statement's `Principal` may give it by."""

    services: frozenset[str] = frozenset()  # "logs.amazonaws.com", ...
    aws: frozenset[str] = frozenset()  # account root and caller ARNs

    def named_by(self, principal: Any) -> bool:
        if principal == EVERYONE:
            return True
        if not isinstance(principal, dict):
            return False
        services, aws = _listed(principal.get("Service")), _listed(principal.get("AWS"))
        return any(s in self.services for s in services) or any(
            a == EVERYONE or a in self.aws for a in aws
        )


def service_may_invoke(
    backend: LambdaBackend,
    function_arn: str,
    service: str,
    source_arn: str,
    source_account: str,
) -> bool:
    """True when `service` (e.g. "logs") may invoke `function_arn`, qualified or not."""
    region = _region(function_arn)
    principal = Principal(
        services=frozenset({f"{service}.amazonaws.com", f"{service}.{region}.amazonaws.com"})
    )
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account}
    return _allowed(backend, function_arn, INVOKE_FUNCTION, principal, context)


def url_caller_may_invoke(
    backend: LambdaBackend, function_arn: str, auth_type: str, caller: Principal
) -> bool:
    """True when the qualifier's policy grants `caller` (Principal() for anyone) both actions
    a function URL's request needs."""
    context = {"lambda:functionurlauthtype": auth_type, "lambda:invokedviafunctionurl": "true"}
    return all(
        _allowed(backend, function_arn, action, caller, context)
        for action in (INVOKE_FUNCTION_URL, INVOKE_FUNCTION)
    )


def _allowed(
    backend: LambdaBackend,
    function_arn: str,
    action: str,
    principal: Principal,
    context: dict[str, str],
) -> bool:
    resource = function_arn.removesuffix(":$LATEST")
    return any(
        _allows(statement, resource, action, principal, context)
        for statement in list(_statements(backend, resource))
    )


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
    statement: dict[str, Any],
    resource: str,
    action: str,
    principal: Principal,
    context: dict[str, str],
) -> bool:
    return (
        statement.get("Effect", "Allow") == "Allow"
        and any(fnmatchcase(resource, pattern) for pattern in _listed(statement.get("Resource")))
        and any(
            fnmatchcase(action.lower(), pattern.lower())
            for pattern in _listed(statement.get("Action"))
        )
        and principal.named_by(statement.get("Principal"))
        and _conditions_hold(statement.get("Condition") or {}, context)
    )


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


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
    if operator == "Bool":
        return actual.lower() in (value.lower() for value in expected)
    return False  # an operator not emulated never grants
