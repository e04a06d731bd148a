"""The execution-role seam: a Step Functions task acts with the state machine's execution
role, or with the role its `Credentials` names, in that role's account.

AWS: a task's calls are made with the execution role; with `"Credentials": {"RoleArn": …}`
Step Functions first assumes that role, which must trust the execution role, and acts in
its account ("Task workflow state", Credentials; "Accessing resources in other AWS
accounts in Step Functions": https://docs.aws.amazon.com/step-functions/latest/dg/
concepts-access-cross-acct-resources.html). moto 5.2.5's interpreter signs every call with
the access key "ak", which moto maps to the default account, and ignores `Credentials`
(`boto_client.boto_client_for`): an execution in another account could not reach its
own account's Lambda functions, and a cross-account task reached the wrong account.

Here every client the interpreter makes is signed with role_sessions.py's credentials of
the task's role, so a call lands in that role's account. For a `Credentials` role the
seam first checks, as STS would, that the role exists and trusts the execution role
(sts_trust.py); if not, the task fails with the `AccessDenied` ClientError, which each
integration reports its own way (a startExecution task: `StepFunctions.AccessDeniedException`;
AWS documents no error name for this case). Cross-Region calls stay impossible: a client
is made for the Region the interpreter asks for, the execution's own ("cross-Region AWS SDK
integration and cross-Region AWS resource access aren't available in Step Functions",
same page).

moto internals: replaces `boto_client_for` in every interpreter module that imported it
(`MODULES`) and wraps `StateTask._eval_state_credentials(self, env)`; reads
`StateCredentials.role_arn`, `env.aws_execution_details.role_arn`, `StateTask.credentials`
and `moto.settings.moto_server_port`. Pinned by tests/local/test_accounts.py (the module
list is every module whose source imports `boto_client_for`).
"""

from __future__ import annotations

import functools
import importlib
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

from rollout.local.patching import Patches
from rollout.local.role_sessions import RoleSessions, role_account
from rollout.local.seam import Cloud
from rollout.local.sts_trust import AccessDenied, check
from rollout.local.task_clients import POOL_CONNECTIONS
from rollout.local.trust_policies import Principal

_PARSER = "moto.stepfunctions.parser.asl.component.state.exec"
_SERVICES = ("unsupported", "glue", "events", "ecs", "sqs", "sfn", "dynamodb", "batch", "sns")
MODULES = (
    f"{_PARSER}.state_map.result_writer.resource_eval.resource_eval_s3",
    f"{_PARSER}.state_map.item_reader.eval.resource_eval_s3",
    f"{_PARSER}.state_task.lambda_eval_utils",
    *(f"{_PARSER}.state_task.service.state_task_service_{kind}" for kind in _SERVICES),
    f"{_PARSER}.state_task.service.state_task_service_aws_sdk",
)
SESSION_NAME = "StepFunctions"  # what the role session is called in the callee's account


@dataclass
class AssumedFrom(StateCredentials):
    """A Task's `Credentials` role, to be assumed by the execution role `execution_role`."""

    execution_role: str = ""


class ExecutionRoles:
    """Tasks sign their calls with their role's credentials (the trust checked for
    `Credentials`)."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._sessions = RoleSessions()

    def install(self, cloud: Cloud) -> None:
        sessions = self._sessions
        eval_credentials = StateTask._eval_state_credentials

        def boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
            role = getattr(state_credentials, "role_arn", None)
            assumer = getattr(state_credentials, "execution_role", "")
            if role and assumer and assumer != role:
                _trusted(assumer, role)
            signed = sessions.credentials(role, SESSION_NAME).boto3() if role else {}
            return _client(region, service, signed)

        def state_credentials(task: StateTask, env: Any) -> StateCredentials:
            found = eval_credentials(task, env)
            if not task.credentials:
                return found
            return AssumedFrom(found.role_arn, env.aws_execution_details.role_arn)

        for name in MODULES:
            self._patches.replace(importlib.import_module(name), "boto_client_for", boto_client_for)
        self._patches.replace(StateTask, "_eval_state_credentials", state_credentials)

    def uninstall(self) -> None:
        self._patches.undo()


def _trusted(execution_role: str, role: str) -> None:
    """As STS checks the execution role's AssumeRole of a Task's `Credentials` role."""
    account = role_account(execution_role) or ""
    session = f"arn:aws:sts::{account}:assumed-role/{execution_role.rsplit('/', 1)[-1]}/x"
    try:
        check(Principal(arn=session, account=account, role_arn=execution_role), role)
    except AccessDenied as denied:
        raise ClientError(
            {
                "Error": {"Code": "AccessDenied", "Message": denied.message},
                "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": str(uuid.uuid4())},
            },
            "AssumeRole",
        ) from None


def _client(region: str, service: str, credentials: dict[str, str]) -> BaseClient:
    """A client as moto's interpreter makes one (no validation, no retries), signed as the
    role; without a role, as moto signs it. One per Region, service, endpoint and signing
    credentials (a renewed session gets its own): building one costs 3-7 ms of CPU, and
    every task asks (task_clients.py says why sharing is safe)."""
    port = None if botocore_stubber.enabled else moto_server_port()
    signed = credentials or {"aws_access_key_id": "ak", "aws_secret_access_key": "sk"}
    return _built(region, service, port, tuple(sorted(signed.items())))


@functools.lru_cache(maxsize=256)
def _built(
    region: str, service: str, port: int | None, signed: tuple[tuple[str, str], ...]
) -> BaseClient:
    endpoint = {} if port is None else {"endpoint_url": f"http://localhost:{port}"}
    return boto3.client(
        service,
        region_name=region,
        **dict(signed),
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            max_pool_connections=POOL_CONNECTIONS,
        ),
        **endpoint,
    )
