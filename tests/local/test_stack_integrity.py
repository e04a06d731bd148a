"""One physical resource per logical id, and every reference inside the stack pointing at
the stack's own resources: on a fresh `rollout local up` read while it deploys, after a
redeploy, and where it matters most, the safety net and the EventBridge trigger.

The cause these tests pin (see rollout/local/stacks.py): moto's lazy resource map let a
DescribeStacks served during CreateStack create resources a second time, so the rule
targets and the guard's pattern named an orphan state machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from rollout_core.models import Plan

from rollout.local.deploy import deploy_template
from rollout.local.package import transform_template
from tests.conftest import REPO
from tests.local.integrity import stack_problems
from tests.local.served import ServedCloud, served_cloud
from tests.reliability.rollouts import (
    alias_of,
    code_zip,
    lock_holder,
    role_arn,
    rollout_input,
    sample_function,
    start,
    wait_for_end,
    wait_for_state,
    wait_until,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return transform_template(REPO / "template.yaml")


class PolledCloud(ServedCloud):
    """A served cloud whose stack was checked as soon as it was ready, while the cloud held
    nothing else (the module's other tests add functions to it, in any order)."""

    def __init__(self, env: dict[str, str], template: dict[str, Any]) -> None:
        super().__init__(env)
        self.problems_when_ready = stack_problems(self.client, template, "rollout")


@pytest.fixture(scope="module")
def polled(template: dict[str, Any]) -> Iterator[PolledCloud]:
    """`rollout local up`, read by a readiness poller from the moment its port opens."""
    with served_cloud(poll_while_starting=True) as env:
        yield PolledCloud(env, template)


def test_a_stack_read_while_it_deploys_is_deployed_once(polled):
    # The poller must really have read the stack mid-deploy, or this proves nothing.
    assert int(polled.env["READS_WHILE_DEPLOYING"]) > 0
    assert polled.problems_when_ready == []


def test_outputs_appear_only_once_the_stack_is_complete(polled):
    stack = polled.client("cloudformation").describe_stacks(StackName="rollout")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"] and all(item["OutputValue"] for item in stack["Outputs"])


def test_a_redeploy_updates_in_place_and_leaves_no_orphans(isolated_cloud, template):
    """Unchanged, then with a parameter every function reads, while a client keeps reading
    the stack: same resources, same outputs, nothing left over."""
    with isolated_cloud(template=REPO / "template.yaml", seams=[]) as cloud:
        first = dict(cloud.stack_outputs)
        assert stack_problems(cloud.client, template, "rollout") == []
        cloud.deploy()
        assert cloud.stack_outputs == first
        reading = threading.Event()
        reader = threading.Thread(target=_read_stack_until, args=(cloud, reading), daemon=True)
        reader.start()
        outputs = deploy_template(
            cloud, REPO / "template.yaml", "rollout", {"DefaultCheckIntervalSeconds": "15"}
        )
        reading.set()
        reader.join(timeout=10)
        assert outputs == first
        assert stack_problems(cloud.client, template, "rollout") == []
        prepare = cloud.client("lambda").get_function_configuration(
            FunctionName=_physical(cloud, "PrepareFunction")
        )
        assert prepare["Environment"]["Variables"]["DEFAULT_CHECK_INTERVAL_SECONDS"] == "15"


def _read_stack_until(cloud: Any, done: threading.Event) -> None:
    cloudformation = cloud.client("cloudformation")
    while not done.wait(0.05):
        cloudformation.describe_stacks(StackName="rollout")
        cloudformation.describe_stack_resources(StackName="rollout")


def _physical(cloud: Any, logical_id: str) -> str:
    found = cloud.client("cloudformation").describe_stack_resource(
        StackName="rollout", LogicalResourceId=logical_id
    )
    return str(found["StackResourceDetail"]["PhysicalResourceId"])


def _burn_cpu(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


@pytest.mark.parametrize("cpu_burners", [0, 2], ids=["quiet", "two-cpu-bound-processes"])
def test_a_rollout_stopped_mid_step_is_restored_by_the_guard_10_times_of_10(polled, cpu_burners):
    """StopExecution at 10 %: the guard, run by the GuardRule on the stack's own state
    machine, puts the alias back and frees the lock, every time."""
    names = [f"stop-{cpu_burners}-{i}" for i in range(10)]
    burners = _burn_cpu(cpu_burners)
    try:
        versions = {name: sample_function(polled, name) for name in names}
        arns = {
            name: start(polled, rollout_input(name, versions[name][1], (60,))) for name in names
        }
        sfn = polled.client("stepfunctions")
        for name, arn in arns.items():
            wait_for_state(polled, arn, "Shift traffic", timeout=60)
            assert alias_of(polled, name)[1] == {versions[name][1]: 0.1}
            sfn.stop_execution(executionArn=arn, cause="stopped by a test")
        for name, arn in arns.items():
            assert wait_for_end(polled, arn)["status"] == "ABORTED"
            restored = (versions[name][0], {})
            wait_until(lambda n=name, r=restored: alias_of(polled, n) == r, 30, f"{name} restored")
            wait_until(lambda n=name: lock_holder(polled, n) is None, 30, f"{name} lock freed")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_a_published_version_starts_a_listed_rollout_after_a_failed_one(polled):
    """Issue 10, item 1: EventBridge-started rollouts run on the state machine the stack
    names, so ListExecutions and `rollout status` find them, whoever started them."""
    sfn, lam = polled.client("stepfunctions"), polled.client("lambda")
    machine = polled.stack_outputs["RolloutStateMachineArn"]
    rejected = sfn.start_execution(
        stateMachineArn=machine, input=json.dumps({"functionName": "nope", "alias": "live"})
    )["executionArn"]
    assert wait_for_end(polled, rejected)["status"] == "FAILED"

    name = "published-after-failure"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(polled),
        Handler="app.handler",
        Code={"ZipFile": code_zip("v1")},
        Tags={"rollout:alias": "live", "rollout:strategy": "AllAtOnce"},
    )
    first = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=first)
    lam.update_function_code(FunctionName=name, ZipFile=code_zip("v2"))
    second = lam.publish_version(FunctionName=name)["Version"]
    wait_until(lambda: alias_of(polled, name) == (second, {}), 60, f"{name} on {second}")

    def this_functions_executions() -> list[str]:
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
        return [d["executionArn"] for d in described if f'"{name}"' in d["input"]]

    # One execution per PublishVersion, each listed, whoever started it.
    arns = wait_until(lambda: len(this_functions_executions()) == 2, 30, "both listed") and (
        this_functions_executions()
    )
    plans = {}
    for arn in arns:
        ended = wait_for_end(polled, arn)
        if ended["status"] == "SUCCEEDED":
            plan = Plan.model_validate(json.loads(ended["output"])["plan"])
            plans[plan.targetVersion] = plan.action
    assert plans.get(second) == "rollout", plans
    status = subprocess.run(
        [sys.executable, "-m", "rollout.cli", "status"],
        env=polled.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert name in status.stdout, status.stdout
