"""Version clean-up rules (rollout_core.versions) under moto with the Lambda versions seam,
which makes moto refuse aliased deletes and keep provisioned concurrency as Lambda does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rollout_core import clients, versions
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.eventbridge import request_from_tags
from rollout_core.models import Plan
from rollout_core.request import parse_request
from rollout_core.results import FinalizeSummary

from rollout.local.lambda_versions import LambdaVersions
from tests.unit.conftest import World, zipped

# The account: 15 versions; live rolled out from 14 to 15; beta → 3;
# canary → 5 with a weight on 9; provisioned concurrency on 7.
EXPECTED_GONE = ["12", "11", "10", "8", "6", "4", "2", "1"]
SUCCEEDED = FinalizeSummary(outcome="succeeded", executionId="arn:aws:states:::execution:x:y")


@pytest.fixture
def seam(aws: None) -> Iterator[LambdaVersions]:
    installed = LambdaVersions()
    installed.install(None)
    yield installed
    installed.uninstall()


@pytest.fixture
def busy(world: World, seam: LambdaVersions) -> World:
    lam = world.lam
    for release in range(5, 16):
        source = f"def handler(event, context):\n    return {release}\n"
        lam.update_function_code(FunctionName="orders", ZipFile=zipped(source))
        lam.publish_version(FunctionName="orders")
    world.route("15")
    lam.create_alias(FunctionName="orders", Name="beta", FunctionVersion="3")
    lam.create_alias(
        FunctionName="orders",
        Name="canary",
        FunctionVersion="5",
        RoutingConfig={"AdditionalVersionWeights": {"9": 0.1}},
    )
    lam.put_provisioned_concurrency_config(
        FunctionName="orders", Qualifier="7", ProvisionedConcurrentExecutions=1
    )
    return world


def published(world: World) -> list[str]:
    found = world.lam.list_versions_by_function(FunctionName="orders")["Versions"]
    return [v["Version"] for v in found if v["Version"] != "$LATEST"]


def rollout_plan(keep: int, stable: str = "14", target: str = "15") -> Plan:
    return Plan(
        action="rollout",
        executionId="arn:aws:states:us-east-1:123456789012:execution:rollout:t",
        functionName="orders",
        functionArn="arn:aws:lambda:us-east-1:123456789012:function:orders",
        alias="live",
        aliasArn="arn:aws:lambda:us-east-1:123456789012:function:orders:live",
        stableVersion=stable,
        targetVersion=target,
        strategy={"name": "AllAtOnce", "kind": "all-at-once"},
        health={"errorRatePercent": 1, "minInvocations": 10},
        keepVersions=keep,
    )


def test_rules_keep_what_is_used_and_the_newest(busy: World) -> None:
    before = published(busy)
    result = versions.after_rollout(rollout_plan(3).rollout_ready(), SUCCEEDED)

    assert [item["version"] for item in result["deleted"]] == EXPECTED_GONE
    assert published(busy) == [v for v in before if v not in EXPECTED_GONE]
    reasons = {item["version"]: item["reason"] for item in result["kept"]}
    assert reasons == {
        "15": "alias live; this rollout's target version",
        "14": "this rollout's stable version",
        "13": "among the newest 3",
        "9": "alias canary (10%)",
        "7": "provisioned concurrency",
        "5": "alias canary",
        "3": "alias beta",
    }
    assert result["bytesFreed"] == sum(item["codeSize"] for item in result["deleted"]) > 0
    assert result["notes"] == [] and result["notified"]["eventBridge"] is True


def test_the_success_notification_carries_the_record(busy: World) -> None:
    queue = clients.client("sqs").create_queue(QueueName="outcomes")["QueueUrl"]
    arn = clients.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events = clients.events()
    events.put_rule(Name="outcomes", EventPattern=json.dumps({"source": ["lambda-rollout"]}))
    events.put_targets(Rule="outcomes", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}])
    versions.after_rollout(rollout_plan(3).rollout_ready(), SUCCEEDED)

    (message,) = clients.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Rollout Succeeded"
    cleanup = event["detail"]["cleanup"]
    assert [item["version"] for item in cleanup["deleted"]] == EXPECTED_GONE
    assert cleanup["bytesFreed"] > 0


def test_dry_run_decides_the_same_and_deletes_nothing(busy: World) -> None:
    before = published(busy)
    dry = versions.clean_up("orders", 3, dry_run=True)
    assert published(busy) == before
    assert dry.bytes_freed == 0
    real = versions.clean_up("orders", 3)
    assert [v.version.number for v in dry.deleted] == [v.version.number for v in real.deleted]


def test_keep_versions_0_deletes_nothing(busy: World) -> None:
    before = published(busy)
    result = versions.after_rollout(rollout_plan(0).rollout_ready(), SUCCEEDED)
    assert result["deleted"] == [] and result["bytesFreed"] == 0
    assert published(busy) == before
    assert {item["reason"] for item in result["kept"]} >= {"keepVersions is 0: clean-up is off"}


def test_versions_newer_than_the_target_stay(busy: World) -> None:
    # a rollout to 13 that finished after 14 and 15 were published
    result = versions.clean_up("orders", 1, newest_allowed=13)
    kept = {v.version.number: v.reason for v in result.kept}
    assert kept[15].startswith("newer than version 13") and kept[14].startswith("newer")
    assert kept[13] == "among the newest 1"
    assert "12" not in published(busy)


def test_an_alias_moved_onto_a_candidate_meanwhile_is_skipped_and_noted(busy: World) -> None:
    def racing_delete(function: str, version: str) -> None:
        if version == "10":  # between listing and deleting, someone points beta at 10
            busy.lam.update_alias(FunctionName=function, Name="beta", FunctionVersion="10")
        clients.lambda_().delete_function(FunctionName=function, Qualifier=version)

    result = versions.clean_up("orders", 3, delete=racing_delete)

    assert [v.version.number for v in result.deleted] == [12, 11, 8, 6, 4, 2, 1]
    refused = next(v for v in result.kept if v.version.number == 10)
    assert refused.reason.startswith("delete refused: ResourceConflictException")
    assert result.notes == [
        "version 10 not deleted: ResourceConflictException: Unable to delete version "
        "because the following aliases reference it: [beta]"
    ]
    assert "10" in published(busy)


def test_a_version_an_event_source_mapping_names_stays(busy: World) -> None:
    sqs = clients.client("sqs")
    queue = sqs.create_queue(QueueName="orders-in")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    busy.lam.create_event_source_mapping(
        EventSourceArn=queue_arn["Attributes"]["QueueArn"],
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:orders:2",
    )
    result = versions.clean_up("orders", 3)
    kept = {v.version.number: v.reason for v in result.kept}
    assert kept[2].startswith("event source mapping ")
    assert "2" in published(busy)


def test_a_listing_error_deletes_nothing_and_is_a_note(
    busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(function: str) -> versions.Usage:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "List")

    monkeypatch.setattr(versions, "usage", denied)
    before = published(busy)
    result = versions.after_rollout(rollout_plan(3).rollout_ready(), SUCCEEDED)
    assert result["deleted"] == [] and published(busy) == before
    assert "AccessDeniedException" in result["notes"][0]
    assert result["notified"]["eventBridge"] is True


def test_one_failed_delete_does_not_stop_the_others(busy: World) -> None:
    def edge_replica(function: str, version: str) -> None:
        if version == "11":
            message = f"Lambda was unable to delete {function}:{version} because it is a replica"
            error = {"Error": {"Code": "InvalidParameterValueException", "Message": message}}
            raise ClientError(error, "DeleteFunction")
        clients.lambda_().delete_function(FunctionName=function, Qualifier=version)

    result = versions.clean_up("orders", 3, delete=edge_replica)
    assert [v.version.number for v in result.deleted] == [12, 10, 8, 6, 4, 2, 1]
    assert "InvalidParameterValueException" in result.notes[0]


def test_the_handler_cleans_up_with_its_sample(
    busy: World, load_event: Any, load_handler: Any, context: Any
) -> None:
    busy.route("4")
    event = load_event("functions/clean_up.json")  # keepVersions 2, stable 3 → target 4
    record = load_handler("clean_up").lambda_handler(event, context)
    json.dumps(record)
    assert [item["version"] for item in record["deleted"]] == ["2", "1"]
    assert "4" in published(busy) and "3" in published(busy)


def test_a_function_outside_the_scope_is_refused(
    busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGET_FUNCTION_NAME_PATTERN", "payments-*")
    with pytest.raises(InvalidRolloutRequest, match="outside this deployment's scope"):
        versions.clean_up("orders", 3)


@pytest.mark.parametrize("value", [-1, True, "3", 2.5])
def test_keep_versions_must_be_a_whole_number_of_at_least_0(value: Any) -> None:
    with pytest.raises(InvalidRolloutRequest, match="keepVersions"):
        parse_request({"functionName": "orders", "alias": "live", "keepVersions": value})


def test_the_tag_sets_keep_versions() -> None:
    request = request_from_tags(
        "orders", "4", {"rollout:alias": "live", "rollout:keep-versions": "5"}
    )
    assert parse_request(request).keepVersions == 5
    with pytest.raises(InvalidRolloutRequest, match="rollout:keep-versions"):
        request_from_tags("orders", "4", {"rollout:alias": "live", "rollout:keep-versions": "x"})
