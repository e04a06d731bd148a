"""boto3 clients, created on first use so moto and the local cloud can intercept them.

Standard retry mode with several attempts: throttling on GetMetricData or UpdateAlias is
retried with backoff inside the Lambda instead of failing the state.

Synchronous Invoke of a check or hook is different (`invoker`): botocore's 60 s read
timeout would cut off a function that runs longer, and the standard mode would then send
the same request again, running the function's side effects once per attempt. The
invoker waits as long as asked and never resends; `invoke.py` retries only what never
reached the function.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
CONNECT_TIMEOUT_SECONDS = 10


@cache
def _session() -> boto3.session.Session:
    # one session: it caches the service models, so each new client is cheap
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    return _session().client(service, config=_CONFIG)


def lambda_() -> Any:
    return client("lambda")


def invoker(read_timeout: float) -> Any:
    """A Lambda client for synchronous Invoke: waits `read_timeout` seconds for the answer,
    sends each request once (botocore retries nothing), keeps the idle connection alive."""
    return _invoker(round(read_timeout, 1))


@cache
def _invoker(read_timeout: float) -> Any:
    config = Config(
        read_timeout=read_timeout,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
        tcp_keepalive=True,
    )
    return _session().client("lambda", config=config)


def cloudwatch() -> Any:
    return client("cloudwatch")


def logs() -> Any:
    return client("logs")


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
    _invoker.cache_clear()
    _session.cache_clear()
