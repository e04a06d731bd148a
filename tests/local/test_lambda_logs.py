"""Lambda's logs in the local cloud, as Lambda writes them (rollout/local/lambda_logs.py)."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.awslambda.models import LambdaFunction
from moto.logs.models import LogsBackend
from moto.logs.responses import LogsResponse

from rollout import samples
from rollout.local.cloud import LocalCloud
from rollout.local.lambda_logs import LambdaLogs, LogWriter
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.samples import lambda_role

pytestmark = pytest.mark.cloud

FIXTURE = Path(__file__).parent / "fixtures" / "runtime_app.py"
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(\$LATEST|\d+)\][0-9a-f]{32}$")
MOTO_INIT = LambdaFunction.__init__
MOTO_FILTER = LogsResponse.filter_log_events


@pytest.fixture(scope="module")
def cloud(
    isolated_cloud: Callable[..., AbstractContextManager[LocalCloud]],
) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[LambdaLogs, LambdaRuntime]) as started:
        yield started


@pytest.fixture(scope="module")
def lam(cloud: LocalCloud) -> Any:
    return cloud.client("lambda")


@pytest.fixture(scope="module")
def logs(cloud: LocalCloud) -> Any:
    return cloud.client("logs")


@pytest.fixture(scope="module")
def role(cloud: LocalCloud) -> str:
    return lambda_role(cloud.client("iam"), "logs-tests")


def create(lam: Any, role: str, name: str, handler: str, **extra: Any) -> None:
    code = samples.code_zip({"app.py": FIXTURE.read_text(), "marker.py": "CODE = 'logs'\n"})
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler=f"app.{handler}",
        Code={"ZipFile": code},
        **extra,
    )


def invoke(lam: Any, name: str, event: Any = None, qualifier: str | None = None) -> Any:
    args = {"Qualifier": qualifier} if qualifier else {}
    return lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **args)


def by_stream(logs: Any, group: str, **extra: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, **extra):
        for event in page["events"]:
            found[event["logStreamName"]].append(event["message"])
    return dict(found)


def test_text_format_start_end_report_and_the_runtime_error_in_a_version_stream(
    lam: Any, role: str, logs: Any
) -> None:
    create(lam, role, "text-logs", "describe")
    version = lam.publish_version(FunctionName="text-logs")["Version"]
    invoke(lam, "text-logs", qualifier=version)
    invoke(lam, "text-logs", {"fail": True}, qualifier=version)

    streams = by_stream(logs, "/aws/lambda/text-logs")
    assert len(streams) == 1  # one environment served both
    name, lines = next(iter(streams.items()))
    assert STREAM.match(name) and f"/[{version}]" in name
    starts = [line for line in lines if line.startswith("START RequestId: ")]
    reports = [line for line in lines if line.startswith("REPORT RequestId: ")]
    assert len(starts) == 2 and len(reports) == 2
    assert starts[0].endswith(f" Version: {version}")
    assert "\tInit Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert re.search(
        r"\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB", reports[1]
    )
    assert "Status:" not in reports[1]  # a handler's exception: the runtime reports it
    errors = [line for line in lines if line.startswith("[ERROR] ")]
    assert len(errors) == 1 and errors[0].startswith("[ERROR] ValueError: asked to fail\r")
    assert sum(line.startswith("END RequestId: ") for line in lines) == 2


def test_json_format_platform_records_and_a_custom_log_group(
    lam: Any, role: str, logs: Any
) -> None:
    create(
        lam,
        role,
        "json-logs",
        "describe",
        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/custom/json-logs"},
    )
    config = lam.get_function_configuration(FunctionName="json-logs")["LoggingConfig"]
    assert config == {"LogFormat": "JSON", "LogGroup": "/custom/json-logs"}
    invoke(lam, "json-logs")
    invoke(lam, "json-logs", {"fail": True})

    streams = by_stream(logs, "/custom/json-logs")
    custom_stream = re.compile(r"^\d{4}/\d{2}/\d{2}/json-logs\[\$LATEST\][0-9a-f]{32}$")
    assert streams and all(custom_stream.match(name) for name in streams)  # names the function
    records = [json.loads(line) for lines in streams.values() for line in lines]
    kinds = [r.get("type") for r in records]
    assert kinds.count("platform.start") == 2 and kinds.count("platform.report") == 2
    assert kinds.count("platform.initStart") == 1
    reports = [r["record"] for r in records if r.get("type") == "platform.report"]
    assert [r["status"] for r in reports] == ["success", "error"]
    assert reports[1]["errorType"] == "ValueError"
    assert reports[0]["metrics"]["initDurationMs"] >= 0
    assert {"durationMs", "billedDurationMs", "memorySizeMB"} <= set(reports[1]["metrics"])
    runtime_error = [r for r in records if r.get("level") == "ERROR"]
    assert len(runtime_error) == 1 and runtime_error[0]["errorType"] == "ValueError"
    assert runtime_error[0]["errorMessage"] == "asked to fail"
    assert "/aws/lambda/json-logs" not in [
        g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]
    ]


def test_a_timeout_and_an_init_failure_are_reported_by_the_platform(
    lam: Any, role: str, logs: Any
) -> None:
    create(lam, role, "slow-logs", "sleep", Timeout=1)
    invoke(lam, "slow-logs", {"seconds": 30})
    lines = [line for ls in by_stream(logs, "/aws/lambda/slow-logs").values() for line in ls]
    assert any(re.search(r" Task timed out after 1\.00 seconds$", line) for line in lines)
    report = next(line for line in lines if line.startswith("REPORT "))
    assert report.endswith("\tStatus: timeout")

    create(lam, role, "broken-logs", "missing_function", LoggingConfig={"LogFormat": "JSON"})
    invoke(lam, "broken-logs")
    records = [
        json.loads(line)
        for ls in by_stream(logs, "/aws/lambda/broken-logs").values()
        for line in ls
    ]
    init = next(r["record"] for r in records if r.get("type") == "platform.initReport")
    assert init["status"] == "error" and init["errorType"] == "Runtime.HandlerNotFound"
    report = next(r["record"] for r in records if r.get("type") == "platform.report")
    assert report["status"] == "error" and report["errorType"] == "Runtime.HandlerNotFound"


def test_filter_log_events_honours_the_stream_name_prefix(lam: Any, role: str, logs: Any) -> None:
    create(lam, role, "prefix-logs", "echo")
    first = lam.publish_version(FunctionName="prefix-logs")["Version"]
    lam.update_function_configuration(
        FunctionName="prefix-logs", Environment={"Variables": {"V": "2"}}
    )
    second = lam.publish_version(FunctionName="prefix-logs")["Version"]
    invoke(lam, "prefix-logs", qualifier=first)
    invoke(lam, "prefix-logs", qualifier=second)
    day = time.strftime("%Y/%m/%d", time.gmtime())

    only_first = by_stream(logs, "/aws/lambda/prefix-logs", logStreamNamePrefix=f"{day}/[{first}]")
    assert len(only_first) == 1 and f"[{first}]" in next(iter(only_first))
    assert by_stream(logs, "/aws/lambda/prefix-logs", logStreamNamePrefix="2001/01/01/[1]") == {}


def test_moto_alone_ignores_the_stream_name_prefix(
    lam: Any, role: str, logs: Any, cloud: LocalCloud
) -> None:
    create(lam, role, "moto-prefix", "echo")
    invoke(lam, "moto-prefix")
    seam = cloud.seam(LambdaLogs)
    seam.uninstall()
    try:
        found = logs.filter_log_events(
            logGroupName="/aws/lambda/moto-prefix", logStreamNamePrefix="2001/01/01/[9]"
        )["events"]
        assert found  # moto searched every stream anyway
    finally:
        seam.install(cloud)


def test_what_aws_logs_tail_follow_does_sees_new_invocations(
    lam: Any, role: str, logs: Any
) -> None:
    """`aws logs tail GROUP --follow` (AWS CLI v2, awscli/customizations/logs/tail.py)
    polls FilterLogEvents(logGroupName, startTime, interleaved=True), follows nextToken,
    then restarts from the newest timestamp it saw, skipping event ids it already printed.
    CLI v2 is not on PyPI, so its loop is replayed here with the same calls."""
    create(lam, role, "tail-logs", "echo")
    kwargs: dict[str, Any] = {
        "logGroupName": "/aws/lambda/tail-logs",
        "interleaved": True,
        "startTime": int(time.time() * 1000) - 60_000,
    }
    seen: dict[int, set[str]] = defaultdict(set)
    printed: list[str] = []

    def poll() -> None:
        while True:
            response = logs.filter_log_events(**kwargs)
            for event in response["events"]:
                if event["eventId"] not in seen[event["timestamp"]]:
                    seen[event["timestamp"]].add(event["eventId"])
                    printed.append(event["message"])
            if "nextToken" in response:
                kwargs["nextToken"] = response["nextToken"]
                continue
            kwargs.pop("nextToken", None)
            if seen:
                kwargs["startTime"] = max(seen)
            return

    invoke(lam, "tail-logs")
    poll()
    invoke(lam, "tail-logs")
    poll()
    poll()  # nothing new: nothing printed twice
    assert sum(m.startswith("START ") for m in printed) == 2
    assert printed.count("echo logs") == 2


def test_the_aws_cli_reads_the_function_logs(lam: Any, role: str, cloud: LocalCloud) -> None:
    create(lam, role, "cli-logs", "echo")
    invoke(lam, "cli-logs")
    aws = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[2] / ".venv")) / "bin" / "aws"
    if not aws.exists():
        pytest.skip("the AWS CLI is not installed in this environment")
    done = subprocess.run(
        [
            str(aws),
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/aws/lambda/cli-logs",
            "--interleaved",
            "--start-time",
            str(int(time.time() * 1000) - 60_000),
        ],
        env={**os.environ, **cloud.client_env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    messages = [e["message"] for e in json.loads(done.stdout)["events"]]
    assert messages[0].startswith("START RequestId: ") and "echo logs" in messages


def test_log_events_are_readable_only_after_the_ingestion_delay(
    cloud: LocalCloud, logs: Any
) -> None:
    now = [100.0]
    writer = LogWriter(delay=0.0, clock=lambda: now[0])
    writer.delay = 2.0  # no background thread: the test moves the clock itself
    stamp = int(time.time() * 1000)
    writer.write(
        cloud,
        "/aws/lambda/delayed",
        "2026/01/01/[1]" + "0" * 32,
        [{"timestamp": stamp, "message": "hi"}],
    )
    assert writer.flush_due() == 0 and writer.pending() == 1
    now[0] += 1.9
    assert writer.flush_due() == 0
    now[0] += 0.2
    assert writer.flush_due() == 1
    events = logs.filter_log_events(logGroupName="/aws/lambda/delayed")["events"]
    assert [(e["message"], e["timestamp"]) for e in events] == [("hi", stamp)]


def regional(cloud: LocalCloud, service: str, region: str) -> Any:
    """A client of the cloud in another Region than its default."""
    env = cloud.client_env()
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=cloud.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def test_a_function_in_another_region_logs_in_its_own_region(
    role: str, logs: Any, cloud: LocalCloud
) -> None:
    assert cloud.region == "us-east-1"
    lam_eu, logs_eu = regional(cloud, "lambda", "eu-west-1"), regional(cloud, "logs", "eu-west-1")
    create(lam_eu, role, "regional-logs", "echo")
    invoke(lam_eu, "regional-logs")

    streams = logs_eu.describe_log_streams(logGroupName="/aws/lambda/regional-logs")["logStreams"]
    assert len(streams) == 1 and STREAM.match(streams[0]["logStreamName"])
    assert "echo logs" in by_stream(logs_eu, "/aws/lambda/regional-logs").popitem()[1]
    home = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/regional-logs")
    assert home["logGroups"] == []


def test_moto_internals_the_seam_relies_on() -> None:
    assert list(inspect.signature(MOTO_INIT).parameters) == [
        "self",
        "account_id",
        "spec",
        "region",
        "version",
    ]
    assert list(inspect.signature(LambdaFunction.update_configuration).parameters) == [
        "self",
        "config_updates",
    ]
    assert list(inspect.signature(LogsBackend.filter_log_events).parameters) == [
        "self",
        "log_group_name",
        "log_stream_names",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "filter_pattern",
        "interleaved",
    ]
    assert "logStreamNamePrefix" not in inspect.getsource(MOTO_FILTER)
    assert "LoggingConfig" not in inspect.getsource(MOTO_INIT)
