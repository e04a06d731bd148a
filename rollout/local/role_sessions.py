"""Temporary credentials of an IAM role, as an AWS service obtains them to act with it.

AWS services act with roles, and their calls land in the role's account:

- Lambda runs a function with its execution role's temporary credentials, set as
  `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` in its environment
  ("Defined runtime environment variables", Lambda Developer Guide:
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html);
- Step Functions makes a task's calls with the state machine's execution role, or with
  the role the Task's `Credentials` names ("Task workflow state", Step Functions Developer
  Guide: https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html).

moto tells accounts apart by the access key: keys STS issued for a role belong to the
role's account (`moto.core.responses.BaseResponse.get_current_account` →
`moto.iam.models.get_account_id_from`). So the
credentials made here put a function's or an execution's calls in the right account.

A service assuming a role it was given is not a caller's AssumeRole: the trust policy was
checked when the role was given to the service (CreateFunction, CreateStateMachine), so no
trust check is made here (sts_trust.py checks callers). moto internals:
`moto.sts.models.sts_backends[account][partition].assume_role(region_name,
role_session_name, role_arn, policy, duration, external_id)`, pinned by
tests/local/test_accounts.py.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from moto.sts.models import sts_backends

SESSION_SECONDS = 3600  # AssumeRole's default DurationSeconds
RENEW_BEFORE_SECONDS = 600  # a new session is made when less than this is left
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/.+$")


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """As Lambda sets them in a function's environment."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def boto3(self) -> dict[str, str]:
        """As boto3.client() takes them."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


def role_account(role_arn: str) -> str | None:
    """The account of a role ARN, or None when it is not one."""
    found = _ROLE_ARN.match(role_arn)
    return found.group(2) if found else None


class RoleSessions:
    """One session per role and session name, renewed before it expires."""

    def __init__(self, seconds: int = SESSION_SECONDS) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], tuple[Credentials, float]] = {}

    def credentials(self, role_arn: str, session_name: str) -> Credentials:
        key = (role_arn, session_name)
        with self._lock:
            held = self._sessions.get(key)
            if held is not None and held[1] - time.monotonic() > RENEW_BEFORE_SECONDS:
                return held[0]
            made = _assume(role_arn, session_name[:64], self._seconds)
            self._sessions[key] = (made, time.monotonic() + self._seconds)
            return made


def _assume(role_arn: str, session_name: str, seconds: int) -> Credentials:
    found = _ROLE_ARN.match(role_arn)
    if found is None:
        raise ValueError(f"not a role ARN: {role_arn!r}")
    partition, account = found.group(1), found.group(2)
    if partition != "aws":
        raise ValueError(f"the local cloud has the aws partition only: {role_arn!r}")
    session = sts_backends[account][partition].assume_role(
        region_name="us-east-1",
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=seconds,
        external_id=None,
    )
    return Credentials(session.access_key_id, session.secret_access_key, session.session_token)
