"""A control sent while its rollout is still in Prepare (rollout/lock_wait.py): it waits for
Prepare to take the lock, then sends, by execution or by function and alias.

Step Functions is the in-memory fake (tests/cli/fakes), moved on by the test's clock; the
rollout table is moto's, so what was written is what the real channel wrote."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from rollout_core.channel import Channel

from rollout.aws import CliError
from rollout.cli import main
from rollout.commands import control
from rollout.exits import CONTROL, Exit
from rollout.lock_wait import LOCK_WAIT_SECONDS, Patience, Prepared, prepared, targets
from tests.cli.fakes import FakeStepFunctions
from tests.cli.histories import ARN, MACHINE, PLAN, History, progress, rejected

TABLE = "rollout-locks"
SECOND = ARN.replace("run-1", "run-2")
THIRD = ARN.replace("run-1", "run-3")
EVENTS = Path(__file__).resolve().parents[2] / "events"
ROLLOUT = {"functionName": "orders", "alias": "live", "strategy": "Canary10Percent5Minutes"}


class Account:
    """What `send_control` reaches: the fake Step Functions and moto's table and STS."""

    region = "us-east-1"

    def __init__(self, sfn: FakeStepFunctions) -> None:
        self.sfn = sfn

    def client(self, service: str) -> Any:
        return self.sfn if service == "stepfunctions" else boto3.client(service, "us-east-1")


@pytest.fixture
def ddb(no_cloud, monkeypatch) -> Iterator[Any]:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("ROLLOUT_STATE_MACHINE_ARN", MACHINE)
    monkeypatch.setattr(control, "find_stack_output", lambda aws, key: TABLE)
    with mock_aws():
        client = boto3.client("dynamodb", "us-east-1")
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "lockKey", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockKey", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def sfn() -> FakeStepFunctions:
    return FakeStepFunctions(describes_move_on=False)


class Clockwork:
    """A Patience on a clock of its own: sleeps are counted, and `events[n]` runs at the
    n-th, the world moving on while the CLI waits."""

    def __init__(self, events: dict[int, Callable[[], None]], seconds: float = 60) -> None:
        self.now, self.sleeps, self.events = 0.0, 0, events
        self.said: list[str] = []
        self.patience = Patience(seconds, 1.0, lambda: self.now, self._sleep, self.said.append)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.events.get(self.sleeps, lambda: None)()


def in_prepare(document: dict[str, Any] = ROLLOUT, arn: str = ARN) -> History:
    return History(document, arn).enter("Prepare")


def locked(key: str = "orders:live", arn: str = ARN, **plan: Any) -> History:
    lock = {"table": TABLE, "key": key, "owner": arn}
    planned = {**PLAN, "executionId": arn, "lock": lock, **plan}
    return History(ROLLOUT, arn).state("Prepare", plan=planned, progress=progress())


def add(sfn: FakeStepFunctions, arn: str, *histories: History) -> None:
    sfn.add(arn, *[(history, history.describe("RUNNING")) for history in histories])


def prepare_takes_the_lock(
    sfn: FakeStepFunctions, ddb: Any, arn: str = ARN, key: str = "orders:live"
) -> Callable[[], None]:
    def take() -> None:
        assert Channel(TABLE, ddb).acquire(key, arn, 3600, "4")
        sfn.move_on(arn)

    return take


def item(ddb: Any, key: str = "orders:live") -> dict[str, Any] | None:
    found = ddb.get_item(TableName=TABLE, Key={"lockKey": {"S": key}}).get("Item")
    return {k: next(iter(v.values())) for k, v in found.items()} if found else None


def pause(sfn: FakeStepFunctions, clock: Clockwork, **named: str) -> control.Sent:
    return control.send_control(Account(sfn), "pause", "look", patience=clock.patience, **named)


@pytest.mark.parametrize("named", [{"execution": ARN}, {"function": "orders", "alias": "live"}])
def test_a_control_waits_for_prepare_to_take_the_lock_then_is_sent(sfn, ddb, named):
    add(sfn, ARN, in_prepare(), locked())
    clock = Clockwork({2: prepare_takes_the_lock(sfn, ddb)})

    sent = pause(sfn, clock, **named)

    assert (sent.arn, sent.key) == (ARN, "orders:live") and clock.sleeps == 2
    assert clock.said == [
        f"waiting for {ARN} to take its lock…"  # said once, not once a poll
    ]
    assert (item(ddb) or {})["control"]["action"]["S"] == "pause"


def test_by_function_only_a_rollout_of_that_alias_still_in_prepare_is_waited_for(sfn, ddb):
    """Another alias's rollout in Prepare, and one of this alias past Prepare without a lock
    (a duplicate: it holds nothing), are not the rollout named."""
    add(sfn, SECOND, in_prepare({**ROLLOUT, "alias": "prod"}, SECOND))
    duplicate = {"action": "duplicate", "reason": "already rolling out version 4", "lock": None}
    add(sfn, THIRD, locked(arn=THIRD, **duplicate))
    add(sfn, ARN, in_prepare(), locked())
    clock = Clockwork({1: prepare_takes_the_lock(sfn, ddb)})

    sent = pause(sfn, clock, function="orders", alias="live")

    assert (sent.arn, sent.key) == (ARN, "orders:live") and clock.sleeps == 1


@pytest.mark.parametrize("named", [{"execution": ARN}, {"function": "orders", "alias": "live"}])
def test_a_rollout_that_ends_while_waited_for_changes_nothing(sfn, ddb, named):
    ended = rejected("RolloutInProgress")
    sfn.add(ARN, (in_prepare(), in_prepare().describe()), (ended, ended.describe("FAILED")))
    clock = Clockwork({2: lambda: sfn.move_on(ARN)})

    with pytest.raises(CliError) as refused:
        pause(sfn, clock, **named)

    assert refused.value.exit_code == 2, refused.value
    assert str(refused.value) == f"{ARN} has ended (FAILED); nothing changed"
    assert clock.sleeps == 2 and item(ddb) is None


def test_a_prepare_that_takes_no_lock_is_said_at_once(sfn, ddb):
    duplicate = {"action": "duplicate", "reason": "already rolling out version 4", "lock": None}
    add(sfn, ARN, locked(**duplicate))

    with pytest.raises(CliError) as refused:
        pause(sfn, Clockwork({}), execution=ARN)

    assert refused.value.exit_code == 2
    assert str(refused.value) == (
        f"{ARN} took no lock (duplicate: already rolling out version 4); nothing changed"
    )


def test_the_wait_has_a_deadline(sfn, ddb):
    add(sfn, ARN, in_prepare())
    clock = Clockwork({}, seconds=5)

    with pytest.raises(CliError) as late:
        pause(sfn, clock, function="orders", alias="live")

    assert late.value.exit_code == 1 and clock.sleeps == 5
    assert str(late.value) == (
        f"{ARN} took no lock (still in Prepare) within 5 s; nothing changed; try again"
    )
    assert item(ddb) is None


def test_several_in_prepare_for_one_alias_wait_for_whoever_takes_the_lock(sfn, ddb):
    add(sfn, ARN, in_prepare())
    add(sfn, SECOND, in_prepare(arn=SECOND), locked(arn=SECOND))
    clock = Clockwork({3: prepare_takes_the_lock(sfn, ddb, SECOND)})

    sent = pause(sfn, clock, function="orders", alias="live")

    assert (sent.arn, sent.key) == (SECOND, "orders:live") and clock.sleeps == 3
    assert clock.said == ["waiting for one of 2 rollouts of orders:live to take its lock…"]


def test_a_release_member_named_by_function_gets_the_releases_channel(sfn, ddb):
    release = json.loads((EVENTS / "console" / "release.json").read_text())
    add(sfn, ARN, in_prepare(release), locked("orders:live"))

    def take() -> None:
        keys = [("orders:live", "4"), ("orders-worker:live", "7")]
        assert Channel(TABLE, ddb).acquire_all(keys, ARN, 3600)
        sfn.move_on(ARN)

    sent = pause(sfn, Clockwork({1: take}), function="orders-worker", alias="live")

    assert (sent.arn, sent.key) == (ARN, "orders:live")


def test_with_no_rollout_running_or_in_prepare_the_cli_exits_2_at_once(
    sfn, ddb, monkeypatch, capsys
):
    add(sfn, SECOND, in_prepare({**ROLLOUT, "alias": "prod"}, SECOND))
    monkeypatch.setattr(control, "AwsContext", lambda *_: Account(sfn))

    code = main(["pause", "--function", "orders", "--alias", "live", "--reason", "look"])

    err = capsys.readouterr().err
    assert code == 2 and "no rollout of orders:live is running; nothing changed" in err, err
    assert "waiting" not in err


def test_the_inputs_that_take_a_lock_name_it_as_prepare_parses_them():
    publish = json.loads((EVENTS / "eventbridge" / "publish-version-tagged.json").read_text())
    release = json.loads((EVENTS / "console" / "release.json").read_text())
    waves = json.loads((EVENTS / "pipeline" / "two-waves.json").read_text())

    assert targets({**ROLLOUT, "functionName": "arn:aws:lambda:us-east-1:1:function:orders"}) == [
        ("orders", "live")
    ]
    assert targets(release) == [("orders", "live"), ("orders-worker", "live")]
    assert targets(publish) == [(publish["detail"]["requestParameters"]["functionName"], None)]
    assert targets(waves) == []  # the pipeline's own rollouts take the locks
    assert targets({**ROLLOUT, "strategy": "Canary7"}) == []  # Prepare refuses it


def test_a_publish_rollout_in_prepare_that_takes_another_alias_is_not_the_one_named(sfn, ddb):
    """A PublishVersion event names the function, not the alias (its tags do): followed, it
    turns out to roll another alias, so no rollout of this one is running."""
    publish = json.loads((EVENTS / "eventbridge" / "publish-version-tagged.json").read_text())
    add(sfn, ARN, in_prepare(publish), locked("orders:prod"))
    clock = Clockwork({1: prepare_takes_the_lock(sfn, ddb, key="orders:prod")})

    with pytest.raises(CliError) as refused:
        pause(sfn, clock, function="orders", alias="live")

    assert refused.value.exit_code == 2 and clock.sleeps == 1
    assert str(refused.value) == "no rollout of orders:live is running; nothing changed"
    assert "control" not in (item(ddb, "orders:prod") or {})


def test_a_control_waits_as_long_as_prepare_may_run_and_the_help_says_so():
    definition = json.loads((EVENTS.parent / "statemachine" / "rollout.asl.json").read_text())
    assert definition["States"]["Prepare"]["TimeoutSeconds"] == LOCK_WAIT_SECONDS
    assert f"after {LOCK_WAIT_SECONDS:g} s of waiting" in CONTROL[Exit.FAILED]


def test_prepares_exit_is_read_from_the_start_of_the_history(sfn):
    caught = History(ROLLOUT, THIRD).enter("Prepare").task_failed("RolloutInProgress", "held")
    add(sfn, ARN, in_prepare())
    add(sfn, SECOND, locked(arn=SECOND))
    add(sfn, THIRD, caught.enter("Explain rejection", "Pass"))

    assert prepared(sfn, ARN) is None
    assert prepared(sfn, SECOND) == Prepared("orders:live", "rollout")
    assert prepared(sfn, THIRD) == Prepared(None, "refused: went on to Explain rejection")
    # a refusal's Catch (ResultPath "$") leaves Prepare with the error as its output
    refusal = json.dumps({"Error": "RolloutInProgress", "Cause": "held"})
    assert Prepared.of(refusal) == Prepared(None, "refused: RolloutInProgress")
