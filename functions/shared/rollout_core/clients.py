"""boto3 clients, created on first use so moto and the local cloud can intercept them.

Standard retry mode with several attempts: throttling on GetMetricData or UpdateAlias is
retried with backoff inside the Lambda instead of failing the state.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})


@cache
def _session() -> boto3.session.Session:
    # one session: it caches the service models, so each new client is cheap
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    return _session().client(service, config=_CONFIG)


def lambda_() -> Any:
    return client("lambda")


def cloudwatch() -> Any:
    return client("cloudwatch")


def dynamodb() -> Any:
    return client("dynamodb")


def sns() -> Any:
    return client("sns")


def events() -> Any:
    return client("events")


def sts() -> Any:
    return client("sts")


def stepfunctions() -> Any:
    return client("stepfunctions")


def reset() -> None:
    """Forget cached clients and session (tests switch regions and mocks between cases)."""
    client.cache_clear()
    _session.cache_clear()
