"""An alias moved without a rollout: the PublishVersion trigger finds the version it was
started for already live.

Prepare ends such a run as a noop ("already live"). When the version has new code since
the version before it, nothing checked that code before it took all the alias's traffic:
CloudFormation publishes and moves the alias in one deploy when a template's
`AutoPublishAlias` names the rolled alias (a template kept that way after dropping
`DeploymentPreference`). The plan then says so (`movedWithoutRollout`), naming the stack
from the function's `aws:cloudformation:stack-name` tag, and how to fix the template;
watch, status and the report show it instead of "already live".
"""

from __future__ import annotations

from .. import clients, eventbridge, resolve
from ..models import Plan, UnrolledMove

STACK_NAME_TAG = "aws:cloudformation:stack-name"


def explain(plan: Plan) -> Plan:
    """The noop plan, with `movedWithoutRollout` when the live version brought new code."""
    name, version = plan.functionName, plan.targetVersion
    if not name or not version or not version.isdigit():
        return plan
    previous = _previous(name, version)
    current = resolve.configuration(name, version) or {}
    if previous is None or previous.get("CodeSha256") == current.get("CodeSha256"):
        return plan
    stack = eventbridge.read_tags(plan.functionArn or name).get(STACK_NAME_TAG)
    moved = UnrolledMove(version=version, previousVersion=str(previous["Version"]), stack=stack)
    return plan.model_copy(update={"movedWithoutRollout": moved, "reason": reason(plan, moved)})


def reason(plan: Plan, moved: UnrolledMove) -> str:
    where = f"stack {moved.stack}'s template" if moved.stack else "its template"
    return (
        f"{plan.functionName}:{plan.alias} already serves version {moved.version}, new code "
        f"since version {moved.previousVersion}, but no rollout moved it there: all its "
        f"traffic went to the new code at once. If {where} publishes with AutoPublishAlias: "
        f"{plan.alias}, CloudFormation does that on every deploy: publish to another alias "
        f"(AutoPublishAlias: released) and declare {plan.alias} as an AWS::Lambda::Alias of "
        "its own, moved only by rollouts (README.md, 'Use it with your SAM app')"
    )


def _previous(function: str, version: str) -> dict[str, object] | None:
    """The configuration of the newest version published before `version`."""
    pages = clients.lambda_().get_paginator("list_versions_by_function")
    older = [
        found
        for page in pages.paginate(FunctionName=function)
        for found in page["Versions"]
        if found["Version"].isdigit() and int(found["Version"]) < int(version)
    ]
    return max(older, key=lambda found: int(found["Version"])) if older else None
