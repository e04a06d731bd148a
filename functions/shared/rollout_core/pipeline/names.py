"""A pipeline's names, defined once: the states of statemachine/pipeline.asl.json (what the
console graph and the views show) and its named errors (the exception classes of
pipeline/errors.py). tests/asl/test_pipeline_names.py holds both to the definition."""

from __future__ import annotations

from enum import StrEnum


class PipelineState(StrEnum):
    PREPARE = "Prepare pipeline"
    EXPLAIN_REJECTION = "Explain rejection"
    REQUEST_REJECTED = "Request rejected"
    PREPARE_FAILED = "Prepare failed"
    DRY_RUN_CHOICE = "Dry run?"
    DRY_RUN = "Dry run"
    NEXT_WAVE = "Next wave?"
    BEFORE_WAVE = "Before wave"
    WAVE_MAY_START = "Wave may start?"
    ROLL_OUT_WAVE = "Roll out wave"
    IN_ITS_REGION = "In its Region?"
    RUN_TARGET = "Run target"
    START_TARGET = "Start target"
    FOLLOW_TARGET = "Follow target"
    TARGET_DONE = "Target done?"
    RECORD_TARGET = "Record target"
    CLOSE_WAVE = "Close wave"
    BAKE_WAVE = "Bake wave"
    BAKE_OVER = "Bake over?"
    FINISH = "Finish pipeline"
    ROLLED_OUT_EVERYWHERE = "Rolled out everywhere"
    PLAN_RESTORE = "Plan restore"
    RESTORE_CHOICE = "Restore?"
    RESTORE_TARGETS = "Restore targets"
    RESTORE_WAVE = "Restore wave"
    RESTORE_TARGET = "Restore target"
    NOTIFY_FAILURE = "Notify failure"
    PIPELINE_FAILED = "Pipeline failed"


# The holds: a task that waits, polling the pipeline's channel and its blockers.
HOLD_STATES = {"gate": PipelineState.BEFORE_WAVE, "bake": PipelineState.BAKE_WAVE}


class PipelineError(StrEnum):
    TARGET_FAILED = "TargetFailed"
    PIPELINE_ABORTED = "PipelineAborted"
    PIPELINE_BLOCKED = "PipelineBlocked"
