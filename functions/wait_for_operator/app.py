"""Wait for operator: hold the weight while paused or at an approval gate, checking health."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import holding
from rollout_core.deadline import Deadline
from rollout_core.models import dump
from rollout_core.payloads import HoldPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = HoldPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    metrics.add_metric(name="Holds", unit=MetricUnit.Count, value=1)
    progress = holding.hold(
        payload.plan.rollout_ready(),
        payload.progress,
        payload.phase,
        deadline=Deadline.of(context),
        telemetry=payload.telemetry,
    )
    document = dump(progress)
    logger.info(
        "Hold ended" if progress.hold is None else "Still holding",
        extra={"hold": document["hold"], "lastControl": document["lastControl"]},
    )
    return document
