"""Synchronous invokes of a check or hook: wait as long as the function may run, send once.

A pre- or post-traffic hook may run up to its own timeout (Lambda allows 15 minutes) and
may have side effects (a smoke test that writes data), so:

- the read timeout is the invoked function's own timeout (GetFunctionConfiguration; 15
  minutes when it can't be read) plus a margin for a cold start and the way back, capped
  by the time the calling task has left;
- the request is sent again only when it cannot have reached the function: the
  connection was never made (EndpointConnectionError, ConnectTimeoutError) or Lambda
  refused it with TooManyRequestsException (throttled: nothing ran). A read timeout, a
  dropped connection or a 5xx may come after the function started, so they end the
  check instead of running the function twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from . import clients

LAMBDA_MAX_TIMEOUT_SECONDS = 900  # Lambda's longest function timeout
MARGIN_SECONDS = 30  # init (up to 10 s) and the response's way back, on top of the timeout
RESERVE_SECONDS = 10  # what the calling task keeps to report the result before its own end
ATTEMPTS = 4  # sends of a request that never reached the function
NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
THROTTLED = frozenset({"TooManyRequestsException"})  # Lambda ran nothing


class InvokeFailed(Exception):
    """The invoke got no answer; the message says why and that it was not sent again."""


@dataclass(frozen=True)
class Waiting:
    """How long an invoke of `function` waits for its answer."""

    function_timeout: float
    read_timeout: float

    @property
    def capped(self) -> bool:
        return self.read_timeout < self.function_timeout + MARGIN_SECONDS


def function_timeout(function: str, qualifier: str | None) -> float:
    """The invoked function's own timeout; Lambda's maximum when it can't be read."""
    args = {"FunctionName": function} | ({"Qualifier": qualifier} if qualifier else {})
    try:
        found = clients.lambda_().get_function_configuration(**args)
    except (ClientError, BotoCoreError):
        return float(LAMBDA_MAX_TIMEOUT_SECONDS)
    return float(found.get("Timeout") or LAMBDA_MAX_TIMEOUT_SECONDS)


def waiting(function: str, qualifier: str | None, time_left: float | None) -> Waiting:
    """The function's timeout + MARGIN_SECONDS, within `time_left` less RESERVE_SECONDS."""
    timeout = function_timeout(function, qualifier)
    read = timeout + MARGIN_SECONDS
    if time_left is not None:
        read = max(min(read, time_left - RESERVE_SECONDS), 1.0)
    return Waiting(timeout, read)


def call(args: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
    """Invoke(**args) sent once, or again only when it never reached the function.

    Raises InvokeFailed when no answer came, and ClientError for Lambda's other refusals.
    """
    qualifier = args.get("Qualifier")
    wait = waiting(args["FunctionName"], qualifier, time_left() if time_left else None)
    client = clients.invoker(wait.read_timeout)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return dict(client.invoke(**args))
        except NOT_SENT as error:
            if attempt == ATTEMPTS:
                raise InvokeFailed(f"could not reach Lambda ({error})") from None
        except ClientError as error:
            if error.response["Error"]["Code"] not in THROTTLED or attempt == ATTEMPTS:
                raise
        except ReadTimeoutError:
            limit = (
                "the time this check had left"
                if wait.capped
                else f"its timeout of {wait.function_timeout:g} s"
            )
            raise InvokeFailed(
                f"no answer within {wait.read_timeout:g} s ({limit}); not invoked again"
            ) from None
        except BotoCoreError as error:  # the connection dropped: it may have run
            raise InvokeFailed(f"{error}; not invoked again") from None
        backoff(attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def backoff(attempt: int) -> None:
    """Full jitter, at most 2, 4, 8 s."""
    time.sleep(random.uniform(0, min(2.0**attempt, 8.0)))
