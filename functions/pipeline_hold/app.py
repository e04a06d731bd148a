"""Before wave / Bake wave: hold between waves for blockers, a pause, an approval, the bake."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.models import dump
from rollout_core.pipeline import hold
from rollout_core.pipeline.payloads import HoldPayload
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
    metrics.add_metric(name="PipelineHolds", unit=MetricUnit.Count, value=1)
    cursor = hold.hold(payload.plan, payload.cursor, payload.phase)
    document = dump(cursor)
    logger.info(
        "Ready" if cursor.ready else "Still holding",
        extra={"phase": payload.phase, "wave": cursor.waveIndex, "hold": document["hold"]},
    )
    return document
