"""Close wave: record what the wave's targets did; stop on a failure or an abort, else bake."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from rollout_core import clock
from rollout_core.handled import counted
from rollout_core.models import dump
from rollout_core.pipeline import wave
from rollout_core.pipeline.payloads import WavePayload
from rollout_core.settings import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    payload = WavePayload.model_validate(event)
    logger.set_correlation_id(payload.executionId)
    with counted(metrics, logger, "WavesFailed", "Wave failed"):
        cursor = wave.close(payload.plan, payload.cursor, payload.results, clock.now())
    metrics.add_metric(name="WavesRolledOut", unit=MetricUnit.Count, value=1)
    logger.info("Wave rolled out", extra={"wave": cursor.waveIndex, "next": cursor.hasNextWave})
    return dump(cursor)
