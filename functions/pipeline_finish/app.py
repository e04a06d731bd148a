"""Finish pipeline / Plan restore / Notify failure: how a pipeline ends."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.pipeline import finish
from rollout_core.pipeline.payloads import FinishPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = FinishPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    plan, cursor = payload.plan, payload.cursor
    if payload.action == "succeeded":
        result = finish.succeeded(plan, cursor)
    elif payload.action == "plan-restore":
        result = finish.plan_restore(plan, cursor, payload.results, payload.failure)
    else:
        result = finish.failed(
            plan, cursor, payload.restore or {}, payload.restored, payload.failure
        )
    metrics.add_metric(name=f"Pipeline_{payload.action}", unit=MetricUnit.Count, value=1)
    logger.info("Pipeline", extra={"action": payload.action, "error": result.get("error")})
    return result
