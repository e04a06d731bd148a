"""A pipeline of waves as the views show it (README, "Waves"): its waves and targets, each
with its outcome and its own rollout's execution, where it holds and why, how it ended.

Read from the pipeline execution's history only, through the contract's models
(rollout_core.pipeline.models): Prepare pipeline's plan, the cursor every hold and Close
wave leaves, each Record target's outcome, each Restore target's result. `watch`,
`status` and `report` all read a pipeline through `fetch_pipeline`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rollout_core.pipeline.models import (
    Blocked,
    PipelineCursor,
    PipelinePlan,
    PipelineTarget,
    Restored,
    TargetOutcome,
)
from rollout_core.pipeline.names import PipelineState as S

Json = dict[str, Any]
CURSOR_STATES = {S.BEFORE_WAVE, S.CLOSE_WAVE, S.BAKE_WAVE}
RUNNING_STATES = {S.RUN_TARGET, S.START_TARGET, S.FOLLOW_TARGET}
HOLD_STATES = {S.BEFORE_WAVE, S.BAKE_WAVE}


@dataclass
class TargetView:
    target: PipelineTarget
    outcome: TargetOutcome | None = None
    running: bool = False
    restored: Restored | None = None
    moved_at: datetime | None = None  # when its rollout started (the time axis)
    ended_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.target.region} in {self.target.account}"

    @property
    def verdict(self) -> str:
        if self.restored is not None:
            return "restored" if self.restored.ok else "NOT restored"
        if self.outcome is not None:
            return self.outcome.status
        return "running" if self.running else "waiting"

    @property
    def health(self) -> str:
        """Its rollout's health as the pipeline knows it: healthy once it succeeded (every
        check passed), the child's error once it failed, checking while it runs."""
        if self.outcome is None:
            return "checking" if self.running else "not started"
        if self.outcome.status == "succeeded":
            return "healthy"
        return self.outcome.error or (self.outcome.childStatus or "failed").lower()

    @property
    def why(self) -> str | None:
        """Why its rollout failed (the child's Error and Cause), when it did."""
        outcome = self.outcome
        if outcome is None or outcome.status != "failed":
            return None
        return f"{outcome.error}: {outcome.cause}"

    @property
    def versions(self) -> str:
        moved = self.outcome.moved if self.outcome else self.target.functions
        return ", ".join(f"{m.name} {m.stableVersion}→{m.targetVersion}" for m in moved)


@dataclass
class PipelineRun:
    arn: str
    status: str
    error: str | None = None
    cause: str | None = None
    started: datetime | None = None
    stopped: datetime | None = None
    plan: PipelinePlan | None = None
    cursor: PipelineCursor | None = None
    targets: dict[tuple[int, int], TargetView] = field(default_factory=dict)
    events: list[tuple[datetime, str]] = field(default_factory=list)  # states entered

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def stage(self) -> str:
        """Where it stands in a few words: its outcome once ended, else its hold or wave."""
        if self.finished:
            return self.status.lower().replace("_", " ")
        hold = self.cursor.hold if self.cursor else None
        if hold is not None:
            return {"blocked": "blocked", "pause": "paused"}.get(hold.kind, "awaiting approval")
        if self.cursor is None or self.cursor.waveIndex < 0:
            return "preparing"
        where = f"wave {self.cursor.waveIndex + 1}/{self.cursor.waveCount}"
        return f"baking {where}" if self.cursor.phase == "bake" else where

    @property
    def end(self) -> datetime | None:
        """Its end, else the last event read (the right end of a time axis)."""
        return self.stopped or max((moment for moment, _ in self.events), default=self.started)

    def holds(self) -> list[tuple[str, datetime, datetime]]:
        """(state, from, to) of every wait before a wave (its blockers, approval, window)
        and every bake, as the time axes draw them."""
        end = self.end
        if end is None:
            return []
        after = [*(moment for moment, _ in self.events[1:]), end]
        return [
            (state, moment, until)
            for (moment, state), until in zip(self.events, after, strict=True)
            if state in HOLD_STATES
        ]

    def waves(self) -> list[tuple[str, int, list[TargetView]]]:
        """(name, bake seconds, its targets) per wave, in order."""
        if self.plan is None:
            return []
        return [
            (wave.name, wave.bakeSeconds, [self.targets[(t.wave, t.index)] for t in wave.targets])
            for wave in self.plan.waves
        ]

    @property
    def hold(self) -> str | None:
        """Why the pipeline waits, if it does: blocked (with the reasons), paused, or
        awaiting approval."""
        hold = self.cursor.hold if self.cursor and not self.finished else None
        if hold is None:
            return None
        if isinstance(hold, Blocked):
            return (
                f"blocked since {hold.since:%H:%M:%S}, gives up at {hold.deadline:%H:%M:%S}: "
                + "; ".join(hold.reasons)
            )
        if hold.kind == "pause":
            return f"paused by {hold.by} since {hold.since}"
        return f"awaiting approval before {hold.before} until {hold.deadline}: {hold.approve}"


def is_pipeline(arn: str) -> bool:
    """A pipeline's execution ARN (the stack's PipelineStateMachine)."""
    return "-PipelineStateMachine-" in arn.split(":execution:", 1)[-1].split(":", 1)[0]


def handed_over(sfn: Any, arn: str) -> str | None:
    """The pipeline a rollout execution handed its `waves` input to (Start pipeline)."""
    described = sfn.describe_execution(executionArn=arn)
    return pipeline_in(json.loads(described.get("output") or "{}"))


def pipeline_in(output: Json | None) -> str | None:
    """The pipeline's execution ARN in a rollout's output, when it handed over its waves."""
    if not output or (output.get("plan") or {}).get("action") != "pipeline":
        return None
    return str((output.get("pipeline") or {}).get("executionArn") or "") or None


def fetch_pipeline(sfn: Any, arn: str) -> PipelineRun:
    described = sfn.describe_execution(executionArn=arn)
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, includeExecutionData=True
    )
    return build_pipeline(described, [event for page in pages for event in page["events"]])


def build_pipeline(described: Json, events: list[Json]) -> PipelineRun:
    """The pipeline from its DescribeExecution and its history's events, oldest first (what
    `fetch_pipeline` reads, or what the console has read so far)."""
    run = PipelineRun(
        arn=str(described["executionArn"]),
        status=str(described["status"]),
        error=described.get("error"),
        cause=described.get("cause"),
        started=described.get("startDate"),
        stopped=described.get("stopDate"),
    )
    for event in events:
        _read(run, event)
    return run


def _read(run: PipelineRun, event: Json) -> None:
    entered = event.get("stateEnteredEventDetails")
    if entered:
        run.events.append((event["timestamp"], entered["name"]))
        if entered["name"] in RUNNING_STATES:
            target = PipelineTarget.model_validate(json.loads(entered["input"])["target"])
            view = run.targets.get((target.wave, target.index))
            if view is not None and view.moved_at is None:
                view.running, view.moved_at = True, event["timestamp"]
        return
    exited = event.get("stateExitedEventDetails")
    if not exited:
        return
    name, output = exited["name"], json.loads(exited.get("output") or "null")
    if name == S.PREPARE and isinstance(output, dict) and "plan" in output:
        run.plan = PipelinePlan.model_validate(output["plan"])
        run.targets = {(t.wave, t.index): TargetView(t) for t in run.plan.targets}
    elif name in CURSOR_STATES and isinstance(output, dict) and "cursor" in output:
        run.cursor = PipelineCursor.model_validate(output["cursor"])
    elif name == S.RECORD_TARGET:
        outcome = TargetOutcome.model_validate(output)
        view = run.targets.get((outcome.wave, outcome.index))
        if view is not None:
            view.outcome, view.running, view.ended_at = outcome, False, event["timestamp"]
    elif name == S.RESTORE_TARGET:
        restored = Restored.model_validate(output)
        view = run.targets.get((restored.wave, restored.index))
        if view is not None:
            view.restored = restored


def lines(run: PipelineRun) -> list[str]:
    """The pipeline as text, one line per wave and per target: what watch and status show."""
    out = []
    if run.plan is not None:
        plan = run.plan
        out.append(
            f"pipeline {plan.name}: {len(plan.waves)} waves, {len(plan.targets)} targets, "
            f"onFailure {plan.onFailure}"
        )
    for number, (name, bake, targets) in enumerate(run.waves(), start=1):
        out.append(f"wave {name} ({number}/{len(run.waves())}), bake {bake} s")
        for view in targets:
            reason = f" — {view.why}" if view.why else ""
            out.append(
                f"  {view.label}: {view.verdict} [{view.health}] {view.versions}{reason} "
                f"(rollout watch {view.target.executionArn})"
            )
    if run.hold:
        out.append(f"holding: {run.hold}")
    if run.cursor and run.cursor.blockers and not run.finished:
        out.append(f"blockers: {'; '.join(run.cursor.blockers)}")
    if run.finished:
        verdict = "succeeded" if run.status == "SUCCEEDED" else f"{run.status}: {run.error}"
        out.append(f"outcome: {verdict}" + (f" — {run.cause}" if run.cause else ""))
    return out
