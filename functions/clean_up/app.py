"""Clean up old versions: delete the rolled-out function's unused old versions, announce."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.payloads import CleanUpPayload
from rollout_core.settings import TRACED_MODULES
from rollout_core.versions import after_rollout

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = CleanUpPayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    record = after_rollout(payload.plan.rollout_ready(), payload.summary)
    metrics.add_metric(name="VersionsDeleted", unit=MetricUnit.Count, value=len(record["deleted"]))
    metrics.add_metric(name="CodeBytesFreed", unit=MetricUnit.Bytes, value=record["bytesFreed"])
    logger.info(
        "Old versions cleaned up",
        extra={
            "function": record["functionName"],
            "keepVersions": record["keepVersions"],
            "deleted": [item["version"] for item in record["deleted"]],
            "bytesFreed": record["bytesFreed"],
            "notes": record["notes"],
        },
    )
    return record
