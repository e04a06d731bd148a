"""The Lambda versions seam (rollout/local/lambda_versions.py) through a moto server, and the
moto gaps it closes, checked on moto alone so an upgrade that closes one is noticed."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda import urls as lambda_urls
from moto.awslambda.models import LambdaAlias, LambdaBackend, LambdaStorage
from moto.awslambda.responses import LambdaResponse

from rollout.local.cloud import LocalCloud
from rollout.local.lambda_versions import ROUTES, LambdaVersions
from rollout.samples import code_zip, lambda_role

SOURCE = "def handler(event, context):\n    return 1\n"
ADDED = (
    "get_account_settings",
    "put_provisioned_concurrency_config",
    "get_provisioned_concurrency_config",
    "list_provisioned_concurrency_configs",
    "delete_provisioned_concurrency_config",
)


def make_function(cloud: LocalCloud, name: str, versions: int) -> Any:
    lam = cloud.client("lambda")
    role = lambda_role(cloud.client("iam"), "versions-seam")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": SOURCE})},
    )
    for release in range(versions):
        lam.update_function_configuration(FunctionName=name, Description=f"release {release}")
        lam.publish_version(FunctionName=name)
    return lam


def numbers(lam: Any, name: str) -> list[str]:
    found = lam.list_versions_by_function(FunctionName=name)["Versions"]
    return [v["Version"] for v in found]


# These need moto as it is, unpatched: no cloud runs while they do (`no_cloud`, and the
# seam's cloud below is started for each test that uses it).


@pytest.mark.usefixtures("no_cloud")
def test_uninstall_puts_moto_back() -> None:
    seam = LambdaVersions()
    original = vars(LambdaStorage)["del_function"], vars(LambdaStorage)["publish_version"]
    routes = dict(lambda_urls.url_paths)
    seam.install(None)
    seam.uninstall()
    assert (vars(LambdaStorage)["del_function"], vars(LambdaStorage)["publish_version"]) == original
    assert not any(hasattr(LambdaResponse, name) for name in ADDED)
    assert lambda_urls.url_paths == routes


# -- contract: the moto internals the seam relies on, and the gaps it closes ---------------


@pytest.mark.usefixtures("no_cloud")
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(LambdaStorage.del_function).parameters) == [
        "self",
        "name_or_arn",
        "qualifier",
    ]
    assert list(inspect.signature(LambdaStorage.publish_version).parameters) == [
        "self",
        "name_or_arn",
        "description",
    ]
    # the numbering the seam replaces, and the steps its copy repeats
    source = inspect.getsource(LambdaStorage.publish_version)
    assert "new_version = len(all_versions) + 1" in source
    assert "code_or_config_updated" in source and "set_version(new_version)" in source
    assert {"function_version", "routing_config"} <= set(
        inspect.signature(LambdaAlias.__init__).parameters
    )
    assert {"_functions", "_aliases", "_arns"} <= set(vars(LambdaStorage("us-east-1", "1")))


@pytest.mark.usefixtures("no_cloud")
def test_moto_still_lacks_what_the_seam_adds() -> None:
    assert not any(hasattr(LambdaResponse, name) for name in ADDED)
    assert not set(ROUTES) & set(lambda_urls.url_paths)


def test_moto_alone_deletes_aliased_versions_and_reuses_numbers(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> None:
    with isolated_cloud(seams=[]) as bare:
        lam = make_function(bare, "bare", 3)
        lam.create_alias(FunctionName="bare", Name="live", FunctionVersion="2")
        lam.delete_function(FunctionName="bare", Qualifier="2")  # Lambda refuses this
        lam.update_function_configuration(FunctionName="bare", Description="again")
        assert lam.publish_version(FunctionName="bare")["Version"] == "3"  # a second 3
        with pytest.raises(ClientError):
            lam.get_account_settings()


@pytest.fixture
def cloud(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a bare cloud starts in milliseconds)."""
    with isolated_cloud(seams=[LambdaVersions]) as started:
        yield started


def test_an_aliased_version_is_not_deleted(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "aliased", 4)
    lam.create_alias(
        FunctionName="aliased",
        Name="live",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"3": 0.2}},
    )
    lam.create_alias(FunctionName="aliased", Name="beta", FunctionVersion="2")
    for version, aliases in (("2", "[beta, live]"), ("3", "[live]")):
        with pytest.raises(ClientError) as refused:
            lam.delete_function(FunctionName="aliased", Qualifier=version)
        error = refused.value.response["Error"]
        assert error["Code"] == "ResourceConflictException"
        assert error["Message"] == (
            f"Unable to delete version because the following aliases reference it: {aliases}"
        )
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    arn = lam.get_function_configuration(FunctionName="aliased")["FunctionArn"]
    with pytest.raises(ClientError, match="ResourceConflictException"):
        lam.delete_function(FunctionName=f"{arn}:3")  # the qualifier in the ARN, too
    lam.delete_function(FunctionName="aliased", Qualifier="4")
    assert numbers(lam, "aliased") == ["$LATEST", "1", "2", "3"]


def test_version_numbers_are_never_reused(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "numbered", 3)
    lam.delete_function(FunctionName="numbered", Qualifier="3")
    lam.delete_function(FunctionName="numbered", Qualifier="2")
    lam.update_function_configuration(FunctionName="numbered", Description="next")
    assert lam.publish_version(FunctionName="numbered")["Version"] == "4"
    # unchanged since version 4: Lambda returns it again
    assert lam.publish_version(FunctionName="numbered")["Version"] == "4"
    assert numbers(lam, "numbered") == ["$LATEST", "1", "4"]
    # a function deleted and created again starts at 1, as on AWS
    lam.delete_function(FunctionName="numbered")
    lam = make_function(cloud, "numbered", 1)
    assert numbers(lam, "numbered") == ["$LATEST", "1"]


def test_account_settings_count_what_is_stored(cloud: LocalCloud) -> None:
    lam = cloud.client("lambda")
    before = lam.get_account_settings()
    assert before["AccountLimit"]["TotalCodeSize"] == 80530636800
    make_function(cloud, "counted", 2)
    grown = lam.get_account_settings()["AccountUsage"]
    size = lam.get_function_configuration(FunctionName="counted")["CodeSize"]
    assert grown["FunctionCount"] == before["AccountUsage"]["FunctionCount"] + 1
    assert grown["TotalCodeSize"] == before["AccountUsage"]["TotalCodeSize"] + 3 * size
    lam.delete_function(FunctionName="counted", Qualifier="1")
    shrunk = lam.get_account_settings()["AccountUsage"]
    assert shrunk["TotalCodeSize"] == grown["TotalCodeSize"] - size


def test_account_settings_report_the_concurrency_reservations_leave(cloud: LocalCloud) -> None:
    """UnreservedConcurrentExecutions is what reservations leave of ConcurrentExecutions, and
    a reservation that would leave fewer than 100 is refused, as Lambda refuses it."""
    lam = make_function(cloud, "reserving", 0)
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == limit["UnreservedConcurrentExecutions"] == 1000
    lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=300)
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["UnreservedConcurrentExecutions"] == 700
    with pytest.raises(ClientError) as refused:
        lam.put_function_concurrency(FunctionName="reserving", ReservedConcurrentExecutions=901)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.delete_function_concurrency(FunctionName="reserving")
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["UnreservedConcurrentExecutions"] == 1000


def test_moto_still_caps_reservations_by_the_quota_the_cloud_sets() -> None:
    source = inspect.getsource(LambdaBackend.put_function_concurrency)
    assert 'os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA")' in source
    assert "available < 100" in source


def test_provisioned_concurrency_configs(cloud: LocalCloud) -> None:
    lam = make_function(cloud, "provisioned", 3)
    put = lam.put_provisioned_concurrency_config(
        FunctionName="provisioned", Qualifier="2", ProvisionedConcurrentExecutions=2
    )
    assert (put["Status"], put["RequestedProvisionedConcurrentExecutions"]) == ("READY", 2)
    got = lam.get_provisioned_concurrency_config(FunctionName="provisioned", Qualifier="2")
    assert got["AllocatedProvisionedConcurrentExecutions"] == 2
    listed = lam.list_provisioned_concurrency_configs(FunctionName="provisioned")
    (config,) = listed["ProvisionedConcurrencyConfigs"]
    assert config["FunctionArn"].endswith(":function:provisioned:2")
    with pytest.raises(ClientError, match="ProvisionedConcurrencyConfigNotFoundException"):
        lam.get_provisioned_concurrency_config(FunctionName="provisioned", Qualifier="3")
    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        lam.put_provisioned_concurrency_config(
            FunctionName="provisioned", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    lam.delete_provisioned_concurrency_config(FunctionName="provisioned", Qualifier="2")
    assert (
        lam.list_provisioned_concurrency_configs(FunctionName="provisioned")[
            "ProvisionedConcurrencyConfigs"
        ]
        == []
    )
