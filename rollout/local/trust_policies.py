"""Whether a role's trust policy lets a principal assume it, as IAM decides it.

Followed from the IAM User Guide: "Policy evaluation logic" (an explicit Deny wins; without
an Allow the request is denied), "AWS JSON policy elements: Principal" (an account ID or
`arn:aws:iam::ACCOUNT:root` trusts every principal of that account its own policies allow;
a role ARN trusts that role's sessions; `"*"` trusts everyone) and "Condition" (every
operator and key must hold; a key absent from the request context fails its condition
unless the operator ends in IfExists). The request context has what AssumeRole gives a
role's trust policy here: `aws:PrincipalArn` (for a role session, the role's ARN) and
`aws:PrincipalAccount`. A condition this module can't evaluate is read the strict way: an
Allow with it doesn't allow, a Deny with it denies. Service principals
(`lambda.amazonaws.com`) never match a caller: services act through role_sessions.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

_EQUALS = {"StringEquals", "ArnEquals"}
_LIKE = {"StringLike", "ArnLike"}
_NOT = {"StringNotEquals": "StringEquals", "ArnNotEquals": "ArnEquals",
        "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}  # fmt: skip
_ROLE_SESSION = re.compile(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/.+$")


@dataclass(frozen=True)
class Principal:
    """Who asks: the ARN STS reports for the caller, its account, and for a role session
    the role's ARN (path included: aws:PrincipalArn)."""

    arn: str
    account: str
    role_arn: str | None = None

    @property
    def principal_arn(self) -> str:
        return self.role_arn or self.arn

    def context(self) -> dict[str, str]:
        return {"aws:principalarn": self.principal_arn, "aws:principalaccount": self.account}


def allows(policy_document: str | dict[str, Any], principal: Principal, action: str) -> bool:
    """True when the trust policy allows `principal` to perform `action` (sts:AssumeRole)."""
    policy = json.loads(policy_document) if isinstance(policy_document, str) else policy_document
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        if not _names(statement, principal, action):
            continue
        deny = statement.get("Effect") == "Deny"
        if not _conditions_hold(statement.get("Condition") or {}, principal.context(), deny):
            continue
        if deny:
            return False
        allowed = True
    return allowed


def _names(statement: dict[str, Any], principal: Principal, action: str) -> bool:
    actions = _as_list(statement.get("Action", []))
    if not any(fnmatchcase(action.lower(), str(a).lower()) for a in actions):
        return False
    named = statement.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, dict):
        return False
    return any(_matches(str(entry), principal) for entry in _as_list(named.get("AWS", [])))


def _matches(entry: str, principal: Principal) -> bool:
    if entry == "*":
        return True
    account = _trusted_account(entry)
    if account is not None:
        return account == principal.account
    return entry == principal.principal_arn


def _trusted_account(entry: str) -> str | None:
    """The account an entry trusts as a whole: `123456789012` or its `:root` ARN."""
    if re.fullmatch(r"\d{12}", entry):
        return entry
    root = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", entry)
    return root.group(1) if root else None


def _conditions_hold(condition: dict[str, Any], context: dict[str, str], deny: bool) -> bool:
    for operator, pairs in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        positive = _NOT.get(base, base)
        if positive not in _EQUALS | _LIKE:
            return deny  # can't evaluate it: the strict reading
        for key, expected in pairs.items():
            actual = context.get(key.lower())
            if actual is None:
                if if_exists:
                    continue
                return False
            wanted = [str(value) for value in _as_list(expected)]
            if positive in _EQUALS:
                found = actual in wanted
            else:
                found = any(fnmatchcase(actual, pattern) for pattern in wanted)
            if found == (base in _NOT):
                return False
    return True


def role_session_principal(arn: str, role_arn: str | None) -> Principal:
    """The Principal of a caller STS knows by `arn` (and by its role, for a role session)."""
    session = _ROLE_SESSION.match(arn)
    account = session.group(2) if session else arn.split(":")[4]
    return Principal(arn=arn, account=account, role_arn=role_arn if session else None)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
