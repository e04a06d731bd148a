"""Start target / Follow target / Record target / Restore target: one target of a wave,
through the target role in its account and Region."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.models import dump
from rollout_core.pipeline import follow
from rollout_core.pipeline.payloads import TargetPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = TargetPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    target = payload.target
    where = {"action": payload.action, "account": target.account, "region": target.region}
    metrics.add_metric(name=f"Target_{payload.action}", unit=MetricUnit.Count, value=1)
    if payload.action == "start":
        result = follow.start(target, payload.input)
    elif payload.action == "follow":
        result = follow.follow(target)
    elif payload.action == "record":
        result = dump(follow.record(target, payload.run))
    else:
        result = dump(follow.restore(target, payload.moved))
    logger.info("Target", extra={**where, "result": result})
    return result
