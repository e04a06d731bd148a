"""Published AWS prices (US East, N. Virginia) and the cost of one rollout.

Checked for this benchmark (see docs/benchmarks.md for the sources):
- Step Functions Standard: $0.025 per 1,000 state transitions
  (https://aws.amazon.com/step-functions/pricing/).
- Lambda: $0.20 per 1M requests; arm64 duration $0.0000133334 per GB-second in the first
  7.5 billion GB-s a month, billed per 1 ms, initialization code included
  (https://aws.amazon.com/lambda/pricing/).
Free tiers are left out: a rollout's marginal cost is what matters at scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

USD_PER_TRANSITION = 0.025 / 1000
USD_PER_REQUEST = 0.20 / 1_000_000
USD_PER_GB_SECOND_ARM64 = 0.0000133334


@dataclass(frozen=True)
class Cost:
    step_functions: float
    lambda_requests: float
    lambda_duration: float

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_requests + self.lambda_duration

    def as_dict(self) -> dict[str, float]:
        return {
            "stepFunctionsUsd": self.step_functions,
            "lambdaRequestsUsd": self.lambda_requests,
            "lambdaDurationUsd": self.lambda_duration,
            "totalUsd": self.total,
        }


def rollout_cost(transitions: int, durations_ms: Iterable[float], memory_mb: int) -> Cost:
    """One rollout: its transitions, plus each task invocation billed in whole milliseconds."""
    durations = list(durations_ms)
    billed_seconds = sum(math.ceil(ms) for ms in durations) / 1000
    return Cost(
        step_functions=transitions * USD_PER_TRANSITION,
        lambda_requests=len(durations) * USD_PER_REQUEST,
        lambda_duration=billed_seconds * memory_mb / 1024 * USD_PER_GB_SECOND_ARM64,
    )
