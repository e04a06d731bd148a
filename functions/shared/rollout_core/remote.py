"""Clients that act in another account and Region: a pipeline's target role there.

A pipeline (rollout_core.pipeline) reaches each target through the stack's target role in
the target's account (template.yaml, `TargetRole`), assumed with the calling function's own
role (STS AssumeRole), for the Region of the target: Step Functions tasks can't call
another Region ("cross-Region AWS SDK integration and cross-Region AWS resource access
aren't available in Step Functions", Step Functions Developer Guide, "Accessing resources
in other AWS accounts"), so a pipeline's Lambda functions do.

Every client made here acts as the target role: the least-privilege test
(tests/template/test_least_privilege_by_use.py) charges the calls made through these
factories to `TargetRole`, and the `AssumeRole` itself to the caller's own role.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.session import Session, get_session

from . import clients

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
SESSION_NAME = "lambda-rollout-pipeline"
RENEW_BEFORE_SECONDS = 300  # a new session when less than this is left (they last an hour)


@dataclass(frozen=True)
class Target:
    """Where to act and as whom."""

    account: str
    region: str
    role_arn: str


_lock = threading.Lock()
_sessions: dict[str, tuple[Session, float]] = {}


def _session(target: Target) -> Session:
    """A session with the role's credentials, reused until it nears its expiry (a warm
    function keeps it across invocations)."""
    with _lock:
        held = _sessions.get(target.role_arn)
        if held is not None and held[1] - time.time() > RENEW_BEFORE_SECONDS:
            return held[0]
    issued = clients.sts().assume_role(RoleArn=target.role_arn, RoleSessionName=SESSION_NAME)
    credentials = issued["Credentials"]
    session = get_session()  # botocore's, as in rollout_core.clients
    session.set_credentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    expires = credentials["Expiration"].timestamp()
    with _lock:
        _sessions[target.role_arn] = (session, expires)
    return session


def client(service: str, target: Target) -> Any:
    return _session(target).create_client(service, region_name=target.region, config=_CONFIG)


def stepfunctions(target: Target) -> Any:
    return client("stepfunctions", target)


def lambda_(target: Target) -> Any:
    return client("lambda", target)


def dynamodb(target: Target) -> Any:
    return client("dynamodb", target)


def cloudformation(target: Target) -> Any:
    return client("cloudformation", target)


def cloudwatch(target: Target) -> Any:
    return client("cloudwatch", target)


def reset() -> None:
    """Forget the sessions (tests switch accounts and mocks between cases)."""
    with _lock:
        _sessions.clear()
