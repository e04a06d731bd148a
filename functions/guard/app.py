"""Guard: after a rollout execution ends stopped, timed out or with a failed rollback,
restore the alias it moved, release its lock and raise the alarm (rollout_core.guard)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.guard import StatusChangeEvent, guard
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = StatusChangeEvent.model_validate(event).detail
    logger.set_correlation_id(change.executionArn)
    metrics.add_metric(name=f"Guard_{change.status}", unit=MetricUnit.Count, value=1)
    result = guard(change)
    metrics.add_metric(name=f"Guard_{result['action']}", unit=MetricUnit.Count, value=1)
    logger.info("Guard finished", extra={"result": result})
    return result
