"""Prepare in a dry run: the one place the CLI asks the deployed Prepare function what it
would do with an input, by the same code, configuration and IAM scope as a rollout.

`rollout plan` prints the answer; `rollout start` (without --watch) and `rollout release`
ask before they start anything, so what Prepare refuses against the account (no such
function or alias, missing or firing alarms, a traffic source bypassing the alias, another
rollout holding the alias) exits before an execution exists: 2 for InvalidRolloutRequest,
1 for RolloutInProgress and AlarmsAlreadyFiring (exits.for_refusal), and 1 for a version
rolled back on the alias before, which Prepare plans as `previouslyRolledBack` rather than
refuse with an error (an ending of its own: the trigger's runs end there quietly). Prepare
takes no lock in a dry run. The same with the AWS CLI, as the console does it: start an
execution with `"dryRun": true`, which ends in `Dry run` with the plan as its output, or in
`Request rejected` with Prepare's error. Input with `waves` is a pipeline's: Prepare
pipeline answers, checking every target through its role (rollout_core.pipeline).
"""

from __future__ import annotations

import json
from typing import Any

from rollout.aws import PREPARE_OUTPUT, AwsContext, CliError, aws_errors, find_stack_output
from rollout.exits import Exit, for_refusal

PIPELINE_PREPARE_OUTPUT = "PipelinePrepareFunctionName"
# Prepare's plan for a version rolled back on the alias before (rollout_core.rolled_back)
PREVIOUSLY_ROLLED_BACK = "previouslyRolledBack"
# Prepare pipeline reads the execution's account and Region from its ARN.
PLAN_EXECUTION = "arn:aws:states:{region}:{account}:execution:rollout-plan:rollout-plan"


def prepare_function(aws: AwsContext, document: dict[str, Any] | None = None) -> str:
    """The deployed Prepare function of `document` (outputs PrepareFunctionName, or
    PipelinePrepareFunctionName for input with `waves`, of the `rollout` stack)."""
    pipeline = document is not None and "waves" in document
    return find_stack_output(aws, PIPELINE_PREPARE_OUTPUT if pipeline else PREPARE_OUTPUT)


def dry_run(
    aws: AwsContext, document: dict[str, Any], prepare: str | None = None
) -> dict[str, Any]:
    """Prepare's plan for `document` with dryRun; a refusal is a CliError with Prepare's
    message and the code exits.for_refusal gives its Error."""
    prepare = prepare or prepare_function(aws, document)
    execution = "rollout-plan"
    if "waves" in document:
        account = prepare.split(":")[4] if prepare.startswith("arn:") else _account(aws)
        execution = PLAN_EXECUTION.format(region=aws.region, account=account)
    payload = {"input": {**document, "dryRun": True}, "executionId": execution}
    with aws_errors(f"invoking {prepare}"):
        reply = aws.client("lambda").invoke(FunctionName=prepare, Payload=json.dumps(payload))
    body = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        error = str((body or {}).get("errorType", "Error"))
        message = str((body or {}).get("errorMessage", body))
        raise CliError(f"{error}: {message}", for_refusal(error))
    plan = dict(body["plan"])
    if plan["action"] == PREVIOUSLY_ROLLED_BACK:  # refused for now, like RolloutInProgress
        raise CliError(f"Previously rolled back: {plan['reason']}", Exit.FAILED)
    return plan


def _account(aws: AwsContext) -> str:
    with aws_errors("asking STS who you are"):
        return str(aws.client("sts").get_caller_identity()["Account"])
