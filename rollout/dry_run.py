"""Prepare in a dry run: the one place the CLI asks the deployed Prepare function what it
would do with an input, by the same code, configuration and IAM scope as a rollout.

`rollout plan` prints the answer; `rollout start` (without --watch) and `rollout release`
ask before they start anything, so what Prepare refuses against the account (no such
function or alias, missing or firing alarms, a traffic source bypassing the alias, another
rollout holding the alias) exits before an execution exists: 2 for InvalidRolloutRequest,
1 for RolloutInProgress and AlarmsAlreadyFiring (exits.for_refusal). Prepare takes no lock
in a dry run. The same with the AWS CLI, as the console does it: start an execution with
`"dryRun": true`, which ends in `Dry run` with the plan as its output, or in
`Request rejected` with Prepare's error.
"""

from __future__ import annotations

import json
from typing import Any

from rollout.aws import PREPARE_OUTPUT, AwsContext, CliError, aws_errors, find_stack_output
from rollout.exits import for_refusal


def prepare_function(aws: AwsContext) -> str:
    """The deployed Prepare function (output PrepareFunctionName of the `rollout` stack)."""
    return find_stack_output(aws, PREPARE_OUTPUT)


def dry_run(
    aws: AwsContext, document: dict[str, Any], prepare: str | None = None
) -> dict[str, Any]:
    """Prepare's plan for `document` with dryRun; a refusal is a CliError with Prepare's
    message and the code exits.for_refusal gives its Error."""
    prepare = prepare or prepare_function(aws)
    payload = {"input": {**document, "dryRun": True}, "executionId": "rollout-plan"}
    with aws_errors(f"invoking {prepare}"):
        reply = aws.client("lambda").invoke(FunctionName=prepare, Payload=json.dumps(payload))
    body = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        error = str((body or {}).get("errorType", "Error"))
        message = str((body or {}).get("errorMessage", body))
        raise CliError(f"{error}: {message}", for_refusal(error))
    return dict(body["plan"])
