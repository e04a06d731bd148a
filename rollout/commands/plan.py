"""`rollout plan`: what a rollout would do, validated against the account; changes nothing.

What needs no account is checked first, by Prepare's own code (rollout_core.validation), as
`start` does. Then it invokes the deployed Prepare function with `"dryRun": true`, so the
request is checked by the same code, configuration and IAM scope as a real rollout
(function, alias, versions, alarms, scope, traffic sources) and refused with the same
message (rollout/dry_run.py); Prepare takes no lock in a dry run. Then it prints every
step, how each function is invoked (every traffic source and the qualifier it invokes,
bypasses marked), the checks, the approval gates, the total duration and the state
transitions the rollout will cost.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rollout_core.controls import HOLD_SECONDS
from rollout_core.health.inconclusive import MAX_EXTENSIONS
from rollout_core.health.latency import FLOOR_MS
from rollout_core.models import Plan

from rollout.aws import AwsContext, reports_errors
from rollout.commands import start
from rollout.dry_run import dry_run
from rollout.exits import PLAN, Exit, help_text
from rollout.view import traffic

USD_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, us-east-1
# States entered once on the success path (docs/workflow.md, "States"):
BEFORE_STEPS = 4  # Prepare, Roll out?, Pre-traffic check, Start telemetry
AFTER_STEPS = 6  # Promote, Post-traffic check, Bake?, Finalize, Clean up old versions, Rolled out
PER_STEP, PER_CHECK = 2, 3  # Shift traffic, Next step? / Wait, Check health, Step done?
PER_HOLD = 2  # Wait for operator, Step done? (or Bake?)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="validate a rollout against the account and print its plan; changes nothing",
        description="Validate the input exactly as Prepare does (same flags and --input as\n"
        "`start`) and print the plan: steps, checks, approvals, duration, state transitions\n"
        "and their cost. Nothing is changed and no lock is taken.",
        epilog=help_text(PLAN),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    start.add_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(run=run_plan)


@reports_errors
def run_plan(args: argparse.Namespace) -> int:
    document = start.valid_input(args)  # exit 2 before asking Prepare, with its message
    aws = AwsContext(args.region, args.profile)
    plan = dry_run(aws, document)
    if args.json:
        print(json.dumps(plan, indent=2))
    else:
        show(plan, Console())
    return Exit.OK


def estimate(plan: dict[str, Any]) -> dict[str, Any]:
    """Checks, duration and state transitions of the plan: as planned, and at worst (every
    approval gate waiting until its timeout)."""
    interval = int(plan["checkIntervalSeconds"])
    waits = [int(step["waitSeconds"]) for step in plan["steps"]]
    checks = [max(1, math.ceil(wait / interval)) for wait in waits] or [1]
    bake = int(plan.get("bakeSeconds") or 0)
    bake_checks = math.ceil(bake / interval) if bake else 0
    approval = plan.get("approval")
    gates = _gates(approval, len(waits), bake)
    timeout = int(approval["timeoutSeconds"]) if approval else 0
    base = BEFORE_STEPS + sum(PER_STEP + PER_CHECK * c for c in checks) + AFTER_STEPS
    base += PER_CHECK * bake_checks
    worst = base + gates * PER_HOLD * max(1, math.ceil(timeout / HOLD_SECONDS))
    return {
        "checks": sum(checks) + bake_checks,
        "waitSeconds": sum(waits) + bake,
        "approvalGates": gates,
        "worstCaseSeconds": sum(waits) + bake + gates * timeout,
        "transitions": base + gates * PER_HOLD,
        "worstCaseTransitions": worst,
        "costUsd": (base + gates * PER_HOLD) * USD_PER_TRANSITION,
        "worstCaseCostUsd": worst * USD_PER_TRANSITION,
    }


def _gates(approval: dict[str, Any] | None, steps: int, bake: int) -> int:
    if not approval:
        return 0
    if approval["before"] == "promote":
        return 1
    return max(steps, 1) + (1 if bake else 0)


def show(plan: dict[str, Any], console: Console) -> None:
    if "waves" in plan:  # a pipeline's plan (Prepare pipeline)
        show_pipeline(plan, console)
        return
    members = plan.get("functions") or [plan]
    if plan["action"] == "noop":
        where = f"{plan['functionName']}:{plan['alias']}" if plan.get("functionName") else "release"
        console.print(f"{where}: nothing to do — {plan['reason']}")
        _notes(plan, console)
        return
    numbers = estimate(plan)
    if len(members) > 1:
        console.print(f"[bold]release of {len(members)} functions[/], shifted together:")
    for member in members:
        console.print(
            f"[bold]{member['functionName']}:{member['alias']}[/]: version "
            f"{member['stableVersion']} → {member['targetVersion']}"
        )
    console.print(
        f"strategy {plan['strategy']['name']}, health checked every "
        f"{plan['checkIntervalSeconds']} s"
    )
    table = Table(box=None, pad_edge=False)
    for column in ("step", "new version", "wait", "checks"):
        table.add_column(column, justify="right")
    interval = int(plan["checkIntervalSeconds"])
    for number, step in enumerate(plan["steps"], start=1):
        wait = int(step["waitSeconds"])
        checks = max(1, math.ceil(wait / interval))
        table.add_row(str(number), f"{step['percentage']:g}%", _seconds(wait), str(checks))
    table.add_row("Promote", "100%", "", "")
    if plan.get("bakeSeconds"):
        bake = int(plan["bakeSeconds"])
        table.add_row("bake", "100%", _seconds(bake), str(math.ceil(bake / interval)))
    console.print(table)
    _traffic(plan, console)
    console.print(f"alarms: {escape(', '.join(plan['alarms'])) or 'none'}")  # names as text
    approval = plan.get("approval")
    if approval:
        before = "Promote" if approval["before"] == "promote" else "every next step"
        console.print(
            f"approval: before {before} ({numbers['approvalGates']} gate(s)), up to "
            f"{_seconds(int(approval['timeoutSeconds']))} each, then {approval['onTimeout']}"
        )
    else:
        console.print("approval: none")
    console.print(f"canary judge: {judging(plan.get('health') or {}, interval)}")
    console.print(
        f"total: {_seconds(numbers['waitSeconds'])} of waits, {numbers['checks']} health "
        f"checks, about {numbers['transitions']} state transitions "
        f"(${numbers['costUsd']:.4f})"
    )
    if approval:
        console.print(
            f"at worst (every gate waits until its timeout): "
            f"{_seconds(numbers['worstCaseSeconds'])}, {numbers['worstCaseTransitions']} "
            f"transitions (${numbers['worstCaseCostUsd']:.4f})"
        )
    _notes(plan, console)
    console.print("nothing was changed and no lock was taken")


def _traffic(plan: dict[str, Any], console: Console) -> None:
    """How each function is invoked (Prepare's traffic sources), bypasses marked."""
    typed = Plan.model_validate(plan)
    if not typed.traffic:
        return
    console.print(traffic.summary(typed))
    table = traffic.traffic_table(typed)
    if table is not None and table.row_count:
        console.print(table)


def judging(health: dict[str, Any], interval: int) -> str:
    """What the canary judge fails on, and what an inconclusive step does."""
    latency = health.get("latency")
    judged = (
        f"latency beyond +{latency['maxIncreasePercent']:g}% (and {FLOOR_MS:g} ms) at "
        f"{latency['confidence'] * 100:g}% confidence, cold starts apart"
        if latency
        else "latency off"
    )
    policy = health.get("inconclusive", "extend")
    then = {
        "extend": f"extended by {_seconds(interval)} up to {MAX_EXTENSIONS} times, then held",
        "pause": "held for an operator",
        "proceed": "goes on, noted",
    }[policy]
    return f"{judged}; an inconclusive step is {then}"


def _notes(plan: dict[str, Any], console: Console) -> None:
    for note in plan.get("notes", []):
        console.print(f"note: {escape(note)}")


def _seconds(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:.1f} h"


def show_pipeline(plan: dict[str, Any], console: Console) -> None:
    """A pipeline's plan: each wave's targets and what each one moves, blockers, gates."""
    waves = plan["waves"]
    console.print(
        f"[bold]pipeline[/] of {len(waves)} waves, onFailure {plan['onFailure']}; every "
        "target checked through its role (stack, a dry run of its rollout, no lock held)"
    )
    for number, wave in enumerate(waves, start=1):
        console.print(f"wave {wave['name']} ({number}/{len(waves)}), bake {wave['bakeSeconds']} s")
        for target in wave["targets"]:
            moved = ", ".join(
                f"{m['functionName']}:{m['alias']} {m['stableVersion']} → {m['targetVersion']}"
                for m in target["functions"]
            )
            how = "nested execution" if target["sameRegion"] else "started by the pipeline"
            console.print(
                f"  {target['region']} in {target['account']}: {moved or 'nothing to move'} ({how})"
            )
    blockers = plan["blockers"]
    alarms = ", ".join(a["alarmName"] for a in blockers["alarms"]) or "none"
    windows = len(blockers["windows"])
    console.print(
        f"blockers: alarms {alarms}; {windows} window(s); give up after "
        f"{_seconds(int(blockers['timeoutSeconds']))} blocked"
    )
    approval = plan.get("approval")
    console.print(
        f"approval before each wave: up to {_seconds(int(approval['timeoutSeconds']))}, then "
        f"{approval['onTimeout']}"
        if approval
        else "approval: none"
    )
    console.print(f"history: at most {plan['historyEvents']} events (Step Functions keeps 25,000)")
    console.print("nothing was changed and no lock was taken")
