"""Each account and Region keeps its own data (README, Waves): what a function does in one
place is written there, and read there, by every seam that writes on its behalf. On AWS
each Region's CloudWatch and CloudWatch Logs are separate, and so is each account's
("Amazon CloudWatch concepts": metrics "are stored separately in Regions"; a log group
belongs to one account and Region).

One cloud of two accounts and two Regions with no stack; `THERE` (the member account in
eu-west-1) is the place under test, the home place (us-east-1 of the home account) has a
function of the same name, invoked too, and the other two places have nothing. One test per
seam: lambda_metrics, lambda_logs, alarm_evaluation, log_subscriptions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollout.local.accounts import HOME_ACCOUNT
from rollout.local.cloud import LocalCloud
from rollout.samples import code_zip, lambda_role

pytestmark = pytest.mark.cloud

MEMBER = "210987654321"
REGIONS = ["us-east-1", "eu-west-1"]
HOME, THERE = (HOME_ACCOUNT, "us-east-1"), (MEMBER, "eu-west-1")
ELSEWHERE = [(HOME_ACCOUNT, "eu-west-1"), (MEMBER, "us-east-1")]
FUNCTION = "placed"
RECEIVER = "placed-receiver"  # THERE: FUNCTION's log group is subscribed to it
DEADLINE = 90.0  # s: an alarm evaluation or a log delivery on a loaded, shared machine
CODE = '''\
import base64, gzip, json, os, uuid

import boto3


def handler(event, context):
    """Fails when asked; a log subscription's delivery is recorded with where it ran."""
    if "awslogs" in event:
        data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
        ran = {"owner": data["owner"], "logGroup": data["logGroup"],
               "region": os.environ["AWS_REGION"]}
        with open(os.path.join(os.environ["RECORD_DIR"], uuid.uuid4().hex + ".json"), "w") as out:
            json.dump(ran, out)
        return {}
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    account = boto3.client("sts").get_caller_identity()["Account"]
    return {"region": os.environ["AWS_REGION"], "account": account}
'''

Place = tuple[str, str]


@pytest.fixture(scope="module")
def places(
    isolated_cloud: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalCloud, Path, dict[Place, Any]]]:
    """The cloud, `FUNCTION` in HOME and THERE (invoked once at home, twice there, one of
    which fails), the folder THERE's log subscription records its deliveries in, and what
    the first invocation in each place returned."""
    folder = tmp_path_factory.mktemp("deliveries")
    with isolated_cloud(regions=REGIONS, accounts=[HOME_ACCOUNT, MEMBER]) as cloud:
        for place, name in ((HOME, FUNCTION), (THERE, FUNCTION), (THERE, RECEIVER)):
            lam = client(cloud, "lambda", place)
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=lambda_role(client(cloud, "iam", place), "places-tests"),
                Handler="app.handler",
                Code={"ZipFile": code_zip({"app.py": CODE})},
                Environment={"Variables": {"RECORD_DIR": str(folder)}},
            )
            lam.get_waiter("function_active_v2").wait(FunctionName=name)
        subscribe(cloud, THERE)
        answers = {}
        for place in (HOME, THERE):  # home first: its environment is warm when THERE runs
            answer = client(cloud, "lambda", place).invoke(FunctionName=FUNCTION, Payload=b"{}")
            answers[place] = json.loads(answer["Payload"].read())
        failing = json.dumps({"fail": True}).encode()
        client(cloud, "lambda", THERE).invoke(FunctionName=FUNCTION, Payload=failing)
        yield cloud, folder, answers


def client(cloud: LocalCloud, service: str, place: Place) -> Any:
    return cloud.client(service, account=place[0], region=place[1])


def subscribe(cloud: LocalCloud, place: Place) -> None:
    """FUNCTION's log group there, subscribed to RECEIVER there."""
    lam, logs = client(cloud, "lambda", place), client(cloud, "logs", place)
    lam.add_permission(
        FunctionName=RECEIVER,
        StatementId="logs",
        Action="lambda:InvokeFunction",
        Principal="logs.amazonaws.com",
    )
    group = f"/aws/lambda/{FUNCTION}"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="reports",
        filterPattern='"REPORT RequestId"',
        destinationArn=lam.get_function(FunctionName=RECEIVER)["Configuration"]["FunctionArn"],
    )


def invocations(cloud: LocalCloud, place: Place, metric: str = "Invocations") -> float:
    """The function's AWS/Lambda `metric` there (GetMetricData matches dimensions exactly)."""
    now = datetime.now(UTC)
    found = client(cloud, "cloudwatch", place).get_metric_data(
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "FunctionName", "Value": FUNCTION}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
    )
    return float(sum(found["MetricDataResults"][0]["Values"]))


def poll(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not happen within {DEADLINE:.0f} s")


def test_a_function_runs_in_its_own_place_never_in_a_namesakes_environment(
    places: tuple[LocalCloud, Path, dict[Place, Any]],
) -> None:
    """Its Region's AWS_REGION and its own account's role credentials, though the same-named
    function with the same code and configuration had just run, warm, at home."""
    _, _, answers = places
    assert answers[HOME] == {"region": "us-east-1", "account": HOME_ACCOUNT}
    assert answers[THERE] == {"region": "eu-west-1", "account": MEMBER}


def test_lambda_metrics_are_written_where_the_function_ran(
    places: tuple[LocalCloud, Path, dict[Place, Any]],
) -> None:
    cloud, _, _ = places
    assert invocations(cloud, THERE) == 2 and invocations(cloud, THERE, "Errors") == 1
    assert invocations(cloud, HOME) == 1 and invocations(cloud, HOME, "Errors") == 0
    for place in ELSEWHERE:
        assert invocations(cloud, place) == 0, place


def test_log_streams_are_written_where_the_function_ran(
    places: tuple[LocalCloud, Path, dict[Place, Any]],
) -> None:
    cloud, _, _ = places
    group = f"/aws/lambda/{FUNCTION}"
    there = client(cloud, "logs", THERE)
    messages = [e["message"] for e in there.filter_log_events(logGroupName=group)["events"]]
    assert sum(m.startswith("START RequestId") for m in messages) == 2
    assert any("asked to fail" in m for m in messages)
    home = client(cloud, "logs", HOME)
    home_messages = [e["message"] for e in home.filter_log_events(logGroupName=group)["events"]]
    assert sum(m.startswith("START RequestId") for m in home_messages) == 1
    assert not any("asked to fail" in m for m in home_messages)
    for place in ELSEWHERE:
        found = client(cloud, "logs", place).describe_log_groups(logGroupNamePrefix=group)
        assert found["logGroups"] == [], place


def test_an_alarm_is_evaluated_from_its_own_places_metrics(
    places: tuple[LocalCloud, Path, dict[Place, Any]],
) -> None:
    """The same alarm in both places, its metric breaching only THERE: only THERE's fires."""
    cloud, _, _ = places
    for place in (HOME, THERE):
        client(cloud, "cloudwatch", place).put_metric_alarm(
            AlarmName="placed-gate",
            Namespace="PlacesTests",
            MetricName="Gate",
            Statistic="Maximum",
            Period=10,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )

    def state(place: Place) -> str:
        cw = client(cloud, "cloudwatch", place)
        return str(cw.describe_alarms(AlarmNames=["placed-gate"])["MetricAlarms"][0]["StateValue"])

    there = client(cloud, "cloudwatch", THERE)

    def breached() -> bool:
        there.put_metric_data(
            Namespace="PlacesTests", MetricData=[{"MetricName": "Gate", "Value": 1}]
        )
        return state(THERE) == "ALARM"

    poll("the alarm THERE in ALARM", breached)
    assert state(HOME) != "ALARM"


def test_a_log_subscription_delivers_from_and_to_its_own_place(
    places: tuple[LocalCloud, Path, dict[Place, Any]],
) -> None:
    _, folder, _ = places

    def delivered() -> list[Any]:
        return [json.loads(path.read_text()) for path in folder.glob("*.json")]

    found = poll("a delivery of THERE's log group", delivered)
    group = f"/aws/lambda/{FUNCTION}"
    assert {(d["owner"], d["logGroup"], d["region"]) for d in found} == {
        (MEMBER, group, "eu-west-1")
    }
