"""`sam package` + `sam deploy`, offline: template.yaml (SAM) → a stack in the local cloud.

`deploy_template` packages the code folders into S3 as `sam package` does
(rollout.local.package: deterministic zips under content-hash keys), then submits the SAM
template to the CloudFormation API, which transforms and creates it server-side
(rollout/local/cloudformation.py), the one path `sam deploy` and `aws cloudformation
deploy` take too. Outputs without a `Condition` must all resolve; a deploy that loses one
fails loudly.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rollout.local.package import ARTIFACT_BUCKET, package_template, upload
from rollout.local.seam import Cloud, Place

logger = logging.getLogger(__name__)

_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# moto creates a stack within the CreateStack call: give it time, and never send it twice.
_SLOW_CALL = {"read_timeout": 600, "retries": {"max_attempts": 1, "mode": "standard"}}


class DeployError(Exception):
    """The stack could not be deployed as the template says."""


def deploy_template(
    cloud: Cloud,
    template_path: Path,
    stack_name: str,
    parameters: dict[str, str] | None = None,
    *,
    place: Place | None = None,
    bucket: str = ARTIFACT_BUCKET,
) -> dict[str, str]:
    """Create or update `stack_name` from a SAM template, in `place` (an account and
    Region; the cloud's home by default) with its code in `bucket` there; returns the
    stack's Outputs."""
    where = {} if place is None else {"account": place.account_id, "region": place.region}
    package = package_template(template_path, bucket)
    uploaded = upload(package, cloud.client("s3", **where))
    logger.info("packaged %d artifacts (%d new)", len(package.artifacts), uploaded)
    cloudformation = cloud.client("cloudformation", **where, **_SLOW_CALL)
    action = _submit(cloudformation, stack_name, package.template, parameters or {})
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
        if action == "created":
            _roll_back(cloudformation, stack_name)
        reason = stack.get("StackStatusReason", "")
        raise DeployError(f"stack {stack_name} {stack['StackStatus']}: {reason}")
    outputs = stack_outputs(cloudformation, stack_name)
    logger.info("stack %s %s (%d outputs)", stack_name, action, len(outputs))
    _check_outputs(processed_template(cloudformation, stack_name), outputs)
    return outputs


def processed_template(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    body = cloudformation.get_template(StackName=stack_name, TemplateStage="Processed")
    template = body["TemplateBody"]
    return dict(json.loads(template) if isinstance(template, str) else template)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def _submit(
    cloudformation: Any, stack_name: str, template: dict[str, Any], parameters: dict[str, str]
) -> str:
    request = {
        "StackName": stack_name,
        "TemplateBody": json.dumps(template, separators=(",", ":")),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": _CAPABILITIES,
    }
    exists = _stack_exists(cloudformation, stack_name)
    try:
        if not exists:
            cloudformation.create_stack(**request)
            return "created"
        cloudformation.update_stack(**request)
        return "updated"
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            return "unchanged"
        if not exists:
            _roll_back(cloudformation, stack_name)
        raise DeployError(f"deploying stack {stack_name} failed: {error}") from error


def _roll_back(cloudformation: Any, stack_name: str) -> None:
    """A failed create leaves a half-built stack in moto; remove it so a retry starts clean
    (AWS rolls back, then wants the stack deleted before it is created again)."""
    try:
        cloudformation.delete_stack(StackName=stack_name)
    except (ClientError, BotoCoreError) as error:
        logger.warning("could not remove the failed stack %s: %s", stack_name, error)


def _stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)


def _check_outputs(template: dict[str, Any], outputs: dict[str, str]) -> None:
    declared = template.get("Outputs") or {}
    missing = sorted(k for k, v in declared.items() if "Condition" not in v and k not in outputs)
    if missing:
        raise DeployError(f"outputs did not resolve: {', '.join(missing)}")
