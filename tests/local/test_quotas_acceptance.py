"""Acceptance (issue 22, part 1): `rollout local up`, started in its own process as a user
starts it, enforces AWS's API rate quotas by default, and a plain boto3 client sees each
service's own throttling error: code, HTTP status and message, as AWS sends them. The
counters the banner names agree with what the client saw.

Every call here is sent once (no SDK retries), so a throttle reaches the test as it
reaches a user's code before the SDK retries it. Bursts go out on several threads at once:
more calls than a bucket holds, sent faster than it refills.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollout.local.quotas import STATS_PATH
from tests.local.served import client, served_cloud

pytestmark = pytest.mark.cloud

ONCE = {"retries": {"mode": "standard", "total_max_attempts": 1}}
THREADS = 10  # botocore's default connection pool
BURST = 120  # calls per burst: eight times Lambda's control-plane bucket, 13 times DescribeAlarms'


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    with served_cloud("--no-deploy") as served:
        yield served


def burst(call: Callable[[], Any]) -> tuple[int, list[ClientError]]:
    """BURST calls at once: (how many succeeded, the errors of the others)."""

    def once(_: int) -> ClientError | None:
        try:
            call()
        except ClientError as error:
            return error
        return None

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(once, range(BURST)))
    errors = [error for error in outcomes if error is not None]
    return BURST - len(errors), errors


def wire(error: ClientError) -> tuple[str, int, str]:
    response = error.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def throttled_counts(env: dict[str, str]) -> dict[tuple[str, str], int]:
    url = env["AWS_ENDPOINT_URL"] + STATS_PATH
    with urllib.request.urlopen(url, timeout=10) as response:
        stats = json.load(response)
    assert stats["enforced"] is True
    return {(row["service"], row["operation"]): row["throttled"] for row in stats["operations"]}


def test_the_banner_says_the_quotas_are_enforced_and_where_they_are_counted(env) -> None:
    assert "AWS's API rate quotas: enforced" in env["BANNER"]
    assert f"counters at {env['AWS_ENDPOINT_URL']}{STATS_PATH}" in env["BANNER"]


def test_cloudwatch_logs_answers_a_burst_of_filter_log_events_with_throttling_exception(
    env,
) -> None:
    logs = client(env, "logs", **ONCE)
    logs.create_log_group(logGroupName="/aws/lambda/orders")
    allowed, errors = burst(lambda: logs.filter_log_events(logGroupName="/aws/lambda/orders"))
    assert allowed >= 25  # us-east-1's quota: 25 a second
    assert errors and {wire(e) for e in errors} == {("ThrottlingException", 400, "Rate exceeded")}
    assert throttled_counts(env)[("logs", "FilterLogEvents")] == len(errors)


def test_cloudwatch_answers_a_burst_of_describe_alarms_with_throttling(env) -> None:
    cloudwatch = client(env, "cloudwatch", **ONCE)
    allowed, errors = burst(cloudwatch.describe_alarms)
    assert allowed >= 9
    assert errors and {wire(e) for e in errors} == {("Throttling", 400, "Rate exceeded")}
    assert throttled_counts(env)[("cloudwatch", "DescribeAlarms")] == len(errors)


def test_lambda_answers_a_burst_of_control_plane_calls_with_too_many_requests(env) -> None:
    lam = client(env, "lambda", **ONCE)
    allowed, errors = burst(lam.list_functions)
    assert allowed >= 15  # 15 a second across every control-plane API
    assert errors and {wire(e) for e in errors} == {
        ("TooManyRequestsException", 429, "Rate exceeded")
    }
    assert {e.response["Reason"] for e in errors} == {"CallerRateLimitExceeded"}
    assert throttled_counts(env)[("lambda", "ListFunctions")] == len(errors)


def test_dynamodb_answers_a_second_describe_limits_within_a_minute_with_throttling(
    env,
) -> None:
    dynamodb = client(env, "dynamodb", **ONCE)
    dynamodb.describe_limits()
    with pytest.raises(ClientError) as second:
        dynamodb.describe_limits()
    assert wire(second.value) == ("ThrottlingException", 400, "Rate exceeded")
