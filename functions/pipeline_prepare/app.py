"""Prepare pipeline: check every target through its role, plan the waves, open the channel."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.handled import counted
from rollout_core.pipeline.payloads import PreparePayload
from rollout_core.pipeline.plan import prepare
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = PreparePayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    with counted(metrics, logger, "PipelineRejected", "Pipeline rejected"):
        result = prepare(payload.input, payload.executionId)
    plan = result["plan"]
    metrics.add_metric(name=f"Pipeline_{plan['action']}", unit=MetricUnit.Count, value=1)
    logger.info(
        "Pipeline prepared",
        extra={
            "action": plan["action"],
            "waves": [wave["name"] for wave in plan["waves"]],
            "targets": sum(len(wave["targets"]) for wave in plan["waves"]),
            "historyEvents": plan["historyEvents"],
        },
    )
    return result
