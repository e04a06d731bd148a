"""Step Functions seam: generated execution names and terminal status-change events."""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.parse.asl_parser import (
    AmazonStateLanguageParser,
    ASLParserException,
)
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from rollout.local.cloud import LocalCloud
from rollout.local.eventbridge import EventBridgeDelivery
from rollout.local.stepfunctions import StepFunctionsEvents
from tests.conftest import REPO

pytestmark = pytest.mark.cloud

ROLE = "arn:aws:iam::123456789012:role/local"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}
FAIL = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Bad", "Cause": "why"}}}
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}


@pytest.fixture(scope="module")
def seam_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[EventBridgeDelivery, StepFunctionsEvents]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def sfn(seam_cloud: LocalCloud) -> Any:
    return seam_cloud.client("stepfunctions")


@pytest.fixture(scope="module")
def status_queue(seam_cloud: LocalCloud) -> Any:
    """Every status-change event, routed by a rule to an SQS queue; returns a reader."""
    sqs, events = seam_cloud.client("sqs"), seam_cloud.client("events")
    url = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="status-changes",
        EventPattern=json.dumps(
            {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
        ),
    )
    events.put_targets(Rule="status-changes", Targets=[{"Id": "q", "Arn": arn}])
    return lambda execution_arn: next_event_for(sqs, url, execution_arn)


def next_event_for(sqs: Any, url: str, execution_arn: str) -> dict[str, Any]:
    """The status-change event of one execution (deadline 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if event["detail"]["executionArn"] == execution_arn:
                return event
    raise AssertionError(f"no status-change event for {execution_arn}")


def machine(sfn: Any, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def test_nameless_starts_get_distinct_uuid_names(sfn):
    arn = machine(sfn, PASS)

    first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn)["executionArn"]

    names = [sfn.describe_execution(executionArn=e)["name"] for e in (first, second)]
    assert names[0] != names[1]
    assert all(str(uuid.UUID(name)) == name for name in names)


def test_inputs_over_256_kb_are_refused_as_on_aws(sfn):
    arn = machine(sfn, PASS)
    at_limit = json.dumps({"pad": "x" * (262_144 - 11)})
    assert len(at_limit) == 262_144
    sfn.start_execution(stateMachineArn=arn, input=at_limit)
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"pad": "x" * 262_144}))
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_input_that_is_not_json_is_refused_as_on_aws(sfn):
    arn = machine(sfn, PASS)
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=arn, input="{not json")
    assert refused.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _most_parses_at_once(parse: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """Parse from 8 threads at once; how many of moto's preprocessors ran at the same time."""
    visit = Preprocessor.visitProgram_decl
    lock, active, most = threading.Lock(), [0], [0]

    def counting(self: Preprocessor, ctx: Any) -> Any:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.005)  # hold the scope open, as a large definition would
        try:
            return visit(self, ctx)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(Preprocessor, "visitProgram_decl", counting)
    definition = json.dumps(PASS)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: parse(definition), range(16)))
    return most[0]


def test_moto_still_parses_concurrently_with_shared_state(monkeypatch):
    """Its preprocessor keeps the query-language scope stack in a class attribute, so
    overlapping parses corrupt each other (an execution's thread dies with IndexError and
    it stays RUNNING forever). When this fails, moto changed and the lock may go."""
    assert isinstance(vars(Preprocessor)["_query_language_per_scope"], list)
    unlocked = getattr(AmazonStateLanguageParser.parse, "__wrapped__", None)
    assert _most_parses_at_once(unlocked or AmazonStateLanguageParser.parse, monkeypatch) > 1


def test_the_seam_parses_one_definition_at_a_time(seam_cloud, monkeypatch):
    assert _most_parses_at_once(AmazonStateLanguageParser.parse, monkeypatch) == 1


def rollout_definition() -> str:
    """The rollout workflow, every `${...}` filled in as the stack fills them."""
    text = (REPO / "statemachine" / "rollout.asl.json").read_text()
    return re.sub(r"\$\{\w+\}", "arn:aws:lambda:us-east-1:123456789012:function:task", text)


def test_the_seam_parses_as_moto_does_and_gives_each_call_its_own_program(seam_cloud):
    """The seam keeps parse trees per definition (moto parses again for every execution),
    and still builds a fresh program for each call: no execution shares a component."""
    moto_parse = moto_original(AmazonStateLanguageParser, "parse")
    for definition in (rollout_definition(), json.dumps(PASS)):
        first, tree = AmazonStateLanguageParser.parse(definition)
        second, same_tree = AmazonStateLanguageParser.parse(definition)
        by_moto, moto_tree = moto_parse(definition)
        assert same_tree is tree  # parsed once
        assert first is not second  # every execution gets its own components
        assert type(first) is type(by_moto) and tree.getText() == moto_tree.getText()
        assert first.states.states.keys() == by_moto.states.states.keys()


def test_the_seam_raises_syntax_errors_as_moto_does_every_time(seam_cloud):
    broken = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}'
    with pytest.raises(ASLParserException) as by_moto:
        moto_original(AmazonStateLanguageParser, "parse")(broken)
    for _ in range(2):  # a failed parse is not kept
        with pytest.raises(ASLParserException) as by_seam:
            AmazonStateLanguageParser.parse(broken)
        assert by_seam.value.errors == by_moto.value.errors != []


def test_given_names_are_kept(sfn):
    arn = machine(sfn, PASS)
    started = sfn.start_execution(stateMachineArn=arn, name="chosen")
    assert started["executionArn"].endswith(":chosen")


def test_succeeded_execution_emits_status_change(sfn, status_queue, seam_cloud):
    arn = machine(sfn, PASS)
    execution = sfn.start_execution(stateMachineArn=arn, input='{"in": true}')["executionArn"]

    event = status_queue(execution)

    assert event["source"] == "aws.states"
    assert event["resources"] == [execution]
    detail = event["detail"]
    described = sfn.describe_execution(executionArn=execution)
    assert detail["status"] == "SUCCEEDED"
    assert detail["stateMachineArn"] == arn
    assert detail["name"] == described["name"]
    assert json.loads(detail["input"]) == {"in": True}
    assert json.loads(detail["output"]) == {"ok": 1}
    assert detail["startDate"] == int(described["startDate"].timestamp() * 1000)
    assert detail["stopDate"] >= detail["startDate"]
    assert detail["error"] is None


def test_failed_execution_carries_error_and_cause(sfn, status_queue):
    execution = sfn.start_execution(stateMachineArn=machine(sfn, FAIL))["executionArn"]

    detail = status_queue(execution)["detail"]

    assert (detail["status"], detail["error"], detail["cause"]) == ("FAILED", "Bad", "why")
    assert detail["output"] is None


def test_stopped_execution_emits_aborted(sfn, status_queue):
    execution = sfn.start_execution(stateMachineArn=machine(sfn, WAIT))["executionArn"]
    sfn.stop_execution(executionArn=execution)

    assert status_queue(execution)["detail"]["status"] == "ABORTED"


def test_status_change_can_start_another_workflow(sfn, seam_cloud):
    """The pattern rollouts use: a rule on a finished execution starts a follow-up."""
    first, follow_up = machine(sfn, FAIL), machine(sfn, PASS)
    events = seam_cloud.client("events")
    events.put_rule(
        Name="on-failure",
        EventPattern=json.dumps(
            {"source": ["aws.states"], "detail": {"stateMachineArn": [first], "status": ["FAILED"]}}
        ),
    )
    events.put_targets(
        Rule="on-failure",
        Targets=[{"Id": "next", "Arn": follow_up, "InputPath": "$.detail.executionArn"}],
    )

    failed = sfn.start_execution(stateMachineArn=first)["executionArn"]

    deadline = time.monotonic() + 10
    while not (runs := sfn.list_executions(stateMachineArn=follow_up)["executions"]):
        assert time.monotonic() < deadline, "follow-up workflow never started"
        time.sleep(0.05)
    started_with = sfn.describe_execution(executionArn=runs[0]["executionArn"])["input"]
    assert json.loads(started_with) == failed


# -- contract with moto ---------------------------------------------------------------------


def moto_original(owner: Any, name: str) -> Any:
    current = getattr(owner, name)
    return getattr(current, "__wrapped__", current)


def test_moto_internals_the_seam_replaces_keep_their_signatures():
    start = moto_original(StepFunctionsParserBackend, "start_execution")
    assert list(inspect.signature(start).parameters) == [
        "self",
        "state_machine_arn",
        "name",
        "execution_input",
        "trace_header",
    ]
    terminated = moto_original(BaseExecutionWorkerCommunication, "terminated")
    assert list(inspect.signature(terminated).parameters) == ["self"]


def test_moto_internals_a_stop_relies_on_keep_their_shape():
    """The seam keeps a stopped program stopped: it reads `_program_state` before the end
    moto's set_error / set_timed_out would write over it."""
    for name in ("set_error", "set_timed_out"):
        ending = moto_original(Environment, name)
        assert "self._program_state = " in inspect.getsource(ending), name
    assert list(inspect.signature(moto_original(Environment, "set_error")).parameters) == [
        "self",
        "error",
    ]


def test_moto_still_ends_a_stopped_program_failed_when_a_task_errs_after_the_stop():
    """When moto keeps a stopped program stopped itself, that part of the seam can go."""
    source = inspect.getsource(moto_original(Environment, "set_error"))
    assert "ProgramRunning" not in source and "ProgramStopped" not in source


def test_moto_still_names_nameless_executions_none():
    """When moto generates names itself, that half of the seam can go."""
    source = inspect.getsource(moto_original(StepFunctionsParserBackend, "start_execution"))
    assert "uuid" not in source


def test_uninstall_restores_moto(seam_cloud):
    before = (
        StepFunctionsParserBackend.start_execution,
        BaseExecutionWorkerCommunication.terminated,
    )
    parse_before = vars(AmazonStateLanguageParser)["parse"]
    endings = (Environment.set_error, Environment.set_timed_out)
    seam = StepFunctionsEvents()
    seam.install(seam_cloud)
    assert StepFunctionsParserBackend.start_execution is not before[0]
    seam.uninstall()
    assert (
        StepFunctionsParserBackend.start_execution,
        BaseExecutionWorkerCommunication.terminated,
    ) == before
    assert vars(AmazonStateLanguageParser)["parse"] is parse_before  # still a staticmethod
    assert (Environment.set_error, Environment.set_timed_out) == endings
