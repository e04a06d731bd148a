"""AWS's API rate quotas, per account and Region, as the local cloud enforces them.

Every value is quoted from AWS's documentation: the page title, its URL, and the row as the
page words it. Each `Source` says which copy was read: the current page (through a mirror),
or the archived `awsdocs` repository where the current table's row was not retrieved.
`tests/local/test_quota_table.py` pins every value, so a change here is deliberate.

Buckets. Step Functions publishes a bucket size and a refill rate per API; those are used as
published. (API Gateway publishes one too, for invoking the APIs it serves, which this cloud
does not serve: see `NO_QUOTA`. DynamoDB's DescribeLimits, "more than once in a minute", is a
bucket of one.) Everywhere else AWS publishes a rate only ("N per second"). For those the
bucket holds one second of tokens (burst = rate). That is our assumption, not AWS's words;
it follows AWS's own description of its token buckets ("a bucket of virtual tokens is
refilled every second", IAM_BLOG below): a client may spend one second's allowance at once,
never more, and an idle second earns no credit beyond it.

Regions. A quota's `rate` is "each of the other supported Regions"; `regions` holds the
Regions AWS names with a different value.

Where AWS documents no rate quota (CloudFormation, IAM, the DynamoDB control plane, …),
`NO_QUOTA` says so, with the reason, and nothing is enforced: no value is invented.
An operation of a service with no entry at all here is not enforced either; `NO_QUOTA`
names those the project and its tests are known to call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ANY_OTHER = frozenset({"*"})  # every operation of the service not in another entry
# LocalCloud's default (`rollout local up`, `make demo`, the tests and the benchmarks take it);
# `LocalCloud(quotas=False)` and `rollout local up --quotas off` count calls without throttling.
ENFORCED_BY_DEFAULT = True


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    copy: str  # which copy of the page the research read: "current", "archived", …


@dataclass(frozen=True)
class Rate:
    """A token bucket: `per_second` tokens added each second, at most `burst` held."""

    per_second: float
    burst: float


@dataclass(frozen=True)
class Quota:
    """One bucket per (account, Region): the `operations` of `service` draw from it."""

    service: str  # boto3 name
    bucket: str  # the name counters report
    operations: frozenset[str]  # API names; ANY_OTHER: the service's remaining operations
    rate: Rate  # each Region not in `regions`
    source: Source
    quote: str  # the row, as the page words it
    burst_documented: bool = False  # False: burst = rate (the module docstring says why)
    regions: Mapping[str, Rate] = field(default_factory=lambda: MappingProxyType({}))

    def in_region(self, region: str) -> Rate:
        return self.regions.get(region, self.rate)


@dataclass(frozen=True)
class NoQuota:
    """Operations the local cloud does not rate-limit, and why."""

    service: str
    operations: frozenset[str]
    reason: str
    source: Source | None = None
    quote: str = ""


def per_second(rate: float) -> Rate:
    """A documented rate with no documented burst: one second of tokens."""
    return Rate(rate, rate)


def bucket(size: float, refill: float) -> Rate:
    """A documented token bucket: its size and refill rate per second."""
    return Rate(refill, size)


def _regions(*groups: tuple[tuple[str, ...], Rate]) -> Mapping[str, Rate]:
    return MappingProxyType({region: rate for regions, rate in groups for region in regions})


# -- sources ---------------------------------------------------------------------------

CWL_Q = Source(
    "CloudWatch Logs quotas",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html",
    "current (mirror)",
)
CW_GR = Source(
    "Amazon CloudWatch endpoints and quotas",
    "https://docs.aws.amazon.com/general/latest/gr/cw_region.html",
    "current (mirror, fetched 2026-09-26)",
)
LAMBDA_Q = Source(
    "Lambda quotas",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "current (mirror)",
)
SFN_Q = Source(
    "Step Functions service quotas",
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    "current (mirror)",
)
SFN_Q_ARCHIVED = Source(
    "Quotas (AWS Step Functions Developer Guide)",
    "https://github.com/awsdocs/aws-step-functions-developer-guide/blob/main/doc_source/limits-overview.md",
    "archived (awsdocs, about 2023): rows the current page's copy did not show",
)
SNS_GR = Source(
    "Amazon Simple Notification Service endpoints and quotas",
    "https://docs.aws.amazon.com/general/latest/gr/sns.html",
    "current (mirror; the mirror shifts the table's columns)",
)
EB_Q = Source(
    "Amazon EventBridge quotas",
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html",
    "current (mirror)",
)
IAM_Q = Source(
    "IAM and AWS STS quotas",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
    "not read directly: the value as several secondary write-ups quote this page",
)
IAM_BLOG = Source(
    "How to monitor and query IAM resources at scale - Part 2 (AWS Security Blog)",
    "https://aws.amazon.com/blogs/security/how-to-monitor-and-query-iam-resources-at-scale-part-2/",
    "stored page",
)
DDB_Q = Source(
    "Service, account, and table quotas in Amazon DynamoDB",
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    "archived (the same facts are on the live page)",
)
S3_PERF = Source(
    "Best practices design patterns: optimizing Amazon S3 performance",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
    "secondary quotes",
)
SQS_STD = Source(
    "Amazon SQS Standard queues",
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html",
    "archived",
)
KC_CFN = Source(
    "Knowledge Center: CloudFormation 'Rate exceeded' errors",
    "https://repost.aws/knowledge-center/cloudformation-rate-exceeded-error",
    "Spanish copy",
)
CT_Q = Source(
    "Quotas in AWS CloudTrail",
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html",
    "archived (the current API reference, LookupEvents, says 'two per second, per account, "
    "per Region')",
)
APIGW_Q = Source(
    "Amazon API Gateway quotas",
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    "current",
)

# -- CloudWatch Logs ---------------------------------------------------------------------


def _logs(operation: str, rate: Rate, quote: str) -> Quota:
    return Quota("logs", operation, frozenset({operation}), rate, CWL_Q, quote)


_LOGS_5_TPS_REGIONS = ("ap-northeast-3", "ap-southeast-3", "ca-west-1", "eu-central-1")
LOGS = (
    Quota(
        "logs",
        "FilterLogEvents",
        frozenset({"FilterLogEvents"}),
        per_second(10),
        CWL_Q,
        "FilterLogEvents throttle limit in transactions per second | us-east-1: 25 per second "
        "ap-northeast-3: 5 per second ap-southeast-3: 5 per second ca-west-1: 5 per second "
        "eu-central-1: 5 per second il-central-1: 5 per second Each of the other supported "
        "Regions: 10 per second | No | The maximum number of filter-log-events calls per "
        "second per account/per region",
        regions=_regions(
            (("us-east-1",), per_second(25)),
            ((*_LOGS_5_TPS_REGIONS, "il-central-1"), per_second(5)),
        ),
    ),
    Quota(
        "logs",
        "GetLogEvents",
        frozenset({"GetLogEvents"}),
        per_second(25),
        CWL_Q,
        "GetLogEvents throttle limit in transactions per second | us-west-2: 10 per second "
        "ap-northeast-3: 10 per second ap-southeast-3: 10 per second ca-west-1: 10 per second "
        "eu-central-1: 10 per second eu-west-1: 10 per second eu-west-3: 30 per second "
        "il-central-1: 10 per second Each of the other supported Regions: 25 per second | No",
        regions=_regions(
            (
                ("us-west-2", *_LOGS_5_TPS_REGIONS, "eu-west-1", "il-central-1"),
                per_second(10),
            ),
            (("eu-west-3",), per_second(30)),
        ),
    ),
    _logs(
        "DescribeLogGroups",
        per_second(10),
        "DescribeLogGroups throttle limit in transactions per second | Each supported Region: "
        "10 per second | Yes",
    ),
    _logs(
        "DescribeLogStreams",
        per_second(25),
        "DescribeLogStreams … Each supported Region: 25 per second | Yes",
    ),
    _logs(
        "CreateLogGroup",
        per_second(10),
        "CreateLogGroup … Each supported Region: 10 per second | Yes",
    ),
    _logs(
        "CreateLogStream",
        per_second(50),
        "CreateLogStream … Each supported Region: 50 per second | Yes",
    ),
    _logs(
        "PutLogEvents",
        per_second(5000),
        "PutLogEvents throttle limit in transactions per second | Each supported Region: 5,000 "
        "per second | Yes | The maximum number of put-log-events calls per second per "
        "account/per region",
    ),
    _logs(
        "PutSubscriptionFilter",
        per_second(5),
        "PutSubscriptionFilter … Each supported Region: 5 per second | No",
    ),
    _logs(
        "DeleteSubscriptionFilter",
        per_second(5),
        "DeleteSubscriptionFilter … 5 per second | No",
    ),
    _logs(
        "DescribeSubscriptionFilters",
        per_second(5),
        "DescribeSubscriptionFilters … 5 per second | No",
    ),
    _logs(
        "StartQuery",
        per_second(10),
        "StartQuery throttle limit in transactions per second | Each supported Region: 10 | No",
    ),
    _logs(
        "GetQueryResults",
        per_second(10),
        "GetQueryResults … Each supported Region: 10 | No",
    ),
    _logs(
        "StartLiveTail",
        per_second(5),
        "StartLiveTail throttle limit in transactions per second | Each supported Region: 5 | "
        "No | The maximum number of start-live-tail calls per second per account/per region. "
        "This limit applies independently to both console and API",
    ),
)

# -- CloudWatch (metrics and alarms); every row is "Each supported Region" ---------------


def _cloudwatch(operation: str, rate: float, adjustable: str) -> Quota:
    return Quota(
        "cloudwatch",
        operation,
        frozenset({operation}),
        per_second(rate),
        CW_GR,
        f"Rate of {operation} requests | Each supported Region: {rate:g} per second | {adjustable}",
    )


CLOUDWATCH = (
    _cloudwatch("GetMetricData", 500, "Yes"),
    _cloudwatch("DescribeAlarms", 9, "Yes"),
    _cloudwatch("PutMetricData", 500, "Yes"),
    _cloudwatch("GetMetricStatistics", 400, "Yes"),
    _cloudwatch("ListMetrics", 25, "Yes"),
    _cloudwatch("PutMetricAlarm", 3, "Yes"),
    _cloudwatch("DescribeAlarmHistory", 20, "No"),
    _cloudwatch("SetAlarmState", 3, "No"),
    _cloudwatch("DeleteAlarms", 3, "No"),
)

# -- Lambda; the page states no Region variation -----------------------------------------

LAMBDA_INVOCATIONS = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})
LAMBDA = (
    Quota(
        "lambda",
        "GetFunction",
        frozenset({"GetFunction"}),
        per_second(100),
        LAMBDA_Q,
        "[GetFunction] API requests | 100 requests per second. Cannot be increased.",
    ),
    Quota(
        "lambda",
        "GetPolicy",
        frozenset({"GetPolicy"}),
        per_second(15),
        LAMBDA_Q,
        "[GetPolicy] API requests | 15 requests per second. Cannot be increased.",
    ),
    Quota(
        "lambda",
        "control plane",
        ANY_OTHER,  # the invocations are in NO_QUOTA, so "any other" excludes them
        per_second(15),
        LAMBDA_Q,
        "Remainder of the control plane API requests (excludes invocation, GetFunction, and "
        "GetPolicy requests) | 15 requests per second across all APIs (not 15 requests per "
        "second per API). Cannot be increased.",
    ),
)

# -- Step Functions (Standard): documented buckets --------------------------------------

# "US East (N. Virginia), US West (Oregon), and Europe (Ireland)"
_SFN_LARGE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def _sfn(operation: str, large: Rate, other: Rate, quote: str, source: Source = SFN_Q) -> Quota:
    return Quota(
        "stepfunctions",
        operation,
        frozenset({operation}),
        other,
        source,
        quote,
        burst_documented=True,
        regions=_regions((_SFN_LARGE_REGIONS, large)),
    )


def _sfn_row(operation: str, large: tuple[int, int], other: tuple[int, int], src: Source) -> Quota:
    quote = f"| {operation} | {large[0]:,} | {large[1]:,} | {other[0]:,} | {other[1]:,} |"
    return _sfn(operation, bucket(*large), bucket(*other), quote, src)


STEPFUNCTIONS = (
    _sfn(
        "StartExecution",
        bucket(1300, 300),
        bucket(800, 150),
        "StartExecution — US East (N. Virginia), US West (Oregon), and Europe (Ireland) | "
        "1,300 | 300 | 6,000 | 6,000; StartExecution — All other regions | 800 | 150 | 6,000 "
        "| 6,000 (bucket size, refill rate per second; Standard, then Express)",
    ),
    _sfn_row("RedriveExecution", (1300, 300), (800, 150), SFN_Q),
    _sfn_row("DescribeExecution", (300, 15), (250, 10), SFN_Q),
    _sfn_row("GetExecutionHistory", (400, 20), (400, 20), SFN_Q),
    _sfn_row("ListExecutions", (200, 5), (100, 2), SFN_Q),
    _sfn_row("StopExecution", (1000, 200), (500, 25), SFN_Q),
    _sfn_row("SendTaskSuccess", (3000, 500), (1500, 300), SFN_Q),
    _sfn_row("SendTaskFailure", (3000, 500), (1500, 300), SFN_Q),
    _sfn_row("SendTaskHeartbeat", (3000, 500), (1500, 300), SFN_Q),
    _sfn_row("GetActivityTask", (3000, 500), (1500, 300), SFN_Q),
    _sfn_row("DescribeStateMachine", (200, 20), (200, 20), SFN_Q),
    _sfn_row("DescribeStateMachineForExecution", (200, 1), (200, 1), SFN_Q),
    _sfn_row("ListStateMachines", (100, 5), (100, 5), SFN_Q),
    _sfn_row("CreateStateMachine", (100, 1), (100, 1), SFN_Q),
    _sfn_row("UpdateStateMachine", (100, 1), (100, 1), SFN_Q),
    _sfn_row("CreateActivity", (100, 1), (100, 1), SFN_Q_ARCHIVED),
    _sfn_row("DeleteActivity", (100, 1), (100, 1), SFN_Q_ARCHIVED),
    _sfn_row("DeleteStateMachine", (100, 1), (100, 1), SFN_Q_ARCHIVED),
    _sfn_row("DescribeActivity", (200, 1), (200, 1), SFN_Q_ARCHIVED),
    _sfn_row("ListActivities", (100, 10), (100, 5), SFN_Q_ARCHIVED),
    _sfn_row("ListTagsForResource", (100, 1), (100, 1), SFN_Q_ARCHIVED),
    _sfn_row("TagResource", (200, 1), (200, 1), SFN_Q_ARCHIVED),
    _sfn_row("UntagResource", (200, 1), (200, 1), SFN_Q_ARCHIVED),
)

# -- SNS ---------------------------------------------------------------------------------

_SNS_MID_REGIONS = (
    "us-east-2",
    "us-west-1",
    "ap-south-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-central-1",
)
# Each API of this row has its own quota in Service Quotas ("… transactions per second" per
# API), so each gets its own bucket. Regions the row lists in none of its tiers (AMBIGUOUS
# on the page, e.g. ca-west-1) get the lowest tier, 30: never kinder than AWS.
_SNS_RESOURCE_APIS = (
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
)
_SNS_HARD = {
    "Subscribe": 100,
    "Unsubscribe": 100,
    "ListSubscriptionsByTopic": 30,
    "ListSubscriptions": 30,
    "ListTopics": 30,
    "AddPermission": 10,
    "RemovePermission": 10,
    "ListTagsForResource": 10,
    "TagResource": 10,
    "UntagResource": 10,
}
SNS_PUBLISH = Quota(
    "sns",
    "Publish",
    frozenset({"Publish", "PublishBatch"}),  # a PublishBatch takes a token per message
    per_second(300),
    SNS_GR,
    "The messages per second quota is based on the number of messages published to an "
    "Amazon SNS region, per account, combining Publish and PublishBatch API requests "
    "including both standard and FIFO topic types: us-east-1 30,000; us-west-2, eu-west-1 "
    "9,000; us-east-2, us-west-1, ap-south-1, ap-northeast-2, ap-southeast-1, "
    "ap-southeast-2, ap-northeast-1, eu-central-1 1,500; All other supported Regions | 300 "
    "messages per second",
    regions=_regions(
        (("us-east-1",), per_second(30000)),
        (("us-west-2", "eu-west-1"), per_second(9000)),
        (_SNS_MID_REGIONS, per_second(1500)),
    ),
)
SNS = (
    SNS_PUBLISH,
    *(
        Quota(
            "sns",
            operation,
            frozenset({operation}),
            per_second(30),
            SNS_GR,
            "ConfirmSubscription, CreatePlatformApplication, CreatePlatformEndpoint, "
            "CreateTopic, DeleteEndpoint, DeletePlatformApplication, DeleteTopic, "
            "GetEndpointAttributes, GetDataProtectionPolicy, GetPlatformApplicationAttributes, "
            "GetSubscriptionAttributes, GetTopicAttributes, SetEndpointAttributes, "
            "SetPlatformApplicationAttributes, SetSubscriptionAttributes, SetTopicAttributes: "
            "us-east-1 3,000 TPS; us-west-2 and eu-west-1 900; us-east-2, us-west-1, "
            "ap-south-1, ap-northeast-2, ap-southeast-1, ap-southeast-2, ap-northeast-1, "
            "eu-central-1 150; af-south-1, ap-east-1, …, sa-east-1 30",
            regions=_regions(
                (("us-east-1",), per_second(3000)),
                (("us-west-2", "eu-west-1"), per_second(900)),
                (_SNS_MID_REGIONS, per_second(150)),
            ),
        )
        for operation in _SNS_RESOURCE_APIS
    ),
    *(
        Quota(
            "sns",
            operation,
            frozenset({operation}),
            per_second(rate),
            SNS_GR,
            f"The following quotas cannot be increased: {operation} | {rate} (transactions "
            "per second, every Region)",
        )
        for operation, rate in _SNS_HARD.items()
    ),
)

# -- EventBridge -------------------------------------------------------------------------

EVENTBRIDGE_DATA_PLANE = frozenset({"PutEvents", "PutPartnerEvents"})
EVENTBRIDGE = (
    Quota(
        "events",
        "PutEvents",
        frozenset({"PutEvents"}),
        per_second(400),
        EB_Q,
        "PutEvents throttle limit in transactions per second | us-east-1: 10,000 per second … "
        "eu-west-1: 10,000 per second … Each of the other supported Regions: 400 per second | "
        "Yes | Maximum number of requests per second for PutEvents API. Additional requests "
        "are throttled. (us-east-2, eu-central-1, eu-south-2: 2,400; us-west-1, "
        "ap-northeast-1, ap-southeast-1, ap-southeast-2, eu-west-2: 1,200; ap-east-1, "
        "ap-northeast-2, ap-south-1, ca-central-1, eu-north-1, eu-west-3, sa-east-1: 600; "
        "us-west-2: 10,000)",
        regions=_regions(
            (("us-east-1", "eu-west-1", "us-west-2"), per_second(10000)),
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
    # AMBIGUOUS on the page: whether 50/s is one bucket or one per API, and which APIs are
    # "control plane". Read strictly (never kinder): one bucket for every EventBridge API
    # but the two that put events.
    Quota(
        "events",
        "control plane",
        ANY_OTHER,
        per_second(50),
        EB_Q,
        "Throttle limit in transactions per second for control plane APIs | Each supported "
        "Region: 50 per second | No | Maximum number of requests per second for EventBridge "
        "control plane API operations. Additional requests are throttled.",
    ),
)

# -- STS; IAM documents no numbers -------------------------------------------------------

STS = (
    Quota(
        "sts",
        "credentials",
        frozenset(
            {
                "AssumeRole",
                "GetCallerIdentity",
                "GetSessionToken",
                "GetFederationToken",
                "DecodeAuthorizationMessage",
                "GetAccessKeyInfo",
            }
        ),
        per_second(600),
        IAM_Q,
        "600 requests per second per account per Region, shared by AssumeRole, "
        "GetCallerIdentity, GetSessionToken, GetFederationToken, DecodeAuthorizationMessage "
        "and GetAccessKeyInfo (paraphrase: the verbatim sentence was not retrieved)",
    ),
)

# -- CloudTrail: LookupEvents, the one API the local cloud's event history serves -----------

CLOUDTRAIL = (
    Quota(
        "cloudtrail",
        "LookupEvents",
        frozenset({"LookupEvents"}),
        per_second(2),
        CT_Q,
        "LookupEvents API | 2 transactions per second (TPS) | The maximum number of operation "
        "requests you can make per second without being throttled.",
    ),
)

# -- DynamoDB: the two control-plane rates AWS states --------------------------------------

DYNAMODB = (
    Quota(
        "dynamodb",
        "DescribeLimits",
        frozenset({"DescribeLimits"}),
        Rate(1 / 60, 1),
        DDB_Q,
        "DescribeLimits should be called only periodically. You can expect throttling errors "
        "if you call it more than once in a minute.",
        burst_documented=True,  # "more than once in a minute": one call, then one a minute
    ),
    Quota(
        "dynamodb",
        "DescribeTableReplicaAutoScaling",
        frozenset({"DescribeTableReplicaAutoScaling"}),
        per_second(10),
        DDB_Q,
        "DescribeTableReplicaAutoScaling method supports only 10 requests per second.",
    ),
)

QUOTAS: tuple[Quota, ...] = (
    *LOGS,
    *CLOUDWATCH,
    *LAMBDA,
    *STEPFUNCTIONS,
    *SNS,
    *EVENTBRIDGE,
    *STS,
    *CLOUDTRAIL,
    *DYNAMODB,
)

NO_QUOTA: tuple[NoQuota, ...] = (
    NoQuota(
        "lambda",
        LAMBDA_INVOCATIONS,
        "no requests-per-second quota: invocations are limited by concurrency (reserved "
        "concurrency is enforced by the Lambda runtime seam, lambda_runtime.py)",
        LAMBDA_Q,
        "Invocation requests per function per Region (synchronous) | Each instance of your "
        "execution environment can serve up to 10 requests per second. In other words, the "
        "total invocation limit is 10 times your concurrency limit.",
    ),
    NoQuota(
        "events",
        frozenset({"PutPartnerEvents"}),
        "data plane, not a control-plane API; its own quota was not retrieved",
    ),
    NoQuota(
        "iam",
        ANY_OTHER,
        "AWS publishes no IAM rates, only that a token bucket exists",
        IAM_BLOG,
        "IAM and AWS STS independently implement a token bucket algorithm for throttling, in "
        "which a bucket of virtual tokens is refilled every second. … The number of tokens "
        "that a bucket holds and the refill rate depends on the API.",
    ),
    NoQuota(
        "sts",
        ANY_OTHER,
        "outside the six credential APIs the STS quota names",
    ),
    NoQuota(
        "cloudformation",
        ANY_OTHER,
        "AWS publishes no CloudFormation API rates; the Knowledge Center only says that "
        "'Rate exceeded' happens when calls exceed the allowed maximum",
        KC_CFN,
    ),
    NoQuota(
        "dynamodb",
        ANY_OTHER,
        "control plane: a concurrency limit, not a rate ('up to 500 CreateTable, UpdateTable, "
        "and DeleteTable requests running simultaneously'); data plane: read and write "
        "capacity units per table (40,000 on demand), not requests, which this cloud serves "
        "far below",
        DDB_Q,
        "In general, you can have up to 500 CreateTable, UpdateTable, and DeleteTable "
        "requests running simultaneously in any combination.",
    ),
    NoQuota(
        "s3",
        ANY_OTHER,
        "a floor per partitioned prefix, not an account quota, and S3 adds prefixes as it scales",
        S3_PERF,
        "at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per second per "
        "partitioned Amazon S3 prefix. There are no limits to the number of prefixes in a "
        "bucket.",
    ),
    NoQuota(
        "sqs",
        ANY_OTHER,
        "standard queues: 'nearly unlimited'; no control-plane rate documented",
        SQS_STD,
        "Standard queues support a nearly unlimited number of API calls per second, per API "
        "action (SendMessage, ReceiveMessage, or DeleteMessage).",
    ),
    NoQuota(
        "apigateway",
        ANY_OTHER,
        "the account throttle (10,000 requests per second, bucket 5,000) is for invoking "
        "APIs, which this cloud does not serve; the control-plane table was not retrieved",
        APIGW_Q,
        "Throttle quota per account, per Region across HTTP APIs, REST APIs, WebSocket APIs, "
        "and WebSocket callback APIs | 10,000 requests per second (RPS) with an additional "
        "burst capacity provided by the token bucket algorithm, using a maximum bucket "
        "capacity of 5,000 requests.",
    ),
    NoQuota(
        "apigatewayv2",
        ANY_OTHER,
        "as apigateway: the control-plane table was not retrieved",
        APIGW_Q,
    ),
    NoQuota(
        "logs",
        ANY_OTHER,
        "the research read only the rows above of the CloudWatch Logs quotas page",
        CWL_Q,
    ),
    NoQuota(
        "cloudwatch",
        ANY_OTHER,
        "the research read only the rows above of the CloudWatch quotas page",
        CW_GR,
    ),
    NoQuota(
        "stepfunctions",
        ANY_OTHER,
        "not in the API throttling tables (versions, aliases, map runs, validation)",
        SFN_Q,
    ),
    NoQuota(
        "sns",
        ANY_OTHER,
        "not in the SNS quota table",
        SNS_GR,
    ),
    NoQuota(
        "cloudtrail",
        ANY_OTHER,
        "the trail APIs moto serves; the current quotas page no longer lists their rates "
        "(an archived copy gave 10 TPS for get, describe and list, 1 TPS for the rest)",
        CT_Q,
    ),
)


def quota_for(service: str, operation: str) -> Quota | None:
    """The bucket `operation` draws from, or None where nothing is enforced."""
    if (service, operation) in _UNLIMITED:
        return None
    return _LOOKUP.get((service, operation)) or _LOOKUP.get((service, "*"))


def _lookup() -> tuple[dict[tuple[str, str], Quota], set[tuple[str, str]]]:
    named: dict[tuple[str, str], Quota] = {}
    buckets = [(quota.service, quota.bucket) for quota in QUOTAS]
    if len(set(buckets)) != len(buckets):
        raise ValueError("two quotas of one service share a bucket name")
    for quota in QUOTAS:
        for operation in quota.operations:
            key = (quota.service, operation)
            if key in named:
                raise ValueError(f"{quota.service} {operation} is in two quotas")
            named[key] = quota
    unlimited = {(entry.service, operation) for entry in NO_QUOTA for operation in entry.operations}
    both = {key for key in unlimited if key in named}
    if both:
        raise ValueError(f"both enforced and not: {sorted(both)}")
    return named, unlimited


_LOOKUP, _UNLIMITED = _lookup()
