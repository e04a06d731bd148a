"""The alias revision seam (rollout/local/lambda_aliases.py): every update gives the alias a
new RevisionId, and UpdateAlias with a stale one fails PreconditionFailedException, so the
rollout's drift protection can be exercised locally. moto alone keeps one RevisionId."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaAlias
from moto.awslambda.responses import LambdaResponse

from rollout.local.cloud import LocalCloud
from rollout.local.lambda_aliases import AliasRevisions
from rollout.samples import code_zip, lambda_role
from tests.conftest import IsolatedCloud as Cloud

pytestmark = pytest.mark.cloud


def make_alias(cloud: LocalCloud, name: str) -> Any:
    lam = cloud.client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role(cloud.client("iam"), "alias-seam"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
        Publish=True,
    )
    lam.update_function_configuration(FunctionName=name, Description="two")
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam


@pytest.mark.usefixtures("no_cloud")  # moto as it is: no seam installed
def test_contract_with_moto_internals() -> None:
    assert list(inspect.signature(LambdaAlias.update).parameters) == [
        "self",
        "description",
        "function_version",
        "routing_config",
    ]
    assert "revision_id" in inspect.getsource(LambdaAlias.__init__)
    source = inspect.getsource(LambdaResponse.update_alias)
    assert "RevisionId" not in source  # moto still ignores it: the seam checks it


def test_moto_alone_keeps_one_revision_and_accepts_any(isolated_cloud: Cloud) -> None:
    with isolated_cloud(seams=[]) as bare:
        lam = make_alias(bare, "bare")
        first = lam.get_alias(FunctionName="bare", Name="live")["RevisionId"]
        lam.update_alias(FunctionName="bare", Name="live", FunctionVersion="2")
        assert lam.get_alias(FunctionName="bare", Name="live")["RevisionId"] == first
        lam.update_alias(FunctionName="bare", Name="live", RevisionId="bogus")


@pytest.fixture
def cloud(isolated_cloud: Cloud) -> Iterator[LocalCloud]:
    """A cloud with the seam, for one test (a moto-alone test of this module starts its
    own, and no cloud may run beside it)."""
    with isolated_cloud(seams=[AliasRevisions]) as started:
        yield started


def test_every_update_changes_the_revision(cloud: LocalCloud) -> None:
    lam = make_alias(cloud, "revised")
    first = lam.get_alias(FunctionName="revised", Name="live")["RevisionId"]
    updated = lam.update_alias(FunctionName="revised", Name="live", FunctionVersion="2")
    assert updated["RevisionId"] != first
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lam.get_alias(FunctionName="revised", Name="live")["RevisionId"] == updated["RevisionId"]


def test_a_stale_revision_is_refused_and_changes_nothing(cloud: LocalCloud) -> None:
    lam = make_alias(cloud, "stale")
    read = lam.get_alias(FunctionName="stale", Name="live")["RevisionId"]
    lam.update_alias(FunctionName="stale", Name="live", Description="someone else")
    with pytest.raises(ClientError) as refused:
        lam.update_alias(FunctionName="stale", Name="live", FunctionVersion="2", RevisionId=read)
    assert refused.value.response["Error"]["Code"] == "PreconditionFailedException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert lam.get_alias(FunctionName="stale", Name="live")["FunctionVersion"] == "1"
    current = lam.get_alias(FunctionName="stale", Name="live")["RevisionId"]
    lam.update_alias(FunctionName="stale", Name="live", FunctionVersion="2", RevisionId=current)
