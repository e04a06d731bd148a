"""Telemetry: count each version's invocations from the log events its subscription filters
push, store alarms' state changes, and wake a rollout's wait on evidence that fails it
(rollout_core.telemetry.receive). Invoked asynchronously by CloudWatch Logs and EventBridge."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.deadline import Deadline
from rollout_core.settings import TRACED_MODULES
from rollout_core.telemetry import receive

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = receive.handle(event, Deadline.of(context))
    for name in ("invocations", "failures"):
        if name in result:
            metrics.add_metric(name=f"Telemetry_{name}", unit=MetricUnit.Count, value=result[name])
    if "dropped" in result:
        metrics.add_metric(name="TelemetryDropped", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Wakes", unit=MetricUnit.Count, value=len(result.get("woken", [])))
    logger.info("Telemetry", extra={"result": result})
    return result
