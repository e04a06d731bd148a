"""Workflow tests: the real ASL, the real task Lambdas and a real sample function, on the
shared local cloud. One test per workflow path (docs/workflow.md).

Helpers:
- `SampleFunction`: a small Python function whose behaviour is set per version (the
  MODE environment variable), with version 1 live behind the alias `live`.
- `Workflow`: StartExecution with a unique name, wait to the end with a deadline, find
  the execution EventBridge started, read the lock.
- `Finished`: status, Error, Cause, output and history of an ended execution, and the
  weights the workflow gave the alias (Shift traffic and Promote outputs).
- `AliasLog`: every UpdateAlias the local cloud applied, per function: what the alias
  actually had, independent of what the workflow reports.
- `traffic`: requests to the alias from a background thread, as users would send.
- `runs`: a module declares its scenarios (`scenarios(cloud, workflow)`); they all start
  at once, and each test takes its own scenario's result, so a module costs about as
  long as its slowest scenario.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from moto.awslambda.models import LambdaAlias, LambdaBackend
from rollout_core.errors import read_cause
from rollout_core.models import CheckResult, Plan, Progress
from rollout_core.results import FinalizeSummary, RollbackRecord

from rollout.local.cloud import LocalCloud
from rollout.local.lambda_aliases import position
from rollout.local.lambda_runtime import backend_of
from rollout.samples import Traffic, code_zip, lambda_role
from rollout.view.fetch import fetch_history
from tests.clients import shared_client
from tests.execution_ends import wait_for_end

ALIAS = "live"
STAGGER = 0.3  # seconds between the starts of two scenarios
RUN_DEADLINE = 90.0  # seconds an execution may take before the test gives up on it
RESULT_DEADLINE = 240.0  # seconds a test waits for its scenario (set-up and runs included)
POLL = 0.2
# A test waiting for an alias to change reads it at most this often, as a careful user
# would: GetAlias is on that same control-plane quota, which the workflow's own Shift
# traffic and Roll back need.
ALIAS_READ_EVERY = 0.5
# A module's scenarios wait for their executions at once: each asks every half second, so
# together they stay within DescribeExecution's refill (15 a second per account and Region)
# and ListExecutions' (5 a second).
EXECUTION_POLL = 0.5
ROLE_NAME = "workflow-tests-function"
HANDLER = '''\
import os
import time

if os.environ.get("MODE") == "init-fail":  # fails in init: every environment, every request
    raise RuntimeError(f"release {os.environ.get('RELEASE')} failed in init")


def handler(event, context):
    """MODE: ok | fail (every request) | fail-bad (requests with "order": "bad") | hang
    (sleeps past a short Timeout) | init-fail (the module raises on import) | slow (answers
    after 150 ms)."""
    mode = os.environ.get("MODE", "ok")
    if mode == "hang":
        time.sleep(30)
    if mode == "slow":
        time.sleep(0.15)
    bad = isinstance(event, dict) and event.get("order") == "bad"
    if mode == "fail" or (mode == "fail-bad" and bad):
        raise RuntimeError(f"release {os.environ.get('RELEASE')} failed ({mode})")
    return {"ok": True, "release": os.environ.get("RELEASE"), "version": context.function_version}
'''

Json = dict[str, Any]
Position = tuple[str, dict[str, float]]  # (version, additional version weights)


def _code() -> bytes:
    return code_zip({"app.py": HANDLER})


def unique(prefix: str) -> str:
    """A name no other test in the session uses (the shared cloud outlives modules)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def deadline_poll(
    what: str, check: Callable[[], Any], timeout: float = RUN_DEADLINE, every: float = POLL / 2
) -> Any:
    """The first truthy `check()`, tried every `every` seconds; TimeoutError naming `what`
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


class SampleFunction:
    """`name` with version 1 (MODE `mode`) live behind `live`; untagged unless `tags`."""

    def __init__(self, cloud: LocalCloud, prefix: str, mode: str = "ok") -> None:
        self.cloud = cloud
        self.name = unique(prefix)
        self.lam = shared_client(cloud, "lambda")
        self._release = 1
        self.lam.create_function(
            FunctionName=self.name,
            Runtime="python3.12",
            Role=_role(cloud),
            Handler="app.handler",
            Code={"ZipFile": _code()},
            Timeout=60,  # generous: a cold start on a busy machine may take seconds
            Environment={"Variables": {"MODE": mode, "RELEASE": "1"}},
        )
        self.stable = str(self.lam.publish_version(FunctionName=self.name)["Version"])
        self.lam.create_alias(FunctionName=self.name, Name=ALIAS, FunctionVersion=self.stable)

    @property
    def arn(self) -> str:
        return str(self.lam.get_function_configuration(FunctionName=self.name)["FunctionArn"])

    def publish(self, mode: str = "ok") -> str:
        """A new version that behaves as `mode` (a configuration change, as a deploy makes)."""
        self._release += 1
        variables = {"MODE": mode, "RELEASE": str(self._release)}
        self.lam.update_function_configuration(
            FunctionName=self.name, Environment={"Variables": variables}
        )
        return str(self.lam.publish_version(FunctionName=self.name)["Version"])

    def tag(self, tags: dict[str, str]) -> None:
        self.lam.tag_resource(Resource=self.arn, Tags=tags)

    def alias(self) -> Position:
        found = self.lam.get_alias(FunctionName=self.name, Name=ALIAS)
        weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return str(found["FunctionVersion"]), {v: float(w) for v, w in weights.items()}

    def recent_alias(self) -> Position:
        """The alias as the local cloud applied it, read inside moto without an API call:
        for payload functions, which run on every request of a traffic thread. GetAlias is on
        Lambda's control-plane quota (15 a second per account and Region), which the
        workflow's own Shift traffic and Roll back need; a throttled read would stall the
        traffic it decides."""
        return position(backend_of(self.cloud).get_alias(ALIAS, self.name))

    def set_alias(self, version: str, weights: dict[str, float] | None = None) -> None:
        """Someone else changing the alias (console, another pipeline)."""
        self.lam.update_alias(
            FunctionName=self.name,
            Name=ALIAS,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights or {}},
        )

    def rollout(self, target: str, **options: Any) -> Json:
        """A console input for this function; `options` are the other input keys."""
        return {"functionName": self.name, "alias": ALIAS, "targetVersion": target, **options}


def _role(cloud: LocalCloud) -> str:
    return lambda_role(shared_client(cloud, "iam"), ROLE_NAME)


@dataclass
class Finished:
    """An execution that ended, as DescribeExecution and GetExecutionHistory tell it."""

    arn: str
    status: str
    error: str | None
    cause: str | None
    output: Json | None
    history: list[Json]

    def states_entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if "stateEnteredEventDetails" in e
        ]

    def outputs_of(self, state: str) -> list[Json]:
        """The state output (the whole document) each time `state` was left."""
        return [
            json.loads(e["stateExitedEventDetails"]["output"])
            for e in self.history
            if e.get("stateExitedEventDetails", {}).get("name") == state
        ]

    @property
    def plan(self) -> Plan:
        return Plan.model_validate(self.outputs_of("Prepare")[0]["plan"])

    def progress_of(self, state: str) -> list[Progress]:
        """`$.progress` each time `state` was left."""
        return [Progress.model_validate(doc["progress"]) for doc in self.outputs_of(state)]

    def summary(self) -> FinalizeSummary:
        """Finalize's summary (`$.outcome.summary`)."""
        return FinalizeSummary.model_validate(self.outputs_of("Finalize")[0]["outcome"]["summary"])

    def rollback(self) -> RollbackRecord:
        return RollbackRecord.model_validate(self.outputs_of("Roll back")[0]["rollback"])

    def alias_weights(self) -> list[float]:
        """The new version's weight after each Shift traffic and Promote, in order."""
        weights: list[float] = []
        for event in self.history:
            details = event.get("stateExitedEventDetails", {})
            if details.get("name") == "Shift traffic":
                progress = json.loads(details["output"])["progress"]
                if progress["stepIndex"] >= 0:  # AllAtOnce: nothing shifted before Promote
                    weights.append(progress["weight"])
            elif details.get("name") == "Promote":
                weights.append(1.0)
        return weights

    def task_errors(self) -> list[str]:
        """The Error of every failed task attempt (retried or caught), in order."""
        return [
            e["taskFailedEventDetails"]["error"] for e in self.history if e["type"] == "TaskFailed"
        ]

    def failed_check(self) -> CheckResult:
        """The health check that failed: its HealthCheckFailed error's details."""
        for event in reversed(self.history):
            details = event.get("taskFailedEventDetails", {})
            if details.get("error") == "HealthCheckFailed":
                _, found = read_cause(details["cause"])
                assert found is not None and found.lastCheck is not None, details["cause"]
                return found.lastCheck
        raise AssertionError("no health check failed")

    def health_checks(self) -> list[CheckResult]:
        """`progress.lastCheck` of every Check health / Check bake health that passed."""
        checks: dict[int, CheckResult | None] = {}
        for state in ("Check health", "Check bake health"):
            for progress in self.progress_of(state):
                # a caught failure leaves the state too, with the previous check's progress
                checks.setdefault(progress.checks, progress.lastCheck)
        return [found for number in sorted(checks) if (found := checks[number])]


def assert_compared_with_stable(
    run: Finished, function: SampleFunction, signal: str, text: str
) -> None:
    """`text` compares with the stable version's 0 % when the failed check read any of its
    invocations (a rollback at the first failure may come before any is readable)."""
    checked = run.failed_check()
    stable = checked.logs.stableVersion if signal == "logs" and checked.logs else None
    stable = stable if signal == "logs" else checked.stableVersion
    assert stable is not None, checked
    clause = f" and above stable version {function.stable} (0.00%)"
    assert (clause in text) == (stable.invocations > 0), (stable, text)


class Workflow:
    """The deployed rollout state machine (stack `rollout` on the shared cloud)."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.sfn = shared_client(cloud, "stepfunctions")
        self.ddb = shared_client(cloud, "dynamodb")
        self.lam = shared_client(cloud, "lambda")
        self.state_machine = cloud.stack_outputs["RolloutStateMachineArn"]
        self.table = cloud.stack_outputs["RolloutTableName"]
        self._inputs: dict[str, Json] = {}

    def task_functions(self) -> list[str]:
        """The Lambda functions the state machine's tasks invoke."""
        definition = json.loads(
            self.sfn.describe_state_machine(stateMachineArn=self.state_machine)["definition"]
        )
        return sorted(
            {
                state["Parameters"]["FunctionName"]
                for state in definition["States"].values()
                if state.get("Resource") == "arn:aws:states:::lambda:invoke"
            }
        )

    def warm_up(self) -> None:
        """Start one execution environment per task function, all at once (an empty
        payload is refused by the handler's parser, after the imports a cold start pays
        for)."""
        functions = self.task_functions()
        with ThreadPoolExecutor(max_workers=len(functions)) as pool:
            for reply in pool.map(
                lambda f: self.lam.invoke(FunctionName=f, Payload=b"{}"), functions
            ):
                assert reply["StatusCode"] == 200, reply

    def execution_arn(self, name: str) -> str:
        return self.state_machine.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, document: Json, name: str | None = None) -> str:
        name = name or unique(document.get("functionName", "rollout")[:60])
        started = self.sfn.start_execution(
            stateMachineArn=self.state_machine, name=name, input=json.dumps(document)
        )
        return str(started["executionArn"])

    def wait(self, arn: str, timeout: float = RUN_DEADLINE) -> Finished:
        """The ended execution; stops it and raises TimeoutError after `timeout` seconds."""
        try:
            described = wait_for_end(self.cloud, self.sfn, arn, timeout, EXECUTION_POLL)
        except TimeoutError:
            self.sfn.stop_execution(executionArn=arn, cause="workflow test deadline")
            raise
        output = described.get("output")
        return Finished(
            arn,
            described["status"],
            described.get("error"),
            described.get("cause"),
            json.loads(output) if output else None,
            self.history(arn),
        )

    def run(self, document: Json, timeout: float = RUN_DEADLINE) -> Finished:
        return self.wait(self.start(document), timeout)

    def has_left(self, arn: str, state: str) -> bool:
        """Whether the execution has left `state` (its task finished) at least once."""
        return any(
            e.get("stateExitedEventDetails", {}).get("name") == state for e in self.history(arn)
        )

    def history(self, arn: str) -> list[Json]:
        return fetch_history(self.sfn, arn)

    def started_for(
        self, function: str, version: str, timeout: float = RUN_DEADLINE, besides: str = ""
    ) -> str:
        """The execution EventBridge started for `function`'s PublishVersion of `version`
        (`besides`: another than this one, for a second publish handing back the same)."""
        return str(
            deadline_poll(
                f"a rollout of {function} version {version}",
                lambda: self._find_event_execution(function, version, besides),
                timeout,
                EXECUTION_POLL,
            )
        )

    def _find_event_execution(self, function: str, version: str, besides: str) -> str | None:
        pages = self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.state_machine
        )
        for page in pages:
            for execution in page["executions"]:
                response = (
                    self._input(execution["executionArn"]).get("detail", {}).get("responseElements")
                    or {}
                )
                found = (
                    response.get("functionName") == function and response.get("version") == version
                )
                if found and execution["executionArn"] != besides:
                    return str(execution["executionArn"])
        return None

    def _input(self, arn: str) -> Json:
        if arn not in self._inputs:  # an execution's input never changes
            self._inputs[arn] = json.loads(self.sfn.describe_execution(executionArn=arn)["input"])
        return self._inputs[arn]

    def lock(self, function: str, alias: str = ALIAS) -> Json | None:
        """The lock item of function:alias, or None when nobody holds it."""
        item = self.ddb.get_item(
            TableName=self.table, Key={"lockKey": {"S": f"{function}:{alias}"}}, ConsistentRead=True
        ).get("Item")
        return {key: next(iter(value.values())) for key, value in item.items()} if item else None


class AliasLog:
    """Every alias update the local cloud applied, recorded inside moto as it happens."""

    def __init__(self) -> None:
        self._positions: dict[str, list[Position]] = defaultdict(list)
        self._lock = threading.Lock()

    def install(self, patch: pytest.MonkeyPatch) -> None:
        original = LambdaBackend.update_alias
        log = self

        def update_alias(backend: LambdaBackend, *args: Any, **kwargs: Any) -> LambdaAlias:
            alias = original(backend, *args, **kwargs)
            log.record(alias)
            return alias

        patch.setattr(LambdaBackend, "update_alias", update_alias)

    def record(self, alias: LambdaAlias) -> None:
        function = alias.arn.split(":function:", 1)[1].rsplit(":", 1)[0]
        with self._lock:
            self._positions[function].append(position(alias))

    def of(self, function: str) -> list[Position]:
        with self._lock:
            return list(self._positions[function])


def traffic(
    function: SampleFunction, payload: Callable[[], Json] = dict, per_second: float = 10.0
) -> Traffic:
    """Requests to `function:live` from a background thread; `payload()` picks each body."""
    return Traffic(
        shared_client(function.cloud, "lambda"), function.name, ALIAS, per_second, payload
    )


@contextmanager
def concurrently(
    scenarios: dict[Any, Callable[[], Any]], stagger: float = STAGGER
) -> Iterator[dict[Any, Future[Any]]]:
    """Start every scenario on its own thread; yields their futures, waits for all after.

    Starts are staggered a little: rollouts started in the same instant reach each task
    in the same instant, and every simultaneous invocation needs an execution
    environment of its own (a cold start, about a CPU-second each).
    """
    with ThreadPoolExecutor(max_workers=len(scenarios), thread_name_prefix="scenario") as pool:
        futures = {}
        for name, scenario in scenarios.items():
            futures[name] = pool.submit(scenario)
            time.sleep(stagger)
        yield futures


def weights_of(stable: str, target: str, percentages: list[float]) -> list[Position]:
    """The alias positions a rollout through `percentages` sets, promotion included."""
    return [(stable, {target: round(p / 100, 6)}) for p in percentages] + [(target, {})]


# The task Lambdas' warm environments serve every module that shares the cloud: the
# warmed-up Workflow is built once per start of the shared cloud (another module may have
# stopped it in between, for an isolated cloud or mock_aws).


@pytest.fixture(scope="module")
def workflow_cloud(cloud_manager: Any) -> LocalCloud:
    """The shared cloud with the application deployed (tests/conftest.py)."""
    return cloud_manager.shared()  # type: ignore[no-any-return]


def _warmed_up(cloud: LocalCloud) -> Workflow:
    workflow = Workflow(cloud)
    workflow.warm_up()
    return workflow


@pytest.fixture(scope="module")
def workflow(workflow_cloud: LocalCloud, cloud_manager: Any) -> Workflow:
    return cloud_manager.attached("workflow", _warmed_up)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def alias_log() -> Iterator[AliasLog]:
    """Installed for the module only: moto's own update_alias is back for the next one."""
    log = AliasLog()
    with pytest.MonkeyPatch.context() as patch:
        log.install(patch)
        yield log


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest,
    workflow_cloud: LocalCloud,
    workflow: Workflow,
    alias_log: AliasLog,
) -> Iterator[Runs]:
    """The module's scenarios, all started at once: `runs["name"]` is what one returned.

    A module declares `scenarios(cloud, workflow) -> {name: callable}`; each callable
    sets up its own sample function (and faults), runs its rollout(s) and returns what
    the tests assert on. Rollouts spend most of their time waiting, so a module lasts
    about as long as its slowest scenario. The modules a worker runs come one after
    another (other workers have clouds of their own): more rollouts at once on one cloud
    would need more execution environments (cold starts) than they save.
    """
    with concurrently(request.module.scenarios(workflow_cloud, workflow)) as futures:
        yield Runs(futures)


class Runs:
    """Scenario results by name, each waited for with a deadline."""

    def __init__(self, futures: dict[str, Future[Any]]) -> None:
        self._futures = futures

    def __getitem__(self, name: str) -> Any:
        return self._futures[name].result(timeout=RESULT_DEADLINE)
