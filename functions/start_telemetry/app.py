"""Start telemetry: subscribe the rolled versions' log groups, seed the alarms' states and
write the watch items, so health is pushed to the checks instead of polled."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.deadline import Deadline
from rollout_core.models import dump
from rollout_core.payloads import TelemetryPayload
from rollout_core.settings import TRACED_MODULES
from rollout_core.telemetry import lifecycle

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = TelemetryPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    started = lifecycle.start(payload.plan.rollout_ready(), Deadline.of(context))
    metrics.add_metric(name="LogGroupsPushed", unit=MetricUnit.Count, value=len(started.pushed))
    metrics.add_metric(name="LogGroupsPolled", unit=MetricUnit.Count, value=len(started.polled))
    logger.info("Telemetry started", extra={"telemetry": dump(started)})
    return dump(started)
