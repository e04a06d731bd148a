"""A model of one rollout execution, built only from what Step Functions returns.

Inputs are DescribeExecution, DescribeStateMachineForExecution and GetExecutionHistory,
so the same model serves AWS and the local cloud, the live terminal view and the HTML
report. State names, `$.plan` and `$.progress` follow docs/workflow.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

# State names from the workflow contract (docs/workflow.md).
PREPARE = "Prepare"
SHIFT_TRAFFIC = "Shift traffic"
WAIT_STATES = ("Wait for next check", "Wait during bake")
CHECK_STATES = ("Check health", "Check bake health")
PROMOTE = "Promote"
ROLL_BACK = "Roll back"
ROLLED_BACK_END = "Rolled back"
REJECTED_END = "Request rejected"
HEALTH_FAILED = "HealthCheckFailed"
# A HealthCheckFailed errorMessage: the human line, then the failing check as JSON
# (`{"lastCheck": {...}}`, docs/workflow.md "Errors and Fail states").
FAILED_CHECK_KEY = "lastCheck"

HOLD_STATES = ("Wait for operator", "Wait for operator during bake")
# Errors with which an operator's control (or an unanswered approval gate) ended a run.
OPERATOR_ERRORS = frozenset({"RolloutAborted", "ApprovalTimedOut"})

# Prepare's named errors: the request was refused before anything was touched.
REJECTION_ERRORS = frozenset({"InvalidRolloutRequest", "RolloutInProgress", "AlarmsAlreadyFiring"})
TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    NOOP = "noop"
    DUPLICATE = "duplicate"  # another execution was already rolling this version out
    DRY_RUN = "dry run"  # input dryRun: planned against the account, nothing touched
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
        )


@dataclass(frozen=True)
class Step:
    percentage: float
    weight: float
    wait_seconds: int


@dataclass(frozen=True)
class VersionMetrics:
    version: str
    invocations: int
    errors: int
    error_rate_percent: float


@dataclass(frozen=True)
class LogsSignal:
    """What the logs signal read in a check (`lastCheck.logs`): the versions' own log
    streams, counted apart from the metrics; `failures` are kept in `errors`."""

    enabled: bool
    new: VersionMetrics | None = None
    stable: VersionMetrics | None = None


@dataclass(frozen=True)
class FunctionCheck:
    """One function's part of a release's health check (`lastCheck.functions[]`): each
    new version is judged against its own stable version, with its own signals."""

    function: str
    alias: str
    healthy: bool
    reasons: tuple[str, ...]
    new: VersionMetrics | None
    stable: VersionMetrics | None
    logs: LogsSignal | None


@dataclass(frozen=True)
class HealthCheck:
    at: datetime | None
    healthy: bool
    alarms: dict[str, str]
    new: VersionMetrics | None
    stable: VersionMetrics | None
    notes: list[str]
    logs: LogsSignal | None = None
    functions: tuple[FunctionCheck, ...] = ()  # a release's: one per function
    # Where the rollout stood when checked; not part of equality, because every later
    # state repeats lastCheck under a progress that has moved on.
    percentage: float | None = field(default=None, compare=False)
    phase: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OperatorAction:
    """A control the workflow acted on (`progress.lastControl`), or one that ended the run."""

    at: datetime
    action: str  # abort, promote, promote-full, pause, resume, approve, reject, approval-timeout
    reason: str
    by: str
    state: str | None
    result: str  # "applied", "ignored: …", or the Error it ended the run with


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
    check: HealthCheck | None = None  # the failing check's numbers (HealthCheckFailed)

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


@dataclass
class Run:
    execution_arn: str
    name: str
    state_machine_arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED (DescribeExecution)
    started_at: datetime
    stopped_at: datetime | None
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    plan: dict[str, Any] | None
    progress: dict[str, Any] | None
    events: list[Event]
    weights: list[WeightPoint]
    checks: list[HealthCheck]  # the checks that passed (each progress.lastCheck)
    outcome: Outcome
    failed_checks: list[HealthCheck] = field(default_factory=list)  # from their errors
    state_machine_name: str | None = None
    state_names: list[str] = field(default_factory=list)
    wait_started_at: datetime | None = None  # the Wait state we are in, if any
    wait_progress: dict[str, Any] | None = None  # progress as that Wait state saw it
    definition: dict[str, Any] | None = None  # the ASL this execution ran (when fetched)
    visits: list[StateVisit] = field(default_factory=list)  # oldest first
    operator_actions: list[OperatorAction] = field(default_factory=list)  # oldest first
    # `$.rollback`: what Roll back restored (a release: each alias), or its Catch's
    # {Error, Cause} when it failed (rollout/view/release.py reads it).
    rollback: dict[str, Any] | None = None

    # -- who and what ----------------------------------------------------------------

    @property
    def function(self) -> str | None:
        name = _plan_or_input(self, "functionName") or _eventbridge_function(self.input)
        return short_function_name(name) if name else None

    @property
    def alias(self) -> str | None:
        return _plan_or_input(self, "alias")

    @property
    def is_release(self) -> bool:
        """Several functions rolled out together (`functions` in the input or the plan)."""
        return bool(self.members) or isinstance(self.input.get("functions"), list)

    @property
    def members(self) -> list[dict[str, Any]]:
        """A release's functions: the plan's members once Prepare ran (entries already live
        are left out), before that the input's entries; [] for a single rollout."""
        planned = (self.plan or {}).get("functions")
        if isinstance(planned, list) and planned:
            return [m for m in planned if isinstance(m, dict)]
        if self.plan is None and isinstance(self.input.get("functions"), list):
            return [m for m in self.input["functions"] if isinstance(m, dict)]
        return []

    @property
    def function_names(self) -> list[str]:
        """Every function the run rolls out (short names): what `status --function` matches."""
        if self.is_release:
            entries = self.members or self.input.get("functions") or []
            return [short_function_name(str(e.get("functionName", "?"))) for e in entries]
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
        return _str_or_none((self.plan or {}).get("stableVersion"))

    @property
    def target_version(self) -> str | None:
        return _plan_or_input(self, "targetVersion")

    @property
    def strategy(self) -> str | None:
        strategy = (self.plan or {}).get("strategy") or self.input.get("strategy")
        if isinstance(strategy, dict):
            return strategy.get("name") or strategy.get("type") or "custom"
        return _str_or_none(strategy)

    @property
    def steps(self) -> list[Step]:
        return [
            Step(
                float(s.get("percentage", 0)),
                float(s.get("weight", 0)),
                int(s.get("waitSeconds", 0)),
            )
            for s in (self.plan or {}).get("steps", [])
        ]

    @property
    def action(self) -> str | None:
        return (self.plan or {}).get("action")

    # -- operator controls -------------------------------------------------------------

    @property
    def hold(self) -> dict[str, Any] | None:
        """While running: the pause or approval gate holding the weight, if any."""
        if self.outcome.finished:
            return None
        hold = (self.progress or {}).get("hold")
        return hold if isinstance(hold, dict) else None

    @property
    def held(self) -> str | None:
        """ "paused" or "awaiting approval" while the rollout holds its weight."""
        hold = self.hold
        if hold is None:
            return None
        return "paused" if hold.get("kind") == "pause" else "awaiting approval"

    def hold_line(self, now: datetime) -> str | None:
        """What people must know about a hold: who paused, or how to answer and by when."""
        hold = self.hold
        if hold is None:
            return None
        if hold.get("kind") == "pause":
            return f"paused by {hold.get('by', '?')} (resume, promote or abort it)"
        line = (
            f"awaiting approval before {hold.get('before', 'promote')} "
            f"(approve with: {hold.get('approve')}; reject with: {hold.get('reject')})"
        )
        deadline = _parse_time(hold.get("deadline"))
        if deadline is not None:
            left = max(int((deadline - now).total_seconds()), 0)
            line += f" — {left // 60}m{left % 60:02d}s left, then {hold.get('onTimeout')}"
        return line

    # -- where it is -----------------------------------------------------------------

    @property
    def current_state(self) -> str | None:
        """The state entered last (while running: the one it is in)."""
        entered = [e.state for e in self.events if e.entered]
        return entered[-1] if entered else None

    @property
    def shifted(self) -> bool:
        return any(w.state == SHIFT_TRAFFIC for w in self.weights)

    @property
    def promoted(self) -> bool:
        return any(w.state == PROMOTE for w in self.weights)

    @property
    def step_count(self) -> int:
        return int((self.progress or {}).get("stepCount") or len(self.steps))

    @property
    def step_number(self) -> int:
        """1-based step the rollout is on; 0 before the first shift."""
        if not self.shifted:
            return 0
        if self.promoted:
            return self.step_count
        return int((self.progress or {}).get("stepIndex", 0)) + 1

    @property
    def weight(self) -> float:
        """Share of the alias's traffic on the new version now (as far as the history says)."""
        return self.weights[-1].weight if self.weights else 0.0

    @property
    def failed_check_visits(self) -> list[StateVisit]:
        """The health checks that raised HealthCheckFailed, one per failed task: the
        history also repeats the error on TaskFailed and on the run's end."""
        return [v for v in self.visits if v.error == HEALTH_FAILED and v.type == "Task"]

    @property
    def last_check(self) -> HealthCheck | None:
        return self.checks[-1] if self.checks else None

    @property
    def next_check_at(self) -> datetime | None:
        if self.wait_started_at is None or self.wait_progress is None:
            return None
        return self.wait_started_at + timedelta(
            seconds=float(self.wait_progress.get("nextWaitSeconds", 0))
        )

    @property
    def next_step_at(self) -> datetime | None:
        """When the current step's (or the bake's) wait is over, while running."""
        if self.outcome.finished:
            return None
        if self.wait_started_at is not None and self.wait_progress is not None:
            left = float(self.wait_progress.get("stepWaitSeconds", 0)) - float(
                self.wait_progress.get("waitedSeconds", 0)
            )
            return self.wait_started_at + timedelta(seconds=max(left, 0.0))
        progress = self.progress or {}
        started = _parse_time(progress.get("stepStartedAt"))
        if started is None or "stepWaitSeconds" not in progress:
            return None
        return started + timedelta(seconds=float(progress["stepWaitSeconds"]))

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
        if self.outcome in (Outcome.SKIPPED, Outcome.NOOP, Outcome.DUPLICATE):
            return str((self.plan or {}).get("reason") or self.outcome.value)
        if self.outcome is Outcome.RUNNING:
            if self.held:
                return self.hold_line(datetime.now(UTC)) or self.held
            return f"in {self.current_state}" if self.current_state else "starting"
        head = f"{self.error}: " if self.error else ""
        return head + (cause_summary(self.cause) or self.outcome.value)

    def _release_reason(self) -> str:
        versions = ", ".join(
            f"{short_function_name(str(m.get('functionName')))}:{m.get('alias')} "
            f"v{m.get('targetVersion')}"
            for m in self.members
        )
        if self.outcome is Outcome.DRY_RUN:
            return f"dry run: {self.title} planned ({versions}); nothing touched"
        return f"every alias of the release runs its new version: {versions}"

    @property
    def duration(self) -> timedelta | None:
        return None if self.stopped_at is None else self.stopped_at - self.started_at


# -- building -------------------------------------------------------------------------


def build_run(
    describe: dict[str, Any],
    history: list[dict[str, Any]],
    machine: dict[str, Any] | None = None,
) -> Run:
    """The model from DescribeExecution, GetExecutionHistory events (oldest first) and,
    optionally, DescribeStateMachineForExecution."""
    started = _utc(describe["startDate"])
    run = Run(
        execution_arn=describe["executionArn"],
        name=describe.get("name") or describe["executionArn"].rsplit(":", 1)[-1],
        state_machine_arn=describe.get("stateMachineArn", ""),
        status=describe["status"],
        started_at=started,
        stopped_at=_utc(describe["stopDate"]) if describe.get("stopDate") else None,
        input=_json_object(describe.get("input")) or {},
        output=_json_object(describe.get("output")),
        error=describe.get("error"),
        cause=describe.get("cause"),
        plan=None,
        progress=None,
        events=[],
        weights=[],
        checks=[],
        outcome=Outcome.RUNNING,
    )
    if machine:
        run.state_machine_name = machine.get("name")
        run.definition = _json_object(machine.get("definition"))
        run.state_names = list((run.definition or {}).get("States", {}))
    for raw in sorted(history, key=lambda e: e.get("id", 0)):
        _apply(run, raw)
    _apply_document(run, run.output, run.stopped_at or started, None)
    run.outcome = _outcome(run)
    _record_ending_control(run)
    return run


def _apply(run: Run, raw: dict[str, Any]) -> None:
    kind, at = raw["type"], _utc(raw["timestamp"])
    _track_visit(run, kind, at, raw)
    if kind.endswith("StateEntered"):
        details = raw.get("stateEnteredEventDetails", {})
        name = details.get("name", "")
        run.events.append(Event(at, kind, name))
        _track_wait(run, kind, name, at, _json_object(details.get("input")))
    elif kind.endswith("StateExited"):
        details = raw.get("stateExitedEventDetails", {})
        name = details.get("name", "")
        run.events.append(Event(at, kind, name))
        run.wait_started_at = run.wait_progress = None
        _apply_document(run, _json_object(details.get("output")), at, name)
    elif kind.endswith("Failed") or kind.endswith("TimedOut") or kind == "ExecutionAborted":
        details = next((v for k, v in raw.items() if k.endswith("EventDetails")), {}) or {}
        run.events.append(Event(at, kind, None, details.get("error"), details.get("cause")))
        if kind.startswith("Execution"):
            run.error = run.error or details.get("error")
            run.cause = run.cause or details.get("cause")
    elif kind in TERMINAL_EVENTS or kind == "ExecutionStarted":
        run.events.append(Event(at, kind, None))


def _track_visit(run: Run, kind: str, at: datetime, raw: dict[str, Any]) -> None:
    """Keep `run.visits`: what happened in each state, for the report's graph and timeline."""
    visit = run.visits[-1] if run.visits and run.visits[-1].exited_at is None else None
    details = next((v for k, v in raw.items() if k.endswith("EventDetails")), None) or {}
    if kind.endswith("StateEntered"):
        if visit is not None:  # AWS may move on after a caught error without StateExited
            visit.close(at)
        run.visits.append(
            StateVisit(
                details.get("name", ""),
                kind.removesuffix("StateEntered"),
                at,
                input=details.get("input"),
            )
        )
    elif visit is None:
        return
    elif kind.endswith("StateExited"):
        visit.close(at, details.get("output"))
    elif kind.startswith("Execution"):
        if kind != "ExecutionSucceeded":  # the run ended in this state: Fail, or uncaught
            visit.error = visit.error or details.get("error") or kind.removeprefix("Execution")
            visit.cause = visit.cause or details.get("cause")
            visit.exited_at, visit.status = at, VisitStatus.FAILED
        else:
            visit.close(at)
    elif kind.endswith("Scheduled") and visit.error:  # a Retry: the earlier error is history
        visit.retries, visit.error, visit.cause = visit.retries + 1, None, None
    elif kind.endswith(("Failed", "TimedOut")):
        visit.error, visit.cause = details.get("error") or kind, details.get("cause")
        if visit.error == HEALTH_FAILED:
            visit.check = failed_check(visit.cause, _json_object(visit.input))
            if visit.check is not None and visit.check not in run.failed_checks:
                run.failed_checks.append(visit.check)


def _track_wait(run: Run, kind: str, name: str, at: datetime, doc: dict[str, Any] | None) -> None:
    if kind == "WaitStateEntered" and name in WAIT_STATES and doc:
        run.wait_started_at, run.wait_progress = at, doc.get("progress")
    else:
        run.wait_started_at = run.wait_progress = None


def _apply_document(run: Run, doc: dict[str, Any] | None, at: datetime, state: str | None) -> None:
    """Pick up the plan, progress, checks and weight from a state's output document."""
    if not doc:
        return
    if isinstance(doc.get("plan"), dict):
        run.plan = doc["plan"]
    progress = doc.get("progress")
    if isinstance(progress, dict):
        run.progress = progress
        _record_check(run, progress)
        _record_control(run, progress.get("lastControl"))
    if isinstance(doc.get("rollback"), dict):
        run.rollback = doc["rollback"]
    if "failure" in doc and state in (SHIFT_TRAFFIC, PROMOTE):
        return  # the task failed and was caught: the alias did not move
    if state == SHIFT_TRAFFIC and isinstance(progress, dict) and "weight" in progress:
        step = int(progress.get("stepIndex", 0)) + 1
        _record_weight(run, at, float(progress["weight"]), state, step)
    elif state == PROMOTE:
        _record_weight(run, at, 1.0, state)
    elif state == ROLL_BACK and _restored(doc.get("rollback")):
        _record_weight(run, at, 0.0, state)


def _restored(rollback: Any) -> bool:
    """Roll back's result restored the alias. (When Roll back fails, its Catch goes on with
    `$.failure` and this is never written; older definitions wrote {Error, Cause} here.)"""
    return isinstance(rollback, dict) and "Error" not in rollback and rollback.get("restored", True)


def _record_weight(
    run: Run, at: datetime, weight: float, state: str, step: int | None = None
) -> None:
    if not run.weights:
        run.weights.append(WeightPoint(run.started_at, 0.0, "start"))
    run.weights.append(WeightPoint(at, weight, state, step))


def _record_check(run: Run, progress: dict[str, Any]) -> None:
    raw = progress.get("lastCheck")
    if not isinstance(raw, dict):
        return
    check = _check(
        raw,
        bool(raw.get("healthy", False)),
        [str(n) for n in raw.get("notes") or []],
        _float_or_none(progress.get("percentage")),
        _str_or_none(progress.get("phase")),
    )
    if not run.checks or run.checks[-1] != check:  # every later state repeats lastCheck
        run.checks.append(check)


def failed_check(cause: str | None, state_input: dict[str, Any] | None) -> HealthCheck | None:
    """The numbers of a check that raised HealthCheckFailed, from the JSON its message
    carries after the human line; None when the message has none (older runs)."""
    error = _json_object(cause)
    message = str(error.get("errorMessage", "")) if error else ""
    _, _, rest = message.partition("\n")
    raw = (_json_object(rest.strip()) or {}).get(FAILED_CHECK_KEY)
    if not isinstance(raw, dict):
        return None
    progress = (state_input or {}).get("progress") or {}
    return _check(
        raw,
        False,
        [str(n) for n in [*(raw.get("reasons") or []), *(raw.get("notes") or [])]],
        _float_or_none(raw.get("percentage", progress.get("percentage"))),
        _str_or_none(raw.get("phase", progress.get("phase"))),
    )


def _check(
    raw: dict[str, Any],
    healthy: bool,
    notes: list[str],
    percentage: float | None,
    phase: str | None,
) -> HealthCheck:
    """A check shaped like `progress.lastCheck` (or the data a failed one raised with)."""
    return HealthCheck(
        at=_parse_time(raw.get("at")),
        healthy=healthy,
        alarms={str(k): str(v) for k, v in (raw.get("alarms") or {}).items()},
        new=_metrics(raw.get("newVersion")),
        stable=_metrics(raw.get("stableVersion")),
        notes=notes,
        logs=_logs(raw.get("logs")),
        functions=tuple(
            _function_check(f) for f in raw.get("functions") or [] if isinstance(f, dict)
        ),
        percentage=percentage,
        phase=phase,
    )


def _function_check(raw: dict[str, Any]) -> FunctionCheck:
    return FunctionCheck(
        function=short_function_name(str(raw.get("functionName", "?"))),
        alias=str(raw.get("alias", "?")),
        healthy=bool(raw.get("healthy", False)),
        reasons=tuple(str(r) for r in raw.get("reasons") or []),
        new=_metrics(raw.get("newVersion")),
        stable=_metrics(raw.get("stableVersion")),
        logs=_logs(raw.get("logs")),
    )


def _logs(raw: Any) -> LogsSignal | None:
    """The logs signal counts `failures` where the metrics count `errors`."""
    if not isinstance(raw, dict):
        return None
    counts = [
        _metrics({**found, "errors": found.get("failures")}) if isinstance(found, dict) else None
        for found in (raw.get("newVersion"), raw.get("stableVersion"))
    ]
    return LogsSignal(bool(raw.get("enabled", True)), *counts)


def _record_control(run: Run, raw: Any) -> None:
    """Every later state repeats lastControl: one action per distinct control (`at`)."""
    if not isinstance(raw, dict):
        return
    at = _parse_time(raw.get("appliedAt")) or _parse_time(raw.get("at")) or run.started_at
    action = OperatorAction(
        at=at,
        action=str(raw.get("action", "?")),
        reason=str(raw.get("reason", "")),
        by=str(raw.get("by", "?")),
        state=_str_or_none(raw.get("state")),
        result=str(raw.get("result", "applied")),
    )
    if not any(a.action == action.action and a.at == action.at for a in run.operator_actions):
        run.operator_actions.append(action)


def _record_ending_control(run: Run) -> None:
    """abort, reject or an unanswered gate end the run: their Cause carries who and why."""
    if run.error not in OPERATOR_ERRORS or not run.cause:
        return
    failed = next(
        (v for v in reversed(run.visits) if v.error in OPERATOR_ERRORS), None
    )  # the task that acted on it
    message = cause_summary(failed.cause if failed and failed.cause else run.cause)
    action = "approval-timeout" if run.error == "ApprovalTimedOut" else "abort"
    if "Rejected at the approval gate" in message:
        action = "reject"
    by = message.split(" by ", 1)[1].split(": ", 1)[0] if " by " in message else "the workflow"
    if action == "approval-timeout":
        by = "the workflow"
    run.operator_actions.append(
        OperatorAction(
            at=(failed.exited_at if failed and failed.exited_at else run.stopped_at)
            or run.started_at,
            action=action,
            reason=message,
            by=by,
            state=failed.name if failed else None,
            result=str(run.error),
        )
    )


def _metrics(raw: Any) -> VersionMetrics | None:
    if not isinstance(raw, dict):
        return None
    return VersionMetrics(
        version=str(raw.get("version", "?")),
        invocations=int(raw.get("invocations") or 0),
        errors=int(raw.get("errors") or 0),
        error_rate_percent=float(raw.get("errorRatePercent") or 0.0),
    )


def _outcome(run: Run) -> Outcome:
    final = run.current_state
    match run.status:
        case "RUNNING" | "PENDING_REDRIVE":
            return Outcome.RUNNING
        case "ABORTED":
            return Outcome.ABORTED
        case "TIMED_OUT":
            return Outcome.TIMED_OUT
        case "SUCCEEDED":
            quiet = {
                "skip": Outcome.SKIPPED,
                "noop": Outcome.NOOP,
                "duplicate": Outcome.DUPLICATE,
                "dryRun": Outcome.DRY_RUN,
            }
            return quiet.get(str(run.action), Outcome.SUCCEEDED)
    if final == REJECTED_END or run.error in REJECTION_ERRORS:
        return Outcome.REJECTED
    if final == ROLLED_BACK_END:
        return Outcome.ROLLED_BACK
    return Outcome.FAILED


# -- fetching -------------------------------------------------------------------------


def fetch_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, includeExecutionData=True
    )
    return [event for page in pages for event in page["events"]]


def fetch_run(sfn: Any, execution_arn: str, machine: dict[str, Any] | None = None) -> Run:
    """Read one execution; `machine` (DescribeStateMachineForExecution) is fetched if not given."""
    history = fetch_history(sfn, execution_arn)
    describe = sfn.describe_execution(executionArn=execution_arn)
    if describe["status"] != "RUNNING" and not any(e["type"] in TERMINAL_EVENTS for e in history):
        history = fetch_history(sfn, execution_arn)  # it ended between the two calls
    if machine is None:
        machine = sfn.describe_state_machine_for_execution(executionArn=execution_arn)
    return build_run(describe, history, machine)


# -- small helpers --------------------------------------------------------------------


def cause_summary(cause: str | None) -> str:
    """The first line people need: a Lambda error's `errorMessage` rather than its JSON with
    the stack trace; otherwise the cause's first line (the Fail states' one-line summary)."""
    error = _json_object(cause)
    text = str(error["errorMessage"]) if error and "errorMessage" in error else cause or ""
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _json_object(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        parsed = _parse_time(value)
        if parsed is None:
            raise ValueError(f"not a timestamp: {value!r}")
        return parsed
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _plan_or_input(run: Run, key: str) -> str | None:
    return _str_or_none((run.plan or {}).get(key) or run.input.get(key))


def _eventbridge_function(doc: dict[str, Any]) -> str | None:
    detail = doc.get("detail")
    if not isinstance(detail, dict):
        return None
    return _str_or_none((detail.get("requestParameters") or {}).get("functionName"))


def short_function_name(name: str) -> str:
    """`orders` from a name, an ARN, or a qualified ARN."""
    if ":function:" in name:
        return name.split(":function:", 1)[1].split(":", 1)[0]
    return name
