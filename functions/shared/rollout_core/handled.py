"""What a task handler does with a named error before Step Functions sees it: counts it as
a metric and logs it, then raises it again unchanged, so the ASL's Catch routes it by name
(its class name is the task's Error)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from .errors import RolloutError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


@contextmanager
def counted(metrics: Metrics, logger: Logger, metric: str, message: str) -> Iterator[None]:
    """Count a RolloutError raised inside under `metric`, log `message` with its name and
    cause, and raise it again."""
    try:
        yield
    except RolloutError as error:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        logger.warning(message, extra={"error": type(error).__name__, "cause": str(error)})
        raise
