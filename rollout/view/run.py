"""A model of one rollout execution, as every view reads it: what was planned, where it
stands, what each health check found, what operators did, and how it ended.

Its documents are the workflow's own typed contract (rollout_core.models, .results): the
plan, the progress, each check's result, the hold, each control, the rollback record.
history.py builds a Run from DescribeExecution and GetExecutionHistory (so the same
model serves AWS and the local cloud, the live terminal view and the HTML report);
fetch.py reads those from Step Functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rollout_core import clock
from rollout_core.errors import read_cause
from rollout_core.models import (
    ApprovalGate,
    CheckResult,
    ControlRecord,
    FunctionCheck,
    Hold,
    Inconclusive,
    NoSignal,
    Pause,
    Plan,
    Progress,
    Step,
)
from rollout_core.names import ErrorName, State
from rollout_core.results import RollbackRecord


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    NOOP = "noop"
    # noop, but no rollout put the version there and it has new code (traffic/moved.py)
    MOVED_WITHOUT_ROLLOUT = "moved without a rollout"
    DUPLICATE = "duplicate"  # another execution was already rolling this version out
    # the target was rolled back on the alias before; not rolled out again unasked
    PREVIOUSLY_ROLLED_BACK = "previously rolled back"
    DRY_RUN = "dry run"  # input dryRun: planned against the account, nothing touched
    PIPELINE = "pipeline"  # input with waves: handed to the pipeline state machine
    ROLLED_BACK = "rolled back"
    REJECTED = "rejected"
    FAILED = "failed"
    ABORTED = "aborted"
    TIMED_OUT = "timed out"

    @property
    def finished(self) -> bool:
        return self is not Outcome.RUNNING

    @property
    def good(self) -> bool:
        return self in (
            Outcome.SUCCEEDED,
            Outcome.SKIPPED,
            Outcome.NOOP,
            Outcome.DUPLICATE,
            Outcome.DRY_RUN,
            Outcome.PIPELINE,
        )


@dataclass(frozen=True)
class Event:
    """One history event worth showing: a state entered or exited, a failure, the end."""

    at: datetime
    type: str  # the GetExecutionHistory event type, e.g. "TaskStateEntered"
    state: str | None  # None for execution-level events
    error: str | None = None
    cause: str | None = None

    @property
    def entered(self) -> bool:
        return self.type.endswith("StateEntered")

    @property
    def exited(self) -> bool:
        return self.type.endswith("StateExited")


class VisitStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CAUGHT = "caught"  # failed, and a Catch moved the run on to another state
    FAILED = "failed"  # the run ended here in failure (a Fail state, or an uncaught error)


@dataclass
class StateVisit:
    """One pass through a state: from StateEntered to StateExited (or the run's end)."""

    name: str
    type: str  # the ASL state type, from the event type ("Task", "Choice", "Wait", ...)
    entered_at: datetime
    input: str | None = None  # the state's input document as Step Functions recorded it
    output: str | None = None
    exited_at: datetime | None = None
    status: VisitStatus = VisitStatus.RUNNING
    error: str | None = None
    cause: str | None = None
    retries: int = 0
    check: CheckResult | None = None  # the failing check (HealthCheckFailed's details)

    def close(self, at: datetime, output: str | None = None) -> None:
        self.exited_at, self.output = at, output if output is not None else self.output
        # An error still standing when the state is left was caught (a retry clears it).
        self.status = VisitStatus.CAUGHT if self.error else VisitStatus.SUCCEEDED


@dataclass(frozen=True)
class WeightPoint:
    at: datetime
    weight: float  # share of traffic on the new version, 0..1
    state: str
    step: int | None = None  # 1-based step a shift started (a finished run's lines say so)


@dataclass(frozen=True)
class RolledAlias:
    """One function:alias the run rolls out: a member of the plan, or before Prepare ran
    an entry of the input."""

    function: str  # the short name
    alias: str
    stable_version: str | None = None
    target_version: str | None = None

    @property
    def name(self) -> str:
        return f"{self.function}:{self.alias}"


@dataclass
class Run:
    execution_arn: str
    name: str
    state_machine_arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED (DescribeExecution)
    started_at: datetime
    stopped_at: datetime | None
    input: dict[str, Any]  # as the user gave it: it may be anything the request refused
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    plan: Plan | None = None  # Prepare's `$.plan`
    progress: Progress | None = None  # the latest `$.progress`
    events: list[Event] = field(default_factory=list)
    weights: list[WeightPoint] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)  # that passed (progress.lastCheck)
    outcome: Outcome = Outcome.RUNNING
    failed_checks: list[CheckResult] = field(default_factory=list)  # their errors' details
    state_machine_name: str | None = None
    state_names: list[str] = field(default_factory=list)
    wait_started_at: datetime | None = None  # the Wait state we are in, if any
    wait_progress: Progress | None = None  # progress as that Wait state saw it
    definition: dict[str, Any] | None = None  # the ASL this execution ran (when fetched)
    visits: list[StateVisit] = field(default_factory=list)  # oldest first
    # Each control the workflow acted on (progress.lastControl), and the one that ended the
    # run (RolloutAborted's or ApprovalTimedOut's details), oldest first.
    operator_actions: list[ControlRecord] = field(default_factory=list)
    # `$.rollback`: what Roll back restored (a release: each alias). When Roll back fails,
    # its Catch goes on with `$.failure` and this stays None (rollout/view/release.py).
    rollback: RollbackRecord | None = None
    # Checks each step was extended by for an inconclusive verdict (progress.extensions), by
    # step index (the bake's is the number of steps).
    extensions: dict[int, int] = field(default_factory=dict)

    # -- who and what ----------------------------------------------------------------

    @property
    def function(self) -> str | None:
        name = _planned(self, "functionName") or _eventbridge_function(self.input)
        return short_function_name(name) if name else None

    @property
    def alias(self) -> str | None:
        return _planned(self, "alias")

    @property
    def is_release(self) -> bool:
        """Several functions rolled out together (`functions` in the input or the plan)."""
        return bool(self.plan and self.plan.functions) or isinstance(
            self.input.get("functions"), list
        )

    @property
    def members(self) -> list[RolledAlias]:
        """A release's functions: the plan's members once Prepare ran (entries already live
        are left out), before that (or when Prepare refused it) the input's entries, with the
        target versions they name; [] for a single rollout."""
        if self.plan is not None and self.plan.functions:
            return [
                RolledAlias(
                    short_function_name(m.functionName), m.alias, m.stableVersion, m.targetVersion
                )
                for m in self.plan.functions
            ]
        entries = self.input.get("functions")
        if self.plan is None and isinstance(entries, list):
            return [
                RolledAlias(
                    short_function_name(str(e.get("functionName", "?"))),
                    str(e.get("alias")),
                    target_version=_text(e.get("targetVersion")),
                )
                for e in entries
                if isinstance(e, dict)
            ]
        return []

    @property
    def function_names(self) -> list[str]:
        """Every function the run rolls out (short names): what `status --function` matches."""
        if self.is_release:
            return [member.function for member in self.members]
        return [self.function] if self.function else []

    @property
    def title(self) -> str:
        """`orders:live`, or `release of 3 functions` — what a view's heading names."""
        if self.is_release:
            count = len(self.function_names)
            return f"release of {count} function{'s' if count != 1 else ''}"
        return f"{self.function or '?'}:{self.alias or '?'}"

    @property
    def stable_version(self) -> str | None:
        return self.plan.stableVersion if self.plan else None

    @property
    def target_version(self) -> str | None:
        return _planned(self, "targetVersion")

    @property
    def strategy(self) -> str | None:
        if self.plan is not None and self.plan.strategy is not None:
            return self.plan.strategy.name
        strategy = self.input.get("strategy")
        if isinstance(strategy, dict):
            return strategy.get("name") or strategy.get("type") or "custom"
        return None if strategy is None else str(strategy)

    @property
    def steps(self) -> list[Step]:
        return list(self.plan.steps) if self.plan else []

    @property
    def action(self) -> str | None:
        return self.plan.action if self.plan else None

    # -- operator controls -------------------------------------------------------------

    @property
    def hold(self) -> Hold | None:
        """While running: the pause or approval gate holding the weight, if any."""
        if self.outcome.finished or self.progress is None:
            return None
        return self.progress.hold

    @property
    def held(self) -> str | None:
        """ "paused" or "awaiting approval" while the rollout holds its weight."""
        hold = self.hold
        if hold is None:
            return None
        return "awaiting approval" if isinstance(hold, ApprovalGate) else "paused"

    def hold_line(self, now: datetime) -> str | None:
        """What people must know about a hold: who paused, or how to answer and by when."""
        hold = self.hold
        if hold is None:
            return None
        if isinstance(hold, Pause):
            return f"paused by {hold.by} (resume, promote or abort it)"
        if isinstance(hold, NoSignal):
            return (
                f"held: no health signal read in {hold.checks} checks (resume, promote or abort it)"
            )
        if isinstance(hold, Inconclusive):
            why = f": {'; '.join(hold.why)}" if hold.why else ""
            return (
                f"held: inconclusive after {hold.extensions} extension(s){why} "
                "(resume, promote or abort it)"
            )
        return (
            f"awaiting approval before {hold.before} "
            f"(approve with: {hold.approve}; reject with: {hold.reject}) — {self.gate_left(now)}"
        )

    def gate_left(self, now: datetime) -> str | None:
        """At an approval gate: how long is left, and what happens then."""
        gate = self.hold
        if not isinstance(gate, ApprovalGate):
            return None
        left = max(int((gate.deadline - now).total_seconds()), 0)
        return f"{left // 60}m{left % 60:02d}s left, then {gate.onTimeout}"

    # -- where it is -----------------------------------------------------------------

    @property
    def current_state(self) -> str | None:
        """The state entered last (while running: the one it is in)."""
        entered = [e.state for e in self.events if e.entered]
        return entered[-1] if entered else None

    @property
    def shifted(self) -> bool:
        return any(w.state == State.SHIFT_TRAFFIC for w in self.weights)

    @property
    def promoted(self) -> bool:
        return any(w.state == State.PROMOTE for w in self.weights)

    @property
    def step_count(self) -> int:
        return (self.progress.stepCount if self.progress else 0) or len(self.steps)

    @property
    def step_number(self) -> int:
        """1-based step the rollout is on; 0 before the first shift."""
        if not self.shifted:
            return 0
        if self.promoted:
            return self.step_count
        return (self.progress.stepIndex if self.progress else 0) + 1

    @property
    def weight(self) -> float:
        """Share of the alias's traffic on the new version now (as far as the history says)."""
        return self.weights[-1].weight if self.weights else 0.0

    @property
    def failed_check_visits(self) -> list[StateVisit]:
        """The health checks that raised HealthCheckFailed, one per failed task: the
        history also repeats the error on TaskFailed and on the run's end."""
        return [
            v for v in self.visits if v.error == ErrorName.HEALTH_CHECK_FAILED and v.type == "Task"
        ]

    @property
    def last_check(self) -> CheckResult | None:
        return self.checks[-1] if self.checks else None

    @property
    def latest_judgement(self) -> CheckResult | None:
        """The latest check, passed or failed (a failed one's numbers came as data)."""
        judged = [*self.checks, *self.failed_checks]
        return max(judged, key=lambda c: c.at or self.started_at) if judged else None

    @property
    def next_check_at(self) -> datetime | None:
        if self.wait_started_at is None or self.wait_progress is None:
            return None
        return self.wait_started_at + timedelta(seconds=self.wait_progress.nextWaitSeconds)

    @property
    def next_step_at(self) -> datetime | None:
        """When the current step's (or the bake's) wait is over, while running."""
        if self.outcome.finished:
            return None
        waiting = self.wait_progress
        if self.wait_started_at is not None and waiting is not None:
            left = waiting.stepWaitSeconds - waiting.waitedSeconds
            return self.wait_started_at + timedelta(seconds=max(left, 0))
        if self.progress is None or not self.progress.stepStartedAt:
            return None
        started = clock.parse(self.progress.stepStartedAt)
        return started + timedelta(seconds=self.progress.stepWaitSeconds)

    def seconds_to_next_step(self, now: datetime) -> float | None:
        at = self.next_step_at
        return None if at is None else max((at - now).total_seconds(), 0.0)

    # -- how it ended ----------------------------------------------------------------

    @property
    def reason(self) -> str:
        """One line for people: why it ended the way it did (or what it is doing)."""
        if self.is_release and self.outcome in (Outcome.SUCCEEDED, Outcome.DRY_RUN):
            return self._release_reason()
        if self.outcome is Outcome.SUCCEEDED:
            return f"version {self.target_version} is live on {self.function}:{self.alias}"
        if self.outcome is Outcome.DRY_RUN:
            where = f"{self.function}:{self.alias}"
            return f"dry run: version {self.target_version} planned on {where}; nothing touched"
        if self.outcome in (
            Outcome.SKIPPED,
            Outcome.NOOP,
            Outcome.DUPLICATE,
            Outcome.MOVED_WITHOUT_ROLLOUT,
            Outcome.PREVIOUSLY_ROLLED_BACK,
            Outcome.PIPELINE,
        ):
            return (self.plan.reason if self.plan else None) or self.outcome.value
        if self.outcome is Outcome.RUNNING:
            if self.held:
                return self.hold_line(datetime.now(UTC)) or self.held
            return f"in {self.current_state}" if self.current_state else "starting"
        head = f"{self.error}: " if self.error else ""
        return head + (cause_summary(self.cause) or self.outcome.value)

    def _release_reason(self) -> str:
        versions = ", ".join(f"{m.name} v{m.target_version}" for m in self.members)
        if self.outcome is Outcome.DRY_RUN:
            return f"dry run: {self.title} planned ({versions}); nothing touched"
        return f"every alias of the release runs its new version: {versions}"

    @property
    def duration(self) -> timedelta | None:
        return None if self.stopped_at is None else self.stopped_at - self.started_at


# -- small helpers ------------------------------------------------------------------------


class CheckVerdict(StrEnum):
    """What a health check said, as every view names it."""

    HEALTHY = "healthy"
    LOW_TRAFFIC = "low traffic"  # passed, on fewer invocations than minInvocations
    NO_EVIDENCE = "no evidence"  # passed, but the new version served nothing to judge
    UNHEALTHY = "unhealthy"


def check_verdict(check: CheckResult | FunctionCheck) -> CheckVerdict:
    """A passed check whose new version served no invocation is "no evidence", and one whose
    new version served fewer than minInvocations "low traffic", never "healthy"
    (health/evidence.py); a release's by its thinnest row (its top-level evidence is only
    the first function's)."""
    if not check.healthy:
        return CheckVerdict.UNHEALTHY
    rows = check.functions if isinstance(check, CheckResult) and check.functions else [check]
    found = {row.evidence for row in rows}
    if "none" in found:
        return CheckVerdict.NO_EVIDENCE
    return CheckVerdict.LOW_TRAFFIC if "low" in found else CheckVerdict.HEALTHY


def cause_summary(cause: str | None) -> str:
    """The first line people need: a Lambda error's `errorMessage` rather than its JSON with
    the stack trace (and the details after it); otherwise the cause's first line."""
    return read_cause(cause)[0]


def short_function_name(name: str) -> str:
    """`orders` from a name, an ARN, or a qualified ARN."""
    if ":function:" in name:
        return name.split(":function:", 1)[1].split(":", 1)[0]
    return name


def _planned(run: Run, key: str) -> str | None:
    """A name or version from the plan once Prepare ran, before that from the input."""
    value = getattr(run.plan, key, None) if run.plan else None
    value = value or run.input.get(key)
    return None if value is None else str(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _eventbridge_function(doc: dict[str, Any]) -> str | None:
    detail = doc.get("detail")
    if not isinstance(detail, dict):
        return None
    name = (detail.get("requestParameters") or {}).get("functionName")
    return None if name is None else str(name)
