"""Wait for next check / Wait during bake: store the wait's task token where evidence can
wake it (rollout_core.waiting); the wait itself is the Task's, up to its timeout."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import clock, waiting
from rollout_core.payloads import WaitPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = WaitPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    how = waiting.arm(payload.plan.rollout_ready(), payload.progress, payload.token, clock.now())
    metrics.add_metric(name=f"Wait_{how}", unit=MetricUnit.Count, value=1)
    logger.info("Waiting", extra={"how": how, "seconds": payload.progress.nextWaitSeconds})
    return {"how": how}
