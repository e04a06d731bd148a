"""AWS clients, created on first use so moto and the local cloud can intercept them.

They are botocore's low-level clients, the very objects boto3.client() returns, made from
botocore's Session: importing boto3 also imports s3transfer (with multiprocessing), and
its Session sets up resources we never use: ~40 ms more from the import to the first two
clients of a cold start.

Standard retry mode with several attempts: throttling on UpdateAlias is retried with
backoff inside the Lambda instead of failing the state.

A health check's reads are different (`within`): they must end inside the task's own
timeout (rollout_core.deadline), so their client gets as many attempts and as long
timeouts as fit in the time left, and no more: a read that still doesn't make it is a
note of the check, not a task that times out and rolls a healthy version back.

Synchronous Invoke of a check or hook is different (`invoker`): botocore's 60 s read
timeout would cut off a function that runs longer, and the standard mode would then send
the same request again, running the function's side effects once per attempt. The
invoker waits as long as asked and never resends; `invoke.py` retries only what never
reached the function.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import Session, get_session

from .deadline import OutOfTime

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
CONNECT_TIMEOUT_SECONDS = 10


@cache
def _session() -> Session:
    # one session: it caches the service models, so each new client is cheap
    return get_session()


@dataclass(frozen=True)
class Bounds:
    """A bounded client's attempts and timeouts. Its worst case: every attempt connecting
    and reading for the whole timeouts, plus standard mode's throttling backoff between
    attempts (random, at most 1 s, 2 s, … : `rand * min(2**i, 20)`)."""

    attempts: int
    connect_seconds: float
    read_seconds: float

    @property
    def worst_seconds(self) -> float:
        backoff = sum(min(2**i, 20) for i in range(self.attempts - 1))
        return self.attempts * (self.connect_seconds + self.read_seconds) + backoff

    def config(self) -> Config:
        return Config(
            connect_timeout=self.connect_seconds,
            read_timeout=self.read_seconds,
            retries={"mode": "standard", "total_max_attempts": self.attempts},
        )


# A few tiers (each is one cached client per service), longest first.
TIERS = (Bounds(3, 2, 5), Bounds(2, 2, 3), Bounds(1, 1, 3), Bounds(1, 1, 1))


def bounds_for(seconds: float) -> Bounds | None:
    """The most patient tier whose worst case fits in `seconds`; None: none does."""
    return next((tier for tier in TIERS if tier.worst_seconds <= seconds), None)


_creating = threading.RLock()  # a session is not thread-safe; clients are


@cache
def client(service: str) -> Any:
    with _creating:
        return _session().create_client(service, config=_CONFIG)


_bounded: dict[tuple[str, Bounds], Any] = {}


def within(service: str, seconds: float) -> Any:
    """A client whose every call, retries included, ends within `seconds`; OutOfTime when
    even one short attempt doesn't fit. One client per service and tier."""
    bounds = bounds_for(seconds)
    if bounds is None:
        raise OutOfTime(f"{seconds:.1f} s left")
    with _creating:
        if (service, bounds) not in _bounded:
            _bounded[(service, bounds)] = _session().create_client(service, config=bounds.config())
        return _bounded[(service, bounds)]


def partition_of(region: str) -> str:
    """The partition ("aws", "aws-cn", …) Region `region` belongs to."""
    return _session().get_partition_for_region(region)


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
    with _creating:
        return _session().create_client("lambda", config=config)


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
    _bounded.clear()
    _invoker.cache_clear()
    _session.cache_clear()
