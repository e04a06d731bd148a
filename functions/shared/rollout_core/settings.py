"""Defaults from the environment the template sets; read at call time, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass

_FALLBACK_STRATEGY = "Canary10Percent5Minutes"
# template parameter DefaultKeepVersions; why 10: docs/workflow.md, "Cleaning up old versions"
_FALLBACK_KEEP_VERSIONS = 10

# What X-Ray traces in the task Lambdas: their only I/O is the AWS SDK. Tracer's default
# patches every library it knows (requests, httplib, …), importing them: ~40 ms of cold start.
TRACED_MODULES = ("botocore",)


@dataclass(frozen=True)
class Settings:
    lock_table: str | None
    topic_arn: str | None
    event_bus_name: str
    default_strategy: str
    default_check_interval_seconds: int
    default_error_rate_percent: float
    default_min_invocations: int
    default_keep_versions: int
    default_approval: str  # "none", "before-promote" or "each-step" (DefaultApproval)
    # rollout_core.telemetry: its table, the function subscription filters deliver to, and
    # the filters' name (one per deployment, so two stacks in an account don't collide)
    telemetry_table: str | None = None
    telemetry_function_arn: str | None = None
    telemetry_filter_name: str = "lambda-rollout-telemetry"


def load() -> Settings:
    env = os.environ
    return Settings(
        lock_table=env.get("LOCK_TABLE") or None,
        topic_arn=env.get("TOPIC_ARN") or None,
        event_bus_name=env.get("EVENT_BUS_NAME") or "default",
        default_strategy=env.get("DEFAULT_STRATEGY") or _FALLBACK_STRATEGY,
        default_check_interval_seconds=int(env.get("DEFAULT_CHECK_INTERVAL_SECONDS") or 10),
        default_error_rate_percent=float(env.get("DEFAULT_ERROR_RATE_PERCENT") or 1.0),
        default_min_invocations=int(env.get("DEFAULT_MIN_INVOCATIONS") or 10),
        default_keep_versions=int(env.get("DEFAULT_KEEP_VERSIONS") or _FALLBACK_KEEP_VERSIONS),
        default_approval=env.get("DEFAULT_APPROVAL") or "none",
        telemetry_table=env.get("TELEMETRY_TABLE") or None,
        telemetry_function_arn=env.get("TELEMETRY_FUNCTION_ARN") or None,
        telemetry_filter_name=env.get("TELEMETRY_FILTER_NAME") or "lambda-rollout-telemetry",
    )


def required(value: str | None, variable: str) -> str:
    """A setting the template always sets (`variable`, e.g. LOCK_TABLE): without it the
    deployment is broken, never the input."""
    if not value:
        raise RuntimeError(f"{variable} is not set; the template sets it on every function")
    return value
