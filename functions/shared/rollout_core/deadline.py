"""Reads that end in time: a deadline inside the task's own timeout, and what a read that
didn't make it says.

A health check that outlives its Lambda's timeout fails with "Task timed out", which
names nothing and rolls a healthy version back. So every read a check makes runs against
a Deadline taken from the Lambda context (`get_remaining_time_in_millis`, less RESERVE
for what must still happen after the reads: the control channel, the answer), through a
client bounded to the time left (clients.within: few attempts, short timeouts). A read
that is throttled, too slow, or has no time left is not an error of the check: `unread`
turns it into one line naming the signal, the API and the error, and the check judges
what it did read (rollout_core.blind holds a rollout that reads nothing for a while).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

RESERVE_SECONDS = 5.0  # kept back for the control channel and the task's answer
CHECK_SECONDS = 25.0  # one check's reads, when no Lambda context says (Check health: 30 s)
# What botocore's standard retry mode counts as throttling (botocore/retries/standard.py,
# ThrottledRetryableChecker), so the note says "throttled" exactly when AWS throttled.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)


class OutOfTime(Exception):
    """No time left for a read before the deadline."""


class NotCalled(Exception):
    """A read not made: its budget, shared by the account's rollouts, was spent."""


class Deadline:
    """A moment `seconds` from now, read on a monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._at = clock() + seconds

    @classmethod
    def of(cls, context: Any, reserve: float = RESERVE_SECONDS) -> Deadline:
        """The Lambda's own time left, less `reserve`."""
        return cls(context.get_remaining_time_in_millis() / 1000 - reserve)

    def remaining(self) -> float:
        return max(0.0, self._at - self._clock())

    def require(self, seconds: float) -> float:
        """The time left, or OutOfTime when it is less than `seconds`."""
        left = self.remaining()
        if left < seconds:
            raise OutOfTime(f"{left:.1f} s left")
        return left


def throttled(error: Exception) -> bool:
    return isinstance(error, ClientError) and error.response["Error"]["Code"] in THROTTLING


def missed(error: Exception) -> bool:
    """A read that did not make it in time: throttled, too slow, no time left. (Anything
    else, AccessDenied say, is the deployment's problem and raised as it is.)"""
    return throttled(error) or isinstance(
        error, OutOfTime | NotCalled | ReadTimeoutError | ConnectionError
    )


# The exceptions a bounded read can end with; `missed` tells which of them are a note.
READ_ERRORS = (ClientError, BotoCoreError, OutOfTime, NotCalled)


def unread(signal: str, api: str, error: Exception) -> str:
    """`logs: FilterLogEvents throttled (ThrottlingException)`: what was not read, and why."""
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        what = "throttled" if code in THROTTLING else "failed"
        return f"{signal}: {api} {what} ({code})"
    if isinstance(error, OutOfTime):
        return f"{signal}: {api} not called (the task's time was up: {error})"
    if isinstance(error, NotCalled):
        return f"{signal}: {api} not called ({error})"
    return f"{signal}: {api} not answered in time ({type(error).__name__})"


def not_judged(line: str) -> str:
    return f"{line}; not judged this check"
