"""Pre-traffic check / Post-traffic check: invoke the new version (and the hook)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import checks
from rollout_core.models import dump
from rollout_core.payloads import CheckPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = CheckPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    metrics.add_metric(name=f"{payload.phase}Checks", unit=MetricUnit.Count, value=1)
    # The invoke and the hook wait for their answer, within what this Lambda has left.
    result = dump(
        checks.run_all(
            payload.plan.rollout_ready(),
            payload.phase,
            lambda: context.get_remaining_time_in_millis() / 1000,
        )
    )
    logger.info("Traffic check passed", extra={"phase": payload.phase, "result": result})
    return result
