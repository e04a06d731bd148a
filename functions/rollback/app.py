"""Roll back: restore the alias to the stable version; returns the Fail state's Error/Cause."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.models import dump
from rollout_core.outcome import roll_back
from rollout_core.payloads import RollbackPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = RollbackPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    result = roll_back(payload.plan.rollout_ready(), payload.progress, payload.failure)
    logger.warning("Rolled back", extra={"error": result.error, "cause": result.cause})
    return dump(result)
