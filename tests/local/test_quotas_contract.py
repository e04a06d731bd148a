"""The quotas seam's contracts: each service's throttling error as botocore reads it, and the
moto internals the seam relies on (rollout/local/quotas.py, moto_server.py, throttling.py).

For each service a bucket is emptied in process (the cloud's quota clock stopped, so nothing
refills), then one call goes over HTTP: botocore must report the service's own error code
and HTTP status, and its standard retry mode must both retry it and classify it as
throttling (`ThrottlingErrorDetector`, what decides the longer throttling backoff).
"""

from __future__ import annotations

import inspect
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryEventAdapter, ThrottlingErrorDetector
from moto.backends import list_of_moto_modules
from moto.core.responses import BaseResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.stepfunctions.parser.asl.utils import boto_client

from rollout.local.cloud import ACCOUNT_ID, LOCAL_ENV, LocalCloud
from rollout.local.moto_server import Dispatcher
from rollout.local.quotas import Call, Quotas
from rollout.local.throttling import Protocol

REGION = "us-east-1"


class StoppedClock:
    """A quota clock that moves only when told: an emptied bucket stays empty."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def stopped(isolated_cloud: Any) -> Any:
    with isolated_cloud(seams=[]) as cloud:
        cloud.quotas.clock = StoppedClock()
        yield cloud


def empty_bucket(quotas: Quotas, service: str, operation: str) -> None:
    call = Call(ACCOUNT_ID, REGION, service, operation, Protocol.JSON)
    for _ in range(100_000):
        if not quotas.admit(call):
            return
    raise AssertionError(f"{service} {operation} never ran out")


def throttled_call(client: Any, method: str, **kwargs: Any) -> tuple[dict[str, Any], list[bool]]:
    """Call once (two attempts, standard mode); returns the error response and, per
    attempt, whether standard mode's detector called it throttling."""
    detector = ThrottlingErrorDetector(RetryEventAdapter())
    verdicts: list[bool] = []
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(
        f"needs-retry.{service_id}",
        lambda **event: verdicts.append(detector.is_throttling_error(**event)) or None,
    )
    with pytest.raises(ClientError) as raised:
        getattr(client, method)(**kwargs)
    return raised.value.response, verdicts


def two_attempts() -> dict[str, Any]:
    return {"retries": {"mode": "standard", "total_max_attempts": 2}}


# (service, operation on the wire, boto3 method, kwargs, error code, HTTP status)
CASES = [
    ("logs", "FilterLogEvents", "filter_log_events", {"logGroupName": "g"}, "ThrottlingException",
     400),
    ("cloudwatch", "DescribeAlarms", "describe_alarms", {}, "Throttling", 400),
    ("lambda", "ListFunctions", "list_functions", {}, "TooManyRequestsException", 429),
    ("stepfunctions", "ListStateMachines", "list_state_machines", {}, "ThrottlingException", 400),
    ("events", "ListRules", "list_rules", {}, "ThrottlingException", 400),
    ("sns", "ListTopics", "list_topics", {}, "Throttling", 400),
    ("sts", "GetCallerIdentity", "get_caller_identity", {}, "Throttling", 400),
    ("dynamodb", "DescribeLimits", "describe_limits", {}, "ThrottlingException", 400),
    ("cloudtrail", "LookupEvents", "lookup_events", {}, "ThrottlingException", 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("service", "operation", "method", "kwargs", "code", "status"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_botocore_reads_each_services_own_throttling_error(
    stopped: LocalCloud,
    service: str,
    operation: str,
    method: str,
    kwargs: dict[str, Any],
    code: str,
    status: int,
) -> None:
    empty_bucket(stopped.quotas, service, operation)
    response, verdicts = throttled_call(stopped.client(service, **two_attempts()), method, **kwargs)
    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"] == "Rate exceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["RetryAttempts"] == 1  # standard mode retried it
    assert verdicts and all(verdicts)  # … as throttling


def test_lambda_says_which_limit_the_caller_exceeded(stopped: LocalCloud) -> None:
    empty_bucket(stopped.quotas, "lambda", "GetAlias")
    response, _ = throttled_call(
        stopped.client("lambda", **two_attempts()), "get_alias", FunctionName="f", Name="live"
    )
    assert response["Reason"] == "CallerRateLimitExceeded"
    assert response["Type"] == "User"
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "TooManyRequestsException"


def test_cloudwatch_json_requests_get_the_query_code_in_a_header(stopped: LocalCloud) -> None:
    empty_bucket(stopped.quotas, "cloudwatch", "GetMetricData")
    response, _ = throttled_call(
        stopped.client("cloudwatch", **two_attempts()),
        "get_metric_data",
        MetricDataQueries=[],
        StartTime=0,
        EndTime=60,
    )
    assert response["Error"]["QueryErrorCode"] == "Throttling"
    assert response["Error"]["Type"] == "Sender"
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-query-error"] == "Throttling;Sender"
    assert headers["content-type"] == "application/x-amz-json-1.0"


def test_cloudwatch_query_requests_get_query_xml(stopped: LocalCloud) -> None:
    """An SDK that sends CloudWatch's query protocol (older SDKs do) gets XML it parses."""
    session = botocore.session.Session()
    # this session's loader caches the model it returns: a query-only copy of CloudWatch's
    model = session.get_component("data_loader").load_service_model("cloudwatch", "service-2")
    model["metadata"].update(protocols=["query"], protocol="query")
    client = session.create_client(
        "cloudwatch",
        endpoint_url=stopped.endpoint,
        region_name=REGION,
        aws_access_key_id=LOCAL_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(**two_attempts()),
    )
    assert client.meta.service_model.resolved_protocol == "query"
    empty_bucket(stopped.quotas, "cloudwatch", "ListMetrics")
    response, verdicts = throttled_call(client, "list_metrics")
    assert (response["Error"]["Code"], response["Error"]["Type"]) == ("Throttling", "Sender")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/xml"
    assert verdicts and all(verdicts)


def test_a_throttled_request_never_reaches_moto(stopped: LocalCloud) -> None:
    sns = stopped.client("sns", retries={"mode": "standard", "total_max_attempts": 1})
    empty_bucket(stopped.quotas, "sns", "CreateTopic")
    with pytest.raises(ClientError):
        sns.create_topic(Name="never-created")
    stopped.quotas.clock.now += 1  # a second later: tokens again
    assert not any(
        topic["TopicArn"].endswith(":never-created") for topic in sns.list_topics()["Topics"]
    )


# -- moto internals --------------------------------------------------------------------


def test_moto_still_builds_its_server_the_way_moto_server_py_does() -> None:
    source = inspect.getsource(ThreadedMotoServer._server_entry)
    assert "DomainDispatcherApplication(create_backend_app)" in source
    assert "make_server(" in source and "request_handler=MotoRequestHandler" in source


def test_the_dispatcher_finds_the_backend_moto_finds_for_every_host() -> None:
    """moto_server.Dispatcher answers a module's name from a set read once: moto still answers
    such a host by listing its package, and both find the same backend for any host."""
    source = inspect.getsource(DomainDispatcherApplication.get_backend_for_host)
    assert "host in backends.list_of_moto_modules()" in source
    assert set(list_of_moto_modules()) == Dispatcher.MODULES
    ours, motos = Dispatcher(create_backend_app), DomainDispatcherApplication(create_backend_app)
    hosts = ["lambda", "states", "logs", "moto_api", "no-such", None, "sqs.us-east-1.amazonaws.com"]
    assert [ours.get_backend_for_host(h) for h in hosts] == [
        motos.get_backend_for_host(h) for h in hosts
    ]


def test_moto_still_resolves_accounts_and_regions_as_the_seam_reads_them() -> None:
    assert list(inspect.signature(BaseResponse.get_current_account).parameters) == ["self"]
    assert list(inspect.signature(BaseResponse.get_region_from_url).parameters) == [
        "self",
        "request",
        "full_url",
    ]
    account = inspect.getsource(BaseResponse.get_current_account)
    order = [account.index(s) for s in ("MOTO_ACCOUNT_ID", "x-moto-account-id", "get_access_key")]
    assert order == sorted(order)
    access_key = inspect.getsource(BaseResponse.get_access_key)
    assert "self.headers" in access_key and "self.querystring" in access_key
    region = inspect.getsource(BaseResponse.get_region_from_url)
    assert "request.headers" in region and "self.default_region" in region


def test_moto_interpreter_still_calls_over_http_with_key_ak() -> None:
    """Its calls reach the middleware, in the default account (no IAM knows key "ak")."""
    source = inspect.getsource(boto_client.boto_client_for)
    assert 'aws_access_key_id="ak"' in source
    assert "moto_server_port()" in source
