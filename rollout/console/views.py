"""What the console's pages show, as JSON built from the run model (rollout.view.run).

Every value is read from the Run and its typed documents, never from a message's words, and
worded by the same helpers as `rollout watch` and `rollout status` (rollout.view.watch,
.release), so the console and the terminal say the same things. The page puts each value
into the document as text (textContent); nothing here is markup.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from rollout_core.models import ApprovalGate, CheckResult, ControlRecord, Pause
from rollout_core.names import State

from rollout.view import verdicts
from rollout.view.pipeline import PipelineRun, TargetView, lines
from rollout.view.release import FunctionRow, function_rows
from rollout.view.report_cells import traffic_cell
from rollout.view.report_graph import Drawing, draw, marks, taken_edges
from rollout.view.run import CheckVerdict, Event, Run, cause_summary, check_verdict
from rollout.view.watch import (
    describe_event,
    describe_logs,
    describe_metrics,
    row_health,
    row_verdict,
    row_weight,
    status_label,
)

MAX_EVENTS = 500  # the newest events on a rollout's page; `rollout report` has them all
MAX_CHECKS = 200  # the newest checks in its table; the chart has every one

GOOD, BAD, RUNNING, HELD = "good", "bad", "running", "held"


def row(run: Run) -> dict[str, Any]:
    """One rollout in the list: who and what, where it stands, its health, its outcome."""
    label, _ = status_label(run)
    health, health_tone = health_line(run)
    return {
        "arn": run.execution_arn,
        "name": run.name,
        "title": run.title,
        "release": run.is_release,
        "functions": run.function_names,
        "alias": run.alias,
        "versions": None if run.is_release else versions(run),
        "strategy": run.strategy,
        "step": f"{run.step_number}/{run.step_count}" if run.steps else None,
        "weight": run.weight,
        "outcome": run.outcome.value,
        "label": label,
        "tone": tone(run),
        "running": not run.outcome.finished,
        "skipped": run.action in ("skip", "duplicate"),
        "health": health,
        "healthTone": health_tone,
        "startedAt": _iso(run.started_at),
        "stoppedAt": _iso(run.stopped_at),
        "startedBy": started_by(run),
        "reason": run.reason if run.outcome.finished else None,
        "members": [member(function) for function in function_rows(run)],
    }


def listed(summary: dict[str, Any]) -> dict[str, Any]:
    """A row for an execution listed but not read yet: what ListExecutions says."""
    running = summary["status"] == "RUNNING"
    return {
        "arn": summary["executionArn"],
        "name": summary["name"],
        "title": summary["name"],
        "loading": True,
        "running": running,
        "outcome": "running" if running else summary["status"].lower().replace("_", " "),
        "label": "reading…",
        "tone": RUNNING if running else None,
        "startedAt": _iso(summary.get("startDate")),
        "stoppedAt": _iso(summary.get("stopDate")),
        "functions": [],
        "members": [],
    }


def detail(run: Run) -> dict[str, Any]:
    """A rollout's page: the row's facts and everything that happened, as of this read."""
    checks = _checks(run)
    return {
        **row(run),
        "reason": run.reason,
        "stateMachine": run.state_machine_name,
        "error": run.error,
        "cause": _pretty_text(run.cause) if run.cause else None,
        "causeLine": cause_summary(run.cause) if run.cause else None,
        "currentState": run.current_state,
        "hold": _hold(run),
        "steps": [{"percentage": s.percentage, "waitSeconds": s.waitSeconds} for s in run.steps],
        "stepNumber": run.step_number,
        "stepCount": run.step_count,
        "promoted": run.promoted,
        "nextStepAt": _iso(run.next_step_at),
        "nextCheckAt": _iso(run.next_check_at) if not run.outcome.finished else None,
        "settings": _settings(run),
        "threshold": run.plan.health.errorRatePercent if run.plan and run.plan.health else None,
        "weights": [
            {"at": _iso(p.at), "weight": p.weight, "state": p.state, "step": p.step}
            for p in run.weights
        ],
        "checkCount": len(checks),
        "checks": checks[-MAX_CHECKS:],
        "checkMarks": [{"at": c["at"], "healthy": c["healthy"]} for c in checks if c["at"]],
        "actions": [_action(action) for action in run.operator_actions],
        "eventCount": len(run.events),
        "events": [_event(event) for event in run.events[-MAX_EVENTS:]],
        "graph": {
            "drawn": run.definition is not None,  # /api/graph has its layout
            "marks": {name: asdict(mark) for name, mark in marks(run.visits).items()},
            "taken": sorted(taken_edges(run.visits)),
        },
        "input": _pretty(run.input),
        "output": _pretty(run.output) if run.output is not None else None,
    }


def layout(definition: dict[str, Any]) -> dict[str, Any]:
    """The workflow graph laid out by the report's own layout (report_graph.draw), for the
    page to draw and colour."""
    drawing: Drawing = draw(definition)
    return {
        "width": drawing.width,
        "height": drawing.height,
        "start": None if drawing.start is None else {"x": drawing.start.x, "y": drawing.start.y},
        "states": [
            {
                "name": state.name,
                "kind": state.kind,
                "shape": state.shape,
                "x": state.box.left,
                "y": state.box.y,
                "centre": state.box.x,
                "middle": state.box.mid,
                "right": state.box.right,
                "points": state.points,
                "radius": state.radius,
                "comment": state.comment,
            }
            for state in drawing.states
        ],
        "edges": [
            {
                "source": placed.edge.source,
                "target": placed.edge.target,
                "kind": placed.edge.kind,
                "label": placed.edge.label,
                "catch": placed.edge.dashed,
                "path": placed.path,
                "labelAt": placed.label_at,
            }
            for placed in drawing.edges
        ],
    }


# -- the row's facts ----------------------------------------------------------------------


def versions(run: Run) -> str:
    return f"{run.stable_version or '?'} → {run.target_version or '?'}"


def tone(run: Run) -> str:
    if run.held:
        return HELD
    if not run.outcome.finished:
        return RUNNING
    return GOOD if run.outcome.good else BAD


# as `rollout watch` words a check (view/watch.py): passed on no evidence is never "healthy"
_VERDICT_WORDS = {
    CheckVerdict.HEALTHY: "✔ healthy",
    CheckVerdict.LOW_TRAFFIC: "· low traffic",
    CheckVerdict.NO_EVIDENCE: "· no evidence",
    CheckVerdict.UNHEALTHY: "✖ unhealthy",
}


def health_line(run: Run) -> tuple[str, str | None]:
    """The latest check in one line, as `rollout watch` words it, and its tone."""
    judged = [*run.checks, *run.failed_checks]
    failed = run.failed_check_visits
    if not judged and not failed:
        return "no check yet", None
    if not judged:  # an older run: the failure's message is all there is
        return f"✖ {cause_summary(failed[-1].cause)}", BAD
    check = max(judged, key=lambda c: c.at or run.started_at)
    verdict = _VERDICT_WORDS[check_verdict(check)]
    judged = verdicts.headline(check)
    verdict += f" · {judged}" if judged else ""
    if check.newVersion is not None and not run.is_release:
        verdict += f" · new {describe_metrics(check.newVersion)}"
    elif not check.healthy and check.reasons:
        verdict += f" · {check.reasons[0]}"
    return verdict, GOOD if check_verdict(check) is CheckVerdict.HEALTHY else (
        None if check.healthy else BAD
    )


def started_by(run: Run) -> str:
    """Who started it, as far as the execution records: an EventBridge-started rollout
    carries the CloudTrail PublishVersion event, with the identity that published. Step
    Functions doesn't record who called StartExecution (CloudTrail does)."""
    detail = run.input.get("detail")
    if isinstance(detail, dict) and detail.get("eventName", "").startswith("PublishVersion"):
        identity = detail.get("userIdentity") or {}
        who = identity.get("arn") or identity.get("type") or "unknown identity"
        return f"EventBridge: PublishVersion by {who}"
    return "StartExecution (its caller is in CloudTrail)"


def member(function: FunctionRow) -> dict[str, Any]:
    """One function of a release, as `rollout watch` shows its row."""
    return {
        "name": function.name,
        "versions": f"{function.stable_version or '?'} → {function.target_version or '?'}",
        "weight": row_weight(function),
        "health": row_health(function.check, " · ").plain,
        "verdict": row_verdict(function, " · ").plain,
        "tone": {"healthy": GOOD, "failed": BAD}.get(function.verdict.value),
    }


# -- the page's sections ------------------------------------------------------------------


def _hold(run: Run) -> dict[str, Any] | None:
    hold = run.hold
    if isinstance(hold, Pause):
        return {"kind": "pause", "by": hold.by, "since": _iso(hold.since)}
    if isinstance(hold, ApprovalGate):
        return {
            "kind": "approval",
            "before": hold.before,
            "since": _iso(hold.since),
            "deadline": _iso(hold.deadline),
            "onTimeout": hold.onTimeout,
            "approve": hold.approve,
            "reject": hold.reject,
        }
    return None


def _settings(run: Run) -> list[list[str]]:
    """(label, value) pairs of the plan that say how it is judged."""
    plan = run.plan
    if plan is None:
        return []
    pairs = [
        ["Check interval", f"{plan.checkIntervalSeconds} s"],
        ["Alarms", ", ".join(plan.alarms) or "none"],
        ["Time scale", f"{plan.timeScale:g}"],
        ["Source", plan.source],
    ]
    if plan.health is not None:
        health = plan.health
        pairs.append(
            [
                "Error rate",
                f"above {health.errorRatePercent:g}%"
                + (" and above stable" if health.compareToStable else "")
                + f", from {health.minInvocations} invocations",
            ]
        )
    if plan.bakeSeconds:
        pairs.append(["Bake", f"{plan.bakeSeconds} s"])
    if plan.approval is not None:
        pairs.append(
            [
                "Approval",
                f"before {plan.approval.before}, {plan.approval.timeoutSeconds} s, then "
                f"{plan.approval.onTimeout}",
            ]
        )
    return pairs


def _checks(run: Run) -> list[dict[str, Any]]:
    """Every health check, oldest first: those that passed, and those that raised
    HealthCheckFailed (with the numbers their error carries, when it does)."""
    found = [(c.at or run.started_at, _check(c, False)) for c in run.checks]
    for visit in run.failed_check_visits:
        at = visit.exited_at or visit.entered_at
        if visit.check is not None:
            found.append((visit.check.at or at, _check(visit.check, True)))
        else:  # an older run: its message is all there is
            line = cause_summary(visit.cause)
            found.append((at, {**_check_frame(at, False, True), "reasons": [line]}))
    return [check for _, check in sorted(found, key=lambda pair: pair[0])]


def _check_frame(at: datetime | None, healthy: bool, failed: bool) -> dict[str, Any]:
    return {"at": _iso(at), "healthy": healthy, "failed": failed}


def _check(check: CheckResult, failed: bool) -> dict[str, Any]:
    """One check's verdict with its numbers: alarms, each version's counts, the logs
    signal's, and any signal's own numbers (a check keeps what it doesn't declare)."""
    return {
        **_check_frame(check.at, check.healthy and not failed, failed),
        "verdict": "failed" if failed else check_verdict(check).value,
        "where": traffic_cell(check),
        "alarms": sorted([name, state] for name, state in check.alarms.items()),
        "newVersion": describe_metrics(check.newVersion) if check.newVersion else None,
        "stableVersion": describe_metrics(check.stableVersion) if check.stableVersion else None,
        "newRate": check.newVersion.errorRatePercent if check.newVersion else None,
        "logs": describe_logs(check.logs) if check.logs is not None else None,
        "reasons": list(check.reasons),
        "notes": list(check.notes),
        "verdicts": verdicts.lines(check),  # the canary judge's, each with its numbers
        "signals": [
            [key, _compact(value)]
            for key, value in (check.model_extra or {}).items()
            if key not in verdicts.SHOWN_AS_LINES
        ],
        "functions": [
            {
                "name": f"{function.functionName}:{function.alias}",
                "healthy": function.healthy,
                "health": row_health(function, " · ").plain,
                "reasons": list(function.reasons),
            }
            for function in check.functions
        ],
    }


def _action(action: ControlRecord) -> dict[str, Any]:
    return {
        "action": action.action,
        "by": action.by,
        "reason": action.reason,
        "sentAt": action.at or None,
        "appliedAt": _iso(action.appliedAt),
        "state": action.state,
        "result": action.result,
    }


def _event(event: Event) -> dict[str, Any]:
    """One history event in words (`rollout watch`'s), its Error and complete Cause."""
    kind = "failed" if event.error or event.type.endswith(("Failed", "TimedOut")) else None
    if kind is None:
        kind = "entered" if event.entered else "exited" if event.exited else "execution"
    return {
        "at": _iso(event.at),
        "type": event.type,
        "state": event.state,
        "kind": kind,
        "text": describe_event(event, None).plain,
        "error": event.error,
        "cause": _pretty_text(event.cause) if event.cause else None,
        "important": event.state in (State.SHIFT_TRAFFIC, State.PROMOTE, State.ROLL_BACK),
    }


# -- a pipeline of waves (rollout.view.pipeline) ------------------------------------------


def pipeline_row(run: PipelineRun) -> dict[str, Any]:
    """A pipeline in the list: one row, its targets as members (wave by wave), worded as
    `rollout watch` words them."""
    plan = run.plan
    functions = sorted({m.functionName for t in plan.targets for m in t.functions}) if plan else []
    moved = [view for _, _, targets in run.waves() for view in targets]
    healthy = sum(view.health == "healthy" for view in moved)
    ended = sum(view.outcome is not None for view in moved)
    return {
        "arn": run.arn,
        "name": run.name,
        "title": f"pipeline {run.name}",
        "pipeline": True,
        "release": False,
        "functions": functions,
        "alias": str(plan.rollout.get("alias") or "") if plan else None,
        "versions": None,
        "strategy": _compact(plan.rollout.get("strategy")) if plan and plan.rollout else None,
        "step": _wave_step(run),
        "weight": None,
        "outcome": "running" if not run.finished else run.stage,
        "label": run.stage.capitalize(),
        "tone": _pipeline_tone(run),
        "running": not run.finished,
        "skipped": False,
        "health": f"{healthy}/{len(moved)} targets healthy" if ended else "no target ended yet",
        "healthTone": (BAD if healthy < ended else GOOD) if ended else None,
        "startedAt": _iso(run.started),
        "stoppedAt": _iso(run.stopped),
        "startedBy": "StartExecution (its caller is in CloudTrail)",
        "reason": _pipeline_reason(run),
        "members": [_target_member(name, view) for name, _, views in run.waves() for view in views],
    }


def pipeline_detail(run: PipelineRun) -> dict[str, Any]:
    """A pipeline's page: the row's facts, its waves and targets (each leading into its own
    rollout), when each target moved on one time axis, and the lines `rollout watch` prints."""
    plan = run.plan
    home = (plan.home.account, plan.home.region) if plan else None
    return {
        **pipeline_row(run),
        "reason": _pipeline_reason(run) or run.hold,
        "error": run.error,
        "cause": _pretty_text(run.cause) if run.cause else None,
        "hold": _pipeline_hold(run),
        "onFailure": plan.onFailure if plan else None,
        "waves": [
            {
                "name": name,
                "bakeSeconds": bake,
                "targets": [_target(view, home) for view in views],
            }
            for name, bake, views in run.waves()
        ],
        "axis": _axis(run),
        "lines": lines(run),
    }


def _wave_step(run: PipelineRun) -> str | None:
    cursor = run.cursor
    if cursor is None or cursor.waveIndex < 0:
        return None
    return f"wave {cursor.waveIndex + 1}/{cursor.waveCount}"


def _pipeline_tone(run: PipelineRun) -> str:
    if run.finished:
        return GOOD if run.status == "SUCCEEDED" else BAD
    return HELD if run.hold else RUNNING


def _pipeline_reason(run: PipelineRun) -> str | None:
    if not run.finished:
        return None
    if run.status == "SUCCEEDED":
        return f"rolled out to every target of {len(run.waves())} waves"
    return f"{run.error}: {cause_summary(run.cause)}" if run.cause else run.error


def _pipeline_hold(run: PipelineRun) -> dict[str, Any] | None:
    """Its hold as the rollout page's controls read one (`kind`), and in words."""
    hold = run.cursor.hold if run.cursor and not run.finished else None
    if hold is None:
        return None
    return {"kind": hold.kind, "line": run.hold}


def _target_member(wave: str, view: TargetView) -> dict[str, Any]:
    return {
        "name": f"{wave}: {view.label}",
        "versions": view.versions,
        "weight": "",
        "health": view.health,
        "verdict": view.verdict,
        "tone": {"succeeded": GOOD, "failed": BAD, "NOT restored": BAD}.get(view.verdict),
    }


def _target(view: TargetView, home: tuple[str, str] | None) -> dict[str, Any]:
    """One target: its outcome and health, what it moved, and its own rollout (a page here
    when it runs in the console's account and Region; else the command that follows it)."""
    arn = view.target.executionArn
    return {
        **_target_member("", view),
        "name": view.label,
        "account": view.target.account,
        "region": view.target.region,
        "execution": arn,
        "here": (view.target.account, view.target.region) == home,
        "watch": f"rollout watch {arn}",
        "why": view.why,
        "movedAt": _iso(view.moved_at),
        "endedAt": _iso(view.ended_at),
    }


def _axis(run: PipelineRun) -> dict[str, Any]:
    """When each target moved, and when the pipeline held or baked, on one time axis from
    its start to its end (or the last event read)."""
    spans = [{"state": s, "from": _iso(moment), "to": _iso(to)} for s, moment, to in run.holds()]
    return {"from": _iso(run.started), "to": _iso(run.end), "holds": spans}


# -- small helpers ------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _pretty_text(text: str) -> str:
    """A Lambda error's JSON Cause, indented; any other text as it is."""
    try:
        return _pretty(json.loads(text))
    except ValueError:
        return text


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
