"""Check health / Check bake health: alarms and the new version's own error rate, each read
within the task's own time (rollout_core.deadline)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import checking, clock
from rollout_core.deadline import Deadline
from rollout_core.models import dump
from rollout_core.payloads import HealthPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = HealthPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    metrics.add_metric(name="HealthChecks", unit=MetricUnit.Count, value=1)
    checked = checking.check(
        payload.plan.rollout_ready(),
        payload.progress,
        clock.now(),
        Deadline.of(context),
        payload.telemetry,
        payload.wake,
    )
    progress = dump(checked)
    if checked.lastCheck is not None and checked.lastCheck.unread:
        metrics.add_metric(name="SignalsUnread", unit=MetricUnit.Count, value=1)
    logger.info(
        "Healthy",
        extra={
            "phase": payload.phase,
            "stepComplete": progress["stepComplete"],
            "lastCheck": progress["lastCheck"],
            "wake": payload.wake.model_dump() if payload.wake else None,
        },
    )
    return progress
