"""Finalize / Release lock / Notify … / Release Prepare's lock: release the lock and
notify the outcome (after a failed Prepare: release its lock only)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core.models import dump
from rollout_core.outcome import finalize, release_after_prepare_failure
from rollout_core.payloads import FinalizePayload, PrepareFailedPayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("outcome") == "prepare_failed":
        failed = PrepareFailedPayload.model_validate(event)
        logger.set_correlation_id(failed.executionId)
        summary = release_after_prepare_failure(failed.executionId)
        metrics.add_metric(name="Outcome_prepare_failed", unit=MetricUnit.Count, value=1)
        logger.warning("Prepare failed", extra={"summary": summary, "failure": failed.failure})
        return summary
    payload = FinalizePayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    summary = dump(
        finalize(
            payload.plan,
            payload.outcome,
            payload.rollback,
            payload.failure,
            announce=payload.announce,
        )
    )
    metrics.add_metric(name=f"Outcome_{payload.outcome}", unit=MetricUnit.Count, value=1)
    logger.info("Rollout finished", extra={"summary": summary})
    return summary
