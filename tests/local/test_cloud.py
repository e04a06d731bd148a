"""LocalCloud itself: each one starts empty; a busy port is a clear error."""

import json
import socket

import pytest
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from rollout.local.cloud import PATIENT_RETRIES, LocalCloud
from tests.local.served import client

WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}}


def test_a_new_cloud_starts_empty(isolated_cloud):
    with isolated_cloud(seams=[]) as first:
        first.client("sqs").create_queue(QueueName="left-behind")
    with isolated_cloud(seams=[]) as second:
        assert second.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_busy_port_is_refused_clearly(own_cloud):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalCloud(port=port, template=None, seams=[]).start()


def test_a_cloud_the_code_under_test_starts_is_refused_unless_the_test_says_so(cloud_manager):
    """Whether the shared cloud runs depends on which module ran before on the worker: an
    undeclared LocalCloud is refused in every order (tests/conftest.py), never only in some."""
    cloud_manager.release_shared()  # as when this test runs first on its worker
    with pytest.raises(RuntimeError, match="request the `own_cloud` fixture"):
        LocalCloud(template=None, seams=[]).start()
    assert LocalCloud._running is None


def test_a_test_that_says_so_starts_its_own_cloud_after_the_shared_one(cloud_manager, own_cloud):
    """As benchmarks.account.run does: `own_cloud` stopped the shared cloud that an earlier
    module left running."""
    cloud_manager.shared()  # a module before this one left the shared cloud running
    cloud_manager.own_cloud()  # what the fixture does, after it
    with LocalCloud(template=None, seams=[]) as own:
        assert LocalCloud._running is own
    assert LocalCloud._running is None


def test_stopping_stops_every_running_execution_past_the_first_page(isolated_cloud):
    """ListExecutions answers 100 at a time: a stop that read one page left the rest running
    on moto's threads after the seams they call were gone."""
    with isolated_cloud(seams=[]) as cloud:
        sfn = cloud.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="waits", definition=json.dumps(WAIT), roleArn="arn:aws:iam::123456789012:role/x"
        )["stateMachineArn"]
        for number in range(101):
            sfn.start_execution(stateMachineArn=machine, name=f"waiting-{number}")
        backend = stepfunctions_parser_backends[cloud.account_id][cloud.region]
    executions = backend.describe_state_machine(machine).executions
    assert len(executions) == 101
    assert {execution.status for execution in executions} == {"ABORTED"}


def test_a_clients_default_is_to_retry_throttling_as_a_careful_script(cloud):
    """One default for every harness client, in-process or served: PATIENT_RETRIES."""
    env = {**cloud.client_env(), "AWS_SESSION_TOKEN": ""}
    for built in (cloud.client("sts"), client(env, "sts")):
        assert built.meta.config.retries == PATIENT_RETRIES
    once = cloud.client("sts", retries={"total_max_attempts": 1})
    assert once.meta.config.retries["total_max_attempts"] == 1
