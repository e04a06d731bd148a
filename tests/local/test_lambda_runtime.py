"""The Lambda runtime seam: functions created in the local cloud really run, as Lambda runs them."""

from __future__ import annotations

import base64
import inspect
import io
import json
import logging
import os
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.awslambda.models import LambdaAlias, LambdaBackend, LambdaFunction, LayerVersion
from moto.awslambda.responses import LambdaResponse

from rollout import samples
from rollout.local.cloud import LocalCloud
from rollout.local.lambda_runtime import LambdaRuntime, backend_of
from rollout.samples import lambda_role

pytestmark = pytest.mark.cloud

FIXTURE = Path(__file__).parent / "fixtures" / "runtime_app.py"
MOTO_BACKEND_INVOKE = LambdaBackend.invoke  # taken before any seam is installed
MOTO_RESPONSE_INVOKE = LambdaResponse.invoke


def code_zip(label: str) -> bytes:
    """The fixture handlers as app.py, plus marker.py saying which code this is."""
    return samples.code_zip({"app.py": FIXTURE.read_text(), "marker.py": f"CODE = {label!r}\n"})


def layer_zip(files: dict[str, str]) -> bytes:
    return samples.code_zip({f"python/{name}": text for name, text in files.items()})


# The threads each execution environment runs in the cloud process (runtime_api.py).
ENVIRONMENT_THREADS = {"lambda-runtime-api", "lambda-logs", "lambda-env"}


@pytest.fixture(scope="module", autouse=True)
def threads_before_module() -> set[threading.Thread]:
    """Environment threads some earlier module left (none, when nothing leaks)."""
    return {t for t in threading.enumerate() if t.name in ENVIRONMENT_THREADS}


@pytest.fixture(scope="module")
def runtime() -> LambdaRuntime:
    seam = LambdaRuntime()
    seam.random.seed(20240601)  # the alias weight draw, made repeatable
    return seam


@pytest.fixture(scope="module")
def cloud(
    runtime: LambdaRuntime,
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    """Overrides the shared deployed cloud: this module wants only the runtime seam."""
    with isolated_cloud(seams=[lambda: runtime]) as started:  # the instance, so tests can reach it
        yield started


@pytest.fixture(scope="module")
def lam(cloud: LocalCloud) -> Any:
    return cloud.client("lambda")


@pytest.fixture(scope="module")
def role(cloud: LocalCloud) -> str:
    return lambda_role(cloud.client("iam"), "runtime-tests")


def create(lam: Any, role: str, name: str, handler: str, label: str = "v1", **extra: Any) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler=f"app.{handler}",
        Code={"ZipFile": code_zip(label)},
        **extra,
    )


def invoke(lam: Any, name: str, event: Any = None, **extra: Any) -> tuple[Any, dict[str, Any]]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **extra)
    return json.loads(response["Payload"].read() or b"null"), response


def metric_sum(
    cloud: LocalCloud, metric: str, dimensions: dict[str, str], cloudwatch: Any = None
) -> float:
    now = datetime.now(UTC)
    result = (cloudwatch or cloud.client("cloudwatch")).get_metric_data(
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
    )
    return sum(result["MetricDataResults"][0]["Values"])


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


# -- running handlers ----------------------------------------------------------------


def test_a_handler_returns_its_event(lam: Any, role: str) -> None:
    create(lam, role, "echo", "echo")
    payload, response = invoke(lam, "echo", {"hello": ["world", 1]}, LogType="Tail")
    assert payload == {"hello": ["world", 1]}
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert "echo v1" in base64.b64decode(response["LogResult"]).decode()


def test_each_version_runs_its_own_code(lam: Any, role: str) -> None:
    create(lam, role, "versions", "describe", label="one")
    lam.publish_version(FunctionName="versions")
    lam.update_function_code(FunctionName="versions", ZipFile=code_zip("two"))
    lam.publish_version(FunctionName="versions")
    lam.update_function_code(FunctionName="versions", ZipFile=code_zip("three"))

    ran = {q: invoke(lam, "versions", Qualifier=q)[0]["code"] for q in ("1", "2", "$LATEST")}
    assert ran == {"1": "one", "2": "two", "$LATEST": "three"}
    assert invoke(lam, "versions:1")[0]["code"] == "one"  # qualifier inside the name


def test_each_version_runs_with_its_own_environment(lam: Any, role: str) -> None:
    create(lam, role, "config", "describe", Environment={"Variables": {"GREETING": "hello"}})
    lam.publish_version(FunctionName="config")
    lam.update_function_configuration(
        FunctionName="config", Environment={"Variables": {"GREETING": "howdy"}}
    )
    lam.publish_version(FunctionName="config")

    assert invoke(lam, "config", Qualifier="1")[0]["variable"] == "hello"
    assert invoke(lam, "config", Qualifier="2")[0]["variable"] == "howdy"
    lam.update_function_configuration(
        FunctionName="config", Environment={"Variables": {"GREETING": "hi"}}
    )
    assert invoke(lam, "config")[0]["variable"] == "hi"  # $LATEST picks up the change


def test_a_new_execution_role_is_used_from_the_next_invocation(
    lam: Any, role: str, cloud: LocalCloud
) -> None:
    """An environment holds its role's credentials: a role change replaces it, as any other
    configuration change does."""
    create(lam, role, "reassigned", "describe")
    before = invoke(lam, "reassigned")[0]["access_key"]
    other = lambda_role(cloud.client("iam"), "runtime-tests-other")
    lam.update_function_configuration(FunctionName="reassigned", Role=other)
    after = invoke(lam, "reassigned")[0]["access_key"]
    assert before and after and after != before


def test_an_alias_routes_by_its_weights(lam: Any, role: str) -> None:
    create(lam, role, "weighted", "describe", label="stable")
    lam.publish_version(FunctionName="weighted")
    lam.update_function_code(FunctionName="weighted", ZipFile=code_zip("canary"))
    lam.publish_version(FunctionName="weighted")
    lam.create_alias(
        FunctionName="weighted",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )

    executed: Counter[str] = Counter()
    for _ in range(300):
        payload, response = invoke(lam, "weighted", Qualifier="live")
        executed[response["ExecutedVersion"]] += 1
        assert payload["code"] == {"1": "stable", "2": "canary"}[response["ExecutedVersion"]]
        assert payload["function_version"] == response["ExecutedVersion"]
    assert set(executed) == {"1", "2"}
    assert 60 <= executed["2"] <= 120  # 30 % of 300 is 90; the band is about ±4 sd


def test_a_raised_exception_comes_back_as_a_function_error(lam: Any, role: str) -> None:
    create(lam, role, "failing", "fail")
    payload, response = invoke(lam, "failing")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert (payload["errorType"], payload["errorMessage"]) == ("ValueError", "boom")
    assert any("raise ValueError" in line for line in payload["stackTrace"])


def test_a_handler_that_cannot_be_imported_reports_an_init_error(lam: Any, role: str) -> None:
    create(lam, role, "broken", "missing_function")
    for _ in range(2):  # the failed environment is replaced, not reused
        payload, response = invoke(lam, "broken")
        assert response["FunctionError"] == "Unhandled"
        assert payload["errorType"] == "Runtime.HandlerNotFound"
        assert payload["requestId"]


def test_a_slow_invocation_times_out_and_its_environment_is_replaced(
    lam: Any, role: str, runtime: LambdaRuntime
) -> None:
    create(lam, role, "slow", "sleep", Timeout=1)
    assert invoke(lam, "slow", {"seconds": 0})[0] == "woke up"
    first = set(runtime.pids())

    payload, response = invoke(lam, "slow", {"seconds": 30})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert first - set(runtime.pids())  # the timed-out environment was stopped
    assert invoke(lam, "slow", {"seconds": 0})[0] == "woke up"


def test_the_handler_gets_a_lambda_context(lam: Any, role: str) -> None:
    create(lam, role, "context", "describe", Timeout=7, MemorySize=256)
    lam.publish_version(FunctionName="context")
    lam.create_alias(FunctionName="context", Name="live", FunctionVersion="1")
    payload, _ = invoke(lam, "context", Qualifier="live")
    assert payload["function_name"] == "context"
    assert payload["function_version"] == "1"
    assert payload["invoked_function_arn"].endswith(":function:context:live")
    assert payload["memory_limit_in_mb"] == 256
    assert 0 < payload["remaining_ms"] <= 7000
    assert payload["aws_request_id"]


def test_boto3_in_the_handler_reaches_the_local_cloud(
    lam: Any, role: str, cloud: LocalCloud
) -> None:
    create(
        lam,
        role,
        "lister",
        "list_functions",
        Environment={"Variables": {"AWS_ENDPOINT_URL": "http://example.invalid"}},
    )
    payload, _ = invoke(lam, "lister")
    assert payload["endpoint"] == cloud.endpoint  # user variables can't point it away
    assert "lister" in payload["functions"]


def test_layers_are_on_the_path_in_order_and_missing_ones_are_skipped(
    lam: Any, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    one = lam.publish_layer_version(
        LayerName="runtime-one",
        Content={
            "ZipFile": layer_zip(
                {
                    "runtime_layer_one.py": "NAME = 'one'\n",
                    "runtime_layer_shared.py": "NAME = 'one'\n",
                }
            )
        },
    )
    two = lam.publish_layer_version(
        LayerName="runtime-two",
        Content={"ZipFile": layer_zip({"runtime_layer_shared.py": "NAME = 'two'\n"})},
    )
    gone = lam.publish_layer_version(
        LayerName="runtime-gone", Content={"ZipFile": layer_zip({"runtime_layer_unused.py": ""})}
    )
    create(
        lam,
        role,
        "layered",
        "use_layers",
        Layers=[one["LayerVersionArn"], two["LayerVersionArn"], gone["LayerVersionArn"]],
    )
    lam.delete_layer_version(LayerName="runtime-gone", VersionNumber=gone["Version"])

    with caplog.at_level(logging.WARNING, logger="rollout.local.lambda_runtime"):
        payload, response = invoke(lam, "layered")
    assert "FunctionError" not in response, payload
    assert payload == {"one": "one", "shared": "two"}  # a later layer overwrites, as in /opt
    assert gone["LayerVersionArn"] in caplog.text


# -- invocation types and logs ----------------------------------------------------------


def test_event_invocations_run_in_the_background_and_dry_runs_do_not_run(
    lam: Any, role: str, tmp_path: Path
) -> None:
    create(lam, role, "toucher", "touch")
    marker = tmp_path / "touched"
    dry = lam.invoke(
        FunctionName="toucher",
        InvocationType="DryRun",
        Payload=json.dumps({"path": str(marker)}).encode(),
    )
    assert dry["StatusCode"] == 204
    queued = lam.invoke(
        FunctionName="toucher",
        InvocationType="Event",
        Payload=json.dumps({"path": str(marker)}).encode(),
    )
    assert queued["StatusCode"] == 202
    wait_for(marker.exists)
    assert marker.read_text() == "v1"


def test_output_reaches_cloudwatch_logs(lam: Any, role: str, cloud: LocalCloud) -> None:
    create(lam, role, "logged", "echo", label="logged-code")
    _, response = invoke(lam, "logged", LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert tail.startswith("START RequestId: ")
    assert "REPORT RequestId: " in tail
    events = cloud.client("logs").filter_log_events(logGroupName="/aws/lambda/logged")["events"]
    assert "echo logged-code" in [event["message"] for event in events]


# -- metrics -------------------------------------------------------------------------------


def test_metrics_are_emitted_per_executed_version(lam: Any, role: str, cloud: LocalCloud) -> None:
    create(lam, role, "measured", "describe")
    lam.publish_version(FunctionName="measured")
    lam.update_function_code(FunctionName="measured", ZipFile=code_zip("v2"))
    lam.publish_version(FunctionName="measured")
    lam.create_alias(FunctionName="measured", Name="live", FunctionVersion="1")
    for _ in range(3):
        invoke(lam, "measured", Qualifier="live")
    lam.update_alias(FunctionName="measured", Name="live", FunctionVersion="2")
    for _ in range(2):
        invoke(lam, "measured", {"fail": True}, Qualifier="live")
    invoke(lam, "measured")

    live = {"FunctionName": "measured", "Resource": "measured:live"}
    assert metric_sum(cloud, "Invocations", {**live, "ExecutedVersion": "1"}) == 3
    assert metric_sum(cloud, "Errors", {**live, "ExecutedVersion": "1"}) == 0
    assert metric_sum(cloud, "Invocations", {**live, "ExecutedVersion": "2"}) == 2
    assert metric_sum(cloud, "Errors", {**live, "ExecutedVersion": "2"}) == 2
    assert metric_sum(cloud, "Invocations", live) == 5
    assert metric_sum(cloud, "Invocations", {"FunctionName": "measured"}) == 6
    assert metric_sum(cloud, "Duration", {"FunctionName": "measured"}) > 0


def test_a_function_in_another_region_runs_and_measures_in_its_own_region(
    role: str, cloud: LocalCloud
) -> None:
    assert cloud.region == "us-east-1"
    env = cloud.client_env()
    credentials = {
        "endpoint_url": cloud.endpoint,
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": env["AWS_SESSION_TOKEN"],
    }
    lam_eu = boto3.client("lambda", region_name="eu-west-1", **credentials)
    cloudwatch_eu = boto3.client("cloudwatch", region_name="eu-west-1", **credentials)
    create(lam_eu, role, "regional", "describe")

    payload, _ = invoke(lam_eu, "regional")

    assert payload["region"] == "eu-west-1"  # AWS_REGION is where the function runs
    name = {"FunctionName": "regional"}
    assert metric_sum(cloud, "Invocations", name, cloudwatch_eu) == 1
    assert metric_sum(cloud, "Invocations", name) == 0  # nothing in the cloud's own Region


def test_reserved_concurrency_throttles(lam: Any, role: str, cloud: LocalCloud) -> None:
    create(lam, role, "throttled", "echo")
    lam.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)
    no_retries = boto3.client(
        "lambda",
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as raised:
        invoke(no_retries, "throttled")
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert metric_sum(cloud, "Throttles", {"FunctionName": "throttled"}) >= 1
    assert metric_sum(cloud, "Invocations", {"FunctionName": "throttled"}) == 0


# -- execution environments --------------------------------------------------------------


def test_an_environment_is_reused_warm(lam: Any, role: str) -> None:
    create(lam, role, "counter", "count")
    results = [invoke(lam, "counter")[0] for _ in range(3)]
    assert len({result["pid"] for result in results}) == 1
    assert [result["calls"] for result in results] == [1, 2, 3]


def test_warm_versions_leaves_each_version_an_environment_its_next_request_reuses(
    lam: Any, role: str
) -> None:
    """samples.warm_versions, which tests and benchmarks call before shifting traffic."""
    for name in ("warm-a", "warm-b"):
        create(lam, role, name, "count")
    published = {n: lam.publish_version(FunctionName=n)["Version"] for n in ("warm-a", "warm-b")}
    samples.warm_versions(lam, published)
    for name, version in published.items():
        first, _ = invoke(lam, name, Qualifier=version)
        assert first["calls"] == 2  # the warm-up was the environment's first


def test_overlapping_invocations_get_their_own_environments(
    lam: Any, role: str, tmp_path: Path
) -> None:
    create(lam, role, "meeting", "rendezvous")
    results: list[Any] = []
    event = {"folder": str(tmp_path), "expected": 2}
    threads = [
        threading.Thread(target=lambda: results.append(invoke(lam, "meeting", event)[0]))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert [result["seen"] for result in results] == [2, 2]  # both were inside at once
    assert len({result["pid"] for result in results}) == 2


def test_uninstall_stops_every_environment_and_restores_moto(
    lam: Any, role: str, cloud: LocalCloud, runtime: LambdaRuntime, threads_before_module: Any
) -> None:
    create(lam, role, "short-lived", "count")
    invoke(lam, "short-lived")
    pids = runtime.pids()
    assert pids
    runtime.uninstall()
    try:
        assert LambdaBackend.invoke is MOTO_BACKEND_INVOKE
        assert LambdaResponse.invoke is MOTO_RESPONSE_INVOKE
        assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
        assert not _children_of(os.getpid())
        # Their threads wait without timeouts (an idle environment costs no CPU), and
        # stopping an environment still ends every one of them.
        left = [
            thread.name
            for thread in threading.enumerate()
            if thread.name in ENVIRONMENT_THREADS and thread not in threads_before_module
        ]
        assert not left
    finally:
        runtime.install(cloud)
    assert invoke(lam, "short-lived")[0]["calls"] == 1  # a fresh environment


def _children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


# -- the moto internals the seam relies on -------------------------------------------


def test_contract_with_moto_internals(lam: Any, role: str, cloud: LocalCloud) -> None:
    """Fails when a moto upgrade moves what lambda_runtime.py patches or reads."""
    assert list(inspect.signature(MOTO_BACKEND_INVOKE).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    assert list(inspect.signature(MOTO_RESPONSE_INVOKE).parameters) == ["self"]
    # moto reads the lower-case name, so the seam copies boto3's `Qualifier` to it
    assert '_get_param("qualifier")' in inspect.getsource(MOTO_RESPONSE_INVOKE)
    for name in ("get_function", "get_alias", "layers_versions_by_arn"):
        assert callable(getattr(LambdaBackend, name))

    create(
        lam,
        role,
        "contract",
        "echo",
        Layers=[
            lam.publish_layer_version(
                LayerName="runtime-contract", Content={"ZipFile": layer_zip({"x.py": ""})}
            )["LayerVersionArn"]
        ],
    )
    lam.publish_version(FunctionName="contract")
    lam.update_function_code(FunctionName="contract", ZipFile=code_zip("v2"))
    lam.create_alias(
        FunctionName="contract",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
    )
    backend = backend_of(cloud)
    version = backend.get_function("contract", "1")
    latest = backend.get_function("contract", "$LATEST")
    assert isinstance(version, LambdaFunction)
    assert version.code_bytes == code_zip("v1")  # a published version keeps its own code
    assert latest.code_bytes == code_zip("v2")
    assert version.code_sha_256 != latest.code_sha_256
    for attribute in (
        "handler",
        "timeout",
        "memory_size",
        "run_time",
        "environment_vars",
        "reserved_concurrency",
        "function_arn",
    ):
        assert hasattr(version, attribute), attribute
    assert version.role == latest.role == role  # the execution role, as CreateFunction gave it
    layer = backend.layers_versions_by_arn(version.layers[0]["Arn"])
    assert isinstance(layer, LayerVersion)
    assert zipfile.ZipFile(io.BytesIO(layer.code_bytes)).namelist() == ["python/x.py"]
    alias = backend.get_alias("live", "contract")
    assert isinstance(alias, LambdaAlias)
    assert alias.function_version == "1"
    assert alias.routing_config == {"AdditionalVersionWeights": {"1": 0.5}}
