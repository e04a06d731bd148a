"""Releases of several functions: the request, Prepare's plan, the locks (all or none), and
one member's view of the plan (rollout_core.release)."""

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from rollout_core import clients, lock
from rollout_core import release as release_core
from rollout_core.errors import InvalidRolloutRequest, RolloutInProgress
from rollout_core.models import Plan
from rollout_core.plan import prepare
from rollout_core.release import each, label, lock_refs, members
from rollout_core.request import ReleaseRequest, parse_request

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:rollout:release-test"
OTHER = "arn:aws:states:us-east-1:123456789012:execution:rollout:someone-else"


def _zip(source: str) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def worker(world):
    """A second function, `orders-worker`: versions 1 and 2, `live` on 1."""
    world.lam.create_function(
        FunctionName="orders-worker",
        Runtime="python3.12",
        Role=world.role,
        Handler="app.handler",
        Code={"ZipFile": _zip("def handler(event, context):\n    return 0\n")},
    )
    for release in (1, 2):
        source = f"def handler(event, context):\n    return {release}\n"
        world.lam.update_function_code(FunctionName="orders-worker", ZipFile=_zip(source))
        world.lam.publish_version(FunctionName="orders-worker")
    world.lam.create_alias(FunctionName="orders-worker", Name="live", FunctionVersion="1")
    return "orders-worker"


def release(*entries, **options):
    return {"functions": list(entries), **options}


ORDERS = {"functionName": "orders", "alias": "live", "targetVersion": "4"}
WORKER = {"functionName": "orders-worker", "alias": "live", "targetVersion": "2"}


def held(world, key):
    item = world.ddb.get_item(TableName=world.table, Key={"lockKey": {"S": key}}).get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def test_a_release_plans_each_function_and_takes_every_lock(world, worker):
    plan = prepare(release(ORDERS, WORKER, strategy="Canary10Percent5Minutes"), EXECUTION)["plan"]
    assert plan["action"] == "rollout"
    assert [
        (m["functionName"], m["stableVersion"], m["targetVersion"]) for m in plan["functions"]
    ] == [
        ("orders", "3", "4"),
        ("orders-worker", "1", "2"),
    ]
    assert (plan["functionName"], plan["lock"]["key"]) == ("orders", "orders:live")  # the first
    for key in ("orders:live", "orders-worker:live"):
        item = held(world, key)
        assert item["owner"] == EXECUTION and item["controlKey"] == "orders:live"
    json.dumps(plan)


def test_an_entry_already_live_is_left_out_and_said_so(world, worker):
    live = {**WORKER, "targetVersion": "1"}
    plan = prepare(release(ORDERS, live), EXECUTION)["plan"]
    assert [m["functionName"] for m in plan["functions"]] == ["orders"]
    assert "orders-worker:live already runs version 1; left out" in plan["notes"]
    assert held(world, "orders-worker:live") is None


def test_a_release_whose_every_entry_is_live_is_a_noop(world, worker):
    plan = prepare(
        release({**ORDERS, "targetVersion": "3"}, {**WORKER, "targetVersion": "1"}), EXECUTION
    )["plan"]
    assert plan["action"] == "noop"
    assert held(world, "orders:live") is None


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (release(ORDERS), "functions: List should have at least 2 items"),
        (release(*[ORDERS] * 11), "functions: List should have at most 10 items"),
        (release(ORDERS, ORDERS), "functions: entry 1 repeats orders:live"),
        (release(ORDERS, {**WORKER, "alias": "123"}), "functions.1.alias: an alias name can't"),
        (release(ORDERS, {"functionName": "orders-worker"}), "functions.1.alias: required"),
        (release(ORDERS, {**WORKER, "strategy": "AllAtOnce"}), "functions.1.strategy: unknown key"),
        (
            {**ORDERS, "functions": [ORDERS, WORKER]},
            "functionName, alias, targetVersion: not allowed",
        ),
        (
            release(
                {**ORDERS, "preTraffic": {"payload": "x" * 20_000}},
                {**WORKER, "postTraffic": {"payload": "x" * 20_000}},
            ),
            "payload and expect take",
        ),
    ],
)
def test_invalid_releases_are_refused_naming_the_entry(world, worker, document, words):
    with pytest.raises(InvalidRolloutRequest, match=words.replace("(", r"\(")):
        prepare(document, EXECUTION)
    assert held(world, "orders:live") is None


def test_an_entry_that_fails_validation_names_itself_and_nothing_is_locked(world, worker):
    with pytest.raises(InvalidRolloutRequest, match=r"functions\.1 \(orders-worker:live\): "):
        prepare(release(ORDERS, {**WORKER, "targetVersion": "9"}), EXECUTION)
    assert held(world, "orders:live") is None


def test_locks_are_all_or_none(world, worker):
    lock.acquire(world.table, "orders-worker:live", OTHER, 600, "2")
    with pytest.raises(
        RolloutInProgress, match=r"functions\.1 \(orders-worker:live\): .*someone-else"
    ):
        prepare(release(ORDERS, WORKER), EXECUTION)
    assert held(world, "orders:live") is None  # the free one was not taken either
    assert held(world, "orders-worker:live")["owner"] == OTHER


def test_a_single_rollout_is_refused_while_a_release_holds_its_function(world, worker):
    prepare(release(ORDERS, WORKER), EXECUTION)
    source = "def handler(event, context):\n    return 3\n"
    world.lam.update_function_code(FunctionName=worker, ZipFile=_zip(source))
    world.lam.publish_version(FunctionName=worker)
    with pytest.raises(RolloutInProgress, match="orders-worker:live is being rolled out by"):
        prepare({**WORKER, "targetVersion": "3"}, OTHER)


def test_each_member_sees_a_single_rollout_plan(world, worker):
    plan = Plan.model_validate(prepare(release(ORDERS, WORKER), EXECUTION)["plan"]).rollout_ready()
    views = members(plan)
    assert [(v.functionName, v.stableVersion, v.targetVersion) for v in views] == [
        ("orders", "3", "4"),
        ("orders-worker", "1", "2"),
    ]
    assert [v.lock.key for v in views] == ["orders:live", "orders-worker:live"]
    assert all(v.functions == [] and v.steps == plan.steps for v in views)
    assert [ref.key for ref in lock_refs(plan)] == ["orders:live", "orders-worker:live"]
    assert label(plan) == "orders:live, orders-worker:live"
    assert members(views[0]) == [views[0]]


def test_the_event_trigger_skips_versions_a_stack_release_published(world):
    lam = clients.lambda_()
    lam.update_function_code(
        FunctionName="orders", ZipFile=_zip("def handler(e, c):\n    return 5\n")
    )
    lam.publish_version(FunctionName="orders", Description="rollout:release orders-app")
    event = {
        "source": "aws.lambda",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": "PublishVersion20150331",
            "requestParameters": {"functionName": "orders"},
            "responseElements": {
                "functionName": "orders",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:5",
                "version": "5",
            },
        },
    }
    plan = prepare(event, EXECUTION)["plan"]
    assert plan["action"] == "skip"
    assert "published by a release of several functions" in plan["reason"]


def test_the_console_sample_is_a_valid_release():
    sample = Path(__file__).resolve().parents[2] / "events/console/release.json"
    request = parse_request(json.loads(sample.read_text()))
    assert isinstance(request, ReleaseRequest)
    assert [entry.functionName for entry in request.functions] == ["orders", "orders-worker"]


def test_two_aliases_of_one_function_keep_their_own_failures(world):
    """A release may roll two aliases of one function: `each` tells them apart."""
    world.lam.create_alias(FunctionName="orders", Name="canary", FunctionVersion="3")
    document = release(ORDERS, {**ORDERS, "alias": "canary"})
    plan = Plan.model_validate(prepare(document, EXECUTION)["plan"]).rollout_ready()

    def restore(member):
        if member.alias == "canary":
            raise RuntimeError("refused")
        return member.alias

    done = each(plan, restore, (RuntimeError,))
    assert done.results == ["live"]
    assert [release_core.key(member) for member, _ in done.errors] == ["orders:canary"]


def test_the_guards_summary_names_each_alias_of_one_function(world, monkeypatch):
    """Two aliases of one function: the guard's per-alias rows must tell them apart."""
    from rollout_core import guard

    world.lam.create_alias(FunctionName="orders", Name="canary", FunctionVersion="3")
    document = release(ORDERS, {**ORDERS, "alias": "canary"})
    plan = Plan.model_validate(prepare(document, EXECUTION)["plan"]).rollout_ready()
    monkeypatch.setattr(guard, "_notify", lambda *args: True)

    summary = guard._clean_up(plan, None)  # type: ignore[arg-type]

    assert [(row["functionName"], row["alias"]) for row in summary["aliases"]] == [
        ("orders", "live"),
        ("orders", "canary"),
    ]
    assert summary["lockReleased"] is True


def _calls(world, function: str, version: str, invocations: int, errors: int) -> None:
    dimensions = [
        {"Name": "FunctionName", "Value": function},
        {"Name": "Resource", "Value": f"{function}:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]
    world.cw.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": value}
            for name, value in (("Invocations", invocations), ("Errors", errors))
        ],
    )


def test_a_release_is_judged_per_function_from_one_metric_read(world, worker, api_calls):
    """The metric gate reads every function's versions in one GetMetricData, and judges each
    new version against its own stable version; the failing one is named."""
    from datetime import UTC, datetime, timedelta

    from rollout_core import checking, clock
    from rollout_core.errors import HealthCheckFailed
    from rollout_core.models import Progress

    plan = Plan.model_validate(prepare(release(ORDERS, WORKER), EXECUTION)["plan"]).rollout_ready()
    plan = plan.model_copy(update={"health": plan.health.model_copy(update={"logs": False})})
    started = datetime.now(UTC) - timedelta(minutes=1)
    cursor = Progress(
        phase="step",
        stepIndex=0,
        stepCount=len(plan.steps),
        percentage=plan.steps[0].percentage,
        weight=plan.steps[0].weight,
        stepStartedAt=clock.iso(started),
        stepWaitSeconds=600,
        nextWaitSeconds=10,
        hasNextStep=True,
    )
    _calls(world, "orders", "4", 20, 0)
    _calls(world, "orders", "3", 100, 0)
    _calls(world, "orders-worker", "2", 20, 5)
    with pytest.raises(HealthCheckFailed) as failed:
        checking.check(plan, cursor, datetime.now(UTC))

    reads = [params for service, operation, params in api_calls if operation == "GetMetricData"]
    assert len(reads) == 1  # one call for both functions' four versions
    assert len(reads[0]["MetricDataQueries"]) == 8
    check = failed.value.check
    assert check is not None and [row.healthy for row in check.functions] == [True, False]
    worker_row = check.function("orders-worker", "live")
    assert worker_row is not None and worker_row.newVersion is not None
    assert (worker_row.newVersion.version, worker_row.newVersion.errors) == ("2", 5)
    assert worker_row.reasons == [
        "metrics: version 2 error rate 25.00% (5/20 invocations failed) above 1%"
    ]
    assert check.reasons == [f"orders-worker: {worker_row.reasons[0]}"]
    assert check.newVersion == check.functions[0].newVersion  # the first's, at the top


def test_a_release_rolled_back_names_no_single_version_as_the_weights(world, worker):
    """Each member has its own new version: the Cause's details say the weight is on each
    of them, never on the first member's version alone."""
    from rollout_core.models import Progress
    from rollout_core.outcome import roll_back

    plan = Plan.model_validate(prepare(release(ORDERS, WORKER), EXECUTION)["plan"]).rollout_ready()
    cursor = Progress(phase="step", stepIndex=0, stepCount=len(plan.steps), weight=0.1)
    failure = {"Error": "HealthCheckFailed", "Cause": "orders-worker: metrics: version 2 failed"}
    cause = roll_back(plan, cursor, failure).cause
    assert cause.startswith("Rolled back every alias of the release (")
    assert "weight 10% on each new version" in cause and "on version 4" not in cause
