"""The STS AssumeRole seam: a role can be assumed only if it exists and trusts the caller.

AWS: "To assume a role, … the role's trust policy must allow the principal" and a role
that doesn't exist can't be assumed; both refusals are `AccessDenied` ("User: <caller ARN>
is not authorized to perform: sts:AssumeRole on resource: <role ARN>", HTTP 403) (STS API
reference, AssumeRole; IAM User Guide, "Granting a user permissions to switch roles").
moto 5.2.5 assumes any ARN, existing or not, trusted or not (`STSBackend.assume_role`),
which would let a pipeline's "the role can be assumed" check pass for a role that
AWS refuses. trust_policies.py decides what a trust policy allows.

moto internals: wraps `moto.sts.responses.TokenResponse.assume_role`; reads
`TokenResponse.backend`, `get_access_key()`, `region`, `_get_param`;
`STSBackend.get_caller_identity` and `get_assumed_role_from_access_key`;
`iam_backends[account][partition].get_role_by_arn` and `Role.assume_role_policy_document`.
Pinned by tests/local/test_accounts.py.
"""

from __future__ import annotations

from typing import Any

from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse

from rollout.local.patching import Patches
from rollout.local.role_sessions import role_account
from rollout.local.seam import Cloud
from rollout.local.trust_policies import Principal, allows, role_session_principal

ACTION = "sts:AssumeRole"


class AccessDenied(STSClientError):
    code = "AccessDenied"


def caller_of(response: TokenResponse) -> Principal:
    """The principal that signed the request, as STS GetCallerIdentity names it."""
    backend = response.backend
    key = response.get_access_key()
    _, arn, _ = backend.get_caller_identity(key, response.region)
    session = backend.get_assumed_role_from_access_key(key)
    return role_session_principal(arn, session.role_arn if session else None)


def trust_document(role_arn: str) -> str | None:
    """The role's trust policy, or None when no such role exists."""
    account = role_account(role_arn)
    if account is None:
        return None
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:  # moto raises its NotFoundException; any failure means "no such role"
        return None
    document = role.assume_role_policy_document
    return str(document) if document else None


def check(caller: Principal, role_arn: str) -> None:
    """AccessDenied unless `role_arn` exists and trusts `caller`."""
    document = trust_document(role_arn)
    if document is None or not allows(document, caller, ACTION):
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to perform: {ACTION} on resource: {role_arn}"
        )


class AssumeRoleTrust:
    """AssumeRole through the API checks the role's existence and trust policy."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        assume_role = TokenResponse.assume_role

        def trusted(response: TokenResponse) -> Any:
            check(caller_of(response), str(response._get_param("RoleArn") or ""))
            return assume_role(response)

        self._patches.replace(TokenResponse, "assume_role", trusted)

    def uninstall(self) -> None:
        self._patches.undo()
