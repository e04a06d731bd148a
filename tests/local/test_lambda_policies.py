"""The resource-policy seam (rollout/local/lambda_policies.py): each qualifier has its own
policy, as Lambda keeps it, so a permission on `live` is not one on version 1 or on the
function. moto alone shares one policy between every version and alias."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaBackend, Permission, lambda_backends
from moto.awslambda.policy import Policy
from moto.awslambda.responses import LambdaResponse

from rollout.local.cloud import LocalCloud
from rollout.local.lambda_permissions import Principal, service_may_invoke, url_caller_may_invoke
from rollout.local.lambda_policies import LambdaPolicies, split, stored_shape
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud

pytestmark = pytest.mark.cloud

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def make_function(cloud: LocalCloud, name: str) -> Any:
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "policy-seam"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        Publish=True,
    )
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam


def permit(lam: Any, name: str, statement_id: str, principal: str, **extra: Any) -> None:
    """Allow `principal` to invoke `name`'s alias `live` (or what `extra` says)."""
    lam.add_permission(
        FunctionName=name,
        StatementId=statement_id,
        Action="lambda:InvokeFunction",
        Principal=principal,
        **({"Qualifier": "live"} | extra),
    )


def statements(lam: Any, name: str, qualifier: str | None = None) -> list[dict[str, Any]]:
    args = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
    try:
        return list(json.loads(lam.get_policy(**args)["Policy"])["Statement"])
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        return []


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(LambdaBackend.add_permission).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "raw",
    ]
    assert list(inspect.signature(LambdaBackend.get_policy).parameters) == [
        "self",
        "function_name",
        "qualifier",
    ]
    assert list(inspect.signature(Policy.add_statement).parameters) == ["self", "raw", "qualifier"]
    assert "Qualifier" not in inspect.getsource(LambdaResponse.remove_permission)
    assert "fn.policy.add_statement" in inspect.getsource(
        Permission.create_from_cloudformation_json
    )


def test_moto_alone_shares_one_policy_between_qualifiers(isolated_cloud: Cloud) -> None:
    with isolated_cloud(seams=[]) as bare:
        lam = make_function(bare, "bare")
        permit(lam, "bare", "sns", "sns.amazonaws.com", SourceArn=TOPIC)
        assert statements(lam, "bare", "1")  # the alias's statement, on the version


@pytest.fixture
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a moto-alone test of this module starts its
    own, and no cloud may run beside it)."""
    with isolated_cloud(seams=[LambdaPolicies]) as started:
        yield started


def test_each_qualifier_has_its_own_policy(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "scoped")
    permit(lam, "scoped", "sns", "sns.amazonaws.com", SourceArn=TOPIC)
    lam.add_permission(
        FunctionName="scoped:1",
        StatementId="account",
        Action="lambda:InvokeFunction",
        Principal="111122223333",
    )
    (on_live,) = statements(lam, "scoped", "live")
    assert on_live["Resource"].endswith(":function:scoped:live")
    assert on_live["Condition"] == {"ArnLike": {"AWS:SourceArn": TOPIC}}
    (on_one,) = statements(lam, "scoped", "1")
    assert on_one["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert statements(lam, "scoped") == [] and statements(lam, "scoped", "$LATEST") == []
    with pytest.raises(ClientError, match="ResourceConflictException"):
        permit(lam, "scoped", "sns", "sns.amazonaws.com")
    lam.remove_permission(FunctionName="scoped", Qualifier="live", StatementId="sns")
    assert statements(lam, "scoped", "live") == [] and len(statements(lam, "scoped", "1")) == 1
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_policy(FunctionName="scoped", Qualifier="nope")


def test_a_deleted_alias_loses_its_policy(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "forgotten")
    permit(lam, "forgotten", "s3", "s3.amazonaws.com")
    lam.delete_alias(FunctionName="forgotten", Name="live")
    lam.create_alias(FunctionName="forgotten", Name="live", FunctionVersion="1")
    assert statements(lam, "forgotten", "live") == []


def test_requests_take_the_shape_lambda_stores() -> None:
    assert split("arn:aws:lambda:us-east-1:1:function:fn:live", None) == ("fn", "live")
    assert split("fn", "$LATEST") == ("fn", "")
    shaped = stored_shape({"Principal": "*", "FunctionUrlAuthType": "NONE"}, {})
    assert shaped == {
        "Principal": "*",
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
    }
    assert stored_shape({"Principal": "111122223333"}, {})["Principal"] == {
        "AWS": "arn:aws:iam::111122223333:root"
    }


def test_a_service_may_invoke_the_qualifier_whose_own_policy_allows_it(cloud: LocalCloud) -> None:
    """What a log subscription's delivery checks (lambda_permissions.py) reads the
    qualifier's own policy: allowed on `live`, neither the function nor version 1 is."""
    lam = make_function(cloud, "subscribed")
    group = "arn:aws:logs:us-east-1:123456789012:log-group:orders:*"
    permit(lam, "subscribed", "logs", "logs.amazonaws.com", SourceArn=group)
    backend = lambda_backends["123456789012"]["us-east-1"]
    arn = lam.get_function(FunctionName="subscribed")["Configuration"]["FunctionArn"]
    source = group  # the log group as aws:SourceArn sees it (log_subscriptions.py)

    def allowed(function_arn: str) -> bool:
        return service_may_invoke(backend, function_arn, "logs", source, "123456789012")

    assert allowed(f"{arn}:live")
    assert not allowed(arn) and not allowed(f"{arn}:$LATEST") and not allowed(f"{arn}:1")
    assert not service_may_invoke(backend, f"{arn}:live", "sns", source, "123456789012")


def test_a_function_url_caller_needs_both_grants_on_the_urls_qualifier(cloud: LocalCloud) -> None:
    """What the front door (function_url_requests.py) checks: InvokeFunctionUrl and
    InvokeFunction, for the public (AuthType NONE) or naming another account (AWS_IAM)."""
    lam = make_function(cloud, "linked")
    backend = lambda_backends["123456789012"]["us-east-1"]
    arn = lam.get_function(FunctionName="linked")["Configuration"]["FunctionArn"]
    public, partner = Principal(), Principal(aws=frozenset({"arn:aws:iam::111122223333:root"}))
    url_grant = {"Action": "lambda:InvokeFunctionUrl", "Qualifier": "live"}
    lam.add_permission(
        FunctionName="linked",
        StatementId="url",
        Principal="*",
        FunctionUrlAuthType="NONE",
        **url_grant,
    )
    assert not url_caller_may_invoke(backend, f"{arn}:live", "NONE", public)
    permit(lam, "linked", "invoke", "*", InvokedViaFunctionUrl=True)
    assert url_caller_may_invoke(backend, f"{arn}:live", "NONE", public)
    assert not url_caller_may_invoke(backend, arn, "NONE", public)  # the function's own policy
    assert not url_caller_may_invoke(backend, f"{arn}:live", "AWS_IAM", partner)  # auth type
    lam.add_permission(
        FunctionName="linked",
        StatementId="partner-url",
        Principal="111122223333",
        FunctionUrlAuthType="AWS_IAM",
        **url_grant,
    )
    permit(lam, "linked", "partner-invoke", "111122223333")
    assert url_caller_may_invoke(backend, f"{arn}:live", "AWS_IAM", partner)
    stranger = Principal(aws=frozenset({"arn:aws:iam::444455556666:root"}))
    assert not url_caller_may_invoke(backend, f"{arn}:live", "AWS_IAM", stranger)
