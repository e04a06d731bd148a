"""Promote: the alias on the new version with no routing; starts the bake cursor."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import actions, clock
from rollout_core.models import dump
from rollout_core.payloads import StepPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = StepPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    metrics.add_metric(name="Promotions", unit=MetricUnit.Count, value=1)
    plan = payload.plan.rollout_ready()
    progress = actions.promote(plan, payload.progress, clock.now())
    logger.info("Promoted", extra={"version": plan.targetVersion, "bakeSeconds": plan.bakeSeconds})
    return dump(progress)
