"""How many Step Functions reads the console allows itself, whatever the number of pages open.

Step Functions throttles its APIs with token buckets per account and Region
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Quotas related to
API action throttling"): the smallest Regions refill ListExecutions at 2/s (bucket 100),
DescribeExecution at 10/s (250), GetExecutionHistory at 20/s (400) and
DescribeStateMachineForExecution at 1/s (200). The workflow, the CLI and people's own tools
draw on the same buckets, so the console keeps to a share of each refill with a bucket of
its own, and a read that finds it empty waits for the next round instead of being sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    burst: float
    per_second: float


# A quarter of the smallest Region's refill for the list and the definition, 40 % for the
# per-execution reads that keep open pages live.
RATES: dict[str, Rate] = {
    "ListExecutions": Rate(burst=3, per_second=0.5),
    "DescribeExecution": Rate(burst=40, per_second=4),
    "GetExecutionHistory": Rate(burst=60, per_second=8),
    "DescribeStateMachineForExecution": Rate(burst=10, per_second=0.25),
}


class Budget:
    """One token bucket per API (RATES): `take(api)` spends a token if there is one."""

    def __init__(
        self,
        rates: dict[str, Rate] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rates = rates or RATES
        self._clock = clock
        self._tokens = {api: rate.burst for api, rate in self._rates.items()}
        self._at = {api: clock() for api in self._rates}
        self._lock = threading.Lock()

    def take(self, api: str) -> bool:
        rate = self._rates[api]
        with self._lock:
            now = self._clock()
            tokens = self._tokens[api] + (now - self._at[api]) * rate.per_second
            self._at[api] = now
            self._tokens[api] = min(tokens, rate.burst)
            if self._tokens[api] < 1:
                return False
            self._tokens[api] -= 1
            return True


class OutOfBudget(Exception):
    """The console's share of an API is spent for now; the read is tried next round."""
