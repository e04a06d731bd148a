"""Resource-policy seam: each qualifier of a function has its own resource-based policy.

AWS behaviour ("Using Lambda aliases in event sources and permissions policies", Lambda
Developer Guide): "The scope of that permission depends on whether you apply it to an
alias, a version, or the entire function. For example, if you use an alias name (such as
helloworld:PROD), the permission allows you to invoke the helloworld function using the
alias ARN (helloworld:PROD)." AddPermission, GetPolicy and RemovePermission take a
`Qualifier` (API Reference), and a qualified FunctionName (`name:alias`, an alias ARN) names
that qualifier too; the statement's Resource is the qualified ARN. GetPolicy of a qualifier
with no statement answers ResourceNotFoundException; a StatementId already in that policy
answers ResourceConflictException; a stale RevisionId answers PreconditionFailedException.
The unqualified function's policy is `$LATEST`'s.

moto 5.2.5 keeps one policy object that every version shares (a published version is a
shallow copy of `$LATEST`), resolves an alias to its version's object, drops the qualifier
of RemovePermission, and `AWS::Lambda::Permission` in a template ignores the qualifier of
its FunctionName: every qualifier reads every statement, so nobody could tell which
qualifier an event source may invoke.

moto internals (pinned by tests/local/test_lambda_policies.py):
- replaced: `LambdaBackend.add_permission(self, function_name, qualifier, raw)`,
  `LambdaBackend.get_policy(self, function_name, qualifier)`,
  `LambdaResponse.remove_permission(self)`, `LambdaBackend.delete_function(self,
  function_name, qualifier)` (wrapped: a deleted function, version or alias loses its
  policy), `LambdaBackend.delete_alias(self, name, function_name)` (wrapped), and
  `Permission.create_from_cloudformation_json` (through add_permission);
- used: `moto.awslambda.policy.Policy` (statement shape, RevisionId), its `statements`,
  `revision`, `add_statement(raw, qualifier)`, `del_statement(sid, revision)`,
  `wire_format()`; `LambdaBackend.get_function`, `get_alias`.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend, Permission
from moto.awslambda.policy import Policy
from moto.awslambda.responses import LambdaResponse

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

UNQUALIFIED = ""  # the function's own policy, $LATEST's


class StatementExists(LambdaClientError):
    code = 409

    def __init__(self, sid: str) -> None:
        super().__init__(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide a new "
            "statement id, or remove the existing statement.",
        )


@dataclass(frozen=True)
class _Owner:
    """What moto's Policy reads of its parent: the unqualified function ARN."""

    function_arn: str


def split(function_name: str, qualifier: str | None) -> tuple[str, str]:
    """(name, qualifier) from a name, `name:qualifier`, or a (partial) ARN; "" unqualified."""
    rest = function_name.split(":function:", 1)[-1]
    name, _, embedded = rest.partition(":")
    found = embedded or qualifier or UNQUALIFIED
    return name, UNQUALIFIED if found == "$LATEST" else found


class LambdaPolicies:
    """The seam: one Policy per (function, qualifier)."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._policies: dict[tuple[str, str, str], Policy] = {}  # (account/region, name, q)
        self._lock = threading.Lock()

    def install(self, cloud: Cloud) -> None:
        seam = self
        delete_function = LambdaBackend.delete_function
        delete_alias = LambdaBackend.delete_alias

        def add_permission(
            backend: LambdaBackend, function_name: str, qualifier: str | None, raw: str
        ) -> dict[str, Any]:
            return seam.add(backend, function_name, qualifier, raw)

        def get_policy(
            backend: LambdaBackend, function_name: str, qualifier: str | None = None
        ) -> str:
            return str(seam.policy(backend, function_name, qualifier, create=False).wire_format())

        @functools.wraps(delete_function)
        def forget_function(
            backend: LambdaBackend, function_name: str, qualifier: str | None = None
        ) -> None:
            delete_function(backend, function_name, qualifier)
            seam.forget(backend, *split(function_name, qualifier), whole=qualifier is None)

        @functools.wraps(delete_alias)
        def forget_alias(backend: LambdaBackend, name: str, function_name: str) -> None:
            delete_alias(backend, name, function_name)
            seam.forget(backend, split(function_name, None)[0], name, whole=False)

        self._patches.replace(LambdaBackend, "add_permission", add_permission)
        self._patches.replace(LambdaBackend, "get_policy", get_policy)
        self._patches.replace(LambdaBackend, "delete_function", forget_function)
        self._patches.replace(LambdaBackend, "delete_alias", forget_alias)

        def remove_permission(response: LambdaResponse) -> Any:
            return seam.remove(response)

        self._patches.replace(LambdaResponse, "remove_permission", remove_permission)
        self._patches.replace(
            Permission, "create_from_cloudformation_json", classmethod(_permission_resource)
        )

    def uninstall(self) -> None:
        self._patches.undo()
        with self._lock:
            self._policies.clear()

    # -- the policies ------------------------------------------------------------------

    def policy(
        self, backend: LambdaBackend, function_name: str, qualifier: str | None, *, create: bool
    ) -> Policy:
        """The qualifier's policy; the function and qualifier must exist (as on AWS)."""
        name, found = split(function_name, qualifier)
        function = backend.get_function(name)
        if found and found.isdigit():
            backend.get_function(name, found)
        elif found:
            backend.get_alias(found, name)
        key = (f"{backend.account_id}/{backend.region_name}", name, found)
        with self._lock:
            policy = self._policies.get(key)
            if policy is None:
                base = function.function_arn.split(f":function:{name}")[0]
                policy = Policy(_Owner(f"{base}:function:{name}"))
                if create:
                    self._policies[key] = policy
            return policy

    def add(
        self, backend: LambdaBackend, function_name: str, qualifier: str | None, raw: str
    ) -> dict[str, Any]:
        _, found = split(function_name, qualifier)
        policy = self.policy(backend, function_name, qualifier, create=True)
        request = json.loads(raw) or {}
        sid = request.get("StatementId")
        # moto's Policy decodes every JSON object of the request as a statement: it gets the
        # flat fields, and the statement then takes the shape AWS stores.
        flat = {k: v for k, v in request.items() if k not in SHAPED}
        with self._lock:
            if sid and any(statement.get("Sid") == sid for statement in policy.statements):
                raise StatementExists(sid)
            statement, _revision = policy.add_statement(json.dumps(flat), found or None)
            statement.update(stored_shape(request, statement))
        return dict(statement)

    def forget(self, backend: LambdaBackend, name: str, qualifier: str, *, whole: bool) -> None:
        account = f"{backend.account_id}/{backend.region_name}"
        with self._lock:
            for key in list(self._policies):
                if key[:2] == (account, name) and (whole or key[2] == qualifier):
                    del self._policies[key]

    def remove(self, response: LambdaResponse) -> Any:
        """RemovePermission, from the qualifier's own policy."""
        function_name = unquote(response.path.split("/")[-3])
        statement_id = unquote(response.path.split("/")[-1].split("?")[0])
        qualifier = response.querystring.get("Qualifier", [None])[0]
        revision = response.querystring.get("RevisionId", [""])[0]
        policy = self.policy(response.backend, function_name, qualifier, create=False)
        with self._lock:
            policy.del_statement(statement_id, revision)
        return 204, {"status": 204}, ""


# AddPermission fields AWS stores in another shape than moto's Policy writes them.
SHAPED = ("Principal", "FunctionUrlAuthType", "InvokedViaFunctionUrl", "Qualifier")


def stored_shape(request: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    """Principal and Condition as AWS stores them (AddPermission): a service as
    {"Service": …}, an account as its root ARN, "*" as is; the function URL fields as
    conditions beside the source ARN and account ones."""
    principal = str(request.get("Principal", "*"))
    if principal.endswith(".amazonaws.com"):
        shaped: Any = {"Service": principal}
    elif principal.isdigit():
        shaped = {"AWS": f"arn:aws:iam::{principal}:root"}
    elif principal.startswith("arn:"):
        shaped = {"AWS": principal}
    else:
        shaped = principal
    conditions = dict(statement.get("Condition") or {})
    if "FunctionUrlAuthType" in request:
        auth = str(request["FunctionUrlAuthType"])
        conditions.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = auth
    if "InvokedViaFunctionUrl" in request:
        via = str(request["InvokedViaFunctionUrl"]).lower()
        conditions.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = via
    return {"Principal": shaped} | ({"Condition": conditions} if conditions else {})


def _permission_resource(
    cls: type[Permission],
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Permission:
    """AWS::Lambda::Permission: the statement goes on the qualifier its FunctionName names
    (`!Ref` of an alias is the alias ARN), through AddPermission as CloudFormation calls it."""
    from moto.awslambda.models import lambda_backends

    properties = dict(cloudformation_json["Properties"])
    function_name = str(properties.pop("FunctionName"))
    properties.setdefault("StatementId", resource_name)
    backend = lambda_backends[account_id][region_name]
    backend.add_permission(function_name, None, json.dumps(properties))
    return Permission(region=region_name)
