"""The canary judge's memory check: the new version's memory used, as Lambda reports it per
invocation (Max Memory Used), against the memory it is configured with (Memory Size).

An invocation that needs more than the configured memory is ended by Lambda, an error the
errors checks judge. Before that, memory used near the limit is flagged: `marginal` when
the new version's p99 reaches NEAR_LIMIT_PERCENT of its memory size, never a failure (the
stable version's use is shown beside it). No samples with memory: inconclusive, shown only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..telemetry.reports import Sample
from .latency import spread
from .verdict import Verdict

NEAR_LIMIT_PERCENT = 90.0


def judge(new: tuple[str, Sequence[Sample]], stable: tuple[str, Sequence[Sample]]) -> Verdict:
    (new_version, new_samples), (stable_version, stable_samples) = new, stable
    used = _used(new_samples)
    sizes = [s.memory_size_mb for s in new_samples if s.memory_size_mb]
    base: dict[str, Any] = {
        "check": "memory",
        "new": spread(new_version, used),
        "stable": spread(stable_version, _used(stable_samples)),
        "tolerance": f"p99 below {NEAR_LIMIT_PERCENT:g}% of the memory size",
    }
    if not used or not sizes:
        why = f"memory: no memory readings of version {new_version} yet"
        return Verdict.model_validate({**base, "outcome": "inconclusive", "why": why})
    limit = min(sizes)
    p99 = base["new"].p99
    share = 100 * p99 / limit
    stable_p99 = base["stable"].p99
    numbers = (
        f"p99 {p99:g} of {limit:g} MB ({share:.0f}%), median {base['new'].median:g} MB; "
        f"version {stable_version} p99 {'?' if stable_p99 is None else f'{stable_p99:g}'} MB"
    )
    if share >= NEAR_LIMIT_PERCENT:
        why = f"memory: version {new_version} uses memory near its limit: {numbers}"
        return Verdict.model_validate({**base, "outcome": "marginal", "why": why})
    why = f"memory: version {new_version} well within its memory: {numbers}"
    return Verdict.model_validate({**base, "outcome": "pass", "why": why})


def _used(samples: Sequence[Sample]) -> list[float]:
    return [s.max_memory_mb for s in samples if s.max_memory_mb is not None]
