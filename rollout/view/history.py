"""The history interpreter: a Run from DescribeExecution, GetExecutionHistory events and,
optionally, DescribeStateMachineForExecution.

Each state's output document is read with the workflow's own models (`$.plan`,
`$.progress` with its check, hold and control, `$.rollback`); a failed check, and the
control that ended a run, come from their errors' details (rollout_core.errors.read_cause).
Nothing is learnt from a message's words. Documents of older runs that lack a key read
with its default; a document no model can read is left out rather than guessed at.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from rollout_core.errors import read_cause
from rollout_core.models import CheckResult, ControlRecord, Plan, Progress
from rollout_core.names import OPERATOR_STOPS, REJECTIONS, WAIT_STATES, ErrorName, State
from rollout_core.results import RollbackRecord

from rollout.view.run import Event, Outcome, Run, StateVisit, VisitStatus, WeightPoint

TERMINAL_EVENTS = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)
_POSITION = {"phase", "percentage"}  # where a check was made: not what it found

Model = TypeVar("Model", bound=BaseModel)


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
    if _wait_ended_by_clock(run, kind):
        return  # how a wait for the next check ends when no evidence came: no failure
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


def _wait_ended_by_clock(run: Run, kind: str) -> bool:
    """A wait (Wait for next check, Wait during bake) is a task whose timeout is its
    interval: its TaskTimedOut (States.Timeout, caught into Check health) is the clock."""
    visit = _open_visit(run)
    return kind == "TaskTimedOut" and visit is not None and visit.name in WAIT_STATES


def _open_visit(run: Run) -> StateVisit | None:
    """The state the run is in: its last visit, unless that one has exited."""
    return run.visits[-1] if run.visits and run.visits[-1].exited_at is None else None


def _track_visit(run: Run, kind: str, at: datetime, raw: dict[str, Any]) -> None:
    """Keep `run.visits`: what happened in each state, for the report's graph and timeline."""
    visit = _open_visit(run)
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
        if visit.error == ErrorName.HEALTH_CHECK_FAILED:
            visit.check = failed_check(visit.cause, _json_object(visit.input))
            if visit.check is not None and visit.check not in run.failed_checks:
                run.failed_checks.append(visit.check)


def _track_wait(run: Run, kind: str, name: str, at: datetime, doc: dict[str, Any] | None) -> None:
    progress = _read(Progress, (doc or {}).get("progress"))
    # a Task waiting for its token (older definitions: a Wait state)
    entered = kind in ("TaskStateEntered", "WaitStateEntered")
    if entered and name in WAIT_STATES and progress is not None:
        run.wait_started_at, run.wait_progress = at, progress
    else:
        run.wait_started_at = run.wait_progress = None


def _apply_document(run: Run, doc: dict[str, Any] | None, at: datetime, state: str | None) -> None:
    """Pick up the plan, progress, checks and weight from a state's output document."""
    if not doc:
        return
    run.plan = _read(Plan, doc.get("plan")) or run.plan
    progress = _read(Progress, doc.get("progress"))
    if progress is not None:
        run.progress = progress
        _record_check(run, progress)
        if progress.extensions:
            run.extensions[progress.stepIndex] = progress.extensions
        _record_control(run, progress.lastControl)
    run.rollback = _read(RollbackRecord, doc.get("rollback")) or run.rollback
    if "failure" in doc and state in (State.SHIFT_TRAFFIC, State.PROMOTE):
        return  # the task failed and was caught: the alias did not move
    if state == State.SHIFT_TRAFFIC and progress is not None:
        _record_weight(run, at, progress.weight, state, progress.stepIndex + 1)
    elif state == State.PROMOTE:
        _record_weight(run, at, 1.0, state)
    elif state == State.ROLL_BACK and _restored(doc.get("rollback")):
        _record_weight(run, at, 0.0, state)


def _restored(raw: Any) -> bool:
    """Roll back's result restored the alias. (When Roll back fails, its Catch goes on with
    `$.failure` and this is never written; older definitions wrote {Error, Cause} here.)"""
    record = _read(RollbackRecord, raw)
    return record is not None and record.restored


def _record_weight(
    run: Run, at: datetime, weight: float, state: str, step: int | None = None
) -> None:
    if not run.weights:
        run.weights.append(WeightPoint(run.started_at, 0.0, "start"))
    run.weights.append(WeightPoint(at, weight, state, step))


def _record_check(run: Run, progress: Progress) -> None:
    """Every later state repeats lastCheck: one check per distinct result."""
    check = progress.lastCheck
    if check is None or (run.checks and _same(run.checks[-1], check)):
        return
    run.checks.append(_placed(check, progress))


def _same(one: CheckResult, other: CheckResult) -> bool:
    """The same check, wherever the rollout stood when a later state repeated it."""
    return one.model_dump(exclude=_POSITION) == other.model_dump(exclude=_POSITION)


def _placed(check: CheckResult, progress: Progress | None) -> CheckResult:
    """Where the rollout stood when checked: the check says (since this contract), else
    the progress it was read with (older runs)."""
    if check.phase is not None or progress is None:
        return check
    return check.model_copy(update={"phase": progress.phase, "percentage": progress.percentage})


def failed_check(cause: str | None, state_input: dict[str, Any] | None) -> CheckResult | None:
    """The check that raised HealthCheckFailed: its error's details; None when its message
    carries none (older runs)."""
    _, details = read_cause(cause)
    if details is None or details.lastCheck is None:
        return None
    return _placed(details.lastCheck, _read(Progress, (state_input or {}).get("progress")))


def _record_control(run: Run, control: ControlRecord | None) -> None:
    """Every later state repeats lastControl: one action per distinct control."""
    if control is None:
        return
    if not any((a.action, a.at) == (control.action, control.at) for a in run.operator_actions):
        run.operator_actions.append(control)


def _record_ending_control(run: Run) -> None:
    """abort, reject or an unanswered gate end the run: the error of the task that acted on
    it carries the control (who, why, where) as its details."""
    if run.error not in OPERATOR_STOPS:
        return
    failed = next(
        (v for v in reversed(run.visits) if v.error in OPERATOR_STOPS and v.type == "Task"),
        None,
    )  # the task that acted on it (the Fail state at the end repeats the error)
    line, details = read_cause(failed.cause if failed and failed.cause else run.cause)
    ended_at = (failed.exited_at if failed else None) or run.stopped_at or run.started_at
    control = details.control if details is not None else None
    if control is None:  # an older run: its message is all there is
        control = ControlRecord(
            action="approval-timeout"
            if run.error == ErrorName.APPROVAL_TIMED_OUT
            else "abort or reject",
            reason=line,
            by="the workflow" if run.error == ErrorName.APPROVAL_TIMED_OUT else "?",
            at="",
            state=failed.name if failed else None,
            result=str(run.error),
        )
    if control.appliedAt is None:
        control = control.model_copy(update={"appliedAt": ended_at})
    run.operator_actions.append(control)


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
                "previouslyRolledBack": Outcome.PREVIOUSLY_ROLLED_BACK,
                "dryRun": Outcome.DRY_RUN,
                "pipeline": Outcome.PIPELINE,
            }
            if run.plan is not None and run.plan.movedWithoutRollout is not None:
                return Outcome.MOVED_WITHOUT_ROLLOUT
            return quiet.get(str(run.action), Outcome.SUCCEEDED)
    if final == State.REQUEST_REJECTED or run.error in REJECTIONS:
        return Outcome.REJECTED
    if final == State.ROLLED_BACK:
        return Outcome.ROLLED_BACK
    return Outcome.FAILED


# -- reading documents ----------------------------------------------------------------


def _read(model: type[Model], raw: Any) -> Model | None:
    """`raw` as the contract's `model`, or None when it is not one."""
    if not isinstance(raw, dict):
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


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
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
