"""Task clients seam: one boto3 client per Region, service and endpoint for the interpreter.

moto 5.2.5's Step Functions interpreter builds a new boto3 client (`boto_client_for`) for
every Lambda task, service integration and S3 item reader/writer it runs: 3-7 ms of CPU
each, in every execution, on the server's threads. The client is always the same (fixed
test credentials, no retries, the interpreter's timeouts), so this seam keeps one per
(Region, service, endpoint) and hands it out again. boto3 clients are thread-safe
("Low-level clients are thread safe", boto3 docs: Multithreading or multiprocessing with
clients), and concurrent executions share it through a connection pool sized for them.
Behaviour is unchanged: the same calls reach the same server with the same settings.
"""

from __future__ import annotations

import functools
import importlib
import threading
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config
from moto.core.models import botocore_stubber
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.utils import boto_client

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

_EXEC = "moto.stepfunctions.parser.asl.component.state.exec"
# Every moto module that does `from ...boto_client import boto_client_for` holds its own
# reference, so each is patched (tests/local/test_task_clients.py checks the list is whole).
CALLERS = (
    f"{_EXEC}.state_map.result_writer.resource_eval.resource_eval_s3",
    f"{_EXEC}.state_map.item_reader.eval.resource_eval_s3",
    f"{_EXEC}.state_task.lambda_eval_utils",
    f"{_EXEC}.state_task.service.state_task_service_aws_sdk",
    f"{_EXEC}.state_task.service.state_task_service_batch",
    f"{_EXEC}.state_task.service.state_task_service_dynamodb",
    f"{_EXEC}.state_task.service.state_task_service_ecs",
    f"{_EXEC}.state_task.service.state_task_service_events",
    f"{_EXEC}.state_task.service.state_task_service_glue",
    f"{_EXEC}.state_task.service.state_task_service_sfn",
    f"{_EXEC}.state_task.service.state_task_service_sns",
    f"{_EXEC}.state_task.service.state_task_service_sqs",
    f"{_EXEC}.state_task.service.state_task_service_unsupported",
)
POOL_CONNECTIONS = 50  # concurrent tasks per client (botocore's default pool is 10)


class SharedTaskClients:
    """Replaces `boto_client_for` in moto's interpreter with a cache of its clients."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        # moto builds its Config inside boto_client_for: a bigger pool is given there.
        self._patches.replace(boto_client, "Config", _pooled)
        for name in CALLERS:
            module = importlib.import_module(name)
            # what the module holds now: moto's, or ExecutionRoles' role-aware one
            shared = _shared(module.boto_client_for)
            self._patches.replace(module, "boto_client_for", shared)

    def uninstall(self) -> None:
        self._patches.undo()


def _pooled(**settings: Any) -> Config:
    return Config(**settings, max_pool_connections=POOL_CONNECTIONS)


def _shared(original: Any) -> Any:
    clients: dict[tuple[str, str, int | None], BaseClient] = {}
    building = threading.Lock()  # boto3's default session is not safe to build clients on

    @functools.wraps(original)
    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
        # A Task's `Credentials` role signs as that role (execution_roles.py, installed
        # first): its client is built every time, with the role's current credentials.
        if getattr(state_credentials, "role_arn", None):
            return original(region, service, state_credentials)
        # The endpoint is the server's, unless mock_aws intercepts calls in this process
        # (then moto builds a client without one).
        port = None if botocore_stubber.enabled else moto_server_port()
        key = (region, service, port)
        with building:
            if key not in clients:
                clients[key] = original(region, service, state_credentials)
            return clients[key]

    return boto_client_for
