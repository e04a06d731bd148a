"""Every quota the local cloud enforces, pinned: a change to rollout/local/quota_table.py
must change this file too, deliberately. And each entry is cited as the module promises."""

from __future__ import annotations

import re

import pytest

from rollout.local.quota_table import ANY_OTHER, NO_QUOTA, QUOTAS, Quota, Rate, quota_for

USE1, EUW1, USW2 = "us-east-1", "eu-west-1", "us-west-2"
SFN_LARGE = (USE1, USW2, EUW1)  # "US East (N. Virginia), US West (Oregon), and Europe (Ireland)"
SNS_MID = (
    "us-east-2",
    "us-west-1",
    "ap-south-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-central-1",
)
LOGS_FIVE = ("ap-northeast-3", "ap-southeast-3", "ca-west-1", "eu-central-1", "il-central-1")


def per_second(rate: float) -> tuple[float, float]:
    return (rate, rate)  # (rate, burst): AWS documents a rate only


def regions(*groups: tuple[tuple[str, ...], tuple[float, float]]) -> dict:
    return {region: value for names, value in groups for region in names}


# (service, bucket) -> (operations, (rate, burst) elsewhere, {region: (rate, burst)})
EXPECTED: dict[tuple[str, str], tuple[set[str], tuple[float, float], dict]] = {
    ("logs", "FilterLogEvents"): (
        {"FilterLogEvents"},
        per_second(10),
        regions(((USE1,), per_second(25)), (LOGS_FIVE, per_second(5))),
    ),
    ("logs", "GetLogEvents"): (
        {"GetLogEvents"},
        per_second(25),
        regions(
            ((USW2, EUW1, *LOGS_FIVE), per_second(10)),
            (("eu-west-3",), per_second(30)),
        ),
    ),
    ("logs", "DescribeLogGroups"): ({"DescribeLogGroups"}, per_second(10), {}),
    ("logs", "DescribeLogStreams"): ({"DescribeLogStreams"}, per_second(25), {}),
    ("logs", "CreateLogGroup"): ({"CreateLogGroup"}, per_second(10), {}),
    ("logs", "CreateLogStream"): ({"CreateLogStream"}, per_second(50), {}),
    ("logs", "PutLogEvents"): ({"PutLogEvents"}, per_second(5000), {}),
    ("logs", "PutSubscriptionFilter"): ({"PutSubscriptionFilter"}, per_second(5), {}),
    ("logs", "DeleteSubscriptionFilter"): ({"DeleteSubscriptionFilter"}, per_second(5), {}),
    ("logs", "DescribeSubscriptionFilters"): ({"DescribeSubscriptionFilters"}, per_second(5), {}),
    ("logs", "StartQuery"): ({"StartQuery"}, per_second(10), {}),
    ("logs", "GetQueryResults"): ({"GetQueryResults"}, per_second(10), {}),
    ("logs", "StartLiveTail"): ({"StartLiveTail"}, per_second(5), {}),
    ("cloudwatch", "GetMetricData"): ({"GetMetricData"}, per_second(500), {}),
    ("cloudwatch", "DescribeAlarms"): ({"DescribeAlarms"}, per_second(9), {}),
    ("cloudwatch", "PutMetricData"): ({"PutMetricData"}, per_second(500), {}),
    ("cloudwatch", "GetMetricStatistics"): ({"GetMetricStatistics"}, per_second(400), {}),
    ("cloudwatch", "ListMetrics"): ({"ListMetrics"}, per_second(25), {}),
    ("cloudwatch", "PutMetricAlarm"): ({"PutMetricAlarm"}, per_second(3), {}),
    ("cloudwatch", "DescribeAlarmHistory"): ({"DescribeAlarmHistory"}, per_second(20), {}),
    ("cloudwatch", "SetAlarmState"): ({"SetAlarmState"}, per_second(3), {}),
    ("cloudwatch", "DeleteAlarms"): ({"DeleteAlarms"}, per_second(3), {}),
    ("lambda", "GetFunction"): ({"GetFunction"}, per_second(100), {}),
    ("lambda", "GetPolicy"): ({"GetPolicy"}, per_second(15), {}),
    ("lambda", "control plane"): ({"*"}, per_second(15), {}),
    ("sns", "Publish"): (
        {"Publish", "PublishBatch"},
        per_second(300),
        regions(
            ((USE1,), per_second(30000)),
            ((USW2, EUW1), per_second(9000)),
            (SNS_MID, per_second(1500)),
        ),
    ),
    ("sns", "Subscribe"): ({"Subscribe"}, per_second(100), {}),
    ("sns", "Unsubscribe"): ({"Unsubscribe"}, per_second(100), {}),
    ("sns", "ListSubscriptionsByTopic"): ({"ListSubscriptionsByTopic"}, per_second(30), {}),
    ("sns", "ListSubscriptions"): ({"ListSubscriptions"}, per_second(30), {}),
    ("sns", "ListTopics"): ({"ListTopics"}, per_second(30), {}),
    ("sns", "AddPermission"): ({"AddPermission"}, per_second(10), {}),
    ("sns", "RemovePermission"): ({"RemovePermission"}, per_second(10), {}),
    ("sns", "ListTagsForResource"): ({"ListTagsForResource"}, per_second(10), {}),
    ("sns", "TagResource"): ({"TagResource"}, per_second(10), {}),
    ("sns", "UntagResource"): ({"UntagResource"}, per_second(10), {}),
    ("events", "PutEvents"): (
        {"PutEvents"},
        per_second(400),
        regions(
            ((USE1, EUW1, USW2), per_second(10000)),
            (("us-east-2", "eu-central-1", "eu-south-2"), per_second(2400)),
            (
                ("us-west-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-west-2"),
                per_second(1200),
            ),
            (
                (
                    "ap-east-1",
                    "ap-northeast-2",
                    "ap-south-1",
                    "ca-central-1",
                    "eu-north-1",
                    "eu-west-3",
                    "sa-east-1",
                ),
                per_second(600),
            ),
        ),
    ),
    ("events", "control plane"): ({"*"}, per_second(50), {}),
    ("sts", "credentials"): (
        {
            "AssumeRole",
            "GetCallerIdentity",
            "GetSessionToken",
            "GetFederationToken",
            "DecodeAuthorizationMessage",
            "GetAccessKeyInfo",
        },
        per_second(600),
        {},
    ),
    ("cloudtrail", "LookupEvents"): ({"LookupEvents"}, per_second(2), {}),
    ("dynamodb", "DescribeLimits"): ({"DescribeLimits"}, (1 / 60, 1), {}),
    ("dynamodb", "DescribeTableReplicaAutoScaling"): (
        {"DescribeTableReplicaAutoScaling"},
        per_second(10),
        {},
    ),
}
# Step Functions, as AWS's table has it: bucket and refill in the three large Regions, then
# bucket and refill in all other Regions.
STEPFUNCTIONS = {
    "StartExecution": (1300, 300, 800, 150),
    "RedriveExecution": (1300, 300, 800, 150),
    "DescribeExecution": (300, 15, 250, 10),
    "GetExecutionHistory": (400, 20, 400, 20),
    "ListExecutions": (200, 5, 100, 2),
    "StopExecution": (1000, 200, 500, 25),
    "SendTaskSuccess": (3000, 500, 1500, 300),
    "SendTaskFailure": (3000, 500, 1500, 300),
    "SendTaskHeartbeat": (3000, 500, 1500, 300),
    "GetActivityTask": (3000, 500, 1500, 300),
    "DescribeStateMachine": (200, 20, 200, 20),
    "DescribeStateMachineForExecution": (200, 1, 200, 1),
    "ListStateMachines": (100, 5, 100, 5),
    "CreateStateMachine": (100, 1, 100, 1),
    "UpdateStateMachine": (100, 1, 100, 1),
    "CreateActivity": (100, 1, 100, 1),
    "DeleteActivity": (100, 1, 100, 1),
    "DeleteStateMachine": (100, 1, 100, 1),
    "DescribeActivity": (200, 1, 200, 1),
    "ListActivities": (100, 10, 100, 5),
    "ListTagsForResource": (100, 1, 100, 1),
    "TagResource": (200, 1, 200, 1),
    "UntagResource": (200, 1, 200, 1),
}
for _api, (large_size, large_refill, size, refill) in STEPFUNCTIONS.items():
    EXPECTED[("stepfunctions", _api)] = (
        {_api},
        (refill, size),
        regions((SFN_LARGE, (large_refill, large_size))),
    )
# SNS: one row of AWS's table names these APIs, each with the same tiers (every Region the
# row does not list gets its lowest tier, 30).
for _api in (
    "ConfirmSubscription",
    "CreatePlatformApplication",
    "CreatePlatformEndpoint",
    "CreateTopic",
    "DeleteEndpoint",
    "DeletePlatformApplication",
    "DeleteTopic",
    "GetEndpointAttributes",
    "GetDataProtectionPolicy",
    "GetPlatformApplicationAttributes",
    "GetSubscriptionAttributes",
    "GetTopicAttributes",
    "SetEndpointAttributes",
    "SetPlatformApplicationAttributes",
    "SetSubscriptionAttributes",
    "SetTopicAttributes",
):
    EXPECTED[("sns", _api)] = (
        {_api},
        per_second(30),
        regions(
            ((USE1,), per_second(3000)),
            ((USW2, EUW1), per_second(900)),
            (SNS_MID, per_second(150)),
        ),
    )


def _as_tuple(rate: Rate) -> tuple[float, float]:
    return (rate.per_second, rate.burst)


def test_every_quota_value_is_pinned() -> None:
    actual = {
        (quota.service, quota.bucket): (
            set(quota.operations),
            _as_tuple(quota.rate),
            {region: _as_tuple(rate) for region, rate in quota.regions.items()},
        )
        for quota in QUOTAS
    }
    assert set(actual) == set(EXPECTED)
    for key, expected in EXPECTED.items():
        assert actual[key] == expected, key


def test_only_documented_buckets_differ_from_one_second_of_tokens() -> None:
    for quota in QUOTAS:
        rates = [quota.rate, *quota.regions.values()]
        if quota.burst_documented:
            assert quota.service in ("stepfunctions", "dynamodb"), quota.bucket
        else:
            assert all(rate.burst == rate.per_second for rate in rates), quota.bucket


@pytest.mark.parametrize("quota", QUOTAS, ids=lambda q: f"{q.service}-{q.bucket}")
def test_each_quota_is_cited_with_the_values_it_quotes(quota: Quota) -> None:
    assert quota.source.title and quota.source.url.startswith("https://")
    assert quota.quote
    if quota.bucket == "DescribeLimits":  # "more than once in a minute"
        assert "once in a minute" in quota.quote
        return
    # every rate (and documented bucket size) appears in the quoted row, as AWS writes it
    for rate in (quota.rate, *quota.regions.values()):
        numbers = [rate.per_second, rate.burst] if quota.burst_documented else [rate.per_second]
        for number in numbers:
            assert re.search(rf"(?<![\d,]){number:,.0f}(?![\d,])", quota.quote), (number, quota)


def test_where_aws_documents_no_rate_nothing_is_invented() -> None:
    unlimited = {(entry.service, operation) for entry in NO_QUOTA for operation in entry.operations}
    for service in ("cloudformation", "iam", "dynamodb", "s3", "sqs"):
        assert (service, "*") in unlimited, service
        assert quota_for(service, "AnyOperation") is None
    assert quota_for("dynamodb", "CreateTable") is None
    assert quota_for("dynamodb", "GetItem") is None
    # Lambda invocations: concurrency only (the runtime seam's reserved concurrency)
    for invoke in ("Invoke", "InvokeAsync", "InvokeWithResponseStream"):
        assert quota_for("lambda", invoke) is None
    for entry in NO_QUOTA:
        assert entry.reason, entry


def test_lookups_pick_the_named_bucket_before_the_shared_one() -> None:
    assert quota_for("lambda", "GetFunction").bucket == "GetFunction"
    assert quota_for("lambda", "GetPolicy").bucket == "GetPolicy"
    for shared in ("GetAlias", "UpdateAlias", "ListVersionsByFunction", "CreateFunction"):
        assert quota_for("lambda", shared).bucket == "control plane", shared
    assert quota_for("events", "PutEvents").bucket == "PutEvents"
    assert quota_for("events", "PutRule").bucket == "control plane"
    assert quota_for("events", "PutPartnerEvents") is None
    assert quota_for("sns", "PublishBatch").bucket == "Publish"
    assert quota_for("logs", "DeleteLogGroup") is None  # no row read for it
    assert quota_for("sts", "AssumeRoleWithWebIdentity") is None
    assert frozenset({"*"}) == ANY_OTHER
