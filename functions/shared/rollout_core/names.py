"""The names other tools key on, defined once: the workflow's states and its named errors.

State names are what people see in the console graph (statemachine/rollout.asl.json); the
views, the benchmarks and the guard read a history by them. Error names are the exception
classes of errors.py, which Lambda reports as the error type and Step Functions' Catch
matches. tests/asl/test_names.py holds both enums to the definition and to errors.py.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PREPARE = "Prepare"
    EXPLAIN_REJECTION = "Explain rejection"
    REQUEST_REJECTED = "Request rejected"
    RELEASE_PREPARE_LOCK = "Release Prepare's lock"
    PREPARE_FAILED = "Prepare failed"
    ROLL_OUT = "Roll out?"
    SKIPPED = "Skipped"
    ALREADY_ROLLING_OUT = "Already rolling out"
    ALREADY_LIVE = "Already live"
    PREVIOUSLY_ROLLED_BACK = "Previously rolled back"
    DRY_RUN = "Dry run"
    START_PIPELINE = "Start pipeline"  # waves: handed to the pipeline state machine
    PIPELINE_STARTED = "Pipeline started"
    PRE_TRAFFIC_CHECK = "Pre-traffic check"
    RELEASE_LOCK = "Release lock"
    PRE_TRAFFIC_CHECK_FAILED = "Pre-traffic check failed"
    START_TELEMETRY = "Start telemetry"
    SHIFT_TRAFFIC = "Shift traffic"
    WAIT_FOR_NEXT_CHECK = "Wait for next check"
    CHECK_HEALTH = "Check health"
    STEP_DONE = "Step done?"
    WAIT_FOR_OPERATOR = "Wait for operator"
    NEXT_STEP = "Next step?"
    PROMOTE = "Promote"
    POST_TRAFFIC_CHECK = "Post-traffic check"
    BAKE = "Bake?"
    WAIT_DURING_BAKE = "Wait during bake"
    CHECK_BAKE_HEALTH = "Check bake health"
    WAIT_FOR_OPERATOR_DURING_BAKE = "Wait for operator during bake"
    FINALIZE = "Finalize"
    CLEAN_UP = "Clean up old versions"
    ROLLED_OUT = "Rolled out"
    ROLL_BACK = "Roll back"
    NOTIFY_ROLLBACK = "Notify rollback"
    ROLLED_BACK = "Rolled back"
    NOTIFY_ROLLBACK_FAILURE = "Notify rollback failure"
    ROLLBACK_FAILED = "Rollback failed"
    NOTIFY_DRIFT = "Notify drift"
    ALIAS_CHANGED_ELSEWHERE = "Alias changed elsewhere"


# The states that share a task, by the phase they run in (progress.phase).
CHECK_STATES = {"step": State.CHECK_HEALTH, "bake": State.CHECK_BAKE_HEALTH}
HOLD_STATES = {"step": State.WAIT_FOR_OPERATOR, "bake": State.WAIT_FOR_OPERATOR_DURING_BAKE}
# Each waits up to `progress.nextWaitSeconds` for evidence (rollout_core.waiting): a Task
# whose TaskTimedOut is the clock, not an error; its TaskSucceeded is a wake-up.
WAIT_STATES = (State.WAIT_FOR_NEXT_CHECK, State.WAIT_DURING_BAKE)


class ErrorName(StrEnum):
    INVALID_ROLLOUT_REQUEST = "InvalidRolloutRequest"
    ROLLOUT_IN_PROGRESS = "RolloutInProgress"
    ALARMS_ALREADY_FIRING = "AlarmsAlreadyFiring"
    PRE_TRAFFIC_CHECK_FAILED = "PreTrafficCheckFailed"
    POST_TRAFFIC_CHECK_FAILED = "PostTrafficCheckFailed"
    HEALTH_CHECK_FAILED = "HealthCheckFailed"
    ALIAS_DRIFT = "AliasDrift"
    RELEASE_DRIFT = "ReleaseDrift"
    ROLLBACK_FAILED = "RollbackFailed"
    ROLLOUT_ABORTED = "RolloutAborted"
    APPROVAL_TIMED_OUT = "ApprovalTimedOut"


# Prepare's refusals: raised before the lock is taken, so nothing is left to clean up.
REJECTIONS = frozenset(
    {
        ErrorName.INVALID_ROLLOUT_REQUEST,
        ErrorName.ROLLOUT_IN_PROGRESS,
        ErrorName.ALARMS_ALREADY_FIRING,
    }
)
# An operator's control (abort, reject) or an unanswered approval gate ended the rollout.
OPERATOR_STOPS = frozenset({ErrorName.ROLLOUT_ABORTED, ErrorName.APPROVAL_TIMED_OUT})
# A failed pre- or post-traffic check: the message names the function and its version.
TRAFFIC_CHECK_FAILURES = frozenset(
    {ErrorName.PRE_TRAFFIC_CHECK_FAILED, ErrorName.POST_TRAFFIC_CHECK_FAILED}
)
