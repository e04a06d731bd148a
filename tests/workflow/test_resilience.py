"""Faults the workflow must ride through: a throttled alias update, and task Lambdas run
twice because Step Functions retried them after their work was done (a lost response).

Faults are injected inside the local cloud for one sample function only, so they don't
touch the rollouts other scenarios run at the same time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.awslambda.models import LambdaAlias, LambdaBackend

from rollout.local.lambda_runtime import TooManyRequestsException
from tests.workflow.conftest import (
    AliasLog,
    Finished,
    SampleFunction,
    Workflow,
    concurrently,
    weights_of,
)

pytestmark = pytest.mark.cloud

STEPS = {"steps": [{"percentage": 20, "waitSeconds": 1}, {"percentage": 60, "waitSeconds": 1}]}
Result = tuple[SampleFunction, str, Finished]


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def take(self, limit: int) -> bool:
        """True for the first `limit` calls."""
        with self._lock:
            self.value += 1
            return self.value <= limit


def throttle_alias_updates(patch: pytest.MonkeyPatch, function: str, times: int) -> Counter:
    """UpdateAlias of `function` answers 429 TooManyRequestsException `times` times."""
    original = LambdaBackend.update_alias
    calls = Counter()

    def update_alias(backend: LambdaBackend, *args: Any, **kwargs: Any) -> LambdaAlias:
        if kwargs.get("function_name") == function and calls.take(times):
            raise TooManyRequestsException()
        return original(backend, *args, **kwargs)

    patch.setattr(LambdaBackend, "update_alias", update_alias)
    return calls


def lose_first_response(patch: pytest.MonkeyPatch, task: str, function: str) -> Counter:
    """The first invocation of the `task` Lambda for `function` does its work, then the
    caller gets a 429 instead of its result, so Step Functions retries the task."""
    original = LambdaBackend.invoke
    calls = Counter()

    def invoke(
        backend: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, Any],
    ) -> bytes:
        result = original(backend, function_name, qualifier, body, headers, response_headers)
        if task in function_name and _rolls_out(body, function) and calls.take(1):
            raise TooManyRequestsException()
        return result

    patch.setattr(LambdaBackend, "invoke", invoke)
    return calls


def _rolls_out(body: Any, function: str) -> bool:
    payload = json.loads(body) if body else {}
    named = (payload.get("plan") or payload.get("input") or {}).get("functionName")
    return named == function


def roll_out(cloud: Any, workflow: Workflow, function: SampleFunction) -> Result:
    target = function.publish()
    document = function.rollout(target, strategy=STEPS, checkIntervalSeconds=1)
    return function, target, workflow.run(document)


@pytest.fixture(scope="module")
def runs(cloud: Any, workflow: Workflow, alias_log: AliasLog) -> Iterator[dict[str, Any]]:
    functions = {
        name: SampleFunction(cloud, f"wf-{name}")
        for name in ("throttled", "prepare-twice", "shift-twice")
    }
    with pytest.MonkeyPatch.context() as patch:
        counters = {
            "throttled": throttle_alias_updates(patch, functions["throttled"].name, times=3),
            "prepare-twice": lose_first_response(
                patch, "PrepareFunction", functions["prepare-twice"].name
            ),
            "shift-twice": lose_first_response(
                patch, "ShiftTrafficFunction", functions["shift-twice"].name
            ),
        }
        scenarios = {
            name: lambda f=f: roll_out(cloud, workflow, f) for name, f in functions.items()
        }
        with concurrently(scenarios) as futures:
            yield {name: (futures[name], counters[name]) for name in functions}


def assert_rolled_out(
    function: SampleFunction, target: str, run: Finished, alias_log: AliasLog, workflow: Workflow
) -> None:
    assert (run.status, run.error, run.cause) == ("SUCCEEDED", None, None)
    assert function.alias() == (target, {})
    assert run.alias_weights() == [0.2, 0.6, 1.0]
    assert alias_log.of(function.name) == weights_of(function.stable, target, [20, 60])
    assert workflow.lock(function.name) is None


def test_a_throttled_alias_update_is_retried(runs, alias_log, workflow):
    future, throttled = runs["throttled"]
    function, target, run = future.result(timeout=120)

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert throttled.value == 6  # three refused, then two shifts and the promotion


def test_prepare_run_twice_takes_its_own_lock_again(runs, alias_log, workflow):
    future, lost = runs["prepare-twice"]
    function, target, run = future.result(timeout=120)

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert lost.value >= 2  # the first Prepare's response was lost; it ran again


def test_shift_traffic_run_twice_accepts_the_weight_it_already_set(runs, alias_log, workflow):
    future, lost = runs["shift-twice"]
    function, target, run = future.result(timeout=120)

    assert_rolled_out(function, target, run, alias_log, workflow)
    assert lost.value >= 2
