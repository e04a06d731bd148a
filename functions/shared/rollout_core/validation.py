"""Everything Prepare checks that needs no account: one entry point, for Prepare and the CLI.

`validate` parses the console input (request.py: keys, types, ranges, check payload sizes,
a release's entries), plans the strategy's steps with the time scale (strategies.py: step
count, total wait) and fits the bake and approval gates into one execution. Prepare calls it
first (plan.py), and `rollout start`, `release` and `plan` call it before they touch
anything, so the CLI refuses exactly what Prepare would, with Prepare's message.

What needs the account (the function, alias, versions, alarms, hooks) comes after, in
Prepare. So do the deployment's defaults: without them (the CLI) an input that names no
strategy has no schedule to check, and Prepare plans it with DefaultStrategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import eventbridge
from .errors import InvalidRolloutRequest
from .lifetime import approval_gates
from .models import ApprovalPolicy, StrategyRef
from .pipeline import spec as pipeline_spec
from .request import ApprovalSpec, ReleaseRequest, RolloutRequest, parse_request
from .strategies import plan_steps, scale

# The state machine's TimeoutSeconds (statemachine/rollout.asl.json) less two hours: a plan
# whose waits, bake and approval gates could outlast the execution is refused.
EXECUTION_TIMEOUT_SECONDS = 266400
MAX_PLANNED_SECONDS = EXECUTION_TIMEOUT_SECONDS - 7200


@dataclass(frozen=True)
class Defaults:
    """The deployment's defaults that shape the schedule (template parameters)."""

    strategy: str | None = None  # DefaultStrategy; None: unknown here (the CLI)
    approval: str = "none"  # DefaultApproval: "none", "before-promote" or "each-step"


OFFLINE = Defaults()


@dataclass(frozen=True)
class Schedule:
    """The timing planned from the input: the strategy's steps with their scaled waits,
    the scaled bake, and the approval gates that may hold it."""

    strategy: StrategyRef
    steps: list[dict[str, Any]]
    bake_seconds: int
    approval: ApprovalPolicy | None
    gates: int


@dataclass(frozen=True)
class ValidRequest:
    request: RolloutRequest | ReleaseRequest
    schedule: Schedule | None  # None: no strategy in the input and no default known


@dataclass(frozen=True)
class ValidPipeline:
    """A pipeline (rollout_core.pipeline): its own keys, and the rollout every target runs."""

    request: pipeline_spec.PipelineRequest
    rollout: ValidRequest
    rollout_document: dict[str, Any]


def validate_input(document: Any, defaults: Defaults = OFFLINE) -> ValidRequest | ValidPipeline:
    """The one entry point of Prepare and the CLI: a pipeline (`waves`), or a rollout."""
    if not pipeline_spec.is_pipeline(document):
        return validate(document, defaults)
    request = pipeline_spec.parse(document)
    _, rollout_document = pipeline_spec.split(document)
    return ValidPipeline(request, validate(rollout_document, defaults), rollout_document)


def validate(document: Any, defaults: Defaults = OFFLINE) -> ValidRequest:
    """The parsed request and its schedule; InvalidRolloutRequest with Prepare's message."""
    request = parse_request(document)
    return ValidRequest(request, plan_schedule(request, defaults))


# A traffic check may take up to its state's timeout (docs/workflow.md, "Timeouts").
TRAFFIC_CHECK_SECONDS = 900


def longest_seconds(schedule: Schedule) -> int:
    """The longest a rollout of this schedule can take: every wait, the bake, every gate
    held to its timeout, and both traffic checks to theirs."""
    waits = sum(step["waitSeconds"] for step in schedule.steps) + schedule.bake_seconds
    gates = schedule.gates * schedule.approval.timeoutSeconds if schedule.approval else 0
    return waits + gates + 2 * TRAFFIC_CHECK_SECONDS


def plan_schedule(
    request: RolloutRequest | ReleaseRequest, defaults: Defaults = OFFLINE
) -> Schedule | None:
    spec = request.strategy or defaults.strategy
    if spec is None:
        return None
    name, kind, steps = plan_steps(spec, request.timeScale)
    bake = round_half_up_seconds(request.bakeSeconds, request.timeScale)
    approval = _approval(request.approval, defaults.approval, request.timeScale)
    gates = approval_gates(approval, len(steps), bake)
    _fits_the_execution(steps, bake, approval, gates)
    return Schedule(StrategyRef(name=name, kind=kind), steps, bake, approval, gates)


def round_half_up_seconds(seconds: int, time_scale: float) -> int:
    return scale([seconds], time_scale)[0] if seconds else 0


def _approval(spec: ApprovalSpec | None, default: str, time_scale: float) -> ApprovalPolicy | None:
    """The input's gate, else the template's DefaultApproval; the timeout scales like waits."""
    if spec is None and default in eventbridge.APPROVAL_VALUES:
        spec = ApprovalSpec(before=eventbridge.approval_before(default))  # type: ignore[arg-type]
    if spec is None:
        return None
    timeout = max(1, round_half_up_seconds(spec.timeoutSeconds, time_scale))
    return ApprovalPolicy(before=spec.before, timeoutSeconds=timeout, onTimeout=spec.onTimeout)


def _fits_the_execution(
    steps: list[dict[str, Any]], bake: int, approval: ApprovalPolicy | None, gates: int
) -> None:
    if approval is None:
        return
    longest = sum(step["waitSeconds"] for step in steps) + bake + gates * approval.timeoutSeconds
    if longest > MAX_PLANNED_SECONDS:
        raise InvalidRolloutRequest(
            f"approval: {gates} gate(s) of up to {approval.timeoutSeconds} s on top of the "
            f"waits could take {longest} s; an execution may take at most "
            f"{MAX_PLANNED_SECONDS} s: shorten approval.timeoutSeconds or gate fewer steps"
        )
