"""A pipeline's operator control (`rollout abort|pause|resume|promote|approve|reject`): one
conditional write of the pipeline's item; an abort also reaches the running wave's rollouts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import settings
from rollout_core.channel import Control
from rollout_core.pipeline import controls
from rollout_core.pipeline.payloads import ControlPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = ControlPayload.model_validate(event)
    logger.set_correlation_id(payload.executionArn)
    table = settings.required(settings.load().lock_table, "LOCK_TABLE")
    control = Control.new(payload.action, payload.reason, payload.by)
    sent = controls.send(table, payload.executionArn, control)
    metrics.add_metric(
        name="ControlAccepted" if sent.accepted else "ControlRefused",
        unit=MetricUnit.Count,
        value=1,
    )
    logger.info(
        "Control",
        extra={"action": payload.action, "accepted": sent.accepted, "relayed": sent.relayed},
    )
    return {
        "accepted": sent.accepted,
        "refusal": sent.reason,
        "relayed": list(sent.relayed),
        "control": control.model_dump(),
    }
