"""Issue-level acceptance: `rollout local up` in its own process, used with plain boto3 and the
AWS CLI exactly as the README says (AWS_ENDPOINT_URL, fake credentials)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from rollout.samples import code_zip
from tests.local.served import aws, client, served_cloud

pytestmark = pytest.mark.slow

HANDLER = b"""
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"version": context.function_version}
"""


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """`rollout local up --port N` running; yields the environment a user would export."""
    with served_cloud() as env:
        yield env


def _zip() -> bytes:
    return code_zip({"app.py": HANDLER})


@pytest.fixture(scope="module")
def weighted(served: dict[str, str]) -> dict[str, str]:
    """A function with two versions and alias `live` sending 30 % to version 2."""
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="acceptance-role", AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName="acceptance",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"RELEASE": "1"}},
    )
    first = lam.publish_version(FunctionName="acceptance")["Version"]
    lam.update_function_configuration(
        FunctionName="acceptance", Environment={"Variables": {"RELEASE": "2"}}
    )
    second = lam.publish_version(FunctionName="acceptance")["Version"]
    lam.create_alias(
        FunctionName="acceptance",
        Name="live",
        FunctionVersion=first,
        RoutingConfig={"AdditionalVersionWeights": {second: 0.3}},
    )
    return {"first": first, "second": second}


def test_the_cli_reads_the_state_machine_output(served):
    arn = aws(
        served,
        "cloudformation",
        "describe-stacks",
        "--stack-name",
        "rollout",
        "--query",
        "Stacks[0].Outputs[?OutputKey=='RolloutStateMachineArn'].OutputValue",
        "--output",
        "text",
    )
    assert arn.startswith("arn:aws:states:us-east-1:123456789012:stateMachine:")
    assert arn in served["BANNER"]
    machine = client(served, "stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert "Shift traffic" in machine["definition"]


def test_alias_weights_and_metrics_per_executed_version(served, weighted):
    lam = client(served, "lambda")
    before = _metric_counts(served, weighted)  # the module's other tests invoke the alias too
    served_by = [
        lam.invoke(FunctionName="acceptance", Qualifier="live", Payload=b"{}") for _ in range(500)
    ]
    second = sum(r["ExecutedVersion"] == weighted["second"] for r in served_by)
    assert 110 <= second <= 190  # 30 % of 500 = 150; binomial sd ≈ 10
    for response in served_by[:20]:
        body = json.loads(response["Payload"].read())
        assert body["version"] == response["ExecutedVersion"]
    counts = _invocations_by_version(served, weighted)
    added = {version: counts[version] - before[version] for version in counts}
    assert added == {weighted["first"]: 500 - second, weighted["second"]: second}


def test_a_metric_is_its_namespace_name_and_dimensions_in_any_order(served, weighted):
    """Another namespace's metric with Lambda's name and dimensions is not Lambda's, and the
    dimensions name the same metric in any order, through boto3 and the AWS CLI
    (rollout/local/metric_queries.py)."""
    lam = client(served, "lambda")
    for _ in range(20):  # 70 % to the first version: it serves some of them, surely
        lam.invoke(FunctionName="acceptance", Qualifier="live", Payload=b"{}")
    before = _metric_counts(served, weighted)
    dimensions = [
        {"Name": "FunctionName", "Value": "acceptance"},
        {"Name": "Resource", "Value": "acceptance:live"},
        {"Name": "ExecutedVersion", "Value": weighted["first"]},
    ]
    client(served, "cloudwatch").put_metric_data(
        Namespace="Acceptance/Custom",
        MetricData=[{"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1000.0}],
    )
    assert _metric_counts(served, weighted) == before
    reordered = [{**dimensions[2]}, {**dimensions[0]}, {**dimensions[1]}]
    query = {"Namespace": "AWS/Lambda", "MetricName": "Invocations", "Dimensions": reordered}
    stat = {"Metric": query, "Period": 60, "Stat": "Sum"}
    out = aws(
        served,
        "cloudwatch",
        "get-metric-data",
        "--metric-data-queries",
        json.dumps([{"Id": "inv", "MetricStat": stat}]),
        "--start-time",
        _iso(time.time() - 3600),
        "--end-time",
        _iso(time.time() + 60),
    )
    values = json.loads(out)["MetricDataResults"][0]["Values"]
    assert int(sum(values)) == before[weighted["first"]] > 0


def _invocations_by_version(env: dict[str, str], versions: dict[str, str]) -> dict[str, int]:
    out = aws(
        env,
        "cloudwatch",
        "get-metric-statistics",
        "--namespace",
        "AWS/Lambda",
        "--metric-name",
        "Invocations",
        "--statistics",
        "Sum",
        "--period",
        "3600",
        "--start-time",
        _iso(time.time() - 3600),
        "--end-time",
        _iso(time.time() + 60),
        "--dimensions",
        "Name=FunctionName,Value=acceptance",
        "Name=Resource,Value=acceptance:live",
        "Name=ExecutedVersion,Value=2",
    )
    assert int(sum(p["Sum"] for p in json.loads(out)["Datapoints"])) > 0
    return _metric_counts(env, versions)


def _metric_counts(env: dict[str, str], versions: dict[str, str]) -> dict[str, int]:
    """Invocations of each version through `live` in the last hour (GetMetricData)."""
    cloudwatch = client(env, "cloudwatch")
    counts = {}
    for version in versions.values():
        result = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "inv",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Lambda",
                            "MetricName": "Invocations",
                            "Dimensions": [
                                {"Name": "FunctionName", "Value": "acceptance"},
                                {"Name": "Resource", "Value": "acceptance:live"},
                                {"Name": "ExecutedVersion", "Value": version},
                            ],
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=time.time() - 3600,
            EndTime=time.time() + 60,
        )["MetricDataResults"][0]["Values"]
        counts[version] = int(sum(result))
    return counts


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def test_an_errors_alarm_on_the_new_version_fires_within_30_seconds(served, weighted):
    cloudwatch, lam = client(served, "cloudwatch"), client(served, "lambda")
    cloudwatch.put_metric_alarm(
        AlarmName="acceptance-v2-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[
            {"Name": "FunctionName", "Value": "acceptance"},
            {"Name": "Resource", "Value": "acceptance:live"},
            {"Name": "ExecutedVersion", "Value": weighted["second"]},
        ],
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    started = time.monotonic()
    state = None
    while time.monotonic() - started < 30:
        lam.invoke(FunctionName="acceptance", Qualifier="live", Payload=b'{"fail": true}')
        state = cloudwatch.describe_alarms(AlarmNames=["acceptance-v2-errors"])["MetricAlarms"][0][
            "StateValue"
        ]
        if state == "ALARM":
            break
        time.sleep(0.2)
    assert state == "ALARM"
    history = cloudwatch.describe_alarm_history(AlarmName="acceptance-v2-errors")
    assert any("to ALARM" in item["HistorySummary"] for item in history["AlarmHistoryItems"])


def test_a_matching_eventbridge_event_starts_an_execution(served):
    events, sfn = client(served, "events"), client(served, "stepfunctions")
    machine = sfn.create_state_machine(
        name="acceptance-target",
        roleArn="arn:aws:iam::123456789012:role/x",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    events.put_rule(Name="acceptance-rule", EventPattern=json.dumps({"source": ["acceptance"]}))
    events.put_targets(
        Rule="acceptance-rule",
        Targets=[{"Id": "machine", "Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/x"}],
    )
    events.put_events(Entries=[{"Source": "acceptance", "DetailType": "ping", "Detail": "{}"}])
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    execution = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(execution["input"])["source"] == "acceptance"


def test_an_aliased_version_is_refused_and_rollout_prune_works(served):
    """Plain boto3: DeleteFunction of an aliased version fails as on Lambda; then
    `rollout prune` deletes the unused old versions and the account's code storage shrinks."""
    lam, iam = client(served, "lambda"), client(served, "iam")
    role = iam.create_role(RoleName="prune-role", AssumeRolePolicyDocument="{}")["Role"]
    lam.create_function(
        FunctionName="prunable",
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": _zip()},
    )
    for release in range(1, 6):
        lam.update_function_configuration(FunctionName="prunable", Description=str(release))
        lam.publish_version(FunctionName="prunable")
    lam.create_alias(
        FunctionName="prunable",
        Name="live",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}},
    )
    for version in ("2", "3"):
        with pytest.raises(lam.exceptions.ResourceConflictException, match=r"\[live\]"):
            lam.delete_function(FunctionName="prunable", Qualifier=version)
    stored = lam.get_account_settings()["AccountUsage"]["TotalCodeSize"]

    prune = [sys.executable, "-m", "rollout.cli", "prune", "--function", "prunable", "--keep", "1"]
    dry = subprocess.run(
        [*prune, "--dry-run"], env=served, capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    assert "would delete 2 version(s)" in dry.stdout
    done = subprocess.run(prune, env=served, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "deleted 2 version(s)" in done.stdout

    found = lam.list_versions_by_function(FunctionName="prunable")["Versions"]
    assert [v["Version"] for v in found] == ["$LATEST", "2", "3", "5"]
    size = lam.get_function_configuration(FunctionName="prunable")["CodeSize"]
    assert lam.get_account_settings()["AccountUsage"]["TotalCodeSize"] == stored - 2 * size
    lam.update_function_configuration(FunctionName="prunable", Description="next")
    assert lam.publish_version(FunctionName="prunable")["Version"] == "6"  # never reused
