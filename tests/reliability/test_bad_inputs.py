"""The bad-input corpus: every input here fails in Prepare and touches nothing.

All executions run on the shared local cloud (real state machine, real task Lambdas) and
are started at once. Each must end FAILED at "Request rejected" with Error
InvalidRolloutRequest and a one-line Cause that names the problem; aliases, versions and
the lock table must read the same before and after. A positive control (the base input
on a twin function) proves the base is valid, so each rejection is due to its one defect.

Inputs over Step Functions' 256 KB limit never reach Prepare: StartExecution refuses them
with a ValidationException, on AWS and on the local cloud alike (tests/local), so the
corpus keeps to inputs StartExecution accepts and lets Prepare refuse them.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rollout.view.fetch import fetch_history
from tests.reliability.rollouts import ALIAS, code_zip, role_arn, sample_function, wait_until

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

FN = "bad-input-orders"
SPLIT = "bad-input-split"
LATEST = "bad-input-latest"
TAGGED = "bad-input-tagged"
CONTROL = "bad-input-control"
ALARM = "bad-input-alarm"
OTHER_ACCOUNT = "arn:aws:lambda:us-east-1:999999999999:function:" + FN
HERE = "123456789012:function:" + FN
REJECTED_PATH = ["Prepare", "Explain rejection", "Request rejected"]
BASE: dict[str, Any] = {
    "functionName": FN,
    "alias": ALIAS,
    "targetVersion": "2",
    "strategy": "AllAtOnce",
    "preTraffic": False,
    "timeScale": 0.01,
    "checkIntervalSeconds": 1,
}


def bad(**changes: Any) -> dict[str, Any]:
    """The base input with some keys replaced (a value of ... removes the key)."""
    merged = {**BASE, **changes}
    return {key: value for key, value in merged.items() if value is not ...}


def steps(*percentages: float, wait: int = 1) -> dict[str, Any]:
    return {"steps": [{"percentage": p, "waitSeconds": wait} for p in percentages]}


def publish_event(function: str, version: Any, **detail: Any) -> dict[str, Any]:
    return {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventSource": "lambda.amazonaws.com",
            "eventName": "PublishVersion20150331",
            "responseElements": {
                "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
                "version": version,
            },
            **detail,
        },
    }


# Inputs that are JSON but not objects. Prepare rejects them, but its Catch can't write
# `$.failure` into a list, string or null, so the execution ends in States.Runtime at
# Prepare instead of "Request rejected" (AWS fails such a ResultPath too).
NON_OBJECTS: list[tuple[str, Any, str]] = [
    ("input-list", [BASE], "input must be a JSON object"),
    ("input-string", "roll out orders please", "input must be a JSON object"),
    ("input-null", None, "input must be a JSON object"),
]

# (id, input, text the Cause must contain)
CORPUS: list[tuple[str, Any, str]] = [
    # wrong types
    ("function-number", bad(functionName=123), "functionName: Input should be a valid string"),
    ("alias-list", bad(alias=[ALIAS]), "alias: Input should be a valid string"),
    ("version-bool", bad(targetVersion=True), "targetVersion: Input should be a valid string"),
    ("version-float", bad(targetVersion=2.5), "targetVersion: Input should be a valid string"),
    ("timescale-text", bad(timeScale="fast"), "timeScale: Input should be a valid number"),
    ("alarms-text", bad(alarms=f"{ALARM},x"), "alarms: Input should be a valid list"),
    ("interval-fraction", bad(checkIntervalSeconds=1.5), "checkIntervalSeconds: Input should"),
    ("bake-null", bad(bakeSeconds=None), "bakeSeconds: Input should be a valid integer"),
    ("health-text", bad(health="strict"), "health: Input should be a valid dictionary"),
    ("ignore-maybe", bad(ignoreFiringAlarms="maybe"), "ignoreFiringAlarms: Input should be"),
    ("pretraffic-yes", bad(preTraffic="yes"), 'preTraffic: an object {"payload"'),
    ("strategy-number", bad(strategy=42), "strategy: a preset name"),
    ("strategy-unknown-type", bad(strategy={"type": "blue-green"}), "strategy: a preset name"),
    # unknown keys
    ("key-typo", bad(functionname=FN), "functionname: unknown key"),
    ("health-unknown", bad(health={"errorRate": 5}), "health.errorRate: unknown key"),
    ("check-unknown", bad(preTraffic={"payload": {}, "timeout": 5}), "preTraffic.timeout: unknown"),
    ("strategy-unknown", bad(strategy={**steps(10), "pause": True}), "strategy.pause: unknown key"),
    # huge, negative and out-of-range numbers
    ("timescale-negative", bad(timeScale=-1), "timeScale: Input should be greater than 0"),
    ("timescale-huge", bad(timeScale=1e308), "timeScale: Input should be less than or equal to 10"),
    ("interval-zero", bad(checkIntervalSeconds=0), "checkIntervalSeconds: Input should be greater"),
    ("interval-huge", bad(checkIntervalSeconds=10**30), "checkIntervalSeconds: Input should be"),
    ("bake-negative", bad(bakeSeconds=-5), "bakeSeconds: Input should be greater than or equal"),
    ("bake-too-long", bad(bakeSeconds=86401), "bakeSeconds: Input should be less than or equal"),
    ("error-rate-101", bad(health={"errorRatePercent": 101}), "health.errorRatePercent: Input"),
    ("min-invocations-negative", bad(health={"minInvocations": -1}), "health.minInvocations"),
    (
        "interval-seconds-huge",
        bad(strategy={"type": "linear", "percentage": 10, "intervalSeconds": 10**12}),
        "strategy.intervalSeconds: Input should be less than or equal to 172800",
    ),
    ("waits-over-2880-min", bad(strategy=steps(10, 20, wait=100_000)), "waits add up to 200000"),
    # percentages outside (0, 100)
    ("step-zero", bad(strategy=steps(0)), "percentage: Input should be greater than or equal"),
    ("step-negative", bad(strategy=steps(-10)), "percentage: Input should be greater than or"),
    ("step-150", bad(strategy=steps(150)), "percentage: Input should be less than or equal"),
    ("step-100", bad(strategy=steps(100)), "percentage: Input should be less than or equal"),
    (
        "canary-100",
        bad(strategy={"type": "canary", "percentage": 100, "intervalSeconds": 60}),
        "strategy.percentage: Input should be less than or equal to 99",
    ),
    (
        "exponential-flat",
        bad(
            strategy={
                "type": "exponential",
                "startPercentage": 1,
                "factor": 1,
                "intervalSeconds": 60,
            }
        ),
        "strategy.factor: Input should be greater than or equal to 1.1",
    ),
    # duplicate, decreasing, empty and too many steps; repeated alarms
    ("steps-duplicate", bad(strategy=steps(10, 10)), "step percentages must strictly increase"),
    ("steps-decreasing", bad(strategy=steps(50, 20)), "step percentages must strictly increase"),
    ("steps-round-equal", bad(strategy=steps(10.001, 10.004)), "must strictly increase"),
    ("steps-empty", bad(strategy={"steps": []}), "strategy.steps: List should have at least 1"),
    ("steps-101", bad(strategy=steps(*[i / 2 for i in range(1, 102)])), "at most 100 items"),
    ("alarms-repeat", bad(alarms=[ALARM, ALARM]), "alarms: alarm names repeat"),
    ("alarms-11", bad(alarms=[f"a{i}" for i in range(11)]), "alarms: List should have at most 10"),
    # strings that look like injection, control characters, very long names
    ("name-jsonpath", bad(functionName="$.functionName"), "is not a Lambda function name"),
    ("name-cfn-sub", bad(functionName="${AWS::AccountId}"), "is not a Lambda function name"),
    ("name-shell", bad(functionName=f"{FN}; rm -rf /"), "is not a Lambda function name"),
    ("name-sql", bad(functionName="x' OR '1'='1"), "is not a Lambda function name"),
    ("name-html", bad(functionName="<script>alert(1)</script>"), "is not a Lambda function name"),
    ("name-newline", bad(functionName=f"{FN}\nlive"), "is not a Lambda function name"),
    ("name-rtl-override", bad(functionName=f"{FN}\u202e"), "is not a Lambda function name"),
    ("name-65-chars", bad(functionName="f" * 65), "is not a Lambda function name"),
    ("name-171-chars", bad(functionName="f" * 171), "functionName: String should have at most"),
    ("alias-nul", bad(alias="live\u0000"), "alias: String should match pattern"),
    ("alias-zero-width", bad(alias="live\u200b"), "alias: String should match pattern"),
    ("alias-jsonpath", bad(alias="$.alias"), "alias: String should match pattern"),
    ("alarm-newline", bad(alarms=["bad\nalarm"]), "alarms.0: contains control characters"),
    ("alarm-256-chars", bad(alarms=["a" * 256]), "alarms.0: String should have at most 255"),
    ("preset-sql", bad(strategy="AllAtOnce'; DROP TABLE locks;--"), "unknown preset"),
    ("preset-cfn-sub", bad(strategy="${DefaultStrategy}"), "unknown preset"),
    ("hook-shell", bad(preTraffic={"hookFunction": "hook && curl x"}), "preTraffic.hookFunction"),
    # ARNs of another account, region or partition; qualified or non-Lambda ARNs
    ("arn-other-account", bad(functionName=OTHER_ACCOUNT), "not in this account, region"),
    ("arn-other-region", bad(functionName=f"arn:aws:lambda:eu-west-1:{HERE}"), "not in this"),
    ("arn-other-partition", bad(functionName=f"arn:aws-cn:lambda:us-east-1:{HERE}"), "partition"),
    ("arn-qualified", bad(functionName=f"arn:aws:lambda:us-east-1:{HERE}:live"), "unqualified"),
    ("arn-s3", bad(functionName="arn:aws:s3:::bucket"), "is not an unqualified Lambda function"),
    ("name-qualified", bad(functionName=f"{FN}:live"), "has a qualifier"),
    (
        "hook-other-account",
        bad(postTraffic={"hookFunction": OTHER_ACCOUNT}),
        "postTraffic.hookFunction: 'arn:aws:lambda:us-east-1:999999999999",
    ),
    # versions: $LATEST, missing, malformed, incompatible
    ("version-latest", bad(targetVersion="$LATEST"), "$LATEST can't take weighted traffic"),
    ("version-missing", bad(targetVersion="999"), f"{FN} has no published version 999"),
    ("version-zero", bad(targetVersion="0"), f"{FN} has no published version 0"),
    ("version-huge", bad(targetVersion=10**30), "has no published version 1000000000000"),
    ("version-negative", bad(targetVersion="-1"), "'-1' is not a published version number"),
    ("version-exponent", bad(targetVersion="1e3"), "'1e3' is not a published version number"),
    ("version-other-role", bad(targetVersion="3"), "has a different Role than version 1"),
    # the function and its alias
    ("function-missing", bad(functionName="bad-input-nope"), "function bad-input-nope not found"),
    ("alias-missing", bad(alias="canary"), f"{FN} has no alias canary"),
    ("alias-digits", bad(alias="123"), "an alias name can't be all digits"),
    ("alias-split", bad(functionName=SPLIT), "already splits traffic"),
    ("alias-on-latest", bad(functionName=LATEST), "points at $LATEST"),
    # alarms and hooks that don't exist
    ("alarm-missing", bad(alarms=["bad-input-no-alarm"]), "alarms: not found: bad-input-no-alarm"),
    ("alarm-empty-name", bad(alarms=[""]), "alarms.0: String should have at least 1"),
    ("hook-missing", bad(preTraffic={"hookFunction": "bad-input-no-hook"}), "not found"),
    # oversized: just under Step Functions' 256 KB input limit, and a huge check payload
    ("input-near-256kb", bad(padding="x" * 250_000), "padding: unknown key"),
    ("payload-100kb", bad(preTraffic={"payload": "x" * 100_000}), "at most 32768"),
    # EventBridge-shaped inputs
    (
        "event-failed-call",
        publish_event(FN, "2", errorCode="ResourceConflictException"),
        "PublishVersion failed (ResourceConflictException)",
    ),
    ("event-no-version", publish_event(FN, "abc"), "names no function and version"),
    ("event-bad-tags", publish_event(TAGGED, "2"), "from the function's rollout:* tags: strategy"),
]


@pytest.fixture(scope="module")
def world(cloud: Any) -> dict[str, Any]:
    """The functions the corpus names, and the rollout's own ShiftTraffic function."""
    lam = cloud.client("lambda")
    for name in (FN, SPLIT, CONTROL, TAGGED):
        sample_function(cloud, name)
    other_role = cloud.client("iam").create_role(
        RoleName="bad-input-other-role", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lam.update_function_configuration(FunctionName=FN, Role=other_role)
    lam.publish_version(FunctionName=FN)  # version 3: can't share an alias with 1
    lam.update_alias(
        FunctionName=SPLIT, Name=ALIAS, RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}}
    )
    lam.create_function(
        FunctionName=LATEST,
        Runtime="python3.12",
        Role=role_arn(cloud),
        Handler="app.handler",
        Code={"ZipFile": code_zip("latest")},
    )
    lam.create_alias(FunctionName=LATEST, Name=ALIAS, FunctionVersion="$LATEST")
    tagged_arn = lam.get_function(FunctionName=TAGGED)["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=tagged_arn, Tags={"rollout:alias": ALIAS, "rollout:strategy": "Nope"})
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    own = next(
        f["FunctionName"]
        for f in lam.list_functions()["Functions"]
        if f["FunctionName"].startswith(f"{cloud.stack_name}-ShiftTrafficFunction")
    )
    return {"own": own, "functions": [FN, SPLIT, LATEST, TAGGED, own]}


def snapshot(cloud: Any, functions: list[str]) -> dict[str, Any]:
    """Aliases (with routing), versions (with code hashes) and every lock item."""
    lam = cloud.client("lambda")
    state: dict[str, Any] = {}
    for name in functions:
        aliases = lam.list_aliases(FunctionName=name)["Aliases"]
        versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
        state[name] = {
            "aliases": sorted(
                (
                    a["Name"],
                    a["FunctionVersion"],
                    json.dumps(a.get("RoutingConfig") or {}, sort_keys=True),
                )
                for a in aliases
            ),
            "versions": sorted((v["Version"], v["CodeSha256"], v["Role"]) for v in versions),
        }
    table = cloud.stack_outputs["RolloutTableName"]
    state["locks"] = cloud.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    return state


class Runs:
    """Starts and reads executions through one client: building a boto3 client costs
    ~0.1 s, more than the rejection itself."""

    def __init__(self, cloud: Any) -> None:
        self.sfn = cloud.client("stepfunctions", max_pool_connections=32)
        self.machine = cloud.stack_outputs["RolloutStateMachineArn"]

    def start(self, document: Any) -> str:
        started = self.sfn.start_execution(stateMachineArn=self.machine, input=json.dumps(document))
        return str(started["executionArn"])

    def outcome(self, arn: str) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            return None if described["status"] == "RUNNING" else described

        described = wait_until(ended, 90, f"{arn} to end", every=0.2)
        events = fetch_history(self.sfn, arn)
        entered = [
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        ]
        return {
            "status": described["status"],
            "error": described.get("error"),
            "cause": described.get("cause") or "",
            "states": entered,
        }


def problems(case: str, expected: str, found: dict[str, Any]) -> list[str]:
    cause = found["cause"]
    checks = {
        "status FAILED": found["status"] == "FAILED",
        "error InvalidRolloutRequest": found["error"] == "InvalidRolloutRequest",
        "failed at Request rejected": found["states"] == REJECTED_PATH,
        f"cause names {expected!r}": expected in cause,
        "cause is one short line": "\n" not in cause and 0 < len(cause) <= 1000,
        "cause is no traceback": "Traceback" not in cause and 'File "' not in cause,
    }
    return [f"{case}: expected {what}; got {found}" for what, ok in checks.items() if not ok]


def run_corpus(runs: Runs, corpus: list[tuple[str, Any, str]]) -> list[str]:
    """Start every case at once; the problems found, one line each."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        arns = list(pool.map(runs.start, [document for _, document, _ in corpus]))
        found = list(pool.map(runs.outcome, arns))
    return [
        line
        for (case, _, expected), result in zip(corpus, found, strict=True)
        for line in problems(case, expected, result)
    ]


def test_every_bad_input_is_rejected_in_prepare_and_touches_nothing(
    cloud: Any, world: dict[str, Any]
) -> None:
    corpus = [
        *CORPUS,
        (
            "own-task-function",
            bad(functionName=world["own"]),
            f"{world['own']} is a function of the rollout itself",
        ),
    ]
    assert len({case for case, _, _ in corpus}) == len(corpus) >= 40
    before = snapshot(cloud, world["functions"])
    runs = Runs(cloud)
    control_arn = runs.start(bad(functionName=CONTROL, alarms=[ALARM]))

    failures = run_corpus(runs, corpus)

    control = runs.outcome(control_arn)
    assert control["status"] == "SUCCEEDED", control  # the base input itself is valid
    assert failures == [], "\n".join(failures)
    assert snapshot(cloud, world["functions"]) == before


def test_inputs_that_are_not_objects_are_rejected_in_prepare(
    cloud: Any, world: dict[str, Any]
) -> None:
    before = snapshot(cloud, world["functions"])
    failures = run_corpus(Runs(cloud), NON_OBJECTS)
    assert snapshot(cloud, world["functions"]) == before
    assert failures == [], "\n".join(failures)
