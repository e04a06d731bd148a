"""Strategies → the plan's weighted steps.

Presets copy CodeDeploy's predefined configs: Canary10PercentNMinutes = 10 %, wait N
minutes, 100 %; Linear10PercentEveryNMinutes = 10 %, 20 % … 90 % each followed by an
N-minute wait, then 100 %; AllAtOnce = no weighted step. A step is "shift to this
percentage, then wait this long while checking health"; 100 % is the promotion.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from .errors import InvalidRolloutRequest

MAX_TOTAL_WAIT_SECONDS = 2880 * 60  # CodeDeploy's limit between first and last shift
MAX_STEPS = 100
_CANARY_MINUTES = (5, 10, 15, 30)
_LINEAR_MINUTES = (1, 2, 3, 10)

PRESETS: dict[str, list[tuple[float, int]]] = {
    "AllAtOnce": [],
    **{f"Canary10Percent{m}Minutes": [(10, m * 60)] for m in _CANARY_MINUTES},
    **{
        f"Linear10PercentEvery{m}Minute{'s' if m > 1 else ''}": [
            (p, m * 60) for p in range(10, 100, 10)
        ]
        for m in _LINEAR_MINUTES
    },
}


def _round(percentage: float) -> float:
    """Percentages carry two decimals, so distinct steps always have distinct weights."""
    return round(percentage, 2)


# 0.01 %: the smallest share worth routing; rounding keeps it in range.
Percentage = Annotated[float, Field(ge=0.01, le=99.99), AfterValidator(_round)]
Increment = Annotated[float, Field(ge=0.01, le=99), AfterValidator(_round)]  # CodeDeploy: ≤ 99 %


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CanarySpec(_Strict):
    type: Literal["canary"]
    percentage: Increment
    intervalSeconds: int = Field(ge=1, le=MAX_TOTAL_WAIT_SECONDS)


class LinearSpec(_Strict):
    type: Literal["linear"]
    percentage: Increment
    intervalSeconds: int = Field(ge=1, le=MAX_TOTAL_WAIT_SECONDS)


class ExponentialSpec(_Strict):
    type: Literal["exponential"]
    startPercentage: Percentage
    factor: float = Field(ge=1.1, le=100)
    intervalSeconds: int = Field(ge=1, le=MAX_TOTAL_WAIT_SECONDS)


class StepSpec(_Strict):
    percentage: Percentage
    waitSeconds: int = Field(ge=0, le=MAX_TOTAL_WAIT_SECONDS)


class StepsSpec(_Strict):
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _increasing(self) -> StepsSpec:
        percentages = [step.percentage for step in self.steps]
        if any(b <= a for a, b in pairwise(percentages)):
            # compared after rounding to two decimals
            raise ValueError("step percentages must strictly increase")
        return self


def _kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "preset"
    if isinstance(value, dict):
        return "steps" if "steps" in value else value.get("type")
    return None


def _known_preset(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    return name


StrategySpec = Annotated[
    Annotated[str, AfterValidator(_known_preset), Tag("preset")]
    | Annotated[CanarySpec, Tag("canary")]
    | Annotated[LinearSpec, Tag("linear")]
    | Annotated[ExponentialSpec, Tag("exponential")]
    | Annotated[StepsSpec, Tag("steps")],
    Discriminator(
        _kind,
        custom_error_type="strategy",
        custom_error_message=(
            'a preset name, {"type": "canary" | "linear" | "exponential", ...} or {"steps": [...]}'
        ),
    ),
]


def raw_steps(spec: str | BaseModel) -> tuple[str, str, list[tuple[float, int]]]:
    """(name, kind, [(percentage, unscaled wait)]) for a validated strategy."""
    if isinstance(spec, str):
        return _preset(spec)
    if isinstance(spec, CanarySpec):
        return (
            f"Canary{_fmt(spec.percentage)}Percent{spec.intervalSeconds}Seconds",
            "canary",
            [(spec.percentage, spec.intervalSeconds)],
        )
    if isinstance(spec, LinearSpec):
        count = int(-(-100 // spec.percentage)) - 1  # shifts below 100 %
        steps = [(_round(spec.percentage * i), spec.intervalSeconds) for i in range(1, count + 1)]
        name = f"Linear{_fmt(spec.percentage)}PercentEvery{spec.intervalSeconds}Seconds"
        return name, "linear", [s for s in steps if s[0] < 100]
    if isinstance(spec, ExponentialSpec):
        return _exponential(spec)
    assert isinstance(spec, StepsSpec)
    return "Steps", "steps", [(s.percentage, s.waitSeconds) for s in spec.steps]


def _preset(name: str) -> tuple[str, str, list[tuple[float, int]]]:
    try:
        _known_preset(name)  # DEFAULT_STRATEGY comes from the environment, not the model
    except ValueError as error:
        raise InvalidRolloutRequest(f"strategy: {error}") from None
    kind = "all_at_once" if name == "AllAtOnce" else name[:6].lower()
    return name, kind, list(PRESETS[name])


def _exponential(spec: ExponentialSpec) -> tuple[str, str, list[tuple[float, int]]]:
    steps: list[tuple[float, int]] = []
    percentage = spec.startPercentage
    while _round(percentage) < 100:
        rounded = _round(percentage)
        if not steps or rounded > steps[-1][0]:  # rounding can repeat a small value
            steps.append((rounded, spec.intervalSeconds))
        percentage *= spec.factor
    name = (
        f"Exponential{_fmt(spec.startPercentage)}PercentTimes{_fmt(spec.factor)}"
        f"Every{spec.intervalSeconds}Seconds"
    )
    return name, "exponential", steps


def _fmt(number: float) -> str:
    return f"{number:g}"


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def scale(waits: list[int], time_scale: float) -> list[int]:
    """Scale waits rounding the cumulative schedule (half up), so rounding never drifts:
    the scaled waits add up to round(sum(waits) * timeScale)."""
    factor = Decimal(repr(time_scale))  # the number as written, so 0.1 is exactly 0.1
    scaled: list[int] = []
    elapsed = 0
    previous = 0
    for wait in waits:
        elapsed += wait
        boundary = round_half_up(elapsed * factor)
        scaled.append(boundary - previous)
        previous = boundary
    return scaled


def plan_steps(spec: str | BaseModel, time_scale: float) -> tuple[str, str, list[dict[str, Any]]]:
    """(name, kind, steps) with the plan's step shape; waits scaled by `time_scale`."""
    name, kind, raw = raw_steps(spec)
    if len(raw) > MAX_STEPS:
        raise InvalidRolloutRequest(f"strategy: {len(raw)} steps; at most {MAX_STEPS}")
    total = sum(wait for _, wait in raw)
    if total > MAX_TOTAL_WAIT_SECONDS:
        raise InvalidRolloutRequest(
            f"strategy: waits add up to {total} s; at most {MAX_TOTAL_WAIT_SECONDS} s (2,880 min)"
        )
    waits = scale([wait for _, wait in raw], time_scale)
    steps = [
        {"percentage": _number(p), "weight": round(p / 100, 6), "waitSeconds": w}
        for (p, _), w in zip(raw, waits, strict=True)
    ]
    return name, kind, steps


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
