"""Clean up old versions: after a successful rollout, on the local cloud with the real ASL,
task Lambdas and Lambda's refusal to delete aliased versions (the Lambda versions seam).

The issue's account: 15 versions; `live` rolled out from 14 to 15; `beta` → 3; `canary`
→ 5 with a weight on 9; provisioned concurrency on 7; keepVersions 3. Also: a rollback
deletes nothing; keepVersions 0 deletes nothing; `rollout prune --dry-run` against
`rollout prune`. (An alias moved onto a candidate mid-delete: tests/unit/test_versions.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rollout.cli import main
from rollout.local.cloud import LocalCloud
from tests.workflow.conftest import Finished, SampleFunction, Workflow

pytestmark = pytest.mark.cloud

GONE = ["1", "2", "4", "6", "8", "10", "11", "12"]


def versions_of(function: SampleFunction) -> list[str]:
    pages = function.lam.get_paginator("list_versions_by_function")
    found = [
        v["Version"] for p in pages.paginate(FunctionName=function.name) for v in p["Versions"]
    ]
    return [v for v in found if v != "$LATEST"]


def with_versions(cloud: LocalCloud, prefix: str, count: int) -> SampleFunction:
    function = SampleFunction(cloud, prefix)
    while len(versions_of(function)) < count:
        function.publish()
    return function


def fifteen(cloud: LocalCloud, workflow: Workflow) -> tuple[SampleFunction, Finished]:
    function = with_versions(cloud, "wf-clean", 14)
    target = function.publish()
    assert target == "15"
    function.set_alias("14")
    lam = function.lam
    lam.create_alias(FunctionName=function.name, Name="beta", FunctionVersion="3")
    lam.create_alias(
        FunctionName=function.name,
        Name="canary",
        FunctionVersion="5",
        RoutingConfig={"AdditionalVersionWeights": {"9": 0.1}},
    )
    lam.put_provisioned_concurrency_config(
        FunctionName=function.name, Qualifier="7", ProvisionedConcurrentExecutions=1
    )
    run = workflow.run(function.rollout(target, strategy="AllAtOnce", keepVersions=3))
    return function, run


def rolled_back(cloud: LocalCloud, workflow: Workflow) -> tuple[SampleFunction, Finished]:
    function = with_versions(cloud, "wf-clean-rb", 5)
    target = function.publish(mode="fail")
    document = function.rollout(
        target, strategy="AllAtOnce", keepVersions=1, postTraffic={"payload": {}}
    )
    return function, workflow.run(document)


def keep_zero(cloud: LocalCloud, workflow: Workflow) -> tuple[SampleFunction, Finished]:
    function = with_versions(cloud, "wf-clean-zero", 5)
    target = function.publish()
    return function, workflow.run(function.rollout(target, strategy="AllAtOnce", keepVersions=0))


def scenarios(cloud: LocalCloud, workflow: Workflow) -> dict[str, Callable[[], Any]]:
    return {
        "fifteen": lambda: fifteen(cloud, workflow),
        "rolled back": lambda: rolled_back(cloud, workflow),
        "keep zero": lambda: keep_zero(cloud, workflow),
    }


def test_exactly_the_unused_old_versions_are_gone(runs: Any) -> None:
    function, run = runs["fifteen"]

    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert run.states_entered()[-3:] == ["Finalize", "Clean up old versions", "Rolled out"]
    assert sorted(versions_of(function), key=int) == ["3", "5", "7", "9", "13", "14", "15"]
    assert function.alias() == ("15", {})
    cleanup = run.output["cleanup"]
    assert sorted((item["version"] for item in cleanup["deleted"]), key=int) == GONE
    reasons = {item["version"]: item["reason"] for item in cleanup["kept"]}
    assert reasons["14"] == "this rollout's stable version"
    assert reasons["9"] == "alias canary (10%)" and reasons["7"] == "provisioned concurrency"
    assert cleanup["notes"] == [] and cleanup["notified"]["eventBridge"] is True
    size = function.lam.get_function_configuration(FunctionName=function.name)["CodeSize"]
    assert cleanup["bytesFreed"] == len(GONE) * size > 0


def test_a_rollback_deletes_nothing(runs: Any) -> None:
    function, run = runs["rolled back"]

    assert run.status == "FAILED" and run.error == "PostTrafficCheckFailed"
    assert "Clean up old versions" not in run.states_entered()
    assert versions_of(function) == [str(n) for n in range(1, 7)]


def test_keep_versions_0_deletes_nothing(runs: Any) -> None:
    function, run = runs["keep zero"]

    assert run.status == "SUCCEEDED"
    assert run.output["cleanup"]["deleted"] == [] and run.output["cleanup"]["bytesFreed"] == 0
    assert versions_of(function) == [str(n) for n in range(1, 7)]


@pytest.fixture
def as_user(workflow_cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in workflow_cloud.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


def test_prune_dry_run_against_prune(
    workflow_cloud: LocalCloud, as_user: None, capsys: pytest.CaptureFixture[str]
) -> None:
    function = with_versions(workflow_cloud, "wf-prune", 6)  # live → 1
    before = versions_of(function)

    assert main(["prune", "--function", function.name, "--keep", "2", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert versions_of(function) == before
    assert "would delete 3 version(s)" in dry and "alias live" in dry

    assert main(["prune", "--function", function.name, "--keep", "2"]) == 0
    done = capsys.readouterr().out
    assert versions_of(function) == ["1", "5", "6"]
    assert "deleted 3 version(s), freed" in done

    assert main(["prune", "--function", function.name, "--keep", "-1"]) == 2
    assert main(["prune", "--function", "no such function!"]) == 2
    assert versions_of(function) == ["1", "5", "6"]


def test_prune_all_within_a_pattern_never_touches_the_rollouts_own_functions(
    workflow_cloud: LocalCloud, as_user: None, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = [with_versions(workflow_cloud, "wf-all", 4) for _ in range(2)]  # live → 1
    outside = with_versions(workflow_cloud, "wf-other", 4)
    pattern = "wf-all*"

    assert main(["prune", "--all", "--pattern", pattern, "--keep", "1", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert all(versions_of(f) == ["1", "2", "3", "4"] for f in [*inside, outside])
    assert all(f.name in dry for f in inside) and outside.name not in dry

    assert main(["prune", "--all", "--pattern", pattern, "--keep", "1"]) == 0
    capsys.readouterr()
    assert [versions_of(f) for f in inside] == [["1", "4"], ["1", "4"]]
    assert versions_of(outside) == ["1", "2", "3", "4"]

    # "*" reaches every function but the rollout's own (tagged with the stack id)
    assert main(["prune", "--all", "--pattern", "*", "--keep", "1", "--dry-run"]) == 0
    everything = capsys.readouterr().out
    own = workflow_cloud.stack_outputs["GuardFunctionName"]
    assert outside.name in everything and own not in everything
    assert main(["prune", "--pattern", pattern, "--function", outside.name]) == 2
