"""The function URL seam (rollout/local/function_urls.py) and the Cloud Control seam
(rollout/local/cloud_control.py): a URL per qualifier, ListFunctionUrlConfigs, and the one
Cloud Control read `sam list endpoints` makes. moto alone has neither."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda import urls as lambda_urls
from moto.awslambda.responses import LambdaResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from rollout.local.cloud import LocalCloud
from rollout.local.cloud_control import CloudControl
from rollout.local.function_urls import LIST_ROUTE, FunctionUrls
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud

pytestmark = pytest.mark.cloud


def make_function(cloud: LocalCloud, name: str) -> Any:
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "url-seam"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        Publish=True,
    )
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    for name in ("create", "get", "update", "delete"):
        method = getattr(LambdaResponse, f"{name}_function_url_config")
        assert list(inspect.signature(method).parameters) == ["self"], name
    assert not hasattr(LambdaResponse, "list_function_url_configs")
    assert LIST_ROUTE not in lambda_urls.url_paths
    assert list(inspect.signature(DomainDispatcherApplication.get_application).parameters) == [
        "self",
        "environ",
    ]


def test_moto_alone_has_one_url_per_function_and_no_list(isolated_cloud: Cloud) -> None:
    with isolated_cloud(seams=[]) as bare:
        lam = make_function(bare, "bare")
        lam.create_function_url_config(FunctionName="bare", AuthType="NONE")
        with pytest.raises(ClientError):
            lam.list_function_url_configs(FunctionName="bare")
        with pytest.raises(ClientError) as failed:
            bare.client("cloudcontrol").get_resource(TypeName="AWS::Lambda::Url", Identifier="x")
        assert failed.value.response["Error"]["Code"] == "500"  # an HTML page, no AWS error


@pytest.fixture
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a moto-alone test of this module starts its
    own, and no cloud may run beside it)."""
    with isolated_cloud(seams=[FunctionUrls, CloudControl]) as started:
        yield started


def test_a_url_per_qualifier_and_the_list(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "urls")
    on_live = lam.create_function_url_config(FunctionName="urls", Qualifier="live", AuthType="NONE")
    unqualified = lam.create_function_url_config(FunctionName="urls", AuthType="AWS_IAM")
    assert on_live["FunctionArn"].endswith(":function:urls:live")
    assert not unqualified["FunctionArn"].endswith(":urls:live")
    assert on_live["FunctionUrl"] != unqualified["FunctionUrl"]
    with pytest.raises(ClientError, match="ResourceConflictException"):
        lam.create_function_url_config(FunctionName="urls", Qualifier="live", AuthType="NONE")
    listed = lam.list_function_url_configs(FunctionName="urls")["FunctionUrlConfigs"]
    assert {c["FunctionArn"] for c in listed} == {
        on_live["FunctionArn"],
        unqualified["FunctionArn"],
    }
    got = lam.get_function_url_config(FunctionName="urls", Qualifier="live")
    assert got["AuthType"] == "NONE"
    lam.delete_function_url_config(FunctionName="urls", Qualifier="live")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_function_url_config(FunctionName="urls", Qualifier="live")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.create_function_url_config(FunctionName="urls", Qualifier="nope", AuthType="NONE")


def test_cloud_control_reads_a_function_url_and_refuses_the_rest_as_aws_does(
    cloud: LocalCloud,
) -> None:
    lam = make_function(cloud, "controlled")
    created = lam.create_function_url_config(FunctionName="controlled", AuthType="NONE")
    control = cloud.client("cloudcontrol")
    found = control.get_resource(TypeName="AWS::Lambda::Url", Identifier="controlled")
    assert found["ResourceDescription"]["Identifier"] == created["FunctionArn"]
    assert created["FunctionUrl"] in found["ResourceDescription"]["Properties"]
    with pytest.raises(ClientError) as missing:
        control.get_resource(TypeName="AWS::Lambda::Url", Identifier="no-such-function")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as unsupported:
        control.list_resources(TypeName="AWS::Lambda::Function")
    assert unsupported.value.response["Error"]["Code"] == "UnsupportedActionException"
