"""A version rolled back on an alias is not rolled out there again unasked
(rollout_core.rolled_back): the endings record it, Prepare refuses it, retryRolledBack
tries it again and its success forgets the record."""

import json

import pytest
from botocore.exceptions import ClientError
from rollout_core import guard, lock, rolled_back
from rollout_core.guard import StatusChange
from rollout_core.models import Plan
from rollout_core.outcome import finalize
from rollout_core.plan import prepare
from rollout_core.results import RollbackRecord

from tests.unit.conftest import TABLE, zipped

ROLLED_BACK_BY = "arn:aws:states:us-east-1:123456789012:execution:rollout:sample-1"
LATER = "arn:aws:states:us-east-1:123456789012:execution:rollout:later"
CONSOLE = {"functionName": "orders", "alias": "live", "targetVersion": "4"}
ABORTED = RollbackRecord(
    error="RolloutAborted",
    cause="Rolled back orders:live to version 3: Aborted by alice: bad release — state: "
    "Check health; step 1/1 at 10%",
)


@pytest.fixture
def plan(load_event):
    """orders:live 3 → 4, run by ROLLED_BACK_BY, holding its lock."""
    plan = Plan.model_validate(load_event("functions/finalize.json")["plan"])
    assert plan.lock is not None and plan.executionId == ROLLED_BACK_BY
    lock.acquire(plan.lock.table, plan.lock.key, plan.lock.owner, 60, "4")
    return plan


def recorded(version: str = "4"):
    return rolled_back.find(TABLE, "orders", "live", version)


def test_an_abort_records_the_version_and_who_rolled_it_back(world, plan):
    summary = finalize(plan, "rolled_back", ABORTED, None)

    prior = recorded()
    assert prior is not None
    assert (prior.functionName, prior.alias, prior.version) == ("orders", "live", "4")
    assert (prior.executionId, prior.error) == (ROLLED_BACK_BY, "RolloutAborted")
    assert prior.cause == ABORTED.cause  # its first line
    assert prior.at.endswith("Z")
    assert summary.lockReleased is True and world.lock_owner() is None
    assert summary.notes == []


def test_prepare_refuses_the_version_the_trigger_publishes_again(world, plan, load_event):
    finalize(plan, "rolled_back", ABORTED, None)
    world.lam.tag_resource(
        Resource="arn:aws:lambda:us-east-1:123456789012:function:orders",
        Tags={"rollout:alias": "live"},
    )

    # PublishVersion with nothing new hands back version 4; CloudTrail records it anyway
    result = prepare(load_event("eventbridge/publish-version-tagged.json"), LATER)
    refused = result["plan"]

    assert (refused["action"], refused["source"]) == ("previouslyRolledBack", "eventbridge")
    assert (refused["stableVersion"], refused["targetVersion"]) == ("3", "4")
    [prior] = refused["rolledBackBefore"]
    assert (prior["executionId"], prior["error"]) == (ROLLED_BACK_BY, "RolloutAborted")
    assert "withRelease" not in prior  # rolled back on its own
    assert refused["reason"].startswith(
        f"version 4 was rolled back on orders:live by {ROLLED_BACK_BY} at "
    )
    assert "rollout start --function orders --alias live --version 4" in refused["reason"]
    assert "lock" not in refused or refused["lock"] is None
    assert world.lock_owner() is None and world.alias_state() == ("3", {})
    json.dumps(result)


def test_a_console_start_is_refused_and_retry_rolled_back_rolls_it_out(world, plan):
    finalize(plan, "rolled_back", ABORTED, None)

    assert prepare(CONSOLE, LATER)["plan"]["action"] == "previouslyRolledBack"
    dry = prepare({**CONSOLE, "dryRun": True}, LATER)["plan"]
    assert dry["action"] == "previouslyRolledBack"  # rollout plan / release say it too

    retry = prepare({**CONSOLE, "retryRolledBack": True}, LATER)["plan"]
    assert retry["action"] == "rollout"
    assert [prior["executionId"] for prior in retry["rolledBackBefore"]] == [ROLLED_BACK_BY]
    assert any("rolled out again (a success forgets it)" in n for n in retry["notes"])
    assert world.lock_owner() == LATER

    finalize(Plan.model_validate(retry), "succeeded", None, None)
    assert recorded() is None  # the retry succeeded: the version is no longer refused


def test_a_newer_version_is_not_refused(world, plan):
    finalize(plan, "rolled_back", ABORTED, None)
    world.lam.update_function_configuration(
        FunctionName="orders", Environment={"Variables": {"RELEASE": "5"}}
    )
    assert world.lam.publish_version(FunctionName="orders")["Version"] == "5"

    assert prepare({**CONSOLE, "targetVersion": "5"}, LATER)["plan"]["action"] == "rollout"


def test_the_record_is_per_alias(world, plan):
    finalize(plan, "rolled_back", ABORTED, None)
    world.lam.create_alias(FunctionName="orders", Name="canary", FunctionVersion="3")

    other = prepare({**CONSOLE, "alias": "canary"}, LATER)["plan"]
    assert other["action"] == "rollout"


def test_a_failed_pre_traffic_check_records_the_version(world, plan):
    failure = {
        "Error": "PreTrafficCheckFailed",
        "Cause": json.dumps({"errorMessage": "readiness: version 4 is Failed"}),
    }
    finalize(plan, "check_failed", None, failure)

    prior = recorded()
    assert prior is not None and prior.error == "PreTrafficCheckFailed"
    assert prior.cause.startswith("Version 4 of orders failed its pre-traffic check")


@pytest.mark.parametrize("outcome", ["succeeded", "drifted", "rollback_failed"])
def test_endings_that_did_not_put_the_stable_version_back_record_nothing(world, plan, outcome):
    failure = {"Error": "AliasDrift", "Cause": "someone moved it"}
    finalize(plan, outcome, None, failure)
    assert recorded() is None


def test_the_guard_records_what_it_restores(world, plan):
    world.route("3", {"4": 0.1})  # stopped at step 1: the alias split as the rollout left it
    change = StatusChange(executionArn=ROLLED_BACK_BY, status="ABORTED")

    summary = guard._clean_up(plan.rollout_ready(), change)

    assert summary["action"] == "restored" and world.alias_state() == ("3", {})
    prior = recorded()
    assert prior is not None and (prior.executionId, prior.error) == (ROLLED_BACK_BY, "ABORTED")
    assert "the guard restored the alias" in prior.cause
    assert summary["lockReleased"] is True


def test_the_guard_records_nothing_when_traffic_never_moved(world, plan):
    change = StatusChange(executionArn=ROLLED_BACK_BY, status="ABORTED")
    assert guard._clean_up(plan.rollout_ready(), change)["action"] == "none"
    assert recorded() is None


def test_a_record_that_cannot_be_written_is_a_note_and_the_lock_still_goes(
    world, plan, monkeypatch
):
    def refused(self, record):
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}
        raise ClientError(error, "PutItem")

    monkeypatch.setattr(rolled_back.RolledBackVersions, "put_record", refused)

    summary = finalize(plan, "rolled_back", ABORTED, None)

    assert summary.lockReleased is True and world.lock_owner() is None
    [note] = summary.notes
    assert note.startswith("could not record version 4 as rolled back on orders:live:")


def test_the_record_is_no_lock_of_its_owner(world, plan):
    """A failed Prepare's clean-up releases the locks its execution holds, found by owner:
    the record of the same execution is not one of them."""
    finalize(plan, "rolled_back", ABORTED, None)
    assert lock.release_held_by(TABLE, ROLLED_BACK_BY) == []
    assert recorded() is not None


def test_a_record_written_by_hand_with_only_its_key_still_refuses(world):
    """The item format is documented: `aws dynamodb put-item` with only the key counts."""
    item = {"lockKey": {"S": rolled_back.key("orders", "live", "4")}}
    world.ddb.put_item(TableName=TABLE, Item=item)

    refused = prepare(CONSOLE, LATER)["plan"]

    assert refused["action"] == "previouslyRolledBack"
    assert "rolled back on orders:live by an earlier execution" in refused["reason"]


@pytest.fixture
def worker(world):
    """A second function, `orders-worker`: versions 1 and 2, `live` on 1."""
    for release in (1, 2):
        source = zipped(f"def handler(event, context):\n    return {release}\n")
        if release == 1:
            world.lam.create_function(
                FunctionName="orders-worker",
                Runtime="python3.12",
                Role=world.role,
                Handler="app.handler",
                Code={"ZipFile": source},
            )
        else:
            world.lam.update_function_code(FunctionName="orders-worker", ZipFile=source)
        world.lam.publish_version(FunctionName="orders-worker")
    world.lam.create_alias(FunctionName="orders-worker", Name="live", FunctionVersion="1")


WORKER = {"functionName": "orders-worker", "alias": "live", "targetVersion": "2"}
RELEASE = {"functions": [CONSOLE, WORKER]}


def test_a_release_with_a_version_rolled_back_on_its_own_is_refused(world, plan, worker):
    finalize(plan, "rolled_back", ABORTED, None)  # orders:live version 4, on its own

    refused = prepare(RELEASE, LATER)["plan"]

    assert refused["action"] == "previouslyRolledBack"
    assert [m["functionName"] for m in refused["functions"]] == ["orders", "orders-worker"]
    assert [p["functionName"] for p in refused["rolledBackBefore"]] == ["orders"]
    assert refused["reason"].endswith('To try it again: input "retryRolledBack": true')
    assert world.lock_owner() is None
    assert prepare({**RELEASE, "retryRolledBack": True}, LATER)["plan"]["action"] == "rollout"


def test_a_rolled_back_release_records_every_member_for_rollouts_of_it_alone(world, worker):
    rolled = Plan.model_validate(prepare(RELEASE, ROLLED_BACK_BY)["plan"])
    finalize(rolled, "rolled_back", ABORTED, None)
    with_the_release = "orders:live, orders-worker:live"
    assert recorded() is not None and recorded().withRelease == with_the_release
    worker_record = rolled_back.find(TABLE, "orders-worker", "live", "2")
    assert worker_record is not None and worker_record.withRelease == with_the_release

    alone = prepare(WORKER, LATER)["plan"]
    assert alone["action"] == "previouslyRolledBack"
    assert (
        f"rolled back on orders-worker:live with the release of {with_the_release}"
        in (alone["reason"])
    )

    # Which member was at fault the release doesn't say: another release may include it.
    again = prepare(RELEASE, LATER)["plan"]
    assert again["action"] == "rollout"
    assert len(again["rolledBackBefore"]) == 2
    assert sum("a success forgets it" in note for note in again["notes"]) == 2
    finalize(Plan.model_validate(again), "succeeded", None, None)
    assert recorded() is None and rolled_back.find(TABLE, "orders-worker", "live", "2") is None
